"""Hard phrasings: reported statements, negations, relative times, and other people's values.

Same shape as :data:`benchmarks.knowledge_update.relations.DEV`, written apart from both other
sets after the held-out set was first reported (session 5), to check what neither set has:
"X told me they ...", "I'm not at {old} any more", a value stated for someone else ("my
brother lives in ..."; see :data:`DISTRACTORS`), which must never become the person's own.
"""

from __future__ import annotations

from benchmarks.knowledge_update.relations import Phrasing

HARD: dict[str, dict[str, tuple[Phrasing, ...]]] = {
    "lives_in": {
        "first": (
            ("first", "These days I call {v} home.", 0),
            ("third", "{P} told me they live in {v}.", 0),
        ),
        "change": (
            ("first", "I'm not in {old} any more, I moved to {v} a month ago.", 30),
            ("third", "{P} mentioned they relocated to {v}.", 0),
            ("first", "After years in {old} I finally moved to {v}.", 0),
            ("third", "Apparently {P} lives in {v} now.", 0),
        ),
    },
    "works_at": {
        "first": (
            ("first", "I've got a job at {v}.", 0),
            ("third", "{P} said they work for {v}.", 0),
        ),
        "change": (
            ("first", "I'm not with {old} anymore; I signed with {v}.", 0),
            ("third", "{P} told me they joined {v} last month.", 30),
            ("first", "Since last week I work for {v}.", 7),
            ("third", "{P} no longer works at {old}, {P} works at {v} now.", 0),
        ),
    },
    "partner": {
        "first": (
            ("first", "I'm in a relationship with {v}.", 0),
            ("third", "{P} told me they're dating {v}.", 0),
        ),
        "change": (
            ("first", "I'm not with {old} anymore. {v} and I are together now.", 0),
            ("third", "{P} split up with {old} and started seeing {v}.", 0),
            ("first", "My partner these days is {v}.", 0),
            ("third", "{P} said they're with {v} now.", 0),
        ),
    },
    "job_title": {
        "first": (
            ("first", "I've been a {v} for years.", 0),
            ("third", "{P} told me they're a {v}.", 0),
        ),
        "change": (
            ("first", "I'm not a {old} anymore; I work as a {v}.", 0),
            ("third", "{P} switched careers and is a {v} now.", 0),
            ("first", "Since last month I work as a {v}.", 30),
            ("third", "{P} mentioned they became a {v}.", 0),
        ),
    },
    "car": {
        "first": (
            ("first", "I drive a {v}.", 0),
            ("third", "{P} told me they drive a {v}.", 0),
        ),
        "change": (
            ("first", "I sold the {old} and bought a {v}.", 0),
            ("third", "{P} doesn't have the {old} any more, {P} drives a {v}.", 0),
            ("first", "My new car is a {v}.", 0),
            ("third", "{P} said they bought a {v} last week.", 7),
        ),
    },
    "favourite_food": {
        "first": (
            ("first", "Nothing beats {v} for me.", 0),
            ("third", "{P} told me {v} is their favourite food.", 0),
        ),
        "change": (
            ("first", "I'm over {old}; {v} is my favourite food now.", 0),
            ("third", "{P}'s favourite food isn't {old} anymore, it's {v}.", 0),
            ("first", "These days my favourite food is {v}.", 0),
            ("third", "{P} said their new favourite food is {v}.", 0),
        ),
    },
    "has_pet": {
        "first": (
            ("first", "I adopted a dog named {v}.", 0),
            ("third", "{P} told me they have a cat called {v}.", 0),
        ),
        "change": (
            ("first", "We adopted another cat, named {v}.", 0),
            ("third", "{P} said they got a puppy named {v} too.", 0),
            ("first", "I also have a hamster called {v}.", 0),
            ("third", "{P} has a rabbit named {v} as well.", 0),
        ),
    },
    "hobby": {
        "first": (
            ("first", "My favourite hobby is {v}.", 0),
            ("third", "{P} told me they're into {v}.", 0),
        ),
        "change": (
            ("first", "I started {v} last month as well.", 30),
            ("third", "{P} said they also do {v}.", 0),
            ("first", "Another hobby of mine is {v}.", 0),
            ("third", "{P} picked up {v} too.", 0),
        ),
    },
    "speaks": {
        "first": (
            ("first", "I speak {v}.", 0),
            ("third", "{P} told me they speak {v}.", 0),
        ),
        "change": (
            ("first", "I've learned {v} too.", 0),
            ("third", "{P} said they speak {v} as well.", 0),
            ("first", "I'm fluent in {v} as well now.", 0),
            ("third", "{P} can speak {v} too.", 0),
        ),
    },
    "friend": {
        "first": (
            ("first", "My friend {v} visited me.", 0),
            ("third", "{P} told me {v} is their best friend.", 0),
        ),
        "change": (
            ("first", "I made friends with {v} too.", 0),
            ("third", "{P} said they became friends with {v} as well.", 0),
            ("first", "{v} is another friend of mine.", 0),
            ("third", "{P} is also friends with {v}.", 0),
        ),
    },
    "visited": {
        "first": (
            ("first", "I visited {v} years ago.", 0),
            ("third", "{P} told me they went to {v}.", 0),
        ),
        "change": (
            ("first", "I've also been to {v}.", 0),
            ("third", "{P} said they visited {v} too.", 0),
            ("first", "I went to {v} as well.", 0),
            ("third", "{P} also travelled to {v}.", 0),
        ),
    },
    "instrument": {
        "first": (
            ("first", "I play the {v}.", 0),
            ("third", "{P} told me they play the {v}.", 0),
        ),
        "change": (
            ("first", "I've started playing the {v} too.", 0),
            ("third", "{P} said they play the {v} as well.", 0),
            ("first", "I'm also learning the {v}.", 0),
            ("third", "{P} plays the {v} too.", 0),
        ),
    },
}

#: Statements of a value for someone else (``{R}`` a relative of the speaker, or of ``{P}``):
#: the value is not the person's and must never be taken for theirs.
DISTRACTORS: dict[str, tuple[str, ...]] = {
    "lives_in": ("My {R} lives in {x}.", "{P}'s {R} moved to {x}."),
    "works_at": ("My {R} works at {x}.", "{P}'s {R} got a job at {x}."),
    "partner": ("My {R} is dating {x}.", "{P}'s {R} is seeing {x}."),
    "job_title": ("My {R} is a {x}.", "{P}'s {R} works as a {x}."),
    "car": ("My {R} drives a {x}.", "{P}'s {R} bought a {x}."),
    "favourite_food": ("My {R}'s favourite food is {x}.", "{P}'s {R} loves {x}."),
}
RELATIVES = ("sister", "brother", "cousin", "neighbour", "mum", "dad")
