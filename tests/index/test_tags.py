"""TagTable: positions, tombstones, filter masks and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_builders import key, keys_of, tags_for

from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.tags import TagTable, last_occurrences
from memsvc.types import MemoryKind, Scope


def _table() -> TagTable:
    table = TagTable()
    tags = [
        IndexTags("u1", "a1", "s1", True, 10.0),
        IndexTags("u1", None, "s2", False, 20.0),
        IndexTags("u2", "a1", None, True, 30.0),
    ]
    table.upsert(np.asarray([key(1), key(2, MemoryKind.EVENT), key(3)]), tags)
    return table


def test_tag_table_upsert_gives_new_positions_and_tombstones_old_ones() -> None:
    table = _table()
    new, replaced = table.upsert(keys_of([1, 4]), tags_for(2))
    assert new.tolist() == [3, 4]
    assert replaced.tolist() == [0]
    assert (len(table), table.slots, table.tombstones) == (4, 5, 1)
    assert table.positions_of([key(1)]).tolist() == [3]


def test_tag_table_mask_with_no_filter_is_every_live_position() -> None:
    table = _table()
    table.remove([key(3)])
    assert table.mask(None).tolist() == [True, True, False]


def test_tag_table_scope_filter_compares_every_given_key() -> None:
    table = _table()
    where = IndexFilter(scope=Scope(user_id="u1"), current_only=False)
    assert table.candidates(where).tolist() == [0, 1]
    where = IndexFilter(scope=Scope(agent_id="a1", session_id="s1"), current_only=False)
    assert table.candidates(where).tolist() == [0]
    assert table.candidates(IndexFilter(scope=Scope(user_id="unknown"))).tolist() == []


def test_tag_table_filters_kind_currency_and_time() -> None:
    table = _table()
    assert table.candidates(IndexFilter()).tolist() == [0, 2]
    kinds = IndexFilter(kinds=frozenset({MemoryKind.EVENT}), current_only=False)
    assert table.candidates(kinds).tolist() == [1]
    window = IndexFilter(current_only=False, occurred_after=20.0, occurred_before=30.0)
    assert table.candidates(window).tolist() == [1, 2]


def test_tag_table_retag_updates_in_place_and_ignores_unknown_keys() -> None:
    table = _table()
    changed = table.retag(keys_of([3, 99]), [IndexTags("u3", None, None)] * 2)
    assert changed == 1
    assert table.tags_at(2) == IndexTags("u3", None, None)
    assert table.slots == 3


def test_tag_table_compact_drops_tombstones_in_order() -> None:
    table = _table()
    table.remove([key(1)])
    kept = table.compact()
    assert kept.tolist() == [1, 2]
    assert (table.slots, table.tombstones) == (2, 0)
    assert table.keys().tolist() == [key(2, MemoryKind.EVENT), key(3)]
    assert table.tags_at(1) == IndexTags("u2", "a1", None, True, 30.0)
    assert table.candidates(IndexFilter(scope=Scope(user_id="u2"))).tolist() == [1]


def test_tag_table_save_load_round_trip(tmp_path: Path) -> None:
    table = _table()
    table.remove([key(1)])
    table.save(tmp_path)
    loaded = TagTable.load(tmp_path)
    assert loaded.keys().tolist() == table.keys().tolist()
    assert (loaded.slots, loaded.tombstones) == (3, 1)
    assert [loaded.tags_at(i) for i in range(3)] == [table.tags_at(i) for i in range(3)]
    where = IndexFilter(scope=Scope(user_id="u1"), current_only=False)
    assert loaded.candidates(where).tolist() == [1]


def test_tag_table_load_rejects_damaged_files(tmp_path: Path) -> None:
    _table().save(tmp_path)
    (tmp_path / "tags.json").write_text('{"strings": ["u1"]}', encoding="utf-8")
    with pytest.raises(IndexOutOfSync):
        TagTable.load(tmp_path)


def test_tag_table_grows_past_its_initial_capacity() -> None:
    table = TagTable()
    table.upsert(keys_of(range(1, 1_001)), tags_for(1_000, occurred_at=5.0))
    assert len(table) == 1_000
    assert table.tags_at(999).occurred_at == 5.0


def test_last_occurrences_keeps_the_last_entry_of_each_key() -> None:
    keys = np.asarray([5, 3, 5, 7, 3], dtype=np.int64)
    assert last_occurrences(keys).tolist() == [2, 3, 4]


def test_tag_table_key_map_agrees_with_a_dict_across_merges(rng: np.random.Generator) -> None:
    """Upserts and removals of single keys and batches, past the key map's merge threshold,
    give the positions a plain dict gives."""
    table, model, slots = TagTable(), {}, 0
    for round_ in range(60):
        batch = np.unique(rng.integers(1, 6_000, size=int(rng.integers(1, 400))))
        if round_ % 3 == 2:
            gone = table.remove(keys_of(batch.tolist()))
            assert len(gone) == sum(1 for b in batch.tolist() if b in model)
            for b in batch.tolist():
                model.pop(b, None)
            continue
        new, _ = table.upsert(keys_of(batch.tolist()), tags_for(len(batch)))
        assert new.tolist() == list(range(slots, slots + len(batch)))
        model |= {b: slots + i for i, b in enumerate(batch.tolist())}
        slots += len(batch)
    probe = list(range(1, 6_000))
    assert len(table) == len(model)
    expected = [model[p] for p in probe if p in model]
    assert table.positions_of(keys_of(probe).tolist()).tolist() == expected
    assert [key(p) in table for p in probe[:500]] == [p in model for p in probe[:500]]
    assert table.holds(keys_of(probe)).tolist() == [p in model for p in probe]
