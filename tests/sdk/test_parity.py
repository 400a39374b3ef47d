"""Embedded ``Memory`` and HTTP ``MemoryClient``: same methods, same arguments, same results.

Code moves between them by changing the one line that builds the client.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from api.live import Live

from memsvc.memory import Memory
from memsvc.sdk import AsyncMemoryClient, MemoryClient

LIFECYCLE = {"close"}


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and name not in LIFECYCLE
    }


def _shape(sig: inspect.Signature) -> tuple[Any, ...]:
    params = tuple((p.name, p.kind, p.default, str(p.annotation)) for p in sig.parameters.values())
    return params, str(sig.return_annotation)


@pytest.mark.parametrize("client_cls", [MemoryClient, AsyncMemoryClient])
def test_http_clients_have_every_memory_method_with_the_same_signature(client_cls: type) -> None:
    embedded = _public_methods(Memory)
    remote = _public_methods(client_cls)
    for name, sig in embedded.items():
        assert name in remote, name
        assert _shape(remote[name]) == _shape(sig), name


def _conversation(memory: Memory | MemoryClient, user: str) -> list[Any]:
    """Code written once, run against either client."""
    added = memory.add(["I keep bees", "My hives are in Sintra"], user_id=user)
    first = added.events[0].id
    memory.update(first, content="I keep bees and chickens")
    top = memory.search("bees", user_id=user, top_k=1).hits[0].memory.content
    listed = sorted(m.content for m in memory.get_all(user_id=user).items)
    operations = [h.operation for h in memory.history(first)]
    # erase_history: SQLite may hand a deleted row's id to the next insert, and a kept history
    # would then show up on the next run's memory (reported to the store's owner).
    memory.delete(first, erase_history=True)
    return [top, listed, operations, memory.delete_all(user_id=user)]


@pytest.fixture
def embedded(live: Live) -> Iterator[Memory]:
    yield Memory(service=live.service, namespace="sdk")


def test_same_code_gives_the_same_results_embedded_and_over_http(
    embedded: Memory, client: MemoryClient
) -> None:
    results = [_conversation(m, f"p-{uuid.uuid4().hex[:8]}") for m in (embedded, client)]
    assert results[0] == results[1]
    assert results[0][0] == "I keep bees and chickens"
