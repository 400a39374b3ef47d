"""LoCoMo (Maharana et al., 2024) for evidence-recall benchmarks: loader, errata, metrics.

The data is read in place (CC BY-NC 4.0; never copied into this repository) from
``../shared/data/locomo/locomo10.json`` or a path given on the command line.

- :func:`load_locomo` returns :class:`Conversation` objects: speakers, sessions with their parsed
  date (``"1:56 pm on 8 May, 2023"``, taken as UTC) and turns with their ``dia_id``, plus the QA
  items with evidence normalised: malformed lists are split (``"D8:6; D9:17"``,
  ``"D9:1 D4:4"``), ids are canonicalised (``"D:11:26"`` → ``"D11:26"``, ``"D30:05"`` →
  ``"D30:5"``), and ids that point at no turn are dropped.
- :func:`load_errata` / ``load_locomo(..., errata=path)`` apply the locomo-audit errata
  (``errata.json``: one entry per faulty question, keyed ``locomo_<sample index>_qa<question
  index>``, with ``correct_evidence`` and ``correct_answer``).
- :func:`recall_at_k` and :func:`recall_at_tokens` score ranked hits, each mapped to the dia_ids
  it was derived from.

Evidence recall: for each question of categories 1-4 with evidence, index that conversation's
memory, search with the question, and score ``|evidence ∩ turns behind the hits| / |evidence|``.
Category 5 (adversarial) has no answerable evidence and is left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CATEGORIES",
    "DEFAULT_ERRATA",
    "DEFAULT_LOCOMO",
    "QA",
    "Conversation",
    "Erratum",
    "Session",
    "Turn",
    "apply_errata",
    "load_errata",
    "load_locomo",
    "normalise_evidence",
    "parse_session_time",
    "reader_text",
    "recall_at_k",
    "recall_at_tokens",
]

_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo"
DEFAULT_LOCOMO = _DATA / "locomo10.json"
DEFAULT_ERRATA = _DATA / "errata.json"

#: LoCoMo's question categories; 5 (adversarial) is never scored for recall.
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
SCORED_CATEGORIES = (1, 2, 3, 4)

_SESSION = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"^D:?(\d+):0*(\d+)$")


def reader_text(speaker: str | None, text: str, caption: str | None = None) -> str:
    """``"Speaker: text [image: caption]"``: one text, and one token count, for every system."""
    body = text if not caption else f"{text} [image: {caption}]"
    return f"{speaker}: {body}" if speaker else body


@dataclass(frozen=True, slots=True)
class Turn:
    """One dialogue turn. ``image_caption`` is BLIP's caption of a shared image, if any."""

    dia_id: str
    speaker: str
    text: str
    session: int
    occurred_at: datetime
    date_text: str
    image_caption: str | None = None

    def reader_text(self) -> str:
        """The turn as every system of the benchmark indexes it and is charged for it.

        ``"Caroline: text [image: caption]"``: no date (the memory service gets the time as
        ``occurred_at``, never as text), the caption of a shared image as the service's own
        event text has it (:func:`memsvc.index.documents.index_text`).
        """
        return reader_text(self.speaker, self.text, self.image_caption)

    def render(self, *, with_date: bool = True, with_caption: bool = False) -> str:
        """The turn as a memory text: ``"[1:56 pm on 8 May, 2023] Caroline: text"``.

        The session's own date string is the prefix that reproduces the reference figures of
        shared/data/README.md (a "8 May 2023, " prefix costs dense retrieval about 4 points).
        """
        text = self.text
        if with_caption and self.image_caption:
            text = f"{text} [shares {self.image_caption}]"
        if not with_date:
            return f"{self.speaker}: {text}"
        return f"[{self.date_text}] {self.speaker}: {text}"


