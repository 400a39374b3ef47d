"""Rule-based fact extraction: one fact per statement, in the third person, with absolute dates.

Each turn is split into sentences; questions, greetings and reactions are skipped; a sentence
is kept when it says something about the speaker (first person, or an implied "I": "Gonna
continue my edu") or about a person named in the conversation. It is then rewritten in the third
person (:mod:`memsvc.llm.attribution`), its relative dates are made absolute from the turn's
time (:mod:`memsvc.llm.dates`), and a (subject, predicate, object) is read from it when one of
the common shapes fits (:mod:`memsvc.llm.triples`): the subject, the relation phrase, the value
and its type, negation and update cues. A sentence is first cut into clauses that each state
one thing ("I moved to Porto and started at Acme" -> two facts); a fact about someone else
names them ("My sister Ana moved to Rome" -> "Ana moved to Rome", "She" -> the person last
named); when the text says when something happened ("two weeks ago", "since March 2023") the
fact holds from then, not from when it was said.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from memsvc.llm.attribution import third_person
from memsvc.llm.dates import resolve_relative_dates
from memsvc.llm.sentences import (
    content_words,
    is_filler,
    is_question,
    normalize,
    split_sentences,
    strip_interjections,
)
from memsvc.llm.slots import Triple, slot_of
from memsvc.llm.triples import Reading, read_triple, split_clauses
from memsvc.types import FactCandidate, Turn, ValueType, utc

__all__ = [
    "Statement",
    "addressees",
    "candidate",
    "extract_facts_by_rules",
    "importance",
    "is_statement",
    "rewrite",
    "statements",
]

_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll|I'd|me|my|mine|myself|we|our|us)\b", re.I)
_IMPLIED_START = re.compile(
    r"^(?:gonna|going to|been|just|finally|recently|got|went|started|finished|can't wait|"
    r"hoping|planning|trying|thinking|looking|working|heading|learning|studying|volunteering)\b",
    re.IGNORECASE,
)
_LIFE_EVENTS = re.compile(
    r"\b(?:married|engaged|divorc\w*|born|died|passed away|pregnan\w*|adopt\w*|graduat\w*|"
    r"moved|job|promot\w*|hired|fired|retir\w*|diagnos\w*|surgery|hospital|bought|house|"
    r"started|launched|founded|won|award\w*|degree|school|college|university|wedding|"
    r"birthday|anniversary|baby|kids?|children|husband|wife|partner|boyfriend|girlfriend)\b",
    re.IGNORECASE,
)
_FEELINGS_ONLY = re.compile(
    r"\b(?:feel|feels|felt|happy|glad|excited|thankful|grateful|proud|sad|stressed|awesome)\b",
    re.I,
)
_DATE_OR_NUMBER = re.compile(
    r"\b(?:\d+|January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)
_MIN_WORDS = 3
# "I'm in Lisbon now", "I'm really into pottery": short, but a value is named.
_VALUE_SHAPE = re.compile(
    r"(?<!^)(?<![.!?] )\b(?!I\b|I['\u2019])[A-Z][a-z]+|"
    r"\b(?:into|in|at|with|to|for|as)\s+(?:the\s+)?[a-z]{3,}"
)
# "I'm a nurse.": short, but it names a role
_ROLE_SHAPE = re.compile(
    r"^(?:I['\u2019]m|I am|I['\u2019]ve become|I became|we['\u2019]re)\s+(?:now\s+)?(?:a|an)\s+"
    r"[a-z]{3,}",
    re.IGNORECASE,
)
# "Sushi isn't my favourite food anymore; ramen is.": the second clause borrows the first's
_DENIED = re.compile(
    r"^(?P<a>.+?)\s+(?:isn['\u2019]t|is not|is no longer|aren['\u2019]t|are not)\s+(?P<rest>.+?)"
    r"(?:\s*,?\s+(?:anymore|any more))?[.!]?$",
    re.IGNORECASE,
)
_IT_IS = re.compile(
    r"^[Ii]t(?:['\u2019]s| is)\s+(?:now\s+)?(?P<v>[\w'\u2019\- ]{1,40}?)(?:\s+now)?[.!]?$"
)
_ELLIPSIS = re.compile(r"^(?P<v>[\w'\u2019\- ]{1,40}?)\s+(?:is|are)(?:\s+now)?[.!]?$", re.I)
# "Ravi says he moved to Oslo", "Ravi told me that she is a nurse now": reported statements
_REPORTED = re.compile(
    r"^(?P<n>[A-Z][a-z][\w\-]*)\s+(?:says|said|told me|tells me|mentioned|wrote|texted me|"
    r"let me know|informed me)\s*,?\s+(?:that\s+)?(?P<c>.+)$"
)
# "Apparently Dana lives in Rome now", "Honestly I ...": a sentence adverb says how the
# speaker feels about the statement, not what it states.
_DISCOURSE = re.compile(
    r"^(?:apparently|honestly|actually|basically|anyway|anyways|btw|fyi|lol|guess what|"
    r"turns out|it turns out|to be honest|tbh|funnily enough|believe it or not|oh and|so|"
    r"well|ok so|okay so)\b\s*[,:!-]?\s*(?=\S)",
    re.IGNORECASE,
)
# "Noah and I are together now" -> "I'm together with Noah": the other one of a couple.
_COUPLE = re.compile(
    r"^(?P<x>[A-Z][\w\-]*) and (?P<me>I|he|she|[A-Z][\w\-]*) are (?P<how>(?:now |finally |"
    r"officially )*(?:together|a couple|dating|engaged|married|seeing each other))(?P<rest>.*)$"
)
# "... their favourite food": a possessive in a reported clause points back at the reporter.
_REPORTED_POSSESSIVE = re.compile(r"\btheir\b", re.IGNORECASE)
_EMPTY_ENDS = frozenset({"it", "that", "this", "them", "so", "too", "one", "there", "here"})
_NOT_NAMES = frozenset(
    """The A An This That These Those It There Here What When Where Why How Who Which Yes No
    Oh Well So But And Or If Because Today Yesterday Tomorrow Everyone Someone Nobody Nothing
    Everything Something Life Work Things Weather Traffic Thanks Thank Sure Maybe Also Anyway
    Then Now Last Next Every Our My Your His Her Their Its We They He She You Lol Haha Wow
    Honestly Actually Just Finally Recently Monday Tuesday Wednesday Thursday Friday Saturday
    Sunday Speaking Hey Hi Hello Good Great Nice Cool Lots Not Never Still Most Some Any Both
    Since After Before During Once Back Long""".split()  # noqa: SIM905 (a word list reads better as text)
)
_LEAD_NAME = re.compile(r"^(?P<n>[A-Z][a-z][\w\-]*)(?:['\u2019]s)?\s+[a-z]")
# "my sister Ana moved to Rome", "my friend Ana's new job": the named relative is the subject.
_RELATIVE_NAME = re.compile(
    r"^(?i:my|our)\s+(?:[a-z]+\s+)?(?i:sister|brother|friend|cousin|neighbou?r|colleague|coworker|"
    r"roommate|mom|mum|dad|mother|father|son|daughter|aunt|uncle|niece|nephew|partner|"
    r"boss|buddy|pal|girlfriend|boyfriend|wife|husband|fianc\w*|dog|cat|puppy|kitten)\s+"
    r"(?P<n>[A-Z][a-z][\w\-]*)\s+"
)
_THIRD_PRONOUN = re.compile(r"^(?:he|she)(?P<rest>(?:['\u2019]s)?\s+.+)$", re.IGNORECASE)
_STATED_DAY = re.compile(
    r"\b(?:on|since|around|from)\s+(?:the (?:morning|afternoon|evening|night|weekend) of\s+)?"
    r"(?P<d>\d{1,2}) (?P<m>January|February|March|April|May|June|July|August|September|"
    r"October|November|December) (?P<y>\d{4})\b"
)
_STATED_MONTH = re.compile(
    r"\b(?:in|since|from|around)\s+(?:the week of\s+(?P<wd>\d{1,2})\s+)?(?P<m>January|"
    r"February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+(?P<y>\d{4})\b"
)
_MONTHS = tuple(calendar.month_name)[1:]
# Imperatives and such at the start of a sentence: never a triple's subject.
_NOT_SUBJECT_WORDS = frozenset(
    """Believe Come Keep Let Let's Take Make Don't Do Go Try Remember Imagine Thanks Thank It's
    That's There's Here's What's Congrats Congratulations Please Look Check Stay Hope""".split()  # noqa: SIM905 (a word list reads better as text)
)
# "Caroline, you're doing great": a name addressed at the start is not the subject.
_VOCATIVE = re.compile(r"^([A-Z][a-z]+),\s+")


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of a turn that states a fact, before it is rewritten."""

    turn: Turn
    sentence: str
    addressee: str | None


