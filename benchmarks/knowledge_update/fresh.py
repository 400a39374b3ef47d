"""Fresh phrasings: a held-out set written by someone who never read the parser.

Same shape as :data:`benchmarks.knowledge_update.hard.HARD`, written in session 7 from the data
format alone (this package's files, never ``memsvc/`` or ``tests/``), worded apart from the dev,
held-out and hard sets: casual chat ("lol", the odd emoji, lowercase starts), reported speech
("{P} texted me that ..."), negations, concrete relative times ("three days ago", "a fortnight
ago"), a question answered in the same turn, and the value in mid-sentence. Reported on only;
never to be tuned on.

Each template states one value of its relation for the person (``{P}`` in the third person, the
speaker in the first) and, in a change, maybe the value it replaces (``{old}``). Changes of a
one-value relation say the old value is gone; changes of a many-valued one say the new value is
one more. :data:`FRESH_DISTRACTORS` state a value for a relative instead, never the person's.
"""

from __future__ import annotations

from benchmarks.knowledge_update.relations import Phrasing

FRESH: dict[str, dict[str, tuple[Phrasing, ...]]] = {
    "lives_in": {
        "first": (
            ("first", "I'm a {v} local, born and raised.", 0),
            ("third", "{P} rents a little place in {v}.", 0),
            ("first", "my flat's in {v}, pretty central actually.", 0),
            ("third", "you know {P}? they've got an apartment over in {v}.", 0),
        ),
        "change": (
            ("first", "so I finally left {old} — been living in {v} for three weeks now!", 21),
            ("third", "{P} texted me that they swapped {old} for {v} last month.", 30),
            ("first", "new address! I'm in {v} now, signed the lease ten days ago.", 10),
            ("third", "{P} isn't living in {old} anymore, they went to {v} a fortnight ago.", 14),
            ("first", "where do I live now? {v}. the move out of {old} took forever 😅", 0),
            ("third", "did you hear {P} left {old}? yeah, {v} is where they live these days.", 0),
        ),
    },
    "works_at": {
        "first": (
            ("first", "I'm on the payroll at {v}.", 0),
            ("third", "{P}'s been working over at {v} for a while.", 0),
            ("first", "ugh, another Monday at the {v} office lol", 0),
            ("third", "{P} mentioned the company they work for is {v}.", 0),
        ),
        "change": (
            ("first", "three days into my new job at {v}! leaving {old} was the right call.", 3),
            ("third", "{P} got poached by {v}, so they're done with {old}.", 0),
            ("first", "guess who's not at {old} anymore? me. I'm with {v} now 🎉", 0),
            ("third", "{P} messaged me that {v} hired them last week, so that's their new job.", 7),
            ("first", "{v} made me an offer I couldn't refuse, so I left {old} two weeks ago.", 14),
            ("third", "{P} doesn't work for {old} anymore — they moved over to {v}.", 0),
        ),
    },
    "partner": {
        "first": (
            ("first", "me and {v} have been together a while now.", 0),
            ("third", "{P}'s other half is {v}.", 0),
            ("first", "{v}, my significant other, is cooking tonight 😊", 0),
            ("third", "{P} and {v} are a couple, did you know?", 0),
        ),
        "change": (
            ("first", "{old} and I called it quits, and now I'm going out with {v}.", 0),
            (
                "third",
                "{P} ended things with {old} and has been going out with {v} since last month.",
                30,
            ),
            ("first", "new boyfriend alert: it's {v}! our first date was five days ago lol", 5),
            ("third", "{P} isn't seeing {old} anymore. it's {v} now.", 0),
            ("first", "so who am I dating now? {v}. {old} is history.", 0),
            ("third", "{P} told me over coffee that {v} is their new partner.", 0),
        ),
    },
    "job_title": {
        "first": (
            ("first", "being a {v} pays my bills, so no complaints.", 0),
            ("third", "{P}'s day job? {v}.", 0),
            ("first", "I trained to be a {v} and that's still my job.", 0),
            ("third", "{P} earns a living as a {v}.", 0),
        ),
        "change": (
            ("first", "I'm done being a {old}. I'm a {v} as of last month.", 30),
            ("third", "{P} stopped working as a {old} and retrained — they're a {v} now.", 0),
            ("first", "career change! just finished my first week as a {v}.", 7),
            ("third", "{P} isn't a {old} anymore, they got hired as a {v} three weeks ago.", 21),
            (
                "first",
                "what do I do now? I'm a {v}, believe it or not — no more working as a {old}.",
                0,
            ),
            ("third", "{P} texted that they've switched jobs and work as a {v} these days.", 0),
        ),
    },
    "car": {
        "first": (
            ("first", "my {v} is parked right outside.", 0),
            ("third", "{P} zips around town in a {v}.", 0),
            ("first", "I've got a {v}, not fancy but it runs.", 0),
            ("third", "{P} picked me up in their {v} yesterday.", 0),
        ),
        "change": (
            ("first", "said goodbye to the {old} and picked up a {v} five days ago 🚗", 5),
            ("third", "{P} finally ditched the {old} and has a {v} now.", 0),
            ("first", "no more {old} for me, I'm in a {v} these days.", 0),
            ("third", "{P} told me the {old} died so they bought a {v} ten days ago.", 10),
            ("first", "new car! it's a {v}, and the {old} is gone.", 0),
            ("third", "{P} has been driving a {v} since selling the {old} last month.", 30),
        ),
    },
    "favourite_food": {
        "first": (
            ("first", "I could eat {v} every single day.", 0),
            ("third", "{P} is crazy about {v}.", 0),
            ("first", "honestly my go-to food is {v}.", 0),
            ("third", "ask {P} what they'd want for a last meal and it's {v}, every time.", 0),
        ),
        "change": (
            ("first", "I used to love {old} but {v} has taken over as my favourite.", 0),
            ("third", "{P} isn't into {old} anymore, {v} is their top food now.", 0),
            ("first", "new favourite food unlocked: {v} lol. {old} who?", 0),
            ("third", "{P} reckons {v} has replaced {old} as their favourite food.", 0),
            ("first", "what's my favourite food now? easy, {v}. sorry {old}.", 0),
            (
                "third",
                "{P} can't get enough of {v} lately, it's their new favourite, way ahead of {old}.",
                0,
            ),
        ),
    },
    "has_pet": {
        "first": (
            ("first", "my cat {v} just knocked my coffee over lol", 0),
            ("third", "{P} has a little terrier named {v}.", 0),
            ("first", "I share my flat with a rabbit called {v}.", 0),
            ("third", "{P} posted a photo of their dog {v} again 🐶", 0),
        ),
        "change": (
            ("first", "we got one more pet! a budgie named {v}.", 0),
            ("third", "{P} adopted yet another animal, a guinea pig named {v}.", 0),
            (
                "first",
                "{v} the parrot joined our family three days ago, one more mouth to feed.",
                3,
            ),
            ("third", "{P} added a puppy named {v} to their little zoo.", 0),
            ("first", "not just the one pet anymore — I also look after a lizard named {v}.", 0),
            ("third", "{P} texted me that they took in a stray cat too and called it {v}.", 0),
        ),
    },
    "hobby": {
        "first": (
            ("first", "{v} is my thing, I do it every weekend.", 0),
            ("third", "{P} is obsessed with {v}.", 0),
            ("first", "I'm kind of a {v} nerd tbh.", 0),
            ("third", "{P}'s big passion outside work is {v}.", 0),
        ),
        "change": (
            ("first", "I've added {v} to my hobbies, started three weeks ago.", 21),
            ("third", "{P} got hooked on {v} too.", 0),
            ("first", "and now I'm into {v} as well, as if I had any free time lol", 0),
            ("third", "{P} signed up for a {v} class last week, alongside their usual stuff.", 7),
            ("first", "new hobby, in addition to the old ones: {v}.", 0),
            ("third", "did {P} tell you? they've started {v} as well.", 0),
        ),
    },
    "speaks": {
        "first": (
            ("first", "{v} is the language I grew up with.", 0),
            ("third", "{P} chats away in {v} with no trouble.", 0),
            ("first", "I'm a native {v} speaker.", 0),
            ("third", "{P} grew up speaking {v}.", 0),
        ),
        "change": (
            ("first", "I can get by in {v} now as well 😄", 0),
            ("third", "{P} has added {v} to their languages.", 0),
            ("first", "finally passed my {v} exam, so that's one more language for me!", 0),
            ("third", "{P} mentioned they picked up {v} on top of their other languages.", 0),
            ("first", "besides my mother tongue I'm pretty good at {v} too.", 0),
            ("third", "{P} surprised me by chatting in {v}, another language they know.", 0),
        ),
    },
    "friend": {
        "first": (
            ("first", "grabbing lunch with my mate {v} today.", 0),
            ("third", "{P} and {v} are really close friends.", 0),
            ("first", "{v} and I have been pals since school.", 0),
            ("third", "{P} spends every Friday night with their buddy {v}.", 0),
        ),
        "change": (
            (
                "first",
                "met {v} at the gym a fortnight ago, we're friends now, one more for the group lol",
                14,
            ),
            ("third", "{P} has a new pal as well: {v}.", 0),
            ("first", "{v} is part of my friend circle now too.", 0),
            ("third", "{P} got close to {v} last month, on top of their old friends.", 30),
            ("first", "add {v} to the list of my friends 😂", 0),
            ("third", "{P} told me {v} has become one of their friends as well.", 0),
        ),
    },
    "visited": {
        "first": (
            ("first", "I backpacked around {v} after uni.", 0),
            ("third", "{P} spent a summer in {v}.", 0),
            ("first", "my trip to {v} was amazing.", 0),
            ("third", "{P} has a bunch of photos from their holiday in {v}.", 0),
        ),
        "change": (
            ("first", "got back from {v} three days ago, another country ticked off!", 3),
            ("third", "{P} added {v} to their list of countries last month.", 30),
            ("first", "you can add {v} to the places I've been, went there ten days ago.", 10),
            ("third", "{P} texted me from {v} last week — yet another country for them.", 7),
            ("first", "so where did I go this time? {v}! one more stamp in the passport.", 0),
            ("third", "besides their earlier trips, {P} has now been to {v}.", 0),
        ),
    },
    "instrument": {
        "first": (
            ("first", "I'm in a band, I'm on the {v}.", 0),
            ("third", "{P} is really good at the {v}.", 0),
            ("first", "the {v} is what I play, mostly jazz.", 0),
            ("third", "{P} performs on the {v} in a local band.", 0),
        ),
        "change": (
            (
                "first",
                "I've been learning the {v} for three weeks now, on top of what I already play.",
                21,
            ),
            ("third", "{P} has taken up the {v} in addition to what they already play.", 0),
            ("first", "guess what I've been learning? the {v}! alongside my usual instrument.", 0),
            ("third", "{P} added the {v} to the instruments they play.", 0),
            ("first", "the {v} is my newest instrument, started it last month.", 30),
            ("third", "{P} texted me a video of them on the {v} — they play that as well now?!", 0),
        ),
    },
}

