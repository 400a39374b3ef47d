"""LoCoMo evidence recall of the memory service on conversations 1-5 and 6-10, reported apart.

Retrieval is tuned on conversations 1-5 only; 6-10 are held back. memsvc alone (no baselines),
default settings plus ``-s`` overrides, one fresh temporary database per conversation, so that
conversations can run in parallel processes and be combined:

    python -m benchmarks.locomo.halves --index 0 --out /tmp/halves/c0.json    # one conversation
    python -m benchmarks.locomo.halves --combine /tmp/halves --out benchmarks/results/x.json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo
from benchmarks.locomo.run import run_memsvc

HALVES = {"conversations 1-5": range(5), "conversations 6-10": range(5, 10)}


def combine(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per half: each category's recall averaged over questions (weighted by count)."""
    out: dict[str, Any] = {}
    for name, indexes in HALVES.items():
        chosen = [p for p in parts if p["index"] in indexes]
        categories: dict[str, dict[str, float]] = {}
        for part in chosen:
            for category, stats in part["recall"].items():
                into = categories.setdefault(category, {"n": 0})
                n = stats["n"]
                for metric, value in stats.items():
                    if metric != "n":
                        into[metric] = into.get(metric, 0.0) + value * n
                into["n"] += n
        out[name] = {
            "conversations": sorted(p["index"] + 1 for p in chosen),
            "recall": {
                c: {m: (v if m == "n" else round(v / s["n"], 3)) for m, v in s.items()}
                for c, s in categories.items()
            },
            "latency_p50_ms": [p["latency"]["p50_ms"] for p in chosen],
            "ingest_s": round(sum(sum(p["ingest_s"].values()) for p in chosen), 1),
        }
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO, help="locomo10.json")
    parser.add_argument("-s", "--set", dest="overrides", action="append", default=[])
    parser.add_argument("--index", type=int, help="run one conversation (0-based)")
    parser.add_argument("--combine", type=Path, help="a folder of --index outputs to combine")
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.combine is not None:
        parts = [json.loads(p.read_text()) for p in sorted(args.combine.glob("*.json"))]
        payload = {"label": args.label, **combine(parts)}
    else:
        conversation = load_locomo(args.data)[args.index]
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            ours = run_memsvc(
                [conversation],
                workdir=Path(tmp),
                overrides=args.overrides,
                ks=[5, 10, 20],
                budgets=[250, 500, 1000],
            )
        payload = {
            "index": args.index,
            "recall": ours["recall"],
            "latency": ours["latency"],
            "ingest_s": ours["ingest_s"],
            "seconds": round(time.perf_counter() - started, 1),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
