"""Fault tests with real processes on loopback, bounded in time (issue 13).

    .venv/bin/python benchmarks/faults.py                     # every scenario, small sizes
    .venv/bin/python benchmarks/faults.py --only kill9 --rounds 3 --seconds 6

Scenarios (each starts ``memsvc`` processes on a fresh SQLite copy, hashing embedder, auth off):

- ``kill9``: ``memsvc serve`` under 4 writer threads, killed with SIGKILL at a different moment
  each round and started again; writers resend the adds whose reply they lost, with the same
  Idempotency-Key (what the SDK does).
- ``unwritable``: the index folder becomes unwritable during writes (a file put in its place:
  root ignores permissions), then comes back.
- ``mixed``: ``serve --workers 2``, a ``memsvc worker`` process and parallel CLI adds on one
  SQLite directory, stopped and started again each round.
- ``pgkill``: ``memsvc serve`` on PostgreSQL (a schema of its own) under 4 writers while every
  server connection is terminated (``pg_terminate_backend``) every 0.3 s; 503s are expected
  (the database is away), anything else 5xx is not.
- ``pgworkers``: ``serve --workers 2`` on PostgreSQL under 4 writers; SIGKILL one worker, then
  the parent, then start again.
- ``replicas``: two ``memsvc serve`` replicas with their own index folders and a ``memsvc worker``
  on one PostgreSQL; a write through one is polled for through the other (replica lag p50/p95).

Each reports acknowledged writes, lost (acknowledged but absent from SQL), duplicated (one
content stored twice), unsearchable (in SQL but not in the indexes: ``index verify``), 5xx
answers, CLI failures and recovery time (SIGKILL to ``/readyz`` 200). Results go to
``benchmarks/results/faults.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "faults.json"


@dataclass
class Report:
    scenario: str
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    unsearchable: int = 0
    http_5xx: int = 0
    http_503: int = 0
    cli_failures: int = 0
    recovery_s: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Store:
    """A fresh database (SQLite, or a PostgreSQL schema of its own) and index folder, and the CLI
    arguments that point at them."""

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = root
        self.db = root / "memsvc.db"
        self.index = root / "index"
        self.url = url or f"sqlite:///{self.db}"
        self.args = [
            "-s", "db.url", self.url,
            "-s", "index.dir", str(self.index),
            "-s", "embed.backend", "hashing",
            "-s", "api.auth", "false",
            "-s", "api.rate_limit_per_minute", "0",
            "-s", "index.save_every", "50",
        ]  # fmt: skip
        self.cli("db", "upgrade")

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "memsvc.cli.main", *self.args, *args],
            capture_output=True, text=True, cwd=ROOT, env=self.env(), timeout=300, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"memsvc {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        log = (self.root / "server.log").open("a")  # a file: a full pipe would block the server
        return subprocess.Popen(
            [sys.executable, "-m", "memsvc.cli.main", *self.args, *args],
            stdout=subprocess.DEVNULL, stderr=log, text=True, cwd=ROOT, env=self.env(),
        )  # fmt: skip

    def errors_logged(self) -> list[str]:
        path = self.root / "server.log"
        if not path.exists():
            return []
        return [line[:240] for line in path.read_text().splitlines() if " ERROR " in line]

    def contents(self) -> Counter[str]:
        if self.url.startswith("postgresql"):
            import sqlalchemy as sa

            engine = sa.create_engine(self.url)
            try:
                with engine.connect() as conn:
                    rows = conn.execute(sa.text("SELECT content FROM event")).all()
            finally:
                engine.dispose()
            return Counter(str(row[0]) for row in rows)
        with closing(sqlite3.connect(self.db)) as conn:
            return Counter(row[0] for row in conn.execute("SELECT content FROM event"))

    def verify(self) -> int:
        done = self.cli("index", "verify", "--json", check=False)
        try:
            body = json.loads(done.stdout)
        except ValueError:
            return -1
        return int(len(body.get("missing", [])) + len(body.get("extra", [])))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("server exited before it was ready")
        time.sleep(0.05)
    raise RuntimeError("server did not become ready")


class Writers:
    """Four threads adding unique contents; each remembers what was acknowledged and resends
    (same key) what it is unsure of, as the SDK does."""

    def __init__(self, base: str, report: Report, threads: int = 4) -> None:
        self.base = base
        self.report = report
        self.acked: set[str] = set()
        self.unsure: dict[str, str] = {}  # content -> idempotency key
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def start(self) -> None:
        self._stop.clear()
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _send(self, http: httpx.Client, content: str, key: str) -> None:
        try:
            answer = http.post(
                "/v1/memories",
                json={"messages": content, "user_id": "writer"},
                headers={"Idempotency-Key": key},
            )
        except httpx.TransportError:
            with self._lock:
                self.unsure[content] = key
            return
        with self._lock:
            if answer.status_code == 202:
                self.acked.add(content)
                self.unsure.pop(content, None)
            else:
                if answer.status_code >= 500:
                    self.report.http_5xx += answer.status_code != 503
                    self.report.http_503 += answer.status_code == 503
                    if answer.status_code != 503 and len(self.report.notes) < 20:
                        self.report.notes.append(f"{answer.status_code}: {answer.text[:200]}")
                self.unsure[content] = key

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            i = 0
            while not self._stop.is_set():
                content = f"writer {n} note {i} {uuid.uuid4().hex[:8]}"
                self._send(http, content, uuid.uuid4().hex)
                i += 1

    def resend_unsure(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            for content, key in list(self.unsure.items()):
                self._send(http, content, key)


def _check(store: Store, report: Report, acked: set[str]) -> None:
    report.notes.extend(store.errors_logged()[:10])
    stored = store.contents()
    report.acknowledged = len(acked)
    report.lost = sum(1 for c in acked if stored[c] == 0)
    report.duplicated = sum(1 for n in stored.values() if n > 1)
    report.unsearchable = store.verify()


def kill9(rounds: int, seconds: float) -> Report:
    report = Report("kill9")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        writers: Writers | None = None
        for r in range(rounds):
            proc = store.popen("serve", "--port", str(port))
            took = _wait_ready(base, proc)
            if r:
                report.recovery_s.append(round(took, 2))
            previous = writers
            writers = Writers(base, report)
            if previous is not None:  # what the last round was unsure of, resent with its key
                writers.acked |= previous.acked
                writers.unsure = previous.unsure
                writers.resend_unsure()
            writers.start()
            time.sleep(seconds * (0.5 + r / max(rounds, 1)))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            writers.stop()
        proc = store.popen("serve", "--port", str(port))
        report.recovery_s.append(round(_wait_ready(base, proc), 2))
        assert writers is not None
        writers.resend_unsure()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        _check(store, report, writers.acked)
        report.notes.append(f"unsure after the last restart: {len(writers.unsure)}")
    return report


def unwritable(seconds: float) -> Report:
    report = Report("unwritable")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        store.args += ["-s", "index.save_every", "1"]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = store.popen("serve", "--port", str(port))
        _wait_ready(base, proc)
        writers = Writers(base, report)
        writers.start()
        time.sleep(seconds / 3)
        moved = store.root / "index.away"
        store.index.rename(moved)
        store.index.write_text("not a folder")  # every save now fails with an OSError
        time.sleep(seconds / 3)
        ready = httpx.get(f"{base}/readyz", timeout=5).json()
        report.notes.append(f"/readyz while unwritable: {ready['checks'].get('index')}")
        store.index.unlink()
        moved.rename(store.index)
        time.sleep(seconds / 3)
        writers.stop()
        writers.resend_unsure()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        _check(store, report, writers.acked)
    return report


def mixed(rounds: int, seconds: float) -> Report:
    report = Report("mixed")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        acked: set[str] = set()
        for r in range(rounds):
            server = store.popen("serve", "--port", str(port), "--workers", "2")
            worker = store.popen("worker")
            took = _wait_ready(base, server)
            if r:
                report.recovery_s.append(round(took, 2))
            writers = Writers(base, report, threads=2)
            writers.start()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                batch = [f"cli round {r} note {uuid.uuid4().hex[:8]}" for _ in range(3)]
                procs = [store.popen("add", text, "-u", "writer") for text in batch]
                for text, p in zip(batch, procs, strict=True):
                    _, err = p.communicate(timeout=120)
                    if p.returncode == 0:
                        acked.add(text)
                    else:
                        report.cli_failures += 1
                        report.notes.append(err.strip().splitlines()[-1][:200] if err else "?")
            writers.stop()
            writers.resend_unsure()
            acked |= writers.acked
            for p in (worker, server):
                p.send_signal(signal.SIGTERM)
                p.wait(60)
        _check(store, report, acked)
    return report


def pgkill(seconds: float, postgres_url: str) -> Report:
    """PostgreSQL connections of the server terminated every 0.3 s during 4 writers' load."""
    import sqlalchemy as sa

    report = Report("pgkill")
    schema = f"memsvc_faults_{uuid.uuid4().hex[:10]}"
    app = schema  # the application_name that tells our server's connections apart
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(postgres_url).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": app}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp), url.render_as_string(hide_password=False))
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            proc = store.popen("serve", "--port", str(port))
            _wait_ready(base, proc)
            writers = Writers(base, report)
            writers.start()
            killed = 0
            deadline = time.monotonic() + seconds
            with admin.connect() as conn:
                while time.monotonic() < deadline:
                    killed += int(
                        conn.execute(
                            sa.text(
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = :app"
                            ),
                            {"app": app},
                        ).scalar_one()
                    )
                    time.sleep(0.3)
            stopped = time.monotonic()
            with httpx.Client(base_url=base, timeout=10) as http:
                while True:  # recovery: the first add that succeeds after the last kill
                    body = {"messages": f"after {uuid.uuid4().hex[:6]}", "user_id": "probe"}
                    if http.post("/v1/memories", json=body).status_code == 202:
                        break
                    time.sleep(0.01)
            report.recovery_s.append(round(time.monotonic() - stopped, 3))
            writers.stop()
            writers.resend_unsure()
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            _check(store, report, writers.acked)
            report.notes.append(f"connections terminated: {killed}")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return report


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def pgworkers(seconds: float, postgres_url: str) -> Report:
    """``serve --workers 2`` on PostgreSQL under 4 writers: SIGKILL one worker, later the parent
    (its orphaned workers too), then start it again."""
    import sqlalchemy as sa

    report = Report("pgworkers")
    schema = f"memsvc_faults_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp), url.render_as_string(hide_password=False))
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            proc = store.popen("serve", "--port", str(port), "--workers", "2")
            _wait_ready(base, proc)
            writers = Writers(base, report)
            writers.start()
            time.sleep(seconds / 2)
            workers = [c for c in _children(proc.pid) if "spawn_main" in
                       Path(f"/proc/{c}/cmdline").read_text(errors="replace")]  # fmt: skip
            os.kill(workers[0], signal.SIGKILL)
            report.notes.append("killed one worker")
            time.sleep(seconds / 2)
            orphans = _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            for pid in orphans:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            writers.stop()
            killed_at = time.monotonic()
            proc = store.popen("serve", "--port", str(port), "--workers", "2")
            _wait_ready(base, proc)
            report.recovery_s.append(round(time.monotonic() - killed_at, 2))
            writers.resend_unsure()
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            _check(store, report, writers.acked)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return report


