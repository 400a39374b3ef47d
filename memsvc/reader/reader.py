"""Reader: encode memories into a bank, then answer a question by reading it (five modes).

The model comes in loaded (``transformers`` causal LM with Llama-style attention modules:
``q_proj``/``k_proj``/``v_proj`` and a ``rotary_emb`` on the decoder); the reader installs its
attention function in that instance, so give it a model of its own. Decoding is greedy and
one request at a time (a lock serialises calls); time to first token is measured from the
call, so it includes retrieval inside attention and the placement of memory keys/values.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from memsvc.errors import InvalidInput, LLMError
from memsvc.reader import attention
from memsvc.reader.bank import MemoryBank

__all__ = ["Citation", "ReadResult", "Reader", "ReaderSettings"]

Mode = Literal["kv", "attention", "inject", "prompt", "none"]
MODES: tuple[str, ...] = ("kv", "attention", "inject", "prompt", "none")

_PLACEHOLDER = "\x00MEMORIES\x00"


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    """How the reader reads. Defaults follow the issue-16 calibration and §6.2/§6.3.

    Attributes:
        mode: see the package docstring.
        top_k: memory keys per query head and position (``attention`` mode; Extended Mind's
            default is 10).
        layers: layers that read the bank in ``attention`` mode (``None``: all, as in the paper).
        threshold: cosine similarity a memory key needs to be attended (``None``: no mask).
        chunk: bank keys scored per matrix product (bounds the retrieval's memory, §7).
        max_new_tokens: answer length cap.
        inject_layer: layer whose attention output gets the memory vector (``inject`` mode;
            ``None``: the middle layer).
        inject_scale: the injection's factor τ.
        encode_batch: memories encoded per forward pass.
        system_prompt: the instruction before the memories.
    """

    mode: Mode = "kv"
    top_k: int = 10
    layers: tuple[int, ...] | None = None
    threshold: float | None = None
    chunk: int = 16_384
    max_new_tokens: int = 16
    inject_layer: int | None = None
    inject_scale: float = 4.0
    encode_batch: int = 32
    system_prompt: str = (
        "Answer the question from the memories. Reply with the answer only, in a few words."
    )

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"unknown reader mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.top_k < 1 or self.chunk < 1 or self.max_new_tokens < 1 or self.encode_batch < 1:
            raise InvalidInput("top_k, chunk, max_new_tokens and encode_batch must be >= 1")


@dataclass(frozen=True, slots=True)
class Citation:
    """A memory the answer attended to, with its share of the attention given to memories."""

    memory_id: str
    text: str
    weight: float


@dataclass(frozen=True, slots=True)
class ReadResult:
    """An answer, the memories it attended to most, and how long it took."""

    answer: str
    citations: tuple[Citation, ...]
    mode: str
    prompt_tokens: int
    memory_tokens: int
    new_tokens: int
    ttft_s: float
    total_s: float


class Reader:
    """A causal LM that answers from a :class:`MemoryBank`.

    Args:
        model: a loaded transformers causal LM (Llama-style attention), in eval mode. The
            reader switches its attention implementation: do not share it with other code.
        tokenizer: its tokenizer (with a chat template).
        name: the model's name, stamped on banks it encodes.
        settings: defaults for :meth:`read`.
    """

    def __init__(
        self, model: Any, tokenizer: Any, *, name: str, settings: ReaderSettings | None = None
    ) -> None:
        self._model = model
        self._tok = tokenizer
        self.name = name
        self.settings = settings or ReaderSettings()
        self._lock = threading.Lock()
        self._attn = sorted(
            (m for m in model.modules() if hasattr(m, "k_proj") and hasattr(m, "layer_idx")),
            key=lambda m: int(m.layer_idx),
        )
        if not self._attn:
            raise LLMError("the reader needs a model with Llama-style attention (k_proj, v_proj)")
        self._rotary = _find_rotary(model)
        attention.register()
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(attention.ATTENTION_NAME)
        else:  # pragma: no cover - older transformers
            model.config._attn_implementation = attention.ATTENTION_NAME
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        first = next(model.parameters())
        self.device = first.device
        self.dtype = first.dtype
        self._stops = {tokenizer.eos_token_id, _token_id(tokenizer, "<|im_end|>")}
        self._stops.discard(None)
        self._head_cache: dict[str, tuple[list[Any], list[Any]]] = {}

    @property
    def layers(self) -> int:
        """How many attention layers the model has."""
        return len(self._attn)

    # ---------------------------------------------------------------- banks

    def encode(self, texts: Sequence[str], memory_ids: Sequence[str] | None = None) -> MemoryBank:
        """Encode ``texts`` (each on its own, as a line of the memory block) into a bank.

        Raises:
            InvalidInput: no texts, an empty text, or ids that do not match.
        """
        import torch

        ids = list(memory_ids) if memory_ids is not None else [str(i) for i in range(len(texts))]
        if not texts or len(ids) != len(texts):
            raise InvalidInput("encode needs texts and as many memory ids")
        pieces = [self._memory_ids(t) for t in texts]
        if any(not p for p in pieces):
            raise InvalidInput("a memory text is empty")
        layers = len(self._attn)
        keys: list[list[Any]] = [[None] * len(texts) for _ in range(layers)]
        values: list[list[Any]] = [[None] * len(texts) for _ in range(layers)]
        order = sorted(range(len(texts)), key=lambda i: len(pieces[i]))
        batch = self.settings.encode_batch
        with self._lock, torch.inference_mode(), self._errors("encoding memories"):
            for start in range(0, len(order), batch):
                group = order[start : start + batch]
                k_out, v_out = self._encode_batch([pieces[i] for i in group])
                for layer in range(layers):
                    for row, i in enumerate(group):
                        n = len(pieces[i])
                        keys[layer][i] = k_out[layer][row, :, :n]
                        values[layer][i] = v_out[layer][row, :, :n]
        offsets = [0]
        for p in pieces:
            offsets.append(offsets[-1] + len(p))
        return MemoryBank(
            model=self.name,
            keys=[torch.cat(k, dim=1).contiguous() for k in keys],
            values=[torch.cat(v, dim=1).contiguous() for v in values],
            token_ids=torch.tensor([t for p in pieces for t in p], device=self.device),
            token_memory=torch.tensor(
                [n for n, p in enumerate(pieces) for _ in p], device=self.device
            ),
            offsets=offsets,
            memory_ids=ids,
            texts=list(texts),
        )

    def grow(
        self, bank: MemoryBank, texts: Sequence[str], memory_ids: Sequence[str] | None = None
    ) -> MemoryBank:
        """``bank`` with ``texts`` encoded and appended (the old entries are not re-encoded)."""
        self._check_bank(bank)
        return bank.grow(self.encode(texts, memory_ids))

    def _memory_ids(self, text: str) -> list[int]:
        return list(self._tok(text.strip() + "\n", add_special_tokens=False)["input_ids"])

    def _encode_batch(self, pieces: Sequence[list[int]]) -> tuple[list[Any], list[Any]]:
        """Keys (before rotary) and values of right-padded ``pieces``: per layer (b, kvh, L, d).

        Right padding needs no mask under causal attention: no real token sees a pad.
        """
        import torch

        width = max(len(p) for p in pieces)
        pad = self._tok.pad_token_id if self._tok.pad_token_id is not None else 0
        rows = [p + [pad] * (width - len(p)) for p in pieces]
        ids = torch.tensor(rows, device=self.device)
        captured_k: list[Any] = [None] * len(self._attn)
        captured_v: list[Any] = [None] * len(self._attn)
        handles = []
        for n, module in enumerate(self._attn):
            d = int(module.head_dim)

            def keep(store: list[Any], n: int, d: int) -> Any:
                def hook(_mod: Any, _inp: Any, out: Any) -> None:
                    b, length, _ = out.shape
                    store[n] = out.view(b, length, -1, d).transpose(1, 2)

                return hook

            handles.append(module.k_proj.register_forward_hook(keep(captured_k, n, d)))
            handles.append(module.v_proj.register_forward_hook(keep(captured_v, n, d)))
        try:
            self._model(input_ids=ids, use_cache=False)
        finally:
            for h in handles:
                h.remove()
        return captured_k, captured_v

    def _check_bank(self, bank: MemoryBank) -> None:
        if bank.model != self.name or bank.layers != len(self._attn):
            raise InvalidInput(
                f"the memory bank was made by {bank.model!r}, not by this reader's {self.name!r}"
            )

    # ---------------------------------------------------------------- reading

    def read(
        self,
        question: str,
        bank: MemoryBank | None = None,
        *,
        select: Sequence[int] | None = None,
        settings: ReaderSettings | None = None,
    ) -> ReadResult:
        """Answer ``question`` from ``bank`` (or from nothing, in ``none`` mode).

        Args:
            select: the memories (bank positions, best first) to read; ``None``: all of them.
                ``kv``, ``prompt`` and ``inject`` read exactly these; ``attention`` retrieves
                inside them (the whole bank when ``None``).
            settings: overrides :attr:`settings` for this call.

        Raises:
            InvalidInput: an empty question, or a bank from another model.
        """
        import torch

        cfg = settings or self.settings
        if not question.strip():
            raise InvalidInput("the question is empty")
        started = time.perf_counter()
        if cfg.mode != "none" and bank is not None:
            self._check_bank(bank)
            if select is not None:
                bank = bank.select(list(select)) if select else None
        if cfg.mode == "none":
            bank = None
        with self._lock, torch.inference_mode(), self._errors("reading"):
            return self._read(question, bank, cfg, started)

    def _read(
        self, question: str, bank: MemoryBank | None, cfg: ReaderSettings, started: float
    ) -> ReadResult:
        import torch

        mode = cfg.mode if bank is not None else "none"
        head, tail = self._prompt_parts(question, cfg)
        tail_ids = self._ids(tail)
        mass = torch.zeros(bank.count if bank else 0, dtype=torch.float32, device=self.device)
        memory_tokens = bank.tokens if bank else 0
        hooks: list[Any] = []
        if mode in ("kv", "inject", "attention", "none"):
            head_k, head_v = self._head(head, cfg)
            past = len(self._ids(head))
            layer_kv = [list(p) for p in zip(head_k, head_v, strict=True)]
            if mode == "kv" and bank is not None:
                positions = torch.arange(past, past + bank.tokens, device=self.device)
                cos, sin = self._rotary(bank.keys[0].unsqueeze(0), positions.unsqueeze(0))
                for n, pair in enumerate(layer_kv):
                    rotated = _rotate(bank.keys[n], cos, sin)
                    pair[0] = torch.cat([pair[0], rotated.unsqueeze(0)], dim=2)
                    pair[1] = torch.cat([pair[1], bank.values[n].unsqueeze(0)], dim=2)
                self._set_states(lambda _n: attention.Observe(past, bank.token_memory, mass))
                past += bank.tokens
            elif mode == "attention" and bank is not None:
                chosen = set(cfg.layers) if cfg.layers is not None else None
                self._set_states(
                    lambda n: (
                        attention.BankRead(
                            keys=bank.keys[n],
                            unit_keys=bank.unit_keys(n),
                            values=bank.values[n],
                            token_memory=bank.token_memory,
                            mass=mass,
                            top_k=cfg.top_k,
                            threshold=cfg.threshold,
                            chunk=cfg.chunk,
                        )
                        if chosen is None or n in chosen
                        else None
                    )
                )
            elif mode == "inject" and bank is not None:
                hooks.append(self._inject(bank, cfg))
                mass += 1.0 / bank.count
            from transformers import DynamicCache

            cache = DynamicCache(ddp_cache_data=[(k, v) for k, v in layer_kv])
            prefill = tail_ids
        else:  # prompt: the memory tokens are prefilled like any prompt text
            assert bank is not None
            head_ids = self._ids(head)
            self._set_states(lambda _n: attention.Observe(len(head_ids), bank.token_memory, mass))
            cache = None
            past = 0
            prefill = head_ids + bank.token_ids.tolist() + tail_ids
        try:
            tokens, ttft = self._decode(prefill, past, cache, cfg.max_new_tokens, started)
        finally:
            self._set_states(lambda _n: None)
            for h in hooks:
                h.remove()
        answer = self._tok.decode(tokens, skip_special_tokens=True).strip()
        return ReadResult(
            answer=answer.split("\n")[0].strip(),
            citations=_citations(bank, mass) if bank is not None else (),
            mode=mode,
            prompt_tokens=len(prefill) + past,
            memory_tokens=memory_tokens,
            new_tokens=len(tokens),
            ttft_s=ttft,
            total_s=time.perf_counter() - started,
        )

    def _decode(
        self, prefill: list[int], past: int, cache: Any, max_new: int, started: float
    ) -> tuple[list[int], float]:
        import torch

        ids = torch.tensor([prefill], device=self.device)
        positions = torch.arange(past, past + len(prefill), device=self.device).unsqueeze(0)
        kwargs: dict[str, Any] = {"use_cache": True, "logits_to_keep": 1}
        if cache is not None:
            kwargs[self._cache_arg] = cache
        out = self._model(input_ids=ids, position_ids=positions, **kwargs)
        cache = _output_cache(out)
        token = int(out.logits[0, -1].argmax())
        ttft = time.perf_counter() - started
        tokens: list[int] = []
        pos = past + len(prefill)
        newline = _token_id(self._tok, "\n")
        for _ in range(max_new):
            if token in self._stops or (token == newline and tokens):
                break
            tokens.append(token)
            step = torch.tensor([[token]], device=self.device)
            out = self._model(
                input_ids=step,
                position_ids=torch.tensor([[pos]], device=self.device),
                use_cache=True,
                **{self._cache_arg: cache},
            )
            cache = _output_cache(out)
            pos += 1
            token = int(out.logits[0, -1].argmax())
        return tokens, ttft

    def _prompt_parts(self, question: str, cfg: ReaderSettings) -> tuple[str, str]:
        """The chat prompt split around the memory block: (head, tail)."""
        messages = [
            {"role": "system", "content": cfg.system_prompt},
            {
                "role": "user",
                "content": f"Memories:\n{_PLACEHOLDER}\nQuestion: {question.strip()}",
            },
        ]
        text = str(
            self._tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        )
        head, _, tail = text.partition(_PLACEHOLDER)
        return head, tail

    def _ids(self, text: str) -> list[int]:
        return list(self._tok(text, add_special_tokens=False)["input_ids"])

    def _head(self, head: str, cfg: ReaderSettings) -> tuple[list[Any], list[Any]]:
        """Keys/values of the prompt head (system prompt + "Memories:"), computed once."""
        del cfg
        cached = self._head_cache.get(head)
        if cached is None:
            import torch
            from transformers import DynamicCache

            ids = torch.tensor([self._ids(head)], device=self.device)
            cache = DynamicCache()
            self._set_states(lambda _n: None)
            out = self._model(input_ids=ids, use_cache=True, **{self._cache_arg: cache})
            cache = _output_cache(out)
            keys = [layer[0] for layer in cache]
            values = [layer[1] for layer in cache]
            cached = (keys, values)
            self._head_cache[head] = cached
        return cached

    def _inject(self, bank: MemoryBank, cfg: ReaderSettings) -> Any:
        """Hook adding τ·Σ W_E[v] over the memories' distinct tokens to one layer's attention."""
        import torch

        table = self._model.get_input_embeddings().weight
        unique = torch.unique(bank.token_ids)
        vector = cfg.inject_scale * table.index_select(0, unique).sum(dim=0)
        layer = cfg.inject_layer if cfg.inject_layer is not None else len(self._attn) // 2
        if not 0 <= layer < len(self._attn):
            raise InvalidInput(f"inject_layer must be in [0, {len(self._attn)})")

        def hook(_mod: Any, _inp: Any, out: Any) -> Any:
            if isinstance(out, tuple):
                return (out[0] + vector, *out[1:])
            return out + vector

        return self._attn[layer].register_forward_hook(hook)

    def _set_states(self, make: Any) -> None:
        for n, module in enumerate(self._attn):
            setattr(module, attention.STATE_ATTR, make(n))

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except RuntimeError as exc:
            raise LLMError(
                f"the reader failed while {what}", detail={"error": str(exc)[:200]}
            ) from exc


def _rotate(keys: Any, cos: Any, sin: Any) -> Any:
    """Rotary embedding of ``keys`` (kvh, n, d) with the model's ``cos``/``sin`` (1, n, d)."""
    import torch

    half = keys.shape[-1] // 2
    rotated_half = torch.cat([-keys[..., half:], keys[..., :half]], dim=-1)
    return keys * cos.to(keys.dtype) + rotated_half * sin.to(keys.dtype)


def _citations(bank: MemoryBank, mass: Any) -> tuple[Citation, ...]:
    total = float(mass.sum())
    if total <= 0:
        return ()
    weights = (mass / total).tolist()
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    return tuple(
        Citation(bank.memory_ids[i], bank.texts[i], round(weights[i], 4))
        for i in order[:5]
        if weights[i] > 0
    )


def _find_rotary(model: Any) -> Any:
    for module in model.modules():
        if type(module).__name__.endswith("RotaryEmbedding"):
            return module
    raise LLMError("the reader needs a rotary-embedding (RoPE) model")


def _token_id(tokenizer: Any, text: str) -> int | None:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return int(ids[0]) if len(ids) == 1 else None


def _output_cache(output: Any) -> Any:
    cache = output.get("cache") if hasattr(output, "get") else None
    return cache if cache is not None else output.past_key_values
