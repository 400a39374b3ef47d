"""LoCoMo evidence recall of the memory service, side by side with plain retrieval and mem0.

One memory (a ``user_id``) per LoCoMo conversation, in one embedded service with the default
settings (real embedder, offline LLM, SQLite + FAISS under ``--workdir``): every turn is added
with its session time as ``occurred_at`` (plus one second per turn, to keep their order) and
``metadata={"ref": dia_id}`` (image turns also ``"caption"``: their BLIP caption), the
conversation is consolidated (``run_pending_jobs``: episodes, facts, tree, summaries, the
entity graph, with the offline tasks; ``--no-consolidate`` keeps the raw events only), then
every question of categories 1-4 is asked with ``MemoryService.search``, once per setting of
``--rounds`` (iterative retrieval rounds), against the same memory.

Made comparable (issue 14):

- **One text for every system.** The turn as ``"Speaker: text [image: caption]"``
  (:func:`benchmarks.locomo.data.reader_text`), no date: the baselines index it, mem0 stores
  it, the service indexes its events so (time goes in as ``occurred_at``, never as text).
- **One charge for every system.** A hit costs the whitespace tokens of that same text (a
  fact: its text), for recall within 250/500/1,000 tokens.
- **Nothing changes while scoring.** Reinforcement is off (``retrieval.reinforce=false``), so
  every question meets the memory as it was built; each question is searched once per setting.
- **Recall and latency from one run.** The search whose hits are scored (``top_k`` 50) is the
  one timed, in-process, after every question's query vector was computed once (so every
  ``--rounds`` setting is timed on the read path alone; the query embedding, 10-12 ms of CPU on
  a quiet machine here, comes on top).
- **Tuned on 1-5, reported on 6-10.** Every figure is given for conversations 1-5 (where
  settings were chosen), 6-10 (held out) and all ten.

Scoring: a hit earns the dia_ids behind it only when it is an event or a fact (through its
source events: ``Hit.source_refs``); episodes, summaries and tree nodes take a place and their
tokens but earn nothing. Baselines in the same run: BM25, dense, their RRF, and BM25 over turns
indexed with their previous and next turn (:mod:`benchmarks.locomo.baselines`), and mem0 with
``infer=False`` (:mod:`benchmarks.locomo.mem0_baseline`) when ``mem0ai`` is importable here or
in the interpreter given by ``--mem0-python``.

    python -m benchmarks.locomo.run --workdir W                  # build once into W, then score
    python -m benchmarks.locomo.run --workdir W --reuse --rounds 1 2 3
    python -m benchmarks.locomo.run --workdir W --reuse --build-only
    python -m benchmarks.locomo.run --mem0-python /path/to/venv/bin/python
    python -m benchmarks.locomo.run --workdir W --reuse --rounds 1 2 3 --no-mem0  # not mem0
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
    reader_text,
    recall_at_k,
    recall_at_tokens,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

logger = logging.getLogger("benchmarks.locomo.run")

RESULTS = Path(__file__).resolve().parents[1] / "results"
CREDITED = frozenset({"event", "fact"})


def build_settings(workdir: Path, overrides: Sequence[str], *, consolidate: bool = True) -> Any:
    """Default settings with the database and indexes under ``workdir``, reinforcement off.

    The consolidation worker thread is off: the benchmark runs the same jobs itself, after each
    conversation, so that every question sees a fully consolidated memory. Reinforcement is off
    so that no search changes what the next one sees.
    """
    from memsvc.config import Settings

    data: dict[str, Any] = {
        "db": {"url": f"sqlite:///{workdir / 'memsvc.db'}"},
        "index": {"dir": str(workdir / "index")},
        "consolidation": {"in_process_worker": False, "enabled": consolidate},
        "retrieval": {"reinforce": False},
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
    """Whether the conversation's memory already holds all its turns (consolidated, if on)."""
    from memsvc.types import MemoryKind, Scope

    scope = Scope(user_id=conversation.sample_id)
    consolidated = service.settings.consolidation.enabled
    if consolidated and not service.get_all(scope=scope, kinds=[MemoryKind.FACT], limit=1).items:
        return False
    events, cursor = 0, None
    while True:  # every page: a conversation may hold more turns than one page
        page = service.get_all(scope=scope, kinds=[MemoryKind.EVENT], cursor=cursor, limit=1000)
        events += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return events == len(conversation.turns)


def _ensure_graph(service: Any, conversation: Conversation) -> None:
    """Write the entity graph from the stored memory when it has none yet (an older workdir,
    or consolidation off): the graph is derived, so this is what consolidation would write."""
    from memsvc.types import Scope

    scope = Scope(user_id=conversation.sample_id)
    if not service.entities(scope=scope, limit=1):
        written = service.rebuild_graph(scope=scope)
        logger.info("%s: entity graph rebuilt (%d mentions)", conversation.sample_id, written)


