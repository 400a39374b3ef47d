"""Every language task without a model: rules, embeddings and statistics (the default backend).

- ``extract_facts``: :mod:`memsvc.llm.offline_facts` (statements, speaker attribution, dates).
- ``decide``: structure first. A neighbour with the same subject and relation (the same name,
  or relation phrases alike with the values masked) and the same value is the same fact (MERGE),
  or is closed by a negated candidate (INVALIDATE); one with another value is superseded when
  the relation holds one value at a time (``FactCandidate.single_valued``), refined when the new
  value is a more specific form (UPDATE), and otherwise left alone: it is never merged with a
  candidate just because their sentences look alike ("has a cat named Luna" / "... Max").
  Then, for facts that are no triples, the older rules: single-valued slots and negation (a
  contradiction must not be merged because the sentences look alike), near-identical text or
  high cosine (MERGE), a more specific version of a neighbour (UPDATE), else ADD.
- ``summarize`` / ``aggregate``: the most central sentences within a length bound.
- ``refine_query``: pseudo-relevance feedback, the question plus distinctive terms of what the
  last round found (the "thought" of iterative retrieval, ALGORITHMS.md §4.2, without a model).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence

from memsvc.config import LLMSettings
from memsvc.embed.base import Embedder
from memsvc.llm.attribution import third_person
from memsvc.llm.base import LLMUsage
from memsvc.llm.extractive import central_indices, feedback_terms, fit_to_length
from memsvc.llm.offline_facts import extract_facts_by_rules, is_statement
from memsvc.llm.sentences import (
    content_words,
    is_filler,
    is_question,
    normalize,
    split_sentences,
    stem,
    strip_interjections,
)
from memsvc.llm.slots import (
    Triple,
    extract_triple,
    is_negated,
    negation_free,
    same_value,
    slot_of,
    value_refines,
)
from memsvc.types import Decision, DecisionOp, FactCandidate, KnownFact, SummaryKind, Turn

__all__ = ["DEFAULT_SUMMARY_CHARS", "OfflineLLMTasks"]

#: Length bound of a summary, by kind.
DEFAULT_SUMMARY_CHARS: Mapping[SummaryKind, int] = {
    SummaryKind.EPISODE: 320,
    SummaryKind.SESSION: 600,
    SummaryKind.DAY: 700,
    SummaryKind.PROFILE: 900,
}
_SPEAKER_PREFIX = re.compile(r"^\s*(?P<name>[A-Z][\w .'\u2019\-]{0,40}?)\s*:\s+(?P<text>.+)$", re.S)


def _triple_of(
    text: str, subject: str | None, predicate: str | None, obj: str | None
) -> Triple | None:
    if subject and predicate and obj:
        return Triple(subject, predicate, obj)
    return extract_triple(text)


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(negation_free(text))}


def _slot_bonus(sentence: str) -> float:
    """Profile sentences that fill a slot (home, job, partner...) are preferred."""
    triple = extract_triple(sentence)
    return 0.1 if triple is not None and slot_of(triple.predicate) else 0.0


def _negative(text: str) -> bool:
    return is_negated(text) or re.search(r"\b(?:not|never|no)\b|n['\u2019]t\b", text) is not None


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


class OfflineLLMTasks:
    """The language tasks with no model at all.

    Args:
        embedder: used for summary and aggregate centrality.
        merge_threshold: cosine at or above which a candidate duplicates a neighbour.
        related_threshold: cosine at or above which a neighbour is compared for negation.
        summary_chars: length bound of summaries by kind (default :data:`DEFAULT_SUMMARY_CHARS`).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        merge_threshold: float = 0.9,
        related_threshold: float = 0.6,
        same_relation_threshold: float = 0.8,
        summary_chars: Mapping[SummaryKind, int] | None = None,
    ) -> None:
        self._embedder = embedder
        self._merge = merge_threshold
        self._related = related_threshold
        self._same_relation = same_relation_threshold
        self._summary_chars = dict(summary_chars or DEFAULT_SUMMARY_CHARS)
        self._usage = LLMUsage()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, cfg: LLMSettings, *, embedder: Embedder) -> OfflineLLMTasks:  # noqa: ARG003
        """Build from settings (the registry's uniform constructor; nothing in ``cfg`` applies)."""
        return cls(embedder)

    @property
    def name(self) -> str:
        """``offline`` and the embedder it uses."""
        return f"offline:{self._embedder.model_id}"

    @property
    def usage(self) -> LLMUsage:
        """Calls made (no tokens, no cost)."""
        return self._usage

    def _count(self) -> None:
        with self._lock:
            self._usage.calls += 1

    def extract_facts(
        self, turns: Sequence[Turn], *, context: Sequence[Turn] = ()
    ) -> list[FactCandidate]:
        """Facts by rules: see :mod:`memsvc.llm.offline_facts`."""
        self._count()
        return extract_facts_by_rules(turns, context)

    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        """Slot conflicts and negation, then duplicates, refinements, else ADD."""
        self._count()
        ranked = sorted(neighbours, key=lambda n: -n.similarity)
        rivals = [n for n in ranked if self._same_relation_of(candidate, n)]
        decision = self._triple_rule(candidate, rivals)
        if decision is not None:
            return decision
        others = [n for n in ranked if n not in rivals]
        rules: list[Callable[[FactCandidate, Triple | None, KnownFact], Decision | None]] = [
            self._negation_rule,
            self._text_rule,
        ]
        new: Triple | None = None
        if candidate.relation is None:
            rules.insert(0, self._slot_rule)
            new = _triple_of(
                candidate.text, candidate.subject, candidate.predicate, candidate.object
            )
        for rule in rules:
            for old in others:
                decision = rule(candidate, new, old)
                if decision is not None:
                    return decision
        return Decision(DecisionOp.ADD, "no existing fact says the same or the opposite")

    def _same_relation_of(self, cand: FactCandidate, old: KnownFact) -> bool:
        """Whether ``old`` is about the candidate's subject and relation (values aside)."""
        if not (cand.subject and cand.relation and cand.object and old.subject and old.object):
            return False
        if cand.subject.casefold() != old.subject.casefold() or old.relation is None:
            return False
        if cand.relation == old.relation:
            return True
        return (old.relation_similarity or 0.0) >= self._same_relation

    def _triple_rule(self, cand: FactCandidate, rivals: Sequence[KnownFact]) -> Decision | None:
        """Same subject and relation: same value, a negation of it, a refinement, a change."""
        assert cand.object is not None or not rivals
        for old in rivals:
            if old.object is not None and same_value(cand.object or "", old.object):
                if cand.negated:
                    return Decision(
                        DecisionOp.INVALIDATE,
                        f"{cand.subject}: {cand.relation} {old.object} no longer holds",
                        old.id,
                    )
                return Decision(DecisionOp.MERGE, "the same subject, relation and value", old.id)
        if cand.negated:
            return None
        for old in rivals:
            if old.object is not None and value_refines(cand.object or "", old.object):
                return Decision(
                    DecisionOp.UPDATE,
                    f"a more specific {cand.relation} of {cand.subject}",
                    old.id,
                    cand.text,
                )
        if cand.single_valued and rivals:
            old = max(rivals, key=lambda n: n.valid_from)
            return Decision(
                DecisionOp.INVALIDATE,
                f"{cand.subject} has one {cand.relation} at a time: the new value replaces "
                f"{old.object}",
                old.id,
            )
        if rivals:
            return Decision(
                DecisionOp.ADD,
                f"{cand.relation} holds several values: {cand.object} joins "
                + ", ".join(str(r.object) for r in rivals[:3]),
            )
        return None

    def _slot_rule(
        self, cand: FactCandidate, new: Triple | None, old: KnownFact
    ) -> Decision | None:
        prev = _triple_of(old.text, old.subject, old.predicate, old.object)
        if new is None or prev is None or new.subject.lower() != prev.subject.lower():
            return None
        slot = slot_of(new.predicate)
        if slot is None or slot != slot_of(prev.predicate):
            return None
        if same_value(new.object, prev.object):
            return None
        if value_refines(new.object, prev.object):
            return Decision(
                DecisionOp.UPDATE, f"more specific {slot} of {new.subject}", old.id, cand.text
            )
        return Decision(
            DecisionOp.INVALIDATE,
            f"{new.subject} has one {slot} at a time: the new value replaces the old one",
            old.id,
        )

    def _negation_rule(
        self, cand: FactCandidate, _: Triple | None, old: KnownFact
    ) -> Decision | None:
        if _negative(cand.text) == _negative(old.text) or old.similarity < self._related:
            return None
        if _overlap(_stems(cand.text), _stems(old.text)) < 0.6:
            return None
        if _negative(cand.text):
            return Decision(
                DecisionOp.INVALIDATE, "the new fact says this is no longer true", old.id
            )
        return Decision(DecisionOp.INVALIDATE, "the new fact contradicts a negated one", old.id)

    def _text_rule(self, cand: FactCandidate, _: Triple | None, old: KnownFact) -> Decision | None:
        new_key, old_key = normalize(cand.text), normalize(old.text)
        if new_key == old_key:
            return Decision(DecisionOp.MERGE, "same fact", old.id)
        new_words, old_words = _stems(cand.text), _stems(old.text)
        if old_words < new_words and (old_key in new_key or old.similarity >= self._related):
            return Decision(DecisionOp.UPDATE, "refines an existing fact", old.id, cand.text)
        if old.similarity >= self._merge or (new_words and new_words <= old_words):
            return Decision(DecisionOp.MERGE, "an existing fact already says this", old.id)
        return None

    def summarize(self, texts: Sequence[str], kind: SummaryKind) -> str:
        """The most central statements of ``texts``, in order, within the kind's length bound."""
        self._count()
        sentences = self._summary_sentences(texts, kind)
        if not sentences:
            return ""
        vectors = self._embedder.embed(sentences)
        bonus = [_slot_bonus(s) for s in sentences] if kind is SummaryKind.PROFILE else None
        limit = self._summary_chars[kind]
        picked = central_indices(vectors, [len(s) for s in sentences], max_chars=limit, bonus=bonus)
        return fit_to_length(" ".join(sentences[i] for i in picked), limit)

    def _summary_sentences(self, texts: Sequence[str], kind: SummaryKind) -> list[str]:
        """Statements of ``texts``; "Name: ..." lines are rewritten in the third person."""
        prefixed = [_SPEAKER_PREFIX.match(t) for t in texts]
        names = frozenset(m["name"] for m in prefixed if m)
        out: list[str] = []
        for text, match in zip(texts, prefixed, strict=True):
            body = match["text"] if match else text
            for raw in split_sentences(body):
                sentence = strip_interjections(raw)
                if match is None:
                    if sentence and not (is_question(sentence) or is_filler(sentence)):
                        out.append(sentence)
                elif is_statement(sentence, names):
                    others = names - {match["name"]}
                    addressee = next(iter(others)) if len(others) == 1 else None
                    out.append(third_person(sentence, speaker=match["name"], addressee=addressee))
        seen: set[str] = set()
        unique = []
        for sentence in out:
            if normalize(sentence) not in seen:
                seen.add(normalize(sentence))
                unique.append(sentence)
        if unique or kind is SummaryKind.PROFILE:
            return unique
        return [s for t in texts for s in split_sentences(t)]

    def aggregate(self, node_text: str, new_text: str, n: int) -> str:
        """MemTree parent update: the most central sentences of both, the old weighted by ``n``.

        The bound shrinks as entries accumulate, so upper nodes stay short and abstract.
        """
        self._count()
        limit = max(240, 560 - 32 * max(0, n))
        old = split_sentences(node_text)
        new = split_sentences(new_text)
        if not old:
            return fit_to_length(new_text.strip(), limit)
        sentences = old + new
        weights = [max(1, n) / len(old)] * len(old) + [1.0 / max(1, len(new))] * len(new)
        vectors = self._embedder.embed(sentences)
        picked = central_indices(
            vectors, [len(s) for s in sentences], max_chars=limit, weights=weights
        )
        return fit_to_length(" ".join(sentences[i] for i in picked), limit)

    def refine_query(self, question: str, retrieved: Sequence[str]) -> str:
        """The question plus the most distinctive terms of the top retrieved texts."""
        self._count()
        terms = feedback_terms(question, retrieved)
        return f"{question} {' '.join(terms)}" if terms else question