@dataclass(frozen=True, slots=True)
class Session:
    """A session: its number, when it took place, and its turns (possibly none)."""

    number: int
    occurred_at: datetime
    date_text: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class QA:
    """One question. ``answer`` is None for adversarial questions (see ``adversarial_answer``).

    ``evidence`` is normalised; ``raw_evidence`` is the file's list as it was.
    """

    question_id: str
    question: str
    answer: str | None
    category: int
    evidence: tuple[str, ...]
    raw_evidence: tuple[str, ...] = ()
    adversarial_answer: str | None = None

    @property
    def is_scored(self) -> bool:
        """Whether the question counts in evidence recall (categories 1-4 with evidence)."""
        return self.category in SCORED_CATEGORIES and bool(self.evidence)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One LoCoMo sample: two speakers, their sessions, and the questions about them."""

    sample_id: str
    index: int
    speakers: tuple[str, str]
    sessions: tuple[Session, ...]
    qa: tuple[QA, ...]
    _turns: dict[str, Turn] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {turn.dia_id: turn for session in self.sessions for turn in session.turns}
        object.__setattr__(self, "_turns", by_id)

    @property
    def turns(self) -> list[Turn]:
        """Every turn, in conversation order."""
        return [turn for session in self.sessions for turn in session.turns]

    def turn(self, dia_id: str) -> Turn:
        """The turn with this dia_id (``KeyError`` when there is none)."""
        return self._turns[dia_id]

    @property
    def dia_ids(self) -> frozenset[str]:
        """The dia_ids of all turns."""
        return frozenset(self._turns)


@dataclass(frozen=True, slots=True)
class Erratum:
    """A locomo-audit correction of one question."""

    question_id: str
    error_type: str
    correct_evidence: tuple[str, ...]
    correct_answer: str | None


def parse_session_time(text: str) -> datetime:
    """``"1:56 pm on 8 May, 2023"`` as an aware UTC datetime."""
    return datetime.strptime(" ".join(text.split()), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def normalise_evidence(raw: Iterable[str], known: frozenset[str] | set[str]) -> tuple[str, ...]:
    """Split, canonicalise and filter evidence ids; keep the first occurrence of each.

    Args:
        raw: the evidence list as found (entries may hold several ids).
        known: the dia_ids of the conversation's turns; other ids are dropped.
    """
    out: list[str] = []
    for entry in raw:
        for token in re.split(r"[;,\s]+", str(entry)):
            m = _DIA_ID.match(token.strip())
            if m is None:
                continue
            dia_id = f"D{int(m[1])}:{int(m[2])}"
            if dia_id in known and dia_id not in out:
                out.append(dia_id)
    return tuple(out)


def _sessions(conv: Mapping[str, Any]) -> tuple[Session, ...]:
    numbers = {int(m[1]) for key in conv if (m := _SESSION.match(key))}
    numbers |= {int(key.split("_")[1]) for key in conv if key.endswith("_date_time")}
    out = []
    for n in sorted(numbers):
        date_text = conv.get(f"session_{n}_date_time")
        if date_text is None:
            raise ValueError(f"LoCoMo session {n} has no date")
        at = parse_session_time(date_text)
        turns = tuple(
            Turn(
                dia_id=str(t["dia_id"]),
                speaker=str(t["speaker"]),
                text=str(t["text"]),
                session=n,
                occurred_at=at,
                date_text=date_text,
                image_caption=t.get("blip_caption"),
            )
            for t in conv.get(f"session_{n}") or []
        )
        out.append(Session(number=n, occurred_at=at, date_text=date_text, turns=turns))
    return tuple(out)


def _qa(index: int, items: Sequence[Mapping[str, Any]], known: frozenset[str]) -> tuple[QA, ...]:
    out = []
    for j, item in enumerate(items):
        raw = tuple(str(e) for e in item.get("evidence", []))
        answer = item.get("answer")
        out.append(
            QA(
                question_id=f"locomo_{index}_qa{j}",
                question=str(item["question"]),
                answer=None if answer is None else str(answer),
                category=int(item["category"]),
                evidence=normalise_evidence(raw, known),
                raw_evidence=raw,
                adversarial_answer=item.get("adversarial_answer"),
            )
        )
    return tuple(out)


def load_errata(path: Path = DEFAULT_ERRATA) -> dict[str, Erratum]:
    """The errata by question id (``locomo_<sample index>_qa<question index>``)."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {
        str(e["question_id"]): Erratum(
            question_id=str(e["question_id"]),
            error_type=str(e["error_type"]),
            correct_evidence=tuple(str(x) for x in e.get("correct_evidence") or ()),
            correct_answer=e.get("correct_answer"),
        )
        for e in entries
    }


