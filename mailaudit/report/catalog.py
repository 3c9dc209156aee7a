"""The client document's words in one language: one JSON file per language under catalogs/,
so that a translator edits a file and never the code.

A catalog maps keys to text with {placeholders}; a key whose text depends on a count holds
{"one": ..., "other": ...}. Every catalog has the keys en.json has (a test checks it).
"""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any

from mailaudit.units import human_bytes


class Language(str, Enum):
    """The languages with a catalog file."""

    EN = "en"
    DE = "de"


LANGUAGES = tuple(language.value for language in Language)


class Catalog:
    def __init__(self, lang: str, entries: dict[str, Any]) -> None:
        self.lang = lang
        self.entries = entries

    def text(self, key: str, **values: object) -> str:
        entry = self.entries[key]
        if not isinstance(entry, str):
            raise TypeError(f"{self.lang}.json: {key} needs a count")
        return entry.format(**values)

    def count(self, key: str, count: int, **values: object) -> str:
        forms = self.entries[key]
        return str(forms["one" if count == 1 else "other"]).format(count=count, **values)

    def size(self, count: int) -> str:
        return human_bytes(count).replace(".", str(self.entries["decimal_point"]))

    def date(self, iso: str) -> str:
        """'2026-01-05T...' as the language writes a date: '5 January 2026', '5. Januar 2026'."""
        year, month, day = iso[:10].split("-")
        return self.text(
            "date", day=int(day), month=self.entries["months"][int(month) - 1], year=year
        )

    def get(self, key: str) -> str | None:
        entry = self.entries.get(key)
        return entry if isinstance(entry, str) else None


@cache
def catalog(lang: str) -> Catalog:
    if lang not in LANGUAGES:
        raise ValueError(f"no catalog for language {lang!r}: {', '.join(LANGUAGES)}")
    text = (resources.files("mailaudit.report") / "catalogs" / f"{lang}.json").read_text(
        encoding="utf-8"
    )
    entries: dict[str, Any] = json.loads(text)
    return Catalog(lang, entries)
