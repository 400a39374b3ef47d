"""Would contextual BM25 help the service? A probe on a consolidated LoCoMo memory.

On the turn baselines, appending the neighbouring turns to each turn's BM25 text raised R@10 by
7-8 points (``python -m benchmarks.locomo.baselines --captions --context prev``). This probe
asks whether the same holds inside the full read path, where contiguity already brings the
neighbours of strong hits: it re-indexes every event's BM25 document in memory (the stored data
and the dense index are untouched; nothing is saved) with its conversation's previous turn
(``prev``) or previous and next turns (``prevnext``), then asks every question as
:mod:`benchmarks.locomo.run` does, with recall reinforcement off so that the modes see the same
memory.

    python -m benchmarks.locomo.run --workdir W --no-baselines     # build the memory once
    python -m benchmarks.locomo.context_probe --workdir W           # none, prev, prevnext
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo import baselines
from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo
from benchmarks.locomo.run import RESULTS, ask, build_settings

MODES = ("none", "prev", "prevnext")


def reindex_with_context(service: Any, mode: str) -> int:
    """Replace every event's BM25 document by its text plus its neighbours'; returns how many."""
    import numpy as np
    import sqlalchemy as sa

    from memsvc.index.documents import index_tags, index_text
    from memsvc.index.ids import encode_key
    from memsvc.store import tables as t
    from memsvc.types import MemoryKind, MemoryRef

    ns = service.namespace_id(None)
    model = t.Event
    order = (model.user_id, model.agent_id, model.session_id, model.occurred_at, model.id)
    with service.read() as session:
        stmt = sa.select(model).where(model.namespace_id == ns).order_by(*order)
        rows = list(session.scalars(stmt))
        conversation = [(r.user_id, r.agent_id, r.session_id) for r in rows]
        texts, tags = [], []
        for i, row in enumerate(rows):
            parts = [index_text(row)]
            if i > 0 and conversation[i - 1] == conversation[i]:
                parts.append(index_text(rows[i - 1]))
            if mode == "prevnext" and i + 1 < len(rows) and conversation[i + 1] == conversation[i]:
                parts.append(index_text(rows[i + 1]))
            texts.append("\n".join(parts))
            tags.append(index_tags(row))
        keys = np.asarray([encode_key(MemoryRef(MemoryKind.EVENT, r.id)) for r in rows], np.int64)
    idx = service.indexes.get(ns)
    with idx.lock:
        idx.sparse.add(keys, texts, tags)
    idx.last_poll = float("inf")  # no change-log poll may bring the plain documents back
    return len(rows)


def probe(workdir: Path, mode: str, ks: Sequence[int], budgets: Sequence[int]) -> dict[str, Any]:
    """Recall of every scored question with events indexed in ``mode``."""
    from memsvc.wiring import build_service

    service = build_service(build_settings(workdir, ["retrieval.reinforce=false"]))
    try:
        if mode != "none":
            reindex_with_context(service, mode)
        rows: list[dict[str, Any]] = []
        for conversation in load_locomo(DEFAULT_LOCOMO):
            found, _, _ = ask(service, conversation, ks=ks, budgets=budgets, depth=50)
            rows += found
    finally:
        service.close()
    metrics = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    return baselines.summarise(rows, metrics)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a memory built by run.py")
    parser.add_argument("--out", type=Path, default=RESULTS / "locomo_context_probe.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    ks, budgets = (5, 10, 20), (250, 500, 1000)
    results = {mode: probe(args.workdir, mode, ks, budgets) for mode in MODES}
    for mode, summary in results.items():
        overall = summary["all"]
        print(
            f"{mode:>8}: R@5 {overall['R@5']:.3f}  R@10 {overall['R@10']:.3f}  "
            f"R@20 {overall['R@20']:.3f}  R@500tok {overall['R@500tok']:.3f}  "
            f"multi-hop R@10 {summary['multi-hop']['R@10']:.3f}"
        )
    args.out.write_text(json.dumps({"workdir": str(args.workdir), "results": results}, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
