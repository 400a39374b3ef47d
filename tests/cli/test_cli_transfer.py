"""export / import: lossless round trip, id remapping, chat histories, truncated files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Invoke = Callable[..., Any]


def _records(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[0].pop("exported_at")
    return rows


def test_export_erase_import_round_trip_is_lossless(
    invoke: Invoke, seeded: dict[str, Any], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    invoke("export", str(first), "-u", "alice", "--json")
    before = _records(first)
    assert {r["type"] for r in before} >= {"header", "event", "footer"}
    erased = invoke("prune", "--erase", "-u", "alice", "--yes", "--json").json
    assert erased["counts"]["erased_event"] == 4
    assert invoke("list", "-u", "alice", "--json").json["items"] == []
    imported = invoke("import", str(first), "--json").json["counts"]
    assert imported["event"] == 4
    assert not any(k.startswith("id_offset") for k in imported)
    invoke("export", str(second), "-u", "alice")
    assert _records(second) == before
    hit = invoke("search", "cello", "-u", "alice", "--json").json["hits"][0]
    assert "cello" in hit["memory"]["content"]
    invoke("index", "verify")


def test_import_into_a_used_database_remaps_ids_consistently(
    invoke: Invoke, seeded: dict[str, Any], tmp_path: Path
) -> None:
    dump = tmp_path / "all.jsonl"
    invoke("export", str(dump))
    counts = invoke("--namespace", "copy", "import", str(dump), "--json").json["counts"]
    assert counts["id_offset_event"] > 0
    original = invoke("list", "-u", "alice", "--kind", "event", "--json").json["items"]
    copied = invoke("--namespace", "copy", "list", "-u", "alice", "--kind", "event", "--json").json[
        "items"
    ]
    assert [m["content"] for m in copied] == [m["content"] for m in original]
    assert {m["id"] for m in copied}.isdisjoint({m["id"] for m in original})
    offset = counts["id_offset_event"]
    facts = invoke("--namespace", "copy", "list", "-u", "alice", "--kind", "fact", "--json").json[
        "items"
    ]
    copied_ids = {m["id"] for m in copied}
    for fact in facts:
        assert set(fact["source_event_ids"]) <= copied_ids, (fact, offset)
    invoke("--namespace", "copy", "index", "verify")


def test_chat_import_keeps_original_timestamps_and_order(
    invoke: Invoke, chat_file: Path, chat_rows: list[dict[str, Any]]
) -> None:
    counts = invoke("import", str(chat_file), "--json").json["counts"]
    assert counts["event"] == len(chat_rows)
    events = invoke("list", "-u", "alice", "--kind", "event", "--json").json["items"]
    got = sorted((e["occurred_at"], e["content"]) for e in events)
    want = sorted((c["occurred_at"], c["content"]) for c in chat_rows if c["user_id"] == "alice")
    assert [(t[:19], c) for t, c in got] == [(t[:19], c) for t, c in want]
    assert {e["speaker"] for e in events} == {"Alice"}


def test_import_of_a_truncated_export_imports_nothing(
    invoke: Invoke, seeded: dict[str, Any], tmp_path: Path
) -> None:
    dump = tmp_path / "all.jsonl"
    invoke("export", str(dump))
    lines = dump.read_text(encoding="utf-8").splitlines()
    truncated = tmp_path / "cut.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    out = invoke("--namespace", "other", "import", str(truncated), code=1)
    assert "truncated" in out.stderr and out.stderr.count("\n") == 1
    stats = invoke("--namespace", "other", "stats", "--json").json
    assert stats["memories"].get("event", 0) == 0


def test_import_bad_line_names_the_line(invoke: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": "a", "content": "hi"}\nnot json\n', encoding="utf-8")
    out = invoke("import", str(bad), code=1)
    assert "line 2" in out.stderr


def test_export_to_stdout_streams_jsonl(invoke: Invoke, seeded: dict[str, Any]) -> None:
    out = invoke("export", "-u", "bob")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["type"] == "header" and rows[-1]["type"] == "footer"
    assert rows[-1]["counts"]["event"] == 1
    assert "Exported" in out.stderr
