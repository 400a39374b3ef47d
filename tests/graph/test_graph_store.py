"""The entity graph in SQL: written by consolidation, following its sources, read by search.

Real SQLite (migrated), the offline LLM tasks, the hashing embedder; removals are checked on the
``entity`` and ``entity_mention`` tables themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from memsvc.errors import InvalidQuery
from memsvc.memory import Memory
from memsvc.store import tables as t
from memsvc.types import MemoryKind, Scope

ALICE = Scope(user_id="alice")
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _add(service: Any, turns: list[tuple[str, str]], *, session: str, day: int) -> list[str]:
    ids = []
    for i, (speaker, text) in enumerate(turns):
        result = service.add(
            {"role": "user", "name": speaker, "content": text},
            scope=Scope(user_id="alice", session_id=session),
            occurred_at=START + timedelta(days=day, minutes=i),
        )
        ids += [e.id for e in result.events]
    return ids


def _mentions(service: Any, **where: int) -> list[tuple[int, int | None, int | None]]:
    with service.read() as session:
        stmt = sa.select(
            t.EntityMention.entity_id, t.EntityMention.event_id, t.EntityMention.fact_id
        )
        for column, value in where.items():
            stmt = stmt.where(getattr(t.EntityMention, column) == value)
        return [tuple(row) for row in session.execute(stmt)]


def _entity_keys(service: Any) -> set[str]:
    with service.read() as session:
        return set(session.scalars(sa.select(t.Entity.key)))


@pytest.fixture
def chat(service: Any) -> dict[str, list[str]]:
    first = _add(
        service,
        [
            ("Alice", "I adopted a puppy named Oscar last week."),
            ("Bob", "That is lovely, Alice! Where did you find him?"),
            ("Alice", "At a shelter in Lisbon, near the Gulbenkian Museum."),
        ],
        session="s1",
        day=0,
    )
    second = _add(
        service,
        [
            ("Bob", "How was the weekend?"),
            ("Alice", "Oscar chewed my new sneakers to pieces."),
        ],
        session="s2",
        day=40,
    )
    service.run_pending_jobs()
    return {"s1": first, "s2": second}


def test_consolidation_writes_entities_with_types(service: Any, chat: Any) -> None:
    found = {e.key: e for e in service.entities(scope=ALICE)}
    assert found["alice"].type == "person" and found["bob"].type == "person"
    assert found["oscar"].type == "person"  # "a puppy named Oscar"
    assert found["lisbon"].type == "place"
    assert found["gulbenkian museum"].type == "place"
    assert found["oscar"].events == 2
    assert found["alice"].events >= 3
    assert {e.key for e in service.entities(scope=ALICE, types=["place"])} == {
        "gulbenkian museum",
        "lisbon",
    }
    assert [e.key for e in service.entities(scope=ALICE, query="lisb")] == ["lisbon"]
    # a session scope lists its owner's entities
    assert service.entities(scope=Scope(user_id="alice", session_id="s2"))
    assert service.entities(scope=Scope(user_id="nobody")) == []


def test_facts_are_linked_too(service: Any, chat: Any) -> None:
    facts = service.get_all(scope=ALICE, kinds=[MemoryKind.FACT]).items
    assert facts, "the offline tasks extract facts from these turns"
    linked = {fact_id for _, _, fact_id in _mentions(service) if fact_id is not None}
    assert linked & {f.ref.id for f in facts}


def test_deleting_an_event_deletes_its_mentions_and_orphaned_entities(
    service: Any, chat: Any
) -> None:
    lisbon = chat["s1"][2]
    event_id = int(lisbon.rpartition("_")[2])
    assert _mentions(service, event_id=event_id)
    # facts derived from the turn mention Lisbon too: delete them first, as lineage would
    for fact in service.get_all(scope=ALICE, kinds=[MemoryKind.FACT]).items:
        if event_id in fact.source_event_ids:
            service.delete(fact.id)
            assert _mentions(service, fact_id=fact.ref.id) == []
    service.delete(lisbon)
    assert _mentions(service, event_id=event_id) == []
    keys = _entity_keys(service)
    assert "lisbon" not in keys and "gulbenkian museum" not in keys
    assert "oscar" in keys  # still mentioned elsewhere


def test_updating_a_turn_relinks_it(service: Any, chat: Any) -> None:
    sneakers = chat["s2"][1]
    service.update(sneakers, content="Oscar and Milo chewed my sneakers in Porto.")
    keys = _entity_keys(service)
    assert {"milo", "porto"} <= keys


def test_delete_all_leaves_no_entity_behind(service: Any, chat: Any) -> None:
    service.delete_all(scope=ALICE)
    assert _mentions(service) == []
    assert _entity_keys(service) == set()


def test_rebuild_recomputes_the_same_graph(service: Any, chat: Any) -> None:
    before = {(e.key, e.type, e.events, e.facts) for e in service.entities(scope=ALICE)}
    written = service.rebuild_graph(scope=ALICE)
    after = {(e.key, e.type, e.events, e.facts) for e in service.entities(scope=ALICE)}
    assert written == len(_mentions(service))
    assert after == before


def test_bad_entity_queries_are_clear_errors(service: Any) -> None:
    with pytest.raises(InvalidQuery):
        service.entities(scope=ALICE, types=["planet"])
    with pytest.raises(InvalidQuery):
        service.entities(scope=ALICE, limit=0)


def test_memory_client_lists_entities(service: Any, chat: Any) -> None:
    memory = Memory(service=service)
    names = {e.name for e in memory.entities(user_id="alice", types=["person"])}
    assert {"Alice", "Bob", "Oscar"} <= names


def test_a_graph_round_finds_a_turn_linked_only_through_an_entity(service: Any, chat: Any) -> None:
    distractors = [("Bob", f"I watched game {i} of the chess match on TV.") for i in range(30)]
    _add(service, distractors, session="s3", day=60)
    service.run_pending_jobs()
    sneakers = chat["s2"][1]

    def rank(rounds: int) -> int:
        hits = service.search("Tell me about the puppy", scope=ALICE, top_k=20, rounds=rounds).hits
        ids = [h.record.id for h in hits if h.kind is MemoryKind.EVENT]
        return ids.index(sneakers) if sneakers in ids else 99

    assert rank(2) < rank(1)
    assert rank(2) < 5


def test_turn_edges_link_each_turn_to_the_next_of_its_session(service: Any, chat: Any) -> None:
    from memsvc.graph.ppr import load_graph
    from memsvc.index.ids import encode_key
    from memsvc.types import MemoryRef

    def key(event: str) -> int:
        return encode_key(MemoryRef(MemoryKind.EVENT, int(event.rpartition("_")[2])))

    with service.read() as session:
        namespace = session.scalar(sa.select(t.Namespace.id))
        plain = load_graph(session, namespace, ALICE)
        linked = load_graph(session, namespace, ALICE, turn_weight=0.5)
    first, second = chat["s1"], chat["s2"]
    assert not plain.graph.has_edge(key(first[0]), key(first[1]))
    assert linked.graph[key(first[0])][key(first[1])]["weight"] == 0.5
    assert linked.graph.has_edge(key(first[1]), key(first[2]))
    assert linked.graph.has_edge(key(second[0]), key(second[1]))  # "How was the weekend?" too
    assert not linked.graph.has_edge(key(first[2]), key(second[0]))  # another session
