"""The indexes alone at 1M memories (issue 15): RAM per memory, HNSW build and swap, recall@10,
search latency, and our BM25 beside tantivy on the same documents.

The service's own benchmark (``benchmarks.scale.run``) goes through SQL and the full read path;
on two shared cores its 1M step does not finish in a session, so this measures what the 1M
targets are about, in one process per engine: the dense index (FAISS, flat until
``approximate_after``, then the float16 HNSW graph built in the background and swapped in),
the BM25 index and their tag tables, fed with the same synthetic + LoCoMo turns embedded by the
static model in chunks (no whole corpus is ever held in Python).

    python -m benchmarks.scale.index_1m --n 1000000 --models-dir /tmp/models
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scale.run import USER, questions, rss_bytes, texts

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, machine, percentiles

CHUNK = 50_000


def chunks(n: int) -> Any:
    """(start, texts) chunks of the corpus, generated one at a time."""
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        yield start, texts(size, seed=start, offset=start)


def ours(args: argparse.Namespace) -> dict[str, Any]:
    """FAISS + BM25 + tag tables, as the service holds them."""
    import numpy as np

    from memsvc.config import EmbedSettings, IndexSettings
    from memsvc.index.base import IndexFilter, IndexTags
    from memsvc.index.faiss import FaissIndex
    from memsvc.index.registry import make_sparse_index
    from memsvc.types import Scope
    from memsvc.wiring import make_embedder

    embedder = make_embedder(
        EmbedSettings(backend="static", models_dir=args.models_dir)  # type: ignore[arg-type]
    )
    embedder.embed(["warm up"])
    qs = questions(200)
    query_vectors = embedder.embed(qs)
    gc.collect()
    rss0 = rss_bytes()
    cfg = IndexSettings().model_copy(update={"approximate_after": args.approximate_after})
    dense = FaissIndex.from_settings(cfg, embedder.dim)
    sparse = make_sparse_index(cfg.model_copy(update={"sparse_backend": args.sparse_backend}))
    tag = IndexTags(user_id=USER, agent_id=None, session_id=None)
    timings = {"embed_s": 0.0, "dense_add_s": 0.0, "bm25_add_s": 0.0}
    for start, batch in chunks(args.n):
        keys = np.arange(start + 1, start + len(batch) + 1, dtype=np.int64)
        tags = [tag] * len(batch)
        t0 = time.perf_counter()
        vectors = embedder.embed(batch)
        t1 = time.perf_counter()
        dense.add(keys, vectors, tags)
        t2 = time.perf_counter()
        sparse.add(keys, batch, tags)
        t3 = time.perf_counter()
        timings["embed_s"] += t1 - t0
        timings["dense_add_s"] += t2 - t1
        timings["bm25_add_s"] += t3 - t2
        print(f"{start + len(batch)} indexed, building={dense.is_building}", flush=True)
    t0 = time.perf_counter()
    dense.wait_for_build()
    waited = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_bytes()
    where = IndexFilter(scope=Scope(user_id=USER))
    dense_ms, sparse_ms, found = [], [], 0
    vectors_view = dense._vectors()
    live = dense._tags.live_positions()
    keys_all = dense._tags.keys_at(live)
    truths = []
    for q, text in zip(query_vectors, qs, strict=True):
        t0 = time.perf_counter()
        hits = dense.search(q, 10, where=where)
        dense_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        sparse.search(text, 10, where=where)
        sparse_ms.append((time.perf_counter() - t0) * 1000)
        scores = np.empty(len(live), dtype=np.float32)
        for s in range(0, len(live), 200_000):
            scores[s : s + 200_000] = vectors_view[live[s : s + 200_000]].astype(np.float32) @ q
        truth = set(keys_all[np.argpartition(-scores, 10)[:10]].tolist())
        truths.append(truth)
        found += len(truth & {k for k, _ in hits})
    del vectors_view
    ef_probe = {}
    for ef in args.ef_probe:  # recall and latency at other efSearch values, same queries
        dense._cfg = dense._cfg.model_copy(update={"hnsw_ef_search": ef})
        probe_ms, probe_found = [], 0
        for q, truth in zip(query_vectors, truths, strict=True):
            t0 = time.perf_counter()
            hits = dense.search(q, 10, where=where)
            probe_ms.append((time.perf_counter() - t0) * 1000)
            probe_found += len(truth & {k for k, _ in hits})
        ef_probe[str(ef)] = {
            "recall_at_10_vs_exact": round(probe_found / (10 * len(qs)), 4),
            "search": percentiles(probe_ms),
        }
    n = args.n
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {
        "loadavg_at_end": load,
        "sparse_backend": args.sparse_backend,
        "bm25_terms": len(getattr(sparse, "_term_ids", ())),
        "components_bytes_per_memory": {
            name: round(size / n, 1) for name, size in components(dense, sparse).items()
        },
        "memories": n,
        "embedder": embedder.model_id,
        "dim": embedder.dim,
        "rss_mb": {"before": round(rss0 / 2**20, 1), "after": round(rss1 / 2**20, 1)},
        "bytes_per_memory": round((rss1 - rss0) / n, 1),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "embed_texts_per_s": round(n / timings["embed_s"], 0),
        "bm25_docs_per_s": round(n / timings["bm25_add_s"], 0),
        "wait_for_build_after_last_add_s": round(waited, 1),
        "dense": dense.stats(),
        "sparse": sparse.stats(),
        "dense_search_filtered_by_user": percentiles(dense_ms),
        "bm25_search_filtered_by_user": percentiles(sparse_ms),
        "recall_at_10_vs_exact": round(found / (10 * len(qs)), 4),
        "ef_search": cfg.hnsw_ef_search,
        "ef_probe": ef_probe,
    }


def _nbytes(*arrays: Any) -> int:
    return sum(int(a.nbytes) for a in arrays)


def components(dense: Any, sparse: Any) -> dict[str, int]:
    """What the big arrays hold (capacity, not only the used part); Python objects (dicts,
    per-term arrays' headers) are in the RSS figure only."""
    import faiss

    tags = dense._tags
    out = {"dense_tag_columns": _nbytes(*tags._columns().values())}
    index = dense._index
    if dense._is_hnsw:
        hnsw = index.hnsw
        out["hnsw_links"] = int(hnsw.neighbors.size()) * 4 + int(hnsw.offsets.size()) * 8
        out["hnsw_levels"] = int(hnsw.levels.size()) * 4
        storage = faiss.downcast_index(index.storage)
        out["hnsw_vectors"] = int(storage.ntotal) * int(storage.code_size)
    else:
        out["flat_vectors"] = int(index.ntotal) * dense.dim * 4
    out["sparse_tag_columns"] = _nbytes(*sparse._tags._columns().values())
    if hasattr(sparse, "_arena_pos"):
        out["bm25_postings"] = _nbytes(sparse._arena_pos, sparse._arena_tf)
        out["bm25_per_term"] = _nbytes(
            sparse._post_start, sparse._post_cap, sparse._post_len, sparse._df
        )
        out["bm25_forward_and_docs"] = _nbytes(
            sparse._fwd, sparse._doc_len, sparse._doc_start, sparse._doc_terms
        )
    return out


def tantivy_side(args: argparse.Namespace) -> dict[str, Any]:
    """tantivy (Rust, on PyPI) on the same documents: index, query, RAM, disk."""
    import tantivy

    qs = questions(200)
    gc.collect()
    rss0 = rss_bytes()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False)
    builder.add_text_field("user", stored=False, tokenizer_name="raw")
    builder.add_unsigned_field("key", stored=True, indexed=True, fast=True)
    schema = builder.build()
    with tempfile.TemporaryDirectory() as folder:
        index = tantivy.Index(schema, path=folder)
        writer = index.writer(heap_size=128_000_000, num_threads=1)
        t0 = time.perf_counter()
        for start, batch in chunks(args.n):
            for i, text in enumerate(batch):
                doc = tantivy.Document(text=text, user=USER)
                doc.add_unsigned("key", start + i + 1)
                writer.add_document(doc)
            print(f"tantivy {start + len(batch)}", flush=True)
        writer.commit()
        writer.wait_merging_threads()
        index_s = time.perf_counter() - t0
        index.reload()
        searcher = index.searcher()
        user_query = tantivy.Query.term_query(schema, "user", USER)
        latencies, returned = [], 0
        for question in qs:
            words = " ".join(re.findall(r"\w+", question.lower()))
            t0 = time.perf_counter()
            parsed = index.parse_query(words, ["text"])
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, parsed), (tantivy.Occur.Must, user_query)]
            )
            hits = searcher.search(query, 10).hits
            returned += len([searcher.doc(address)["key"] for _, address in hits])
            latencies.append((time.perf_counter() - t0) * 1000)
        gc.collect()
        rss1 = rss_bytes()
        disk = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return {
        "memories": args.n,
        "index_s": round(index_s, 1),
        "docs_per_s": round(args.n / index_s, 0),
        "search_filtered_by_user": percentiles(latencies),
        "hits_per_query": round(returned / len(qs), 2),
        "rss_mb": {"before": round(rss0 / 2**20, 1), "after": round(rss1 / 2**20, 1)},
        "bytes_per_memory_rss": round((rss1 - rss0) / args.n, 1),
        "disk_bytes_per_memory": round(disk / args.n, 1),
        "writer": "1 thread, 128 MB heap; query = the question's words OR-ed, AND user term",
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    parser.add_argument("--approximate-after", type=int, default=200_000)
    parser.add_argument("--engine", choices=["ours", "tantivy", "both"], default="both")
    parser.add_argument(
        "--ef-probe", type=int, nargs="*", default=[],
        help="also measure recall@10 and latency at these efSearch values",
    )  # fmt: skip
    parser.add_argument(
        "--sparse-backend", choices=["bm25", "tantivy"], default="bm25",
        help="the service's BM25 backend used by --engine ours",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "scale_index_1m.json")
    args = parser.parse_args()
    if args.engine != "both":
        result = ours(args) if args.engine == "ours" else tantivy_side(args)
        print("RESULT " + json.dumps(result, default=str), flush=True)
        return
    payload: dict[str, Any] = {
        "command": "python -m benchmarks.scale.index_1m " + " ".join(sys.argv[1:]),
        "machine": machine(),
    }
    for engine in ("tantivy", "ours"):  # each in its own process: clean RSS
        command = [sys.executable, "-m", "benchmarks.scale.index_1m", *sys.argv[1:],
                   "--engine", engine]  # fmt: skip
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
        payload[engine] = json.loads(line[len("RESULT ") :])
        args.out.write_text(json.dumps(payload, indent=2))
        print(engine, json.dumps(payload[engine])[:1500], flush=True)


if __name__ == "__main__":
    main()
