"""Which int8 quantisation of the ONNX MiniLM keeps its vectors (issue 15).

Quantises the float ONNX export (``memsvc embed build minilm-onnx``) in several ways with
``onnxruntime.quantization.quantize_dynamic`` and reports, on LoCoMo turns of conversations 1-5
(the tuning half), the cosine of each variant's vectors to the float model's, and its encode
rate (texts/s, batches of 16, sorted by length):

    python benchmarks/embed_quant_probe.py --models-dir ~/.memsvc/models --turns 600
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, machine


def _turns(n: int) -> list[str]:
    from benchmarks.locomo.data import DEFAULT_LOCOMO, load_locomo

    texts: list[str] = []
    for conversation in load_locomo(DEFAULT_LOCOMO)[:5]:
        for session in conversation.sessions:
            texts += [f"{t.speaker}: {t.text}" for t in session.turns]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def _roles(model_path: Path) -> dict[str, list[str]]:
    """MatMul node names by role in the exported graph (found by what feeds them)."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    produced_by = {out: node for node in graph.node for out in node.output}
    roles: dict[str, list[str]] = {"ffn_out": [], "ffn_in": [], "attn_out": [], "qkv": []}
    weights = {i.name for i in graph.initializer} | {
        n.output[0] for n in graph.node if n.op_type == "Constant"
    }
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            continue
        source = produced_by.get(node.input[0])
        feeds_gelu = any(
            "gelu" in c.op_type.lower() or "erf" in c.op_type.lower() or "gelu" in c.name.lower()
            for out in node.output
            for c in consumers.get(out, [])
            for _ in [0]
        ) or any(
            "gelu" in (c2.op_type + c2.name).lower()
            for out in node.output
            for c in consumers.get(out, [])
            for o2 in c.output
            for c2 in consumers.get(o2, [])
        )
        if "gelu" in node.input[0].lower() or (
            source is not None and "gelu" in (source.op_type + source.name).lower()
        ):
            roles["ffn_out"].append(node.name)
        elif feeds_gelu:
            roles["ffn_in"].append(node.name)
        elif "view" in node.input[0] or (source is not None and source.op_type == "Reshape"):
            roles["attn_out"].append(node.name)
        else:
            roles["qkv"].append(node.name)
    return roles


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".memsvc" / "models")
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--out", type=Path, default=RESULTS / "embed_quant_probe.json")
    args = parser.parse_args()

    import numpy as np
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from memsvc.embed.build import build_model, cosines
    from memsvc.embed.onnx import OnnxEmbedder

    build_model("minilm-onnx", args.models_dir)
    source = args.models_dir / "minilm-onnx"
    texts = _turns(args.turns)
    roles = _roles(source / "model.onnx")
    print({k: len(v) for k, v in roles.items()})

    def rate_and_vectors(folder: Path) -> tuple[float, Any]:
        embedder = OnnxEmbedder(folder, batch_size=16)
        embedder.embed(texts[:32])
        started = time.perf_counter()
        vectors = embedder.embed(texts)
        return len(texts) / (time.perf_counter() - started), vectors

    float_rate, reference = rate_and_vectors(source)
    variants: dict[str, dict[str, Any]] = {
        "int8 per-tensor, all": {"per_channel": False, "keep": []},
        "int8 per-channel, all": {"per_channel": True, "keep": []},
        "int8 per-channel, FFN out float": {"per_channel": True, "keep": ["ffn_out"]},
        "int8 per-channel, FFN float": {"per_channel": True, "keep": ["ffn_out", "ffn_in"]},
        "int8 per-channel, attention float": {"per_channel": True, "keep": ["qkv", "attn_out"]},
    }
    results: dict[str, Any] = {"float": {"texts_per_s": round(float_rate, 1), "cosine_mean": 1.0}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in variants.items():
            folder = Path(tmp) / name.replace(" ", "_").replace(",", "")
            shutil.copytree(source, folder)
            excluded = [n for role in spec["keep"] for n in roles[role]]
            quantize_dynamic(
                str(source / "model.onnx"),
                str(folder / "model.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=spec["per_channel"],
                nodes_to_exclude=excluded,
            )
            rate, vectors = rate_and_vectors(folder)
            cos = cosines(vectors, reference)
            results[name] = {
                "texts_per_s": round(rate, 1),
                "speedup": round(rate / float_rate, 2),
                "cosine_mean": round(float(cos.mean()), 4),
                "cosine_p5": round(float(np.percentile(cos, 5)), 4),
                "cosine_min": round(float(cos.min()), 4),
                "float_nodes": len(excluded),
                "bytes": (folder / "model.onnx").stat().st_size,
            }
            print(name, results[name], flush=True)
    payload = {
        "command": "python benchmarks/embed_quant_probe.py " + f"--turns {args.turns}",
        "machine": machine(),
        "texts": len(texts),
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
