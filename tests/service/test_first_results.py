"""What a newcomer sees first (issue 17): episodes carry their events, a tree root has
content, and an agent's own echoes do not outrank what the user said."""

from __future__ import annotations

from fastapi.testclient import TestClient

from memsvc.api.app import create_app
from memsvc.config import RetrievalSettings
from memsvc.retrieval.scoring import Scorer, ScoreSignals
from memsvc.service.facade import MemoryService
from memsvc.types import MemoryKind, Scope, utcnow

DANA = Scope(user_id="dana")


def _consolidated(service: MemoryService) -> None:
    service.add(
        [
            {"role": "user", "name": "Dana", "content": "I am vegetarian and love Italian food."},
            {"role": "assistant", "content": "Noted, Italian and vegetarian."},
            {"role": "user", "name": "Dana", "content": "I collect vinyl records."},
        ],
        scope=DANA,
    )
    service.run_pending_jobs()


def test_episodes_over_rest_list_their_events(service: MemoryService) -> None:
    _consolidated(service)
    events = service.get_all(scope=DANA, kinds=[MemoryKind.EVENT]).items
    with TestClient(create_app(service=service)) as client:
        episodes = client.get("/v1/episodes", params={"user_id": "dana"}).json()["items"]
        assert episodes
        listed = [e for episode in episodes for e in episode["source_event_ids"]]
        assert sorted(listed) == sorted(e.id for e in events)
        one = client.get(f"/v1/memories/{episodes[0]['id']}").json()
    assert one["source_event_ids"] == episodes[0]["source_event_ids"]


def test_tree_root_has_content_and_is_not_indexed(service: MemoryService) -> None:
    _consolidated(service)
    nodes = service.tree(scope=DANA)
    root = nodes[0]
    assert root.attributes.get("parent_id") is None
    assert root.content.startswith(f"{root.attributes['entry_count']} memories: ")
    index = service.indexes.get(service.namespace_id())
    from memsvc.index.ids import encode_key

    assert encode_key(root.ref) not in index.dense


def test_user_statement_outranks_an_assistant_echo_of_equal_relevance() -> None:
    from memsvc.config import DecaySettings

    scorer = Scorer(RetrievalSettings(), DecaySettings(), retention=lambda **_: 1.0)
    now = utcnow()
    said = scorer.score(0.5, ScoreSignals(occurred_at=now, role="user"), now=now)
    echo = scorer.score(0.6, ScoreSignals(occurred_at=now, role="assistant"), now=now)
    assert said is not None and echo is not None
    assert said.score > echo.score
    assert echo.parts["role"] == 0.6 and "role" not in said.parts
