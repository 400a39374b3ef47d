"""Tokenizer: words in any script, bigrams for unsegmented scripts, optional folding."""

from __future__ import annotations

from memsvc.index.tokenize import Tokenizer


def test_tokenizer_lowercases_and_drops_english_stopwords() -> None:
    assert Tokenizer()("The CAT sat on the mat.") == ["cat", "sat", "mat"]


def test_tokenizer_keeps_accents_and_folds_case() -> None:
    tokens = Tokenizer()("Müller wohnt in der STRASSE, Straße 5; café")
    assert "müller" in tokens
    assert tokens.count("strasse") == 2
    assert "café" in tokens
    assert "muller" not in tokens


def test_tokenizer_normalises_compatibility_forms() -> None:
    full_width_abc = "\uff21\uff22\uff23"
    assert Tokenizer()(full_width_abc + " \ufb01le") == ["abc", "file"]


def test_tokenizer_keeps_words_with_combining_marks_whole() -> None:
    assert Tokenizer()("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_tokenizer_splits_chinese_into_bigrams_and_characters() -> None:
    tokens = Tokenizer()("北京烤鸭")
    assert {"北京", "京烤", "烤鸭"} <= set(tokens)
    assert {"北", "鸭"} <= set(tokens)
    assert "北京烤鸭" not in tokens


def test_tokenizer_splits_mixed_script_words() -> None:
    tokens = Tokenizer(has_cjk_unigrams=False)("iPhone用户")
    assert tokens == ["iphone", "用户"]


def test_tokenizer_single_character_run_is_a_unigram() -> None:
    assert Tokenizer(has_cjk_unigrams=False)("猫") == ["猫"]


def test_tokenizer_treats_underscore_as_a_separator() -> None:
    assert Tokenizer()("user_id") == ["user", "id"]


def test_tokenizer_folds_english_suffixes_by_default() -> None:
    assert Tokenizer()("cats running stories glass painted") == [
        "cat",
        "run",
        "story",
        "glass",
        "paint",
    ]
    assert Tokenizer(is_folding_suffixes=False)("cats running") == ["cats", "running"]


def test_tokenizer_settings_round_trip() -> None:
    tokenizer = Tokenizer(stopwords=frozenset({"x"}), is_folding_suffixes=True)
    assert Tokenizer.from_settings(tokenizer.settings()) == tokenizer


def test_tokenizer_ascii_fast_path_agrees_with_the_unicode_path() -> None:
    tokenizer = Tokenizer()
    expected = ["cat", "met", "10", "30", "room", "42"]
    assert tokenizer("The cats met at 10:30 in room_42") == expected
    assert tokenizer("The cats met at 10:30 in room_42, café") == [*expected, "café"]
