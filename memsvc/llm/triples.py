"""Atomic propositions and their (subject, relation, value) triples, by rules (no model).

Three steps, each a pure function of its input:

- :func:`split_clauses`: one sentence, as said, into clauses that each state one thing
  ("I moved to Porto and I work at Acme now" -> two clauses; "I moved to Porto and started at
  Acme" -> the second clause gets its subject back).
- :func:`read_triple`: a third-person clause ("Dana moved to Porto on 3 May 2023.") into a
  :class:`Reading`: the subject, the relation phrase as written ("moved to"), the value
  ("Porto") and its type, whether the clause negates it ("no longer", "doesn't ... anymore")
  and which update cue it carries ("now", "moved": a change; "another", "also": an addition).
- :func:`relation_text`: the text that stands for the relation with the value masked by its
  type ("moved to a place"), which :mod:`memsvc.llm.relations` embeds to normalise relations.

A clause that fits none of the shapes gives no reading; the fact is then kept as text alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memsvc.types import ValueType

__all__ = [
    "Reading",
    "cue_of",
    "lemma",
    "read_triple",
    "relation_text",
    "relation_texts",
    "split_clauses",
]

_NAME = r"[A-Z][\w'\u2019\-]*(?:\s+[A-Z][\w'\u2019\-]*){0,2}"
_CARRIED_VERBS_SPLIT = (
    "moved|works|lives|drives|speaks|plays|has|is|joined|started|bought|adopted|became|"
    "relocated|signed|dates|owns"
)
_PRONOUN_SUBJECTS = r"(?:I|I'm|I've|I'd|I'll|we|we're|he|she|they|he's|she's|they're)"
# "..., and I work at Acme" / "... but she moved to Rome": a new clause with its own subject.
_OWN_SUBJECT_SPLIT = re.compile(
    rf"\s*(?:,|;|\s)\s*(?:and|but|so|while|whereas|though)\s+(?=(?:{_PRONOUN_SUBJECTS}|"
    r"my|our|his|her|their)\b|[A-Z][\w'\u2019\-]*\s+[a-z])"
    r"|\s*;\s*|\s*,\s*(?=(?:I|I'm|I've|we|we're|my)\b)"
    # "..., Ravi drives a Subaru now" / "..., it's ramen": a second clause after a comma
    rf"|\s*,\s*(?=(?:he|she|they|he's|she's|they're|it's|it is)\s|[A-Z][\w'\u2019\-]*\s+"
    rf"(?:(?:now|also|still|then)\s+)?(?:{_CARRIED_VERBS_SPLIT})\b)"
)
_CARRIED_VERBS = (
    "moved|started|joined|got|adopted|bought|took|began|left|quit|switched|relocated|went|"
    "became|picked|signed|found|met|settled|changed|work|works|live|lives|speak|speaks|play|"
    "plays|have|has|study|studies|drive|drives|love|loves|enjoy|enjoys|visited|am|is"
)
# "I moved to Porto and started at Acme": the subject of the first clause carries over.
_CARRIED_SPLIT = re.compile(rf"\s*,?\s+and\s+(?=(?:now\s+|also\s+|then\s+)?(?:{_CARRIED_VERBS})\b)")
# "Three weeks ago I packed up and moved": the subject comes after the time
_LEADING_TIME = re.compile(
    r"^(?:(?:a few|several|a couple of|\d+|one|two|three|four|five|six) (?:days?|weeks?|months?|"
    r"years?) ago|(?:last|this) (?:week|month|year|spring|summer|autumn|fall|winter|weekend)|"
    r"recently|yesterday|today|lately)\s*,?\s+",
    re.IGNORECASE,
)
_LEADING_ADJUNCT = re.compile(
    r"^(?i:since|after|before|following|until|ever since)\s+[^,;]+?\s+(?=[A-Z][\w'\u2019\-]*\s+"
    r"(?:(?:has|have|had|is|was|also|finally|just|now|still|recently)\s+)*[a-z]+\b)"
)
# "Ravi calls Porto home"
_CALLS_HOME = re.compile(
    r"^(?P<s>[A-Z][\w'\u2019\-]*)\s+(?:now\s+)?calls?\s+(?P<v>[A-Z][\w'\u2019\- ]*?)\s+home\b"
)
_LEAD_SUBJECT = re.compile(
    rf"^(?P<s>(?:{_NAME}|I|we|he|she|they))(?:\s+(?:have|has|had|am|is|are|was|were|"
    rf"just|also|recently|finally|now))*\s+",
)

_NEGATION = re.compile(
    r"\b(?:no longer|not any ?more|anymore|any more|never again|used to|stopped|quit|gave up|"
    r"moved away from|moved out of|broke up with|split up with|separated from|divorced|"
    r"sold|gave away|rehomed|left|got rid of|"
    r"(?:does|do|did|is|are|was|were|has|have)(?:n['\u2019]t| not))\b",
    re.IGNORECASE,
)
# Words that show the clause is negative even without "anymore" ("Dana doesn't speak Thai").
_NEG_WORDS = re.compile(
    r"\b(?:no longer|not|never|n['\u2019]t|anymore|any more|used to|stopped|quit|gave up)\b",
    re.IGNORECASE,
)
_END_CUES = re.compile(
    r"\b(?:moved away from|moved out of|broke up with|split up with|separated from|divorced|"
    r"sold|gave away|rehomed|left|quit|stopped|gave up|got rid of|lost)\b",
    re.IGNORECASE,
)
_CHANGE_CUES = re.compile(
    r"\b(?:now|moved|relocated|new|no longer|anymore|any more|quit|broke up|split up|switched|"
    r"changed|these days|since|left|started (?:at|with|working)|joined|instead|used to|"
    r"nowadays|currently|took a job|got a job|ended)\b",
    re.IGNORECASE,
)
_ADDITION_CUES = re.compile(
    r"\b(?:also|another|too|second|both|as well|in addition|additionally|added|one more|"
    r"a third|besides|on top of)\b",
    re.IGNORECASE,
)
_TIME_PHRASES = re.compile(
    r"\s*,?\s*\b(?:(?:on|in|since|from|around|by|until|as of|back in)\s+(?:\d{1,2}\s+)?"
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)(?:\s+\d{4})?|(?:on|in|since|from|around|by|until|as of|back in)\s+\d{4}|"
    r"(?:on|in|since|from|around|by|until|as of|back in)\s+\d{1,2}\s+\w+\s+\d{4}|"
    r"(?:(?:in|on|around|during)\s+)?the\s+(?:week|weekend|morning|afternoon|evening|night|"
    r"winter|summer|spring|autumn|fall)\s+of\s+[^,.;]+|during\s+[^,.;]+|"
    r"(?:a few|several|a couple of|\d+|one|two|three|four) (?:days?|weeks?|months?|years?) "
    r"before \d{1,2} \w+ \d{4}|(?:a while|a bit|some time|a long time)\s+ago|"
    r"(?:last|this|next)\s+(?:week|month|year|spring|summer|autumn|fall|winter|weekend)|"
    r"recently|lately|these days|nowadays|at the moment|right now|for now|for a while|once|"
    r"every (?:day|week|weekend|morning|evening|night)|most of all|"
    r"for (?:a|one|two|three|\d+) (?:days?|weeks?|months?|years?)|"
    r"(?:a|one|two|three|four|five|six|\d+) (?:days?|weeks?|months?|years?) ago)\b",
    re.IGNORECASE,
)
_ADVERBS = re.compile(
    r"\b(?:still|now|currently|also|really|just|recently|finally|actually|happily|officially|"
    r"already|even|then|too|again|anymore|any more|no longer|never|not|as well|both)\b\s*",
    re.IGNORECASE,
)
_AUX = re.compile(
    r"^(?:(?:has|have|had|is|are|was|were|will|would|can|could|does|do|did|got|gets|been|being)"
    r"(?:n['\u2019]t)?\s+)+",
    re.IGNORECASE,
)
_DETERMINERS = re.compile(
    r"^(?:the|a|an|her|his|their|its|some|my|our|your|one|this|that|another|new|little|"
    r"lovely|sweet|adorable|cute|beautiful|great|old|young|two|three)\s+",
    re.IGNORECASE,
)
_VALUE_END = re.compile(
    r"\s*(?:,|;|:|\(|\s-\s|\s(?:and|but|because|since|so|when|where|which|who|after|before|"
    r"while|though|although|if|until|as|than|more than|like|on|by|with (?:her|his|their)|"
    r"for (?:a|the|his|her|their|about)|to (?:be|get|see|work|live|study)|who|that)\s).*$",
    re.IGNORECASE,
)
_NAMED = re.compile(
    r"^(?P<kind>[a-z][\w\-]*(?:\s+[a-z][\w\-]*)?)(?:\s*,?\s+(?:named|called)\s+|"
    r"\s*,\s+(?:(?:her|his|its|their) name is\s+)?(?=[A-Z]))(?P<v>.+)$"
)
_POSSESSIVE = re.compile(
    rf"^(?P<s>{_NAME})['\u2019]s\s+(?P<noun>(?:[a-z][\w\-]*\s+){{0,2}}?[a-z][\w\-]*)\s+"
    r"(?:is|are|was|has become|became|changed to|switched to|:|isn['\u2019]t|is not|is no longer|"
    r"wasn['\u2019]t)\s+(?:(?:now|also|still)\s+)?(?:(?:named|called|in|at|to)\s+)?"
    r"(?P<v>.+)$"
)
# "Sushi is Dana's favourite food", "Home for Dana is Lisbon", "Another friend of Dana's is Rosa",
# "Another instrument Dana plays is the cello"
_VALUE_FIRST = re.compile(
    rf"^(?P<v>[\w'\-]+(?:\s+[\w'\-]+)?)\s+(?:is|isn['\u2019]t|is not|is no longer)\s+"
    rf"(?P<s>{_NAME})['\u2019]s\s+"
    r"(?P<noun>(?:[a-z][\w\-]*\s+){0,2}?[a-z][\w\-]*)$"
)
# "Felix is a friend of Dana's", "Rosa is an old friend of Dana"
_VALUE_OF = re.compile(
    rf"^(?P<v>[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)?)\s+is\s+(?:also\s+)?(?:a|an|the|another)\s+"
    rf"(?:(?:new|old|good|close|great|best|dear)\s+)?(?P<noun>[a-z][\w\-]*)\s+of\s+"
    rf"(?P<s>{_NAME}?)(?:['\u2019]s)?$"
)
_NOUN_FOR = re.compile(
    rf"^(?:(?:[Aa]nother|[Oo]ne|[Tt]he|[Aa]|[Mm]y)\s+)?(?P<noun>[A-Za-z][\w\-]*)\s+(?:for|of)\s+(?P<s>{_NAME}?)(?:['\u2019]s)?\s+is\s+(?P<v>.+)$"
)
_NOUN_VERB = re.compile(
    rf"^(?:another|one|the|a|my|his|her)\s+(?P<noun>[a-z][\w\-]*)\s+(?P<s>{_NAME})\s+"
    r"(?P<verb>[a-z]+)\s+is\s+(?P<v>.+)$",
    re.IGNORECASE,
)
_PREFIX = re.compile(
    r"^(?:[A-Z][\w ]{0,24}:\s*|(?:on top of that|besides that|besides|plus|so|well|anyway|oh|and|"
    r"also|meet|say hi to|welcome)\s*,?\s+)",
    re.IGNORECASE,
)
_CATENATIVE = re.compile(
    r"^(?P<verb>start|started|starts|begin|began|begun|keep|kept|stop|stopped|quit|"
    r"love|loves|enjoy|enjoys|like|likes)\s+(?P<rest>[a-z]+ing\b.*)$"
)
_POSSESSIVE_NAMED = re.compile(
    rf"^(?P<s>{_NAME})['\u2019]s\s+(?P<noun>(?:[a-z][\w\-]*\s+){{0,2}}?"
    r"(?!(?:in|at|to|from|with|for|on|of|by|near|into)\b)[a-z][\w\-]*)\s*,?\s+"
    r"(?:named\s+|called\s+)?(?P<v>[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)?)(?:\s*,|\s|$)"
)
_FOLD = re.compile(
    r"^(?:new\s+)?(?P<noun>[a-z][\w\-]*)\s+(?P<prep>at|with|in|for|to|from|near)\s+"
    r"(?:the\s+)?(?P<v>[A-Z].*)$"
)
_ROLE_AS = re.compile(
    r"^(?:new\s+)?(?P<noun>job|role|position|career|weekends|evenings|free time|spare time|"
    r"summers)\s+(?P<prep>as|on|doing)\s+(?:(?:a|an|the)\s+)?(?P<v>[a-z].*)$"
)
_RELATIVE_VALUE = re.compile(
    r"^(?P<noun>friend|buddy|pal|partner|girlfriend|boyfriend|colleague|neighbou?r|roommate)\s+"
    r"(?P<v>[A-Z][\w'\-]*)$"
)
_SUBJECT = re.compile(rf"^(?P<s>{_NAME})\s+")
_NOT_SUBJECTS = frozenset(
    """The A An This That These Those It There Here What When Where Why How Who Which Yes No
    Oh Well So But And Or If Because Today Yesterday Tomorrow Everyone Someone Nobody Nothing
    Everything Something Life Work Things Weather Traffic Thanks Thank Sure Maybe Also Anyway
    Then Now Last Next Every Our My Your His Her Their Its We They He She You Lol Haha Wow
    Honestly Actually""".split()  # noqa: SIM905 (a word list reads better as text)
)
_IRREGULAR = {
    "is": "be",
    "are": "be",
    "was": "be",
    "were": "be",
    "am": "be",
    "been": "be",
    "has": "have",
    "had": "have",
    "went": "go",
    "goes": "go",
    "got": "get",
    "gotten": "get",
    "bought": "buy",
    "left": "leave",
    "began": "begin",
    "begun": "begin",
    "took": "take",
    "taken": "take",
    "made": "make",
    "met": "meet",
    "drove": "drive",
    "driven": "drive",
    "spoke": "speak",
    "spoken": "speak",
    "ran": "run",
    "found": "find",
    "became": "become",
    "does": "do",
    "did": "do",
    "done": "do",
    "saw": "see",
    "seen": "see",
    "gave": "give",
    "given": "give",
    "sold": "sell",
    "taught": "teach",
    "studies": "study",
    "studied": "study",
    "lives": "live",
    "lived": "live",
    "moved": "move",
    "loves": "love",
    "loved": "love",
    "dating": "date",
    "dates": "date",
    "dated": "date",
    "living": "live",
    "moving": "move",
    "having": "have",
    "making": "make",
    "taking": "take",
    "driving": "drive",
    "joined": "join",
    "quit": "quit",
    "broke": "break",
    "split": "split",
    "married": "marry",
    "marries": "marry",
    "adopted": "adopt",
    "seeing": "see",
}
_SILENT_E = re.compile(r"(?:[^aeiou]at|iz|[aeiou]v|[^aeiou][bdgpt]l|[aeiou][cgs]|ng)$")
_PLACE_VERBS = frozenset(
    """live move relocate settle reside base bas visit travel go stay head fly return be_from come
    grow_up born from be arrive land rent apartment flat house home emigrate""".split()  # noqa: SIM905 (a word list reads better as text)
)
_PERSON_HEADS = re.compile(
    r"\b(?:dat\w*|see|be with|together|marri\w*|marry|engaged|partner|girlfriend|boyfriend|"
    r"wife|husband|spouse|"
    r"fianc\w*|seeing|friend\w*|buddy|pal|roommate|colleague|sister|brother|mother|father|son|"
    r"daughter|child|kid|relationship|together|broke up|split up|separated|divorced|"
    r"engaged|break up|split up)\b",
    re.IGNORECASE,
)
_ORG_WORDS = re.compile(
    r"\b(?:Inc|Corp|Ltd|LLC|GmbH|Labs?|Bank|University|College|School|Hospital|Clinic|Group|"
    r"Company|Studios?|Systems|Technologies|Tech|Foundation|Institute|Agency|Partners|Press|"
    r"Airlines?|Motors|Foods|Media|Capital|Health|Academy|Bakery|Cafe|Restaurant|Hotel|"
    r"Consulting|Solutions|Works|Records|Software|Analytics|Logistics|Robotics|Energy)\b"
)
_ORG_PREPS = frozenset({"at", "for", "by", "with", "join", "at_the"})
_QUANTITY = re.compile(
    r"^(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|a dozen)"
    r"(?:\s+[a-z]+)?$",
    re.IGNORECASE,
)
_DATE_VALUE = re.compile(
    r"^(?:\d{1,2}\s+)?(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)(?:\s+\d{1,2})?(?:,?\s+\d{4})?$|^\d{4}(?:-\d\d(?:-\d\d)?)?$"
)
_TYPE_WORD = {
    ValueType.PERSON: "someone",
    ValueType.PLACE: "a place",
    ValueType.ORGANISATION: "an organisation",
    ValueType.DATE: "a date",
    ValueType.QUANTITY: "a number",
}
_MAX_VALUE_WORDS = 5
_MAX_PHRASE_WORDS = 6


@dataclass(frozen=True, slots=True)
class Reading:
    """What one third-person clause states, as a triple.

    ``phrase`` is the relation as written between subject and value ("moved to", "'s partner",
    "has a dog named"); ``head`` its lemma form ("move to", "partner", "have dog").
    """

    subject: str
    phrase: str
    head: str
    value: str
    value_type: ValueType
    negated: bool = False
    cue: str | None = None


def lemma(word: str) -> str:
    """A verb's or noun's base form, by a short irregular list and suffix rules."""
    lower = word.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if lower.endswith(suffix) and len(lower) - len(suffix) >= 3:
            stem = lower[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and stem[-1:] == stem[-2:-1] and stem[-1:] not in "ls":
                stem = stem[:-1]  # "stopped" -> "stop"
            elif suffix in ("ing", "ed") and _SILENT_E.search(stem):
                stem += "e"  # "relocated" -> "relocate", "settled" -> "settle", "based" -> "base"
            if suffix == "es" and not lower.endswith(("sses", "shes", "ches", "xes", "zes")):
                stem = lower[:-1]  # "moves" -> "move"
            return stem
    return lower


def split_clauses(sentence: str) -> list[str]:
    """``sentence`` (as said) in clauses that each state one thing, subjects restored."""
    parts = [p.strip() for p in _OWN_SUBJECT_SPLIT.split(sentence) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        pieces = [p.strip() for p in _CARRIED_SPLIT.split(part) if p.strip()]
        if len(pieces) > 1:
            lead = _LEAD_SUBJECT.match(_LEADING_TIME.sub("", pieces[0]))
            if lead is not None:
                subject = lead["s"]
                pieces = [pieces[0], *(f"{subject} {p}" for p in pieces[1:])]
            else:
                pieces = [" and ".join(pieces)]
        out.extend(pieces)
    merged: list[str] = []
    for piece in out:  # "Yeah, I moved": a piece without subject and verb is no clause
        last = merged[-1].split() if merged else []
        if last and (len(last) < 2 or (len(last) == 2 and not _LEAD_SUBJECT.match(merged[-1]))):
            merged[-1] = f"{merged[-1]}, {piece}"
        else:
            merged.append(piece)
    return merged or [sentence]


def _clean_value(value: str) -> str:
    value = re.sub(r"^(?:now|also|still|currently|really)\s+", "", value.strip(), flags=re.I)
    value = _VALUE_END.sub("", value)
    value = _TIME_PHRASES.sub("", value)
    value = re.sub(r"\s+(?:now|too|also|again|anymore|any more|instead|as well)\s*$", "", value)
    value = value.strip(" .!?'\"")
    for _ in range(3):
        stripped = _DETERMINERS.sub("", value)
        if stripped == value:
            break
        value = stripped
    return " ".join(value.split()[:_MAX_VALUE_WORDS])


def _type_of(value: str, head: str) -> ValueType:
    if _DATE_VALUE.match(value):
        return ValueType.DATE
    if _QUANTITY.match(value):
        return ValueType.QUANTITY
    capitalised = value[:1].isupper()
    words = head.split()
    verb, prep = (words[0] if words else ""), (words[-1] if len(words) > 1 else "")
    if capitalised and _ORG_WORDS.search(value):
        return ValueType.ORGANISATION
    if capitalised and _PERSON_HEADS.search(head):
        return ValueType.PERSON
    if capitalised and (
        verb in _PLACE_VERBS or "home" in words or any(w in _PLACE_VERBS for w in words[1:-1])
    ):
        return ValueType.PLACE
    if capitalised and (
        prep in _ORG_PREPS
        or verb in ("join", "employ", "employer", "quit", "leave", "job", "company", "workplace")
    ):
        return ValueType.ORGANISATION
    return ValueType.THING


def cue_of(text: str) -> str | None:
    """``"addition"`` ("also", "another"), ``"change"`` ("now", "moved", "no longer") or
    ``None``: what the text's words say about a relation holding one value or several."""
    if _ADDITION_CUES.search(text):
        return "addition"
    if _CHANGE_CUES.search(text):
        return "change"
    return None


