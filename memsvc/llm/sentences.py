"""Sentence splitting and the small word lists the offline tasks read text with.

Chat text is informal ("Gonna continue my edu", "Wow, Mel! Love that."), so the splitter is a
regular expression that knows a few abbreviations, and "filler" (greetings, reactions, thanks,
questions) is recognised by its first words and by how few content words are left.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "STOPWORDS",
    "content_words",
    "is_filler",
    "is_question",
    "normalize",
    "split_sentences",
    "stem",
    "strip_interjections",
]

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself no
    nor not of off on once only or other ought our ours ourselves out over own same shan't she
    she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's
    when when's where where's which while who who's whom why why's will with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves really so just
    gonna wanna gotta kinda yeah yes oh wow lol haha hey hi hello ok okay thanks thank pretty
    totally definitely actually lot lots much many thing things something anything stuff get got
    go going like know think feel make made way even still well one also always never now
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "e.g", "i.e")
_SPLIT = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019\-]*")

# Words that open a greeting or a reaction rather than a statement.
_INTERJECTIONS = (
    "hey|hi|hello|hiya|yo|wow|whoa|oh|ooh|omg|aww|aw|ah|ahh|yeah|yea|yes|yep|yup|no|nope|nah|"
    "ok|okay|cool|awesome|great|nice|sure|thanks|thank you|thx|haha|hahaha|lol|hmm|um|uh|well|"
    "so|right|totally|absolutely|congrats|congratulations|btw|by the way|anyway|anyways|"
    "honestly|seriously|definitely|indeed|oh man|man|dude|gosh|jeez|sweet|amazing|agreed|true"
)
_LEADING_INTERJECTIONS = re.compile(
    rf"^(?:(?:{_INTERJECTIONS})(?:\s+[A-Z][a-z]+)?\s*[,!.…:;-]+\s*)+", re.IGNORECASE
)
_FILLER_START = re.compile(
    r"^(?:that'?s|that is|that sounds|sounds|it sounds|how|what|glad|good to|nice to|great to|"
    r"talk soon|talk to you|see you|take care|bye|good luck|congrats|congratulations|"
    r"thanks|thank you|let me know|tell me|"
    r"keep (?:it up|up)|you'?re welcome|me too|same here|"
    r"happy to|hope you|hope your|have a|enjoy|you got this|good for you|wishing you|"
    r"can't wait to (?:see|hear)|looking forward to (?:seeing|hearing)|for \w+ing)\b",
    re.IGNORECASE,
)

_AGREEMENT = re.compile(
    r"^(?:I\s+)?(?:totally|completely|really|so|fully|100%|couldn't|could not)?\s*"
    r"(?:agree|agreed)(?:\s+more)?\b[^.!?]{0,20}[.!?]*$",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """Lower-case, NFKC, punctuation removed, whitespace collapsed (for equality tests)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split chat text into sentences (line breaks also end a sentence)."""
    out: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        pieces = _SPLIT.split(line)
        merged: list[str] = []
        for piece in pieces:
            last_word = merged[-1].rsplit(" ", 1)[-1].rstrip(".").lower() if merged else ""
            if merged and last_word in _ABBREVIATIONS:
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        out.extend(p.strip() for p in merged if p.strip())
    return out


def is_question(sentence: str) -> bool:
    """Whether the sentence asks something rather than states it."""
    return sentence.rstrip().rstrip("\"')").endswith("?")


def strip_interjections(sentence: str) -> str:
    """Drop leading "Wow, Mel!", "Yeah,", "By the way," and the like."""
    return _LEADING_INTERJECTIONS.sub("", sentence).strip()


def content_words(text: str) -> list[str]:
    """Lower-cased words that are not stopwords and are longer than one character."""
    words = (w.lower().replace("\u2019", "'").strip("'-") for w in _WORD.findall(text))
    return [w for w in words if len(w) > 1 and w not in STOPWORDS]


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match "lives"/"living"/"lived" for overlap tests."""
    for suffix in ("ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def is_filler(sentence: str) -> bool:
    """Greetings, reactions, thanks and other sentences that state no fact."""
    core = strip_interjections(sentence)
    if not core:
        return True
    if _AGREEMENT.match(core):
        return True
    if _FILLER_START.match(core) and not re.search(r"\b(?:I|my|we|our)\b", core):
        return True
    return len(content_words(core)) < 2
