"""Whether a relation holds one value at a time (home, employer, partner) or many (pets,
friends, pastimes), decided from configuration, priors and evidence (ALGORITHMS.md §8.4).

In order:

1. configuration (``consolidation.facts.single_valued`` / ``multi_valued``) decides outright;
2. a prior relation (:data:`memsvc.llm.relations.PRIOR_RELATIONS`) keeps its cardinality: the
   evidence below cannot outweigh it (a "new dog" is another dog, not a replacement);
3. otherwise the evidence: the statements of this relation seen so far with a change cue
   ("now", "moved", "no longer", "quit", "broke up") against those with an addition cue
   ("also", "another", "too"), subjects seen holding several values at once (which only a
   many-valued relation does), and the candidate's own cue. With no evidence at all a
   relation is many-valued: a value that was never replaced is never marked superseded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["RelationEvidence", "is_single_valued"]

_PRIOR_WEIGHT = 2.0
_CUE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class RelationEvidence:
    """What the stored facts of one relation say about its cardinality.

    ``change``/``addition``: statements with a change or an addition cue; ``concurrent``:
    subjects holding two or more distinct values at the same time; ``subjects``: subjects seen.
    """

    change: int = 0
    addition: int = 0
    concurrent: int = 0
    subjects: int = 0


def is_single_valued(
    relation: str,
    *,
    evidence: RelationEvidence,
    prior: bool | None = None,
    cue: str | None = None,
    single: Collection[str] = (),
    multi: Collection[str] = (),
) -> bool:
    """Whether ``relation`` holds one value at a time; see the module docstring for the order."""
    if relation in single:
        return True
    if relation in multi:
        return False
    score = 0.0 if prior is None else (_PRIOR_WEIGHT if prior else -_PRIOR_WEIGHT)
    if cue == "change":
        score += _CUE_WEIGHT
    elif cue == "addition":
        score -= _CUE_WEIGHT
    seen = evidence.change + evidence.addition + evidence.concurrent
    if seen:
        score += (evidence.change - evidence.addition - 2 * evidence.concurrent) / (seen + 1)
    return score > 0
