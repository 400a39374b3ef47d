"""Date atoms for :mod:`memsvc.retrieval.timeparse`: one date or period each, as day spans.

An atom is an expression that names a span of days by itself ("8 May, 2023", "last week",
"3 days ago", "recently"). Each parses to ``(first day, day after the last, is_vague)``, relative
to ``today``. The composite forms ("between A and B", "the week before A") live in timeparse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

__all__ = [
    "ANY_DATE",
    "BARE_DATE",
    "COUNT",
    "RECENT_DAYS",
    "UNIT",
    "WEEKDAY",
    "WEEKDAYS",
    "Span",
    "parse_atom",
    "parse_count",
]

#: What "recently" and "lately" cover, before ``now``.
RECENT_DAYS = 14

# -- vocabulary ---------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_VAGUE_COUNTS = {
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 4,
}  # fmt: skip

_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
WEEKDAY = r"(?:" + "|".join(WEEKDAYS) + r")"
_ORD = r"(?:st|nd|rd|th)?"
UNIT = r"(?:day|week|month|year)s?"
COUNT = (
    r"(?:\d{1,3}|"
    + "|".join(sorted([*_NUMBER_WORDS, *_VAGUE_COUNTS], key=len, reverse=True))
    + r")"
)
_YEAR = r"(?:19|20)\d{2}"

# -- atoms: one date or period, parsed to (start day, end day exclusive, is_vague) ------------

Span = tuple[date, date, bool]
_AtomParser = Callable[["re.Match[str]", date], "Span | None"]


def _day(d: date) -> Span:
    return d, d + timedelta(days=1), False


def _month_span(year: int, month: int) -> Span:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), nxt, False


def _shift_months(d: date, months: int) -> tuple[int, int]:
    index = d.year * 12 + (d.month - 1) + months
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _latest_on_or_before(month: int, day: int, today: date) -> date | None:
    """A day-month without a year: its latest occurrence not after ``today``."""
    for year in (today.year, today.year - 1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate <= today:
            return candidate
    return None


def parse_count(text: str) -> tuple[int, bool]:
    text = " ".join(text.lower().split())
    if text in _VAGUE_COUNTS:
        return _VAGUE_COUNTS[text], True
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text], False
    return int(text), False


def _unit_span(unit: str, anchor: date) -> Span:
    """The calendar unit (day, week, month, year) containing ``anchor``."""
    if unit.startswith("day"):
        return _day(anchor)
    if unit.startswith("week"):
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=7), False
    if unit.startswith("month"):
        return _month_span(anchor.year, anchor.month)
    return date(anchor.year, 1, 1), date(anchor.year + 1, 1, 1), False


def _atom_iso(m: re.Match[str], _today: date) -> Span | None:
    d = _safe_date(int(m["y"]), int(m["m"]), int(m["d"]))
    return None if d is None else _day(d)


def _atom_day_month_year(m: re.Match[str], _today: date) -> Span | None:
    d = _safe_date(int(m["y"]), _MONTHS[m["mon"].lower().rstrip(".")], int(m["d"]))
    return None if d is None else _day(d)


def _atom_day_month(m: re.Match[str], today: date) -> Span | None:
    d = _latest_on_or_before(_MONTHS[m["mon"].lower().rstrip(".")], int(m["d"]), today)
    return None if d is None else _day(d)


def _atom_month_year(m: re.Match[str], _today: date) -> Span | None:
    return _month_span(int(m["y"]), _MONTHS[m["mon"].lower().rstrip(".")])


def _atom_month(m: re.Match[str], today: date) -> Span | None:
    month = _MONTHS[m["mon"].lower().rstrip(".")]
    year = today.year if month <= today.month else today.year - 1
    return _month_span(year, month)


def _atom_year(m: re.Match[str], _today: date) -> Span | None:
    year = int(m["y"])
    return date(year, 1, 1), date(year + 1, 1, 1), False


def _atom_named_day(m: re.Match[str], today: date) -> Span | None:
    offsets = {"today": 0, "tonight": 0, "yesterday": 1, "the day before yesterday": 2}
    return _day(today - timedelta(days=offsets[" ".join(m["w"].lower().split())]))


def _atom_relative_unit(m: re.Match[str], today: date) -> Span | None:
    unit = m["unit"].lower()
    step = 0 if m["rel"].lower() == "this" else -1
    if unit == "week":
        return _unit_span(unit, today + timedelta(weeks=step))
    # "last month" and "last year" in a question usually name when something happened, which
    # was often told later ("our trip last year"), so they only boost; "this month" does not.
    if unit == "month":
        year, month = _shift_months(today, step)
        start, end, _ = _month_span(year, month)
    else:
        start, end, _ = _unit_span(unit, date(today.year + step, 1, 1))
    return start, end, step < 0


def _atom_ago(m: re.Match[str], today: date) -> Span | None:
    n, is_vague = parse_count(m["n"])
    unit = m["unit"].lower()
    if unit.startswith("day"):
        start, end, _ = _day(today - timedelta(days=n))
    elif unit.startswith("week"):
        centre = today - timedelta(weeks=n)
        start, end = centre - timedelta(days=3), centre + timedelta(days=4)
    elif unit.startswith("month"):
        year, month = _shift_months(today, -n)
        start, end, _ = _month_span(year, month)
        is_vague = True
    else:
        start, end, _ = _unit_span("year", date(today.year - n, 1, 1))
        is_vague = True
    return start, end, is_vague


def _atom_past(m: re.Match[str], today: date) -> Span | None:
    n, is_vague = parse_count(m["n"]) if m["n"] else (1, False)
    unit = m["unit"].lower()
    days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit[0]] * n
    return today - timedelta(days=days), today + timedelta(days=1), is_vague


def _atom_weekday(m: re.Match[str], today: date) -> Span | None:
    back = (today.weekday() - WEEKDAYS[m["wd"].lower()]) % 7
    if m["rel"].lower() == "last" and back == 0:
        back = 7
    return _day(today - timedelta(days=back))


def _atom_weekend(m: re.Match[str], today: date) -> Span | None:
    since_saturday = (today.weekday() - 5) % 7
    saturday = today - timedelta(days=since_saturday)
    if m["rel"].lower() == "last" and since_saturday <= 1:
        saturday -= timedelta(days=7)
    return saturday, saturday + timedelta(days=2), False


def _atom_recent(_m: re.Match[str], today: date) -> Span | None:
    return today - timedelta(days=RECENT_DAYS), today + timedelta(days=1), True


_ATOMS: tuple[tuple[str, _AtomParser], ...] = (
    (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})", _atom_iso),
    (
        rf"(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_MONTH}),?\s+(?P<y>{_YEAR})",
        _atom_day_month_year,
    ),
    (rf"(?P<mon>{_MONTH})\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>{_YEAR})", _atom_day_month_year),
    (rf"(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_MONTH})", _atom_day_month),
    (rf"(?P<mon>{_MONTH})\s+(?P<d>\d{{1,2}}){_ORD}", _atom_day_month),
    (rf"(?P<mon>{_MONTH}),?\s+(?P<y>{_YEAR})", _atom_month_year),
    (r"(?P<w>the\s+day\s+before\s+yesterday|yesterday|today|tonight)", _atom_named_day),
    (r"(?P<rel>last|this|previous)\s+(?P<unit>week|month|year)", _atom_relative_unit),
    (rf"(?P<n>{COUNT})\s+(?P<unit>{UNIT})\s+ago", _atom_ago),
    (rf"(?:the\s+)?(?:past|last)\s+(?:(?P<n>{COUNT})\s+)?(?P<unit>{UNIT})", _atom_past),
    (rf"(?P<rel>last|this)\s+(?P<wd>{WEEKDAY})", _atom_weekday),
    (r"(?P<rel>last|this)\s+weekend", _atom_weekend),
    (r"(?:recently|lately|these\s+days|of\s+late)", _atom_recent),
)
# A month alone or a year alone is only a date after a preposition ("in May", "in 2022"): bare,
# "may" is a verb and a four-digit number is often a count.
_PREP_ONLY_ATOMS: tuple[tuple[str, _AtomParser], ...] = (
    (rf"(?P<mon>{_MONTH})", _atom_month),
    (rf"(?P<y>{_YEAR})", _atom_year),
    (rf"(?P<rel>)(?P<wd>{WEEKDAY})", _atom_weekday),
)


def _unnamed(pattern: str) -> str:
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


BARE_DATE = "(?:" + "|".join(_unnamed(p) for p, _ in _ATOMS) + ")"
ANY_DATE = "(?:" + "|".join(_unnamed(p) for p, _ in (*_ATOMS, *_PREP_ONLY_ATOMS)) + ")"
_COMPILED_ATOMS = tuple(
    (re.compile(p, re.IGNORECASE), parse) for p, parse in (*_ATOMS, *_PREP_ONLY_ATOMS)
)


def parse_atom(text: str, today: date) -> Span | None:
    text = text.strip()
    for pattern, parse in _COMPILED_ATOMS:
        m = pattern.fullmatch(text)
        if m is not None:
            return parse(m, today)
    return None
