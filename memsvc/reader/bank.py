"""A memory bank: every memory's tokens as per-layer keys (before rotary) and values.

Layout per layer: ``keys[layer]`` and ``values[layer]`` are ``(kv_heads, tokens, head_dim)``;
memory ``i`` owns tokens ``offsets[i]:offsets[i + 1]`` and ``token_memory[t]`` says which memory
token ``t`` came from (citations map attention back through it). Keys are stored *before* the
rotary embedding, so the in-attention reader can treat them as position-free (Extended Mind)
and the placement reader can rotate them to wherever the prompt puts them.

A bank is derived data: it is rebuilt from its texts whenever they change, and carries the name
of the model that made it (:attr:`model`) so that a bank is never read by another model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memsvc.errors import ConfigError, InvalidInput

__all__ = ["MemoryBank"]

_FORMAT = 1


@dataclass
class MemoryBank:
    """Per-layer key/value tensors of a set of memories (see the module docstring)."""

    model: str
    keys: list[Any]
    values: list[Any]
    token_ids: Any
    token_memory: Any
    offsets: list[int]
    memory_ids: list[str]
    texts: list[str]
    _unit: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def count(self) -> int:
        """How many memories."""
        return len(self.memory_ids)

    @property
    def tokens(self) -> int:
        """How many memory tokens (per layer)."""
        return int(self.offsets[-1])

    @property
    def layers(self) -> int:
        """How many layers the bank holds keys for."""
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes held by the key and value tensors."""
        return sum(int(t.numel() * t.element_size()) for t in [*self.keys, *self.values])

    def span(self, index: int) -> tuple[int, int]:
        """Token range ``[start, end)`` of memory ``index``."""
        return self.offsets[index], self.offsets[index + 1]

    def unit_keys(self, layer: int) -> Any:
        """Keys of ``layer`` scaled to unit length (cosine retrieval), computed once."""
        import torch

        cached = self._unit.get(layer)
        if cached is None:
            cached = torch.nn.functional.normalize(self.keys[layer], dim=-1)
            self._unit[layer] = cached
        return cached

    def index_of(self, memory_id: str) -> int:
        """Position of ``memory_id`` in the bank.

        Raises:
            InvalidInput: the bank holds no such memory.
        """
        try:
            return self.memory_ids.index(memory_id)
        except ValueError:
            raise InvalidInput(f"memory {memory_id!r} is not in the bank") from None

    def select(self, indices: Sequence[int]) -> MemoryBank:
        """A new bank holding only memories ``indices``, in that order."""
        import torch

        if not indices:
            raise InvalidInput("select needs at least one memory")
        spans = [self.span(i) for i in indices]
        pos = torch.cat([torch.arange(a, b) for a, b in spans]).to(self.token_ids.device)
        offsets = [0]
        for a, b in spans:
            offsets.append(offsets[-1] + b - a)
        memory = torch.cat(
            [torch.full((b - a,), n, dtype=torch.long) for n, (a, b) in enumerate(spans)]
        ).to(self.token_ids.device)
        return MemoryBank(
            model=self.model,
            keys=[k.index_select(1, pos) for k in self.keys],
            values=[v.index_select(1, pos) for v in self.values],
            token_ids=self.token_ids.index_select(0, pos),
            token_memory=memory,
            offsets=offsets,
            memory_ids=[self.memory_ids[i] for i in indices],
            texts=[self.texts[i] for i in indices],
        )

    def grow(self, other: MemoryBank) -> MemoryBank:
        """This bank followed by ``other`` (encoded by the same model), as a new bank.

        Raises:
            ConfigError: the banks come from different models or shapes.
        """
        import torch

        if other.model != self.model or other.layers != self.layers:
            raise ConfigError("cannot grow a memory bank with one from another model")
        shift = self.tokens
        return MemoryBank(
            model=self.model,
            keys=[torch.cat([a, b], dim=1) for a, b in zip(self.keys, other.keys, strict=True)],
            values=[
                torch.cat([a, b], dim=1) for a, b in zip(self.values, other.values, strict=True)
            ],
            token_ids=torch.cat([self.token_ids, other.token_ids]),
            token_memory=torch.cat([self.token_memory, other.token_memory + self.count]),
            offsets=[*self.offsets, *(o + shift for o in other.offsets[1:])],
            memory_ids=[*self.memory_ids, *other.memory_ids],
            texts=[*self.texts, *other.texts],
        )

    def to(self, device: Any) -> MemoryBank:
        """The same bank on ``device``."""
        return MemoryBank(
            model=self.model,
            keys=[k.to(device) for k in self.keys],
            values=[v.to(device) for v in self.values],
            token_ids=self.token_ids.to(device),
            token_memory=self.token_memory.to(device),
            offsets=list(self.offsets),
            memory_ids=list(self.memory_ids),
            texts=list(self.texts),
        )

    def save(self, path: str | Path) -> None:
        """Write the bank to ``path`` (one ``torch.save`` file, tensors on the CPU)."""
        import torch

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp")
        torch.save(
            {
                "format": _FORMAT,
                "model": self.model,
                "keys": [k.cpu() for k in self.keys],
                "values": [v.cpu() for v in self.values],
                "token_ids": self.token_ids.cpu(),
                "token_memory": self.token_memory.cpu(),
                "offsets": self.offsets,
                "memory_ids": self.memory_ids,
                "texts": self.texts,
            },
            staging,
        )
        staging.replace(target)

    @classmethod
    def load(cls, path: str | Path, *, device: Any = "cpu") -> MemoryBank:
        """Read a bank written by :meth:`save`.

        Raises:
            ConfigError: the file is missing or not a memory bank.
        """
        import pickle

        import torch

        try:
            data = torch.load(Path(path), map_location=device, weights_only=True)
        except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            raise ConfigError(f"cannot read memory bank {str(path)!r}") from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ConfigError(f"{str(path)!r} is not a memory bank of format {_FORMAT}")
        return cls(
            model=str(data["model"]),
            keys=list(data["keys"]),
            values=list(data["values"]),
            token_ids=data["token_ids"],
            token_memory=data["token_memory"],
            offsets=[int(o) for o in data["offsets"]],
            memory_ids=[str(m) for m in data["memory_ids"]],
            texts=[str(t) for t in data["texts"]],
        )
