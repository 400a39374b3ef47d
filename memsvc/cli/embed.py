"""``memsvc embed build|list``: the fast embedders, made offline from the packaged model."""

from __future__ import annotations

import click

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, json_option

__all__ = ["embed_group"]


@click.group("embed")
def embed_group() -> None:
    """Embedding models: build the ONNX and static ones, list what is built."""


@embed_group.command("build")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild models that exist already.")
@json_option
@pass_state
def build_command(state: CliState, names: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Build NAMES (default: all) into embed.models_dir, each checked against the float model."""
    from memsvc.embed.build import BUILDS, build_model
    from memsvc.errors import InvalidInput

    unknown = [n for n in names if n not in BUILDS]
    if unknown:
        raise InvalidInput(
            f"unknown model {unknown[0]!r}; known: {', '.join(BUILDS)}",
            detail={"known": list(BUILDS)},
        )
    models_dir = state.settings.embed.models_dir.expanduser()
    err = console(stderr=True)
    built = {
        name: build_model(name, models_dir, force=force, progress=err.print)
        for name in (names or tuple(BUILDS))
    }
    if as_json:
        emit_json({"models_dir": str(models_dir), "models": built})
        return
    for name, manifest in built.items():
        cosine = manifest.get("cosine", {})
        quality = (
            f"cosine to the float model mean {cosine['mean']:.4f} min {cosine['min']:.4f}"
            if cosine
            else f"top-5 neighbour agreement {manifest.get('neighbour_agreement@5', 0):.2f}"
        )
        console().print(f"{name}: {manifest['dim']}-d, {manifest['bytes'] / 1e6:.1f} MB, {quality}")


@embed_group.command("list")
@json_option
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """The models that can be built, and which are built."""
    import json

    from memsvc.embed.build import BUILDS
    from memsvc.embed.onnx import MANIFEST_FILE

    models_dir = state.settings.embed.models_dir.expanduser()
    rows = {}
    for name, description in BUILDS.items():
        path = models_dir / name / MANIFEST_FILE
        rows[name] = {
            "description": description,
            "built": path.exists(),
            "manifest": json.loads(path.read_text()) if path.exists() else None,
        }
    if as_json:
        emit_json({"models_dir": str(models_dir), "models": rows})
        return
    for name, row in rows.items():
        mark = "built" if row["built"] else "not built"
        console().print(f"{name:18} {mark:10} {row['description']}")