def replicas(writes: int, postgres_url: str) -> Report:
    """Two ``memsvc serve`` replicas (own index folders) and a ``memsvc worker`` on one
    PostgreSQL: each write through replica A is polled for through replica B; the lag is the
    time from A's acknowledgement to B's first hit (``index.sync_interval_s`` is 2 s)."""
    import sqlalchemy as sa

    report = Report("replicas")
    schema = f"memsvc_faults_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    lags: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp), url.render_as_string(hide_password=False))
            base_args = list(store.args)
            ports = [_free_port(), _free_port()]
            procs = []
            for i, port in enumerate(ports):
                store.args = [*base_args, "-s", "index.dir", str(Path(tmp) / f"index{i}")]
                store.args += ["-s", "consolidation.in_process_worker", "false"]
                procs.append(store.popen("serve", "--port", str(port)))
            store.args = [*base_args, "-s", "index.dir", str(Path(tmp) / "index_worker")]
            procs.append(store.popen("worker"))
            a, b = (f"http://127.0.0.1:{p}" for p in ports)
            for proc, base in zip(procs, (a, b), strict=False):
                _wait_ready(base, proc)
            acked: set[str] = set()
            with httpx.Client(base_url=a, timeout=30) as wa, httpx.Client(base_url=b) as rb:
                for i in range(writes):
                    token = f"rep{i}x{uuid.uuid4().hex[:8]}"
                    added = wa.post("/v1/memories", json={"messages": token, "user_id": "r"})
                    if added.status_code != 202:
                        report.http_5xx += added.status_code >= 500
                        continue
                    acked.add(token)
                    sent = time.monotonic()
                    while time.monotonic() - sent < 30:
                        found = rb.post("/v1/search", json={"query": token, "user_id": "r"})
                        if found.status_code >= 500:
                            report.http_5xx += 1
                        hits = found.json().get("hits", []) if found.is_success else []
                        if any(token in h["memory"]["content"] for h in hits):
                            lags.append(time.monotonic() - sent)
                            break
                        time.sleep(0.02)
                    else:
                        report.unsearchable += 1
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
            stored = store.contents()
            report.acknowledged = len(acked)
            report.lost = sum(1 for c in acked if stored[c] == 0)
            report.duplicated = sum(1 for n in stored.values() if n > 1)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    ordered = sorted(lags)
    if ordered:
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        report.notes.append(
            f"replica lag p50 {p50:.3f} s, p95 {p95:.3f} s, max {ordered[-1]:.3f} s"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        choices=["kill9", "unwritable", "mixed", "pgkill", "pgworkers", "replicas"],
        action="append",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MEMSVC_TEST_POSTGRES_URL"),
        help="PostgreSQL URL for pgkill (default: MEMSVC_TEST_POSTGRES_URL; skipped without)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    chosen = args.only or ["kill9", "unwritable", "mixed", "pgkill", "pgworkers", "replicas"]
    for needs_pg in ("pgkill", "pgworkers", "replicas"):
        if needs_pg in chosen and not args.postgres:
            chosen.remove(needs_pg)
            print(f"{needs_pg} skipped: no PostgreSQL URL", file=sys.stderr)
    reports: list[dict[str, Any]] = []
    for name in chosen:
        started = time.monotonic()
        if name == "kill9":
            rep = kill9(args.rounds, args.seconds)
        elif name == "unwritable":
            rep = unwritable(args.seconds)
        elif name == "pgkill":
            rep = pgkill(args.seconds * 2, args.postgres)
        elif name == "pgworkers":
            rep = pgworkers(args.seconds, args.postgres)
        elif name == "replicas":
            rep = replicas(int(args.seconds * 5), args.postgres)
        else:
            rep = mixed(args.rounds, args.seconds)
        body = {**asdict(rep), "wall_s": round(time.monotonic() - started, 1)}
        print(json.dumps(body), flush=True)
        reports.append(body)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {"command": " ".join(sys.argv), "rounds": args.rounds, "seconds": args.seconds}
    RESULTS.write_text(json.dumps({**out, "reports": reports}, indent=2) + "\n")


if __name__ == "__main__":
    main()
