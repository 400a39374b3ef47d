"""How fast the packaged embedding model encodes chat turns, by batch size (issue 2).

The model bounds the write path: an ``add`` is embedded before it returns. This measures the
model alone (``SentenceTransformer.encode``, no cache, no store) on LoCoMo turns, two ways:

- ``chunks``: the turns in chunks of 100, as the foundation benchmark's ``add`` calls give them,
  each chunk encoded with the batch size under test;
- ``sorted``: all the turns in one call (sentence-transformers sorts them by length first, so
  batches pad least): the model's best case.

    python benchmarks/embed_bench.py --turns 2000 --batch-sizes 8 16 32 64 128
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from common import corpus, machine, write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CHUNK = 100


def bench(turns: list[str], batch_sizes: list[int]) -> dict[str, Any]:
    """Turns per second for each batch size, in add-sized chunks and in one sorted call."""
    from memsvc.config import EmbedSettings
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(EmbedSettings())
    embedder.embed(["warm", "up"])
    model: Any = embedder._model  # the model alone: no cache, no normalisation copy

    def rate(texts: list[str], batch_size: int, chunk: int) -> float:
        started = time.perf_counter()
        for i in range(0, len(texts), chunk):
            model.encode(
                texts[i : i + chunk],
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return round(len(texts) / (time.perf_counter() - started), 1)

    return {
        str(size): {
            "chunks_of_100_per_s": rate(turns, size, CHUNK),
            "sorted_per_s": rate(turns, size, len(turns)),
        }
        for size in batch_sizes
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--out", default="embed_bench.json", help="results file name")
    args = parser.parse_args()
    turns = list(corpus(args.turns))
    words = sum(len(t.split()) for t in turns) / len(turns)
    result = {
        "machine": machine(),
        "turns": len(turns),
        "mean_words": round(words, 1),
        "batch_sizes": bench(turns, args.batch_sizes),
    }
    path = write_json(args.out, result)
    print(f"{'batch':>6} {'chunks of 100/s':>16} {'sorted/s':>9}")
    for size, row in result["batch_sizes"].items():
        print(f"{size:>6} {row['chunks_of_100_per_s']:>16} {row['sorted_per_s']:>9}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
