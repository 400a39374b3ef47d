"""Deterministic stand-ins for the language tasks, shared by the policy tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from memsvc.llm.base import LLMUsage
from memsvc.types import Decision, FactCandidate, KnownFact, SummaryKind, Turn


class ScriptedLLM:
    """A deterministic stand-in for ``LLMTasks``.

    ``aggregate`` joins the new text in front of the node's text (bounded in length) and records
    each call; ``decide`` returns the scripted decision. With ``barrier``, every ``aggregate``
    call waits until ``barrier.parties`` calls are in flight at once (proves they run in parallel).
    """

    def __init__(
        self, decision: Decision | None = None, *, barrier: threading.Barrier | None = None
    ) -> None:
        self.decision = decision
        self.barrier = barrier
        self.aggregate_calls: list[tuple[str, str, int]] = []
        self.decide_calls = 0
        self._lock = threading.Lock()
        self._usage = LLMUsage()

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def usage(self) -> LLMUsage:
        return self._usage

    def extract_facts(
        self, turns: Sequence[Turn], *, context: Sequence[Turn] = ()
    ) -> list[FactCandidate]:
        return []

    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        self.decide_calls += 1
        if self.decision is None:
            raise AssertionError("decide() was not expected to be called")
        return self.decision

    def summarize(self, texts: Sequence[str], kind: SummaryKind) -> str:
        return " ".join(texts)

    def aggregate(self, node_text: str, new_text: str, n: int) -> str:
        with self._lock:
            self.aggregate_calls.append((node_text, new_text, n))
        if self.barrier is not None:
            self.barrier.wait()
        return f"{new_text} / {node_text}"[:300]

    def refine_query(self, question: str, retrieved: Sequence[str]) -> str:
        return question
