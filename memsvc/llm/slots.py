"""(subject, predicate, object) from third-person fact sentences, slots and negation.

Facts are read after the speaker has been named ("Alice lives in Berlin"), so the patterns look
for a capitalised subject followed by one of a few common predicates. Some predicates fill a
*slot* that holds one value at a time (where someone lives, works, their partner...): a new
value for the same subject and slot contradicts the old one (ALGORITHMS.md §5: REPLACE/DELETE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Triple",
    "extract_triple",
    "is_negated",
    "negation_free",
    "same_value",
    "slot_of",
    "value_refines",
]

_RELATIONS = (
    "wife|husband|spouse|partner|boyfriend|girlfriend|fianc[eé]e?|son|daughter|brother|sister|"
    "mother|mom|mum|father|dad|grandmother|grandma|grandfather|grandpa|aunt|uncle|cousin|niece|"
    "nephew|friend|best friend|roommate|boss|colleague|coworker|dog|cat|puppy|kitten|pet|"
    "bird|rabbit|horse|kid|child|baby|stepson|stepdaughter"
)
_SINGLE_RELATIONS = frozenset(
    {"wife", "husband", "spouse", "partner", "boyfriend", "girlfriend", "fiance", "fiancee"}
)
_NAME = r"[A-Z][\w'\u2019\-]*(?:\s+[A-Z][\w'\u2019\-]*){0,2}"
_ADVERBS = r"(?:(?:still|now|currently|also|really|just|recently|finally|actually|happily)\s+)*"
_OBJECT = r"(?P<o>[^,;.!?]+)"
# Places may have commas ("Kreuzberg, Berlin"); _clean_object keeps the capitalised parts.
_PLACE = r"(?P<o>[^;.!?]+)"
_VERB_PATTERNS: tuple[tuple[str, str], ...] = (
    ("age", r"is\s+(?P<o>\d{1,3})\s+years?\s+old"),
    ("married_to", r"(?:is|got|has been)\s+(?:married|engaged)\s+to\s+" + _OBJECT),
    ("lives_in", r"(?:lives|is living|has been living|resides|is based|settled)\s+in\s+" + _PLACE),
    ("moved_to", r"(?:has\s+)?(?:moved|relocated)\s+(?:back\s+)?to\s+" + _PLACE),
    ("job_title", r"(?:works|is working|has been working|got a job)\s+as\s+(?:an?\s+)?" + _OBJECT),
    (
        "works_at",
        r"(?:works|is working|has been working|started working|got a (?:new\s+)?job|"
        r"has a (?:new\s+)?job)\s+(?:at|for|with)\s+" + _OBJECT,
    ),
    ("loves", r"(?:loves|adores|is passionate about)\s+" + _OBJECT),
    ("likes", r"(?:likes|enjoys|is into|is a (?:big\s+)?fan of)\s+" + _OBJECT),
    ("hates", r"(?:hates|dislikes|can't stand|does not like|doesn't like)\s+" + _OBJECT),
    ("went_to", r"(?:went|has been|traveled|travelled)\s+to\s+" + _OBJECT),
    ("started", r"(?:has\s+)?(?:started|began|begun)\s+" + _OBJECT),
    ("bought", r"(?:has\s+)?(?:bought|purchased)\s+" + _OBJECT),
    ("adopted", r"(?:has\s+)?adopted\s+" + _OBJECT),
    ("is", r"(?:is|was)\s+(?:an?\s+)?" + _OBJECT),
)
_HAS_RELATION = re.compile(
    rf"^(?P<s>{_NAME})\s+{_ADVERBS}has\s+(?:an?|one|another)\s+(?:\w+\s+)?(?P<rel>{_RELATIONS})"
    rf"\s*,?\s+(?:named|called)\s+(?P<o>{_NAME})"
)
_POSSESSIVE = re.compile(
    rf"^(?P<s>{_NAME})['\u2019]s\s+(?:\w+\s+)?(?P<rel>{_RELATIONS})\s*,?\s+"
    rf"(?:is\s+(?:named|called)\s+|named\s+|called\s+)?(?P<o>{_NAME})"
)
# Where an object stops: clauses and trailing time phrases are not part of the value.
_OBJECT_END = re.compile(
    r"\s+(?:and|but|because|since|so|with|when|where|which|who|after|before|while|"
    r"on|at|as|in the week|last|this|next|around|for)\s+.*$|"
    r"\s+(?:now|too|also|again|lately|recently|anymore|any more)\s*$|"
    r"\s+(?:in|on)\s+\d.*$|\s+in\s+(?:19|20)\d\d.*$",
    re.IGNORECASE,
)
_DATE_PREFIX = re.compile(r"^(?:(?:on|in|around)\s+[^,]+,\s*)", re.IGNORECASE)
_ARTICLES = re.compile(r"^(?:the|a|an|her|his|their|some)\s+", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:no longer|not any ?more|n't\b.*\bany ?more|not\b.*\bany ?more|never again|"
    r"used to|stopped|quit|gave up|moved away from|broke up with|divorced|left (?:her|his|their) "
    r"job)\b",
    re.IGNORECASE,
)
_NEGATION_WORDS = re.compile(
    r"\b(?:no longer|any ?more|never again|used to|doesn't|don't|didn't|isn't|aren't|does not|"
    r"do not|is not|are not|not)\b\s*",
    re.IGNORECASE,
)
_SLOTS = {
    "lives_in": "residence",
    "moved_to": "residence",
    "works_at": "employer",
    "job_title": "job",
    "age": "age",
    "married_to": "partner",
}


@dataclass(frozen=True, slots=True)
class Triple:
    """A (subject, predicate, object) read from one fact sentence."""

    subject: str
    predicate: str
    object: str


def _clean_object(value: str) -> str:
    parts = value.strip().split(",")
    kept = [parts[0]]
    for part in parts[1:3]:
        if not part.strip()[:1].isupper():
            break
        kept.append(part)
    value = _OBJECT_END.sub("", ",".join(kept).strip())
    value = _ARTICLES.sub("", value).strip(" '\"")
    words = value.split()
    return " ".join(words[:6])


def extract_triple(sentence: str) -> Triple | None:
    """The first (subject, predicate, object) the patterns find, or ``None``."""
    text = _DATE_PREFIX.sub("", sentence.strip())
    if is_negated(text):
        return None
    for pattern, predicate in ((_HAS_RELATION, None), (_POSSESSIVE, None)):
        match = pattern.match(text)
        if match:
            relation = match["rel"].lower().replace("é", "e")
            return Triple(match["s"], predicate or f"has_{relation}", match["o"])
    subject_match = re.match(rf"(?P<s>{_NAME})\s+{_ADVERBS}", text)
    if subject_match is None:
        return None
    rest = text[subject_match.end() :]
    for predicate, verb in _VERB_PATTERNS:
        match = re.match(verb, rest, re.IGNORECASE)
        if match:
            value = match["o"].strip() if predicate == "age" else _clean_object(match["o"])
            if value and (predicate != "is" or len(value.split()) <= 3):
                return Triple(subject_match["s"], predicate, value)
    return None


def slot_of(predicate: str | None) -> str | None:
    """The single-valued slot a predicate fills (``None`` for predicates with many values)."""
    if predicate is None:
        return None
    predicate = predicate.lower().strip().replace(" ", "_")
    if predicate.startswith("has_") and predicate[4:] in _SINGLE_RELATIONS:
        return "partner"
    return _SLOTS.get(predicate)


def _value_key(value: str) -> str:
    value = _ARTICLES.sub("", value.lower().strip(" .'\""))
    return re.sub(r"\s+", " ", value)


def same_value(a: str, b: str) -> bool:
    """Whether two slot values name the same thing (case, articles and spacing ignored)."""
    return _value_key(a) == _value_key(b)


def value_refines(new: str, old: str) -> bool:
    """Whether ``new`` is a more specific form of ``old`` ("Berlin" -> "Kreuzberg, Berlin")."""
    old_key, new_key = _value_key(old), _value_key(new)
    return old_key != new_key and re.search(rf"\b{re.escape(old_key)}\b", new_key) is not None


def is_negated(text: str) -> bool:
    """Whether the sentence says something stopped or is no longer true."""
    return _NEGATION.search(text) is not None


def negation_free(text: str) -> str:
    """The sentence with its negation words removed, for comparing it with the positive fact."""
    return " ".join(_NEGATION_WORDS.sub("", text).split())
