"""mem0's own TypeScript client (npm ``mem0ai``) against a live ``memsvc serve``, unchanged.

``tests/compat/node/mem0_flow.mjs`` drives the client through add, search, get, getAll,
update, history, delete and deleteAll and prints what it returned; this test asserts on that.
``.ci/run`` installs the package (``npm ci`` in ``tests/compat/node``); without node or the
installed package the test skips and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compat.conftest import Served

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "mem0ai").is_dir(),
        reason="npm package mem0ai not installed: run `npm ci` in tests/compat/node",
    ),
]


def test_mem0_typescript_client_runs_the_whole_flow(served: Served, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MEMSVC_URL": served.url,
        "MEMSVC_KEY": served.key,
        "MEM0_TELEMETRY": "false",
        "HOME": str(tmp_path),  # the client keeps an identity file under ~/.mem0
    }
    assert NODE is not None
    done = subprocess.run(
        [NODE, "mem0_flow.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    first = out["add"]["results"][0]
    assert out["add"]["status"] == "SUCCEEDED"
    assert (first["userId"], first["agentId"], first["event"]) == ("tess", "travel", "ADD")
    hits = out["search"]["results"]
    assert first["id"] in [h["id"] for h in hits]
    assert all(isinstance(h["score"], float) for h in hits)
    assert out["get"]["memory"].startswith("I moved to Lisbon")
    assert out["get"]["metadata"] == {"source": "chat"}
    assert out["getAll"]["count"] == 2
    assert out["update"]["memory"] == "I moved to Porto last spring."
    history = out["history"]
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    assert history[1]["oldMemory"].startswith("I moved to Lisbon")
    assert history[1]["newMemory"] == "I moved to Porto last spring."
    assert "deleted" in out["delete"]["message"].lower()
    assert out["getAfterDelete"] == "MemoryNotFoundError"
    assert "deleted" in out["deleteAll"]["message"].lower()
    assert out["getAllAfter"]["count"] == 0
    assert out["unsupported"]["name"] == "ValidationError"
    assert "NOT filters are not supported" in out["unsupported"]["message"]
