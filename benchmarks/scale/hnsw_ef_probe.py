"""recall@10 of the float16 HNSW graph by M, efConstruction and efSearch (issue 15).

Static-model (minilm-static, 256-d) vectors of the scale corpus, 200 LoCoMo questions, exact
top-10 by brute force:

    python -m benchmarks.scale.hnsw_ef_probe --n 60000 --models-dir /tmp/models
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.scale.run import questions, texts
from memsvc.config import EmbedSettings
from memsvc.wiring import make_embedder


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    args = parser.parse_args()
    embedder = make_embedder(EmbedSettings(backend="static", models_dir=args.models_dir))
    corpus = np.concatenate(
        [embedder.embed(texts(20_000, seed=s, offset=s)) for s in range(0, args.n, 20_000)]
    )
    queries = embedder.embed(questions(200))
    truth = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    for m, ef_construction in [(32, 64), (32, 128), (16, 64)]:
        index = faiss.IndexHNSWSQ(
            corpus.shape[1], faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT
        )
        index.hnsw.efConstruction = ef_construction
        started = time.perf_counter()
        index.add(corpus)
        build_s = time.perf_counter() - started
        for ef in (128, 256, 512):
            index.hnsw.efSearch = ef
            started = time.perf_counter()
            _, ids = index.search(queries, 10)
            ms = (time.perf_counter() - started) / len(queries) * 1000
            recall = np.mean([len(set(ids[i]) & set(truth[i])) / 10 for i in range(len(ids))])
            print(
                f"M={m} efC={ef_construction} build={build_s:.1f}s ef={ef} "
                f"recall={recall:.3f} {ms:.2f}ms/q",
                flush=True,
            )


if __name__ == "__main__":
    main()
