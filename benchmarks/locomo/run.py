"""LoCoMo evidence recall of the memory service, side by side with plain retrieval and mem0.

One memory (a ``user_id``) per LoCoMo conversation, in one embedded service with the default
settings (real embedder, offline LLM, SQLite + FAISS under ``--workdir``): every turn is added
with its session time as ``occurred_at`` (plus one second per turn, to keep their order) and
``metadata={"ref": dia_id}`` (image turns also ``"caption"``: their BLIP caption), the
conversation is consolidated (``run_pending_jobs``: episodes, facts, tree, summaries with the
offline tasks), then every question of categories 1-4 is asked with ``MemoryService.search``.

Scoring: a hit earns the dia_ids behind it only when it is an event or a fact (through its
source events: ``Hit.source_refs``); episodes, summaries and tree nodes take a place and their
tokens but earn nothing. Recall at 5/10/20 hits, and within 250/500/1,000 whitespace tokens
of the hits' text as a reader sees it ("Speaker: text" for events). Search latency is measured
per question, in-process, after one warm-up search per conversation, on a search as a user
would make it (default ``top_k``, the query embedded afresh).

In the same run: BM25 and dense retrieval over the turns (:mod:`benchmarks.locomo.baselines`,
same embedder, turns prefixed with their session date), and mem0 with ``infer=False``
(:mod:`benchmarks.locomo.mem0_baseline`) when ``mem0ai`` is importable here or in the
interpreter given by ``--mem0-python``.

    python -m benchmarks.locomo.run                     # JSON + PNG into benchmarks/results/
    python -m benchmarks.locomo.run --errata            # with the locomo-audit errata
    python -m benchmarks.locomo.run --mem0-python /path/to/venv/bin/python
    python -m benchmarks.locomo.run --conversations 1 --no-baselines -s retrieval.rounds=2
    python -m benchmarks.locomo.run --skip 5 --no-baselines -s embed.backend=static  # 6-10
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.locomo import baselines
from benchmarks.locomo.data import (
    DEFAULT_ERRATA,
    DEFAULT_LOCOMO,
    Conversation,
    load_locomo,
    recall_at_k,
    recall_at_tokens,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

logger = logging.getLogger("benchmarks.locomo.run")

RESULTS = Path(__file__).resolve().parents[1] / "results"
CREDITED = frozenset({"event", "fact"})


def build_settings(workdir: Path, overrides: Sequence[str]) -> Any:
    """Default settings with the database and indexes under ``workdir``.

    The consolidation worker thread is off: the benchmark runs the same jobs itself, after each
    conversation, so that every question sees a fully consolidated memory.
    """
    from memsvc.config import Settings

    data: dict[str, Any] = {
        "db": {"url": f"sqlite:///{workdir / 'memsvc.db'}"},
        "index": {"dir": str(workdir / "index")},
        "consolidation": {"in_process_worker": False},
    }
    for item in overrides:
        key, _, raw = item.partition("=")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return Settings(**data)


def ingest(service: Any, conversation: Conversation) -> dict[str, float]:
    """Add every turn, then consolidate; returns the seconds each step took."""
    from memsvc.types import Scope

    scope = Scope(user_id=conversation.sample_id)
    started = time.perf_counter()
    for session in conversation.sessions:
        for i, turn in enumerate(session.turns):
            metadata = {"ref": turn.dia_id}
            if turn.image_caption:
                metadata["caption"] = turn.image_caption
            service.add(
                {"role": "user", "name": turn.speaker, "content": turn.text},
                scope=scope,
                occurred_at=session.occurred_at + timedelta(seconds=i),
                metadata=metadata,
            )
    added = time.perf_counter()
    service.run_pending_jobs()
    done = time.perf_counter()
    return {"add_s": added - started, "consolidate_s": done - added}


def _is_ingested(service: Any, conversation: Conversation) -> bool:
    """Whether the conversation's memory already holds all its turns, consolidated."""
    from memsvc.types import MemoryKind, Scope

    scope = Scope(user_id=conversation.sample_id)
    if not service.get_all(scope=scope, kinds=[MemoryKind.FACT], limit=1).items:
        return False
    events, cursor = 0, None
    while True:  # every page: a conversation may hold more turns than one page
        page = service.get_all(scope=scope, kinds=[MemoryKind.EVENT], cursor=cursor, limit=1000)
        events += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return events == len(conversation.turns)


def _reader_text(hit: Any) -> str:
    record = hit.record
    return f"{record.speaker}: {record.content}" if record.speaker else record.content


