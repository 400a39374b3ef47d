"""Every prompt memsvc sends to a language model, in one place.

Each builder returns chat messages (``[{"role": ..., "content": ...}]``). The JSON tasks
(facts, decisions) describe the exact object expected; :mod:`memsvc.llm.structured` validates
it and, once, sends :func:`repair_messages` when it does not parse. The aggregation prompt is
MemTree's (ALGORITHMS.md §3.2); query refinement asks for the "thought" of iterative retrieval
(ALGORITHMS.md §4.2). The ``local_*`` builders are short few-shot prompts for a very small model
(SmolLM2-135M), which cannot follow the long JSON instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from memsvc.types import FactCandidate, KnownFact, SummaryKind, Turn

__all__ = [
    "REPAIR_JSON",
    "REPAIR_TEXT",
    "ChatMessage",
    "aggregate_messages",
    "decide_messages",
    "extract_facts_messages",
    "local_decide_messages",
    "local_rewrite_messages",
    "refine_query_messages",
    "repair_messages",
    "summarize_messages",
]


class ChatMessage(TypedDict):
    """One chat message as OpenAI-compatible APIs take it."""

    role: str
    content: str


def _turn_line(turn: Turn) -> str:
    when = turn.occurred_at.strftime("%Y-%m-%d %H:%M (%A)")
    return f"[id={turn.event_id}] {when} {turn.speaker}: {turn.text}"


_FACTS_SYSTEM = """You extract long-term memories from a conversation.
Rules:
- One fact per statement: short, atomic, self-contained sentences in the third person.
- Name people: replace I/me/my with the speaker's name and "you" with the person addressed.
- Resolve pronouns to the names they refer to.
- Turn relative dates ("yesterday", "last week", "last Friday") into absolute dates, using the
  date of the turn in which they were said (e.g. "on 7 May 2023", "in the week of 1 May 2023").
