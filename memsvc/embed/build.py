"""Make the fast embedders offline from the packaged sentence-transformers model.

``memsvc embed build NAME`` writes one folder per model under ``embed.models_dir``:

* ``minilm-onnx`` — the packaged all-MiniLM-L6-v2 exported to ONNX with
  ``torch.onnx.export(..., dynamo=True)`` (pooling and normalisation inside the graph);
* ``minilm-onnx-int8`` — that export with ONNX Runtime's dynamic int8 quantisation (weights
  per channel, the feed-forward output projections left in float: the part that loses most
  when quantised, measured by the cosine check below);
* ``minilm-static`` — a model2vec static model distilled from the packaged model (256
  dimensions by PCA).

Every build is checked against the float model on a fixed set of chat-like texts, and the
cosines are written to the folder's manifest (``memsvc-model.json``). A float export that does
not match (mean cosine below 0.999) is refused: the legacy exporter once produced a model whose
vectors were silently off. The models are tens of megabytes, so they are built (seconds to a
minute) rather than committed. Building needs torch, onnx, onnxscript and model2vec; using the
result needs onnxruntime or model2vec only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memsvc.embed.onnx import MANIFEST_FILE
from memsvc.embed.sentence_transformers import PACKAGED_MODEL, resolve_model_path
from memsvc.errors import EmbeddingFailed

__all__ = ["BUILDS", "build_model", "check_texts", "cosines"]

logger = logging.getLogger(__name__)

_MIN_EXPORT_COSINE = 0.999
_STATIC_DIMS = 256

_SUBJECTS = ["I", "My sister", "Caroline", "We", "Our team", "Melanie", "My dad", "The kids"]
_VERBS = [
    "went hiking in the mountains",
    "started a pottery class",
    "adopted a puppy from the shelter",
    "moved to a flat near the river",
    "finished reading a novel about Mars",
    "had a terrible week at work",
    "booked flights to Lisbon for May",
    "painted a sunrise over the lake",
]
_WHEN = ["yesterday", "last week", "on Saturday", "in 2022", "this morning", "two years ago"]


def check_texts() -> list[str]:
    """Fixed, varied chat-like texts (short and long) on which every build is checked."""
    texts: list[str] = []
    for i, subject in enumerate(_SUBJECTS):
        for j, verb in enumerate(_VERBS):
            when = _WHEN[(i + j) % len(_WHEN)]
            texts.append(f"{subject} {verb} {when}.")
            if (i + j) % 3 == 0:
                texts.append(
                    f"Honestly, {subject.lower()} {verb} {when}, and it changed how we think "
                    f"about weekends; what about you? Did you ever try something like that?"
                )
    texts += ["ok", "Thanks!", "What did you do last weekend?", "Where does Alice live?"]
    return texts


def cosines(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Row-wise cosine of two batches of vectors."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.asarray(np.sum(a * b, axis=1))


def _float_model(source: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model_path(source), device="cpu")


def _export_onnx(model: Any, folder: Path) -> None:
    """The transformer, mean pooling and normalisation as one ONNX graph (dynamo exporter)."""
    import torch

    transformer = model[0].auto_model.eval()
    normalise = any(type(m).__name__ == "Normalize" for m in model)

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            assert isinstance(hidden, torch.Tensor)
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalise:
                pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
            return pooled

    batch = torch.export.Dim("batch", min=1, max=4096)
    tokens = torch.export.Dim("tokens", min=2, max=512)
    example = model.tokenize(["a first example text", "and a second, somewhat longer one"])
    args = tuple(example[name] for name in ("input_ids", "attention_mask", "token_type_ids"))
    shapes = {
        name: {0: batch, 1: tokens} for name in ("input_ids", "attention_mask", "token_type_ids")
    }
    # The dynamo exporter warns about its own internals (deprecated pytree APIs, merged dynamic
    # axes); the export is checked against the float model below, which is what matters.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            Pooled().eval(),
            args,
            dynamo=True,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_shapes=shapes,
            optimize=True,
        )
    assert program is not None
    program.save(str(folder / "model.onnx"))


def _copy_tokenizer(source_dir: Path, folder: Path) -> None:
    shutil.copy2(source_dir / "tokenizer.json", folder / "tokenizer.json")


def matmul_roles(model_path: Path) -> dict[str, list[str]]:
    """The exported graph's weight MatMuls by role, found by what feeds them (the exporter's
    optimiser renames nodes): ``ffn_out`` takes the GELU's output (the feed-forward down
    projection), ``ffn_in`` feeds a GELU, ``other`` is the rest (attention projections)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    produced = {out: node for node in graph.node for out in node.output}

    def is_gelu(node: Any) -> bool:
        return "gelu" in f"{node.op_type} {node.name}".lower() or node.op_type == "Erf"

    def reaches_gelu(name: str, depth: int = 3) -> bool:
        return depth > 0 and any(
            is_gelu(c) or any(reaches_gelu(o, depth - 1) for o in c.output)
            for c in consumers.get(name, [])
        )

    roles: dict[str, list[str]] = {"ffn_out": [], "ffn_in": [], "other": []}
    for node in graph.node:
        if node.op_type not in ("MatMul", "Gemm"):
            continue
        source = produced.get(node.input[0])
        if "gelu" in node.input[0].lower() or (source is not None and is_gelu(source)):
            roles["ffn_out"].append(node.name)
        elif reaches_gelu(node.output[0]):
            roles["ffn_in"].append(node.name)
        else:
            roles["other"].append(node.name)
    return roles


