"""Fact extraction on 200 consecutive LoCoMo turns: speed, and coverage of LoCoMo's own facts.

For each backend (offline rules; the local SmolLM2-135M model), the turns are fed as the
consolidation pipeline does: runs of ``--episode`` turns within a session, each with the
previous ``--context`` turns as context. Reported:

- facts per second (extraction time only; the local model's load is reported apart);
- coverage: the fraction of the data set's ``observation`` facts for those turns (each sample
  has, per session, ``speaker -> [[fact, dia_id], ...]``) matched by some extracted fact at cosine
  >= ``--threshold`` (0.8) with the default embedder, all-MiniLM-L6-v2.

    python benchmarks/llm_facts.py                     # offline and local, 200 turns of conv-26
    python benchmarks/llm_facts.py --backends offline --turns 400

Results go to benchmarks/results/llm_facts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from common import DEFAULT_LOCOMO, machine, write_json

from memsvc.config import EmbedSettings, LLMSettings
from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder
from memsvc.llm.base import LLMTasks
from memsvc.llm.registry import make_llm
from memsvc.types import FactCandidate, Turn


def load_turns(sample: dict[str, Any], start: int, count: int) -> tuple[list[Turn], list[str]]:
    """``count`` consecutive turns from ``start`` (sessions in order) and their dia_ids."""
    conv = sample["conversation"]
    turns: list[Turn] = []
    dia_ids: list[str] = []
    number = 1
    while f"session_{number}" in conv:
        began = datetime.strptime(
            conv[f"session_{number}_date_time"], "%I:%M %p on %d %B, %Y"
        ).replace(tzinfo=UTC)
        for offset, turn in enumerate(conv[f"session_{number}"]):
            turns.append(
                Turn(
                    event_id=len(turns) + 1,
                    speaker=turn["speaker"],
                    role="user",
                    text=turn["text"],
                    occurred_at=began + timedelta(seconds=30 * offset),
                    session_id=str(number),
                )
            )
            dia_ids.append(turn["dia_id"])
        number += 1
    return turns[start : start + count], dia_ids[start : start + count]


def observations(sample: dict[str, Any], dia_ids: set[str]) -> list[str]:
    """The data set's own facts whose evidence lies within ``dia_ids``."""
    out = []
    for per_session in sample["observation"].values():
        for facts in per_session.values():
            for text, evidence in facts:
                cited = evidence if isinstance(evidence, list) else [evidence]
                if any(str(e).strip() in dia_ids for e in cited):
                    out.append(text)
    return out


def episodes(turns: list[Turn], size: int) -> list[list[Turn]]:
    """Runs of at most ``size`` turns within a session."""
    runs: list[list[Turn]] = []
    for turn in turns:
        if runs and len(runs[-1]) < size and runs[-1][0].session_id == turn.session_id:
            runs[-1].append(turn)
        else:
            runs.append([turn])
    return runs


def extract(tasks: LLMTasks, turns: list[Turn], *, size: int, context: int) -> list[FactCandidate]:
    """Facts of every run, each run with up to ``context`` earlier turns of its session."""
    facts: list[FactCandidate] = []
    for run in episodes(turns, size):
        first = turns.index(run[0])
        earlier = turns[max(0, first - context) : first]
        earlier = [t for t in earlier if t.session_id == run[0].session_id]
        facts.extend(tasks.extract_facts(run, context=earlier))
    return facts


def coverage(
    embedder: SentenceTransformerEmbedder, gold: list[str], facts: list[str], threshold: float
) -> dict[str, float]:
    if not gold or not facts:
        return {"coverage": 0.0, "mean_best_cosine": 0.0, "coverage_at_0.7": 0.0}
    best = (embedder.embed(gold) @ embedder.embed(facts).T).max(axis=1)
    return {
        "coverage": round(float(np.mean(best >= threshold)), 4),
        "coverage_at_0.7": round(float(np.mean(best >= 0.7)), 4),
        "mean_best_cosine": round(float(best.mean()), 4),
    }


def run_backend(
    name: str, embedder: SentenceTransformerEmbedder, turns: list[Turn], args: argparse.Namespace
) -> tuple[dict[str, Any], list[FactCandidate]]:
    cfg = LLMSettings.model_validate(
        {"backend": name, "local_cache_dir": Path(args.cache_dir), "device": args.device}
    )
    tasks = make_llm(cfg, embedder=embedder)
    load_s = 0.0
    if name == "local":  # the model loads lazily: time it apart from extraction
        started = time.perf_counter()
        _ = tasks.model  # type: ignore[attr-defined]
        load_s = time.perf_counter() - started
    started = time.perf_counter()
    facts = extract(tasks, turns, size=args.episode, context=args.context)
    seconds = time.perf_counter() - started
    usage = tasks.usage
    return {
        "backend": tasks.name,
        "facts": len(facts),
        "seconds": round(seconds, 2),
        "facts_per_s": round(len(facts) / seconds, 2) if seconds else None,
        "turns_per_s": round(len(turns) / seconds, 2) if seconds else None,
        "model_load_s": round(load_s, 2),
        "llm_calls": usage.calls,
        "llm_failures": usage.failures,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--sample", type=int, default=0, help="LoCoMo sample index (0: conv-26)")
    parser.add_argument("--start", type=int, default=0, help="first turn")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--episode", type=int, default=12, help="turns per extraction call")
    parser.add_argument("--context", type=int, default=4, help="earlier turns given as context")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--backends", default="offline,local")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "memsvc-models"))
    parser.add_argument("--examples", type=int, default=8, help="facts shown per backend")
    args = parser.parse_args()

    sample = json.loads(args.locomo.read_text())[args.sample]
    turns, dia_ids = load_turns(sample, args.start, args.turns)
    gold = observations(sample, set(dia_ids))
    embedder = SentenceTransformerEmbedder(EmbedSettings())
    results: dict[str, Any] = {
        "sample": sample["sample_id"],
        "turns": len(turns),
        "observation_facts": len(gold),
        "threshold": args.threshold,
        "embedder": embedder.model_id,
        "machine": machine(),
        "backends": {},
    }
    for name in args.backends.split(","):
        figures, facts = run_backend(name, embedder, turns, args)
        figures.update(coverage(embedder, gold, [f.text for f in facts], args.threshold))
        figures["examples"] = [f.text for f in facts[: args.examples]]
        results["backends"][name] = figures
        print(
            f"{name:8s} {figures['facts']:4d} facts in {figures['seconds']:7.2f}s "
            f"({figures['facts_per_s']} facts/s, load {figures['model_load_s']}s)  "
            f"coverage@{args.threshold}={figures['coverage']:.3f}  "
            f"@0.7={figures['coverage_at_0.7']:.3f}  "
            f"mean best cosine={figures['mean_best_cosine']:.3f}"
        )
    print(f"wrote {write_json('llm_facts.json', results)}")


if __name__ == "__main__":
    main()
