"""Write and read path of the embedded service, side by side with mem0 (issue 2).

In one run: add throughput (events/s end to end: validated, embedded with the packaged
all-MiniLM-L6-v2, committed to SQLite, indexed in FAISS and BM25) in batches and one message at a
time, and search latency p50/p95 (including the query embedding) at each size; then the same
for mem0 (``infer=False``, same embedder, FAISS) where ``mem0ai`` is installed.

    python benchmarks/foundation_bench.py --sizes 10000 100000 --mem0-size 10000
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from common import corpus, machine, make_mem0, percentiles, timed, write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MEM0_TELEMETRY", "False")

QUERIES = [
    "What did Caroline say about the support group?",
    "When did Melanie go camping with her family?",
    "Which books does Jon like to read?",
    "What is Gina's new business?",
    "Where did they travel last summer?",
    "What pets does the family have?",
    "Who painted the sunset picture?",
    "What instrument is being learned?",
]


def _queries(seed: int, n: int, users: list[str]) -> list[tuple[str, str]]:
    """The same (query, user) sequence for every system measured at a size."""
    rng = random.Random(seed)
    return [(f"{rng.choice(QUERIES)} {i}", rng.choice(users)) for i in range(n)]


def _row(name: str, row: dict[str, Any]) -> str:
    search = row["search"]
    return (
        f"{name:<8} {row['events']:>8} {row['add_events_per_s']:>9} "
        f"{search['p50_ms']:>9}ms {search['p95_ms']:>6}ms"
    )


def bench_memsvc(
    sizes: list[int], batch: int, n_queries: int, workdir: Path, embedder: str
) -> dict[str, Any]:
    from memsvc.config import (
        ConsolidationSettings,
        DatabaseSettings,
        EmbedSettings,
        IndexSettings,
        Settings,
    )
    from memsvc.memory import Memory

    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{workdir / 'memsvc.db'}"),
        index=IndexSettings(dir=workdir / "index"),
        consolidation=ConsolidationSettings(enabled=False),
        embed=EmbedSettings(backend=embedder),
    )
    memory = Memory(settings)
    memory.search("warm up the model", user_id="u0")
    texts = corpus(max(sizes) + 200)
    users = [f"user{i}" for i in range(20)]
    out: dict[str, Any] = {"batch": batch, "embedder": embedder, "sizes": {}}
    stored = 0
    single = []
    for size in sizes:
        started = time.perf_counter()
        added = 0
        while stored + added < size:
            chunk = [next(texts) for _ in range(min(batch, size - stored - added))]
            memory.add(
                [{"role": "user", "content": c} for c in chunk],
                user_id=users[(stored + added) // batch % len(users)],
            )
            added += len(chunk)
        elapsed = time.perf_counter() - started
        stored += added
        if not single:
            single = [timed(lambda: memory.add(next(texts), user_id="user0")) for _ in range(100)]
            stored += 100
        lat = [
            timed(lambda q=q, u=u: memory.search(q, user_id=u, rounds=1))
            for q, u in _queries(size, n_queries, users)
        ]
        out["sizes"][str(size)] = {
            "events": stored,
            "add_events_per_s": round(added / elapsed, 1),
            "search": percentiles(lat),
        }
        logging.info("memsvc at %d: %s", size, out["sizes"][str(size)])
    out["single_add"] = percentiles(single)
    out["single_add"]["events_per_s"] = round(1000 / out["single_add"]["mean_ms"], 1)
    memory.close()
    return out


def bench_mem0(size: int, n_queries: int, workdir: Path) -> dict[str, Any] | None:
    try:
        mem0 = make_mem0(workdir / "mem0", "bench")
    except ImportError:
        logging.warning("mem0ai is not installed; skipping the mem0 comparison")
        return None
    texts = corpus(size)
    users = [f"user{i}" for i in range(20)]
    started = time.perf_counter()
    for i, text in enumerate(texts):
        mem0.add(
            [{"role": "user", "content": text}], user_id=users[i // 100 % len(users)], infer=False
        )
    elapsed = time.perf_counter() - started
    lat = [
        timed(lambda q=q, u=u: mem0.search(q, filters={"user_id": u}, limit=10))
        for q, u in _queries(size, n_queries, users)
    ]
    return {
        "events": size,
        "add_events_per_s": round(size / elapsed, 1),
        "search": percentiles(lat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=100, help="messages per add call")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mem0-size", type=int, default=10_000, help="0 skips mem0")
    parser.add_argument(
        "--embedder",
        default="sentence_transformers",
        choices=["sentence_transformers", "hashing"],
        help="hashing isolates the store and index cost from the model's",
    )
    parser.add_argument("--out", default="foundation_bench.json", help="results file name")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, Any] = {"machine": machine()}
        result["memsvc"] = bench_memsvc(
            sorted(args.sizes), args.batch, args.queries, Path(tmp) / "memsvc", args.embedder
        )
        if args.mem0_size:
            result["mem0"] = bench_mem0(args.mem0_size, args.queries, Path(tmp))
    path = write_json(args.out, result)
    print(f"{'system':<8} {'events':>8} {'adds/s':>9} {'search p50':>11} {'p95':>8}")
    for row in result["memsvc"]["sizes"].values():
        print(_row("memsvc", row))
    single = result["memsvc"]["single_add"]
    print(
        f"memsvc single-message add: {single['events_per_s']} events/s (p50 {single['p50_ms']} ms)"
    )
    if result.get("mem0"):
        print(_row("mem0", result["mem0"]))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
