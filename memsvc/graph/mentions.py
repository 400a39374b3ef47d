"""Entity mentions in a text, by rules (no model): names, places, organisations and things.

No maintained NLP library with an English model installs offline here (ALGORITHMS.md §8.4: the
official spaCy models are not on PyPI), so mentions come from rules over the surface text:

- **names**: runs of capitalised words ("Matt Patterson", "Bank of America"), with words that
  are capitalised only because a sentence starts with them left out unless the scope already
  knows them as a name (``known``);
- **things**: the (up to two) lower-case words after a determiner or possessive ("my *dog*",
  "a *pottery class*", "those *paintings*"), singularised, minus a list of words too general
  to link anything ("time", "lot", "way") and of common verbs;
- **types** by cue: a place after "in/at/to/from/near/visited" or ending in a place word
  ("Park", "Beach"); an organisation ending in an organisation word ("University", "Club");
  a person when the text says "named X", when X is a speaker, or when the caller says so
  (the subject of a fact). Everything else capitalised is a ``thing`` until a later mention
  types it.

The normalised key (:func:`normalise`) is what identifies an entity within a scope: lower case,
possessive and plural endings removed, so "Luna's", "luna" and "LUNA" are one entity.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = [
    "ENTITY_TYPES",
    "Mention",
    "extract_mentions",
    "normalise",
    "query_keys",
]


def _words(text: str) -> list[str]:
    return text.split()


#: The entity types, from most to least specific (a later, more specific mention wins).
ENTITY_TYPES = ("person", "organisation", "place", "thing")

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|[0-9]+|[.!?;:,()\"“”]")
_SENTENCE_END = frozenset('.!?;:"“”()')
_CAP = re.compile(r"^[A-Z][a-zA-Z'’\-]*$")
_CONNECTORS = frozenset({"of", "de", "&"})

#: Capitalised words that are never a name on their own.
_NOT_NAMES = frozenset(
    _words(
        """
    i i'm i've i'd i'll im ive hey hi hello wow thanks thank yes yeah yep no nope oh ok okay
    sure great good nice awesome cool really so well and but or the a an my your our his her
    their its it it's that that's this these those what what's how why when where who whom
    which do does did can could would will should just also me we you he she they us them
    congrats congratulations sounds love lol haha omg glad sorry please let's lets gonna
    wanna absolutely definitely totally amazing wonderful beautiful exactly true here there
    if as at in on by for to from with about after before then now today tomorrow yesterday
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december mom dad mum mommy daddy
    anyway anything something everything nothing all any some not mr mrs ms dr
    """
    )
)
#: Capitalised words that end a name even inside a run ("Sounds" may go on "Summer Sounds").
_NOT_INSIDE = frozenset({"i", "i'm", "i've", "i'd", "i'll", "im", "ive"})
_PLACE_CUES = frozenset({"in", "at", "to", "from", "near", "visited", "visit", "visiting"})
_PLACE_WORDS = frozenset(
    _words(
        """
    city town village park beach lake river mountain mountains island islands street road
    avenue county state country valley bay coast canyon forest falls square bridge museum
    """
    )
)
_ORG_WORDS = frozenset(
    _words(
        """
    university college school academy inc corp corporation company co ltd llc club center
    centre foundation group association hospital church bank team band institute agency
    society council department studio studios cafe restaurant
    """
    )
)
_DETERMINERS = frozenset(
    _words(
        """
    a an the my your our his her their this that these those some another every each
    """
    )
)
#: Adjectives skipped between a determiner and its noun.
_ADJECTIVES = frozenset(
    _words("new old little big great good nice best favourite favorite first last whole own")
)
#: Lower-case words that end a noun phrase after a determiner, or are too general to link.
_NOT_THINGS = frozenset(
    _words(
        """
    time times lot lots way ways thing things day days week weeks month months year years
    bit kind sort part moment while idea ideas one ones people person stuff place end start
    other same best most first last next few many much more new old good great big little
    really very so such own whole rest type point fact reason chance sense feeling feelings
    piece couple number side world life today night morning evening weekend experience
    experiences and or but to of in on at for with from by about as is was are were be been
    it that this what which who not just also too has have had having made make makes sound
    sounds stand stands out up down off over kinda got get gets went go goes going gonna look
    looks felt feel feels seems seem lot's means mean did do does done said say says love loves
    loved like likes liked want wants wanted need needs needed ate eat eats took take takes came
    come comes gave give gives keep keeps kept named called
    """
    )
)


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity mentioned in a text.

    Attributes:
        key: the normalised name that identifies the entity in its scope.
        name: the name as the text writes it.
        type: ``person``, ``organisation``, ``place`` or ``thing``.
        role: ``speaker``, ``name`` (a capitalised name), ``thing``, ``subject`` or ``value``.
    """

    key: str
    name: str
    type: str
    role: str


