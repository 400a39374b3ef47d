"""What following sources costs (issue 12): a delete with derived memories, and erasing a user.

1. ``delete``: one user holds the first ``--turns`` turns of LoCoMo conversation 0 (one memsvc
   session per LoCoMo session), consolidated (episodes, facts, MemTree, summaries). Then
   ``--deletes`` times: delete one event that has derived memories and time the call (what the
   client waits for: its text is unsearchable on return), then the background recompute until
   nothing is stale (run in this thread). The same for deleting a fact (tree re-aggregation and
   profile refresh only). A fresh consolidation of the same turns is timed beside it.
2. ``erase``: a user with ``--erase-memories`` events among another user's ``--others``;
   ``erase`` (delete from SQL, indexes and history) and ``erase(purge=True)`` (also cache,
   index compaction and vocabulary pruning, snapshots rewritten, SQLite VACUUM), each on its own
   identical store, and the verification scan.

    python benchmarks/lineage_bench.py --turns 200 --deletes 5 --erase-memories 10000 \
        --out lineage_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import DEFAULT_LOCOMO, corpus, machine, write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

T0 = datetime(2023, 5, 1, 9, 0, tzinfo=UTC)


def _service(workdir: Path, embedder: str) -> Any:
    from memsvc.config import (
        ConsolidationSettings,
        DatabaseSettings,
        EmbedSettings,
        IndexSettings,
        Settings,
    )
    from memsvc.wiring import build_service

    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{workdir / 'memsvc.db'}"),
        index=IndexSettings(dir=workdir / "index"),
        embed=EmbedSettings(backend="hashing") if embedder == "hashing" else EmbedSettings(),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )
    return build_service(settings)


def _locomo_sessions(turns: int) -> list[tuple[str, list[tuple[str, str]]]]:
    data = json.loads(DEFAULT_LOCOMO.read_text())
    conv = data[0]["conversation"]
    out: list[tuple[str, list[tuple[str, str]]]] = []
    left = turns
    n = 1
    while left > 0 and f"session_{n}" in conv:
        chunk = [(t["speaker"], t["text"]) for t in conv[f"session_{n}"]][:left]
        out.append((f"s{n}", chunk))
        left -= len(chunk)
        n += 1
    return out


def _load(svc: Any, sessions: list[tuple[str, list[tuple[str, str]]]]) -> list[str]:
    from memsvc.types import Scope

    ids: list[str] = []
    for day, (session, turns) in enumerate(sessions):
        for i, (speaker, text) in enumerate(turns):
            result = svc.add(
                [{"role": "user", "name": speaker, "content": text}],
                scope=Scope(user_id="u", session_id=session),
                occurred_at=T0 + timedelta(days=day, minutes=i),
            )
            ids.extend(str(e.ref) for e in result.events)
    return ids


def bench_delete(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Delete latency and recompute-until-stable time, events and facts."""
    import sqlalchemy as sa

    from memsvc.store import lineage
    from memsvc.store import tables as t

    sessions = _locomo_sessions(args.turns)
    svc = _service(root / "delete", args.embedder)
    try:
        ids = _load(svc, sessions)
        started = time.perf_counter()
        svc.run_pending_jobs()
        consolidate_s = time.perf_counter() - started
        with svc.read() as s:
            counts = {
                m.__tablename__: int(s.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
                for m in (t.Event, t.Episode, t.Fact, t.Summary, t.TreeNode, t.Lineage)
            }
        rng = random.Random(7)
        samples: dict[str, list[dict[str, float]]] = {"event": [], "fact": []}
        for kind in ("event", "fact"):
            for _ in range(args.deletes):
                with svc.read() as s:
                    if kind == "event":
                        pool = [i for i in ids if svc_has(s, t.Event, i)]
                    else:
                        pool = [f"fact_{i}" for i in s.scalars(sa.select(t.Fact.id))]
                    pool = [
                        r for r in pool if lineage.dependants(s, 1, [(kind, int(r.split("_")[-1]))])
                    ]
                target = rng.choice(pool)
                t1 = time.perf_counter()
                report = svc.delete(target)
                t2 = time.perf_counter()
                svc.run_pending_jobs()
                t3 = time.perf_counter()
                samples[kind].append(
                    {
                        "delete_ms": (t2 - t1) * 1000,
                        "recompute_ms": (t3 - t2) * 1000,
                        "stale": float(report["stale"]),
                        "removed": float(report["memories"]),
                    }
                )
        summary = {
            kind: {
                "delete_ms_p50": round(statistics.median(x["delete_ms"] for x in rows), 1),
                "delete_ms_max": round(max(x["delete_ms"] for x in rows), 1),
                "until_stable_ms_p50": round(
                    statistics.median(x["delete_ms"] + x["recompute_ms"] for x in rows), 1
                ),
                "stale_p50": statistics.median(x["stale"] for x in rows),
                "removed_p50": statistics.median(x["removed"] for x in rows),
                "n": len(rows),
            }
            for kind, rows in samples.items()
        }
    finally:
        svc.close()
    return {
        "turns": sum(len(x) for _, x in sessions),
        "sessions": len(sessions),
        "store": counts,
        "fresh_consolidation_s": round(consolidate_s, 2),
        "delete": summary,
        "samples": samples,
    }


def svc_has(session: Any, model: Any, ref: str) -> bool:
    """Whether the row behind ``event_12`` still exists."""
    return session.get(model, int(ref.split("_")[-1])) is not None


def bench_erase(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Erase and purge of a user with many memories, each on an identical store."""
    from memsvc.types import Scope

    texts = list(corpus(args.erase_memories + args.others))
    template = root / "erase-template"
    svc = _service(template, args.embedder)
    try:
        for user, chunk in (
            ("gone", texts[: args.erase_memories]),
            ("kept", texts[args.erase_memories :]),
        ):
            for start in range(0, len(chunk), 100):
                svc.add(
                    [{"role": "user", "content": x} for x in chunk[start : start + 100]],
                    scope=Scope(user_id=user, session_id=f"s{start // 1000}"),
                )
        svc.flush()
    finally:
        svc.close()
    out: dict[str, Any] = {"memories": args.erase_memories, "others": args.others}
    for label, purge in (("erase", False), ("purge", True)):
        work = root / label
        shutil.copytree(template, work)
        svc = _service(work, args.embedder)
        try:
            svc.indexes.get(1)
            started = time.perf_counter()
            counts = svc.erase(scope=Scope(user_id="gone"), purge=purge)
            seconds = time.perf_counter() - started
            entry: dict[str, Any] = {"seconds": round(seconds, 2), "counts": counts}
            if purge:
                from memsvc.service import erasure

                v0 = time.perf_counter()
                report = erasure.verify_erased(svc, texts[: args.erase_memories])
                entry["verify_seconds"] = round(time.perf_counter() - v0, 2)
                entry["verify_clean"] = report["clean"]
                entry["verify_found"] = report["found"]
                entry["db_bytes_after"] = (work / "memsvc.db").stat().st_size
            out[label] = entry
        finally:
            svc.close()
    return out


def main() -> None:
    """Run both parts and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--deletes", type=int, default=5)
    parser.add_argument("--erase-memories", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=2_000)
    parser.add_argument("--embedder", choices=["hashing", "model"], default="hashing")
    parser.add_argument("--out", default="lineage_bench.json")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lineage-bench-"))
    try:
        result = {
            "machine": machine(),
            "embedder": args.embedder,
            "delete": bench_delete(args, root),
            "erase": bench_erase(args, root),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    path = write_json(args.out, result)
    print(
        json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1, default=str)[
            :4000
        ]
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
