"""Consolidation end to end on real SQLite, FAISS and BM25, with the offline LLM tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from memsvc.service.facade import MemoryService
from memsvc.store import tables as t
from memsvc.types import FactStatus, MemoryKind, Scope

ALICE = Scope(user_id="alice")
T0 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)


def _say(svc: MemoryService, text: str, when: datetime, session: str = "s1") -> None:
    svc.add(
        [{"role": "user", "name": "Alice", "content": text}],
        scope=Scope(user_id="alice", session_id=session),
        occurred_at=when,
    )


def _facts(svc: MemoryService, status: FactStatus | None = None) -> list[t.Fact]:
    with svc.read() as s:
        stmt = sa.select(t.Fact).where(t.Fact.user_id == "alice").order_by(t.Fact.id)
        if status is not None:
            stmt = stmt.where(t.Fact.status == status.value)
        return list(s.scalars(stmt))


def _lives(facts: list[t.Fact], city: str) -> list[t.Fact]:
    return [f for f in facts if city in f.text]


def test_pipeline_move_supersedes_old_city_and_as_of_answers_old(service: MemoryService) -> None:
    _say(service, "I live in Berlin.", T0)
    service.run_pending_jobs()
    _say(service, "I moved to Paris.", T0 + timedelta(days=90), session="s2")
    service.run_pending_jobs()
    active = _facts(service, FactStatus.ACTIVE)
    assert _lives(active, "Paris") and not _lives(active, "Berlin")
    (berlin,) = _lives(_facts(service, FactStatus.SUPERSEDED), "Berlin")
    assert berlin.valid_to is not None and berlin.superseded_by is not None
    ops = [h.operation for h in service.history(f"fact_{berlin.id}")]
    assert ops == ["add", "invalidate"]
    now_hits = service.search("Where does Alice live?", scope=ALICE, kinds=["fact"]).hits
    assert all("Berlin" not in h.record.content for h in now_hits)
    before = service.search(
        "Where does Alice live?", scope=ALICE, kinds=["fact"], as_of=T0 + timedelta(days=30)
    ).hits
    assert any("Berlin" in h.record.content for h in before)
    assert all("Paris" not in h.record.content for h in before)


def test_pipeline_out_of_order_import_lands_the_same(service: MemoryService) -> None:
    _say(service, "I moved to Paris.", T0 + timedelta(days=90), session="s2")
    service.run_pending_jobs()
    _say(service, "I live in Berlin.", T0)
    service.run_pending_jobs()
    assert not _lives(_facts(service, FactStatus.ACTIVE), "Berlin")
    assert _lives(_facts(service, FactStatus.ACTIVE), "Paris")
    (berlin,) = _lives(_facts(service, FactStatus.SUPERSEDED), "Berlin")
    assert berlin.valid_to is not None and berlin.valid_to <= T0 + timedelta(days=90)


def test_pipeline_duplicate_mentions_merge_and_reinforce(service: MemoryService) -> None:
    _say(service, "I have a cat named Luna.", T0)
    service.run_pending_jobs()
    _say(service, "I have a cat named Luna.", T0 + timedelta(days=3), session="s2")
    service.run_pending_jobs()
    luna = [f for f in _facts(service) if "Luna" in f.text]
    assert len(luna) == 1
    assert luna[0].strength > 1.0 and len(luna[0].source_event_ids) == 2
    assert [h.operation for h in service.history(f"fact_{luna[0].id}")] == ["add", "merge"]


def test_pipeline_builds_episodes_summaries_and_a_reachable_tree(service: MemoryService) -> None:
    for i, text in enumerate(
        [
            "I started learning the violin.",
            "My violin teacher is called Marta.",
            "I work as a nurse at the city hospital.",
            "I bought a red bicycle yesterday.",
        ]
    ):
        _say(service, text, T0 + timedelta(minutes=i))
    service.run_pending_jobs()
    assert service.episodes(scope=ALICE)
    profile = service.profile(scope=ALICE)
    assert profile is not None and "Alice" in profile.content
    nodes = service.tree(scope=ALICE)
    by_id = {n.ref.id: n for n in nodes}
    leaves_for = {n.attributes["fact_id"] for n in nodes if n.attributes["fact_id"]}
    assert {f.id for f in _facts(service, FactStatus.ACTIVE)} <= leaves_for
    for node in nodes:
        parent = node.attributes["parent_id"]
        if parent is not None:
            assert by_id[parent].attributes["depth"] == node.attributes["depth"] - 1
        assert node.attributes["depth"] <= service.settings.consolidation.memtree.max_depth
    inner = [n for n in nodes if n.attributes["child_count"] and n.attributes["parent_id"]]
    for node in inner:
        hits = service.search(node.content, scope=ALICE, kinds=["tree_node"], top_k=50).hits
        assert node.ref in {h.record.ref for h in hits}


def test_pipeline_job_failure_is_recorded_and_retry_completes(service: MemoryService) -> None:
    _say(service, "I live in Berlin.", T0)
    calls = {"n": 0}
    original = service.llm.extract_facts

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model crashed")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    service.llm.extract_facts = flaky  # type: ignore[method-assign]
    ns = service.namespace_id()
    with service.read() as s:
        job_id = s.scalar(sa.select(t.Job.id).where(t.Job.namespace_id == ns))
    assert service.run_pending_jobs() == 1
    job = service.job(int(job_id))  # type: ignore[arg-type]
    assert (
        job.status == "pending" and job.attempts == 1 and "model crashed" in (job.last_error or "")
    )
    with service.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(t.Episode)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(t.Fact)) == 0
        s.execute(sa.update(t.Job).values(run_after=T0))  # retry now instead of after backoff
    with service.begin() as s:
        s.execute(sa.update(t.Job).values(run_after=T0))
    assert service.run_pending_jobs() == 1
    assert service.job(int(job_id)).status == "done"  # type: ignore[arg-type]
    assert _lives(_facts(service, FactStatus.ACTIVE), "Berlin")


@pytest.mark.parametrize("kind", [MemoryKind.FACT, MemoryKind.EPISODE, MemoryKind.SUMMARY])
def test_pipeline_derived_memories_are_indexed(service: MemoryService, kind: MemoryKind) -> None:
    _say(service, "I live in Berlin and I love jazz music.", T0)
    service.run_pending_jobs()
    assert service.indexes.verify(service.namespace_id()).is_ok
    hits = service.search("jazz", scope=ALICE, kinds=[kind]).hits
    assert hits and all(h.kind is kind for h in hits)


def test_pipeline_tree_rebuild_from_facts_keeps_every_fact_reachable(
    service: MemoryService,
) -> None:
    for i, text in enumerate(["I play chess.", "I grow tomatoes.", "My sister is called Eva."]):
        _say(service, text, T0 + timedelta(minutes=i))
    service.run_pending_jobs()
    before = {n.attributes["fact_id"] for n in service.tree(scope=ALICE)} - {None}
    service.rebuild_tree(scope=ALICE)
    nodes = service.tree(scope=ALICE)
    after = {n.attributes["fact_id"] for n in nodes} - {None}
    assert after == before == {f.id for f in _facts(service, FactStatus.ACTIVE)}
    assert service.indexes.verify(service.namespace_id()).is_ok
