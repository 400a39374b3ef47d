"""The context string: chronological, grouped by day, within the token budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from memsvc.retrieval.context import ContextItem, build_context

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def test_build_context_groups_by_day_in_chronological_order() -> None:
    items = [
        ContextItem("I ran a charity race.", T0 + timedelta(days=17), "Melanie"),
        ContextItem("I went to a support group.", T0, "Caroline"),
        ContextItem("It was powerful.", T0 + timedelta(minutes=1), "Caroline"),
    ]

    built = build_context(items, max_tokens=100)

    assert built.text == (
        "8 May 2023:\n"
        "- Caroline: I went to a support group.\n"
        "- Caroline: It was powerful.\n"
        "25 May 2023:\n"
        "- Melanie: I ran a charity race."
    )
    assert built.included == (0, 1, 2)


def test_build_context_puts_undated_items_last() -> None:
    items = [ContextItem("User likes tea."), ContextItem("Said hello.", T0, "Jon")]

    built = build_context(items, max_tokens=50)

    assert built.text.splitlines() == [
        "8 May 2023:",
        "- Jon: Said hello.",
        "Undated:",
        "- User likes tea.",
    ]


def test_build_context_selects_by_relevance_and_stops_at_the_first_misfit() -> None:
    items = [
        ContextItem("one two three", T0),
        ContextItem(" ".join(["long"] * 50), T0),
        ContextItem("short", T0),
    ]

    built = build_context(items, max_tokens=12, min_truncated_tokens=8)

    assert built.included == (0,)
    assert built.truncated is None


def test_build_context_truncates_the_last_item_when_enough_room_is_left() -> None:
    items = [ContextItem("alpha beta", T0), ContextItem(" ".join(f"w{i}" for i in range(40)), T0)]

    built = build_context(items, max_tokens=20, min_truncated_tokens=5)

    assert built.included == (0, 1)
    assert built.truncated == 1
    assert built.tokens == 20
    assert built.text.endswith("…")


def test_build_context_shows_refs_when_asked() -> None:
    built = build_context([ContextItem("Likes tea.", ref="fact_3")], max_tokens=20, show_refs=True)

    assert "- [fact_3] Likes tea." in built.text


def test_build_context_of_nothing_is_empty() -> None:
    built = build_context([], max_tokens=10)

    assert (built.text, built.included, built.tokens) == ("", (), 0)


words = st.text(alphabet="abc xyz\n\t", min_size=0, max_size=80)
items_strategy = st.lists(
    st.builds(
        ContextItem,
        text=words,
        occurred_at=st.none() | st.integers(0, 60).map(lambda d: T0 + timedelta(days=d)),
        speaker=st.none() | st.sampled_from(["Jon", "Gina", "Dr Who"]),
        ref=st.none() | st.sampled_from(["event_1", "fact_2"]),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    items=items_strategy,
    budget=st.integers(1, 120),
    show_refs=st.booleans(),
    min_cut=st.integers(1, 10),
)
def test_build_context_never_exceeds_the_budget(
    items: list[ContextItem], budget: int, show_refs: bool, min_cut: int
) -> None:
    built = build_context(
        items, max_tokens=budget, show_refs=show_refs, min_truncated_tokens=min_cut
    )

    assert len(built.text.split()) == built.tokens <= budget
    assert list(built.included) == list(range(len(built.included)))
