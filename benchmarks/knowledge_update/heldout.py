"""Held-out phrasings: written apart from the dev ones, never used to tune the extraction.

Same shape as :data:`benchmarks.knowledge_update.relations.DEV`. Reported on only.
"""

from __future__ import annotations

from benchmarks.knowledge_update.relations import Phrasing

HELDOUT: dict[str, dict[str, tuple[Phrasing, ...]]] = {
    "lives_in": {
        "first": (
            ("first", "I'm based in {v}.", 0),
            ("third", "{P} has a flat in {v}.", 0),
            ("first", "I reside in {v}.", 0),
        ),
        "change": (
            ("first", "Three weeks ago I packed up and moved to {v}.", 21),
            ("third", "{P} doesn't live in {old} anymore; {P} moved to {v}.", 0),
            ("first", "{v} is home now.", 0),
            ("third", "{P} just moved to {v}.", 0),
            ("first", "We relocated to {v} last month.", 30),
            ("first", "I left {old} and now live in {v}.", 0),
        ),
    },
    "works_at": {
        "first": (
            ("first", "I'm employed by {v}.", 0),
            ("third", "{P} has a job at {v}.", 0),
            ("first", "My employer is {v}.", 0),
        ),
        "change": (
            ("first", "I left {old}, I work at {v} now.", 0),
            ("third", "{P} took a job with {v} last week.", 7),
            ("first", "I just joined {v}.", 0),
            ("third", "{P} quit {old} and works for {v} now.", 0),
            ("first", "I've been working for {v} since last month.", 30),
            ("first", "My new job is at {v}.", 0),
        ),
    },
    "partner": {
        "first": (
            ("first", "My partner is {v}.", 0),
            ("third", "{P} is in a relationship with {v}.", 0),
            ("first", "I've been seeing {v}.", 0),
        ),
        "change": (
            ("first", "{old} and I broke up; I'm dating {v} now.", 0),
            ("third", "{P}'s new girlfriend is {v}.", 0),
            ("first", "I'm seeing {v} now.", 0),
            ("third", "{P} broke up with {old} and is with {v} now.", 0),
            ("first", "I got together with {v} two weeks ago.", 14),
            ("first", "My boyfriend is {v} now.", 0),
        ),
    },
    "job_title": {
        "first": (
            ("first", "I'm a {v}.", 0),
            ("third", "{P} works as a {v}.", 0),
            ("first", "My job is {v}.", 0),
        ),
        "change": (
            ("first", "I quit being a {old}; I'm a {v} now.", 0),
            ("third", "{P} is a {v} now.", 0),
            ("first", "I became a {v} last month.", 30),
            ("third", "{P} retrained as a {v}.", 0),
            ("first", "I'm working as a {v} these days.", 0),
            ("first", "I have a new job as a {v}.", 0),
        ),
    },
    "car": {
        "first": (
            ("first", "I have a {v}.", 0),
            ("third", "{P}'s car is a {v}.", 0),
            ("first", "I get around in my {v}.", 0),
        ),
        "change": (
            ("first", "I got rid of the {old}, I drive a {v} now.", 0),
            ("third", "{P} bought a {v} two weeks ago.", 14),
            ("first", "My car is a {v} now.", 0),
            ("third", "{P} is driving a {v} these days.", 0),
            ("first", "I switched to a {v}.", 0),
            ("first", "I don't drive the {old} anymore, I have a {v}.", 0),
        ),
    },
    "favourite_food": {
        "first": (
            ("first", "I love {v} more than any other food.", 0),
            ("third", "{P} loves {v} most of all.", 0),
            ("first", "{v} is my favourite food.", 0),
        ),
        "change": (
            ("first", "I'm obsessed with {v} now, it's my new favourite food.", 0),
            ("third", "{P}'s favourite food is now {v}.", 0),
            ("first", "My favourite food these days is {v}.", 0),
            ("third", "{P} says {v} is the best food now.", 0),
            ("first", "{old} isn't my favourite food anymore; {v} is.", 0),
            ("first", "My new favourite food is {v}.", 0),
        ),
    },
    "has_pet": {
        "first": (
            ("first", "My dog {v} is sleeping next to me.", 0),
            ("third", "{P} owns a cat named {v}.", 0),
            ("first", "I've got a tortoise called {v}.", 0),
        ),
        "change": (
            ("first", "We brought home a second cat, {v}.", 0),
            ("third", "{P} has another dog now, named {v}.", 0),
            ("first", "I rescued a puppy last week and named him {v}.", 7),
            ("first", "Our family grew: a kitten named {v}.", 0),
            ("third", "{P} also has a ferret called {v}.", 0),
            ("first", "I now have a goldfish named {v} too.", 0),
        ),
    },
    "hobby": {
        "first": (
            ("first", "I spend my weekends on {v}.", 0),
            ("third", "{P}'s hobby is {v}.", 0),
            ("first", "I love {v}.", 0),
        ),
        "change": (
            ("first", "I got into {v} two weeks ago.", 14),
            ("third", "{P} took up {v} as well.", 0),
            ("first", "My newest hobby is {v}.", 0),
            ("first", "I've been doing {v} too.", 0),
            ("third", "{P} also enjoys {v}.", 0),
            ("first", "Besides that, I do {v}.", 0),
        ),
    },
    "speaks": {
        "first": (
            ("first", "I can speak {v}.", 0),
            ("third", "{P} is fluent in {v}.", 0),
            ("first", "{v} is my native language.", 0),
        ),
        "change": (
            ("first", "I can speak {v} too.", 0),
            ("third", "{P} learned {v} as well.", 0),
            ("first", "I've become fluent in {v} as well.", 0),
            ("third", "{P} also speaks {v}.", 0),
            ("first", "I finally speak {v} too.", 0),
            ("first", "Another language I speak is {v}.", 0),
        ),
    },
    "friend": {
        "first": (
            ("first", "{v} is my best friend.", 0),
            ("third", "{P}'s friend is {v}.", 0),
            ("first", "My buddy {v} called me.", 0),
        ),
        "change": (
            ("first", "I've become friends with {v} too.", 0),
            ("third", "{P} made friends with {v}.", 0),
            ("first", "My new friend {v} is great.", 0),
            ("third", "{P} is friends with {v} too.", 0),
            ("first", "{v} is also a friend of mine.", 0),
            ("first", "I also hang out with my friend {v}.", 0),
        ),
    },
    "visited": {
        "first": (
            ("first", "I've been to {v}.", 0),
            ("third", "{P} visited {v}.", 0),
            ("first", "I travelled to {v} once.", 0),
        ),
        "change": (
            ("first", "I went to {v} too.", 0),
            ("third", "{P} has also been to {v}.", 0),
            ("first", "Last month I visited {v} as well.", 30),
            ("third", "{P} travelled to {v} too.", 0),
            ("first", "I also went to {v}.", 0),
            ("first", "My latest trip was to {v}, on top of the others.", 0),
        ),
    },
    "instrument": {
        "first": (
            ("first", "I'm learning the {v}.", 0),
            ("third", "{P} plays {v}.", 0),
            ("first", "I practise the {v} every day.", 0),
        ),
        "change": (
            ("first", "I play the {v} too.", 0),
            ("third", "{P} is also learning the {v}.", 0),
            ("first", "I took up the {v} as well.", 0),
            ("third", "{P} plays the {v} too.", 0),
            ("first", "I can play the {v} as well.", 0),
            ("first", "My second instrument is the {v}.", 0),
        ),
    },
}
