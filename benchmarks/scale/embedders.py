"""Encode throughput and single-query latency of the float, int8 ONNX and static embedders,
side by side in one run (issue 15), on LoCoMo turns of conversations 1-5:

    python -m benchmarks.scale.embedders --models-dir /tmp/models --turns 400 --queries 50

Throughput: the turns in chunks of 100 (as ``add`` hands them over), each embedder's default
batch size. Latency: one question at a time (what every search pays). The embedders take
turns, chunk by chunk, so that a change in the machine's load hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, machine, percentiles
from benchmarks.scale.run import questions


def _turns(n: int) -> list[str]:
    """``n`` turns spread over LoCoMo conversations 1-5 (the tuning half)."""
    from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo

    texts = [
        f"{t.speaker}: {t.text}"
        for conversation in load_locomo(DEFAULT_LOCOMO)[:5]
        for session in conversation.sessions
        for t in session.turns
    ]
    return texts[:: max(1, len(texts) // n)][:n]


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS / "scale_embedders.json")
    args = parser.parse_args()
    from memsvc.config import EmbedSettings
    from memsvc.wiring import make_embedder

    embedders: dict[str, Any] = {
        "float (sentence-transformers)": make_embedder(EmbedSettings()),
        "onnx int8": make_embedder(EmbedSettings(backend="onnx", models_dir=args.models_dir)),
        "static": make_embedder(EmbedSettings(backend="static", models_dir=args.models_dir)),
    }
    turns, qs = _turns(args.turns), questions(args.queries)
    for embedder in embedders.values():
        embedder.embed(turns[:32])
    spent = dict.fromkeys(embedders, 0.0)
    latency: dict[str, list[float]] = {name: [] for name in embedders}
    for start in range(0, len(turns), 100):
        for name, embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.embed(turns[start : start + 100])
            spent[name] += time.perf_counter() - t0
    for q in qs:
        for name, embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.embed([q])
            latency[name].append((time.perf_counter() - t0) * 1000)
    results = {
        name: {
            "model_id": embedders[name].model_id,
            "dim": embedders[name].dim,
            "texts_per_s": round(len(turns) / spent[name], 1),
            "single_query": percentiles(latency[name]),
        }
        for name in embedders
    }
    payload = {
        "command": "python -m benchmarks.scale.embedders "
        f"--turns {args.turns} --queries {args.queries}",
        "machine": machine(),
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
