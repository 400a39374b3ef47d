"""The relations of the benchmark, their values, the questions, and the dev phrasings.

Each phrasing is ``(person, template, days_before)``: ``person`` is ``"first"`` (said by the
person it is about) or ``"third"`` (said about ``{P}`` by someone else); ``{v}`` is the new value,
``{old}`` the value it replaces (only in change phrasings), and ``days_before`` how long before
the session the stated event happened (the template says so in words: "two weeks ago").

These are the **dev** phrasings: the extraction was looked at and tuned against them. The
held-out phrasings in :mod:`benchmarks.knowledge_update.heldout` were written apart and are only
reported on.
"""

from __future__ import annotations

from dataclasses import dataclass

Phrasing = tuple[str, str, int]


@dataclass(frozen=True)
class Relation:
    """One relation of the benchmark."""

    name: str
    single: bool
    values: tuple[str, ...]
    questions: tuple[str, ...]


CITIES = (
    "Lisbon", "Porto", "Berlin", "Munich", "Oslo", "Bergen", "Madrid", "Seville", "Rome",
    "Milan", "Vienna", "Prague", "Dublin", "Cork", "Lyon", "Toronto", "Denver", "Austin",
    "Seattle", "Boston", "Krakow", "Tallinn", "Zurich", "Geneva",
)  # fmt: skip
ORGS = (
    "Acme Corp", "Globex", "Initech", "Hooli", "Umbrella Labs", "Stark Industries", "Wayne Foods",
    "Pied Piper", "Vandelay Industries", "Soylent Systems", "Cyberdyne", "Tyrell Analytics",
    "Wonka Bakery", "Oscorp", "Aperture Robotics", "Massive Dynamic", "Gringotts Bank",
    "Monarch Media",
)  # fmt: skip
PARTNERS = (
    "Mia", "Noah", "Lena", "Omar", "Sofia", "Jonas", "Aisha", "Mateo", "Ingrid", "Kenji",
    "Priya", "Lucas", "Hana", "Diego", "Freya", "Tariq", "Elena", "Marco",
)  # fmt: skip
JOBS = (
    "nurse", "teacher", "architect", "accountant", "pharmacist", "electrician", "journalist",
    "paramedic", "librarian", "chef", "pilot", "dentist", "translator", "carpenter",
)  # fmt: skip
CARS = ("Tesla", "Volvo", "Subaru", "Toyota", "Honda", "Mazda", "Skoda", "Peugeot", "Kia")
FOODS = (
    "sushi", "ramen", "lasagna", "tacos", "paella", "curry", "pho", "dumplings", "risotto",
    "falafel", "goulash", "pierogi",
)  # fmt: skip
PETS = (
    "Luna", "Max", "Biscuit", "Pepper", "Mochi", "Rex", "Ziggy", "Olive", "Nacho", "Pickles",
    "Waffles", "Juniper", "Toast", "Clover", "Bean", "Socks",
)  # fmt: skip
HOBBIES = (
    "pottery", "rock climbing", "beekeeping", "birdwatching", "knitting", "chess", "surfing",
    "woodworking", "salsa dancing", "archery", "gardening", "photography",
)  # fmt: skip
LANGUAGES = ("Spanish", "Japanese", "German", "Italian", "Portuguese", "Korean", "Arabic", "Dutch")
FRIENDS = (
    "Rosa", "Felix", "Yusuf", "Greta", "Ivan", "Nadia", "Pablo", "Chloe", "Bruno", "Leila",
    "Hugo", "Anya",
)  # fmt: skip
COUNTRIES = (
    "Japan", "Peru", "Iceland", "Morocco", "Vietnam", "Norway", "Kenya", "Chile", "Greece",
    "Mexico", "Portugal", "Scotland",
)  # fmt: skip
INSTRUMENTS = ("cello", "violin", "piano", "drums", "ukulele", "saxophone", "flute", "banjo")