def _charged_text(hit: Any) -> str:
    """What a reader is given for a hit, and charged for: an event as every system's turn."""
    record = hit.record
    if record.kind.value == "event":
        return reader_text(record.speaker, record.content, record.metadata.get("caption"))
    return record.content


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
    rounds: int,
) -> tuple[list[dict[str, Any]], list[float], Counter[str]]:
    """Ask every scored question once; per-question rows, latencies (ms), kinds in the top 10.

    The timed search is the scored one (``top_k=depth``, ``rounds``). Every question's query
    vector is computed before (:func:`warm_queries`), so that no setting pays the model and
    settings compare on the read path alone.
    """
    from memsvc.types import Scope

    scope = Scope(user_id=conversation.sample_id)
    service.search("warm-up", scope=scope, rounds=rounds)
    rows, kinds, latencies = [], Counter[str](), []
    for qa in conversation.qa:
        if not qa.is_scored:
            continue
        result, took = _timed(
            lambda: service.search(qa.question, scope=scope, top_k=depth, rounds=rounds)  # noqa: B023
        )
        latencies.append(took)
        earned = [list(h.source_refs) if h.kind.value in CREDITED else [] for h in result.hits]
        sized = [
            (ids, len(_charged_text(h).split())) for ids, h in zip(earned, result.hits, strict=True)
        ]
        kinds.update(h.kind.value for h in result.hits[:10])
        row: dict[str, Any] = {
            "question_id": qa.question_id,
            "category": qa.category,
            "conversation": conversation.index,
        }
        for k in ks:
            row[f"R@{k}"] = recall_at_k(earned, qa.evidence, k)
        for budget in budgets:
            row[f"R@{budget}tok"] = recall_at_tokens(sized, qa.evidence, budget)
        rows.append(row)
    return rows, latencies, kinds


def warm_queries(service: Any, conversation: Conversation) -> None:
    """Embed every scored question once (the service's query cache keeps the vectors)."""
    from memsvc.types import Scope

    scope = Scope(user_id=conversation.sample_id)
    for qa in conversation.qa:
        if qa.is_scored:
            service.search(qa.question, scope=scope, top_k=1)


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
    rounds: Sequence[int] = (1,),
    reuse: bool = False,
    consolidate: bool = True,
    build_only: bool = False,
) -> dict[str, Any]:
    """The memory service over every conversation: recall and latency per ``rounds`` setting.

    With ``reuse``, a conversation whose memory is already in ``workdir`` is not added again.
    Returns ``{"runs": {"memsvc (N rounds)": {...}}, "ingest_s", "memories", "settings"}``.
    """
    from memsvc.wiring import build_service

    settings = build_settings(workdir, overrides, consolidate=consolidate)
    service = build_service(settings)
    rows: dict[int, list[dict[str, Any]]] = {r: [] for r in rounds}
    latencies: dict[int, list[float]] = {r: [] for r in rounds}
    kinds: dict[int, Counter[str]] = {r: Counter() for r in rounds}
    timings: dict[str, float] = {"add_s": 0.0, "consolidate_s": 0.0}
    depth = max(max(ks), 50)
    try:
        for conversation in conversations:
            if reuse and _is_ingested(service, conversation):
                logger.info("%s: reusing the memory in %s", conversation.sample_id, workdir)
            else:
                for name, seconds in ingest(service, conversation).items():
                    timings[name] = timings.get(name, 0.0) + seconds
                logger.info("%s: ingested", conversation.sample_id)
            _ensure_graph(service, conversation)
            if build_only:
                continue
            warm_queries(service, conversation)
            for r in rounds:
                found, took, seen = ask(
                    service, conversation, ks=ks, budgets=budgets, depth=depth, rounds=r
                )
                rows[r] += found
                latencies[r] += took
                kinds[r] += seen
                logger.info(
                    "%s, %d rounds: %d questions, search p50 %.1f ms",
                    conversation.sample_id, r, len(found), percentiles(took)["p50_ms"],
                )  # fmt: skip
        stats = service.stats()
    finally:
        service.close()
    metrics = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    runs = {
        f"memsvc ({r} round{'s' if r > 1 else ''})": {
            "recall": baselines.summarise_splits(rows[r], metrics),
            "latency": percentiles(latencies[r]),
            "top10_kinds": dict(kinds[r]),
        }
        for r in rounds
        if rows[r]
    }
    return {
        "runs": runs,
        "ingest_s": {k: round(v, 1) for k, v in timings.items()},
        "memories": stats["memories"],
        "settings": settings.retrieval.model_dump(mode="json"),
    }


def run_mem0(
    args: argparse.Namespace, *, ks: Sequence[int], budgets: Sequence[int]
) -> dict[str, Any]:
    """mem0 (``infer=False``) here when importable, else in ``--mem0-python``; else skipped."""
    extra = ["--conversations", *map(str, args.conversations)] if args.conversations else []
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


