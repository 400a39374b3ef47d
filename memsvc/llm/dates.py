"""Relative dates made absolute from the time a turn was said.

"I went there yesterday", said on 8 May 2023, becomes "I went there on 7 May 2023": a stored
fact must still be true, and findable by date, long after "yesterday" stopped meaning anything.
Expressions handled: yesterday / today / tonight / tomorrow (with morning, evening...), last
night, last / this / next <weekday>, last / this / next week, weekend, month and year,
"N days / weeks / months / years ago", "the other day" and last / this <season>.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

__all__ = ["format_day", "resolve_relative_dates"]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 3,
}
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11)}
# Prepositions after which "on"/"in" must not be added ("since yesterday" -> "since 7 May 2023").
_BARE_AFTER = re.compile(r"\b(?:since|until|till|from|by|before|after|of|on|in|during)\s*$", re.I)


def format_day(day: date) -> str:
    """``7 May 2023``."""
    return f"{day.day} {day:%B} {day.year}"


def _month_shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _weekday(day: date, name: str, which: str) -> date:
    target = _WEEKDAYS.index(name.lower())
    if which == "next":
        return day + timedelta(days=(target - day.weekday() - 1) % 7 + 1)
    if which == "this":
        return day + timedelta(days=(target - day.weekday()) % 7)
    return day - timedelta(days=(day.weekday() - target - 1) % 7 + 1)


def _ago(day: date, amount: str, unit: str) -> tuple[str, str]:
    n = _NUMBERS.get(amount.lower()) or int(amount)
    vague = amount.lower() in {"a few", "few", "several"}
    unit = unit.lower().rstrip("s")
    if unit == "day":
        when = day - timedelta(days=n)
        return ("", f"a few days before {format_day(day)}") if vague else ("on", format_day(when))
    if unit == "week":
        return ("around", format_day(day - timedelta(weeks=n)))
    if unit == "month":
        shifted = _month_shift(day, -n)
        return ("in", f"{shifted:%B} {shifted.year}")
    return ("in", str(day.year - n))


def _season(day: date, which: str, season: str) -> tuple[str, str]:
    name = season.lower()
    if name == "winter":
        year = day.year if which == "this" or day.month >= 3 else day.year - 1
        return ("in", f"the winter of {year}-{str(year + 1)[-2:]}")
    first, last = _SEASONS[name]
    if which == "this":
        year = day.year
    elif which == "next":
        year = day.year if day.month < first else day.year + 1
    else:
        year = day.year if day.month > last else day.year - 1
    return ("in", f"{name} {year}")


def _span(day: date, which: str, unit: str) -> tuple[str, str]:
    step = {"last": -1, "this": 0, "next": 1}[which]
    unit = unit.lower()
    if unit == "week":
        return ("in", f"the week of {format_day(_monday(day) + timedelta(weeks=step))}")
    if unit == "weekend":
        if step == 0:
            saturday = _weekday(day, "saturday", "this")
        else:
            saturday = _weekday(day, "saturday", "next" if step > 0 else "last")
        return ("on", f"the weekend of {format_day(saturday)}")
    if unit == "month":
        shifted = _month_shift(day, step)
        return ("in", f"{shifted:%B} {shifted.year}")
    return ("in", str(day.year + step))


def _part_of_day(day: date, word: str, part: str) -> tuple[str, str]:
    offset = {"yesterday": -1, "today": 0, "this": 0, "tomorrow": 1, "last": -1}[word.lower()]
    return ("on", f"the {part.lower()} of {format_day(day + timedelta(days=offset))}")


def _which(word: str) -> str:
    word = word.lower()
    if "past" in word or "last" in word or "previous" in word:
        return "last"
    return word


_Rule = tuple[re.Pattern[str], Callable[[date, re.Match[str]], tuple[str, str]]]

_DAYS = "|".join(_WEEKDAYS)
_RULES: tuple[_Rule, ...] = (
    (
        re.compile(r"\b(yesterday|today|tomorrow)\s+(morning|afternoon|evening|night)\b", re.I),
        lambda d, m: _part_of_day(d, m[1], m[2]),
    ),
    (
        re.compile(r"\b(this|last)\s+(morning|afternoon|evening|night)\b", re.I),
        lambda d, m: _part_of_day(d, m[1], m[2]),
    ),
    (re.compile(r"\btonight\b", re.I), lambda d, _: _part_of_day(d, "today", "night")),
    (
        re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b", re.I),
        lambda d, _: ("on", format_day(d - timedelta(days=2))),
    ),
    (re.compile(r"\byesterday\b", re.I), lambda d, _: ("on", format_day(d - timedelta(days=1)))),
    (re.compile(r"\btoday\b", re.I), lambda d, _: ("on", format_day(d))),
    (re.compile(r"\btomorrow\b", re.I), lambda d, _: ("on", format_day(d + timedelta(days=1)))),
    (
        re.compile(rf"\b(?:on\s+)?(last|this\s+past|past|this|next)\s+({_DAYS})\b", re.I),
        lambda d, m: ("on", format_day(_weekday(d, m[2], _which(m[1])))),
    ),
    (
        re.compile(
            r"\b(last|this\s+past|past|previous|this|next)\s+(weekend|week|month|year)\b", re.I
        ),
        lambda d, m: _span(d, _which(m[1]), m[2]),
    ),
    (
        re.compile(
            r"\b(\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple(?:\s+of)?"
            r"|couple\s+of|a\s+few|few|several)\s+(days?|weeks?|months?|years?)\s+ago\b",
            re.I,
        ),
        lambda d, m: _ago(d, " ".join(m[1].split()), m[2]),
    ),
    (
        re.compile(r"\bthe\s+other\s+day\b", re.I),
        lambda d, _: ("", f"a few days before {format_day(d)}"),
    ),
    (
        re.compile(r"\b(last|this|next)\s+(spring|summer|fall|autumn|winter)\b", re.I),
        lambda d, m: _season(d, m[1].lower(), m[2]),
    ),
)


def _replace(text: str, rule: _Rule, day: date) -> str:
    pattern, resolve = rule
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        preposition, phrase = resolve(day, match)
        before = text[last : match.start()]
        if preposition and not _BARE_AFTER.search(before):
            phrase = f"{preposition} {phrase}"
        if match.group(0)[:1].isupper() and (not before.strip() or before.rstrip()[-1] in ".!?"):
            phrase = phrase[:1].upper() + phrase[1:]
        out.extend((before, phrase))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def resolve_relative_dates(text: str, at: datetime) -> str:
    """Replace relative date expressions in ``text`` by absolute ones, as seen from ``at``."""
    day = at.date()
    for rule in _RULES:
        text = _replace(text, rule, day)
    return text
