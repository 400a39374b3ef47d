"""The README's snippets run as they stand and print what the README says (issue 17).

Each Python snippet followed by a "Prints" block runs in a fresh interpreter on a temporary
data folder (hashing embedder); the HTTP one against a ``memsvc serve`` process whose address
it reads from ``MEMSVC_URL``; the four "auth on" lines run in bash on a free port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_SNIPPET = re.compile(r"```python\n(.*?)```\n\nPrints[^\n]*:\n\n```text\n(.*?)```", re.DOTALL)
_AUTH = re.compile(r"\*\*Auth on\*\*.*?```bash\n(.*?)```", re.DOTALL)

pytestmark = pytest.mark.slow


def _snippets() -> list[tuple[str, str]]:
    found = _SNIPPET.findall(README.read_text(encoding="utf-8"))
    assert len(found) >= 2, "the README's snippets with their output are gone"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "MEMSVC_DB__URL": f"sqlite:///{data / 'memsvc.db'}",
        "MEMSVC_INDEX__DIR": str(data / "index"),
        "MEMSVC_EMBED__BACKEND": "hashing",
        **extra,
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``memsvc serve`` (auth off) on a free port of 127.0.0.1; its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "memsvc", "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _run_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_readme_embedded_snippet_prints_what_the_readme_says(tmp_path: Path) -> None:
    code, expected = next((c, e) for c, e in _snippets() if "Memory()" in c)
    assert _run_python(code, _env(tmp_path)) == expected


def test_readme_http_snippet_prints_what_the_readme_says(tmp_path: Path, server: str) -> None:
    code, expected = next((c, e) for c, e in _snippets() if "MemoryClient()" in c)
    env = _env(tmp_path / "client", MEMSVC_URL=server)
    env.pop("MEMSVC_API_KEY", None)
    assert _run_python(code, env) == expected


def test_readme_auth_on_in_four_lines(tmp_path: Path) -> None:
    match = _AUTH.search(README.read_text(encoding="utf-8"))
    assert match is not None
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    assert len(lines) == 4
    bin_dir = f"{Path(sys.executable).parent}/"
    port = str(_free_port())
    script = "\n".join(lines).replace(".venv/bin/", bin_dir).replace("8765", port)
    script = script.replace("serve --host 0.0.0.0", f"serve --host 127.0.0.1 --port {port}")
    done = subprocess.run(
        ["bash", "-c", f"set -e\n{script}\nkill %1\nwait || true"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # the server in the background logs to the same terminal
    stats = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert stats and stats[0].startswith('{"namespace":"acme","memories":{'), done.stdout[:500]
