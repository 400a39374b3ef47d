"""Per-memory filter attributes held in NumPy columns, addressed by position.

Every index keeps a :class:`TagTable` next to its vectors or postings. A memory occupies one
*position* (a slot); positions are append-only: re-adding a key gives it a new position and
leaves a tombstone at the old one, so that structures which cannot change in place (HNSW graphs,
BM25 postings) stay valid. :meth:`TagTable.compact` drops the tombstones and tells the owner how
positions moved.

A filter is evaluated as a boolean mask over positions with a handful of vectorised comparisons,
so a filtered search can know exactly which memories pass before it touches the index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.ids import kind_codes_of

__all__ = ["TagTable", "last_occurrences"]

_NO_CODE = -1
_ARRAYS_FILE = "tags.npz"
_STRINGS_FILE = "tags.json"
_MIN_CAPACITY = 64


def last_occurrences(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Indices of the last occurrence of each distinct key, in input order.

    A batch that names a key twice means the later entry (an upsert applied in order).
    """
    reversed_keys = keys[::-1]
    _, first_in_reversed = np.unique(reversed_keys, return_index=True)
    return np.sort(len(keys) - 1 - first_in_reversed)


class _Interner:
    """Scope strings as small integer codes (never shrinks: scope values are few)."""

    def __init__(self, strings: Sequence[str] = ()) -> None:
        self.strings: list[str] = list(strings)
        self._codes = {s: i for i, s in enumerate(self.strings)}
        if len(self._codes) != len(self.strings):
            raise IndexOutOfSync("duplicate strings in a stored tag table")

    def intern(self, value: str | None) -> int:
        if value is None:
            return _NO_CODE
        code = self._codes.get(value)
        if code is None:
            code = len(self.strings)
            self.strings.append(value)
            self._codes[value] = code
        return code

    def lookup(self, value: str) -> int | None:
        return self._codes.get(value)

    def value(self, code: int) -> str | None:
        return None if code == _NO_CODE else self.strings[code]


