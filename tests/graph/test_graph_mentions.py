"""Entity mentions by rules: names, things, types, the sentence-start rule, normalised keys."""

from __future__ import annotations

from memsvc.graph.mentions import extract_mentions, normalise, query_keys


def _found(text: str, **kwargs: object) -> dict[str, tuple[str, str]]:
    return {m.key: (m.type, m.role) for m in extract_mentions(text, **kwargs)}  # type: ignore[arg-type]


def test_speaker_is_a_person_and_names_are_found() -> None:
    found = _found("We saw Matt Patterson play at the Summer Sounds festival.", speaker="Melanie")
    assert found["melanie"] == ("person", "speaker")
    assert "matt patterson" in found and "summer sound" in found


def test_places_and_organisations_by_cue() -> None:
    found = _found("I moved from Sweden to work at Stanford University near Palo Alto.")
    assert found["sweden"][0] == "place"
    assert found["stanford university"][0] == "organisation"
    assert found["palo alto"][0] == "place"


def test_a_word_capitalised_only_by_the_sentence_start_is_no_name() -> None:
    assert "painting" not in _found("Painting is how I relax.", things=False)
    assert "luna" in _found("Luna loves the park.", known={"luna"})
    assert _found("Caroline said hi.", people={"Caroline"})["caroline"][0] == "person"


def test_named_marks_a_person() -> None:
    assert _found("I adopted a puppy named Oscar.")["oscar"][0] == "person"


def test_things_after_determiners_singular_and_general_nouns_left_out() -> None:
    found = _found("My kids love those dinosaurs, and we had a great time at the beach.")
    assert {"kid", "dinosaur", "beach"} <= set(found)
    assert "time" not in found
    assert "dinosaur" not in _found("those dinosaurs", things=False)


def test_normalise_drops_possessives_and_plurals() -> None:
    assert normalise("Luna's") == normalise("LUNA") == "luna"
    assert normalise("pottery classes") == "pottery class"
    assert normalise("stories") == "story"
    assert normalise("glass") == "glass"


def test_query_keys_cover_names_and_phrases() -> None:
    keys = query_keys("Where did Caroline move from before Stanford University?")
    assert "caroline" in keys and "stanford university" in keys
    assert "where" not in keys
