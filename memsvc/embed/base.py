"""The Embedder port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "Vectors"]

#: A batch of vectors, shape ``(n, dim)``, float32, each row L2-normalised.
Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors; cosine similarity is then a dot product."""

    @property
    def model_id(self) -> str:
        """Identifies the model and its settings; part of every embedding-cache key."""
        ...

    @property
    def dim(self) -> int:
        """Vector size."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` (batched internally); returns shape ``(len(texts), dim)``.

        Raises:
            EmbeddingFailed: the model could not be loaded or failed.
        """
        ...
