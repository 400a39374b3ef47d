"""The code passes ruff (lint and format) and mypy --strict, checked in CI like any behaviour."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which(args[0], path=str(BIN))
    if exe is None:
        pytest.fail(f"{args[0]} is not installed (pip install -e '.[dev]')")
    return subprocess.run(
        [exe, *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_lint_ruff_check_passes() -> None:
    result = _run("ruff", "check", "memsvc", "tests", "benchmarks", "examples", "scripts")
    assert result.returncode == 0, result.stdout[-4000:]


def test_lint_ruff_format_is_applied() -> None:
    result = _run("ruff", "format", "--check", "memsvc", "tests", "benchmarks", "examples")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.slow
def test_lint_mypy_strict_passes() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout[-4000:]
