"""The fast embedders: built offline from the packaged model, checked against it, lazy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from memsvc.config import EmbedSettings
from memsvc.embed.onnx import MANIFEST_FILE, OnnxEmbedder
from memsvc.embed.static import StaticEmbedder
from memsvc.errors import EmbeddingFailed
from memsvc.wiring import make_embedder

pytestmark = pytest.mark.slow

TEXTS = ["Alice adopted a puppy", "Alice got a new dog", "The stock market fell today"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The int8 ONNX and the static model, built once for this module (about a minute on a
    quiet machine; ``MEMSVC_TEST_MODELS_DIR`` names a folder where they are built already)."""
    from memsvc.embed.build import build_model

    prebuilt = os.environ.get("MEMSVC_TEST_MODELS_DIR")
    folder = Path(prebuilt) if prebuilt else tmp_path_factory.mktemp("models")
    for name in ("minilm-onnx-int8", "minilm-static"):
        build_model(name, folder)
    return folder


def test_int8_build_is_checked_against_the_float_model(models_dir: Path) -> None:
    manifest = json.loads((models_dir / "minilm-onnx-int8" / MANIFEST_FILE).read_text())
    assert manifest["exporter"] == "torch.onnx.export(dynamo=True)"
    assert manifest["export_cosine"]["mean"] >= 0.999  # the float export matches exactly
    assert manifest["cosine"]["mean"] >= 0.99  # int8 per channel, FFN outputs in float
    assert len(manifest["quantisation"]["float_nodes"]) == 6  # one per layer
    assert manifest["dim"] == 384
    assert not any(p.name.startswith(".") for p in models_dir.iterdir())  # no half-built folder


@pytest.mark.parametrize(("backend", "dim"), [("onnx", 384), ("static", 256)])
def test_built_embedder_is_lazy_and_places_paraphrases_closer(
    models_dir: Path, backend: str, dim: int
) -> None:
    embedder = make_embedder(EmbedSettings(backend=backend, models_dir=models_dir))  # type: ignore[arg-type]
    assert isinstance(embedder, OnnxEmbedder | StaticEmbedder)
    assert embedder.model_id.startswith(f"{backend}:minilm-")
    assert embedder.dim == dim
    assert getattr(embedder, "_session", getattr(embedder, "_model", None)) is None  # not loaded
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (3, dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2
    alone = embedder.embed(TEXTS[:1])[0]
    if backend == "static":
        assert np.allclose(alone, vectors[0], atol=1e-5)
    else:  # dynamic int8 scales activations per batch: a text's vector moves a little with it
        assert float(alone @ vectors[0]) > 0.98


def test_onnx_int8_stays_close_to_the_float_model(models_dir: Path) -> None:
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    ours = make_embedder(EmbedSettings(backend="onnx", models_dir=models_dir)).embed(TEXTS)
    reference = SentenceTransformerEmbedder(EmbedSettings()).embed(TEXTS)
    assert np.min(np.sum(ours * reference, axis=1)) > 0.98


def test_a_missing_model_fails_clearly_on_first_use(tmp_path: Path) -> None:
    embedder = make_embedder(
        EmbedSettings(backend="onnx", model=str(tmp_path / "nothing-here"), models_dir=tmp_path)
    )
    assert embedder.model_id == "onnx:nothing-here"  # known without touching the disk
    with pytest.raises(EmbeddingFailed, match="memsvc embed build"):
        embedder.embed(["hello"])
