"""A worker process killed in the middle of a job leaves a consistent database; the job is
claimed again when its lease runs out and completes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from memsvc.config import ConsolidationSettings, SegmentationSettings, Settings
from memsvc.store import tables as t
from memsvc.types import Scope
from memsvc.wiring import build_service

_CHILD = textwrap.dedent(
    """
    import os, sys
    from memsvc.config import Settings
    from memsvc.wiring import build_service

    settings = Settings.model_validate_json(sys.argv[1])
    svc = build_service(settings, migrate_db=False, start_worker=False)
    calls = {"n": 0}
    original = svc.llm.extract_facts

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the first episode is committed; die inside the second
            os._exit(137)
        return original(*args, **kwargs)

    svc.llm.extract_facts = dying
    svc.run_pending_jobs()
    """
)


def test_worker_killed_mid_job_is_recovered(settings: Settings) -> None:
    cfg = settings.model_copy(
        update={
            "consolidation": ConsolidationSettings(
                in_process_worker=False,
                lease_s=1.0,
                segmentation=SegmentationSettings(min_events=1, max_events=2),
            )
        }
    )
    svc = build_service(cfg, migrate_db=False, start_worker=False)
    t0 = datetime(2023, 1, 1, tzinfo=UTC)
    lines = ["I live in Berlin.", "I have a dog named Rex.", "I work at a bakery.", "I like chess."]
    for i, line in enumerate(lines):
        svc.add(
            {"role": "user", "name": "Ann", "content": line},
            scope=Scope(user_id="ann"),
            occurred_at=t0 + timedelta(minutes=i),
        )
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, cfg.model_dump_json()], capture_output=True, timeout=120
    )
    assert child.returncode == 137, child.stderr.decode()[-2000:]
    with svc.read() as s:
        assert s.scalar(sa.select(t.Job.status)) == "running"
        episodes = s.scalar(sa.select(sa.func.count()).select_from(t.Episode))
        assert episodes == 1  # the first step committed whole, the second not at all
    time.sleep(1.2)  # the dead worker's lease runs out
    assert svc.run_pending_jobs() == 1
    with svc.read() as s:
        assert s.scalar(sa.select(t.Job.status)) == "done"
        pending = s.scalar(
            sa.select(sa.func.count()).select_from(t.Event).where(t.Event.episode_id.is_(None))
        )
        assert pending == 0
        facts = list(s.scalars(sa.select(t.Fact.text)))
    assert len(facts) == len(set(facts)) >= 3
    assert svc.indexes.verify(svc.namespace_id()).is_ok
    svc.close()