RELATIONS: tuple[Relation, ...] = (
    Relation("lives_in", True, CITIES, ("Where does {P} live?", "Which city is {P} based in?")),
    Relation("works_at", True, ORGS, ("Where does {P} work?", "Who is {P}'s employer?")),
    Relation("partner", True, PARTNERS, ("Who is {P} dating?", "Who is {P}'s partner?")),
    Relation("job_title", True, JOBS, ("What does {P} do for a living?", "What is {P}'s job?")),
    Relation("car", True, CARS, ("What car does {P} drive?",)),
    Relation("favourite_food", True, FOODS, ("What is {P}'s favourite food?",)),
    Relation("has_pet", False, PETS, ("What pets does {P} have?",)),
    Relation("hobby", False, HOBBIES, ("What are {P}'s hobbies?",)),
    Relation("speaks", False, LANGUAGES, ("What languages does {P} speak?",)),
    Relation("friend", False, FRIENDS, ("Who are {P}'s friends?",)),
    Relation("visited", False, COUNTRIES, ("Which countries has {P} visited?",)),
    Relation("instrument", False, INSTRUMENTS, ("Which instruments does {P} play?",)),
)

#: Dev phrasings: the first value of a relation (``first``) and a later one (``change``; for a
#: many-valued relation, another value joining the others).
DEV: dict[str, dict[str, tuple[Phrasing, ...]]] = {
    "lives_in": {
        "first": (
            ("first", "I live in {v}.", 0),
            ("first", "I've been living in {v} for a while.", 0),
            ("third", "{P} lives in {v}.", 0),
            ("first", "Home for me is {v}.", 0),
        ),
        "change": (
            ("first", "I moved to {v} two weeks ago.", 14),
            ("first", "I don't live in {old} anymore, I'm in {v} now.", 0),
            ("third", "{P} relocated to {v} last week.", 7),
            ("first", "Big news: we finally settled in {v}.", 0),
            ("third", "{P} moved away from {old} and lives in {v} now.", 0),
            ("first", "My new apartment is in {v}.", 0),
        ),
    },
    "works_at": {
        "first": (
            ("first", "I work at {v}.", 0),
            ("third", "{P} works for {v}.", 0),
            ("first", "I've been at {v} as an employee for years.", 0),
        ),
        "change": (
            ("first", "I quit {old} and started at {v}.", 0),
            ("first", "I got a job at {v} last month.", 30),
            ("third", "{P} joined {v} a few days ago.", 3),
            ("first", "I'm no longer at {old}; I work for {v} now.", 0),
            ("third", "{P}'s new employer is {v}.", 0),
            ("first", "Starting Monday I'm working at {v}.", 0),
        ),
    },
    "partner": {
        "first": (
            ("first", "I'm dating {v}.", 0),
            ("third", "{P} is seeing {v}.", 0),
            ("first", "My girlfriend {v} says hi.", 0),
        ),
        "change": (
            ("first", "I broke up with {old}. I'm with {v} now.", 0),
            ("third", "{P} is dating {v} now.", 0),
            ("first", "My partner is {v} these days.", 0),
            ("third", "{P} and {old} split up, and {P} is seeing {v} now.", 0),
            ("first", "I started dating {v} last month.", 30),
            ("first", "I'm in a relationship with {v} now.", 0),
        ),
    },
    "job_title": {
        "first": (
            ("first", "I work as a {v}.", 0),
            ("third", "{P} is a {v}.", 0),
            ("first", "I'm a {v} by trade.", 0),
        ),
        "change": (
            ("first", "I'm not a {old} anymore, I work as a {v} now.", 0),
            ("third", "{P} works as a {v} now.", 0),
            ("first", "I retrained and became a {v} last year.", 0),
            ("first", "My job these days: I'm a {v}.", 0),
            ("third", "{P} switched careers and is a {v} now.", 0),
            ("first", "I started working as a {v} two weeks ago.", 14),
        ),
    },
    "car": {
        "first": (
            ("first", "I drive a {v}.", 0),
            ("third", "{P} drives a {v}.", 0),
            ("first", "My car is a {v}.", 0),
        ),
        "change": (
            ("first", "I sold my {old} and I drive a {v} now.", 0),
            ("third", "{P} drives a {v} now.", 0),
            ("first", "I traded in the {old}; my new car is a {v}.", 0),
            ("first", "I've been driving a {v} since last month.", 30),
            ("third", "{P}'s new car is a {v}.", 0),
            ("first", "I bought a {v} last week.", 7),
        ),
    },
    "favourite_food": {
        "first": (
            ("first", "My favourite food is {v}.", 0),
            ("third", "{P}'s favourite food is {v}.", 0),
            ("first", "Nothing beats {v}, it's my favourite food.", 0),
        ),
        "change": (
            ("first", "My favourite food is {v} now.", 0),
            ("third", "{P}'s favourite food is {v} these days.", 0),
            ("first", "I'm over {old}; my new favourite food is {v}.", 0),
            ("first", "These days my favourite food is {v}.", 0),
            ("third", "{P}'s favourite food changed to {v}.", 0),
            ("first", "{v} is my favourite food now.", 0),
        ),
    },
    "has_pet": {
        "first": (
            ("first", "I have a dog named {v}.", 0),
            ("third", "{P} has a cat called {v}.", 0),
            ("first", "We adopted a puppy named {v}.", 0),
        ),
        "change": (
            ("first", "We adopted another cat, her name is {v}.", 0),
            ("first", "I also have a rabbit named {v}.", 0),
            ("third", "{P} got a second dog called {v}.", 0),
            ("first", "Meet our new kitten, {v}!", 0),
            ("first", "I have a parrot named {v} too.", 0),
            ("third", "{P} adopted a hamster named {v} last week.", 7),
        ),
    },
    "hobby": {
        "first": (
            ("first", "I'm really into {v}.", 0),
            ("third", "{P} enjoys {v}.", 0),
            ("first", "My hobby is {v}.", 0),
        ),
        "change": (
            ("first", "I took up {v} last month.", 30),
            ("first", "I've also started {v}.", 0),
            ("third", "{P} is into {v} too.", 0),
            ("first", "Another hobby of mine is {v}.", 0),
            ("first", "I picked up {v} as well.", 0),
            ("third", "{P} started {v} recently.", 0),
        ),
    },
    "speaks": {
        "first": (
            ("first", "I speak {v}.", 0),
            ("third", "{P} speaks {v}.", 0),
            ("first", "I'm fluent in {v}.", 0),
        ),
        "change": (
            ("first", "I also speak {v}.", 0),
            ("first", "I learned {v} too.", 0),
            ("third", "{P} speaks {v} as well.", 0),
            ("first", "I'm fluent in {v} now too.", 0),
            ("third", "{P} picked up {v} too.", 0),
            ("first", "On top of that I speak {v}.", 0),
        ),
    },
    "friend": {
        "first": (
            ("first", "My friend {v} came over.", 0),
            ("third", "{P} is friends with {v}.", 0),
            ("first", "I'm friends with {v}.", 0),
        ),
        "change": (
            ("first", "I made a new friend, {v}.", 0),
            ("third", "{P} is also friends with {v}.", 0),
            ("first", "{v} and I became friends last month.", 30),
            ("first", "Another friend of mine is {v}.", 0),
            ("third", "{P}'s friend {v} visited too.", 0),
            ("first", "I'm friends with {v} as well.", 0),
        ),
    },
    "visited": {
        "first": (
            ("first", "I visited {v}.", 0),
            ("third", "{P} traveled to {v}.", 0),
            ("first", "I went to {v} on vacation.", 0),
        ),
        "change": (
            ("first", "I also visited {v} last month.", 30),
            ("third", "{P} went to {v} too.", 0),
            ("first", "I traveled to {v} two weeks ago.", 14),
            ("first", "I've been to {v} as well.", 0),
            ("third", "{P} visited {v} as well.", 0),
            ("first", "Another trip: I visited {v}.", 0),
        ),
    },
    "instrument": {
        "first": (
            ("first", "I play the {v}.", 0),
            ("third", "{P} plays the {v}.", 0),
            ("first", "I've played the {v} since school.", 0),
        ),
        "change": (
            ("first", "I also play the {v}.", 0),
            ("first", "I started learning the {v} too.", 0),
            ("third", "{P} plays the {v} as well.", 0),
            ("first", "I picked up the {v} last month.", 30),
            ("third", "{P} also plays the {v}.", 0),
            ("first", "Another instrument I play is the {v}.", 0),
        ),
    },
}

SMALL_TALK = (
    "The weather was awful today.",
    "We watched a documentary about octopuses.",
    "Work has been busy but fine.",
    "I made pancakes this morning.",
    "Traffic was terrible on the way home.",
    "I finally finished that book.",
    "My neighbour's music kept me up.",
    "I need a holiday soon.",
    "Did you see the game last night?",
    "The coffee at the new place is great.",
    "I've been sleeping badly.",
    "It rained the whole weekend.",
)
REPLIES = (
    "That's great!",
    "Oh nice, tell me more.",
    "Haha, I know the feeling.",
    "Congrats!",
    "Wow, really?",
    "Sounds lovely.",
    "Good for you.",
)
