"""First person to third person."""

from __future__ import annotations

import pytest

from memsvc.llm.attribution import third_person, third_person_verb


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("I love my kids", "Caroline loves their kids."),
        ("I really try to go", "Caroline really tries to go."),
        ("I'm keen on counseling", "Caroline is keen on counseling."),
        ("I've been swamped with work!", "Caroline has been swamped with work."),
        ("I'd love to help", "Caroline would love to help."),
        ("I went to a support group", "Caroline went to a support group."),
        ("I don't eat meat", "Caroline doesn't eat meat."),
        ("Gonna continue my edu", "Caroline is going to continue their education."),
        ("Just got back from Paris", "Caroline just got back from Paris."),
        ("Planning to move to Boston", "Caroline is planning to move to Boston."),
        ("Working out is fun for me", "Working out is fun for Caroline."),
        (
            "We're going camping with our kids",
            "Caroline and others are going camping with their kids.",
        ),
        (
            "You were right, I miss you so much",
            "Melanie was right, Caroline misses Melanie so much.",
        ),
        ("You'd be a great counselor", "Melanie would be a great counselor."),
        ("My dog loves me", "Caroline's dog loves them."),
        ("The group made me feel accepted", "The group made Caroline feel accepted."),
    ],
)
def test_third_person(said: str, fact: str) -> None:
    assert third_person(said, speaker="Caroline", addressee="Melanie") == fact


def test_third_person_keeps_you_when_the_addressee_is_unknown() -> None:
    assert third_person("I told you so", speaker="Ann", addressee=None) == "Ann told you so."


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ("go", "goes"),
        ("watch", "watches"),
        ("try", "tries"),
        ("play", "plays"),
        ("have", "has"),
        ("went", "went"),
        ("can", "can"),
        ("started", "started"),
    ],
)
def test_third_person_verb(verb: str, expected: str) -> None:
    assert third_person_verb(verb) == expected