def read_triple(clause: str) -> Reading | None:
    """The triple a third-person clause states, or ``None`` when it fits no shape."""
    text = clause.strip().rstrip(".!?").strip()
    text = re.sub(r"^(?:(?:on|in|since|by|around)\s+[^,]+,\s*)", "", text)
    cue = cue_of(text)
    # "Since the week of 3 May Ravi works for Hooli", "After years in Bergen Ravi moved to
    # Munich": a leading adjunct without a comma ends where a named subject and its verb begin
    text = _LEADING_ADJUNCT.sub("", text)
    text = _TIME_PHRASES.sub("", text).strip(" ,")
    text = _CALLS_HOME.sub(r"\g<s> lives in \g<v>", text)
    text = re.sub(r"(?:\s+(?:now|too|as well|again|also|anymore|any more|instead))+$", "", text)
    for _ in range(2):
        text = _PREFIX.sub("", text).strip()
    text = re.sub(rf"\b({_NAME}) and others\b", r"\1", text)
    if text[:1].islower():
        text = text[:1].upper() + text[1:]
    negated = _NEGATION.search(text) is not None or _NEG_WORDS.search(text) is not None
    negated = negated and not re.search(r"\bnot only\b", text, re.IGNORECASE)
    reading = _value_first(text) or _possessive(text) or _verbal(text)
    if reading is None:
        return None
    subject, phrase, value, head = reading
    if not value or not subject or subject in _NOT_SUBJECTS:
        return None
    if _END_CUES.search(phrase):
        negated = True
    if value.lower() in ("it", "them", "that", "this", "there", "here", "one", "something"):
        return None
    return Reading(
        subject=subject,
        phrase=phrase,
        head=head,
        value=value,
        value_type=_type_of(value, head),
        negated=negated,
        cue=cue,
    )


