"""Time expressions in queries, against a fixed present."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from memsvc.retrieval.timeparse import TimeWindow, parse_time, time_boost, time_filter

NOW = datetime(2023, 8, 16, 13, 0, tzinfo=UTC)  # a Wednesday

D = date
# (query, start day or None, end day (exclusive) or None, is_vague, remaining text)
TABLE = [
    ("What did I do yesterday?", D(2023, 8, 15), D(2023, 8, 16), False, "What did I do?"),
    ("what happened today", D(2023, 8, 16), D(2023, 8, 17), False, "what happened"),
    ("What did we do last week?", D(2023, 8, 7), D(2023, 8, 14), False, "What did we do?"),
    ("plans made this week", D(2023, 8, 14), D(2023, 8, 21), False, "plans made"),
    ("bills paid last month", D(2023, 7, 1), D(2023, 8, 1), True, "bills paid"),
    ("books read this month", D(2023, 8, 1), D(2023, 9, 1), False, "books read"),
    ("trips taken last year", D(2022, 1, 1), D(2023, 1, 1), True, "trips taken"),
    ("goals set this year", D(2023, 1, 1), D(2024, 1, 1), False, "goals set"),
    ("who called 3 days ago", D(2023, 8, 13), D(2023, 8, 14), False, "who called"),
    ("who called two weeks ago", D(2023, 7, 30), D(2023, 8, 6), False, "who called"),
    ("the race 2 months ago", D(2023, 6, 1), D(2023, 7, 1), True, "the race"),
    ("a move 4 years ago", D(2019, 1, 1), D(2020, 1, 1), True, "a move"),
    ("a show a few weeks ago", D(2023, 7, 23), D(2023, 7, 30), True, "a show"),
    ("What did I do in May 2023?", D(2023, 5, 1), D(2023, 6, 1), False, "What did I do?"),
    ("May 2023 trips", D(2023, 5, 1), D(2023, 6, 1), False, "trips"),
    ("talked about on 8 May, 2023", D(2023, 5, 8), D(2023, 5, 9), False, "talked about"),
    ("art shown on October 13, 2023", D(2023, 10, 13), D(2023, 10, 14), False, "art shown"),
    ("notes from 2023-05-08", D(2023, 5, 8), D(2023, 5, 9), False, "notes"),
    ("concerts in 2022", D(2022, 1, 1), D(2023, 1, 1), False, "concerts"),
    ("dinner last Tuesday", D(2023, 8, 15), D(2023, 8, 16), False, "dinner"),
    ("dinner last Wednesday", D(2023, 8, 9), D(2023, 8, 10), False, "dinner"),
    ("hike last weekend", D(2023, 8, 12), D(2023, 8, 14), False, "hike"),
    ("What did Mel paint recently?", D(2023, 8, 2), D(2023, 8, 17), True, "What did Mel paint?"),
    ("jobs before 8 May 2023", None, D(2023, 5, 8), False, "jobs"),
    ("jobs after June 2023", D(2023, 7, 1), None, False, "jobs"),
    ("visits between 1 May 2023 and 15 June 2023", D(2023, 5, 1), D(2023, 6, 16), False, "visits"),
    ("friends made since 2022", D(2022, 1, 1), None, False, "friends made"),
    ("kids the week before August 3, 2023", D(2023, 7, 27), D(2023, 8, 3), False, "kids"),
    ("plans the week after 9 June 2023", D(2023, 6, 10), D(2023, 6, 17), False, "plans"),
    ("a race on the sunday before 25 May 2023", D(2023, 5, 21), D(2023, 5, 22), False, "a race"),
    ("a puppy two weeks before August 11, 2023", D(2023, 7, 25), D(2023, 8, 1), False, "a puppy"),
    ("camping in June", D(2023, 6, 1), D(2023, 7, 1), False, "camping"),
    ("parade in October", D(2022, 10, 1), D(2022, 11, 1), False, "parade"),
    ("lunch on May 8", D(2023, 5, 8), D(2023, 5, 9), False, "lunch"),
    ("workouts over the past month", D(2023, 7, 17), D(2023, 8, 17), False, "workouts"),
    ("calls in the last few days", D(2023, 8, 13), D(2023, 8, 17), True, "calls"),
    # part of a period: the longest expression wins over "in the last two weeks"
    ("Where was Dave in the last two weeks of August 2023?", D(2023, 8, 18), D(2023, 9, 1),
     False, "Where was Dave?"),
    ("Dave in the last week of July 2023", D(2023, 7, 25), D(2023, 8, 1), False, "Dave"),
    ("What did Dave do in the first weekend of October 2023?", D(2023, 10, 7), D(2023, 10, 9),
     False, "What did Dave do?"),
    ("the second week of May 2023 trips", D(2023, 5, 8), D(2023, 5, 15), False, "trips"),
    # "as of" means up to the end of the period
    ("How many pets did Andrew have, as of September 2023?", None, D(2023, 10, 1), False,
     "How many pets did Andrew have?"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "start", "end", "is_vague", "text"), TABLE)
def test_parse_time_reads_the_expression(
    query: str, start: date | None, end: date | None, is_vague: bool, text: str
) -> None:
    parsed = parse_time(query, now=NOW)

    assert parsed is not None
    window = parsed.window
    assert (window.start.date() if window.start else None) == start
    assert (window.end.date() if window.end else None) == end
    assert window.is_vague is is_vague
    assert parsed.text == text


@pytest.mark.parametrize(
    "query",
    [
        "When did Melanie paint a sunrise?",
        "May I ask what Caroline researched?",
        "What does she do on Tuesdays?",
        "I saved 2000 dollars for the trip",
        "It happened on 31 February 2023",
        "",
    ],
)
def test_parse_time_returns_none_without_an_expression(query: str) -> None:
    assert parse_time(query, now=NOW) is None


def test_parse_time_windows_are_aware_utc_midnights() -> None:
    parsed = parse_time("on 8 May, 2023", now=NOW)

    assert parsed is not None
    assert parsed.window.start == datetime(2023, 5, 8, tzinfo=UTC)
    assert parsed.window.expression == "on 8 May, 2023"


def test_parse_time_keeps_the_query_when_only_the_expression_was_there() -> None:
    parsed = parse_time("yesterday", now=NOW)

    assert parsed is not None
    assert parsed.text == "yesterday"


def test_parse_time_prefers_the_longest_expression() -> None:
    parsed = parse_time("the week before 9 June 2023", now=NOW)

    assert parsed is not None
    assert parsed.window.expression == "the week before 9 June 2023"


def test_parse_time_is_relative_to_the_given_now_not_the_clock() -> None:
    parsed = parse_time("yesterday", now=datetime(2020, 3, 1, 9, 0))

    assert parsed is not None
    assert parsed.window.start == datetime(2020, 2, 29, tzinfo=UTC)


def test_time_window_widened_adds_the_margin_on_closed_sides() -> None:
    window = TimeWindow(start=datetime(2023, 5, 8, tzinfo=UTC), end=None)

    wider = window.widened(timedelta(days=7))

    assert wider.start == datetime(2023, 5, 1, tzinfo=UTC)
    assert wider.end is None


def test_time_boost_is_one_inside_and_decays_outside() -> None:
    window = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 8, tzinfo=UTC))

    inside = time_boost(datetime(2023, 5, 3, tzinfo=UTC), window)
    near = time_boost(datetime(2023, 5, 9, tzinfo=UTC), window)
    far = time_boost(datetime(2023, 7, 1, tzinfo=UTC), window)

    assert inside == 1.0
    assert 1.0 > near > far > 0.0


def test_time_boost_is_zero_for_a_memory_without_time() -> None:
    window = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), None)

    assert time_boost(None, window) == 0.0


def test_time_window_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="end before"):
        TimeWindow(datetime(2023, 5, 8, tzinfo=UTC), datetime(2023, 5, 1, tzinfo=UTC))


def test_time_filter_widens_explicit_windows_in_auto_mode() -> None:
    window = TimeWindow(datetime(2023, 5, 8, tzinfo=UTC), datetime(2023, 5, 9, tzinfo=UTC))

    hard = time_filter(window, mode="auto", margin_days=3)

    assert hard is not None
    assert (hard.start, hard.end) == (
        datetime(2023, 5, 5, tzinfo=UTC),
        datetime(2023, 5, 12, tzinfo=UTC),
    )


def test_time_filter_never_filters_vague_windows_or_in_boost_mode() -> None:
    vague = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), None, is_vague=True)
    explicit = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), None)

    assert time_filter(vague, mode="auto", margin_days=7) is None
    assert time_filter(explicit, mode="boost", margin_days=7) is None