def table(
    results: dict[str, dict[str, Any]],
    ks: Sequence[int],
    budgets: Sequence[int],
    *,
    split: str = "all",
    latency: dict[str, dict[str, float]] | None = None,
) -> str:
    """A markdown table for one split: per-category R@10, overall recall, search p50/p95."""
    from benchmarks.locomo.data import CATEGORIES

    names = [CATEGORIES[c] for c in (1, 2, 3, 4)]
    overall = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    header = [f"{n} R@10" for n in names] + [f"all {m}" for m in overall]
    if latency is not None:
        header += ["p50 ms", "p95 ms"]
    lines = [
        "| method | " + " | ".join(header) + " |",
        "|---" * (len(header) + 1) + "|",
    ]
    for method, splits in results.items():
        recall = splits[split]
        cells = [f"{recall.get(n, {}).get('R@10', float('nan')):.3f}" for n in names]
        cells += [f"{recall['all'][m]:.3f}" for m in overall]
        if latency is not None:
            took = latency.get(method)
            cells += [f"{took['p50_ms']:.1f}", f"{took['p95_ms']:.1f}"] if took else ["-", "-"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
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
        left.bar(x, [recall["all"]["all"][m] for m in metrics], width, label=method)
        x = np.arange(len(categories)) + i * width
        cells = [recall["all"].get(c, {}).get("R@10", 0.0) for c in categories]
        right.bar(x, cells, width, label=method)
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
    parser.add_argument(
        "--skip", type=int, default=0,
        help="leave out the first N (--skip 5: conversations 6-10, the held-out half)",
    )  # fmt: skip
    parser.add_argument(
        "--conversations", type=int, nargs="+", default=None,
        help="only these conversations (1-based), e.g. 1 2 3 4 5 to tune",
    )  # fmt: skip
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20], help="hit budgets")
    parser.add_argument(
        "--budgets", nargs="+", type=int, default=[250, 500, 1000], help="token budgets"
    )
    parser.add_argument(
        "--rounds", nargs="+", type=int, default=[1], help="retrieval rounds settings to score"
    )
    parser.add_argument(
        "-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="a setting of the service, e.g. retrieval.graph_weight=2 (JSON values)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the database here (default: temporary)"
    )
    parser.add_argument(
        "--reuse", action="store_true",
        help="with --workdir: do not add again a conversation whose memory is already there",
    )  # fmt: skip
    parser.add_argument(
        "--no-consolidate", dest="consolidate", action="store_false",
        help="raw events only (no episodes, facts, tree, summaries); the graph from the events",
    )  # fmt: skip
    parser.add_argument("--build-only", action="store_true", help="build the memories, ask nothing")
    parser.add_argument("--no-baselines", action="store_true", help="skip BM25, dense and mem0")
    parser.add_argument(
        "--no-mem0", action="store_true", help="keep BM25, dense, RRF and BM25+neighbours only"
    )
    parser.add_argument(
        "--mem0-python", type=Path, default=None,
        help="an interpreter with mem0ai installed, when this one has none",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "locomo.json")
    parser.add_argument("--chart", type=Path, default=RESULTS / "locomo.png")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    from benchmarks.locomo.baselines import SPLITS

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    conversations = load_locomo(args.data, errata=args.errata)
    if args.conversations:
        conversations = [c for c in conversations if c.index + 1 in set(args.conversations)]
    conversations = conversations[args.skip :]
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
            rounds=args.rounds,
            reuse=args.reuse,
            consolidate=args.consolidate,
            build_only=args.build_only,
        )
    if args.build_only:
        print(f"built in {time.perf_counter() - started:.0f}s: {ours['memories']}")
        return
    results = {name: run["recall"] for name, run in ours["runs"].items()}
    latency = {name: run["latency"] for name, run in ours["runs"].items()}
    mem0: dict[str, Any] = {"skipped": "--no-baselines"}
    if not args.no_baselines:
        results |= baselines.run(
            conversations, methods=list(baselines.METHODS), ks=args.ks, budgets=args.budgets
        )
        mem0 = (
            {"skipped": "--no-mem0"}
            if args.no_mem0
            else run_mem0(args, ks=args.ks, budgets=args.budgets)
        )
        if "recall" in mem0:
            results["mem0"] = mem0["recall"]
            latency["mem0"] = mem0["latency"]
    took = time.perf_counter() - started
    splits = [name for name in [*SPLITS, "all"] if name in next(iter(results.values()))]
    for split in splits:
        print(f"\nconversations {split}:")
        print(table(results, args.ks, args.budgets, split=split, latency=latency))
    payload = {
        "command": " ".join(["python -m benchmarks.locomo.run", *(argv or sys.argv[1:])]),
        "data": str(args.data),
        "errata": None if args.errata is None else str(args.errata),
        "conversations": [c.index + 1 for c in conversations],
        "conversation_ids": [c.sample_id for c in conversations],
        "seconds": round(took, 1),
        "results": results,
        "latency": latency,
        "memsvc": {k: v for k, v in ours.items() if k != "runs"}
        | {"top10_kinds": {n: r["top10_kinds"] for n, r in ours["runs"].items()}},
        "mem0": {k: v for k, v in mem0.items() if k != "recall"},
        "loadavg": Path("/proc/loadavg").read_text().strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str))
    metrics = [f"R@{k}" for k in args.ks] + [f"R@{b}tok" for b in args.budgets]
    chart(results, metrics, args.chart)
    print(f"written to {args.out} and {args.chart} in {took:.0f}s")


if __name__ == "__main__":
    main()
