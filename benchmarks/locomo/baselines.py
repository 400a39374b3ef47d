"""LoCoMo evidence recall of plain retrieval over turns: BM25, dense, their RRF, and BM25 over
turns indexed with their neighbours.

One index per conversation over its turns, each turn as every system of the benchmark sees it
(:meth:`~benchmarks.locomo.data.Turn.reader_text`: ``"Caroline: text [image: caption]"``, no
date; ``--dated`` restores the data README's ``"[1:56 pm on 8 May, 2023] Caroline: ..."``
prefix); the question is the query; a hit is charged the tokens of that same text. Reported
per category and over all scored questions (categories 1-4 with evidence): recall at k hits
and recall within a budget of whitespace tokens. BM25 is
:class:`memsvc.index.bm25.Bm25Index`, dense is all-MiniLM-L6-v2
(:class:`memsvc.embed.sentence_transformers.SentenceTransformerEmbedder`) in an exact
:class:`memsvc.index.exact.ExactIndex`, and RRF is :func:`memsvc.retrieval.fusion.rrf` of the
two top-50 lists. These are the reference rows the memory service is compared with.

``--context prev`` (or ``prevnext``) indexes each turn with the text of the turn before it (and
after it) in the same session appended, a measure of what contextual indexing of events would
give; budgets are still counted on the turn's own text.

Run from the repository root::

    python -m benchmarks.locomo.baselines                      # the data as published
    python -m benchmarks.locomo.baselines --errata              # with the locomo-audit errata
    python -m benchmarks.locomo.baselines --methods bm25 --ks 5 10
    python -m benchmarks.locomo.baselines --captions --context prev --out /tmp/context.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.locomo.data import (
    CATEGORIES,
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

logger = logging.getLogger("benchmarks.locomo.baselines")

RESULTS = Path(__file__).resolve().parents[1] / "results"
METHODS = ("bm25", "dense", "rrf", "bm25+neighbours")
CONTEXTS = ("none", "prev", "prevnext")
FUSION_CANDIDATES = 50

#: ranked turn indices (0-based into ``conversation.turns``) for each question, best first.
Ranker = Callable[[Conversation, Sequence[str], Sequence[str], int], list[list[int]]]


def _tags(conversation: Conversation, n: int) -> list[Any]:
    from memsvc.index.base import IndexTags

    return [IndexTags(user_id=conversation.sample_id, agent_id=None, session_id=None)] * n


def rank_bm25(
    conversation: Conversation,
    texts: Sequence[str],
    questions: Sequence[str],
    depth: int,
    backend: str = "bm25",
) -> list[list[int]]:
    """BM25 over the turns (the service's own index and tokenizer; ``backend`` as
    ``index.sparse_backend``: ours or tantivy)."""
    from memsvc.config import IndexSettings
    from memsvc.index.registry import make_sparse_index

    index = make_sparse_index(IndexSettings.model_validate({"sparse_backend": backend}))
    keys = np.arange(1, len(texts) + 1, dtype=np.int64)
    index.add(keys, list(texts), _tags(conversation, len(texts)))
    return [[key - 1 for key, _ in index.search(q, depth)] for q in questions]


class DenseRanker:
    """Dense retrieval with all-MiniLM-L6-v2 and exact cosine; the model loads once."""

    def __init__(self) -> None:
        from memsvc.config import EmbedSettings
        from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

        self.embedder = SentenceTransformerEmbedder(EmbedSettings())

    def __call__(
        self,
        conversation: Conversation,
        texts: Sequence[str],
        questions: Sequence[str],
        depth: int,
    ) -> list[list[int]]:
        """Rank the turns for each question."""
        from memsvc.index.exact import ExactIndex

        index = ExactIndex(self.embedder.dim)
        keys = np.arange(1, len(texts) + 1, dtype=np.int64)
        index.add(keys, self.embedder.embed(texts), _tags(conversation, len(texts)))
        vectors = self.embedder.embed(questions)
        return [[key - 1 for key, _ in index.search(v, depth)] for v in vectors]


def rank_rrf(bm25: list[list[int]], dense: list[list[int]], *, k: int = 60) -> list[list[int]]:
    """Reciprocal rank fusion of the two top-50 lists, equal weights."""
    from memsvc.retrieval.fusion import RankedList, rrf

    fused = []
    for sparse_ids, dense_ids in zip(bm25, dense, strict=True):
        lists = [
            RankedList("dense", [(i, 0.0) for i in dense_ids[:FUSION_CANDIDATES]]),
            RankedList("sparse", [(i, 0.0) for i in sparse_ids[:FUSION_CANDIDATES]]),
        ]
        fused.append([item.key for item in rrf(lists, k=k)])
    return fused


def _score(
    conversation: Conversation,
    ranked: list[list[int]],
    *,
    texts: Sequence[str],
    ks: Sequence[int],
    budgets: Sequence[int],
) -> list[dict[str, Any]]:
    """Per-question recall rows for one method (token counts are those of ``texts``)."""
    turns = conversation.turns
    scored = [qa for qa in conversation.qa if qa.is_scored]
    rows = []
    for qa, order in zip(scored, ranked, strict=True):
        hits = [[turns[i].dia_id] for i in order]
        sized = [([turns[i].dia_id], len(texts[i].split())) for i in order]
        row: dict[str, Any] = {
            "question_id": qa.question_id,
            "category": qa.category,
            "conversation": conversation.index,
        }
        for k in ks:
            row[f"R@{k}"] = recall_at_k(hits, qa.evidence, k)
        for budget in budgets:
            row[f"R@{budget}tok"] = recall_at_tokens(sized, qa.evidence, budget)
        rows.append(row)
    return rows


#: The conversations settings are tuned on (1-5) and those reported held out (6-10), 0-based.
TUNE = frozenset(range(5))
SPLITS = {"tune (1-5)": TUNE, "held-out (6-10)": frozenset(range(5, 10))}


def summarise_splits(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """:func:`summarise` over conversations 1-5, 6-10 and all (rows carry ``conversation``)."""
    out: dict[str, Any] = {}
    for name, members in SPLITS.items():
        part = [r for r in rows if r["conversation"] in members]
        if part:
            out[name] = summarise(part, metrics)
    out["all"] = summarise(rows, metrics)
    return out


def summarise(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """Mean of each metric per category name and over all rows (``"all"``), with counts."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[CATEGORIES[row["category"]]].append(row)
        groups["all"].append(row)
    return {
        name: {
            "n": len(group),
            **{m: round(statistics.fmean(r[m] for r in group), 3) for m in metrics},
        }
        for name, group in sorted(groups.items(), key=lambda item: item[0] == "all")
    }