def _timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def ask(
    service: Any,
    conversation: Conversation,
    *,
    ks: Sequence[int],
    budgets: Sequence[int],
    depth: int,
) -> tuple[list[dict[str, Any]], dict[str, list[float]], Counter[str]]:
    """Ask every scored question; per-question rows, latencies (ms), kinds in the top 10.

    Each question is asked twice: first as a user would (default ``top_k``; this is the
    latency reported), then with ``top_k=depth`` for the recall figures (its query vector is
    then in the embedding cache; its latency is reported apart).
    """
    from memsvc.types import Scope

    scope = Scope(user_id=conversation.sample_id)
    service.search("warm-up", scope=scope)
    rows, kinds = [], Counter[str]()
    latencies: dict[str, list[float]] = {"default": [], "depth": []}
    for qa in conversation.qa:
        if not qa.is_scored:
            continue
        _, took = _timed(lambda: service.search(qa.question, scope=scope))  # noqa: B023
        latencies["default"].append(took)
        result, took = _timed(lambda: service.search(qa.question, scope=scope, top_k=depth))  # noqa: B023
        latencies["depth"].append(took)
        earned = [list(h.source_refs) if h.kind.value in CREDITED else [] for h in result.hits]
        sized = [
            (ids, len(_reader_text(h).split())) for ids, h in zip(earned, result.hits, strict=True)
        ]
        kinds.update(h.kind.value for h in result.hits[:10])
        row: dict[str, Any] = {"question_id": qa.question_id, "category": qa.category}
        for k in ks:
            row[f"R@{k}"] = recall_at_k(earned, qa.evidence, k)
        for budget in budgets:
            row[f"R@{budget}tok"] = recall_at_tokens(sized, qa.evidence, budget)
        rows.append(row)
    return rows, latencies, kinds


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of latencies in ms."""
    ordered = sorted(samples)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "p50_ms": q(0.50),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "mean_ms": round(sum(ordered) / len(ordered), 2),
        "n": len(ordered),
    }


def run_memsvc(
    conversations: Sequence[Conversation],
    *,
    workdir: Path,
    overrides: Sequence[str],
    ks: Sequence[int],
    budgets: Sequence[int],
    reuse: bool = False,
) -> dict[str, Any]:
    """The memory service over every conversation: recall, latency, ingest times, stats.

    With ``reuse``, a conversation whose memory is already in ``workdir`` is not added again.
    """
    from memsvc.wiring import build_service

    settings = build_settings(workdir, overrides)
    service = build_service(settings)
    rows: list[dict[str, Any]] = []
    latencies: dict[str, list[float]] = {"default": [], "depth": []}
    kinds: Counter[str] = Counter()
    timings: dict[str, float] = {"add_s": 0.0, "consolidate_s": 0.0}
    depth = max(max(ks), 50)
    try:
        for conversation in conversations:
            if reuse and _is_ingested(service, conversation):
                logger.info("%s: reusing the memory in %s", conversation.sample_id, workdir)
            else:
                for name, seconds in ingest(service, conversation).items():
                    timings[name] = timings.get(name, 0.0) + seconds
            found, took, seen = ask(service, conversation, ks=ks, budgets=budgets, depth=depth)
            rows += found
            for name, samples in took.items():
                latencies[name] += samples
            kinds += seen
            logger.info(
                "%s: %d questions, search p50 %.1f ms",
                conversation.sample_id,
                len(found),
                percentiles(took["default"])["p50_ms"],
            )
        stats = service.stats()
    finally:
        service.close()
    metrics = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    return {
        "recall": baselines.summarise(rows, metrics),
        "latency": percentiles(latencies["default"]),
        "latency_top_k_depth_cached_query": percentiles(latencies["depth"]),
        "top10_kinds": dict(kinds),
        "ingest_s": {k: round(v, 1) for k, v in timings.items()},
        "memories": stats["memories"],
        "settings": settings.retrieval.model_dump(mode="json"),
    }


def run_mem0(
    args: argparse.Namespace, *, ks: Sequence[int], budgets: Sequence[int]
) -> dict[str, Any]:
    """mem0 (``infer=False``) here when importable, else in ``--mem0-python``; else skipped."""
    extra = ["--conversations", str(args.conversations)] if args.conversations else []
    if args.errata is not None:
        extra += ["--errata", str(args.errata)]
    common = [
        "--data", str(args.data), "--ks", *map(str, ks), "--budgets", *map(str, budgets), *extra,
    ]  # fmt: skip
    if importlib.util.find_spec("mem0") is not None:
        python = sys.executable
    elif args.mem0_python is not None:
        python = str(args.mem0_python)
    else:
        return {"skipped": "mem0ai is not installed here and --mem0-python was not given"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mem0.json"
        command = [python, "-m", "benchmarks.locomo.mem0_baseline", *common, "--out", str(out)]
        root = Path(__file__).resolve().parents[2]
        completed = subprocess.run(command, cwd=root, check=False)
        if completed.returncode != 0 or not out.exists():
            return {"skipped": f"the mem0 run failed (exit {completed.returncode})"}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def table(results: dict[str, dict[str, Any]], ks: Sequence[int], budgets: Sequence[int]) -> str:
    """A markdown table: per-category R@10 and overall recall per method."""
    from benchmarks.locomo.data import CATEGORIES

    names = [CATEGORIES[c] for c in (1, 2, 3, 4)]
    overall = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    header = [f"{n} R@10" for n in names] + [f"all {m}" for m in overall]
    lines = [
        "| method | " + " | ".join(header) + " |",
        "|---" * (len(header) + 1) + "|",
    ]
    for method, recall in results.items():
        cells = [recall.get(n, {}).get("R@10", float("nan")) for n in names]
        cells += [recall["all"][m] for m in overall]
        lines.append(f"| {method} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def chart(results: dict[str, dict[str, Any]], metrics: Sequence[str], path: Path) -> None:
    """Grouped bars: overall recall per metric and method, and R@10 per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from benchmarks.locomo.data import CATEGORIES

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5))
    width = 0.8 / max(len(results), 1)
    categories = [CATEGORIES[c] for c in (1, 2, 3, 4)]
    for i, (method, recall) in enumerate(results.items()):
        x = np.arange(len(metrics)) + i * width
        left.bar(x, [recall["all"][m] for m in metrics], width, label=method)
        x = np.arange(len(categories)) + i * width
        right.bar(x, [recall.get(c, {}).get("R@10", 0.0) for c in categories], width, label=method)
    offset = width * (len(results) - 1) / 2
    left.set_xticks(np.arange(len(metrics)) + offset, metrics)
    left.set_title("LoCoMo evidence recall, categories 1-4")
    right.set_xticks(np.arange(len(categories)) + offset, categories)
    right.set_title("R@10 per category")
    for axis in (left, right):
        axis.set_ylim(0, 1)
        axis.grid(axis="y", alpha=0.3)
    left.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO, help="locomo10.json")
    parser.add_argument(
        "--errata", nargs="?", type=Path, const=DEFAULT_ERRATA, default=None,
        help="apply the locomo-audit errata (default file when no path is given)",
    )  # fmt: skip
    parser.add_argument("--conversations", type=int, default=None, help="only the first N")
    parser.add_argument(
        "--skip", type=int, default=0,
        help="leave out the first N (--skip 5: conversations 6-10, the held-out half)",
    )  # fmt: skip
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20], help="hit budgets")
    parser.add_argument(
        "--budgets", nargs="+", type=int, default=[250, 500, 1000], help="token budgets"
    )
    parser.add_argument(
        "-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="a setting of the service, e.g. retrieval.rounds=2 (JSON values)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the database here (default: temporary)"
    )
    parser.add_argument(
        "--reuse", action="store_true",
        help="with --workdir: do not add again a conversation whose memory is already there",
    )  # fmt: skip
    parser.add_argument("--no-baselines", action="store_true", help="skip BM25, dense and mem0")
    parser.add_argument(
        "--mem0-python", type=Path, default=None,
        help="an interpreter with mem0ai installed, when this one has none",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "locomo.json")
    parser.add_argument("--chart", type=Path, default=RESULTS / "locomo.png")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    conversations = load_locomo(args.data, errata=args.errata)[: args.conversations][args.skip :]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        ours = run_memsvc(
            conversations,
            workdir=workdir,
            overrides=args.overrides,
            ks=args.ks,
            budgets=args.budgets,
            reuse=args.reuse,
        )
    results = {"memsvc": ours["recall"]}
    mem0: dict[str, Any] = {"skipped": "--no-baselines"}
    if not args.no_baselines:
        results |= baselines.run(
            conversations,
            methods=["bm25", "dense"],
            ks=args.ks,
            budgets=args.budgets,
            captions=True,
        )
        mem0 = run_mem0(args, ks=args.ks, budgets=args.budgets)
        if "recall" in mem0:
            results["mem0"] = mem0["recall"]
    took = time.perf_counter() - started
    print(table(results, args.ks, args.budgets))
    print(f"memsvc search latency: {ours['latency']}")
    payload = {
        "command": " ".join(["python -m benchmarks.locomo.run", *(argv or sys.argv[1:])]),
        "data": str(args.data),
        "errata": None if args.errata is None else str(args.errata),
        "conversations": len(conversations),
        "conversation_ids": [c.sample_id for c in conversations],
        "seconds": round(took, 1),
        "results": results,
        "memsvc": {k: v for k, v in ours.items() if k != "recall"},
        "mem0": {k: v for k, v in mem0.items() if k != "recall"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str))
    metrics = [f"R@{k}" for k in args.ks] + [f"R@{b}tok" for b in args.budgets]
    chart(results, metrics, args.chart)
    print(f"written to {args.out} and {args.chart} in {took:.0f}s")


if __name__ == "__main__":
    main()