def _value_first(text: str) -> tuple[str, str, str, str] | None:
    """ "Sushi is Dana's favourite food", "Home for Dana is Lisbon", "Another friend of
    Dana's is Rosa", "Another instrument Dana plays is the cello"."""
    match = _VALUE_FIRST.match(text)
    if match is not None and match["s"] not in _NOT_SUBJECTS:
        noun = re.sub(r"^(?:new|current|latest|favourite|favorite)\s+", "", match["noun"])
        noun = match["noun"] if noun != match["noun"] and " " not in match["noun"] else noun
        value = _clean_value(match["v"])
        return match["s"], f"'s {match['noun']}", value, " ".join(lemma(w) for w in noun.split())
    match = _VALUE_OF.match(text)
    if match is not None and match["s"]:
        subject = re.sub(r"['\u2019]s$", "", match["s"])
        if subject not in _NOT_SUBJECTS:
            noun = match["noun"].lower()
            return subject, f"'s {noun}", _clean_value(match["v"]), lemma(noun)
    match = _NOUN_FOR.match(text)
    if match is not None and match["s"]:
        subject = re.sub(r"['\u2019]s$", "", match["s"])
        if subject not in _NOT_SUBJECTS:
            noun = match["noun"].lower()
            return subject, f"'s {noun}", _clean_value(match["v"]), lemma(noun)
    match = _NOUN_VERB.match(text)
    if match is not None and match["s"] not in _NOT_SUBJECTS:
        verb = match["verb"]
        return match["s"], verb, _clean_value(match["v"]), lemma(verb)
    return None


