"""Many processes saving and loading one index folder: every save and every load succeeds.

Before the folder lock, two processes saving one BM25 index 150 times each while a third loaded
it failed 148 of 300 saves and 287 of 300 loads: each save's clean-up deleted the snapshot the
other had just pointed ``CURRENT`` at, or the staging folder it was still writing.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
import pytest

from memsvc.config import IndexSettings
from memsvc.index.base import IndexTags
from memsvc.index.registry import load_sparse_index

ROUNDS = 40

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork-free spawn timing")


def _cfg(backend: str) -> IndexSettings:
    return IndexSettings.model_validate({"sparse_backend": backend})


def _saver(directory: str, offset: int, rounds: int, out: mp.Queue, backend: str) -> None:  # type: ignore[type-arg]
    from memsvc.index.registry import make_sparse_index

    index = make_sparse_index(_cfg(backend))
    tags = [IndexTags("u1", None, None)] * 20
    failures = 0
    for r in range(rounds):
        keys = np.arange(offset + r * 20 + 1, offset + r * 20 + 21, dtype=np.int64)
        index.add(keys, [f"text number {k} about cats and dogs" for k in keys], tags)
        index.applied_seq = r + 1
        try:
            index.save(Path(directory))
        except Exception as exc:
            failures += 1
            out.put(f"save: {type(exc).__name__}: {exc}")
    out.put(("saves", failures))


def _loader(directory: str, rounds: int, out: mp.Queue, backend: str) -> None:  # type: ignore[type-arg]
    failures = 0
    for _ in range(rounds * 2):
        try:
            load_sparse_index(Path(directory), _cfg(backend))
        except Exception as exc:
            failures += 1
            out.put(f"load: {type(exc).__name__}: {exc}")
    out.put(("loads", failures))


@pytest.mark.parametrize("backend", ["bm25", "tantivy"])
def test_two_savers_and_a_loader_on_one_folder_never_fail(tmp_path: Path, backend: str) -> None:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    directory = str(tmp_path / "sparse")
    procs = [
        ctx.Process(target=_saver, args=(directory, 0, ROUNDS, out, backend)),
        ctx.Process(target=_saver, args=(directory, 1_000_000, ROUNDS, out, backend)),
        ctx.Process(target=_loader, args=(directory, ROUNDS, out, backend)),
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
        assert p.exitcode == 0
    messages = []
    totals: dict[str, int] = {"saves": 0, "loads": 0}
    while not out.empty():
        item = out.get()
        if isinstance(item, tuple):
            totals[item[0]] += item[1]
        else:
            messages.append(item)
    assert totals == {"saves": 0, "loads": 0}, messages[:5]
    final = load_sparse_index(Path(directory), _cfg(backend))
    assert len(final) == ROUNDS * 20  # one saver's whole index, never a mix
    leftovers = [p.name for p in Path(directory).iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
