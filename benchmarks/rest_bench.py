"""REST search latency and throughput at 100k memories, beside the same searches in-process.

(issue 6)

One run: load N memories (LoCoMo turns, cycled, spread over U users) into a fresh SQLite + FAISS
store; time searches in-process (``MemoryService.search`` from 1, 8 and 32 threads); then start
``memsvc``'s REST server in a separate process (uvicorn, one worker unless ``--workers``, auth
on) and time the same searches over HTTP from 1, 8 and 32 concurrent httpx clients. The
difference is the HTTP overhead (auth, JSON, uvicorn, the threadpool hop). Latency is measured
by the client; ``server_took_ms`` is the service's own time reported in each response.

    python benchmarks/rest_bench.py                        # 100k memories, hashing embedder
    python benchmarks/rest_bench.py --embedder model       # the packaged all-MiniLM-L6-v2
    python benchmarks/rest_bench.py --workers 2 --out rest_bench_workers2.json

The load generator shares the machine with the server, so on a small machine both compete for
the same cores: the figures are an upper bound on what the server alone would show.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import corpus, machine, percentiles, write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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
ADMIN_KEY = "rest-bench-admin-key-0123456789"

logger = logging.getLogger("rest_bench")


def make_settings(workdir: Path, embedder: str) -> Any:
    from memsvc.config import (
        ApiSettings,
        ConsolidationSettings,
        DatabaseSettings,
        EmbedSettings,
        IndexSettings,
        LimitSettings,
        Settings,
    )

    return Settings(
        db=DatabaseSettings(url=f"sqlite:///{workdir / 'memsvc.db'}"),
        index=IndexSettings(dir=workdir / "index"),
        embed=EmbedSettings(backend="hashing") if embedder == "hashing" else EmbedSettings(),
        consolidation=ConsolidationSettings(enabled=False),
        limits=LimitSettings(max_batch=1000),
        api=ApiSettings(auth=True, admin_key=ADMIN_KEY, rate_limit_per_minute=0),  # type: ignore[arg-type]
    )


def load(service: Any, n: int, users: list[str], batch: int) -> dict[str, Any]:
    """Add ``n`` events in batches; returns the load rate."""
    from memsvc.types import Scope

    texts = corpus(n)
    started = time.perf_counter()
    done = 0
    while done < n:
        chunk = [next(texts) for _ in range(min(batch, n - done))]
        user = users[(done // batch) % len(users)]
        service.add([{"role": "user", "content": c} for c in chunk], scope=Scope(user_id=user))
        done += len(chunk)
        if done % 10_000 == 0:
            logger.info(
                "loaded %d/%d (%.0f events/s)", done, n, done / (time.perf_counter() - started)
            )
    elapsed = time.perf_counter() - started
    return {"events": n, "seconds": round(elapsed, 1), "events_per_s": round(n / elapsed, 1)}


def workload(n: int, users: list[str], seed: int) -> list[tuple[str, str]]:
    """``n`` (query, user) pairs; a suffix keeps every query text distinct (no cache hits)."""
    rng = random.Random(seed)
    return [(f"{rng.choice(QUERIES)} #{i}", rng.choice(users)) for i in range(n)]


def bench_in_process(
    service: Any, jobs: list[tuple[str, str]], threads: int, options: dict[str, Any]
) -> dict[str, Any]:
    from memsvc.types import Scope

    def one(job: tuple[str, str]) -> float:
        started = time.perf_counter()
        service.search(job[0], scope=Scope(user_id=job[1]), **options)
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, jobs[: threads * 4]))  # warm up
        started = time.perf_counter()
        latencies = list(pool.map(one, jobs))
        elapsed = time.perf_counter() - started
    return {**percentiles(latencies), "qps": round(len(jobs) / elapsed, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(settings: Any, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """uvicorn in its own process(es), the app built from these settings in each worker."""
    from memsvc.api.server import settings_to_json

    env = {**os.environ, "_MEMSVC_SERVE_SETTINGS": settings_to_json(settings)}
    command = [
        sys.executable, "-m", "uvicorn", "memsvc.api.server:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--workers", str(workers),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the server exited during startup")
        time.sleep(0.25)
    proc.terminate()
    raise RuntimeError("the server did not become ready")


async def bench_rest(
    base_url: str, key: str, jobs: list[tuple[str, str]], clients: int, options: dict[str, Any]
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    latencies: list[float] = []
    took: list[float] = []
    errors = 0

    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as http:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                query, user = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post(
                    "/v1/search", json={"query": query, "user_id": user, **options}
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1
                else:
                    took.append(float(response.json()["took_ms"]))

        for job in jobs[: clients * 4]:
            queue.put_nowait(job)
        await asyncio.gather(*(worker() for _ in range(clients)))  # warm up
        latencies.clear()
        took.clear()
        for job in jobs:
            queue.put_nowait(job)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        **percentiles(latencies),
        "qps": round(len(jobs) / elapsed, 1),
        "errors": errors,
        "server_took_ms": percentiles(took) if took else None,
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['config']['memories']} memories, embedder: {result['config']['embedder']}")
    print(
        f"{'clients':>7} | {'in-process p50/p95/p99 ms':>27} {'qps':>7} |"
        f" {'REST p50/p95/p99 ms':>24} {'qps':>7}"
    )
    for level in result["config"]["concurrency"]:
        a = result["in_process"][str(level)]
        b = result["rest"][str(level)]
        print(
            f"{level:>7} | {a['p50_ms']:>8} {a['p95_ms']:>8} {a['p99_ms']:>9} {a['qps']:>7} |"
            f" {b['p50_ms']:>7} {b['p95_ms']:>7} {b['p99_ms']:>8} {b['qps']:>7}"
        )
    for note in result["notes"]:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--batch", type=int, default=1000, help="messages per add call while loading"
    )
    parser.add_argument(
        "--queries", type=int, default=400, help="timed searches per concurrency level"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="iterative retrieval rounds (1 as in foundation_bench)",
    )
    parser.add_argument("--embedder", choices=["hashing", "model"], default="hashing")
    parser.add_argument("--workdir", type=Path, help="keep the store here (default: a temp dir)")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes serving the REST API"
    )
    parser.add_argument("--out", default="rest_bench.json", help="results file name")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from memsvc.wiring import build_service

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        settings = make_settings(workdir, args.embedder)
        users = [f"user{i}" for i in range(args.users)]
        options = {"top_k": args.top_k, "rounds": args.rounds}
        service = build_service(settings, start_worker=False)
        loaded = load(service, args.memories, users, args.batch)
        key = service.create_key(namespace=settings.namespace, name="bench").secret
        logger.info("loaded: %s", loaded)
        in_process = {}
        for level in args.concurrency:
            in_process[str(level)] = bench_in_process(
                service, workload(args.queries, users, level), level, options
            )
            logger.info("in-process x%d: %s", level, in_process[str(level)])
        service.close()
        port = free_port()
        server = start_server(settings, port, args.workers)
        try:
            rest = {}
            for level in args.concurrency:
                jobs = workload(args.queries, users, 1000 + level)
                rest[str(level)] = asyncio.run(
                    bench_rest(f"http://127.0.0.1:{port}", key, jobs, level, options)
                )
                logger.info("REST x%d: %s", level, rest[str(level)])
        finally:
            server.terminate()
            server.wait(timeout=60)
    notes = [
        "load generator and server share this machine's cores; 1-minute load average at the "
        f"end: {os.getloadavg()[0]:.1f} (other processes included)",
        f"search options: top_k={args.top_k}, rounds={args.rounds}, "
        f"scoped to one of {args.users} users",
    ]
    if args.embedder == "hashing":
        notes.append(
            "the deterministic hashing embedder stands in for all-MiniLM-L6-v2 (embedding 100k "
            "texts with the real model on this CPU takes too long for a benchmark run); "
            "embedding each query with the real model adds its own cost on top "
            "(see foundation_bench)"
        )
    result = {
        "machine": machine(),
        "config": {
            "memories": args.memories,
            "users": args.users,
            "embedder": "hashing" if args.embedder == "hashing" else "all-MiniLM-L6-v2",
            "concurrency": args.concurrency,
            "queries_per_level": args.queries,
            "server": f"uvicorn, {args.workers} worker process(es), auth on, SQLite + FAISS",
        },
        "load": loaded,
        "in_process": in_process,
        "rest": rest,
        "notes": notes,
    }
    foundation = Path(__file__).resolve().parent / "results" / "foundation_bench.json"
    if foundation.exists():
        result["foundation_bench"] = json.loads(foundation.read_text()).get("memsvc")
    path = write_json(args.out, result)
    print_table(result)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
