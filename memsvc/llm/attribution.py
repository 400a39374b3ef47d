"""First person to third person: "I'm keen on counseling" said by Caroline -> "Caroline is keen on
counseling".

Replaces I/me/my/mine/myself with the speaker's name, you/your with the addressee's when it is
known, and we/us/our with the speaker and others, fixing the verb that follows a replaced subject
("I love" -> "Caroline loves", "you were" -> "Mel was"). Subject-less chat openers ("Gonna
continue my edu", "Just got back") get their implied "I" first.
"""

from __future__ import annotations

import re

__all__ = ["third_person", "third_person_verb"]

_MODALS = frozenset(
    """can could will would shall should may might must cannot can't couldn't won't wouldn't
    shouldn't mustn't did didn't""".split()  # noqa: SIM905 (a word list reads better as text)
)
_PAST = frozenset(
    """was were had did went got saw made took came felt found gave told thought bought brought
    ran began met left kept knew heard wrote said paid lost won built sent spent sat stood taught
    caught fought slept ate drank drove flew grew threw wore chose broke spoke forgot became sold
    held led fell hit put set let cut quit hurt read understood began swam sang rode drew lent
    shut spread upset burnt learnt dreamt""".split()  # noqa: SIM905 (a word list reads better as text)
)
_ADVERBS = frozenset(
    """just really also always never still recently finally actually totally definitely usually
    often sometimes even already truly honestly absolutely only mostly personally seriously
    literally currently now rarely especially generally basically probably hardly barely
    totally def kinda sorta almost nearly certainly clearly simply constantly occasionally
    eventually gradually""".split()  # noqa: SIM905 (a word list reads better as text)
)
_IRREGULAR = {"have": "has", "do": "does", "go": "goes", "be": "is", "am": "is", "are": "is"}
_CONTRACTIONS = (
    (r"\bI['\u2019]m\b|\bI am\b|\bim\b", "{S} is"),
    (r"\bI['\u2019]ve\b", "{S} has"),
    (r"\bI['\u2019]ll\b", "{S} will"),
    (r"\bI['\u2019]d\s+(?=(?:been|had|gone|done|seen|never|already|just)\b)", "{S} had "),
    (r"\bI['\u2019]d\b", "{S} would"),
    (r"\bI\s+don['\u2019]?t\b", "{S} doesn't"),
    (r"\bI\s+haven['\u2019]?t\b", "{S} hasn't"),
    (r"\bI\s+wasn['\u2019]?t\b", "{S} wasn't"),
    (r"\bI\s+was\b", "{S} was"),
)
_YOU_CONTRACTIONS = (
    (r"\byou['\u2019]re\b|\byou are\b", "{A} is"),
    (r"\byou['\u2019]ve\b", "{A} has"),
    (r"\byou['\u2019]ll\b", "{A} will"),
    (r"\byou['\u2019]d\b", "{A} would"),
    (r"\byou\s+were\b", "{A} was"),
    (r"\byou\s+don['\u2019]?t\b", "{A} doesn't"),
    (r"\byou\s+haven['\u2019]?t\b", "{A} hasn't"),
)
_SLANG = (
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "have to"),
    (r"\bkinda\b", "kind of"),
    (r"\bedu\b", "education"),
)
_IMPLIED_I = re.compile(
    r"^(?:(?P<gonna>gonna|going to)|(?P<been>been)|(?P<ing>hoping|planning|trying|thinking|"
    r"looking|working|heading|getting|loving|feeling|taking|doing|learning|starting|enjoying|"
    r"studying|volunteering|training|saving|moving|reading|writing|making)|"
    r"(?P<plain>just|finally|recently|got|went|had|made|took|started|finished|love|loved|"
    r"can't wait|hoping|planning|trying|thinking))\b",
    re.IGNORECASE,
)
# "Working out is fun", "Taking care of ourselves is vital": the gerund phrase is the subject.
_GERUND_SUBJECT = re.compile(
    r"^\w+ing\b(?:['\u2019]s\b|[^,]*?\s(?:is|was|has|can|makes|helps|gives|keeps|brings)\b)",
    re.IGNORECASE,
)
# "you" as a subject: at the start, after a comma or a conjunction.
_YOU_SUBJECT = re.compile(
    r"(^|[,;:]\s*|\b(?:and|but|that|if|when|because|so|since|as|while)\s+)you\b(?!['\u2019])",
    re.IGNORECASE,
)


