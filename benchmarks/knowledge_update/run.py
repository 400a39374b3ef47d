"""Knowledge updates: is the current value first, the old one below it, the value then at as_of?

For each phrasing set (below), the generated scopes (:mod:`benchmarks.knowledge_update.generate`)
are added session by session in their shuffled order, each turn with its session's time, then
consolidated (offline LLM, the packaged embedder), then asked:

- ``latest@1``: "Where does X live?" -- the first hit states the current value;
- ``outdated_above_current``: a hit stating only an old value ranks above the first hit stating
  the current one (within the top 10);
- ``as_of@1``: the same question with ``as_of`` between the last two changes -- the first hit
  states the value then;
- ``all_values@10`` (many-valued relations): every value among the top 10;
- ``false_supersession``: values of many-valued relations (never replaced) whose every fact is
  superseded, over those values that have a fact at all.

The phrasing sets (:mod:`benchmarks.knowledge_update.generate`):

- ``dev`` (:mod:`~benchmarks.knowledge_update.relations`): the extraction was tuned on it;
- ``heldout``: written apart from dev, only reported;
- ``hard``: reported statements, negations, relative times and relatives' values (distractors),
  written after the held-out set had been looked at (session 5);
- ``fresh``: written in session 7 by an engineer who never read the parser (casual chat,
  reported speech, negations, relatives' values); reported only, never tuned on.

BM25 and dense retrieval (same embedder) over the turns answer the same questions (``as_of``:
only turns said by then).

    python -m benchmarks.knowledge_update.run --phrasings dev heldout hard fresh

Scopes are independent, so a run can be cut into parts run in parallel and combined:

    python -m benchmarks.knowledge_update.run --phrasings dev --part 0/4 --out /tmp/ku/dev0.json
    python -m benchmarks.knowledge_update.run --combine /tmp/ku --out benchmarks/results/ku.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.knowledge_update.generate import Question, ScopeData, generate

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = Path(__file__).resolve().parents[1] / "results"
TOP = 10
logger = logging.getLogger("benchmarks.knowledge_update")


def mentions(text: str, value: str) -> bool:
    """Whether ``text`` names ``value`` (whole words, any case)."""
    return re.search(rf"\b{re.escape(value)}\b", text, re.IGNORECASE) is not None


def judge(question: Question, texts: Sequence[str]) -> dict[str, float]:
    """The question's metrics over ranked hit texts."""
    if question.kind == "multi":
        top = texts[:TOP]
        found = all(any(mentions(t, v) for t in top) for v in question.expected)
        return {"all_values@10": float(found)}
    value = question.expected[0]
    first = bool(texts) and mentions(texts[0], value)
    current = next((i for i, t in enumerate(texts[:TOP]) if mentions(t, value)), None)
    outdated = next(
        (
            i
            for i, t in enumerate(texts[:TOP])
            if not mentions(t, value) and any(mentions(t, v) for v in question.outdated)
        ),
        None,
    )
    above = outdated is not None and (current is None or outdated < current)
    key = "latest@1" if question.kind == "current" else "as_of@1"
    out = {key: float(first)}
    if question.kind == "current":
        out["outdated_above_current"] = float(above)
    else:
        out["as_of_outdated_above"] = float(above)
    return out


