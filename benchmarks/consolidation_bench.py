"""Consolidation throughput and add-to-searchable lag on a whole LoCoMo conversation (issue 4).

Throughput: every turn of one conversation is added with its session time (consolidation off),
then one job consolidates them all: events/s through segmentation, fact extraction and
decisions, MemTree insertion and summaries. Run with the offline tasks, and with the local
SmolLM2 model on the first ``--local-turns`` turns (it generates on the CPU, slowly).

Lag: the conversation is added session by session with the in-process worker running; the lag
is the time from an add to the end of the job that consolidated it (its facts searchable).

    python benchmarks/consolidation_bench.py --conversation 0 --local-turns 40
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import DEFAULT_LOCOMO, machine, percentiles, write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def sessions(path: Path, index: int) -> list[tuple[str, datetime, list[dict[str, str]]]]:
    """(session id, start time, turns) of one conversation."""
    conv = json.loads(path.read_text())[index]["conversation"]
    out = []
    n = 1
    while f"session_{n}_date_time" in conv:
        turns = conv.get(f"session_{n}", [])
        when = datetime.strptime(conv[f"session_{n}_date_time"], "%I:%M %p on %d %B, %Y")
        if turns:
            out.append((f"s{n}", when.replace(tzinfo=UTC), turns))
        n += 1
    return out


def _settings(workdir: Path, backend: str, *, worker: bool) -> Any:
    from memsvc.config import (
        ConsolidationSettings,
        DatabaseSettings,
        IndexSettings,
        LLMSettings,
        Settings,
    )

    return Settings(
        db=DatabaseSettings(url=f"sqlite:///{workdir / 'memsvc.db'}"),
        index=IndexSettings(dir=workdir / "index"),
        llm=LLMSettings(backend=backend),
        consolidation=ConsolidationSettings(in_process_worker=worker, poll_interval_s=0.05),
    )


def _add_session(
    service: Any, sid: str, when: datetime, turns: list[dict[str, str]], user: str
) -> None:
    from datetime import timedelta

    from memsvc.types import Scope

    for i, turn in enumerate(turns):
        service.add(
            {"role": "user", "name": turn["speaker"], "content": turn["text"]},
            scope=Scope(user_id=user, session_id=sid),
            occurred_at=when + timedelta(seconds=30 * i),
            metadata={"ref": turn["dia_id"]},
        )


def throughput(path: Path, index: int, backend: str, max_turns: int | None) -> dict[str, Any]:
    from memsvc.wiring import build_service

    with tempfile.TemporaryDirectory() as tmp:
        service = build_service(_settings(Path(tmp), backend, worker=False))
        count = 0
        for sid, when, turns in sessions(path, index):
            if max_turns is not None:
                turns = turns[: max(0, max_turns - count)]
            if turns:
                _add_session(service, sid, when, turns, "bench")
                count += len(turns)
        started = time.perf_counter()
        service.run_pending_jobs()
        elapsed = time.perf_counter() - started
        stats = service.stats()
        service.close()
    return {
        "backend": backend,
        "events": count,
        "seconds": round(elapsed, 2),
        "events_per_s": round(count / elapsed, 2),
        "memories": stats["memories"],
        "llm": stats["llm"],
    }


def lag(path: Path, index: int) -> dict[str, Any]:
    from memsvc.wiring import build_service

    with tempfile.TemporaryDirectory() as tmp:
        service = build_service(_settings(Path(tmp), "offline", worker=True))
        for sid, when, turns in sessions(path, index):
            _add_session(service, sid, when, turns, "lag")
        service.wait_for(
            lambda: (
                service.stats()["jobs"]["pending"] == 0 and service.stats()["jobs"]["running"] == 0
            ),
            600,
        )
        worker = service.start_worker()
        samples = [s * 1000 for s in worker.lags_s]
        service.close()
    return {"jobs": len(samples), **percentiles(samples)}


def _say(name: str, row: dict[str, Any]) -> None:
    print(f"{name}: {row['events']} events in {row['seconds']} s -> {row['events_per_s']} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--local-turns", type=int, default=40, help="0 skips the local model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result: dict[str, Any] = {"machine": machine(), "conversation": args.conversation}
    result["offline"] = throughput(args.data, args.conversation, "offline", None)
    _say("offline", result["offline"])
    result["lag_ms"] = lag(args.data, args.conversation)
    lag_ms = result["lag_ms"]
    print(
        f"add-to-searchable lag (offline): p50 {lag_ms['p50_ms']} ms, "
        f"p95 {lag_ms['p95_ms']} ms over {lag_ms['jobs']} jobs"
    )
    if args.local_turns:
        result["local"] = throughput(args.data, args.conversation, "local", args.local_turns)
        _say("local SmolLM2", result["local"])
    print(f"results: {write_json('consolidation_bench.json', result)}")


if __name__ == "__main__":
    main()