def normalise(name: str) -> str:
    """The key of an entity name: lower case, no possessive, the last word singular."""
    words = [w for w in re.split(r"[^a-z0-9'’\-]+", name.lower().replace("’", "'")) if w]
    if not words:
        return ""
    last = words[-1]
    if last.endswith("'s"):
        last = last[:-2]
    last = last.strip("'-")
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 4 and last.endswith(("sses", "shes", "ches", "xes")):
        last = last[:-2]
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    words[-1] = last
    return " ".join(w.strip("'-") for w in words if w.strip("'-"))


def _type_of(words: list[str], before: str | None, *, is_person: bool) -> str:
    if is_person:
        return "person"
    tail = words[-1].lower()
    if tail in _ORG_WORDS:
        return "organisation"
    if tail in _PLACE_WORDS or (before is not None and before.lower() in _PLACE_CUES):
        return "place"
    return "thing"


def _names(tokens: list[str], known: Collection[str], people: Collection[str]) -> Iterable[Mention]:
    i, n = 0, len(tokens)
    while i < n:
        word = tokens[i]
        if not _CAP.match(word) or word.lower().strip("'’") in _NOT_NAMES:
            i += 1
            continue
        start = i
        j = i + 1
        while j < n:
            if _CAP.match(tokens[j]) and tokens[j].lower() not in _NOT_INSIDE:
                j += 1
            elif (
                tokens[j].lower() in _CONNECTORS
                and j + 1 < n
                and _CAP.match(tokens[j + 1])
                and tokens[j + 1].lower() not in _NOT_NAMES
            ):
                j += 2
            else:
                break
        words = tokens[start:j]
        i = j
        before = tokens[start - 1] if start > 0 else None
        at_start = before is None or before in _SENTENCE_END
        name = " ".join(words)
        key = normalise(name)
        if not key or len(key) < 2:
            continue
        if at_start and len(words) == 1 and key not in known and key not in people:
            continue  # "Painting is ..." — capitalised only because the sentence starts
        is_person = key in people or (before is not None and before.lower() == "named")
        yield Mention(key, name, _type_of(words, before, is_person=is_person), "name")


def _things(tokens: list[str]) -> Iterable[Mention]:
    for i, word in enumerate(tokens):
        if word.lower() not in _DETERMINERS:
            continue
        phrase: list[str] = []
        for nxt in tokens[i + 1 : i + 4]:
            if nxt in _ADJECTIVES and not phrase:
                continue  # "my new sneakers"
            if not nxt.isalpha() or not nxt.islower() or nxt in _NOT_THINGS or len(phrase) == 2:
                break
            phrase.append(nxt)
        for word in phrase:  # "a pottery class": pottery, class (no parser to find the head)
            key = normalise(word)
            if len(key) >= 3 and key not in _NOT_THINGS and key not in _NOT_NAMES:
                yield Mention(key, word, "thing", "thing")


def extract_mentions(
    text: str,
    *,
    speaker: str | None = None,
    known: Collection[str] = (),
    people: Collection[str] = (),
    things: bool = True,
) -> list[Mention]:
    """The entities a text mentions, each once (the most specific type seen wins).

    Args:
        text: the text (a turn's content or a fact).
        speaker: who said it: a ``person`` mention with role ``speaker``.
        known: keys the scope already holds as names (a sentence-initial word then counts).
        people: keys known to be people (speakers of the scope).
        things: also the head nouns after determiners (lower-case things).
    """
    people = {normalise(p) for p in people} | ({normalise(speaker)} if speaker else set())
    tokens = _WORD.findall(text)
    found: dict[str, Mention] = {}
    if speaker and normalise(speaker):
        key = normalise(speaker)
        found[key] = Mention(key, speaker, "person", "speaker")
    candidates = list(_names(tokens, known, people))
    if things:
        candidates += list(_things(tokens))
    for mention in candidates:
        current = found.get(mention.key)
        if current is None or _more_specific(mention.type, current.type):
            found[mention.key] = (
                mention
                if current is None
                else Mention(current.key, current.name, mention.type, current.role)
            )
    return list(found.values())


def _more_specific(new: str, old: str) -> bool:
    return ENTITY_TYPES.index(new) < ENTITY_TYPES.index(old)


def query_keys(query: str, max_words: int = 3) -> list[str]:
    """Every 1- to ``max_words``-word key of a query, to be looked up among a scope's entities."""
    words = [w for w in re.split(r"[^A-Za-z0-9'’\-]+", query) if w]
    out: list[str] = []
    for size in range(1, max_words + 1):
        for i in range(len(words) - size + 1):
            key = normalise(" ".join(words[i : i + size]))
            if key and key not in _NOT_NAMES and key not in _NOT_THINGS:
                out.append(key)
    return list(dict.fromkeys(out))
