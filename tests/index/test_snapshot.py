"""Index snapshots: the CURRENT pointer makes a save all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from memsvc.errors import IndexOutOfSync
from memsvc.index.snapshot import read_snapshot, write_snapshot


def _write(directory: Path, payload: str, seq: int) -> Path:
    def files(folder: Path) -> None:
        (folder / "data.txt").write_text(payload, encoding="utf-8")

    return write_snapshot(directory, kind="test", meta={"applied_seq": seq}, write_files=files)


def test_snapshot_read_of_empty_directory_is_none(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "nothing", kind="test") is None


def test_snapshot_latest_write_wins_and_old_ones_are_removed(tmp_path: Path) -> None:
    _write(tmp_path, "one", 1)
    latest = _write(tmp_path, "two", 2)
    snapshot = read_snapshot(tmp_path, kind="test")
    assert snapshot is not None
    assert snapshot.path == latest
    assert snapshot.int_field("applied_seq") == 2
    assert (snapshot.path / "data.txt").read_text(encoding="utf-8") == "two"
    assert [p.name for p in tmp_path.glob("snap-*")] == [latest.name]


def test_snapshot_failed_write_keeps_the_previous_one(tmp_path: Path) -> None:
    _write(tmp_path, "good", 1)

    def explode(folder: Path) -> None:
        (folder / "data.txt").write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_snapshot(tmp_path, kind="test", meta={"applied_seq": 2}, write_files=explode)
    snapshot = read_snapshot(tmp_path, kind="test")
    assert snapshot is not None
    assert (snapshot.path / "data.txt").read_text(encoding="utf-8") == "good"
    assert not list(tmp_path.glob(".tmp-*"))


def test_snapshot_of_another_kind_is_out_of_sync(tmp_path: Path) -> None:
    _write(tmp_path, "x", 1)
    with pytest.raises(IndexOutOfSync):
        read_snapshot(tmp_path, kind="other")


def test_snapshot_pointer_to_missing_folder_is_out_of_sync(tmp_path: Path) -> None:
    latest = _write(tmp_path, "x", 1)
    (latest / "data.txt").unlink()
    (latest / "meta.json").unlink()
    latest.rmdir()
    with pytest.raises(IndexOutOfSync):
        read_snapshot(tmp_path, kind="test")


def test_snapshot_missing_meta_field_is_out_of_sync(tmp_path: Path) -> None:
    _write(tmp_path, "x", 1)
    snapshot = read_snapshot(tmp_path, kind="test")
    assert snapshot is not None
    with pytest.raises(IndexOutOfSync):
        snapshot.int_field("count")
