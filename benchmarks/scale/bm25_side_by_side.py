"""Our BM25 beside tantivy's, both behind the service's SparseIndex contract (issue 15).

Same documents (the scale corpus: synthetic chat turns with LoCoMo mixed in), same tokenizer,
same tags (9 in 10 documents belong to the benchmark user, the rest to another, so the user
filter really filters), one subprocess per engine for a clean RSS, run back to back:

* bulk indexing in chunks of 50,000 (docs/s), RSS growth per document;
* single-document upserts after that (the service's write path commits each write's changes);
* search p50/p95 of 200 LoCoMo questions filtered by the user, and how far the two engines'
  top 10 agree;
* save (snapshot) and load time, snapshot size on disk.

    python -m benchmarks.scale.bm25_side_by_side --n 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
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
UPSERTS = 200


def engine_run(backend: str, n: int) -> dict[str, Any]:
    """Index, update, search, save and load with one engine; returns its figures."""
    import numpy as np

    from memsvc.config import IndexSettings
    from memsvc.index.base import IndexFilter, IndexTags
    from memsvc.index.registry import load_sparse_index, make_sparse_index
    from memsvc.types import Scope

    cfg = IndexSettings.model_validate({"sparse_backend": backend})
    qs = questions(200)
    mine, other = IndexTags(USER, None, None), IndexTags("other-user", None, None)
    gc.collect()
    rss0 = rss_bytes()
    index = make_sparse_index(cfg)
    add_s = 0.0
    for start in range(0, n, CHUNK):
        batch = texts(min(CHUNK, n - start), seed=start, offset=start)
        keys = np.arange(start + 1, start + len(batch) + 1, dtype=np.int64)
        tags = [other if (start + i) % 10 == 9 else mine for i in range(len(batch))]
        t0 = time.perf_counter()
        index.add(keys, batch, tags)
        add_s += time.perf_counter() - t0
    gc.collect()
    rss1 = rss_bytes()
    extra = texts(UPSERTS, seed=n, offset=n)
    upsert_ms = []
    for i, text in enumerate(extra):
        t0 = time.perf_counter()
        index.add(np.asarray([n + i + 1], dtype=np.int64), [text], [mine])
        upsert_ms.append((time.perf_counter() - t0) * 1000)
    where = IndexFilter(scope=Scope(user_id=USER))
    search_ms, tops = [], []
    for q in qs:
        t0 = time.perf_counter()
        hits = index.search(q, 10, where=where)
        search_ms.append((time.perf_counter() - t0) * 1000)
        tops.append([k for k, _ in hits])
    folder = Path(tempfile.mkdtemp(prefix="bm25-bench-"))
    try:
        t0 = time.perf_counter()
        index.save(folder / "sparse")
        save_s = time.perf_counter() - t0
        disk = sum(p.stat().st_size for p in (folder / "sparse").rglob("*") if p.is_file())
        t0 = time.perf_counter()
        loaded = load_sparse_index(folder / "sparse", cfg)
        load_s = time.perf_counter() - t0
        assert len(loaded) == len(index)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "backend": backend,
        "documents": len(index),
        "index_s": round(add_s, 1),
        "docs_per_s": round(n / add_s, 0),
        "rss_mb": {"before": round(rss0 / 2**20, 1), "after": round(rss1 / 2**20, 1)},
        "rss_bytes_per_doc": round((rss1 - rss0) / n, 1),
        "single_doc_upsert": percentiles(upsert_ms),
        "search_filtered_by_user": percentiles(search_ms),
        "save_s": round(save_s, 2),
        "load_s": round(load_s, 2),
        "snapshot_disk_bytes_per_doc": round(disk / n, 1),
        "tops": tops,
    }


def overlap(a: list[list[int]], b: list[list[int]]) -> float:
    """Mean share of one engine's top 10 that the other also returns."""
    shares = [len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a, b, strict=True) if x]
    return round(sum(shares) / max(len(shares), 1), 4)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--engine", choices=["bm25", "tantivy", "both"], default="both")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.engine != "both":
        print("RESULT " + json.dumps(engine_run(args.engine, args.n)), flush=True)
        return
    out = args.out or RESULTS / f"scale_bm25_side_by_side_{args.n}.json"
    payload: dict[str, Any] = {
        "command": "python -m benchmarks.scale.bm25_side_by_side " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
    }
    for engine in ("bm25", "tantivy"):
        command = [sys.executable, "-m", "benchmarks.scale.bm25_side_by_side",
                   "--n", str(args.n), "--engine", engine]  # fmt: skip
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
        payload[engine] = json.loads(line[len("RESULT ") :])
        print(engine, {k: v for k, v in payload[engine].items() if k != "tops"}, flush=True)
    tops = payload["bm25"].pop("tops"), payload["tantivy"].pop("tops")
    payload["top10_agreement"] = overlap(*tops)
    payload["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    out.write_text(json.dumps(payload, indent=2))
    print("top-10 agreement", payload["top10_agreement"], "written to", out)


if __name__ == "__main__":
    main()
