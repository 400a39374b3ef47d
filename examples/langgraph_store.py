"""A LangGraph graph whose long-term memory is memsvc (``MemsvcStore``), no LLM needed.

Two function nodes: ``remember`` writes what the user said into the store under
``("memories", user)``, ``recall`` searches it by meaning. The same graph then runs again and
finds what the first run stored; the items are ordinary memsvc memories.

    python examples/langgraph_store.py --data-dir /tmp/memsvc-langgraph

Needs ``pip install langgraph`` (memsvc's ``langgraph`` extra). For a server instead of the
embedded ``Memory``: ``MemsvcStore(memsvc.sdk.MemoryClient(url, api_key=...))``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from memsvc import Memory
from memsvc.config import ConsolidationSettings, DatabaseSettings, EmbedSettings, IndexSettings
from memsvc.config import Settings as MemsvcSettings
from memsvc.integrations.langgraph import MemsvcStore


class State(TypedDict, total=False):
    user: str
    said: str
    question: str
    recalled: list[str]


def remember(state: State, *, store: BaseStore) -> State:
    key = f"note-{len(store.search(('memories', state['user']), limit=100))}"
    store.put(("memories", state["user"]), key, {"content": state["said"]})
    return {}


def recall(state: State, *, store: BaseStore) -> State:
    hits = store.search(("memories", state["user"]), query=state["question"], limit=1)
    return {"recalled": [h.value["content"] for h in hits]}


def build(store: BaseStore) -> Any:
    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    return graph.compile(store=store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".memsvc" / "langgraph")
    parser.add_argument("--hashing", action="store_true", help="hashing embedder (no model; tests)")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    settings = MemsvcSettings(
        db=DatabaseSettings(url=f"sqlite:///{args.data_dir / 'memsvc.db'}"),
        index=IndexSettings(dir=args.data_dir / "index"),
        embed=EmbedSettings(backend="hashing") if args.hashing else EmbedSettings(),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )
    with Memory(settings) as memory:
        app = build(MemsvcStore(memory))
        first = app.invoke(
            {"user": "alice", "said": "My cat Miso hates the rain", "question": "my cat's name?"}
        )
        print("run 1 recalled:", first["recalled"])
        second = app.invoke(
            {"user": "alice", "said": "I work night shifts", "question": "what is my cat called?"}
        )
        print("run 2 recalled:", second["recalled"])
        stored = memory.get_all(agent_id="langgraph").items
        print("stored in memsvc:", sorted(m.content for m in stored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