def summarise(rows: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Mean of every metric, with its count."""
    metrics: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for name, value in row.items():
            metrics[name].append(value)
    return {k: {"mean": round(statistics.fmean(v), 3), "n": len(v)} for k, v in metrics.items()}


def run_memsvc(data: Sequence[ScopeData], workdir: Path) -> tuple[dict[str, Any], Any]:
    """memsvc: add, consolidate, ask; returns the summary and the service's embedder."""
    from benchmarks.locomo.run import build_settings
    from memsvc.types import FactStatus, MemoryKind, Scope
    from memsvc.wiring import build_service

    service = build_service(build_settings(workdir, []))
    rows: list[dict[str, float]] = []
    by_relation: dict[str, list[dict[str, float]]] = defaultdict(list)
    first_kinds: dict[str, int] = defaultdict(int)
    false_sup, valued = 0, 0
    started = time.perf_counter()
    try:
        for scope_data in data:
            scope = Scope(user_id=scope_data.user_id)
            for session in scope_data.sessions:
                for i, turn in enumerate(session.turns):
                    service.add(
                        {"role": "user", "name": turn.speaker, "content": turn.text},
                        scope=scope,
                        occurred_at=session.at + timedelta(seconds=i),
                    )
            service.run_pending_jobs()
        ingest = time.perf_counter() - started
        for scope_data in data:
            scope = Scope(user_id=scope_data.user_id)
            facts = []
            cursor = None
            while True:
                page = service.get_all(
                    scope=scope, kinds=[MemoryKind.FACT], include_inactive=True, cursor=cursor,
                    limit=1000,
                )  # fmt: skip
                facts += page.items
                cursor = page.next_cursor
                if cursor is None:
                    break
            for q in scope_data.questions:
                result = service.search(q.text, scope=scope, top_k=TOP, as_of=q.as_of)
                texts = [h.record.content for h in result.hits]
                row = judge(q, texts)
                rows.append(row)
                by_relation[q.relation].append(row)
                if result.hits:
                    first_kinds[f"{q.kind}:{result.hits[0].kind.value}"] += 1
                if q.kind != "multi":
                    continue
                for value in q.expected:
                    about = [
                        f for f in facts
                        if mentions(f.content, value) and mentions(f.content, q.person)
                    ]  # fmt: skip
                    if about:
                        valued += 1
                        false_sup += all(f.status == FactStatus.SUPERSEDED.value for f in about)
        embedder = service.embedder
        stats = service.stats()
    finally:
        service.close()
    return {
        "rows": rows,
        "relations": [r for k, v in by_relation.items() for r in [k] * len(v)],
        "rows_by_relation": [r for v in by_relation.values() for r in v],
        "false_supersession": [false_sup, valued],
        "first_hit_kinds": dict(first_kinds),
        "ingest_s": round(ingest, 1),
        "memories": stats["memories"],
    }, embedder


def report(raw: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of one or more parts' raw results."""
    rows = [r for part in raw for r in part["rows"]]
    summary = summarise(rows)
    false_sup = sum(p["false_supersession"][0] for p in raw)
    valued = sum(p["false_supersession"][1] for p in raw)
    summary["false_supersession"] = {"mean": round(false_sup / max(valued, 1), 3), "n": valued}
    by_relation: dict[str, list[dict[str, float]]] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    for part in raw:
        for name, row in zip(part["relations"], part["rows_by_relation"], strict=True):
            by_relation[name].append(row)
        for kind, n in part["first_hit_kinds"].items():
            kinds[kind] += n
    return {
        "metrics": summary,
        "by_relation": {k: summarise(v) for k, v in sorted(by_relation.items())},
        "first_hit_kinds": dict(kinds),
        "ingest_s": round(sum(p["ingest_s"] for p in raw), 1),
    }


def run_baseline(
    data: Sequence[ScopeData], rank: Callable[[list[str], str], list[int]]
) -> dict[str, Any]:
    """A ranker over the scope's turns (only those said by ``as_of`` when it is given)."""
    rows = []
    for scope_data in data:
        turns = [
            (session.at + timedelta(seconds=i), turn.text)
            for session in scope_data.sessions
            for i, turn in enumerate(session.turns)
        ]
        for q in scope_data.questions:
            kept = [text for at, text in turns if q.as_of is None or at <= q.as_of]
            order = rank(kept, q.text)
            rows.append(judge(q, [kept[i] for i in order]))
    return {"rows": rows}


def bm25_ranker() -> Callable[[list[str], str], list[int]]:
    """BM25 with the service's own index and tokenizer."""
    from memsvc.index.base import IndexTags
    from memsvc.index.bm25 import Bm25Index

    def rank(texts: list[str], query: str) -> list[int]:
        index = Bm25Index()
        keys = np.arange(1, len(texts) + 1, dtype=np.int64)
        tags = [IndexTags(user_id="u", agent_id=None, session_id=None)] * len(texts)
        index.add(keys, texts, tags)
        return [int(k) - 1 for k, _ in index.search(query, TOP)]

    return rank


def dense_ranker(embedder: Any) -> Callable[[list[str], str], list[int]]:
    """Cosine over the turns with the service's embedding model (vectors kept by text)."""
    model = embedder.inner
    cache: dict[str, Any] = {}

    def vectors(texts: list[str]) -> Any:
        missing = sorted({t for t in texts if t not in cache})
        if missing:
            cache.update(zip(missing, np.asarray(model.embed(missing)), strict=True))
        return np.stack([cache[t] for t in texts])

    def rank(texts: list[str], query: str) -> list[int]:
        q = np.asarray(model.embed([query])[0])
        return [int(i) for i in np.argsort(-(vectors(texts) @ q))[:TOP]]

    return rank


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrasings", nargs="+", default=["dev", "heldout", "hard", "fresh"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scopes", type=int, default=17)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--part", default="0/1", help="i/n: only every n-th scope from the i-th")
    parser.add_argument("--combine", type=Path, help="a folder of --part outputs to combine")
    parser.add_argument("--out", type=Path, default=RESULTS / "knowledge_update.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.combine is not None:
        args.out.write_text(json.dumps(combine(sorted(args.combine.glob("*.json"))), indent=2))
        return
    index, count = (int(x) for x in args.part.split("/"))
    payload: dict[str, Any] = {"seed": args.seed, "part": args.part}
    for name in args.phrasings:
        data = generate(name, seed=args.seed, scopes=args.scopes)[index::count]
        with tempfile.TemporaryDirectory() as tmp:
            ours, embedder = run_memsvc(data, Path(tmp))
        part: dict[str, Any] = {
            "people": sum(len(s.people) for s in data),
            "turns": sum(len(x.turns) for s in data for x in s.sessions),
            "questions": sum(len(s.questions) for s in data),
            "memsvc": ours,
        }
        if not args.no_baselines:
            part["bm25_turns"] = run_baseline(data, bm25_ranker())
            part["dense_turns"] = run_baseline(data, dense_ranker(embedder))
        payload[name] = part
    args.out.write_text(json.dumps(payload, default=str))


def combine(paths: Sequence[Path]) -> dict[str, Any]:
    """Every phrasing set's metrics over the parts in ``paths``."""
    parts = [json.loads(p.read_text()) for p in paths]
    out: dict[str, Any] = {"parts": len(parts)}
    for name in ("dev", "heldout", "hard", "fresh"):
        mine = [p[name] for p in parts if name in p]
        if not mine:
            continue
        result: dict[str, Any] = {
            k: sum(p[k] for p in mine) for k in ("people", "turns", "questions")
        }
        result["memsvc"] = report([p["memsvc"] for p in mine])
        for baseline in ("bm25_turns", "dense_turns"):
            if all(baseline in p for p in mine):
                rows = [r for p in mine for r in p[baseline]["rows"]]
                result[baseline] = {"metrics": summarise(rows)}
        out[name] = result
    return out


if __name__ == "__main__":
    main()