#: Statements of a value for a relative (``{R}``) of the speaker ("My ...") or of ``{P}``: the
#: value (``{x}``) is not the person's and must never be taken for theirs.
FRESH_DISTRACTORS: dict[str, tuple[str, ...]] = {
    "lives_in": (
        "My {R} has a house in {x}.",
        "My {R} just moved out to {x}.",
        "{P}'s {R} is based in {x}.",
        "{P}'s {R} settled in {x} years ago.",
    ),
    "works_at": (
        "My {R} has been at {x} for ages.",
        "My {R} just got hired by {x}.",
        "{P}'s {R} is employed at {x}.",
        "{P}'s {R} is on the payroll at {x}.",
    ),
    "partner": (
        "My {R} is going out with {x}.",
        "My {R} just got engaged to {x}.",
        "{P}'s {R} has a partner called {x}.",
        "{P}'s {R} is married to {x}.",
    ),
    "job_title": (
        "My {R} trained as a {x}.",
        "My {R} has been a {x} for twenty years.",
        "{P}'s {R} earns a living as a {x}.",
        "{P}'s {R} just qualified as a {x}.",
    ),
    "car": (
        "My {R} keeps their {x} spotless.",
        "My {R} just got a new {x}.",
        "{P}'s {R} commutes in a {x}.",
        "{P}'s {R} is selling their {x}.",
    ),
    "favourite_food": (
        "My {R} could live on {x}.",
        "My {R} is obsessed with {x}.",
        "{P}'s {R} always orders {x}.",
        "{P}'s {R} says {x} is the best food there is.",
    ),
}
