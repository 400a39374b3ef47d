"""An MCP server exposing memsvc as tools: add, search, get, update, delete, history.

Agent frameworks that speak the Model Context Protocol use the memory directly. The tools run
on the embedded :class:`memsvc.Memory` (this process owns the store) or on a
:class:`memsvc.sdk.MemoryClient` (a memsvc server elsewhere), which have the same methods.

Run it with ``memsvc mcp`` or ``python -m memsvc.mcp_server`` (stdio by default; ``--transport
streamable-http`` serves ``http://HOST:PORT/mcp``). Settings come from ``MEMSVC_*`` variables.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, Protocol, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from memsvc.config import Settings
from memsvc.errors import MemsvcError
from memsvc.schemas import (
    AddResponse,
    HistoryEntryPublic,
    HistoryList,
    MemoryPublic,
    MessageIn,
    SearchResponse,
)

__all__ = ["MemoryBackend", "build_mcp_server", "main", "run_mcp"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Transport = Literal["stdio", "sse", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_INSTRUCTIONS = (
    "Long-term memory. Call `search` before answering questions about the user or past "
    "conversations; call `add` with what the user says that is worth remembering. Memories "
    "belong to a scope (user_id, agent_id, session_id)."
)


class MemoryBackend(Protocol):
    """What the tools call: :class:`memsvc.Memory` and :class:`memsvc.sdk.MemoryClient` fit."""

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = ...,
        agent_id: str | None = ...,
        session_id: str | None = ...,
        metadata: dict[str, Any] | None = ...,
    ) -> AddResponse: ...

    def search(
        self,
        query: str,
        *,
        user_id: str | None = ...,
        agent_id: str | None = ...,
        session_id: str | None = ...,
        top_k: int | None = ...,
        context_tokens: int | None = ...,
    ) -> SearchResponse: ...

    def get(self, memory_id: str) -> MemoryPublic: ...

    def update(
        self, memory_id: str, *, content: str | None = ..., metadata: dict[str, Any] | None = ...
    ) -> MemoryPublic: ...

    def delete(self, memory_id: str, *, erase_history: bool = ...) -> None: ...

    def history(self, memory_id: str) -> list[HistoryEntryPublic]: ...

    def close(self) -> None: ...


def _tool_errors(fn: Callable[[], T]) -> T:
    """Run one tool body; memsvc errors become tool errors the model can read and act on."""
    try:
        return fn()
    except MemsvcError as exc:
        raise ToolError(f"{exc.code}: {exc.message}") from None


def build_mcp_server(
    memory: MemoryBackend,
    *,
    name: str = "memsvc",
    default_user_id: str | None = None,
    log_level: LogLevel = "WARNING",
) -> MCPServer[Any]:
    """The MCP server with the six memory tools bound to ``memory``.

    Args:
        memory: the embedded ``Memory`` or a ``MemoryClient``; the caller closes it.
        default_user_id: the user_id used when a tool call names no scope (single-user agents).
        log_level: handed to the MCP SDK, which configures the root logger with it when
            nothing has configured logging yet.
    """
    server: MCPServer[Any] = MCPServer(name=name, instructions=_INSTRUCTIONS, log_level=log_level)

    def scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> dict[str, Any]:
        if user_id is None and agent_id is None and session_id is None:
            user_id = default_user_id
        return {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}

    @server.tool()
    def add(
        messages: str | list[MessageIn],
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AddResponse:
        """Remember messages (a string or a list of {role, content, name}) for a scope."""
        payload = messages if isinstance(messages, str) else [m.model_dump() for m in messages]
        return _tool_errors(
            lambda: memory.add(payload, metadata=metadata, **scope(user_id, agent_id, session_id))
        )

    @server.tool()
    def search(
        query: str,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        top_k: Annotated[int, Field(ge=1, le=100)] = 5,
        context_tokens: int | None = None,
    ) -> SearchResponse:
        """Find the memories that matter for a query, best first, with provenance."""
        return _tool_errors(
            lambda: memory.search(
                query,
                top_k=top_k,
                context_tokens=context_tokens,
                **scope(user_id, agent_id, session_id),
            )
        )

    @server.tool()
    def get(memory_id: str) -> MemoryPublic:
        """One memory by id (e.g. fact_12)."""
        return _tool_errors(lambda: memory.get(memory_id))

    @server.tool()
    def update(
        memory_id: str, content: str | None = None, metadata: dict[str, Any] | None = None
    ) -> MemoryPublic:
        """Correct a memory's text and/or metadata; the change is kept in its history."""
        return _tool_errors(lambda: memory.update(memory_id, content=content, metadata=metadata))

    @server.tool()
    def delete(memory_id: str, erase_history: bool = False) -> dict[str, Any]:
        """Forget one memory everywhere (with erase_history, its history too)."""
        _tool_errors(lambda: memory.delete(memory_id, erase_history=erase_history))
        return {"deleted": memory_id}

    @server.tool()
    def history(memory_id: str) -> HistoryList:
        """Every recorded change of a memory, oldest first."""
        return HistoryList(items=_tool_errors(lambda: memory.history(memory_id)))

    return server


def run_mcp(
    settings: Settings | None = None,
    transport: Transport = "stdio",
    *,
    url: str | None = None,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8766,
    path: str = "/mcp",
    user_id: str | None = None,
    namespace: str | None = None,
    log_level: LogLevel = "INFO",
) -> None:
    """Serve the memory tools over MCP until the client disconnects or the process is stopped.

    Args:
        settings: configuration of the embedded memory (default ``Settings()``); unused with
            ``url``.
        transport: ``stdio`` (an agent launches this process), ``streamable-http``, or the
            older ``sse``.
        url: a memsvc REST server to use through the SDK instead of an embedded store.
        api_key: the key for ``url``.
        host, port, path: where the HTTP transports listen.
        user_id: default scope for tool calls that name none.
        namespace: the tenant of the embedded memory (default ``settings.namespace``).
    """
    memory: MemoryBackend
    if url is not None:
        from memsvc.sdk import MemoryClient

        memory = MemoryClient(url, api_key=api_key)
    else:
        from memsvc.memory import Memory

        memory = Memory(settings or Settings(), namespace=namespace)
    server = build_mcp_server(memory, default_user_id=user_id, log_level=log_level)
    logger.info("MCP server starting on %s (backend: %s)", transport, "http" if url else "embedded")
    try:
        if transport == "stdio":
            server.run("stdio")
        elif transport == "sse":
            server.run("sse", host=host, port=port)
        else:
            server.run("streamable-http", host=host, port=port, streamable_http_path=path)
    finally:
        memory.close()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m memsvc.mcp_server``: the same options as ``memsvc mcp``."""
    parser = argparse.ArgumentParser(prog="python -m memsvc.mcp_server", description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    parser.add_argument("--url", help="a memsvc REST server (default: embedded memory)")
    parser.add_argument("--api-key", help="API key for --url")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--user-id", help="default user_id when a tool call names no scope")
    parser.add_argument("--namespace", help="tenant of the embedded memory")
    args = parser.parse_args(argv)
    run_mcp(
        None if args.url else Settings(),
        args.transport,
        url=args.url,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        user_id=args.user_id,
        namespace=args.namespace,
    )


if __name__ == "__main__":
    main()
