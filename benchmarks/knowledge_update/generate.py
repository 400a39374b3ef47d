"""The benchmark's conversations, generated reproducibly from a seed and a set of phrasings.

Scopes of two speakers who chat in sessions (dated, about two months apart) and a third person
they talk about; every person's relations change over time (a new home, employer, partner...) or
gain values (another pet, another language). Values are shared between people of a scope
(distractors), every session has small talk, and the sessions are imported out of order.

    python -m benchmarks.knowledge_update.generate --phrasings heldout --out /tmp/ku.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.knowledge_update.fresh import FRESH, FRESH_DISTRACTORS
from benchmarks.knowledge_update.hard import DISTRACTORS, HARD, RELATIVES
from benchmarks.knowledge_update.heldout import HELDOUT
from benchmarks.knowledge_update.relations import DEV, RELATIONS, REPLIES, SMALL_TALK, Phrasing

PEOPLE = (
    "Dana", "Ravi", "Greta", "Tomas", "Yara", "Colin", "Maren", "Idris", "Beatriz", "Kofi",
    "Ilse", "Marek", "Suki", "Anton", "Leona", "Farid", "Oona", "Bastian", "Carmen", "Dmitri",
    "Esme", "Gideon", "Helka", "Jasper", "Kaia", "Lorcan", "Mirela", "Nils", "Odette", "Pavel",
    "Quinn", "Rhea", "Stellan", "Tamsin", "Ulrich", "Vesna", "Wendell", "Xenia", "Yusra",
    "Zoltan", "Aurelie", "Bram", "Celeste", "Dorian", "Elif", "Florin", "Gwen", "Henrik",
    "Isolde", "Joaquin", "Keira",
)  # fmt: skip
PHRASINGS = {"dev": DEV, "heldout": HELDOUT, "hard": HARD, "fresh": FRESH}
#: Each set's statements of a value for someone else (sets without any have none injected).
SET_DISTRACTORS = {"hard": DISTRACTORS, "fresh": FRESH_DISTRACTORS}


@dataclass
class Turn:
    """One chat turn."""

    speaker: str
    text: str


@dataclass
class Session:
    """One dated chat session."""

    id: str
    at: datetime
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Truth:
    """A value of a relation of a person from ``at`` (event time)."""

    person: str
    relation: str
    value: str
    at: datetime


@dataclass
class Question:
    """A question and what answers it."""

    person: str
    relation: str
    text: str
    kind: str  # "current", "as_of" or "multi"
    expected: list[str]
    outdated: list[str]
    as_of: datetime | None = None


@dataclass
class ScopeData:
    """One memory: its speakers, sessions in import order, truths and questions."""

    user_id: str
    speakers: tuple[str, str]
    people: tuple[str, ...]
    sessions: list[Session]
    truths: list[Truth]
    questions: list[Question]


def _pick(rng: random.Random, phrasings: tuple[Phrasing, ...], person: str) -> Phrasing:
    fitting = [p for p in phrasings if p[0] == person]
    return rng.choice(fitting or list(phrasings))


def generate(
    phrasings: str = "dev", *, seed: int = 7, scopes: int = 17, sessions: int = 7
) -> list[ScopeData]:
    """Every scope of the benchmark, from ``seed`` and the ``phrasings`` set."""
    table = PHRASINGS[phrasings]
    others = SET_DISTRACTORS.get(phrasings, {})
    rng = random.Random(f"{seed}:{phrasings}")
    names = list(PEOPLE)
    rng.shuffle(names)
    out = []
    for s in range(scopes):
        a, b, c = names[3 * s : 3 * s + 3]
        start = datetime(2022, 1, 3, 10, tzinfo=UTC) + timedelta(days=rng.randrange(0, 120))
        dates = []
        when = start
        for _ in range(sessions):
            dates.append(when)
            when += timedelta(days=rng.randrange(45, 76))
        chats = [Session(f"s{s}-{i}", d) for i, d in enumerate(dates)]
        truths: list[Truth] = []
        questions: list[Question] = []
        used: dict[str, list[str]] = {}
        for person in (a, b, c):
            singles = rng.sample([r for r in RELATIONS if r.single], 2)
            multis = rng.sample([r for r in RELATIONS if not r.single], 2)
            for relation in singles + multis:
                n = rng.choice((2, 3))
                shared = [v for v in used.get(relation.name, []) if rng.random() < 0.5]
                pool = [v for v in relation.values if v not in shared]
                values = (shared + rng.sample(pool, n))[:n]
                rng.shuffle(values)
                used.setdefault(relation.name, []).extend(values)
                slots = sorted(rng.sample(range(1, sessions), n))
                history = []
                for k, (value, slot) in enumerate(zip(values, slots, strict=True)):
                    kind = "first" if k == 0 else "change"
                    about_speaker = person in (a, b)
                    voice = "first" if about_speaker and rng.random() < 0.65 else "third"
                    _, template, days = _pick(rng, table[relation.name][kind], voice)
                    if "{P}" not in template and not about_speaker:
                        voice = "first"
                        _, template, days = _pick(rng, table[relation.name][kind], "third")
                    speaker = (
                        person
                        if voice == "first" and about_speaker
                        else rng.choice([x for x in (a, b) if x != person])
                    )
                    if "{P}" not in template and speaker != person:
                        template = _pick(rng, table[relation.name][kind], "third")[1]
                    old = history[-1] if history else ""
                    text = template.format(v=value, old=old, P=person)
                    text = re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)
                    text = text[:1].upper() + text[1:]
                    session = chats[slot]
                    event_at = session.at - timedelta(days=days)
                    other = b if speaker == a else a
                    session.turns.append(Turn(speaker, text))
                    if rng.random() < 0.3:
                        session.turns.append(Turn(other, rng.choice(REPLIES)))
                    truths.append(Truth(person, relation.name, value, event_at))
                    history.append(value)
                distractors = []
                if relation.name in others and rng.random() < 0.6:
                    # someone else's value, said in one of the sessions: never the person's
                    x = rng.choice([v for v in relation.values if v not in values])
                    template = rng.choice(others[relation.name])
                    if template.startswith("My ") and person in (a, b):
                        speaker = person
                    else:
                        about = [t for t in others[relation.name] if "{P}" in t]
                        # hard: always its one {P} template (as before); fresh: any of them
                        template = about[0] if phrasings == "hard" else rng.choice(about)
                        speaker = rng.choice([x_ for x_ in (a, b) if x_ != person])
                    text = template.format(R=rng.choice(RELATIVES), x=x, P=person)
                    text = re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)
                    chats[rng.randrange(0, sessions)].turns.append(Turn(speaker, text))
                    distractors.append(x)
                times = [t.at for t in truths if t.person == person and t.relation == relation.name]
                question = rng.choice(relation.questions).format(P=person)
                if relation.single:
                    questions.append(
                        Question(person, relation.name, question, "current", [values[-1]],
                                 values[:-1] + distractors)
                    )  # fmt: skip
                    middle = times[-2] + (times[-1] - times[-2]) / 2
                    questions.append(
                        Question(person, relation.name, question, "as_of", [values[-2]],
                                 [v for v in values if v != values[-2]] + distractors,
                                 as_of=middle)
                    )  # fmt: skip
                else:
                    questions.append(Question(person, relation.name, question, "multi", values, []))
        for session in chats:
            for _ in range(1):
                speaker = rng.choice((a, b))
                other = b if speaker == a else a
                at = rng.randrange(0, len(session.turns) + 1)
                session.turns[at:at] = [
                    Turn(speaker, rng.choice(SMALL_TALK)),
                    Turn(other, rng.choice(REPLIES)),
                ]
        order = list(chats)
        rng.shuffle(order)  # imported out of order
        out.append(ScopeData(f"ku-{s}", (a, b), (a, b, c), order, truths, questions))
    return out


def main() -> None:
    """Write the generated data as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrasings", choices=sorted(PHRASINGS), default="dev")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = [asdict(s) for s in generate(args.phrasings, seed=args.seed)]
    args.out.write_text(json.dumps(data, indent=1, default=str))


if __name__ == "__main__":
    main()