def addressees(turns: Sequence[Turn], context: Sequence[Turn] = ()) -> list[str | None]:
    """Who each turn of ``turns`` is addressed to: the nearest other speaker, earlier first."""
    everything = [*context, *turns]
    offset = len(context)
    out: list[str | None] = []
    for i in range(offset, len(everything)):
        speaker = everything[i].speaker
        earlier = (t.speaker for t in reversed(everything[:i]) if t.speaker != speaker)
        later = (t.speaker for t in everything[i + 1 :] if t.speaker != speaker)
        out.append(next(earlier, None) or next(later, None))
    return out


def is_statement(sentence: str, names: frozenset[str]) -> bool:
    """Whether ``sentence`` states something about the speaker, one of ``names`` or another
    person it names first ("Ana moved to Rome")."""
    words = sentence.split()
    if is_question(sentence) or len(words) < _MIN_WORDS:
        return False
    if is_filler(sentence) and not (
        (len(words) >= 4 and _FIRST_PERSON.search(sentence) and _VALUE_SHAPE.search(sentence))
        or _ROLE_SHAPE.match(sentence)
    ):
        return False
    if len(words) < 4 and words[-1].strip(".!?,").lower() in _EMPTY_ENDS:
        return False  # "I love it.": about nothing that can be named
    if _FIRST_PERSON.search(sentence) or _IMPLIED_START.match(sentence):
        return True
    first = re.match(r"[A-Z][\w'\u2019\-]*", sentence)
    if first is None:
        return False
    name = first[0].removesuffix("'s").removesuffix("\u2019s")
    return name in names or _person_name(sentence) is not None


