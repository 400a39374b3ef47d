"""Checks and small kernels shared by the dense indexes: input validation and exact top-k."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.errors import InvalidInput, InvalidQuery
from memsvc.index.base import IndexTags

__all__ = ["check_batch", "check_query", "exact_top_k", "top_k_order"]


def check_batch(
    keys: npt.ArrayLike, vectors: npt.ArrayLike, tags: Sequence[IndexTags], *, dim: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Validate an ``add`` batch.

    Returns:
        C-contiguous ``keys`` (int64, shape ``(n,)``) and ``vectors`` (float32, ``(n, dim)``).

    Raises:
        InvalidInput: shapes disagree, the dimension is wrong, or a value is not finite.
    """
    key_array = np.ascontiguousarray(keys, dtype=np.int64).reshape(-1)
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1 and matrix.size == 0:
        matrix = matrix.reshape(0, dim)
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise InvalidInput(
            "vectors must have shape (n, dim)",
            detail={"dim": dim, "shape": list(matrix.shape)},
        )
    if not len(key_array) == len(matrix) == len(tags):
        raise InvalidInput("keys, vectors and tags differ in length")
    if not np.isfinite(matrix).all():
        raise InvalidInput("vectors contain NaN or infinite values")
    if len(key_array) and key_array.min() <= 0:
        raise InvalidInput("index keys must be positive")
    return key_array, matrix


def check_query(query: npt.ArrayLike, *, dim: int) -> npt.NDArray[np.float32]:
    """Validate a query vector; returns it as float32 of shape ``(1, dim)``.

    Raises:
        InvalidQuery: wrong dimension or non-finite values.
    """
    vector = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    if vector.shape[1] != dim:
        raise InvalidQuery(
            "query vector has the wrong dimension", detail={"dim": dim, "got": vector.shape[1]}
        )
    if not np.isfinite(vector).all():
        raise InvalidQuery("query vector contains NaN or infinite values")
    return vector


def top_k_order(scores: npt.NDArray[np.floating[Any]], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest scores, best first; ties go to the lower index."""
    n = len(scores)
    if k >= n:
        picked = np.arange(n, dtype=np.intp)
    else:
        picked = np.argpartition(-scores, k - 1)[:k].astype(np.intp)
    order = np.lexsort((picked, -scores[picked]))
    return picked[order]


def exact_top_k(
    matrix: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    k: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Brute-force inner-product top-k over the rows of ``matrix`` ``(n, dim)``.

    Returns:
        ``(rows, scores)``, best first.
    """
    if len(matrix) == 0 or k <= 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32)
    scores = (matrix @ query.reshape(-1)).astype(np.float32, copy=False)
    rows = top_k_order(scores, k)
    return rows, scores[rows]
