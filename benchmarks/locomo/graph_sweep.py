"""A small sweep of read-path settings over LoCoMo memories built once (tune on 1-5 only).

The memories are built by :mod:`benchmarks.locomo.run` (``--build-only --workdir W``); this
opens ``W`` once, embeds every question once, then scores each setting (a set of
``retrieval.*`` overrides) with 1, 2 and 3 rounds against the same, unchanged memory
(reinforcement off). Only the read path changes between settings: each gets a fresh searcher
built from the service's own embedder, indexes and LLM tasks with the overridden settings, so
nothing is rebuilt or re-embedded.

    python -m benchmarks.locomo.graph_sweep --workdir /tmp/g2/w15 --conversations 1 2 3 4 5 \\
        --setting base= --setting max=graph_fusion=max --out /tmp/g2/sweep.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo import baselines
from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo
from benchmarks.locomo.run import ask, build_settings, percentiles, warm_queries

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

logger = logging.getLogger("benchmarks.locomo.graph_sweep")

KS, BUDGETS = (5, 10, 20), (250, 500, 1000)


def parse_setting(text: str) -> tuple[str, dict[str, Any]]:
    """``name=key=value,key=value`` -> (name, {key: value}) (values as JSON where they parse)."""
    name, _, rest = text.partition("=")
    update: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, raw = item.partition("=")
        try:
            update[key] = json.loads(raw)
        except json.JSONDecodeError:
            update[key] = raw
    return name, update


def use_retrieval(service: Any, update: dict[str, Any]) -> None:
    """Give ``service`` a searcher whose ``retrieval`` settings carry ``update``."""
    from memsvc.search.searcher import Searcher

    retrieval = service.settings.retrieval.model_copy(update=update)
    settings = service.settings.model_copy(update={"retrieval": retrieval})
    # a benchmark swapping the read path only (private: no public way to do this)
    service._searcher = Searcher(
        settings=settings,
        begin=service.read,
        embedder=service.embedder,
        indexes=service.indexes,
        llm=service.llm,
        on_recall=lambda _ids: None,
    )


def sweep(
    workdir: Path,
    conversation_numbers: Sequence[int],
    settings: Sequence[tuple[str, dict[str, Any]]],
    rounds: Sequence[int],
) -> dict[str, Any]:
    """Recall (per split and category) and search latency for every setting and rounds."""
    from memsvc.wiring import build_service

    conversations = [c for c in load_locomo(DEFAULT_LOCOMO) if c.index + 1 in conversation_numbers]
    service = build_service(build_settings(workdir, []))
    metrics = [f"R@{k}" for k in KS] + [f"R@{b}tok" for b in BUDGETS]
    out: dict[str, Any] = {}
    try:
        for conversation in conversations:
            warm_queries(service, conversation)
        for n, (name, update) in enumerate(settings):
            use_retrieval(service, update)
            for r in rounds:
                if r == 1 and n > 0:  # one round reads no graph setting: scored once
                    continue
                rows: list[dict[str, Any]] = []
                took: list[float] = []
                kinds: Counter[str] = Counter()
                for conversation in conversations:
                    found, ms, seen = ask(
                        service, conversation, ks=KS, budgets=BUDGETS, depth=50, rounds=r
                    )
                    rows += found
                    took += ms
                    kinds += seen
                key = f"{name} ({r} rounds)"
                out[key] = {
                    "update": update,
                    "recall": baselines.summarise_splits(rows, metrics)["all"],
                    "latency": percentiles(took),
                    "top10_kinds": dict(kinds),
                }
                recall = out[key]["recall"]
                logger.info(
                    "%s: multi-hop %.3f all R@10 %.3f R@500tok %.3f p50 %.1f ms", key,
                    recall.get("multi-hop", {}).get("R@10", float("nan")), recall["all"]["R@10"],
                    recall["all"]["R@500tok"], out[key]["latency"]["p50_ms"],
                )  # fmt: skip
    finally:
        service.close()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--conversations", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--setting", action="append", default=[], help="name=key=value,...")
    parser.add_argument("--rounds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    results = sweep(args.workdir, args.conversations, list(map(parse_setting, args.setting)),
                    args.rounds)  # fmt: skip
    payload = {
        "command": "python -m benchmarks.locomo.graph_sweep "
        + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "conversations": args.conversations,
        "seconds": round(time.perf_counter() - started, 1),
        "loadavg": Path("/proc/loadavg").read_text().strip(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
