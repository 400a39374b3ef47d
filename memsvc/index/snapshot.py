"""Atomic on-disk snapshots of an index: a folder of files plus a ``CURRENT`` pointer.

An index folder looks like this::

    <directory>/
        CURRENT                  # the name of the snapshot in use, replaced atomically
        snap-<hex>/meta.json     # applied_seq, format, sizes: what the other files must agree with
        snap-<hex>/...           # the index's own files (FAISS index, npz arrays, JSON)

A save writes a whole new ``snap-*`` folder (fsynced), then points ``CURRENT`` at it with
``os.replace``, then deletes older snapshots. A crash at any moment leaves either the old or the
new snapshot in use, never a mix of the two.

Many processes share one index folder (server workers, ``memsvc worker``, CLI commands, an
embedded ``Memory``), so a save and a load each hold the folder's ``.lock`` (``filelock``, an
advisory lock that the OS drops when its holder dies): without it one process's clean-up deleted
the snapshot another had just pointed ``CURRENT`` at, or the staging folder it was writing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from memsvc.errors import IndexOutOfSync

__all__ = ["FORMAT_VERSION", "Snapshot", "read_snapshot", "snapshot_lock", "write_snapshot"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_POINTER = "CURRENT"
_META = "meta.json"
_PREFIX = "snap-"
_LOCK = ".lock"
LOCK_TIMEOUT_S = 120.0
"""How long a save or load waits for another process's save of the same folder."""


@contextmanager
def snapshot_lock(directory: Path, *, for_write: bool) -> Iterator[None]:
    """Hold the index folder's lock (across processes and threads; re-entrant in a thread).

    A reader of a folder that does not exist, or whose lock file cannot be created (a read-only
    folder: nobody can write there either), reads without it.

    Raises:
        IndexOutOfSync: another process held the lock for :data:`LOCK_TIMEOUT_S`.
        OSError: a writer cannot create the folder or its lock file.
    """
    if for_write:
        directory.mkdir(parents=True, exist_ok=True)
    elif not directory.is_dir():
        yield
        return
    lock = FileLock(directory / _LOCK, timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IndexOutOfSync("index folder is locked by another process") from exc
    except OSError:
        if for_write:
            raise
        yield
        return
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot found on disk: its folder and its validated ``meta.json``."""

    path: Path
    meta: dict[str, Any]

    def int_field(self, name: str) -> int:
        """An integer from ``meta.json``; :class:`IndexOutOfSync` when absent or mistyped."""
        value = self.meta.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise IndexOutOfSync("index snapshot metadata lacks " + name)
        return value

    def str_field(self, name: str) -> str:
        """A string from ``meta.json``; :class:`IndexOutOfSync` when absent or mistyped."""
        value = self.meta.get(name)
        if not isinstance(value, str):
            raise IndexOutOfSync("index snapshot metadata lacks " + name)
        return value


def _fsync_tree(folder: Path) -> None:
    for entry in folder.iterdir():
        with entry.open("rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(
    directory: Path, *, kind: str, meta: dict[str, Any], write_files: Callable[[Path], None]
) -> Path:
    """Write a new snapshot of an index of ``kind`` and make it the current one.

    Args:
        directory: the index folder (created if missing).
        kind: what wrote it (``"faiss"``, ``"exact"``, ``"bm25"``); checked on read.
        meta: JSON-serialisable facts about the files (``applied_seq``, counts, ...).
        write_files: writes the index's files into the folder it is given.

    Returns:
        The new snapshot folder.
    """
    with snapshot_lock(directory, for_write=True):
        return _write_locked(directory, kind=kind, meta=meta, write_files=write_files)


def _write_locked(
    directory: Path, *, kind: str, meta: dict[str, Any], write_files: Callable[[Path], None]
) -> Path:
    name = _PREFIX + uuid.uuid4().hex
    staging = directory / (".tmp-" + name)
    staging.mkdir()
    try:
        write_files(staging)
        body = {"format": FORMAT_VERSION, "kind": kind, **meta}
        (staging / _META).write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
        _fsync_tree(staging)
        final = directory / name
        os.replace(staging, final)
        pointer_tmp = directory / f"{_POINTER}.tmp-{name}"
        with pointer_tmp.open("w", encoding="utf-8") as fh:
            fh.write(name)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer_tmp, directory / _POINTER)
        _fsync_dir(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale(directory, keep=name)
    return final


def _remove_stale(directory: Path, *, keep: str) -> None:
    for entry in directory.iterdir():
        is_old = entry.name.startswith(_PREFIX) and entry.name != keep
        if entry.is_dir() and (is_old or entry.name.startswith(".tmp-" + _PREFIX)):
            shutil.rmtree(entry, ignore_errors=True)
            logger.debug("removed stale index snapshot %s", entry.name)
        elif entry.is_file() and entry.name.startswith(_POINTER + ".tmp"):
            entry.unlink(missing_ok=True)


def read_snapshot(directory: Path, *, kind: str) -> Snapshot | None:
    """The current snapshot in ``directory``, or ``None`` when none was ever saved there.

    Read its files while holding :func:`snapshot_lock` (the registry's loaders do), or a save by
    another process may delete them under the reader.

    Raises:
        IndexOutOfSync: the pointer names a missing snapshot, ``meta.json`` is unreadable, or
            the snapshot was written by another kind of index or format version.
    """
    pointer = directory / _POINTER
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = directory / name
    if not name.startswith(_PREFIX) or not folder.is_dir():
        raise IndexOutOfSync("index snapshot is missing", detail={"snapshot": name[:80]})
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexOutOfSync("index snapshot metadata is unreadable") from exc
    if not isinstance(meta, dict):
        raise IndexOutOfSync("index snapshot metadata is not an object")
    if meta.get("format") != FORMAT_VERSION or meta.get("kind") != kind:
        raise IndexOutOfSync(
            "index snapshot was written by another index type or format",
            detail={"expected": kind, "found": str(meta.get("kind")), "format": meta.get("format")},
        )
    return Snapshot(path=folder, meta=meta)
