"""REST search latency and throughput at 100k memories, beside the same searches in-process.

(issue 6)

One run: load N memories (LoCoMo turns, cycled, spread over U users) into a fresh SQLite + FAISS
store; time searches in-process (``MemoryService.search`` from 1, 8 and 32 threads); then start
``memsvc serve`` in its own process (one worker unless ``--workers``, auth on) and time the same
searches over HTTP from 1, 8 and 32 concurrent keep-alive clients. The difference is the HTTP
overhead (auth, JSON, uvicorn, the threadpool hop). Latency is measured by the client;
``server_took_ms`` is the service's own time reported in each response.

    python benchmarks/rest_bench.py --workers 2            # 100k memories, hashing embedder
    python benchmarks/rest_bench.py --embedder model       # the packaged all-MiniLM-L6-v2
    python benchmarks/rest_bench.py --workdir W --reuse --workers 1 --out rest_bench_workers1.json
    python benchmarks/rest_bench.py --workers 2 --servers balancer gunicorn uvicorn   # side by side

The load generator shares the machine with the server, so on a small machine both compete for
the same cores: the figures are an upper bound on what the server alone would show. By default
it is a minimal asyncio HTTP/1.1 client (~0.3 ms of CPU per request); ``--client httpx`` uses
httpx's ``AsyncClient`` (~1.7 ms per request here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def make_settings(workdir: Path, embedder: str, search_concurrency: int = 2) -> Any:
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
        api=ApiSettings(
            auth=True,
            admin_key=ADMIN_KEY,  # type: ignore[arg-type]
            rate_limit_per_minute=0,
            search_concurrency=search_concurrency,
        ),
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


SERVERS = ("balancer", "gunicorn", "uvicorn")
"""How ``--servers`` runs the API with several workers: ``memsvc serve`` (its own balancer),
gunicorn with uvicorn-worker's ``UvicornWorker`` (a shared socket; gunicorn's arbiter), or
uvicorn's own ``--workers`` (a shared socket; uvicorn's supervisor)."""


def start_server(
    settings: Any, port: int, workers: int = 1, kind: str = "balancer"
) -> subprocess.Popen[bytes]:
    """The API in its own process(es), with these settings, started the way ``kind`` says."""
    from memsvc.api.server import settings_to_json

    config = Path(settings.index.dir).parent / "rest_bench_settings.json"
    config.write_text(settings_to_json(settings))
    env = dict(os.environ)
    factory = "memsvc.api.server:app_from_environment"
    if kind == "balancer":
        command = [
            sys.executable, "-m", "memsvc", "--config", str(config), "--log-level", "WARNING",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        ]  # fmt: skip
    elif kind == "gunicorn":
        env["_MEMSVC_SERVE_SETTINGS"] = settings_to_json(settings)
        command = [
            sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
            "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
            f"{factory}()",
        ]  # fmt: skip
    else:
        env["_MEMSVC_SERVE_SETTINGS"] = settings_to_json(settings)
        command = [
            sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
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


class RawHttpClient:
    """A minimal HTTP/1.1 keep-alive client: one connection, one request at a time.

    The load generator shares the machine's cores with the server, so its own cost counts
    against the server's figures: httpx's ``AsyncClient`` spent ~1.7 ms of CPU per request here,
    this client ~0.2 ms (the role wrk plays elsewhere). It speaks just what the benchmark needs:
    a POST with a JSON body, a response with ``Content-Length`` or chunked encoding.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._host, self._port = host, port
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: Any) -> tuple[int, bytes]:
        """POST ``payload`` as JSON; returns the status and the body.

        A kept-alive connection the server has closed meanwhile (uvicorn closes idle ones after
        5 s) is opened again and the request sent once more, as HTTP clients do.
        """
        body = json.dumps(payload).encode()
        reused = self._writer is not None
        try:
            return await self._exchange(path, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            if not reused:
                raise
            return await self._exchange(path, body)

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            sock = self._writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self._reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._fixed}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if "content-length" in fields:
            content = await self._reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                chunks.append(await self._reader.readexactly(size + 2))
            await self._reader.readuntil(b"\r\n")
            content = b"".join(c[:-2] for c in chunks)
        else:
            raise RuntimeError("a response with neither Content-Length nor chunked encoding")
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, content

    async def close(self) -> None:
        """Close the connection (if open)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def bench_rest(
    base_url: str,
    key: str,
    jobs: list[tuple[str, str]],
    clients: int,
    options: dict[str, Any],
    *,
    client: str = "raw",
) -> dict[str, Any]:
    """Closed loop: ``clients`` connections, each sending its next search when one returns."""
    headers = {"Authorization": f"Bearer {key}"}
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    latencies: list[float] = []
    took: list[float] = []
    errors = 0
    url = httpx.URL(base_url)
    http = httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients),
        timeout=60,
    )
    raws = [RawHttpClient(url.host, url.port or 80, headers) for _ in range(clients)]

    async def post(i: int, payload: dict[str, Any]) -> tuple[int, bytes]:
        if client == "raw":
            return await raws[i].post("/v1/search", payload)
        response = await http.post("/v1/search", json=payload)
        return response.status_code, response.content

    async def worker(i: int) -> None:
        nonlocal errors
        while not queue.empty():
            query, user = queue.get_nowait()
            started = time.perf_counter()
            status, body = await post(i, {"query": query, "user_id": user, **options})
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors += 1
            else:
                took.append(float(json.loads(body)["took_ms"]))

    try:
        for job in jobs[: clients * 4]:
            queue.put_nowait(job)
        await asyncio.gather(*(worker(i) for i in range(clients)))  # warm up
        latencies.clear()
        took.clear()
        for job in jobs:
            queue.put_nowait(job)
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await http.aclose()
        for raw in raws:
            await raw.close()
    return {
        **percentiles(latencies),
        "qps": round(len(jobs) / elapsed, 1),
        "errors": errors,
        "server_took_ms": percentiles(took) if took else None,
        "client_cpu_ms_per_request": round(cpu / len(jobs) * 1000, 2),
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
    servers = result.get("rest_by_server", {})
    if len(servers) > 1:
        print(f"\n{'server':>9} {'clients':>7} | {'REST p50/p95/p99 ms':>24} {'qps':>7}")
        for kind, levels in servers.items():
            for level, b in levels.items():
                print(
                    f"{kind:>9} {level:>7} | {b['p50_ms']:>7} {b['p95_ms']:>7} {b['p99_ms']:>8}"
                    f" {b['qps']:>7}"
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
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (light) or httpx.AsyncClient",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: search the store a previous run left there instead of loading",
    )
    parser.add_argument(
        "--search-concurrency",
        type=int,
        default=2,
        help="api.search_concurrency of the server (searches one worker runs at once)",
    )
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=SERVERS,
        default=["balancer"],
        help="serve the same store with each of these in turn, side by side in one run",
    )
    parser.add_argument("--out", default="rest_bench.json", help="results file name")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from memsvc.wiring import build_service

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        settings = make_settings(workdir, args.embedder, args.search_concurrency)
        users = [f"user{i}" for i in range(args.users)]
        options = {"top_k": args.top_k, "rounds": args.rounds}
        service = build_service(settings, start_worker=False)
        if (
            args.reuse
            and args.workdir is not None
            and service.stats()["memories"].get("event", 0) > 0
        ):
            loaded = {"reused": str(workdir)}
        else:
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
        by_server: dict[str, dict[str, Any]] = {}
        for kind in args.servers:
            port = free_port()
            server = start_server(settings, port, args.workers, kind)
            try:
                rest = {}
                for level in args.concurrency:
                    jobs = workload(args.queries, users, 1000 + level)
                    rest[str(level)] = asyncio.run(
                        bench_rest(
                            f"http://127.0.0.1:{port}",
                            key,
                            jobs,
                            level,
                            options,
                            client=args.client,
                        )
                    )
                    logger.info("REST %s x%d: %s", kind, level, rest[str(level)])
            finally:
                server.terminate()
                server.wait(timeout=60)
            by_server[kind] = rest
        rest = by_server[args.servers[0]]
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
            "server": f"memsvc serve: uvicorn, {args.workers} worker process(es), auth on, "
            f"SQLite + FAISS, search_concurrency={args.search_concurrency}",
            "load_generator": "RawHttpClient (asyncio)" if args.client == "raw" else "httpx",
        },
        "load": loaded,
        "in_process": in_process,
        "rest": rest,
        "rest_by_server": by_server,
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
