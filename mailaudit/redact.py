"""--redact: a report that can be shared. Pure.

Addresses lose their local part, OS user names (every name in a home's path, `/home/dieter/`,
`C:\\Users\\anna\\`, also of users with no account), login names, account names as the client
shows them ("Frank Ott (Büro)") and the machine's name become tokens, and the --root folder is
hidden. The domains stay, since they name the provider, unless `domains` is set: then every
address's domain becomes a token too, also where it ends a server's name. The same input always
gets the same token within a report, so the report still reads consistently: `/Users/user1/...`
is still user1's store.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any
from urllib.parse import quote, unquote

from mailaudit.advise import shell_word
from mailaudit.machine import NOT_USERS
from mailaudit.model import Account, MachineReport

_URL_USER = re.compile(r"(?<=://)[^@/\s]+(?=@)")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# The folder after Users/, home/ or Documents and Settings/ in a path, as any OS writes it.
_HOME_IN_PATH = re.compile(
    r"(?:^|[/\\])(?:Users|home|Documents and Settings)[/\\]([^/\\:\n\t\"<>|]+)", re.IGNORECASE
)

# A replacement: a fixed text, or a function of the match (one lookup in a table of tokens).
Patterns = list[tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]"]]
# Values longer than this get a pattern of their own instead of a branch of the shared one,
# whose builder recurses once per character.
TRIE_LIMIT = 256


def redact(report: MachineReport, *, domains: bool = False) -> MachineReport:
    tokens: dict[str, str] = {}
    counts: dict[str, int] = {}

    def token(value: str | None, kind: str, make: str = "{kind}{n}") -> None:
        if value and value not in tokens and len(value) > 1:
            counts[kind] = counts.get(kind, 0) + 1
            tokens[value] = make.format(kind=kind, n=counts[kind])

    found_domains: dict[str, None] = {}
    for account in report.accounts:
        for address in (account.email, *account.addresses, account.incoming.username):
            for found in _ADDRESS.finditer(address or ""):
                token(found.group(0), "mailbox", "{kind}{n}@" + found.group(1))
                found_domains.setdefault(found.group(1).lower())
        token(account.user, "user")
        if account.incoming.username and "@" not in account.incoming.username:
            token(account.incoming.username, "login")
    for mailbox in report.local_mailboxes:
        token(mailbox.user, "user")
    for name in sorted({n for text in _strings(report) for n in _home_names(text)}):
        token(name, "user")
    token(report.machine.hostname, "machine")
    # One pattern for all the tokens, so that each text is searched once, not once per token:
    # a report of thousands of accounts stays linear.
    patterns: Patterns = []
    if report.machine.root:
        # Also as the plan's commands quote it for the shell (`--root '/mnt/Anna'"'"'s PC'`).
        forms = sorted({report.machine.root, shell_word(report.machine.root)}, key=len)
        patterns.append((re.compile("|".join(map(re.escape, reversed(forms)))), "<root>"))

    def userinfo(match: re.Match[str]) -> str:
        """The login of an imaps:// URL (a migrate command), percent-encoded there: its token,
        and a login no account names is hidden all the same."""
        return quote(tokens.get(unquote(match.group(0)), "user"), safe="")

    patterns.append((_URL_USER, userinfo))
    patterns += _one_pattern(tokens, r"(?<![\w.@-])", r"(?![\w@-])")
    if domains:
        # After the addresses: mailbox1@gmx.de, then mailbox1@domain1.example; a domain is
        # also replaced at the end of a server's name (mail.domain1.example).
        replaced = {d: f"domain{n}.example" for n, d in enumerate(found_domains, 1)}
        # A domain also follows "%40", the "@" of an address written into an imaps:// URL.
        before = r"(?:(?<![\w-])|(?<=%40))"
        patterns += _one_pattern(replaced, before, r"(?![\w-]|\.\w)", re.IGNORECASE)

    names: dict[str, str] = {}
    for account in report.accounts:
        if account.name and not _ADDRESS.fullmatch(account.name):
            names.setdefault(account.name, f"account{len(names) + 1}")
    accounts = tuple(
        _clean(account, _with_name(patterns, account, names)) for account in report.accounts
    )
    result: MachineReport = _clean(dataclasses.replace(report, accounts=()), patterns)
    return dataclasses.replace(result, accounts=accounts)


def _one_pattern(tokens: dict[str, str], before: str, after: str, flags: int = 0) -> Patterns:
    """Patterns replacing every key of `tokens` by its value where it stands as a whole word.

    The keys become one regular expression shaped as a trie (shared prefixes once), so the
    cost per character of text does not grow with the number of tokens; the longest key wins.
    """
    folded = {(k.lower() if flags & re.IGNORECASE else k): v for k, v in tokens.items()}

    def lookup(match: re.Match[str]) -> str:
        found = match.group(0)
        return folded[found.lower() if flags & re.IGNORECASE else found]

    short = [k for k in folded if len(k) <= TRIE_LIMIT]
    patterns: Patterns = []
    if short:
        patterns.append((re.compile(before + _trie(short) + after, flags), lookup))
    patterns += [
        (re.compile(before + re.escape(k) + after, flags), folded[k])
        for k in folded
        if len(k) > TRIE_LIMIT
    ]
    return patterns


def _trie(words: list[str]) -> str:
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        # Longer continuations first, the word ending here last: the longest token wins.
        options = [re.escape(c) + branch(child) for c, child in sorted(node.items()) if c]
        if not options:
            return ""
        body = options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + branch(root) + ")"


def _with_name(patterns: Patterns, account: Account, names: dict[str, str]) -> Patterns:
    """An account's name is replaced in that account's own record only (its findings and plan
    quote it): a name such as "Google" must not change a provider's name elsewhere."""
    if account.name not in names:
        return patterns
    exact = re.compile(rf"(?<![\w.@-]){re.escape(account.name)}(?![\w@-])")
    return [(exact, names[account.name]), *patterns]


def _home_names(text: str) -> Iterator[str]:
    for found in _HOME_IN_PATH.finditer(text):
        name = found.group(1).rstrip(" .,;)'")  # the end of a sentence or a quotation
        if name and name.lower() not in NOT_USERS and not name.startswith("."):
            yield name


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Enum):
        return
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def _clean(value: Any, patterns: Patterns) -> Any:
    if isinstance(value, Enum):
        return value  # str enums are strings too; their values are the contract's words
    if isinstance(value, str):
        for pattern, new in patterns:
            value = pattern.sub(new, value)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _clean(getattr(value, f.name), patterns)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_clean(v, patterns) for v in value)
    if isinstance(value, list):
        return [_clean(v, patterns) for v in value]
    if isinstance(value, dict):
        return {_clean(k, patterns): _clean(v, patterns) for k, v in value.items()}
    return value
