"""mem0's own Python client (``mem0ai``) against a live ``memsvc serve``, unchanged.

Only the two lines a user changes differ from mem0's quickstart: ``host`` and ``api_key``.
Assertions are on what the client returns.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from compat.conftest import Served

mem0 = pytest.importorskip("mem0", reason="mem0ai is a test dependency (pip install -e .[dev])")
from mem0 import MemoryClient  # noqa: E402
from mem0.exceptions import MemoryNotFoundError, ValidationError  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def client(served: Served) -> Iterator[MemoryClient]:
    made = MemoryClient(api_key=served.key, host=served.url)
    yield made
    made.client.close()


def test_mem0_client_add_search_get_update_history_delete(client: MemoryClient) -> None:
    added = client.add(
        [
            {"role": "user", "content": "I moved to Lisbon last spring and I love surfing."},
            {"role": "assistant", "content": "Lisbon has great waves nearby."},
        ],
        user_id="alice",
        agent_id="travel",
        metadata={"source": "chat"},
    )
    assert added["status"] == "SUCCEEDED"
    first = added["results"][0]
    assert first["event"] == "ADD" and first["user_id"] == "alice"
    memory_id = first["id"]

    found = client.search("Where does Alice live?", filters={"user_id": "alice"}, top_k=5)
    ids = [r["id"] for r in found["results"]]
    assert memory_id in ids
    top = found["results"][0]
    assert {"id", "memory", "score", "created_at"} <= top.keys()
    assert "Lisbon" in found["results"][ids.index(memory_id)]["memory"]

    got = client.get(memory_id)
    assert got["memory"].startswith("I moved to Lisbon")
    assert got["metadata"] == {"source": "chat"}
    assert (got["user_id"], got["agent_id"], got["kind"]) == ("alice", "travel", "event")

    page = client.get_all(filters={"AND": [{"user_id": "alice"}, {"agent_id": "travel"}]})
    assert page["count"] == 2 and page["next"] is None
    assert {r["id"] for r in page["results"]} >= {memory_id}

    updated = client.update(memory_id, text="I moved to Porto last spring.")
    assert updated["memory"] == "I moved to Porto last spring."
    assert client.get(memory_id)["memory"] == "I moved to Porto last spring."

    events = client.history(memory_id)
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    assert events[1]["old_memory"].startswith("I moved to Lisbon")
    assert events[1]["new_memory"] == "I moved to Porto last spring."

    assert "deleted" in client.delete(memory_id)["message"].lower()
    with pytest.raises(MemoryNotFoundError):
        client.get(memory_id)
    assert [e["event"] for e in client.history(memory_id)] == ["ADD", "UPDATE", "DELETE"]

    left = client.get_all(filters={"user_id": "alice"})
    assert left["count"] == 1
    assert "deleted" in client.delete_all(user_id="alice")["message"].lower()
    assert client.get_all(filters={"user_id": "alice"})["count"] == 0


def test_mem0_client_filters_or_and_in_cover_several_scopes(client: MemoryClient) -> None:
    for user in ("bob", "carol", "dave"):
        client.add(f"{user} plays the cello in an orchestra", user_id=user)
    found = client.search(
        "who plays the cello?",
        filters={"OR": [{"user_id": "bob"}, {"user_id": {"in": ["carol", "erin"]}}]},
    )
    users = {r["user_id"] for r in found["results"]}
    assert users == {"bob", "carol"}
    listed = client.get_all(filters={"user_id": {"in": ["bob", "dave"]}}, page=1, page_size=1)
    assert listed["count"] == 2 and len(listed["results"]) == 1
    assert listed["next"] is not None and listed["previous"] is None
    second = client.get_all(filters={"user_id": {"in": ["bob", "dave"]}}, page=2, page_size=1)
    assert second["next"] is None and second["results"][0]["id"] != listed["results"][0]["id"]


def test_mem0_client_app_id_and_run_id_round_trip(client: MemoryClient) -> None:
    added = client.add("The deploy window is Friday", user_id="ops", run_id="r1", app_id="deploy")
    memory = client.get(added["results"][0]["id"])
    assert (memory["app_id"], memory["run_id"], memory["metadata"]) == ("deploy", "r1", None)
    client.add("Unrelated note", user_id="ops", run_id="r2", app_id="other")
    only = client.get_all(filters={"AND": [{"user_id": "ops"}, {"app_id": "deploy"}]})
    assert [r["id"] for r in only["results"]] == [memory["id"]]
    client.update(memory["id"], metadata={"team": "infra"})
    again = client.get(memory["id"])
    assert (again["app_id"], again["metadata"]) == ("deploy", {"team": "infra"})


def test_mem0_client_batch_users_and_entity_delete(client: MemoryClient) -> None:
    ids = [
        client.add(text, user_id="erin")["results"][0]["id"]
        for text in ("first note", "second note")
    ]
    done = client.batch_update([{"memory_id": ids[0], "text": "first note, edited"}])
    assert "1" in done["message"]
    assert client.get(ids[0])["memory"] == "first note, edited"
    users = client.users()
    erin = [u for u in users["results"] if u["name"] == "erin"]
    assert erin and erin[0]["type"] == "user" and erin[0]["total_memories"] == 2
    client.batch_delete([{"memory_id": ids[1]}])
    with pytest.raises(MemoryNotFoundError):
        client.get(ids[1])
    client.delete_users(user_id="erin")
    assert client.get_all(filters={"user_id": "erin"})["count"] == 0


def test_mem0_client_unsupported_options_fail_with_a_clear_message(client: MemoryClient) -> None:
    with pytest.raises(ValidationError, match="NOT filters are not supported"):
        client.search("x", filters={"NOT": [{"user_id": "alice"}]})
    with pytest.raises(ValidationError, match="'ne' operator is not supported"):
        client.search("x", filters={"AND": [{"agent_id": "a"}, {"user_id": {"ne": "bob"}}]})
    with pytest.raises(ValidationError, match="created_at: memsvc filters on user_id"):
        client.search("x", filters={"AND": [{"user_id": "a"}, {"created_at": {"gte": "2024"}}]})
    with pytest.raises(ValidationError, match="at least one of user_id, agent_id or run_id"):
        client.search("x", filters={"app_id": "deploy"})
    with pytest.raises(ValidationError, match="expiration_date is not supported"):
        client.add("temporary", user_id="alice", expiration_date="2030-01-01")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_mem0_client_with_a_wrong_key_fails_at_construction(served: Served) -> None:
    with pytest.raises(ValueError, match="invalid or revoked API key"):
        MemoryClient(api_key="not-a-key", host=served.url)
    gc.collect()  # the client leaves its connection open when its constructor fails


def test_mem0_async_client_runs_the_same_calls(served: Served) -> None:
    from mem0 import AsyncMemoryClient

    async def flow() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        async with AsyncMemoryClient(api_key=served.key, host=served.url) as client:
            added = await client.add("Gus keeps bees on his roof", user_id="gus")
            memory_id = added["results"][0]["id"]
            found = await client.search("who keeps bees?", filters={"user_id": "gus"})
            got = await client.get(memory_id)
            await client.delete(memory_id)
            return found, got, (await client.get_all(filters={"user_id": "gus"}))["results"]

    found, got, left = asyncio.run(flow())
    assert found["results"][0]["memory"] == "Gus keeps bees on his roof"
    assert got["user_id"] == "gus" and left == []
