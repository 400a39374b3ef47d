"""Relative dates made absolute from the time a turn was said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memsvc.llm.dates import resolve_relative_dates

MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("I went there yesterday.", "I went there on 7 May 2023."),
        ("Yesterday I ran.", "On 7 May 2023 I ran."),
        ("I ran a race last Saturday.", "I ran a race on 6 May 2023."),
        ("I ran a race this past Saturday.", "I ran a race on 6 May 2023."),
        ("I'll call next Friday.", "I'll call on 12 May 2023."),
        ("We went camping last week.", "We went camping in the week of 1 May 2023."),
        ("We met last night.", "We met on the night of 7 May 2023."),
        ("We met yesterday evening.", "We met on the evening of 7 May 2023."),
        ("I painted it last year.", "I painted it in 2022."),
        ("I moved last month.", "I moved in April 2023."),
        ("I got it two weeks ago.", "I got it around 24 April 2023."),
        ("I quit 3 days ago.", "I quit on 5 May 2023."),
        ("I started a few months ago.", "I started in February 2023."),
        ("I've been ill since yesterday.", "I've been ill since 7 May 2023."),
        ("We went hiking last weekend.", "We went hiking on the weekend of 6 May 2023."),
        ("We went there last summer.", "We went there in summer 2022."),
        ("I moved here in 2019.", "I moved here in 2019."),
        ("I have a party tomorrow.", "I have a party on 9 May 2023."),
    ],
)
def test_resolve_relative_dates(said: str, meant: str) -> None:
    assert resolve_relative_dates(said, MONDAY) == meant


def test_resolve_relative_dates_last_weekday_on_that_weekday_is_a_week_back() -> None:
    friday = datetime(2023, 5, 12, tzinfo=UTC)
    assert resolve_relative_dates("last Friday", friday) == "on 5 May 2023"
