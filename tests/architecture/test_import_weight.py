"""Importing the SDK stays light: no torch, faiss, sqlalchemy or fastapi (STYLE.md section 2)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("faiss", "torch", "sqlalchemy", "fastapi", "sentence_transformers", "numpy")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    return set(json.loads(out.stdout))


def test_import_memsvc_sdk_loads_no_heavy_module() -> None:
    loaded = _loaded_after("import memsvc.sdk")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_building_sdk_clients_loads_no_heavy_module() -> None:
    loaded = _loaded_after(
        "from memsvc.sdk import MemoryClient, AsyncMemoryClient; "
        "MemoryClient('http://127.0.0.1:9').close(); AsyncMemoryClient('http://127.0.0.1:9')"
    )
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