def _person_name(sentence: str) -> str | None:
    """The name a sentence starts with, when it looks like a person's ("Ana moved ...")."""
    match = _LEAD_NAME.match(sentence)
    if match is None or match["n"] in _NOT_NAMES:
        return None
    return match["n"]


def _resolve_people(clause: str, last_named: str | None) -> tuple[list[str], str | None]:
    """ "my sister Ana moved" -> "My sister is Ana.", "Ana moved"; "She moved" -> "<last
    named> moved".

    Returns the clauses and the person they are about, when that is not the speaker.
    """
    relative = _RELATIVE_NAME.match(clause)
    if relative is not None:
        name = relative["n"]
        head = clause[: relative.start("n")].strip()
        return [f"{head} is {name}.", name + " " + clause[relative.end() :]], name
    pronoun = _THIRD_PRONOUN.match(clause)
    if pronoun is not None and last_named is not None:
        return [last_named + pronoun["rest"]], last_named
    return [clause], _person_name(clause)


def statements(turns: Sequence[Turn], context: Sequence[Turn] = ()) -> list[Statement]:
    """The sentences of ``turns`` that state something about someone, in order."""
    names = frozenset(t.speaker for t in (*context, *turns))
    out: list[Statement] = []
    last_named = _last_named(context, names)
    for turn, addressee in zip(turns, addressees(turns, context), strict=True):
        for raw in split_sentences(turn.text):
            sentence = strip_interjections(raw)
            sentence = re.sub(r"^(?:you know|i mean|like)\s*,\s*", "", sentence, flags=re.I)
            sentence = _DISCOURSE.sub("", sentence)
            sentence = _together(sentence)
            sentence = _VOCATIVE.sub(lambda m: "" if m[1] in names else m[0], sentence)
            if not sentence:
                continue
            sentence = _unreported(sentence)
            previous = ""
            for clause in split_clauses(sentence):
                clause = clause[:1].upper() + clause[1:]
                clause, previous = _filled(clause, previous), clause
                resolved, person = _resolve_people(clause, last_named)
                if person is not None and person not in names:
                    last_named = person
                for part in resolved:
                    if is_statement(part, names):
                        out.append(Statement(turn, part[:1].upper() + part[1:], addressee))
    return out


