"""Commands that embed no text never import torch or load the model (issue 17).

Each command runs in a fresh interpreter on the default embedder (the packaged
sentence-transformers model) and prints, after the command, whether torch and
sentence-transformers were imported; a command that loaded the model would also take seconds,
so each run has a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memsvc.config import DatabaseSettings, EmbedSettings, IndexSettings, Settings
from memsvc.wiring import build_service

_PROBE = """
import json, sys
from memsvc.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="memsvc", standalone_mode=False)
except SystemExit:
    pass
except Exception as exc:
    print("command failed:", type(exc).__name__, exc, file=sys.stderr)
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
print("\\nHEAVY=" + json.dumps(heavy))
"""

COMMANDS = [
    ["--help"],
    ["stats"],
    ["index", "stats"],
    ["index", "verify"],
    ["get", "event_1"],
    ["history", "event_1"],
    ["delete", "event_2"],
    ["export", "{tmp}/out.jsonl"],
    ["inspect", "alice"],
    ["prune"],
    ["db", "current"],
    ["keys", "list"],
    ["config", "show"],
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Path:
    """A database with two events of Alice's, embedded by the packaged model (this process
    loads it once; the indexes record the model, so the commands under test open them as
    they are instead of rebuilding them)."""
    folder = tmp_path_factory.mktemp("startup")
    (folder / "memsvc.db").write_bytes(template_db.read_bytes())
    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{folder / 'memsvc.db'}"),
        index=IndexSettings(dir=folder / "index"),
        embed=EmbedSettings(),
    )
    service = build_service(settings, migrate_db=False, start_worker=False)
    service.add(["I live in Paris", "I like tea"], scope=_alice())
    service.close()
    return folder


def _alice() -> object:
    from memsvc.types import Scope

    return Scope(user_id="alice")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_cli_command_without_embedding_never_imports_torch(
    data_dir: Path, command: list[str]
) -> None:
    args = [part.replace("{tmp}", str(data_dir)) for part in command]
    env = {
        **os.environ,
        "MEMSVC_DB__URL": f"sqlite:///{data_dir / 'memsvc.db'}",
        "MEMSVC_INDEX__DIR": str(data_dir / "index"),
        "MEMSVC_EMBED__BACKEND": "sentence_transformers",
        "MEMSVC_CONSOLIDATION__IN_PROCESS_WORKER": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    marker = done.stdout.rsplit("HEAVY=", 1)
    assert len(marker) == 2, done.stderr
    assert json.loads(marker[1]) == [], f"{args} imported {marker[1].strip()}"
    assert "command failed" not in done.stderr, done.stderr
    assert "Loading weights" not in done.stderr


@pytest.mark.slow
def test_cli_search_reports_the_model_load_apart_and_shows_no_library_bar(data_dir: Path) -> None:
    env = {
        **os.environ,
        "MEMSVC_DB__URL": f"sqlite:///{data_dir / 'memsvc.db'}",
        "MEMSVC_INDEX__DIR": str(data_dir / "index"),
        "MEMSVC_EMBED__BACKEND": "sentence_transformers",
    }
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    done = subprocess.run(
        [sys.executable, "-m", "memsvc", "search", "Where does Alice live?", "-u", "alice"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "the model loaded in" in done.stdout
    took_ms = float(done.stdout.split(" hit(s) in ")[1].split(" ms")[0])
    load_s = float(done.stdout.split("the model loaded in ")[1].split(" s")[0])
    assert took_ms < 1000 * load_s
    assert "Loading weights" not in done.stderr
    assert "%|" not in done.stderr  # no tqdm bar of any library
