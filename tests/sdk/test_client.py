"""MemoryClient against a live server: the whole surface, errors as the same classes."""

from __future__ import annotations

import uuid

import pytest
from api.live import Live

from memsvc.errors import (
    AuthenticationFailed,
    InvalidScope,
    JobNotFound,
    LimitExceeded,
    MemoryNotFound,
    PermissionDenied,
)
from memsvc.schemas import AddResponse, MemoryPublic, SearchResponse
from memsvc.sdk import MemoryClient
from memsvc.types import Message


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def test_client_add_then_search_finds_it(client: MemoryClient) -> None:
    user = _user()
    added = client.add(
        [{"role": "user", "content": "I adopted a cat named Miso", "name": "Ana"}],
        user_id=user,
        metadata={"ref": "d1:1"},
        occurred_at="2024-05-01T10:00:00Z",
    )
    assert isinstance(added, AddResponse)
    found = client.search("cat named Miso", user_id=user, top_k=3, kinds=["event"])
    assert isinstance(found, SearchResponse)
    assert found.hits[0].id == added.events[0].id
    assert found.hits[0].memory.metadata == {"ref": "d1:1"}
    assert found.hits[0].memory.occurred_at.year == 2024


def test_client_accepts_message_objects_and_strings(client: MemoryClient) -> None:
    user = _user()
    added = client.add([Message("first", name="Bo"), Message("second")], user_id=user)
    assert [e.content for e in added.events] == ["first", "second"]
    assert added.events[0].speaker == "Bo"
    assert client.add("third", user_id=user).events[0].content == "third"


def test_client_get_update_history_delete(client: MemoryClient) -> None:
    memory_id = client.add("I work at Acme", user_id=_user()).events[0].id
    assert client.get(memory_id) == client.get(memory_id)
    updated = client.update(memory_id, content="I work at Globex", metadata={"src": "fix"})
    assert isinstance(updated, MemoryPublic)
    assert (updated.content, updated.metadata) == ("I work at Globex", {"src": "fix"})
    client.delete(memory_id)
    with pytest.raises(MemoryNotFound):
        client.get(memory_id)
    assert [h.operation for h in client.history(memory_id)] == ["update", "delete"]


def test_client_get_all_pages_with_cursor_and_filters(client: MemoryClient) -> None:
    user = _user()
    client.add(["a", "b", "c"], user_id=user, metadata={"t": 1})
    client.add("d", user_id=user, metadata={"t": 2})
    first = client.get_all(user_id=user, limit=3)
    second = client.get_all(user_id=user, limit=3, cursor=first.next_cursor)
    assert len(first.items) == 3
    assert sorted(m.content for m in first.items + second.items) == ["a", "b", "c", "d"]
    assert [m.content for m in client.get_all(user_id=user, filters={"t": 2}).items] == ["d"]


def test_client_delete_all_erases_a_scope(client: MemoryClient) -> None:
    user = _user()
    client.add(["x", "y"], user_id=user)
    assert client.delete_all(user_id=user) == 2
    assert client.get_all(user_id=user).items == []


def test_client_consolidates_and_reads_structure(live: Live, client: MemoryClient) -> None:
    user = _user()
    client.add(
        ["I'm Ana and I live in Lisbon.", "I teach piano.", "My brother Rui is a chef."],
        user_id=user,
    )
    job = client.consolidate(user_id=user)
    live.service.run_pending_jobs()
    assert client.job(job.id).status == "done"
    assert all(e.kind == "episode" for e in client.episodes(user_id=user))
    assert client.episodes(user_id=user)
    assert isinstance(client.tree(user_id=user), list)
    profile = client.profile(user_id=user)
    assert profile is None or profile.kind == "summary"
    places = client.entities(user_id=user, types=["place"])
    assert [e.name for e in places] == ["Lisbon"] and places[0].events == 1
    assert {e.key for e in client.entities(user_id=user, query="rui")} == {"rui"}


def test_client_stats_of_its_namespace(client: MemoryClient) -> None:
    client.add("counted", user_id=_user())
    stats = client.stats()
    assert stats.namespace == "sdk"
    assert stats.memories["event"] >= 1


def test_client_admin_manages_keys(live: Live, admin_client: MemoryClient) -> None:
    created = admin_client.create_key(namespace="sdk-admin", name="ci")
    assert created.secret.startswith("msk_")
    assert [k.id for k in admin_client.list_keys(namespace="sdk-admin")] == [created.id]
    with MemoryClient(live.base_url, api_key=created.secret) as tenant:
        assert tenant.stats().namespace == "sdk-admin"
        assert admin_client.revoke_key(created.id) is True
        with pytest.raises(AuthenticationFailed):
            tenant.stats()
    assert admin_client.revoke_key(created.id) is False


def test_client_raises_the_server_errors_as_memsvc_classes(
    live: Live, client: MemoryClient
) -> None:
    with pytest.raises(MemoryNotFound):
        client.get("fact_987654")
    with pytest.raises(MemoryNotFound):
        client.get("")
    with pytest.raises(InvalidScope):
        client.add("no scope")
    with pytest.raises(LimitExceeded) as caught:
        client.search("q", user_id="u", top_k=100_000)
    assert caught.value.detail["limit"] == 200
    with pytest.raises(JobNotFound):
        client.job(987654)
    with pytest.raises(PermissionDenied):
        client.list_keys()
    with (
        MemoryClient(live.base_url, api_key="msk_wrong") as stranger,
        pytest.raises(AuthenticationFailed),
    ):
        stranger.stats()
