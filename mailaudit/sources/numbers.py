"""Whole numbers read from configuration text, where a hostile file may write anything."""

from __future__ import annotations

MOST_DIGITS = 10  # a port, a count of days; int() of 5,000 digits is refused or slow


def small_int(text: str | None, most_digits: int = MOST_DIGITS) -> int | None:
    """The number `text` spells in ASCII digits (an optional leading '-'), or None. Other
    digits str.isdigit() accepts ('²', '٣') and overlong numbers are not numbers here."""
    if text is None:
        return None
    digits = text.strip()
    negative = digits.startswith("-")
    digits = digits.removeprefix("-")
    if not digits or len(digits) > most_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return -int(digits) if negative else int(digits)


def port_number(text: str | None) -> int | None:
    """A TCP port (1-65535) spelled in `text`, or None for anything else."""
    number = small_int(text)
    return number if number is not None and 0 < number < 65536 else None