def third_person_verb(verb: str) -> str:
    """The third-person singular present of ``verb``; past tenses and modals are unchanged."""
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower in _MODALS or lower in _PAST or lower.endswith(("ed", "'t")) or len(lower) < 2:
        return verb
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if lower.endswith("y") and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _add_implied_subject(sentence: str) -> str:
    match = _IMPLIED_I.match(sentence)
    if match is None or (match["ing"] and _GERUND_SUBJECT.match(sentence)):
        return sentence
    rest = sentence[match.end() :]
    if match["gonna"]:
        return "I'm going to" + rest
    if match["been"]:
        return "I've been" + rest
    if match["ing"]:
        return "I'm " + sentence[:1].lower() + sentence[1:]
    return "I " + sentence[:1].lower() + sentence[1:]


def _conjugate(text: str, marker: str, name: str) -> str:
    """Replace ``marker`` (a bare subject "I"/"you") by ``name``, fixing the verb after it."""

    def fix(match: re.Match[str]) -> str:
        words = match[1].split()
        for i, word in enumerate(words):
            if word.lower() not in _ADVERBS:
                words[i] = third_person_verb(word)
                break
        return " ".join([name, *words])

    return re.sub(re.escape(marker) + r"((?: [A-Za-z']+){1,5})", fix, text).replace(marker, name)


def _replace_first_person(text: str) -> str:
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"\bI\b(?!['\u2019])|\bi\b(?=\s)", "{I}", text)
    text = _conjugate(text, "{I}", "{S}")
    text = re.sub(r"\bmyself\b", "themself", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:my|mine)\b", "{SP}", text, flags=re.IGNORECASE)
    text = re.sub(r"\bme\b(?!-)", "{SO}", text, flags=re.IGNORECASE)
    text = re.sub(r"\bourselves\b", "themselves", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:our|ours)\b", "{SP}", text, flags=re.IGNORECASE)
    for short, verb in (("re", "are"), ("ve", "have"), ("ll", "will"), ("d", "would")):
        text = re.sub(rf"\bwe['\u2019]{short}\b", f"{{S}} and others {verb}", text, flags=re.I)
    return re.sub(r"\b(?:we|us)\b", "{S} and others", text, flags=re.IGNORECASE)


def _replace_second_person(text: str) -> str:
    for pattern, repl in _YOU_CONTRACTIONS:
        text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
    text = re.sub(r"\byourself\b", "{A}", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:your|yours)\b", "{A}'s", text, flags=re.IGNORECASE)
    text = _YOU_SUBJECT.sub(lambda m: m[1] + "{Y}", text)
    text = _conjugate(text, "{Y}", "{A}")
    return re.sub(r"\byou\b", "{A}", text, flags=re.IGNORECASE)


def _name_speaker(text: str, speaker: str) -> str:
    """Name the speaker at the first mention; later "my"/"me" become "their"/"them".

    "Melanie is lucky to have their husband" reads (and embeds) closer to how facts are written
    than "Melanie is lucky to have Melanie's husband".
    """
    named = False

    def name(match: re.Match[str]) -> str:
        nonlocal named
        marker, first = match[0], not named
        named = True
        if marker == "{SP}":
            return f"{speaker}'s" if first else "their"
        if marker == "{SO}":
            return speaker if first else "them"
        return speaker

    return re.sub(r"\{S[PO]?\}", name, text)


def third_person(sentence: str, *, speaker: str, addressee: str | None) -> str:
    """``sentence`` said by ``speaker`` to ``addressee``, rewritten in the third person."""
    text = sentence.strip()
    for pattern, repl in _SLANG:
        text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
    text = _add_implied_subject(text)
    text = _replace_first_person(text)
    if addressee:
        text = _replace_second_person(text)
    text = _name_speaker(text, speaker)
    if addressee:
        text = text.replace("{A}", addressee)
    text = text[:1].upper() + text[1:]
    if text and text[-1] not in ".!?":
        text += "."
    return re.sub(r"!+$", ".", text)
