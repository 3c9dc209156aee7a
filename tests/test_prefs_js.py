"""The prefs.js reader: libpref's grammar, its error recovery, and no exception on any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.sources.prefs_js import MAX_ERRORS_KEPT, parse_prefs


def prefs(text: str) -> dict:
    return parse_prefs(text.encode()).prefs


def test_values_of_every_kind():
    assert prefs(
        'user_pref("a", 1);\nuser_pref("b", "x");\nuser_pref("c", true);\nuser_pref("d", false);'
    ) == {
        "a": 1,
        "b": "x",
        "c": True,
        "d": False,
    }


def test_escapes_as_gecko_reads_them():
    text = r"""user_pref('s', "q\"b\\n\n\u00e9\ud83d\ude00\x41\xc3\xa9 ü");"""
    assert prefs(text)["s"] == 'q"b\\n\né😀Aé ü'


def test_single_quotes_signs_comments_and_spacing():
    text = """
    # a python comment
    user_pref ( 'a' , - 5 ) ;   // trailing
    user_pref("b", /* in the middle */ +7);
    /* a block
       comment */ user_pref("c",
        "multi-line statement");
    """
    assert prefs(text) == {"a": -5, "b": 7, "c": "multi-line statement"}


def test_later_statements_win():
    assert prefs('user_pref("a", 1);user_pref("a", 2);') == {"a": 2}


def test_int_range_is_32_bit():
    parsed = parse_prefs(b'user_pref("ok", -2147483648);user_pref("big", 2147483648);')
    assert parsed.prefs == {"ok": -2147483648}
    assert parsed.errors[0].message == "integer out of 32-bit range"


def test_default_file_statements_are_errors_in_a_user_file():
    parsed = parse_prefs(b'pref("a", 1);\nsticky_pref("b", 1);\nuser_pref("c", 1);')
    assert parsed.prefs == {"c": 1}
    assert [e.line for e in parsed.errors] == [1, 2]


def test_bad_statement_is_skipped_to_the_next_semicolon():
    parsed = parse_prefs(b'user_pref("a", 1);\nuser_pref("b", nonsense);\nuser_pref("c", 3);')
    assert parsed.prefs == {"a": 1, "c": 3}
    assert parsed.error_count == 1
    assert parsed.errors[0].line == 2


def test_forbidden_escapes_and_bad_hex():
    parsed = parse_prefs(rb'user_pref("a", "\x00");user_pref("b", "\u12");user_pref("c", "\q");')
    assert parsed.prefs == {}
    assert parsed.error_count == 3


def test_nul_byte_ends_the_file():
    assert prefs('user_pref("a", 1);\0user_pref("b", 2);') == {"a": 1}


def test_truncated_file_reports_the_cut():
    parsed = parse_prefs(b'user_pref("a", 1);\nuser_pref("b", "unfinished')
    assert parsed.prefs == {"a": 1}
    assert parsed.errors[0].line == 2


def test_non_utf8_bytes_are_replaced_and_located():
    parsed = parse_prefs(b'user_pref("name", "M\xfcller");')
    assert parsed.prefs == {"name": "M\ufffdller"}
    assert parsed.invalid_utf8_at == 20  # the byte after "M"


def test_errors_kept_are_bounded_but_all_counted():
    parsed = parse_prefs(b"junk;" * 1000)
    assert parsed.error_count == 1000
    assert len(parsed.errors) == MAX_ERRORS_KEPT


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_never_raises_on_any_bytes(data):
    parsed = parse_prefs(data)
    assert parsed.error_count >= len(parsed.errors)


PREF_NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20
)
PREF_VALUE = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=30),
)


def _literal(value: str) -> str:
    return (
        '"'
        + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        + '"'
    )


def _write(name: str, value: object) -> str:
    if isinstance(value, bool):
        return f"user_pref({_literal(name)}, {'true' if value else 'false'});"
    if isinstance(value, int):
        return f"user_pref({_literal(name)}, {value});"
    return f"user_pref({_literal(name)}, {_literal(str(value))});"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(PREF_NAME, PREF_VALUE, max_size=8), st.sampled_from(["\n", "\r\n", " "]))
def test_what_gecko_writes_reads_back_the_same(written, newline):
    text = newline.join(_write(k, v) for k, v in written.items())
    parsed = parse_prefs(text.encode("utf-8"))
    assert parsed.prefs == written
    assert parsed.error_count == 0


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('user_pref("a", 1);\'" \n/*#+-\\xu0\0')), max_size=120)
)
def test_fast_path_and_full_grammar_agree(text):
    data = text.encode("utf-8")
    fast, slow = parse_prefs(data), parse_prefs(data, fast_path=False)
    assert fast.prefs == slow.prefs
    assert fast.error_count == slow.error_count