def _possessive(text: str) -> tuple[str, str, str, str] | None:
    """ "Dana's partner is Mia", "Dana's new employer is Acme", "Dana's dog Rex ..."."""
    for pattern in (_POSSESSIVE, _POSSESSIVE_NAMED):
        match = pattern.match(text)
        if match is None:
            continue
        noun = _DETERMINERS.sub("", match["noun"])
        noun = re.sub(r"^(?:new|current|latest|first|second|other)\s+", "", noun)
        value = _clean_value(match["v"])
        if not value or match["s"] in _NOT_SUBJECTS:
            return None
        phrase = f"'s {noun}"
        return match["s"], phrase, value, " ".join(lemma(w) for w in noun.split())
    return None


def _verbal(text: str) -> tuple[str, str, str, str] | None:
    """ "Dana moved to Porto", "Dana is dating Mia", "Dana has a cat named Luna"."""
    match = _SUBJECT.match(text)
    if match is None:
        return None
    subject = match["s"]
    if subject.split()[0] in _NOT_SUBJECTS:
        return None
    rest = _ADVERBS.sub("", text[match.end() :]).strip()
    if _NEG_WORDS.search(text):  # "does not speak Thai"; "does rock climbing" keeps its verb
        rest = re.sub(r"^(?:does|do|did)(?:n['\u2019]t| not)?\s+", "", rest, flags=re.I)
    rest = re.sub(r"^used to\s+", "", rest, flags=re.IGNORECASE)
    words = rest.split()
    if not words:
        return None
    aux = _AUX.match(rest)
    if aux is not None and aux.group(0).split()[-1].lower() in ("does", "do", "did"):
        aux = None  # "does rock climbing": the verb itself
    if aux is not None and re.match(
        r"(?:a|an|the|some|two|three|another|one|new)\b", rest[aux.end() :], re.IGNORECASE
    ):
        # "has a cat", "got a job at", "is a nurse": the last auxiliary is the verb
        last = aux.group(0).split()[-1]
        rest = rest[aux.group(0).rstrip().rfind(last) :]
        aux = None
    verb_start = aux.end() if aux else 0
    body = rest[verb_start:]
    if not body:
        return None
    if aux is not None and aux.group(0).split()[-1].lower() == "been" and body.startswith("to "):
        # "has been to Peru": a visit, not a copula
        return subject, "has been to", _clean_value(body[3:]), "be to"
    # the verb, then up to two particles/prepositions ("moved back to", "works as a")
    verb_match = re.match(
        r"(?P<verb>[a-z][\w\-]*)(?P<parts>(?:\s+(?:in|to|at|for|with|as|from|into|up|out|on|"
        r"back|over|by|of|near|about|away))*)\s+(?P<rest>.+)$",
        body,
    )
    if verb_match is None:
        if aux and re.match(r"(?:is|are|was|were)\b", rest, re.IGNORECASE):
            verb_match = None
        return None
    catenative = _CATENATIVE.match(body)
    if catenative is not None:  # "started dating Mia", "started working as a nurse"
        body = catenative["rest"]
        verb_match = re.match(
            r"(?P<verb>[a-z][\w\-]*)(?P<parts>(?:\s+(?:in|to|at|for|with|as|from|into|up|out|on|"
            r"back|over|by|of|near|about|away))*)\s+(?P<rest>.+)$",
            body,
        )
        if verb_match is None:
            return None
    verb, parts, tail = verb_match["verb"], verb_match["parts"].strip(), verb_match["rest"]
    phrase_words = [verb, *parts.split()]
    if aux and lemma(aux.group(0).split()[0]) == "be" and verb in ("a", "an", "the"):
        return None
    copula = (
        aux is not None
        and lemma(aux.group(0).split()[0]) == "be"
        and not verb.endswith(("ing", "ed"))
    )
    if aux is None and lemma(verb) == "be":
        copula = True
        verb_match = re.match(r"(?P<verb>\S+)\s+(?P<rest>.+)$", tail)
        if verb_match is None:
            return None
        verb, tail, parts = verb_match["verb"], verb_match["rest"], ""
        phrase_words = [verb]
    if copula and verb == "in" and tail[:1].isupper():  # "is in Porto now"
        return subject, "is in", _clean_value(tail), "be in"
    adjective = (
        re.match(r"^(?P<prep>in|with|to|at|of|about|on)\s+(?P<v>.+)$", tail)
        if copula and verb not in ("a", "an", "the", "from", "with", "in", "at", "into")
        else None
    )
    if adjective is None and copula and parts and verb not in ("a", "an", "the", "from", "with"):
        adjective = re.match(r"^(?P<prep>\S+)\s+(?P<v>.+)$", f"{parts.split()[-1]} {tail}")
    if adjective is not None:  # "is fluent in Spanish", "is friends with Rosa", "is good at chess"
        phrase = f"is {verb} {adjective['prep']}"
        return subject, phrase, _clean_value(adjective["v"]), f"{lemma(verb)} {adjective['prep']}"
    if copula and verb not in ("from", "with", "in", "at", "into", "married", "engaged"):
        # "Dana is a nurse", "Dana is into pottery": the copula names a state or a role
        value = _clean_value(f"{verb} {tail}")
        phrase = "is"
        if verb in ("into", "in"):
            return subject, f"is {verb}", _clean_value(tail), f"be {verb}"
        if not re.match(r"^(?:a|an|the)\s", f"{verb} {tail}", re.IGNORECASE):
            return None  # "Dana is tired": an adjective, not a triple
        return subject, phrase, value, "be"
    named = _NAMED.match(_DETERMINERS.sub("", _DETERMINERS.sub("", tail)))
    if named is not None:
        kind = named["kind"]
        value = _clean_value(named["v"])
        phrase = " ".join([*phrase_words, kind, "named"])
        return subject, phrase, value, " ".join([lemma(verb), *(lemma(k) for k in kind.split())])
    role = _ROLE_AS.match(_DETERMINERS.sub("", tail))
    if role is not None:  # "has a new job as a teacher", "spends weekends on pottery"
        head = " ".join([lemma(verb), role["noun"].split()[-1], role["prep"]])
        phrase = " ".join([*phrase_words, role["noun"], role["prep"]])
        return subject, phrase, _clean_value(role["v"]), head
    folded = _FOLD.match(_DETERMINERS.sub("", tail))
    if folded is not None:
        # "got a job at Globex", "found a flat in Porto": the noun and preposition join the verb
        phrase_words += [folded["noun"], folded["prep"]]
        parts = f"{parts} {folded['noun']} {folded['prep']}".strip()
        tail = folded["v"]
    value = _clean_value(tail)
    relative = _RELATIVE_VALUE.match(value)
    if relative is not None:  # "hangs out with their friend Felix": Felix, a friend
        phrase_words.append(relative["noun"])
        parts = f"{parts} {relative['noun']}".strip()
        value = relative["v"]
    if aux is not None and lemma(aux.group(0).split()[0]) == "be" and verb in ("from", "with"):
        phrase_words = ["is", verb]
    head = " ".join([lemma(verb), *parts.split()])
    if head in ("be", "have") and not value:
        return None
    return subject, " ".join(phrase_words), value, head


def relation_text(reading: Reading) -> str:
    """The relation with its value masked by type ("moved to a place"), for embedding.

    A value of type *thing* is kept ("plays the cello"): for such values the value itself says
    which relation is meant (an instrument, a pastime, a profession).
    """
    mask = _TYPE_WORD.get(reading.value_type)
    phrase = reading.phrase.removeprefix("'s ").strip()
    if reading.phrase.startswith("'s "):
        return f"their {phrase} is {mask or reading.value}"
    return f"{phrase} {mask or reading.value}"


def relation_texts(reading: Reading) -> list[str]:
    """The texts a reading's relation is known by: :func:`relation_text`, and where the value
    is a capitalised name of no known type ("has a cat named Luna", "is seeing Noah"), the
    same with the value masked as a name.
    """
    out = [relation_text(reading)]
    if reading.value_type is ValueType.THING and reading.value[:1].isupper():
        phrase = reading.phrase.removeprefix("'s ").strip()
        if reading.phrase.startswith("'s "):
            out.append(f"their {phrase} is a name")
        else:
            out.append(f"{phrase} a name")
    return out
