"""The attention function the reader installs in the model (transformers' AttentionInterface).

Without a reader state on the layer it is plain causal attention through PyTorch's SDPA (with
the causal mask aligned to the end of the cache, which SDPA's own ``is_causal`` is not when a
prefill follows cached tokens). With a :class:`BankRead` it is Extended Mind attention
(ALGORITHMS.md §6.2): for every query head and position, the top-k memory keys by cosine
similarity over the whole bank, found by a chunked matrix product + top-k (§7: memory bounded
by ``chunk`` keys at a time, never one Python step per token), attended together with the local
keys in ONE softmax. Memory keys carry no rotation, so they sit at position 0 for the rotated
queries. With an :class:`Observe` it is plain attention that also adds up, at the last query
position, the attention each memory span in the cache received (citations for placed K/V).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ATTENTION_NAME", "BankRead", "Observe", "register", "topk_chunked"]

ATTENTION_NAME = "memsvc_reader"
STATE_ATTR = "_memsvc_reader_state"


@dataclass
class BankRead:
    """Extended Mind reading for one layer: bank tensors and settings, plus citation mass."""

    keys: Any  # (kv_heads, N, d), before rotary
    unit_keys: Any  # the same, unit length
    values: Any  # (kv_heads, N, d)
    token_memory: Any  # (N,) memory index of each bank token
    mass: Any  # (memories,) float32, attention received, accumulated
    top_k: int
    threshold: float | None
    chunk: int


@dataclass
class Observe:
    """Citations for memories already in the cache at ``[start, start + len(token_memory))``."""

    start: int
    token_memory: Any
    mass: Any


def topk_chunked(queries: Any, keys: Any, k: int, chunk: int) -> tuple[Any, Any]:
    """Top-``k`` keys per query by dot product, ``chunk`` keys at a time.

    Args:
        queries: ``(batch, kv_heads, m, d)``.
        keys: ``(kv_heads, N, d)``.
    Returns:
        ``(scores, indices)``, each ``(batch, kv_heads, m, min(k, N))``, best first.
    """
    import torch

    n = keys.shape[1]
    k = min(k, n)
    best_v: Any = None
    best_i: Any = None
    for start in range(0, n, chunk):
        block = keys[:, start : start + chunk]
        sim = torch.matmul(queries, block.transpose(-1, -2).unsqueeze(0))
        v, i = sim.topk(min(k, block.shape[1]), dim=-1)
        i = i + start
        if best_v is not None:
            v = torch.cat([best_v, v], dim=-1)
            i = torch.cat([best_i, i], dim=-1)
            v, pick = v.topk(min(k, v.shape[-1]), dim=-1)
            i = i.gather(-1, pick)
        best_v, best_i = v, i
    return best_v, best_i


def _causal_mask(s: int, total: int, device: Any) -> Any:
    """``(s, total)`` boolean, True where query ``i`` (at ``total - s + i``) may see key ``j``."""
    import torch

    q_pos = torch.arange(total - s, total, device=device).unsqueeze(1)
    return torch.arange(total, device=device).unsqueeze(0) <= q_pos


def _plain(query: Any, key: Any, value: Any, scaling: float) -> Any:
    import torch

    s, total = query.shape[2], key.shape[2]
    mask = None
    causal = False
    if s > 1 and s == total:
        causal = True
    elif s > 1:
        mask = _causal_mask(s, total, query.device)
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    return torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=mask, is_causal=causal, scale=scaling
    )


def _observe(state: Observe, query: Any, key: Any, scaling: float) -> None:
    """Attention of the last query position to the observed span, added to ``state.mass``."""
    import torch

    b, h, _, d = query.shape
    kvh = key.shape[1]
    last = query[:, :, -1:, :].reshape(b, kvh, h // kvh, d)
    logits = torch.matmul(last, key.transpose(-1, -2)).float() * scaling
    probs = logits.softmax(dim=-1)  # (b, kvh, g, S): the last position sees every cached key
    end = state.start + state.token_memory.shape[0]
    if end > probs.shape[-1]:
        return
    span = probs[..., state.start : end].sum(dim=(0, 1, 2))
    state.mass.index_add_(0, state.token_memory, span)


def _bank_attention(state: BankRead, query: Any, key: Any, value: Any, scaling: float) -> Any:
    import torch

    b, h, s, d = query.shape
    kvh = key.shape[1]
    g = h // kvh
    k = min(state.top_k, state.keys.shape[1])
    grouped = query.reshape(b, kvh, g * s, d)  # heads kv*g + j share kv head kv
    unit_q = torch.nn.functional.normalize(grouped, dim=-1)
    sims, idx = topk_chunked(unit_q, state.unit_keys, k, state.chunk)  # (b, kvh, g*s, k)
    flat = idx.reshape(b, kvh, g * s * k, 1).expand(-1, -1, -1, d)
    bank_k = state.keys.unsqueeze(0).expand(b, -1, -1, -1)
    bank_v = state.values.unsqueeze(0).expand(b, -1, -1, -1)
    sel_k = bank_k.gather(2, flat).reshape(b, kvh, g * s, k, d)
    sel_v = bank_v.gather(2, flat).reshape(b, kvh, g * s, k, d)
    mem_logits = torch.einsum("bnmd,bnmkd->bnmk", grouped, sel_k).float() * scaling
    if state.threshold is not None:
        mem_logits = mem_logits.masked_fill(sims < state.threshold, float("-inf"))
    local = torch.matmul(grouped, key.transpose(-1, -2)).float() * scaling  # (b, kvh, g*s, S)
    total = key.shape[2]
    allowed = _causal_mask(s, total, query.device)  # (s, S)
    allowed = allowed.unsqueeze(0).expand(g, -1, -1).reshape(g * s, total)
    local = local.masked_fill(~allowed, float("-inf"))
    probs = torch.cat([mem_logits, local], dim=-1).softmax(dim=-1)
    p_mem, p_loc = probs[..., :k], probs[..., k:]
    out = torch.einsum("bnmk,bnmkd->bnmd", p_mem.to(sel_v.dtype), sel_v)
    out = out + torch.matmul(p_loc.to(value.dtype), value)
    memory = state.token_memory[idx]  # (b, kvh, g*s, k)
    state.mass.index_add_(0, memory.reshape(-1), p_mem.reshape(-1))
    return out.reshape(b, h, s, d)


def reader_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, None]:
    """The function transformers calls in every attention layer (see the module docstring)."""
    del attention_mask, dropout, kwargs  # no padding in the reader; inference only
    scale = float(scaling) if scaling is not None else query.shape[-1] ** -0.5
    state = getattr(module, STATE_ATTR, None)
    if isinstance(state, BankRead) and state.keys.shape[1] > 0:
        out = _bank_attention(state, query, key, value, scale)
    else:
        out = _plain(query, key, value, scale)
        if isinstance(state, Observe):
            _observe(state, query, key, scale)
    return out.transpose(1, 2).contiguous(), None


_registered = False


def register() -> None:
    """Make :data:`ATTENTION_NAME` known to transformers (idempotent)."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, reader_attention)
    _registered = True