def _unreported(sentence: str) -> str:
    """ "Ravi says he moved to Oslo" -> "Ravi moved to Oslo": a reported statement is about
    the person who reported it when its pronoun points back to them."""
    match = _REPORTED.match(sentence)
    if match is None or match["n"] in _NOT_NAMES:
        return sentence
    name, clause = match["n"], match["c"]
    pronoun = re.match(
        r"^(?:he|she|they)(?P<rest>(?:['\u2019](?:s|re|ve|d|ll))?\s+.+)$", clause, re.I
    )
    if pronoun is None:
        # "Ravi told me lasagna is their favourite food": "their" is the reporter's
        if _REPORTED_POSSESSIVE.search(clause) and not re.search(r"\b(?:he|she|they)\b", clause):
            clause = _REPORTED_POSSESSIVE.sub(f"{name}'s", clause)
            return clause[:1].upper() + clause[1:]
        return sentence
    rest = re.sub(r"^['\u2019](?:re|s)(?=\s+(?!been\b|got\b))", " is", pronoun["rest"])
    rest = re.sub(r"^['\u2019](?:s|ve)\b", " has", rest)
    rest = re.sub(r"^['\u2019]d\b", " had", rest)
    rest = re.sub(r"^['\u2019]ll\b", " will", rest)
    return name + rest


def _together(sentence: str) -> str:
    """ "Noah and I are together now" -> "I'm together with Noah now"."""
    match = _COUPLE.match(sentence)
    if match is None or match["x"] in _NOT_NAMES:
        return sentence
    how = match["how"].replace("seeing each other", "seeing").replace("a couple", "together")
    verb = "I'm" if match["me"] == "I" else f"{match['me']} is"
    joiner = (
        " with "
        if how.split()[-1] in ("together", "engaged")
        else " to "
        if how.endswith("married")
        else " "
    )
    return f"{verb} {how}{joiner}{match['x']}{match['rest']}"


def _filled(clause: str, previous: str) -> str:
    """ "ramen is" after "Sushi isn't my favourite food anymore" -> "Ramen is my favourite
    food": an elliptical clause takes what the clause before denied."""
    it_is = _IT_IS.match(clause)
    if it_is is not None and previous:
        denied = _DENIED.match(previous)
        if denied is not None:  # "X's favourite food isn't sushi anymore, it's ramen"
            return f"{denied['a']} is {it_is['v']}."
    ellipsis = _ELLIPSIS.match(clause)
    denied = _DENIED.match(previous) if ellipsis is not None and previous else None
    if ellipsis is None or denied is None:
        return clause
    return f"{ellipsis['v'][:1].upper()}{ellipsis['v'][1:]} is {denied['rest']}."


def _last_named(context: Sequence[Turn], names: frozenset[str]) -> str | None:
    """The person other than the speakers named last in ``context``, for "he"/"she"."""
    found = None
    for turn in context:
        for sentence in split_sentences(turn.text):
            person = _resolve_people(strip_interjections(sentence), None)[1]
            if person is not None and person not in names:
                found = person
    return found


