"""float16 beside sq8 HNSW vector storage (issue 15), in one process on the same vectors.

Embeds the scale corpus once with the static model, computes the exact top-10 of 200 questions
from the float32 vectors, then for each storage feeds a background-building ``FaissIndex`` in
chunks (flat until ``approximate_after``, HNSW swapped in) and measures the bytes the graph
holds per memory (vector codes, links; exact array sizes, and the RSS change), the build time,
and recall@10 against exact with search p50/p95 at each efSearch.

    python -m benchmarks.scale.hnsw_storage --n 300000 --models-dir /tmp/scale2-models
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.scale.run import USER, questions, rss_bytes, texts

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, machine, percentiles

CHUNK = 50_000


def main() -> None:
    """Command line entry point."""
    import faiss
    import numpy as np

    from memsvc.config import EmbedSettings, IndexSettings
    from memsvc.index.base import IndexFilter, IndexTags
    from memsvc.index.faiss import FaissIndex
    from memsvc.types import Scope
    from memsvc.wiring import make_embedder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    parser.add_argument("--approximate-after", type=int, default=200_000)
    parser.add_argument("--storages", nargs="+", default=["float16", "sq8"])
    parser.add_argument("--ef", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or RESULTS / f"scale_hnsw_storage_{args.n}.json"

    embedder = make_embedder(
        EmbedSettings(backend="static", models_dir=args.models_dir)  # type: ignore[arg-type]
    )
    qs = questions(200)
    query_vectors = embedder.embed(qs)
    matrix = np.empty((args.n, embedder.dim), dtype=np.float32)
    t0 = time.perf_counter()
    for start in range(0, args.n, CHUNK):
        size = min(CHUNK, args.n - start)
        matrix[start : start + size] = embedder.embed(texts(size, seed=start, offset=start))
    embed_s = time.perf_counter() - t0
    truths = [set((np.argpartition(-(matrix @ q), 10)[:10] + 1).tolist()) for q in query_vectors]
    payload: dict[str, Any] = {
        "command": "python -m benchmarks.scale.hnsw_storage " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "memories": args.n,
        "embedder": embedder.model_id,
        "dim": embedder.dim,
        "embed_s": round(embed_s, 1),
        "truth": "exact inner-product top-10 over the float32 vectors",
    }
    tag = IndexTags(user_id=USER, agent_id=None, session_id=None)
    where = IndexFilter(scope=Scope(user_id=USER))
    for storage_name in args.storages:
        gc.collect()
        rss0 = rss_bytes()
        cfg = IndexSettings().model_copy(
            update={"approximate_after": args.approximate_after, "hnsw_storage": storage_name}
        )
        dense = FaissIndex(cfg, embedder.dim, is_background_build=True)
        t0 = time.perf_counter()
        for start in range(0, args.n, CHUNK):
            keys = np.arange(start + 1, min(start + CHUNK, args.n) + 1, dtype=np.int64)
            dense.add(keys, matrix[start : start + len(keys)], [tag] * len(keys))
        dense.wait_for_build()
        wall_s = time.perf_counter() - t0
        gc.collect()
        rss1 = rss_bytes()
        index = dense._index
        codes = faiss.downcast_index(index.storage)
        hnsw = index.hnsw
        bytes_ = {
            "vectors": int(codes.ntotal) * int(codes.code_size),
            "links": int(hnsw.neighbors.size()) * 4 + int(hnsw.offsets.size()) * 8,
            "levels": int(hnsw.levels.size()) * 4,
        }
        probes = {}
        for ef in args.ef:
            dense._cfg = cfg.model_copy(update={"hnsw_ef_search": ef})
            latencies, found = [], 0
            for q, truth in zip(query_vectors, truths, strict=True):
                t1 = time.perf_counter()
                hits = dense.search(q, 10, where=where)
                latencies.append((time.perf_counter() - t1) * 1000)
                found += len(truth & {k for k, _ in hits})
            probes[str(ef)] = {
                "recall_at_10_vs_exact": round(found / (10 * len(qs)), 4),
                "search_filtered_by_user": percentiles(latencies),
            }
        payload[storage_name] = {
            "dense": dense.stats(),
            "bytes_per_memory": {k: round(v / args.n, 1) for k, v in bytes_.items()},
            "graph_bytes_per_memory": round(sum(bytes_.values()) / args.n, 1),
            "rss_change_bytes_per_memory": round((rss1 - rss0) / args.n, 1),
            "add_to_swapped_s": round(wall_s, 1),
            "ef": probes,
            "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        }
        print(storage_name, json.dumps(payload[storage_name]), flush=True)
        out.write_text(json.dumps(payload, indent=2))
        del dense, index, codes, hnsw
    print("wrote", out)


if __name__ == "__main__":
    main()
