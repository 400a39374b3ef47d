"""``memsvc bench``: run the benchmark scripts in ``benchmarks/`` and tabulate their results.

A benchmark script is a ``benchmarks/<name>.py`` that takes ``--out FILE`` and writes its
results there as JSON, with the measured rows under ``"results"`` (a list of objects). Scripts
that do not take ``--out`` are run as they are and reported by exit status and time. Arguments
after ``--`` go to every script run (``memsvc bench index_bench -- --n 2000 --no-hnsw``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from memsvc.cli.output import console, emit_json, json_option
from memsvc.errors import ConfigError, InvalidInput

__all__ = ["bench_command"]

_MAX_COLUMNS = 12


@dataclass
class BenchRun:
    """One script's run: status, time and the rows it reported."""

    name: str
    returncode: int
    seconds: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@click.command("bench", context_settings={"ignore_unknown_options": True})
@click.argument(
    "names_and_args", nargs=-1, type=click.UNPROCESSED, metavar="[NAMES]... [-- SCRIPT ARGS]..."
)
@click.option(
    "--dir",
    "bench_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the benchmark scripts (default: ./benchmarks, else the checkout's).",
)
@click.option("--list", "is_listing", is_flag=True, help="List the benchmarks and exit.")
@click.option(
    "--timeout", type=click.IntRange(1), default=3600, show_default=True, help="Seconds per script."
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the timings (columns ending in _ms) as a PNG chart (needs matplotlib).",
)
@json_option
def bench_command(
    names_and_args: tuple[str, ...],
    bench_dir: Path,
    is_listing: bool,
    timeout: int,
    chart: Path | None,
    as_json: bool,
) -> None:
    """Run benchmarks (all, or the NAMES given) and print their results as tables.

    Arguments after -- go to every script run.
    """
    names, extra = _split(names_and_args)
    scripts = _discover(bench_dir if bench_dir is not None else _default_dir())
    if is_listing:
        for name in scripts:
            click.echo(name)
        return
    chosen = _choose(scripts, names)
    runs = [_run(name, scripts[name], extra, timeout=timeout) for name in chosen]
    if chart is not None:
        _draw_chart(runs, chart)
    if as_json:
        emit_json([run.__dict__ for run in runs])
    else:
        out = console()
        for run in runs:
            out.print(_table(run))
    if any(run.returncode != 0 for run in runs):
        raise click.exceptions.Exit(1)


def _split(items: tuple[str, ...]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    for position, item in enumerate(items):
        if item.startswith("-"):
            rest = list(items[position:])
            return names, rest[1:] if rest[0] == "--" else rest
        names.append(item)
    return names, []


def _default_dir() -> Path:
    """``./benchmarks`` when there is one, else the one beside the installed package (an
    editable install from a checkout), so ``memsvc bench`` works from any folder."""
    here = Path("benchmarks")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "benchmarks"


def _discover(bench_dir: Path) -> dict[str, Path]:
    """The scripts among ``bench_dir/*.py``, less the helpers (``common``): modules the others
    import that do not run as ``__main__`` themselves."""
    if not bench_dir.is_dir():
        raise ConfigError(f"no benchmark folder {bench_dir} (use --dir)")
    files = {p.stem: p for p in sorted(bench_dir.glob("*.py")) if not p.name.startswith("_")}
    texts = {stem: path.read_text(encoding="utf-8") for stem, path in files.items()}
    helpers = {
        stem
        for stem in files
        if "__main__" not in texts[stem]
        and any(
            re.search(rf"^\s*(?:from|import)\s+(?:benchmarks\.)?{stem}\b", text, re.MULTILINE)
            for other, text in texts.items()
            if other != stem
        )
    }
    return {stem: path for stem, path in files.items() if stem not in helpers}


def _choose(scripts: dict[str, Path], names: list[str]) -> list[str]:
    if not names:
        if not scripts:
            raise ConfigError("no benchmark scripts found")
        return list(scripts)
    chosen = []
    for name in names:
        key = name if name in scripts else f"{name}_bench"
        if key not in scripts:
            raise InvalidInput(f"no benchmark {name!r}; known: {', '.join(scripts) or 'none'}")
        chosen.append(key)
    return chosen


def _run(name: str, script: Path, extra: list[str], *, timeout: int) -> BenchRun:
    takes_out = '"--out"' in script.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="memsvc-bench-") as tmp:
        out_file = Path(tmp) / f"{name}.json"
        command = [sys.executable, str(script), *extra]
        if takes_out:
            command += ["--out", str(out_file)]
        env = dict(os.environ)
        root = str(script.resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            return BenchRun(
                name, 124, time.perf_counter() - started, error=f"timed out after {timeout}s"
            )
        seconds = time.perf_counter() - started
        run = BenchRun(name, done.returncode, seconds)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            run.error = lines[-1] if lines else f"exit status {done.returncode}"
        elif out_file.exists():
            run.rows = _rows(json.loads(out_file.read_text(encoding="utf-8")))
    return run


def _rows(report: Any) -> list[dict[str, Any]]:
    results = report.get("results") if isinstance(report, dict) else report
    if not isinstance(results, list):
        results = [report]
    return [_flatten(r) for r in results if isinstance(r, dict)]


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, str | int | float | bool) or value is None:
            out[f"{prefix}{key}"] = value
    return out


def _table(run: BenchRun) -> Table:
    status = "ok" if run.returncode == 0 else f"failed ({run.returncode})"
    table = Table(title=f"{run.name}: {status} in {run.seconds:.1f}s", title_justify="left")
    if run.error:
        table.add_column("error")
        table.add_row(run.error)
        return table
    columns: list[str] = []
    for row in run.rows:
        columns.extend(k for k in row if k not in columns)
    columns = columns[:_MAX_COLUMNS]
    for column in columns:
        table.add_column(column, justify="right", overflow="fold")
    for row in run.rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    if not columns:
        table.add_column("result")
        table.add_row("no results file")
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def _draw_chart(runs: list[BenchRun], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--chart needs matplotlib (pip install matplotlib)") from None
    bars: list[tuple[str, float]] = []
    for run in runs:
        for i, row in enumerate(run.rows):
            label = str(row.get("name") or row.get("index") or i)
            bars.extend(
                (f"{run.name}/{label}/{k}", float(v))
                for k, v in row.items()
                if k.endswith("_ms") and isinstance(v, int | float)
            )
    if not bars:
        raise InvalidInput("no timings (columns ending in _ms) to chart")
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.3 * len(bars))))
    ax.barh([b[0] for b in bars], [b[1] for b in bars])
    ax.set_xlabel("milliseconds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
