"""A deterministic embedder with no model: signed feature hashing of words and character n-grams.

It is fast and stable across processes and machines, which makes it the embedder of unit tests
and of examples that must run anywhere. Similar wording gives similar vectors; meaning does not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from memsvc.embed.base import Vectors

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


class HashingEmbedder:
    """Hash words (weight 1) and character trigrams (weight 0.5) into ``dim`` signed buckets."""

    def __init__(self, dim: int = 384) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self._dim = dim

    @property
    def model_id(self) -> str:
        """Stable identifier including the size."""
        return f"hashing-v1-{self._dim}"

    @property
    def dim(self) -> int:
        """Vector size."""
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed each text; an empty text gives a fixed unit vector."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            norm = unicodedata.normalize("NFKC", text).lower()
            for word in _WORD.findall(norm):
                col, sign = _bucket("w:" + word, self._dim)
                out[row, col] += sign
                padded = f"#{word}#"
                for i in range(len(padded) - 2):
                    col, sign = _bucket("c:" + padded[i : i + 3], self._dim)
                    out[row, col] += 0.5 * sign
            length = float(np.linalg.norm(out[row]))
            if length == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= length
        return out