- Skip greetings, questions, thanks, small talk and anything that is not a fact about someone.
- source_ids lists the id of every turn the fact comes from.
- Split coordinated statements: "I moved to Porto and started at Acme" is two facts.
- When the fact has a clear (subject, relation, value), give it: subject is a person's name
  (never "User"), predicate the relation as a short phrase ("lives in", "works at", "is
  dating", "has a dog named"), object the value, value_type one of person, place,
  organisation, date, quantity, thing; else null.
- negated: true when the fact says the relation no longer holds ("I don't live in Oslo
  anymore", "broke up with Mia"), with the value that no longer holds as object.
- happened_at: the date (YYYY-MM-DD) the fact became true when the text says so ("two weeks
  ago"), else null.
- importance: 0.0 (trivial) to 1.0 (life event, identity, lasting preference).
Answer with a JSON object only, no prose:
{"facts": [{"text": "...", "source_ids": [1], "subject": null, "predicate": null,
"object": null, "value_type": null, "negated": false, "happened_at": null, "importance": 0.5}]}
If there is nothing worth remembering, answer {"facts": []}."""


def extract_facts_messages(
    turns: Sequence[Turn], context: Sequence[Turn] = ()
) -> list[ChatMessage]:
    """Fact extraction: the turns to read, with earlier turns for reference only."""
    parts = []
    if context:
        earlier = "\n".join(_turn_line(t) for t in context)
        parts.append(f"Earlier turns (for reference only; extract nothing from them):\n{earlier}")
    parts.append("Turns to extract facts from:\n" + "\n".join(_turn_line(t) for t in turns))
    return [
        {"role": "system", "content": _FACTS_SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


_DECIDE_SYSTEM = """You maintain a memory of facts. A new fact arrives together with similar
facts already stored. Choose one operation:
- "add": the new fact is new information (unrelated to, or compatible with, the stored ones).
- "merge": the new fact says the same as a stored fact (a duplicate); nothing changes.
- "update": the new fact refines a stored fact (more specific, more complete); give the
  refined text in "text".
- "invalidate": the new fact contradicts a stored fact, or says it is no longer true (someone
  moved, changed jobs, broke up...); the stored fact is retired and the new one kept.
A stored fact with the same subject and relation but another value is replaced only when the
relation holds one value at a time (home, employer, partner): a second pet, friend or hobby
joins the first ("add"). The new fact says whether its relation holds one value at a time.
target_id is the id of the stored fact concerned (null for "add").
Answer with a JSON object only:
{"op": "add|merge|update|invalidate", "target_id": null, "text": null, "reason": "..."}"""


def _triple_note(subject: str | None, relation: str | None, value: str | None) -> str:
    if not (subject and relation and value):
        return ""
    return f", triple ({subject}; {relation}; {value})"


def decide_messages(candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> list[ChatMessage]:
    """The update decision for ``candidate`` against ``neighbours``."""
    stored = "\n".join(
        f"- id={n.id} (since {n.valid_from:%Y-%m-%d}, similarity {n.similarity:.2f}"
        f"{_triple_note(n.subject, n.relation, n.object)}): {n.text}"
        for n in neighbours
    )
    single = {True: "one value at a time", False: "several values at once", None: "unknown"}
    user = (
        f"New fact (stated {candidate.occurred_at:%Y-%m-%d}"
        f"{_triple_note(candidate.subject, candidate.relation, candidate.object)}"
        f"{', negated' if candidate.negated else ''}; "
        f"its relation holds {single[candidate.single_valued]}): {candidate.text}\n\n"
        f"Stored facts:\n{stored or '(none)'}"
    )
    return [{"role": "system", "content": _DECIDE_SYSTEM}, {"role": "user", "content": user}]


_SUMMARY_INSTRUCTIONS = {
    SummaryKind.EPISODE: "Summarise this part of a conversation in two or three sentences: who "
    "said or did what, with names and dates.",
    SummaryKind.SESSION: "Summarise this conversation session concisely, keeping the main "
    "themes and key information (events, plans, decisions) with names and dates.",
    SummaryKind.DAY: "Summarise the events of this day concisely. If there are several key "
    "events, summarise each in its own sentence.",
    SummaryKind.PROFILE: "Write a concise profile of the user from these facts: identity, "
    "where they live and work, relationships, preferences, personality and ongoing plans. Keep "
    "only what is still true; write in the third person.",
}


def summarize_messages(texts: Sequence[str], kind: SummaryKind) -> list[ChatMessage]:
    """A summary of ``kind`` (MemoryBank's event summary and portrait prompts, ALGORITHMS §1.3)."""
    body = "\n".join(f"- {t}" for t in texts)
    return [
        {
            "role": "system",
            "content": "You write short, factual summaries. Output only the summary.",
        },
        {"role": "user", "content": f"{_SUMMARY_INSTRUCTIONS[kind]}\n\n{body}\n\nSummary:"},
    ]


def aggregate_messages(node_text: str, new_text: str, n: int) -> list[ChatMessage]:
    """MemTree's aggregation prompt (ALGORITHMS.md §3.2), word for word."""
    prompt = (
        "You will receive two pieces of information: New Information is detailed, and Existing "
        f"Information is a summary from {n} previous entries. Your task is to merge these into a "
        "single, cohesive summary that highlights the most important insights.\n"
        "- Focus on the key points from both inputs.\n"
        "- Ensure the final summary combines the insights from both pieces of information.\n"
        "- If the number of previous entries in Existing Information is accumulating (more than "
        "2), focus on summarizing more concisely, only capturing the overarching theme, and "
        "getting more abstract in your summary.\n"
        "Output the summary directly.\n"
        f"[New Information] {new_text}\n"
        f"[Existing Information (from {n} previous entries)] {node_text}\n"
        "IMPORTANT! Don't output additional commentary, explanations, or unrelated information. "
        "Output only the merged summary.\n"
        "[Output Summary]"
    )
    return [{"role": "user", "content": prompt}]


def refine_query_messages(question: str, retrieved: Sequence[str]) -> list[ChatMessage]:
    """Iterative retrieval's next step (ALGORITHMS.md §4.2): a thought about what is missing."""
    memories = "\n".join(f"{i}. {t}" for i, t in enumerate(retrieved, 1))
    prompt = (
        "You are answering a question from memories retrieved so far. Think step by step in one "
        "or two sentences: what do the memories tell, and what is still missing to answer? Name "
        "the people, places, dates and things to search for next.\n"
        f"Memories:\n{memories or '(none)'}\n\nQuestion: {question}\nThought:"
    )
    return [{"role": "user", "content": prompt}]


#: What a repair prompt asks for, by kind of answer.
REPAIR_JSON = "only the JSON object, exactly in the format described"
REPAIR_TEXT = "only the answer, as plain text"


def repair_messages(
    messages: Sequence[ChatMessage], bad_output: str, problem: str, *, expect: str = REPAIR_JSON
) -> list[ChatMessage]:
    """The conversation so far plus a request to fix an answer that did not validate."""
    return [
        *messages,
        {"role": "assistant", "content": bad_output},
        {
            "role": "user",
            "content": f"That answer is not valid: {problem}. Reply again with {expect}, "
            "and nothing else.",
        },
    ]


_LOCAL_REWRITE_SYSTEM = (
    "You rewrite a chat message as one fact in the third person. Replace I, me and my with the "
    "speaker's name. Keep dates as written."
)
_LOCAL_REWRITE_SHOTS = (
    (
        "Dan",
        "Sara",
        "I just moved to Denver with my wife!",
        "Dan just moved to Denver with his wife.",
    ),
    (
        "Ana",
        "Tom",
        "I've been painting a lot lately, it helps me relax.",
        "Ana has been painting a lot lately; it helps her relax.",
    ),
)


def local_rewrite_messages(speaker: str, addressee: str | None, sentence: str) -> list[ChatMessage]:
    """Few-shot third-person rewrite of one sentence, for a very small local model."""
    messages: list[ChatMessage] = [{"role": "system", "content": _LOCAL_REWRITE_SYSTEM}]
    for who, to, said, fact in _LOCAL_REWRITE_SHOTS:
        messages.append({"role": "user", "content": f'{who} said to {to}: "{said}"'})
        messages.append({"role": "assistant", "content": fact})
    messages.append(
        {"role": "user", "content": f'{speaker} said to {addressee or "a friend"}: "{sentence}"'}
    )
    return messages


def local_decide_messages(candidate: FactCandidate, neighbour: KnownFact) -> list[ChatMessage]:
    """A yes/no-style choice for a very small local model, scored option by option."""
    prompt = (
        f"Old fact: {neighbour.text}\nNew fact: {candidate.text}\n"
        "Is the new fact the same as the old one (same), a more detailed version of it (detail), "
        "in contradiction with it (contradiction), or about something else (different)? "
        "Answer with one word."
    )
    return [{"role": "user", "content": prompt}]
