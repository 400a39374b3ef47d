"""A million memories on one machine (issue 15): one command, JSON + PNG.

For each size (default 10k, 100k, 1M) a fresh SQLite + FAISS store gets that many memories in
one namespace and one user's scope: reproducible synthetic conversation turns with LoCoMo turns
mixed in (one in seven). Each size runs in its own processes, in three steps:

1. **load** (``--one N --step load``): ``add`` in batches through the real write path. Up to
   ``--consolidate-upto`` memories the consolidation worker runs in the same process during the
   load (adds compete with it for the cores) and the queue is then given ``--drain-s`` to empty;
   the worker's add->consolidated lag (``stats()["consolidation_lag_s"]``) and throughput are
   recorded. Larger sizes load with consolidation off (it cannot keep up: see the 10k figures).
   The dense index switches to HNSW in the background past ``index.approximate_after``; the
   build and swap times are recorded.
2. **open** (``--step open``): a new process opens the store; RSS before and after the
   namespace's indexes are loaded gives bytes per memory (vectors, graph, BM25, tags, caches);
   in-process search p50/p95/p99 from 1, 8 and 32 threads (hybrid, scoped to the user, query
   embedding included); recall@10 of the approximate index against exact search over the same
   vectors, for LoCoMo questions (a side HNSW is built when the live index is still flat).
3. **REST**: ``memsvc serve --workers 2`` on the store, 1, 8 and 32 keep-alive clients.

    python -m benchmarks.scale.run --embedder static --models-dir /tmp/models
    python -m benchmarks.scale.run --sizes 10000 --embedder model   # the float model, 10k

The float model (all-MiniLM-L6-v2 in torch) encodes ~200 texts/s on two cores: 1M memories
would take ~1.5 hours of embedding alone, so the 1M run uses a fast embedder (``--embedder``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (common, rest_bench)

from common import RESULTS, corpus, machine, percentiles

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

logger = logging.getLogger("benchmarks.scale")

USER = "scale-user"
_NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas"]
_DOING = [
    "started learning the cello", "moved into a flat by the canal", "adopted a grey kitten",
    "ran a half marathon", "switched jobs to a robotics startup", "planted tomatoes on the balcony",
    "booked a trip to Kyoto", "finished a pottery course", "broke a wrist skateboarding",
    "joined a chess club", "sold the old car", "began volunteering at the food bank",
]  # fmt: skip
_WHEN = ["yesterday", "last weekend", "in March", "two weeks ago", "this morning", "in 2023"]
_TAIL = [
    "and it went better than expected", "which was exhausting", "and I want to do it again",
    "so the evenings are busy now", "but the weather was awful", "with my cousin",
]  # fmt: skip


def texts(n: int, seed: int = 15, offset: int = 0) -> list[str]:
    """``n`` distinct chat turns: synthetic ones, and a LoCoMo turn in every seven
    (``offset`` numbers a later chunk of the same corpus)."""
    rng = random.Random(seed)
    locomo = corpus(n // 7 + 1)
    out = []
    for j in range(n):
        i = offset + j
        if i % 7 == 3:
            out.append(next(locomo) + (f" ({i})" if offset else ""))
            continue
        name = rng.choice(_NAMES)
        text = f"{name}: I {rng.choice(_DOING)} {rng.choice(_WHEN)}, {rng.choice(_TAIL)}"
        out.append(f"{text} (note {i})" if rng.random() < 0.5 else f"{text}. #{i}")
    return out


def questions(n: int) -> list[str]:
    """LoCoMo questions (real queries, mixed topics)."""
    from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo

    qs = [qa.question for c in load_locomo(DEFAULT_LOCOMO) for qa in c.qa if qa.category <= 4]
    return random.Random(7).sample(qs, min(n, len(qs)))


def settings_for(args: argparse.Namespace, workdir: Path, *, consolidate: bool) -> Any:
    """The service's settings for one size."""
    from memsvc.config import Settings

    embed: dict[str, Any] = {"backend": "hashing"} if args.embedder == "hashing" else {}
    if args.embedder in ("onnx", "static"):
        embed = {"backend": args.embedder, "models_dir": str(args.models_dir)}
    return Settings(
        db={"url": f"sqlite:///{workdir / 'memsvc.db'}"},  # type: ignore[arg-type]
        index={"dir": str(workdir / "index")},  # type: ignore[arg-type]
        embed=embed,  # type: ignore[arg-type]
        consolidation={"enabled": consolidate, "in_process_worker": consolidate},  # type: ignore[arg-type]
        limits={"max_batch": 5_000},  # type: ignore[arg-type]
        api={
            "auth": True,
            "admin_key": "scale-bench-admin-key-0123456789",
            "rate_limit_per_minute": 0,
        },  # type: ignore[arg-type]
    )


