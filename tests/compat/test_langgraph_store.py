"""``MemsvcStore``, LangGraph's ``BaseStore`` on memsvc: on the embedded ``Memory`` and on the
HTTP ``MemoryClient`` against a live ``memsvc serve``, inside a compiled LangGraph graph, and
under LangMem's memory tools."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest

from compat.conftest import Served
from memsvc import Memory
from memsvc.config import Settings
from memsvc.sdk import MemoryClient

pytest.importorskip("langgraph", reason="langgraph is in the langgraph extra")
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from memsvc.integrations.langgraph import MemsvcStore


@pytest.fixture
def embedded(settings: Settings) -> Iterator[Memory]:
    with Memory(settings) as memory:
        yield memory


@pytest.fixture(params=["embedded", "http"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[MemsvcStore]:
    if request.param == "embedded":
        with Memory(settings) as memory:
            yield MemsvcStore(memory)
    else:
        served: Served = request.getfixturevalue("served")
        with MemoryClient(served.url, api_key=served.key) as client:
            # each test gets its own agent scope on the shared server
            yield MemsvcStore(client, agent_id=f"lg-{uuid.uuid4().hex[:12]}")


def test_store_put_get_overwrite_and_delete(store: MemsvcStore) -> None:
    ns = ("memories", "alice")
    store.put(ns, "home", {"content": "Alice lives in Lisbon", "topic": "place"})
    item = store.get(ns, "home")
    assert item is not None
    assert (item.key, item.namespace, item.value["content"]) == (
        "home",
        ns,
        "Alice lives in Lisbon",
    )
    store.put(ns, "home", {"content": "Alice lives in Porto", "topic": "place"})
    again = store.get(ns, "home")
    assert again is not None and again.value["content"] == "Alice lives in Porto"
    assert again.created_at == item.created_at and again.updated_at >= item.updated_at
    assert len(store.search(ns)) == 1  # overwritten, not duplicated
    store.delete(ns, "home")
    assert store.get(ns, "home") is None
    assert store.search(ns) == []


def test_store_search_by_meaning_prefix_and_filter(store: MemsvcStore) -> None:
    store.put(("memories", "bob"), "pet", {"content": "Bob has a cat named Miso", "topic": "pets"})
    store.put(("memories", "bob"), "job", {"content": "Bob works as a nurse", "topic": "work"})
    store.put(("memories", "bob", "old"), "car", {"content": "Bob sold his red car"})
    store.put(("memories", "carol"), "pet", {"content": "Carol has a cat too", "topic": "pets"})
    hits = store.search(("memories", "bob"), query="what is the name of Bob's cat?", limit=2)
    assert hits[0].key == "pet" and hits[0].namespace == ("memories", "bob")
    assert isinstance(hits[0].score, float)
    everything = store.search(("memories", "bob"), limit=10)
    assert {(h.namespace, h.key) for h in everything} == {
        (("memories", "bob"), "pet"),
        (("memories", "bob"), "job"),
        (("memories", "bob", "old"), "car"),
    }
    pets = store.search(("memories",), filter={"topic": "pets"})
    assert {(h.namespace[1], h.key) for h in pets} == {("bob", "pet"), ("carol", "pet")}
    assert store.search(("memories", "bob"), limit=1, offset=1)[0].key in {"pet", "job", "car"}


def test_store_lists_namespaces_with_conditions_and_depth(store: MemsvcStore) -> None:
    for ns in [("a", "x"), ("a", "y", "deep"), ("b", "x")]:
        store.put(ns, "k", {"content": "/".join(ns)})
    assert store.list_namespaces() == [("a", "x"), ("a", "y", "deep"), ("b", "x")]
    assert store.list_namespaces(prefix=("a",)) == [("a", "x"), ("a", "y", "deep")]
    assert store.list_namespaces(suffix=("x",)) == [("a", "x"), ("b", "x")]
    assert store.list_namespaces(max_depth=1) == [("a",), ("b",)]


def test_store_async_methods_and_batch(store: MemsvcStore) -> None:
    async def run() -> list[Any]:
        ns = ("notes", "dana")
        await store.aput(ns, "one", {"content": "Dana prefers tea over coffee"})
        got = await store.aget(ns, "one")
        hits = await store.asearch(ns, query="what does Dana drink?")
        await store.adelete(ns, "one")
        gone = await store.aget(ns, "one")
        return [got, hits, gone, await store.alist_namespaces()]

    got, hits, gone, namespaces = asyncio.run(run())
    assert got.value["content"] == "Dana prefers tea over coffee"
    assert hits[0].key == "one"
    assert gone is None and ("notes", "dana") not in namespaces


def test_store_index_false_and_fields(embedded: Memory) -> None:
    store = MemsvcStore(embedded, index_fields=["title"])
    store.put(("docs",), "d1", {"title": "Quarterly revenue report", "body": "numbers"})
    store.put(("docs",), "d2", {"title": "Holiday plans", "body": "revenue"}, index=False)
    assert store.search(("docs",), query="revenue report")[0].key == "d1"
    stored = embedded.get_all(agent_id="langgraph").items
    assert sorted(m.content for m in stored) == ["Quarterly revenue report", "d2"]


class _State(TypedDict, total=False):
    user: str
    said: str
    recalled: list[str]


def test_store_inside_a_compiled_graph(store: MemsvcStore) -> None:
    def remember(state: _State, *, store: BaseStore) -> _State:
        store.put(("memories", state["user"]), "said", {"content": state["said"]})
        return {}

    def recall(state: _State, *, store: BaseStore) -> _State:
        hits = store.search(("memories", state["user"]), query="where does the user live?")
        return {"recalled": [h.value["content"] for h in hits]}

    graph = StateGraph(_State)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    app = graph.compile(store=store)
    out = app.invoke({"user": "erin", "said": "I live in Oslo near the fjord"})
    assert out["recalled"] == ["I live in Oslo near the fjord"]
    # a second run of the compiled graph reads what the first one stored
    later = app.invoke({"user": "erin", "said": "I live in Bergen now"})
    assert later["recalled"] == ["I live in Bergen now"]


def test_langmem_tools_manage_and_search_memories(embedded: Memory) -> None:
    langmem = pytest.importorskip("langmem", reason="langmem is in the langgraph extra")
    store = MemsvcStore(embedded)
    namespace = ("memories", "{langgraph_user_id}")
    manage = langmem.create_manage_memory_tool(namespace=namespace, store=store)
    search = langmem.create_search_memory_tool(namespace=namespace, store=store)
    config = {"configurable": {"langgraph_user_id": "fay"}}
    created = manage.invoke({"content": "Fay is allergic to peanuts", "action": "create"}, config)
    assert "created memory" in created.lower()
    found = search.invoke({"query": "what is Fay allergic to?"}, config)
    assert "peanuts" in found
    item = store.search(("memories", "fay"))[0]
    manage.invoke({"id": item.key, "content": "Fay is allergic to shellfish", "action": "update"},
                  config)  # fmt: skip
    assert store.get(("memories", "fay"), item.key).value["content"] == (  # type: ignore[union-attr]
        "Fay is allergic to shellfish"
    )
    manage.invoke({"id": item.key, "action": "delete"}, config)
    assert store.search(("memories", "fay")) == []
