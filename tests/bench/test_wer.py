"""The benchmarks' word error rate: normalization and word-level edit distance."""

from __future__ import annotations

import pytest

from bench.wer import Errors, normalize, word_error_rate, word_errors


def test_normalize_drops_case_and_punctuation_but_keeps_inner_apostrophes() -> None:
    assert normalize("It was the season of Light, – “it’s” 'quoted' ok!") == [
        "it",
        "was",
        "the",
        "season",
        "of",
        "light",
        "it's",
        "quoted",
        "ok",
    ]
    assert normalize("  \n ") == []


def test_identical_text_has_no_errors_whatever_the_punctuation() -> None:
    assert word_error_rate("It was the best of times.", "it was the best of times") == 0.0


def test_substitution_deletion_insertion_are_counted_separately() -> None:
    assert word_errors("a b c d", "a x c d") == Errors(1, 0, 0, 4)
    assert word_errors("a b c d", "a c d") == Errors(0, 1, 0, 4)
    assert word_errors("a b c d", "a b b c d") == Errors(0, 0, 1, 4)
    assert word_errors("the cat sat", "cat sat down") == Errors(0, 1, 1, 3)


def test_rate_is_edits_over_reference_words_and_can_exceed_one() -> None:
    assert word_error_rate("one two", "three four five six") == pytest.approx(2.0)
    assert word_error_rate("it was the age of wisdom", "it was the age of whiz dumb") == pytest.approx(2 / 6)
    assert word_error_rate("a b", "") == 1.0


def test_empty_reference_counts_insertions() -> None:
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "uh huh") == 2.0


def test_edit_distance_is_minimal() -> None:
    # A transposition costs two edits, never more.
    assert word_errors("a b c", "b a c").edits == 2
    # A long shared tail aligns despite a different first word.
    assert word_errors("x " + "w " * 50, "y " + "w " * 50) == Errors(1, 0, 0, 51)


def test_errors_add_up_over_utterances() -> None:
    total = word_errors("a b", "a c") + word_errors("d e f", "d e f g")
    assert total == Errors(1, 0, 1, 5)
    assert total.rate == pytest.approx(2 / 5)