def apply_errata(
    conversation: Conversation,
    errata: Mapping[str, Erratum],
    *,
    error_types: Iterable[str] | None = None,
) -> Conversation:
    """The conversation with corrected evidence and answers for the questions in ``errata``.

    Args:
        conversation: as loaded.
        errata: from :func:`load_errata`.
        error_types: only apply entries of these types (e.g. ``{"WRONG_CITATION"}``);
            all of them when ``None``.
    """
    wanted = None if error_types is None else set(error_types)
    fixed = []
    for qa in conversation.qa:
        fix = errata.get(qa.question_id)
        if fix is None or (wanted is not None and fix.error_type not in wanted):
            fixed.append(qa)
            continue
        evidence = normalise_evidence(fix.correct_evidence, conversation.dia_ids)
        answer = (
            qa.answer if fix.correct_answer is None or qa.answer is None else fix.correct_answer
        )
        fixed.append(replace(qa, evidence=evidence or qa.evidence, answer=answer))
    return replace(conversation, qa=tuple(fixed))


def load_locomo(
    path: Path = DEFAULT_LOCOMO,
    *,
    errata: Path | None = None,
    error_types: Iterable[str] | None = None,
) -> list[Conversation]:
    """Load LoCoMo, optionally with the errata applied.

    Args:
        path: ``locomo10.json``.
        errata: ``errata.json`` to apply, or ``None`` for the data as published.
        error_types: restrict the errata applied (see :func:`apply_errata`).
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    fixes = load_errata(errata) if errata is not None else None
    out = []
    for index, sample in enumerate(data):
        conv = sample["conversation"]
        speakers = (str(conv["speaker_a"]), str(conv["speaker_b"]))
        sessions = _sessions(conv)
        known = frozenset(t.dia_id for s in sessions for t in s.turns)
        conversation = Conversation(
            sample_id=str(sample["sample_id"]),
            index=index,
            speakers=speakers,
            sessions=sessions,
            qa=_qa(index, sample["qa"], known),
        )
        if fixes is not None:
            conversation = apply_errata(conversation, fixes, error_types=error_types)
        out.append(conversation)
    return out


def _found(hits: Iterable[Iterable[str]]) -> set[str]:
    return {dia_id for hit in hits for dia_id in hit}


def recall_at_k(hits: Sequence[Iterable[str]], evidence: Iterable[str], k: int) -> float:
    """Share of the evidence found in the first ``k`` hits.

    Args:
        hits: ranked hits, each as the dia_ids it was derived from (a turn: its own id; a fact
            or summary: its provenance).
        evidence: the question's evidence dia_ids (non-empty).
        k: the hit budget.
    """
    wanted = set(evidence)
    if not wanted:
        raise ValueError("recall needs at least one evidence id")
    return len(wanted & _found(hits[:k])) / len(wanted)


def recall_at_tokens(
    hits: Sequence[tuple[Iterable[str], int]], evidence: Iterable[str], budget: int
) -> float:
    """Share of the evidence found in the hits that fit in ``budget`` whitespace tokens.

    Hits are read in rank order; a hit counts only if it fits whole, and reading stops at the
    first one that does not (as a reader given a context of ``budget`` tokens would).

    Args:
        hits: ranked ``(dia_ids, token count)`` pairs.
        evidence: the question's evidence dia_ids (non-empty).
        budget: the token budget.
    """
    wanted = set(evidence)
    if not wanted:
        raise ValueError("recall needs at least one evidence id")
    used, read = 0, []
    for dia_ids, tokens in hits:
        if used + tokens > budget:
            break
        used += tokens
        read.append(dia_ids)
    return len(wanted & _found(read)) / len(wanted)
