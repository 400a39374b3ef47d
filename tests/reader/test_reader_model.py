"""The reader on the real SmolLM2-135M (CPU): every mode reads invented facts (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from memsvc.errors import InvalidInput
from memsvc.llm.local_model import load_causal_lm, packaged_gguf
from memsvc.reader import MemoryBank, Reader, ReaderSettings

pytestmark = pytest.mark.slow

FACTS = [
    "The capital of Zorbania is Quillford.",
    "Mira Tolvane keeps a parrot named Biscuit.",
    "Dr. Anselm Varga owns a purple llama named Pickle.",
]
QUESTION = "What is the capital of Zorbania?"


@pytest.fixture(scope="module")
def reader(model_cache: Path) -> Reader:
    model, tokenizer = load_causal_lm(str(packaged_gguf()), str(model_cache), "cpu")
    return Reader(model, tokenizer, name="smollm2", settings=ReaderSettings(max_new_tokens=10))


@pytest.fixture(scope="module")
def bank(reader: Reader) -> MemoryBank:
    return reader.encode(FACTS, ["fact_1", "fact_2", "fact_3"])


def test_bank_keeps_keys_before_rotary_for_every_layer(reader: Reader, bank: MemoryBank) -> None:
    assert bank.layers == reader.layers == 30 and bank.count == 3
    first = reader.encode(FACTS[:1])
    a, b = bank.span(0)
    # Encoded alone or in a batch, a memory's keys are the same (right padding is invisible).
    assert torch.allclose(first.keys[7][:, : b - a], bank.keys[7][:, a:b], atol=1e-4)
    # Position-free: the first token's pre-rotary key of layer 0 depends on the token alone.
    solo = reader.encode(["The"])
    assert torch.allclose(solo.keys[0][:, 0], reader.encode(["The end"]).keys[0][:, 0], atol=1e-5)


def test_placed_keys_values_answer_like_the_prompt_and_cite_the_fact(
    reader: Reader, bank: MemoryBank
) -> None:
    placed = reader.read(QUESTION, bank, select=[0, 1], settings=ReaderSettings(mode="kv"))
    prompt = reader.read(QUESTION, bank, select=[0, 1], settings=ReaderSettings(mode="prompt"))
    alone = reader.read(QUESTION, bank, settings=ReaderSettings(mode="none"))
    assert "Quillford" in placed.answer and "Quillford" in prompt.answer
    assert "Quillford" not in alone.answer and alone.citations == ()
    assert placed.citations[0].memory_id == "fact_1" == prompt.citations[0].memory_id
    # kv prefills only the question: the memory tokens are read from the bank.
    assert placed.memory_tokens == bank.span(1)[1] and placed.prompt_tokens == prompt.prompt_tokens


def test_extended_mind_reads_the_whole_bank_inside_attention(
    reader: Reader, bank: MemoryBank, tmp_path: Path
) -> None:
    bank.save(tmp_path / "bank.pt")
    loaded = MemoryBank.load(tmp_path / "bank.pt")
    res = reader.read(QUESTION, loaded, settings=ReaderSettings(mode="attention", top_k=10))
    assert res.mode == "attention" and "Quillford" in res.answer
    assert res.citations[0].memory_id == "fact_1"
    assert abs(sum(c.weight for c in res.citations) - 1) < 1e-3


def test_injection_mode_and_bad_settings(reader: Reader, bank: MemoryBank) -> None:
    res = reader.read(QUESTION, bank, select=[0], settings=ReaderSettings(mode="inject"))
    assert res.mode == "inject" and [c.memory_id for c in res.citations] == ["fact_1"]
    with pytest.raises(InvalidInput):
        reader.read(
            QUESTION, bank, select=[0], settings=ReaderSettings(mode="inject", inject_layer=99)
        )
    with pytest.raises(InvalidInput):
        ReaderSettings(mode="telepathy")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        reader.read("  ", bank)
    other = MemoryBank(**{**bank.__dict__, "model": "another-model", "_unit": {}})
    with pytest.raises(InvalidInput):
        reader.read(QUESTION, other)