def with_context(conversation: Conversation, texts: Sequence[str], context: str) -> list[str]:
    """``texts`` (one per turn) with the neighbouring turns of the same session appended."""
    if context == "none":
        return list(texts)
    turns = conversation.turns
    out = []
    session = [turn.session for turn in turns]
    for i, text in enumerate(texts):
        parts = [text]
        if i > 0 and session[i - 1] == session[i]:
            parts.append(turns[i - 1].text)
        if context == "prevnext" and i + 1 < len(turns) and session[i + 1] == session[i]:
            parts.append(turns[i + 1].text)
        out.append(" || ".join(parts))
    return out


def run(
    conversations: Sequence[Conversation],
    *,
    methods: Sequence[str],
    ks: Sequence[int],
    budgets: Sequence[int],
    captions: bool = True,
    context: str = "none",
    dated: bool = False,
    sparse_backend: str = "bm25",
) -> dict[str, dict[str, Any]]:
    """Recall of each method: ``{method: {split: {category or "all": {metric: mean}}}}``.

    ``bm25+neighbours`` indexes each turn with the previous and next turn of its session
    appended (``context`` applies to the other methods), charged its own text's tokens.
    """
    depth = max([*ks, FUSION_CANDIDATES])
    dense = DenseRanker() if {"dense", "rrf"} & set(methods) else None
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for conversation in conversations:
        if dated:
            texts = [turn.render(with_caption=captions) for turn in conversation.turns]
        else:
            texts = [
                turn.reader_text() if captions else f"{turn.speaker}: {turn.text}"
                for turn in conversation.turns
            ]
        indexed = with_context(conversation, texts, context)
        questions = [qa.question for qa in conversation.qa if qa.is_scored]
        ranked: dict[str, list[list[int]]] = {}
        if {"bm25", "rrf"} & set(methods):
            ranked["bm25"] = rank_bm25(conversation, indexed, questions, depth, sparse_backend)
        if "bm25+neighbours" in methods:
            around = with_context(conversation, texts, "prevnext")
            ranked["bm25+neighbours"] = rank_bm25(
                conversation, around, questions, depth, sparse_backend
            )
        if dense is not None:
            ranked["dense"] = dense(conversation, indexed, questions, depth)
        if "rrf" in methods:
            ranked["rrf"] = rank_rrf(ranked["bm25"], ranked["dense"])
        for method in methods:
            rows[method] += _score(
                conversation, ranked[method], texts=texts, ks=ks, budgets=budgets
            )
        logger.info("%s: %d questions", conversation.sample_id, len(questions))
    metrics = [f"R@{k}" for k in ks] + [f"R@{b}tok" for b in budgets]
    return {method: summarise_splits(rows[method], metrics) for method in methods}


