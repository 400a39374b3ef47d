"""The embedded Memory and MemoryService on real SQLite, real FAISS and BM25 (hashing embedder)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memsvc.errors import (
    InvalidContent,
    InvalidMetadata,
    InvalidScope,
    LimitExceeded,
    MemoryNotFound,
)
from memsvc.memory import Memory
from memsvc.types import MemoryKind, Scope


def test_memory_add_is_searchable_at_once(memory: Memory) -> None:
    added = memory.add(
        [
            {"role": "user", "content": "I adopted a beagle named Biscuit", "name": "Alice"},
            {"role": "assistant", "content": "Congratulations on the new dog!"},
        ],
        user_id="alice",
    )
    assert [e.kind for e in added.events] == ["event", "event"]
    assert added.events[0].speaker == "Alice"
    hits = memory.search("beagle Biscuit", user_id="alice", top_k=1).hits
    assert hits[0].memory.id == added.events[0].id


def test_memory_add_accepts_string_and_keeps_occurred_at(memory: Memory) -> None:
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    added = memory.add("We went hiking in the Alps", user_id="bob", occurred_at=when)
    assert added.events[0].occurred_at == when
    assert memory.get(added.events[0].id).content == "We went hiking in the Alps"


def test_memory_scope_is_required(memory: Memory) -> None:
    with pytest.raises(InvalidScope):
        memory.add("hello")
    with pytest.raises(InvalidScope):
        memory.search("hello")


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ("", InvalidContent),
        ("   ", InvalidContent),
        ([], InvalidContent),
        ("x" * 40_000, LimitExceeded),
        ("bad \ud800 surrogate", InvalidContent),
        ([{"role": "user"}], Exception),
    ],
)
def test_memory_add_rejects_bad_content_and_stores_nothing(
    memory: Memory, messages: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        memory.add(
            ["a fine first message", messages] if isinstance(messages, str) else messages,
            user_id="u",
        )  # type: ignore[list-item]
    assert memory.get_all(user_id="u").items == []


def test_memory_add_rejects_invalid_metadata(memory: Memory) -> None:
    with pytest.raises(InvalidMetadata):
        memory.add("hi there", user_id="u", metadata={"when": datetime.now(UTC)})  # type: ignore[dict-item]
    with pytest.raises(InvalidMetadata):
        memory.add("hi there", user_id="u", metadata=["not", "a", "dict"])  # type: ignore[arg-type]
    assert memory.get_all(user_id="u").items == []


def test_memory_scope_filter_returns_k_when_k_exist(memory: Memory) -> None:
    # Many other users' memories are closer to the query than the target user's few ones.
    for i in range(300):
        memory.add(
            f"the quick brown fox jumps over the lazy dog number {i}", user_id=f"other{i % 7}"
        )
    for i in range(5):
        memory.add(f"a note about gardening tomatoes {i}", user_id="target")
    hits = memory.search("the quick brown fox jumps", user_id="target", top_k=5).hits
    assert len(hits) == 5
    assert {h.memory.user_id for h in hits} == {"target"}


def test_memory_update_changes_text_index_and_history(memory: Memory) -> None:
    event = memory.add("I like green tea", user_id="carol").events[0]
    memory.update(event.id, content="I like oolong tea")
    assert memory.get(event.id).content == "I like oolong tea"
    assert memory.search("oolong", user_id="carol").hits[0].memory.id == event.id
    history = memory.history(event.id)
    assert [h.operation for h in history] == ["update"]
    assert history[0].before is not None and history[0].before["content"] == "I like green tea"


def test_memory_delete_removes_from_sql_and_indexes(memory: Memory) -> None:
    event = memory.add("my locker code is 4512", user_id="dan").events[0]
    memory.delete(event.id)
    with pytest.raises(MemoryNotFound):
        memory.get(event.id)
    assert all(h.memory.id != event.id for h in memory.search("locker code", user_id="dan").hits)
    assert [h.operation for h in memory.history(event.id)] == ["delete"]


def test_memory_delete_can_erase_history(memory: Memory) -> None:
    event = memory.add("temporary secret", user_id="dan").events[0]
    memory.update(event.id, content="still a temporary secret")
    memory.delete(event.id, erase_history=True)
    with pytest.raises(MemoryNotFound):
        memory.history(event.id)


def test_memory_delete_all_erases_only_that_scope(memory: Memory) -> None:
    memory.add(["one", "two", "three"], user_id="erin")
    kept = memory.add("keep me", user_id="frank").events[0]
    assert memory.delete_all(user_id="erin") == 3
    assert memory.get_all(user_id="erin").items == []
    assert memory.search("one two three", user_id="erin").hits == []
    assert memory.get(kept.id).content == "keep me"


def test_memory_unknown_and_malformed_ids_are_not_found(memory: Memory) -> None:
    for bad in ("event_999999", "fact_0", "nonsense", "event_-1", "event_1x"):
        with pytest.raises(MemoryNotFound):
            memory.get(bad)


def test_memory_get_all_paginates_without_overlap(memory: Memory) -> None:
    memory.add([f"message {i}" for i in range(25)], user_id="gina")
    seen: list[str] = []
    cursor = None
    while True:
        page = memory.get_all(user_id="gina", limit=10, cursor=cursor)
        seen.extend(m.id for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 25 == len(set(seen))


def test_memory_namespaces_are_isolated(service: object) -> None:
    a = Memory(service=service, namespace="tenant-a")  # type: ignore[arg-type]
    b = Memory(service=service, namespace="tenant-b")  # type: ignore[arg-type]
    event = a.add("tenant a private note", user_id="u1").events[0]
    with pytest.raises(MemoryNotFound):
        b.get(event.id)
    assert b.search("private note", user_id="u1").hits == []


def test_service_restart_replays_changes_missing_from_the_saved_index(settings: object) -> None:
    from memsvc.wiring import build_service

    svc = build_service(settings, migrate_db=False)  # type: ignore[arg-type]
    svc.add("first memory about sailing", scope=Scope(user_id="h"))
    svc.close()  # saves the index
    svc = build_service(settings, migrate_db=False)  # type: ignore[arg-type]
    ns = svc.namespace_id()
    svc.indexes.get(ns)
    # Simulate a crash between commit and index update: write rows, skip the catch-up.
    svc.indexes.catch_up = lambda namespace_id: 0  # type: ignore[method-assign]
    event = svc.add("second memory about surfing", scope=Scope(user_id="h")).events[0]
    svc.indexes.save_all()
    del svc  # no close(): the process "died"
    again = build_service(settings, migrate_db=False)  # type: ignore[arg-type]
    hits = again.search("surfing", scope=Scope(user_id="h"), kinds=[MemoryKind.EVENT]).hits
    assert hits and hits[0].record.ref.id == event.ref.id
    assert again.indexes.verify(again.namespace_id()).is_ok
    again.close()


def test_memory_ids_are_never_reused_after_delete(memory: Memory) -> None:
    # Regression (API engineer's finding): SQLite reused the highest rowid after a delete, so
    # a new memory inherited the deleted one's history.
    first = memory.add("to be deleted", user_id="ivy").events[0]
    memory.delete(first.id)
    second = memory.add("a new memory", user_id="ivy").events[0]
    assert second.id != first.id
    assert memory.history(second.id) == []  # a fresh memory has no history of its own


def test_memory_oversized_ids_and_cursors_are_clean_errors(memory: Memory) -> None:
    from memsvc.errors import InvalidQuery

    with pytest.raises(MemoryNotFound):
        memory.get(f"event_{2**70}")
    with pytest.raises(InvalidQuery):
        memory.get_all(user_id="ivy", cursor=f"0.{2**70}")


def test_memory_structure_methods_match_the_sdk(memory: Memory) -> None:
    memory.add(
        [{"role": "user", "name": "Jo", "content": "I live in Oslo and I play the cello."}],
        user_id="jo",
    )
    job = memory.consolidate(user_id="jo")
    assert job.status == "pending"
    memory.service.run_pending_jobs()
    assert memory.job(job.id).status == "done"
    assert memory.episodes(user_id="jo")[0].kind == "episode"
    assert memory.tree(user_id="jo")[0].attributes["depth"] == 0
    profile = memory.profile(user_id="jo")
    assert profile is not None and "Jo" in profile.content
    assert memory.stats().memories["event"] == 1
