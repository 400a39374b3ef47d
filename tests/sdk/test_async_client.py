"""AsyncMemoryClient against the live server (and in-process through ASGITransport)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest
from api.live import ADMIN_KEY, Live
from fastapi.testclient import TestClient

from memsvc.api.app import create_app
from memsvc.errors import AuthenticationFailed, InvalidScope, JobNotFound, MemoryNotFound
from memsvc.sdk import AsyncMemoryClient, MemoryClient

T = TypeVar("T")


def _run(live: Live, api_key: str, body: Callable[[AsyncMemoryClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncMemoryClient(live.base_url, api_key=api_key) as client:
            return await body(client)

    return asyncio.run(main())


def _user() -> str:
    return f"a-{uuid.uuid4().hex[:10]}"


def test_async_client_full_memory_surface(live: Live, api_key: str) -> None:
    user = _user()

    async def body(client: AsyncMemoryClient) -> None:
        added = await client.add(["I play the cello", "I live in Porto"], user_id=user)
        first, second = (e.id for e in added.events)
        hits = (await client.search("cello", user_id=user, top_k=1)).hits
        assert [h.id for h in hits] == [first]
        assert (await client.get(first)).content == "I play the cello"
        page = await client.get_all(user_id=user, limit=1)
        rest = await client.get_all(user_id=user, limit=1, cursor=page.next_cursor)
        assert {m.id for m in page.items + rest.items} == {first, second}
        updated = await client.update(first, content="I play the viola")
        assert updated.content == "I play the viola"
        await client.delete(first)
        with pytest.raises(MemoryNotFound):
            await client.get(first)
        assert [h.operation for h in await client.history(first)] == ["update", "delete"]
        assert await client.delete_all(user_id=user) == 1

    _run(live, api_key, body)


def test_async_client_structure_jobs_and_stats(live: Live, api_key: str) -> None:
    user = _user()

    async def body(client: AsyncMemoryClient) -> None:
        await client.add(["I'm Rita and I love sailing.", "I moved to Faro."], user_id=user)
        job = await client.consolidate(user_id=user)
        await asyncio.to_thread(live.service.run_pending_jobs)
        assert (await client.job(job.id)).status == "done"
        assert await client.episodes(user_id=user)
        assert isinstance(await client.tree(user_id=user), list)
        await client.profile(user_id=user)
        assert (await client.stats()).namespace == "sdk"
        with pytest.raises(JobNotFound):
            await client.job(987654)
        with pytest.raises(InvalidScope):
            await client.add("no scope")

    _run(live, api_key, body)


def test_async_client_admin_keys(live: Live) -> None:
    async def body(client: AsyncMemoryClient) -> None:
        created = await client.create_key(namespace="sdk-async", name="ci")
        assert [k.id for k in await client.list_keys(namespace="sdk-async")] == [created.id]
        assert await client.revoke_key(created.id) is True

    _run(live, ADMIN_KEY, body)


def test_async_client_in_process_through_asgi_transport(live: Live) -> None:
    app = create_app(live.settings, service=live.service)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncMemoryClient("http://app", api_key=ADMIN_KEY, transport=transport) as c:
            added = await c.add("in process", user_id="asgi-user")
            assert (await c.get(added.events[0].id)).content == "in process"
        async with AsyncMemoryClient("http://app", api_key="wrong", transport=transport) as c:
            with pytest.raises(AuthenticationFailed):
                await c.stats()

    asyncio.run(main())


def test_sync_client_in_process_through_test_client(live: Live) -> None:
    app = create_app(live.settings, service=live.service)
    with TestClient(app) as http:
        client = MemoryClient("http://testserver", api_key=ADMIN_KEY, http_client=http)
        added = client.add("through TestClient", user_id="tc-user")
        assert client.get(added.events[0].id).content == "through TestClient"