class _KeyMap:
    """Key -> position for the live memories, in NumPy: two sorted int64 columns plus a small
    dict of recent changes, merged in once it passes 1/16 of the sorted part.

    A ``dict[int, int]`` cost ~110 bytes per memory (two int objects and a slot), once per
    index; this costs 16 (issue 15's memory target at 1M). Lookups of many keys are one
    ``searchsorted``.
    """

    _MERGE_MIN = 1_024

    def __init__(self) -> None:
        self._keys = np.zeros(0, dtype=np.int64)
        self._pos = np.zeros(0, dtype=np.int64)  # -1: removed since the last merge
        self._recent: dict[int, int] = {}  # -1: removed
        self._live = 0

    @classmethod
    def build(cls, keys: npt.NDArray[np.int64], positions: npt.NDArray[np.intp]) -> _KeyMap:
        """A map of distinct ``keys`` at ``positions``."""
        out = cls()
        order = np.argsort(keys, kind="stable")
        out._keys = np.ascontiguousarray(keys[order], dtype=np.int64)
        out._pos = np.ascontiguousarray(positions[order], dtype=np.int64)
        if len(out._keys) > 1 and bool(np.any(out._keys[1:] == out._keys[:-1])):
            raise IndexOutOfSync("stored tag table holds a key twice")
        out._live = len(out._keys)
        return out

    def __len__(self) -> int:
        return self._live

    def _sorted_lookup(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if len(self._keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[at] == keys, self._pos[at], -1)

    def lookup(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The position of each key, -1 where it is not held."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        found = self._sorted_lookup(keys)
        recent = self._recent
        if not recent:
            return found
        if len(keys) <= 64:
            for i, key in enumerate(keys.tolist()):
                if key in recent:
                    found[i] = recent[key]
            return found
        recent_keys = np.fromiter(recent, dtype=np.int64, count=len(recent))
        recent_pos = np.fromiter(recent.values(), dtype=np.int64, count=len(recent))
        order = np.argsort(recent_keys)
        recent_keys, recent_pos = recent_keys[order], recent_pos[order]
        at = np.minimum(np.searchsorted(recent_keys, keys), len(recent_keys) - 1)
        hit = recent_keys[at] == keys
        found[hit] = recent_pos[at[hit]]
        return found

    def get(self, key: int) -> int | None:
        """The position of one key, ``None`` when not held."""
        position = self._recent.get(key)
        if position is None:
            position = int(self._sorted_lookup(np.asarray([key], dtype=np.int64))[0])
        return None if position < 0 else position

    def set_many(self, keys: Sequence[int], positions: Sequence[int]) -> None:
        """Map keys that are not held (removed first) to new positions."""
        self._recent.update(zip(keys, positions, strict=True))
        self._live += len(keys)
        self._maybe_merge()

    def pop_many(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Forget held keys; returns their positions (unknown keys are skipped)."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]  # distinct, in input order
        found = self.lookup(keys)
        held = found >= 0
        for key in keys[held].tolist():
            self._recent[key] = -1
        self._live -= int(np.count_nonzero(held))
        self._maybe_merge()
        return found[held].astype(np.intp)

    def _maybe_merge(self) -> None:
        if len(self._recent) > max(self._MERGE_MIN, len(self._keys) // 16):
            self.merge()

    def merge(self) -> None:
        """Fold the recent changes into the sorted columns."""
        if not self._recent:
            return
        changed = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        values = np.fromiter(self._recent.values(), dtype=np.int64, count=len(self._recent))
        keep = ~np.isin(self._keys, changed)
        keys = np.concatenate([self._keys[keep & (self._pos >= 0)], changed[values >= 0]])
        pos = np.concatenate([self._pos[keep & (self._pos >= 0)], values[values >= 0]])
        order = np.argsort(keys, kind="stable")
        self._keys, self._pos = keys[order], pos[order]
        self._recent = {}


class TagTable:
    """Keys and filter tags by position, with tombstones and compaction.

    Not thread-safe: the owning index serialises writes against reads.
    """

    def __init__(self) -> None:
        self._strings = _Interner()
        self._positions = _KeyMap()
        self._size = 0
        self._alloc(_MIN_CAPACITY)

    def _alloc(self, capacity: int) -> None:
        self._key = np.zeros(capacity, dtype=np.int64)
        self._kind = np.zeros(capacity, dtype=np.int8)
        self._user = np.full(capacity, _NO_CODE, dtype=np.int32)
        self._agent = np.full(capacity, _NO_CODE, dtype=np.int32)
        self._session = np.full(capacity, _NO_CODE, dtype=np.int32)
        self._current = np.zeros(capacity, dtype=np.bool_)
        self._occurred = np.zeros(capacity, dtype=np.float64)
        self._alive = np.zeros(capacity, dtype=np.bool_)

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "key": self._key,
            "kind": self._kind,
            "user": self._user,
            "agent": self._agent,
            "session": self._session,
            "current": self._current,
            "occurred": self._occurred,
            "alive": self._alive,
        }

    def _grow(self, needed: int) -> None:
        capacity = len(self._key)
        if needed <= capacity:
            return
        new_capacity = max(needed, 2 * capacity)
        old = self._columns()
        self._alloc(new_capacity)
        for name, column in self._columns().items():
            column[: self._size] = old[name][: self._size]

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Live memories (tombstones excluded)."""
        return len(self._positions)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and self._positions.get(int(key)) is not None

    @property
    def slots(self) -> int:
        """Positions allocated so far, tombstones included."""
        return self._size

    @property
    def tombstones(self) -> int:
        """Positions that no longer hold a live memory."""
        return self._size - len(self._positions)

    def holds(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each of ``keys`` is held (one vectorised lookup)."""
        return self._positions.lookup(np.asarray(keys, dtype=np.int64)) >= 0

    def keys(self) -> npt.NDArray[np.int64]:
        """Live keys, in position order."""
        return self._key[: self._size][self._alive[: self._size]].copy()

    def keys_at(self, positions: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        """The keys stored at ``positions`` (live or tombstoned)."""
        return self._key[positions]

    def live_positions(self) -> npt.NDArray[np.intp]:
        """Positions holding a live memory, ascending."""
        return np.flatnonzero(self._alive[: self._size])

    def positions_of(self, keys: Iterable[int]) -> npt.NDArray[np.intp]:
        """Positions of the held keys among ``keys`` (unknown keys are skipped)."""
        found = self._positions.lookup(np.fromiter(map(int, keys), dtype=np.int64))
        return found[found >= 0].astype(np.intp)

    def tags_at(self, position: int) -> IndexTags:
        """The tags stored at one position."""
        return IndexTags(
            user_id=self._strings.value(int(self._user[position])),
            agent_id=self._strings.value(int(self._agent[position])),
            session_id=self._strings.value(int(self._session[position])),
            is_current=bool(self._current[position]),
            occurred_at=float(self._occurred[position]),
        )

    # -- writing -------------------------------------------------------------------------------

    def upsert(
        self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Give each key a new position; tombstone the positions of keys already held.

        ``keys`` must be distinct (see :func:`last_occurrences`).

        Returns:
            ``(new_positions, replaced_positions)``: the new positions in input order, and the
            old positions that became tombstones.
        """
        if len(keys) != len(tags):
            raise ValueError("keys and tags differ in length")
        replaced = self.remove(keys)
        start = self._size
        self._grow(start + len(keys))
        new = np.arange(start, start + len(keys), dtype=np.intp)
        self._key[new] = keys
        self._kind[new] = kind_codes_of(np.asarray(keys, dtype=np.int64))
        self._alive[new] = True
        self._size = start + len(keys)
        self._write_tags(new, tags)
        self._positions.set_many(keys.tolist(), new.tolist())
        return new, replaced

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> int:
        """Replace the tags of held keys in place; unknown keys are ignored. Returns how many."""
        if len(keys) != len(tags):
            raise ValueError("keys and tags differ in length")
        found = self._positions.lookup(np.asarray(keys, dtype=np.int64))
        chosen = [(p, tag) for p, tag in zip(found.tolist(), tags, strict=True) if p >= 0]
        if chosen:
            positions = np.asarray([p for p, _ in chosen], dtype=np.intp)
            self._write_tags(positions, [t for _, t in chosen])
        return len(chosen)

    def _write_tags(self, positions: npt.NDArray[np.intp], tags: Sequence[IndexTags]) -> None:
        intern = self._strings.intern
        self._user[positions] = [intern(t.user_id) for t in tags]
        self._agent[positions] = [intern(t.agent_id) for t in tags]
        self._session[positions] = [intern(t.session_id) for t in tags]
        self._current[positions] = [t.is_current for t in tags]
        self._occurred[positions] = [t.occurred_at for t in tags]

    def remove(self, keys: Iterable[int]) -> npt.NDArray[np.intp]:
        """Tombstone held keys; returns their former positions (unknown keys are skipped)."""
        positions = self._positions.pop_many(np.fromiter(map(int, keys), dtype=np.int64))
        self._alive[positions] = False
        return positions

    def compact(self) -> npt.NDArray[np.intp]:
        """Drop tombstones, keeping live positions in order.

        Returns:
            ``kept``: the old position of each new position (new position ``i`` was
            ``kept[i]``). The owner must move its own per-position data the same way.
        """
        kept = self.live_positions()
        for column in self._columns().values():
            column[: len(kept)] = column[kept]
            column[len(kept) : self._size] = 0
        self._user[len(kept) : self._size] = _NO_CODE
        self._agent[len(kept) : self._size] = _NO_CODE
        self._session[len(kept) : self._size] = _NO_CODE
        self._size = len(kept)
        self._positions = _KeyMap.build(self._key[: self._size], np.arange(self._size))
        return kept

    def prune_strings(self) -> int:
        """Forget scope strings no live memory uses (erasure); returns how many were dropped."""
        n = self._size
        live = self._alive[:n]
        used = np.unique(
            np.concatenate([self._user[:n][live], self._agent[:n][live], self._session[:n][live]])
        )
        used = used[used != _NO_CODE]
        old = self._strings.strings
        if len(used) == len(old):
            return 0
        remap = np.full(len(old) + 1, _NO_CODE, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        for column in (self._user, self._agent, self._session):
            codes = column[:n]
            valid = codes != _NO_CODE
            codes[valid] = remap[codes[valid]]
            codes[~live] = _NO_CODE
        self._strings = _Interner([old[i] for i in used.tolist()])
        return len(old) - len(used)

    # -- filtering -----------------------------------------------------------------------------

    def mask(self, where: IndexFilter | None) -> npt.NDArray[np.bool_]:
        """Which positions hold a live memory passing ``where`` (``None``: every live one)."""
        n = self._size
        mask = self._alive[:n].copy()
        if where is None:
            return mask
        if where.scope is not None:
            for value, column in (
                (where.scope.user_id, self._user),
                (where.scope.agent_id, self._agent),
                (where.scope.session_id, self._session),
            ):
                if value is None:
                    continue
                code = self._strings.lookup(value)
                if code is None:
                    return np.zeros(n, dtype=np.bool_)
                mask &= column[:n] == code
        if where.kinds is not None:
            codes = np.asarray([kind.code for kind in where.kinds], dtype=np.int8)
            mask &= np.isin(self._kind[:n], codes)
        if where.current_only:
            mask &= self._current[:n]
        if where.occurred_after is not None:
            mask &= self._occurred[:n] >= where.occurred_after
        if where.occurred_before is not None:
            mask &= self._occurred[:n] <= where.occurred_before
        return mask

    def candidates(self, where: IndexFilter | None) -> npt.NDArray[np.intp]:
        """Positions passing ``where``, ascending."""
        return np.flatnonzero(self.mask(where))

    # -- persistence ---------------------------------------------------------------------------

    def digest(self) -> str:
        """A fingerprint of which key sits at which position, stored with an index's files so
        that a load notices tags that belong to another snapshot."""
        n = self._size
        hasher = hashlib.sha256(self._key[:n].tobytes())
        hasher.update(self._alive[:n].tobytes())
        return hasher.hexdigest()[:32]

    def save(self, directory: Path) -> None:
        """Write ``tags.npz`` and ``tags.json`` into ``directory`` (no pickles)."""
        n = self._size
        arrays = {name: column[:n] for name, column in self._columns().items()}
        with (directory / _ARRAYS_FILE).open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        text = json.dumps({"strings": self._strings.strings}, ensure_ascii=False)
        (directory / _STRINGS_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, *, digest: str | None = None) -> TagTable:
        """Read a table written by :meth:`save`.

        Args:
            directory: where :meth:`save` wrote it.
            digest: the :meth:`digest` recorded at save time, checked when given.

        Raises:
            IndexOutOfSync: the files are missing, corrupt, inconsistent or of another snapshot.
        """
        table = cls()
        try:
            strings = json.loads((directory / _STRINGS_FILE).read_text(encoding="utf-8"))
            table._strings = _Interner(strings["strings"])
            with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as data:
                arrays = {name: data[name] for name in table._columns()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexOutOfSync("stored tag table is unreadable") from exc
        table._restore(arrays)
        if digest is not None and table.digest() != digest:
            raise IndexOutOfSync("stored tag table belongs to another snapshot")
        return table

    def _restore(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        n = len(arrays["key"])
        if any(len(a) != n or a.ndim != 1 for a in arrays.values()):
            raise IndexOutOfSync("stored tag table has columns of different lengths")
        codes = np.concatenate([arrays["user"], arrays["agent"], arrays["session"]])
        if n and (codes.min() < _NO_CODE or codes.max() >= len(self._strings.strings)):
            raise IndexOutOfSync("stored tag table refers to unknown scope strings")
        self._alloc(max(n, _MIN_CAPACITY))
        for name, column in self._columns().items():
            column[:n] = arrays[name]
        self._size = n
        live = np.flatnonzero(self._alive[:n])
        self._positions = _KeyMap.build(self._key[live], live)
