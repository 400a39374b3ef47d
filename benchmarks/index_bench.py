"""Add throughput and search latency of the derived indexes (FAISS flat and HNSW, BM25).

Usage::

    python benchmarks/index_bench.py --n 100000

For each size (10k and ``--n``) it builds the index from synthetic unit vectors (384-d,
embedding-like by default: a 32-d signal plus noise; ``--data random`` for isotropic ones) or
synthetic Zipf-distributed texts, in batches the way the service adds them, then times
searches: unfiltered, a selective filter (one user of 100: 1% pass) and a broad filter (current
memories only: half pass). HNSW recall@10 is measured against brute force. Prints a table and
writes ``benchmarks/results/index_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from memsvc.config import IndexSettings
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.bm25 import Bm25Index
from memsvc.index.faiss import FaissIndex
from memsvc.index.ids import encode_key
from memsvc.types import MemoryKind, MemoryRef, Scope

USERS = 100
_INTRINSIC_DIM = 32
BATCH = 1_000
RESULTS = Path(__file__).resolve().parent / "results" / "index_bench.json"
FILTERS: dict[str, IndexFilter | None] = {
    "unfiltered": None,
    "user_1pct": IndexFilter(scope=Scope(user_id="user-7")),
    "current_50pct": IndexFilter(),
}


def _tags(n: int) -> list[IndexTags]:
    return [
        IndexTags(f"user-{i % USERS}", None, None, is_current=(i // USERS) % 2 == 0)
        for i in range(n)
    ]


def _keys(n: int) -> npt.NDArray[np.int64]:
    return np.asarray([encode_key(MemoryRef(MemoryKind.FACT, i + 1)) for i in range(n)])


def _unit(
    rng: np.random.Generator, n: int, dim: int, *, mixing: npt.NDArray[np.float32] | None
) -> npt.NDArray[np.float32]:
    """Unit vectors: isotropic Gaussian (``mixing`` None: no structure, the worst case for
    HNSW) or embedding-like (a low-rank signal through ``mixing`` plus noise: sentence
    embeddings have a low intrinsic dimension)."""
    if mixing is None:
        matrix = rng.standard_normal((n, dim), dtype=np.float32)
    else:
        signal = rng.standard_normal((n, mixing.shape[0]), dtype=np.float32) @ mixing
        matrix = signal + 0.3 * rng.standard_normal((n, dim), dtype=np.float32)
    out: npt.NDArray[np.float32] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return out


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def _time_searches(
    search: Callable[[Any, IndexFilter | None], list[tuple[int, float]]],
    queries: list[Any],
    where: IndexFilter | None,
    k: int,
) -> dict[str, float]:
    samples, short = [], 0
    for query in queries:
        started = time.perf_counter()
        hits = search(query, where)
        samples.append(time.perf_counter() - started)
        short += len(hits) < k
    return {**_percentiles(samples), "short_results": short}


def bench_faiss(
    vectors: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], *, k: int, hnsw: bool
) -> dict[str, Any]:
    """Build a FaissIndex batch by batch, then time the searches."""
    n, dim = vectors.shape
    cfg = IndexSettings()
    if hnsw:
        cfg = IndexSettings(approximate_after=1_000)
    index = FaissIndex(cfg, dim)
    keys, tags = _keys(n), _tags(n)
    started = time.perf_counter()
    for lo in range(0, n, BATCH):
        index.add(keys[lo : lo + BATCH], vectors[lo : lo + BATCH], tags[lo : lo + BATCH])
    add_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "index": f"faiss-{index.index_type}",
        "n": n,
        "add_per_s": n / add_s,
        "add_total_s": add_s,
    }
    for name, where in FILTERS.items():
        out[name] = _time_searches(
            lambda q, w: index.search(q, k, where=w), list(queries), where, k
        )
    if hnsw:
        truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
        found = 0
        for query, expected in zip(queries, truth, strict=True):
            got = {int(key) for key, _ in index.search(query, k)}
            found += len(got & set(keys[expected].tolist()))
        out["recall_at_k"] = found / (k * len(queries))
    return out


def _texts(rng: np.random.Generator, n: int, vocab: int = 20_000) -> list[str]:
    words = np.asarray([f"w{i}" for i in range(vocab)])
    ranks = np.arange(1, vocab + 1)
    weights = 1.0 / ranks**1.1
    weights /= weights.sum()
    lengths = rng.integers(8, 40, size=n)
    drawn = rng.choice(vocab, size=int(lengths.sum()), p=weights)
    cuts = np.cumsum(lengths)[:-1]
    return [" ".join(words[part]) for part in np.split(drawn, cuts)]


def bench_bm25(texts: list[str], queries: list[str], *, k: int) -> dict[str, Any]:
    """Build a Bm25Index batch by batch, then time the searches."""
    n = len(texts)
    index = Bm25Index()
    keys, tags = _keys(n), _tags(n)
    started = time.perf_counter()
    for lo in range(0, n, BATCH):
        index.add(keys[lo : lo + BATCH], texts[lo : lo + BATCH], tags[lo : lo + BATCH])
    add_s = time.perf_counter() - started
    out: dict[str, Any] = {"index": "bm25", "n": n, "add_per_s": n / add_s, "add_total_s": add_s}
    for name, where in FILTERS.items():
        out[name] = _time_searches(lambda q, w: index.search(q, k, where=w), queries, where, k)
    return out


def _row(result: dict[str, Any]) -> str:
    cells = [f"{result['index']:<11}", f"{result['n']:>8,}", f"{result['add_per_s']:>10,.0f}"]
    for name in FILTERS:
        cells.append(f"{result[name]['p50_ms']:>7.2f} / {result[name]['p95_ms']:<7.2f}")
    recall = result.get("recall_at_k")
    cells.append("" if recall is None else f"{recall:.3f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000, help="largest index size")
    parser.add_argument("--dim", type=int, default=384, help="vector size")
    parser.add_argument("--queries", type=int, default=200, help="searches timed per case")
    parser.add_argument("--k", type=int, default=10, help="hits per search")
    parser.add_argument(
        "--data",
        choices=["embedding-like", "random"],
        default="embedding-like",
        help="vectors with a low intrinsic dimension like sentence embeddings, or isotropic "
        "random ones (HNSW's worst case)",
    )
    parser.add_argument("--no-hnsw", action="store_true", help="skip the (slow to build) HNSW runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP threads per search (1 = what a server running concurrent searches "
        "should use: with more, threads spin against each other under load)",
    )
    args = parser.parse_args()
    import faiss  # loads its OpenMP runtime, so that the limit below reaches it

    faiss.omp_set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    """Run every case and write the report."""
    rng = np.random.default_rng(0)
    sizes = sorted({min(10_000, args.n), args.n})
    results = []
    header = (
        "index       |        n |      add/s | "
        + " | ".join(f"{name + ' p50/p95 ms':<17}" for name in FILTERS)
        + " | recall@k"
    )
    print(header)
    print("-" * len(header))
    mixing = None
    if args.data == "embedding-like":
        mixing = rng.standard_normal((_INTRINSIC_DIM, args.dim), dtype=np.float32)
    for n in sizes:
        vectors = _unit(rng, n, args.dim, mixing=mixing)
        queries = _unit(rng, args.queries, args.dim, mixing=mixing)
        for hnsw in (False, True) if not args.no_hnsw else (False,):
            results.append(bench_faiss(vectors, queries, k=args.k, hnsw=hnsw))
            print(_row(results[-1]), flush=True)
        texts = _texts(rng, n + args.queries)
        query_texts = [" ".join(t.split()[:4]) for t in texts[n:]]
        results.append(bench_bm25(texts[:n], query_texts, k=args.k))
        print(_row(results[-1]), flush=True)
    report = {
        "command": "python benchmarks/index_bench.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if k in ("n", "dim", "queries", "k", "threads", "data")
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_end": os.getloadavg(),
        },
        "filters": {"user_1pct": "one user of 100", "current_50pct": "is_current, half pass"},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