def rss_bytes() -> int:
    """This process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def step_load(args: argparse.Namespace, n: int, workdir: Path) -> dict[str, Any]:
    """Add ``n`` memories through the write path (consolidation on up to a size)."""
    from memsvc.types import Scope
    from memsvc.wiring import build_service

    consolidate = n <= args.consolidate_upto
    settings = settings_for(args, workdir, consolidate=consolidate)
    service = build_service(settings)
    scope = Scope(user_id=USER)
    corpus_texts = texts(n)
    batch = args.batch if consolidate else args.bulk_batch
    service.embedder.embed(["warm up"])
    started = time.perf_counter()
    for start in range(0, n, batch):
        chunk = corpus_texts[start : start + batch]
        service.add([{"role": "user", "content": t} for t in chunk], scope=scope)
        if (start // batch) % 50 == 0:
            rate = (start + len(chunk)) / (time.perf_counter() - started)
            logger.info("%d: loaded %d (%.0f events/s)", n, start + len(chunk), rate)
    add_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "memories": n,
        "consolidation_during_add": consolidate,
        "add_batch": batch,
        "add_s": round(add_s, 1),
        "add_events_per_s": round(n / add_s, 1),
    }
    if consolidate:
        drain_started = time.perf_counter()
        while time.perf_counter() - drain_started < args.drain_s:
            jobs = service.stats()["jobs"]
            if not jobs.get("pending") and not jobs.get("running"):
                break
            time.sleep(2)
        stats = service.stats()
        out["consolidation"] = {
            "drained": not stats["jobs"].get("pending") and not stats["jobs"].get("running"),
            "drain_s": round(time.perf_counter() - drain_started, 1),
            "lag_s": stats["consolidation_lag_s"],
            "jobs": stats["jobs"],
            "memories": stats["memories"],
            "events_per_s_overall": round(n / (add_s + time.perf_counter() - drain_started), 1),
        }
    ns = service.namespace_id()
    idx = service.indexes.get(ns)
    dense = idx.dense
    wait = getattr(dense, "wait_for_build", None)
    if wait is not None:
        wait_started = time.perf_counter()
        wait(None)
        out["index_build_wait_after_load_s"] = round(time.perf_counter() - wait_started, 1)
    stats_fn = getattr(dense, "stats", None)
    out["dense"] = stats_fn() if callable(stats_fn) else {}
    with idx.lock:
        service.indexes._save(idx)  # the swapped-in graph, for the next step to load
    service.close()
    return out


def step_open(args: argparse.Namespace, n: int, workdir: Path) -> dict[str, Any]:
    """Open the store in a fresh process: RAM per memory, in-process latency, recall@10."""
    from concurrent.futures import ThreadPoolExecutor

    from memsvc.types import Scope
    from memsvc.wiring import build_service

    settings = settings_for(args, workdir, consolidate=False)
    service = build_service(settings, start_worker=False)
    service.embedder.embed(["warm up"])  # the model is loaded; the namespace's indexes not yet
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    idx = service.indexes.get(service.namespace_id())
    load_s = time.perf_counter() - started
    wait = getattr(idx.dense, "wait_for_build", None)
    if wait is not None:
        wait(None)
    gc.collect()
    after = rss_bytes()
    out: dict[str, Any] = {
        "index_load_s": round(load_s, 2),
        "rss_before_index_mb": round(before / 2**20, 1),
        "rss_after_index_mb": round(after / 2**20, 1),
        "bytes_per_memory": round((after - before) / n, 1),
        "dense": idx.dense.stats() if hasattr(idx.dense, "stats") else {},
        "sparse": idx.sparse.stats() if hasattr(idx.sparse, "stats") else {},
    }
    qs = questions(args.queries)
    scope = Scope(user_id=USER)

    def one(i: int) -> float:
        query = f"{qs[i % len(qs)]} ({i})"  # distinct texts: every query is embedded
        t0 = time.perf_counter()
        service.search(query, scope=scope, top_k=10)
        return (time.perf_counter() - t0) * 1000

    in_process = {}
    for threads in args.clients:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(threads * 2)))
            t0 = time.perf_counter()
            samples = list(pool.map(one, range(args.queries)))
            elapsed = time.perf_counter() - t0
        in_process[str(threads)] = {**percentiles(samples), "qps": round(len(samples) / elapsed, 1)}
        logger.info("%d: in-process x%d %s", n, threads, in_process[str(threads)])
    out["search_in_process"] = in_process
    out["recall"] = recall_at_10(service, idx.dense, qs[:200])
    service.close()
    return out


def recall_at_10(service: Any, dense: Any, qs: list[str]) -> dict[str, Any]:
    """recall@10 of the HNSW graph against exact search over the same (stored) vectors."""
    import numpy as np

    from memsvc.index.faiss import FaissIndex

    if not isinstance(dense, FaissIndex):
        return {"skipped": "not a FAISS index"}
    vectors = dense._vectors()
    positions = dense._tags.live_positions()
    keys = dense._tags.keys_at(positions)
    graph, built = dense, {}
    if dense.index_type == "flat":  # below approximate_after: measure the graph it would swap in
        cfg = service.settings.index.model_copy(update={"approximate_after": 1})
        graph = FaissIndex(cfg, dense.dim)
        t0 = time.perf_counter()
        for start in range(0, len(positions), 50_000):
            part = positions[start : start + 50_000]
            graph.add(keys[start : start + 50_000], vectors[part].astype(np.float32),
                      [dense._tags.tags_at(int(p)) for p in part])  # fmt: skip
        built = {"side_graph_build_s": round(time.perf_counter() - t0, 1)}
    query_vectors = service.embedder.embed(qs)
    found = 0
    for q in query_vectors:
        best = np.full(10, -np.inf, dtype=np.float32)
        best_keys = np.zeros(10, dtype=np.int64)
        for start in range(0, len(positions), 200_000):
            part = positions[start : start + 200_000]
            scores = vectors[part].astype(np.float32) @ q
            top = np.argpartition(-scores, 10)[:10] if len(scores) > 10 else np.arange(len(scores))
            merged = np.concatenate([best, scores[top]])
            merged_keys = np.concatenate([best_keys, keys[start:][top]])
            keep = np.argsort(-merged)[:10]
            best, best_keys = merged[keep], merged_keys[keep]
        approx = {k for k, _ in graph.search(q, 10)}
        found += len(approx & set(best_keys.tolist()))
    return {
        "recall_at_10": round(found / (10 * len(query_vectors)), 4),
        "queries": len(query_vectors),
        "graph": graph.stats(),
        "exact_over": "the index's own stored vectors (float16 in the graph)",
        **built,
    }


def step_rest(args: argparse.Namespace, n: int, workdir: Path) -> dict[str, Any]:
    """``memsvc serve --workers 2`` on the store; 1/8/32 keep-alive clients."""
    from rest_bench import bench_rest, free_port, start_server

    from memsvc.wiring import build_service

    settings = settings_for(args, workdir, consolidate=False)
    service = build_service(settings, start_worker=False)
    key = service.create_key(namespace=settings.namespace, name=f"scale-{time.time()}").secret
    service.close()
    qs = questions(args.queries)
    port = free_port()
    server = start_server(settings, port, args.workers)
    out = {}
    try:
        for clients in args.clients:
            jobs = [(f"{qs[i % len(qs)]} [{clients}.{i}]", USER) for i in range(args.queries)]
            out[str(clients)] = asyncio.run(
                bench_rest(f"http://127.0.0.1:{port}", key, jobs, clients, {"top_k": 10})
            )
            logger.info("%d: REST x%d %s", n, clients, out[str(clients)])
    finally:
        server.terminate()
        server.wait(timeout=120)
    return out


def run_child(args: argparse.Namespace, n: int, step: str) -> dict[str, Any]:
    """One step of one size in its own process (clean RSS, no state carried over)."""
    out = args.workdir / f"n{n}-{step}.json"
    command = [sys.executable, "-m", "benchmarks.scale.run", "--one", str(n), "--step", step,
               *sys.argv[1:]]  # fmt: skip
    subprocess.run(command, check=True)
    return dict(json.loads(out.read_text()))


def chart(results: dict[str, Any], path: Path) -> None:
    """Search p95 (in-process, REST 8 clients), add rate and bytes per memory by size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(k) for k in results)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))

    def series(getter: Any) -> list[float]:
        values = []
        for s in sizes:
            try:
                values.append(float(getter(results[str(s)])))
            except (KeyError, TypeError):
                values.append(float("nan"))
        return values

    for clients in ("1", "8", "32"):
        in_process = series(lambda r, c=clients: r["open"]["search_in_process"][c]["p95_ms"])
        axes[0].plot(sizes, in_process, marker="o", label=f"in-process x{clients}")
        axes[0].plot(sizes, series(lambda r, c=clients: r["rest"][c]["p95_ms"]), marker="s",
                     linestyle="--", label=f"REST x{clients}")  # fmt: skip
    axes[0].set_title("search p95 (ms)")
    axes[1].bar([str(s) for s in sizes], series(lambda r: r["load"]["add_events_per_s"]))
    axes[1].set_title("add throughput (events/s)")
    axes[2].bar([str(s) for s in sizes], series(lambda r: r["open"]["bytes_per_memory"]))
    axes[2].axhline(1536, color="red", linestyle=":", label="1.5 KB target")
    axes[2].set_title("RAM per memory (bytes)")
    for axis in axes:
        axis.grid(alpha=0.3)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--embedder", choices=["static", "onnx", "model", "hashing"], default="static"
    )
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/memsvc-scale"))
    parser.add_argument(
        "--batch", type=int, default=100, help="messages per add with consolidation on"
    )
    parser.add_argument("--bulk-batch", type=int, default=2_000, help="messages per add without")
    parser.add_argument("--consolidate-upto", type=int, default=10_000)
    parser.add_argument("--drain-s", type=float, default=300.0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-rest", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.one is not None:
        workdir = args.workdir / f"n{args.one}"
        workdir.mkdir(parents=True, exist_ok=True)
        step = {"load": step_load, "open": step_open, "rest": step_rest}[args.step]
        result = step(args, args.one, workdir)
        (args.workdir / f"n{args.one}-{args.step}.json").write_text(json.dumps(result, default=str))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if args.out.exists():  # sizes measured by an earlier, interrupted run of the same command
        results = json.loads(args.out.read_text()).get("results", {})
    for n in args.sizes:
        started = time.perf_counter()
        row: dict[str, Any] = {}
        for step in ("load", "open") + (() if args.skip_rest else ("rest",)):
            row[step] = run_child(args, n, step)
            results[str(n)] = row
            payload = {
                "command": "python -m benchmarks.scale.run " + " ".join(sys.argv[1:]),
                "machine": machine(),
                "load_average_end": os.getloadavg(),
                "embedder": args.embedder,
                "results": results,
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(payload, indent=2, default=str))
        row["seconds"] = round(time.perf_counter() - started, 1)
        chart(results, args.out.with_suffix(".png"))
    print(json.dumps(results, indent=1, default=str)[:4000])


if __name__ == "__main__":
    main()
