"""Memory banks and the in-attention retrieval maths, on small random tensors (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from memsvc.errors import ConfigError, InvalidInput
from memsvc.reader import MemoryBank
from memsvc.reader.attention import BankRead, reader_attention, topk_chunked


def _bank(model: str, lengths: list[int], *, layers: int = 2, seed: int = 0) -> MemoryBank:
    gen = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    offsets = [0]
    for length in lengths:
        offsets.append(offsets[-1] + length)
    return MemoryBank(
        model=model,
        keys=[torch.randn(3, n, 8, generator=gen) for _ in range(layers)],
        values=[torch.randn(3, n, 8, generator=gen) for _ in range(layers)],
        token_ids=torch.arange(n),
        token_memory=torch.tensor([i for i, length in enumerate(lengths) for _ in range(length)]),
        offsets=offsets,
        memory_ids=[f"fact_{i}" for i in range(len(lengths))],
        texts=[f"text {i}" for i in range(len(lengths))],
    )


def test_bank_select_grow_save_and_load_keep_every_tensor(tmp_path: Path) -> None:
    bank = _bank("m", [2, 3, 4])
    picked = bank.select([2, 0])
    assert picked.memory_ids == ["fact_2", "fact_0"] and picked.offsets == [0, 4, 6]
    assert torch.equal(picked.keys[1][:, :4], bank.keys[1][:, 5:9])
    assert picked.token_memory.tolist() == [0, 0, 0, 0, 1, 1]

    grown = bank.grow(_bank("m", [5], seed=1))
    assert grown.count == 4 and grown.tokens == 14 and grown.span(3) == (9, 14)
    assert grown.token_memory[-1].item() == 3
    assert torch.equal(grown.keys[0][:, :9], bank.keys[0])  # old entries are not re-encoded

    path = tmp_path / "banks" / "b.pt"
    grown.save(path)
    loaded = MemoryBank.load(path)
    assert loaded.memory_ids == grown.memory_ids and loaded.offsets == grown.offsets
    for a, b in zip(loaded.keys + loaded.values, grown.keys + grown.values, strict=True):
        assert torch.equal(a, b)
    assert loaded.nbytes == grown.nbytes > 0


def test_bank_refuses_other_models_files_and_unknown_ids(tmp_path: Path) -> None:
    bank = _bank("m", [2])
    with pytest.raises(ConfigError):
        bank.grow(_bank("other", [2]))
    (tmp_path / "junk.pt").write_bytes(b"not a bank")
    with pytest.raises(ConfigError):
        MemoryBank.load(tmp_path / "junk.pt")
    with pytest.raises(InvalidInput):
        bank.index_of("fact_9")


def test_chunked_topk_equals_topk_over_the_whole_bank() -> None:
    gen = torch.Generator().manual_seed(3)
    queries = torch.randn(1, 3, 7, 8, generator=gen)
    keys = torch.randn(3, 1000, 8, generator=gen)
    scores, idx = topk_chunked(queries, keys, 10, chunk=96)
    full = torch.matmul(queries, keys.transpose(-1, -2).unsqueeze(0))
    want_scores, want_idx = full.topk(10, dim=-1)
    assert torch.allclose(scores, want_scores) and torch.equal(idx, want_idx)


class _Layer(torch.nn.Module):
    is_causal = True


def test_extended_mind_with_every_key_selected_is_one_softmax_over_memory_and_context() -> None:
    """k >= bank size: each query attends to all memory keys (unrotated, visible to every
    position) plus its causal context, in one softmax: that is SDPA over the concatenation."""
    gen = torch.Generator().manual_seed(5)
    b, h, kvh, s, d, n = 1, 6, 3, 4, 8, 5
    query = torch.randn(b, h, s, d, generator=gen)
    key = torch.randn(b, kvh, s, d, generator=gen)
    value = torch.randn(b, kvh, s, d, generator=gen)
    mem_k = torch.randn(kvh, n, d, generator=gen)
    mem_v = torch.randn(kvh, n, d, generator=gen)
    layer = _Layer()
    mass = torch.zeros(2)
    layer._memsvc_reader_state = BankRead(  # type: ignore[assignment]
        keys=mem_k,
        unit_keys=torch.nn.functional.normalize(mem_k, dim=-1),
        values=mem_v,
        token_memory=torch.tensor([0, 0, 1, 1, 1]),
        mass=mass,
        top_k=n,
        threshold=None,
        chunk=2,
    )
    out, _ = reader_attention(layer, query, key, value, None, scaling=d**-0.5)

    all_k = torch.cat([mem_k.unsqueeze(0), key], dim=2).repeat_interleave(h // kvh, dim=1)
    all_v = torch.cat([mem_v.unsqueeze(0), value], dim=2).repeat_interleave(h // kvh, dim=1)
    allowed = torch.ones(s, n + s, dtype=torch.bool)
    allowed[:, n:] = torch.tril(torch.ones(s, s, dtype=torch.bool))
    want = torch.nn.functional.scaled_dot_product_attention(query, all_k, all_v, attn_mask=allowed)
    assert torch.allclose(out, want.transpose(1, 2), atol=1e-5)
    # Citations: the attention given to memories, split by memory, summed over heads/positions.
    assert mass.sum().item() > 0 and mass.shape == (2,)