def print_table(results: dict[str, dict[str, Any]], ks: Sequence[int]) -> None:
    """Per-category R@10 (or the largest k below it) and overall R@k, as in the data README."""
    k_cat = 10 if 10 in ks else max(ks)
    names = [CATEGORIES[c] for c in (1, 2, 3, 4)]
    header = [f"{n} R@{k_cat}" for n in names] + [f"all R@{k}" for k in ks]
    print("| method | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    for method, splits in results.items():
        summary = splits["all"]
        cells = [summary.get(n, {}).get(f"R@{k_cat}", float("nan")) for n in names]
        cells += [summary["all"][f"R@{k}"] for k in ks]
        print(f"| {method} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO, help="locomo10.json")
    parser.add_argument(
        "--errata", nargs="?", type=Path, const=DEFAULT_ERRATA, default=None,
        help="apply the locomo-audit errata (default file when no path is given)",
    )  # fmt: skip
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20], help="hit budgets")
    parser.add_argument(
        "--budgets", nargs="+", type=int, default=[200, 500, 1000], help="token budgets"
    )
    parser.add_argument(
        "--no-captions", dest="captions", action="store_false",
        help="leave out the caption of shared images",
    )  # fmt: skip
    parser.add_argument(
        "--dated", action="store_true", help="prefix turns with their session date (data README)"
    )
    parser.add_argument(
        "--context", choices=CONTEXTS, default="none",
        help="index each turn with its neighbours' text appended (same session)",
    )  # fmt: skip
    parser.add_argument("--conversations", type=int, default=None, help="only the first N")
    parser.add_argument(
        "--sparse-backend", choices=["bm25", "tantivy"], default="bm25",
        help="BM25 engine (index.sparse_backend): ours or tantivy",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "locomo_baselines.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    conversations = load_locomo(args.data, errata=args.errata)[: args.conversations]
    started = time.perf_counter()
    results = run(
        conversations,
        methods=args.methods,
        ks=args.ks,
        budgets=args.budgets,
        captions=args.captions,
        context=args.context,
        dated=args.dated,
        sparse_backend=args.sparse_backend,
    )
    took = time.perf_counter() - started
    print_table(results, args.ks)
    payload = {
        "data": str(args.data),
        "errata": None if args.errata is None else str(args.errata),
        "captions": args.captions,
        "dated": args.dated,
        "context": args.context,
        "conversations": len(conversations),
        "sparse_backend": args.sparse_backend,
        "seconds": round(took, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"written to {args.out} in {took:.0f}s")


if __name__ == "__main__":
    main()
