"""The LoCoMo benchmark's command line pieces (the run itself is the benchmark)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.locomo.run import build_settings, percentiles, table


def test_run_build_settings_applies_dotted_overrides(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, ["retrieval.rounds=2", "retrieval.time_mode=boost"])

    assert settings.retrieval.rounds == 2
    assert settings.retrieval.time_mode == "boost"
    assert settings.db.url == f"sqlite:///{tmp_path / 'memsvc.db'}"
    assert settings.consolidation.in_process_worker is False
    assert settings.embed.backend == "sentence_transformers"


def test_run_percentiles_reads_the_sorted_samples() -> None:
    stats = percentiles([float(i) for i in range(1, 101)])

    assert (stats["p50_ms"], stats["p95_ms"], stats["n"]) == (51.0, 96.0, 100)


def test_run_table_has_one_row_per_method() -> None:
    recall = {
        name: {"R@10": 0.5, "R@5": 0.4, "R@500tok": 0.6}
        for name in ("multi-hop", "temporal", "open-domain", "single-hop", "all")
    }

    splits = {"held-out (6-10)": recall, "all": recall}
    lines = table({"memsvc": splits, "bm25": splits}, [5, 10], [500]).splitlines()

    assert len(lines) == 4
    assert lines[0].startswith("| method | multi-hop R@10")
    assert lines[2].startswith("| memsvc | 0.500")
    timed = table(
        {"memsvc": splits}, [10], [500], split="held-out (6-10)",
        latency={"memsvc": {"p50_ms": 20.0, "p95_ms": 30.0}},
    ).splitlines()  # fmt: skip
    assert timed[0].endswith("p50 ms | p95 ms |") and timed[2].endswith("20.0 | 30.0 |")


def test_run_build_settings_turns_reinforcement_off_and_can_skip_consolidation(
    tmp_path: Path,
) -> None:
    settings = build_settings(tmp_path, [], consolidate=False)

    assert settings.retrieval.reinforce is False
    assert settings.consolidation.enabled is False
