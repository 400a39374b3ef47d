"""Index keys: one int64 per memory, the kind in the top bits and the database id below.

Memories of every kind share one index per namespace, so their keys must not collide; the
database's surrogate keys are kept as they are (no lookup table, stable across rebuilds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from memsvc.types import MemoryKind, MemoryRef

__all__ = ["KIND_SHIFT", "decode_key", "encode_key", "kind_codes_of"]

KIND_SHIFT = 56
_ROW_MASK = (1 << KIND_SHIFT) - 1
_KINDS_BY_CODE = {k.code: k for k in MemoryKind}


def encode_key(ref: MemoryRef) -> int:
    """The index key of a memory."""
    if not 0 < ref.id <= _ROW_MASK:
        raise ValueError("row id out of range for an index key")
    return (ref.kind.code << KIND_SHIFT) | ref.id


def decode_key(key: int) -> MemoryRef:
    """The memory named by an index key."""
    key = int(key)
    return MemoryRef(_KINDS_BY_CODE[key >> KIND_SHIFT], key & _ROW_MASK)


def kind_codes_of(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Vectorised kind codes of many keys."""
    return np.right_shift(keys, KIND_SHIFT)
