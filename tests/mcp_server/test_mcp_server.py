"""The MCP server's six tools, in-process, over a MemoryClient, and over streamable HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.live import ADMIN_KEY, start_live
from mcp import Client

from memsvc.api.server import BackgroundServer
from memsvc.mcp_server import build_mcp_server
from memsvc.memory import Memory
from memsvc.sdk import MemoryClient

TOOLS = ["add", "delete", "get", "history", "search", "update"]


async def _exercise(client: Client) -> dict[str, Any]:
    """Call every tool once, in a realistic order; return what came back."""
    names = sorted(t.name for t in (await client.list_tools()).tools)
    added = (await client.call_tool("add", {"messages": "I run marathons"})).structured_content
    memory_id = added["events"][0]["id"]
    found = (await client.call_tool("search", {"query": "marathons"})).structured_content
    got = (await client.call_tool("get", {"memory_id": memory_id})).structured_content
    updated = await client.call_tool("update", {"memory_id": memory_id, "content": "I swim"})
    history = (await client.call_tool("history", {"memory_id": memory_id})).structured_content
    deleted = (await client.call_tool("delete", {"memory_id": memory_id})).structured_content
    missing = await client.call_tool("get", {"memory_id": memory_id})
    return {
        "names": names,
        "user": added["events"][0]["user_id"],
        "found": [h["memory"]["id"] for h in found["hits"]],
        "id": memory_id,
        "got": got["content"],
        "updated": updated.structured_content["content"],
        "history": [h["operation"] for h in history["items"]],
        "deleted": deleted,
        "missing": (missing.is_error, missing.content[0].text),
    }


def _check(outcome: dict[str, Any]) -> None:
    assert outcome["names"] == TOOLS
    assert outcome["user"] == "alice"
    assert outcome["found"][0] == outcome["id"]
    assert (outcome["got"], outcome["updated"]) == ("I run marathons", "I swim")
    assert outcome["history"] == ["update"]
    assert outcome["deleted"] == {"deleted": outcome["id"]}
    assert outcome["missing"][0] is True
    assert "memory_not_found" in outcome["missing"][1]


def test_mcp_tools_on_the_embedded_memory(memory: Memory) -> None:
    server = build_mcp_server(memory, default_user_id="alice")

    async def main() -> dict[str, Any]:
        async with Client(server) as client:
            return await _exercise(client)

    _check(asyncio.run(main()))


def test_mcp_tool_errors_name_the_error_code(memory: Memory) -> None:
    server = build_mcp_server(memory)

    async def main() -> Any:
        async with Client(server) as client:
            return await client.call_tool("add", {"messages": "no scope given"})

    result = asyncio.run(main())
    assert result.is_error
    assert result.content[0].text.endswith(
        "invalid_scope: at least one of user_id, agent_id, session_id is required"
    )


@pytest.fixture
def remote(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[MemoryClient]:
    """A MemoryClient on a live REST server."""
    for live in start_live(tmp_path_factory, template_db):
        with MemoryClient(live.base_url, api_key=ADMIN_KEY) as client:
            yield client


def test_mcp_tools_over_a_memory_client(remote: MemoryClient) -> None:
    server = build_mcp_server(remote, default_user_id="alice")

    async def main() -> dict[str, Any]:
        async with Client(server) as client:
            return await _exercise(client)

    _check(asyncio.run(main()))


def test_mcp_streamable_http_transport(memory: Memory) -> None:
    server = build_mcp_server(memory, default_user_id="alice")
    app = server.streamable_http_app()

    async def main(url: str) -> dict[str, Any]:
        async with Client(f"{url}/mcp") as client:
            return await _exercise(client)

    with BackgroundServer(app) as base_url:  # type: ignore[arg-type]
        _check(asyncio.run(main(base_url)))
