"""Every file in examples/ runs, end to end, with the hashing embedder in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


def _run(script: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MEM0_TELEMETRY": "false",
        "MEM0_DIR": str(Path(tempfile.gettempdir()) / "memsvc-examples-mem0"),
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_chatbot_rest_remembers_across_sessions_and_server_restarts(tmp_path: Path) -> None:
    done = _run("chatbot_rest.py", "--demo", "--hashing", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    second_session = done.stdout.split("--- session 2")[1]
    assert "From what you told me before:" in second_session
    assert "Lisbon" in second_session


def test_agent_embedded_recalls_and_consolidates(tmp_path: Path) -> None:
    done = _run("agent_embedded.py", "--hashing", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "using what I know" in done.stdout
    assert "fact(s):" in done.stdout


def test_mcp_example_drives_the_configured_server_over_stdio(tmp_path: Path) -> None:
    done = _run("mcp_example.py", "--hashing", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tools: add, delete, get, history, search, update" in done.stdout


def test_coming_from_mem0_runs_mem0s_own_client_against_memsvc(tmp_path: Path) -> None:
    pytest.importorskip("mem0", reason="mem0ai is a test dependency")
    done = _run("coming_from_mem0.py", "--hashing", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "I'm a vegetarian and allergic to nuts." in done.stdout
    assert "get: I'm a vegan and allergic to nuts." in done.stdout
    assert "history: ['ADD', 'UPDATE']" in done.stdout
    assert "all: 2 memories" in done.stdout


def test_langgraph_store_example_recalls_across_graph_runs(tmp_path: Path) -> None:
    pytest.importorskip("langgraph", reason="langgraph is in the langgraph extra")
    done = _run("langgraph_store.py", "--hashing", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run 2 recalled: ['My cat Miso hates the rain']" in done.stdout
    assert "stored in memsvc: ['I work night shifts', 'My cat Miso hates the rain']" in done.stdout


def test_mcp_config_is_valid_json_naming_the_memsvc_command() -> None:
    config = json.loads((EXAMPLES / "mcp_config.json").read_text())
    entry = config["mcpServers"]["memsvc"]
    assert entry["command"] == "memsvc"
    assert entry["args"][0] == "mcp"