def _quantise(folder: Path, *, per_channel: bool, keep_float: Sequence[str]) -> list[str]:
    """Dynamic int8 quantisation in place; ``keep_float`` names the MatMul roles (see
    :func:`matmul_roles`) left in float. Returns the nodes kept in float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = folder / "model.onnx"
    roles = matmul_roles(source)
    excluded = [name for role in keep_float for name in roles.get(role, [])]
    target = folder / "model.int8.onnx"
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        nodes_to_exclude=excluded,
    )
    target.replace(source)
    return excluded


def _onnx_vectors(folder: Path, texts: Sequence[str]) -> np.ndarray[Any, Any]:
    from memsvc.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(folder, batch_size=32).embed(texts)


def _build_onnx(
    model: Any, source_dir: Path, folder: Path, *, quantise: bool, keep_float: Sequence[str]
) -> dict[str, Any]:
    _export_onnx(model, folder)
    _copy_tokenizer(source_dir, folder)
    # sentence-transformers 5 renamed it (the old name warns)
    size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(size())
    meta: dict[str, Any] = {
        "format": "onnx",
        "dim": dim,
        "max_length": int(model.max_seq_length),
        "exporter": "torch.onnx.export(dynamo=True)",
    }
    _write_manifest(folder, {**meta, "name": folder.name})
    texts = check_texts()
    reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    exported = cosines(_onnx_vectors(folder, texts), reference)
    meta["export_cosine"] = {"mean": float(exported.mean()), "min": float(exported.min())}
    if float(exported.mean()) < _MIN_EXPORT_COSINE:
        raise EmbeddingFailed(
            "the ONNX export does not match the float model", detail=meta["export_cosine"]
        )
    if quantise:
        meta["quantisation"] = {
            "kind": "dynamic int8 (onnxruntime.quantization.quantize_dynamic)",
            "per_channel": True,
            "float_nodes": _quantise(folder, per_channel=True, keep_float=keep_float),
        }
        quantised = cosines(_onnx_vectors(folder, texts), reference)
        meta["cosine"] = {"mean": float(quantised.mean()), "min": float(quantised.min())}
    else:
        meta["cosine"] = meta["export_cosine"]
    return meta


def _build_static(source_dir: Path, folder: Path) -> dict[str, Any]:
    from model2vec.distill import distill

    static = distill(model_name=str(source_dir), pca_dims=_STATIC_DIMS, device="cpu")
    static.save_pretrained(str(folder))
    meta: dict[str, Any] = {"format": "model2vec", "dim": int(static.dim)}
    _write_manifest(folder, {**meta, "name": folder.name})
    return meta


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))


_FFN_OUTPUT = "ffn_out"  # the feed-forward down projections (BertOutput.dense)

#: name -> (description, builder)
BUILDS: dict[str, str] = {
    "minilm-onnx": "the packaged all-MiniLM-L6-v2 as float ONNX",
    "minilm-onnx-int8": "the ONNX export, int8 weights per channel (FFN outputs kept in float)",
    "minilm-static": "model2vec static model distilled from all-MiniLM-L6-v2 (256-d)",
}


def build_model(
    name: str,
    models_dir: Path,
    *,
    source: str = PACKAGED_MODEL,
    keep_float: Sequence[str] | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the model ``name`` (one of :data:`BUILDS`) into ``models_dir / name``.

    The folder is written beside its destination and renamed into place, so a half-built
    model is never picked up. Returns the manifest.

    Args:
        keep_float: for ``minilm-onnx-int8``, the MatMul roles left unquantised
            (default: ``ffn_out``, the feed-forward output projections; see the probe in
            ``benchmarks/embed_quant_probe.py``).
        force: rebuild even when the model is there already.

    Raises:
        EmbeddingFailed: unknown name, missing build dependencies, or a failed check.
    """
    if name not in BUILDS:
        raise EmbeddingFailed(
            "unknown model to build", detail={"name": name, "known": list(BUILDS)}
        )
    target = models_dir / name
    if (target / MANIFEST_FILE).exists() and not force:
        return dict(json.loads((target / MANIFEST_FILE).read_text()))
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    source_dir = Path(resolve_model_path(source))
    try:
        model = _float_model(source)
    except ImportError as exc:
        raise EmbeddingFailed("building needs sentence-transformers and torch") from exc
    models_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=models_dir))
    try:
        say(f"building {name} from {source}")
        if name == "minilm-static":
            meta = _build_static(source_dir, folder)
            texts = check_texts()
            from memsvc.embed.static import StaticEmbedder

            ours = StaticEmbedder(folder).embed(texts)
            # a static model has its own space: report how it ranks, not raw cosines
            reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
            meta["neighbour_agreement@5"] = _neighbour_agreement(ours, reference, k=5)
        else:
            meta = _build_onnx(
                model,
                source_dir,
                folder,
                quantise=name.endswith("-int8"),
                keep_float=[_FFN_OUTPUT] if keep_float is None else keep_float,
            )
        manifest = {
            **meta,
            "name": name,
            "source": source,
            "description": BUILDS[name],
            "build_seconds": round(time.perf_counter() - started, 1),
            "bytes": sum(p.stat().st_size for p in folder.iterdir() if p.is_file()),
        }
        _write_manifest(folder, manifest)
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    except ImportError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise EmbeddingFailed(
            "building this model needs the 'fast' extra (onnx, onnxscript, model2vec)",
            detail={"missing": str(exc.name)},
        ) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    say(f"built {name} in {manifest['build_seconds']}s")
    return manifest


def _neighbour_agreement(
    ours: np.ndarray[Any, Any], reference: np.ndarray[Any, Any], *, k: int
) -> float:
    """Mean overlap of each text's top-``k`` neighbours under both models."""

    def top(vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :k]

    a, b = top(ours), top(reference)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))