def importance(text: str, triple: Triple | None) -> float:
    """A 0..1 heuristic: life events, named slots, dates and names matter more than feelings."""
    score = 0.3
    if triple is not None:
        score += 0.3 if slot_of(triple.predicate) else 0.15
    if _LIFE_EVENTS.search(text):
        score += 0.2
    if _DATE_OR_NUMBER.search(text):
        score += 0.1
    if len(content_words(text)) >= 6:
        score += 0.05
    if triple is None and _FEELINGS_ONLY.search(text):
        score -= 0.1
    return round(min(1.0, max(0.05, score)), 3)


def rewrite(statement: Statement) -> str:
    """The statement in the third person, with absolute dates."""
    text = third_person(
        statement.sentence, speaker=statement.turn.speaker, addressee=statement.addressee
    )
    return resolve_relative_dates(text, statement.turn.occurred_at)


def stated_time(text: str, said_at: datetime) -> datetime:
    """When what ``text`` states happened, if it gives a day or month not after ``said_at``."""
    said = utc(said_at)
    when = None
    day = _STATED_DAY.search(text)
    if day is not None:
        when = datetime(int(day["y"]), _MONTHS.index(day["m"]) + 1, int(day["d"]), tzinfo=UTC)
    else:
        month = _STATED_MONTH.search(text)
        if month is not None:
            first = int(month["wd"]) if month["wd"] else 1
            try:
                when = datetime(int(month["y"]), _MONTHS.index(month["m"]) + 1, first, tzinfo=UTC)
            except ValueError:
                when = None
    if when is None or when > said:
        return said_at
    if when.date() == said.date():
        return said_at
    return when.replace(hour=12)


def _plausible(reading: Reading, names: frozenset[str]) -> Reading | None:
    """``reading`` with what the conversation knows applied: a speaker named as the value is a
    person ("Gina is here for Jon"); a subject that is no person's name ("Believe in Jon",
    "Giving a home to kids ...") or a value that is a clause of its own gives no triple."""
    subject = reading.subject
    if subject not in names and (
        subject.split()[0] in _NOT_SUBJECT_WORDS
        or re.fullmatch(r"[A-Z][a-z]+ing", subject.split()[0])
    ):
        return None
    if re.search(r"\b(?:is|was|are|were)\b", reading.value):
        return None
    first = reading.value.split()[0] if reading.value else ""
    if first in names:  # "Gina is here for Jon no matter what": the value is Jon, a person
        return replace(reading, value=first, value_type=ValueType.PERSON)
    return reading


def candidate(
    statement: Statement, text: str, names: frozenset[str] = frozenset()
) -> FactCandidate:
    """A :class:`FactCandidate` for ``text``, rewritten from ``statement``; ``names`` are the
    conversation's speakers."""
    reading = read_triple(text)
    if reading is not None:
        reading = _plausible(reading, names | {statement.turn.speaker})
    triple = Triple(reading.subject, reading.phrase, reading.value) if reading else None
    return FactCandidate(
        text=text,
        source_event_ids=(statement.turn.event_id,),
        occurred_at=stated_time(text, statement.turn.occurred_at),
        subject=reading.subject if reading else None,
        predicate=reading.phrase if reading else None,
        object=reading.value if reading else None,
        importance=importance(text, triple),
        value_type=reading.value_type if reading else None,
        negated=reading.negated if reading else False,
        cue=reading.cue if reading else None,
    )


def extract_facts_by_rules(
    turns: Sequence[Turn], context: Sequence[Turn] = ()
) -> list[FactCandidate]:
    """Atomic facts stated in ``turns``; duplicates within the run are dropped."""
    seen: set[str] = set()
    out: list[FactCandidate] = []
    names = frozenset(t.speaker for t in (*context, *turns))
    for statement in statements(turns, context):
        text = rewrite(statement)
        key = normalize(text)
        if key in seen:
            continue
        seen.add(key)
        out.append(candidate(statement, text, names))
    return out
