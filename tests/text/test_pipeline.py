"""The text rules, table by table: vocabulary spellings, replacements, spoken commands, in order."""

from __future__ import annotations

import pytest

from dictate.text.pipeline import Rules, apply

VOCABULARY = ["Kubernetes", "PostgreSQL", "FastAPI", "Visual Studio Code", "Node.js", "C++", "Zoë", "Dvořák",
              "Redis", "Tobias", "Notable", "Together", "GPT4"]  # fmt: skip
REPLACEMENTS = {"fast api": "FastAPI", "cube control": "kubectl", "cat": "dog", "my email": "me@example.org",
                "new york city": "NYC", "new york": "New York", "straße": "Strasse", "iphone": "iPhone"}  # fmt: skip


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("we run kubernetes", "we run Kubernetes"),
        ("we run KUBERNETES.", "we run Kubernetes."),
        ("postgre sql and postgres ql", "PostgreSQL and PostgreSQL"),  # spacing differs
        ("open visual studio code now", "open Visual Studio Code now"),
        ("open visualstudio code now", "open Visual Studio Code now"),
        ("(kubernetes)", "(Kubernetes)"),  # the punctuation around it is kept
        ("postgre, sql", "postgre, sql"),  # never joined across punctuation
        ("install node.js.", "install Node.js."),
        ("learn c++ today", "learn C++ today"),
        ("zoë and ZOË", "Zoë and Zoë"),  # non-ASCII, any case
        ("dvořák", "Dvořák"),
        ("kubernetesish", "kubernetesish"),  # not a word that merely starts like one
        ("we need to bias it and red is fine", "we need to bias it and red is fine"),  # ordinary words stay
        ("I am not able to get her", "I am not able to get her"),
        ("tobias uses redis", "Tobias uses Redis"),
        ("gpt 4 and postgres ql", "GPT4 and PostgreSQL"),  # a technical spelling takes any spacing
        ("", ""),
    ],
)
def test_vocabulary_restores_spellings(heard: str, expected: str) -> None:
    assert apply([heard], Rules.of(vocabulary=VOCABULARY)) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("we deploy the fast api service", "we deploy the FastAPI service"),
        ("we deploy the Fast API service", "we deploy the FastAPI service"),
        ("use cube control", "use kubectl"),
        ("Cube control is great. cube control too", "Kubectl is great. kubectl too"),  # the capital of a sentence
        ("We use Cube Control daily", "We use kubectl daily"),  # mid-sentence: its own case
        ("Iphone sales", "iPhone sales"),  # its own mixed case wins even at the start
        ("concatenate the cat files", "concatenate the dog files"),  # a replacement inside another word: no
        ("the cats", "the cats"),
        ("the cat, the cat.", "the dog, the dog."),
        ("fast, api", "fast, api"),  # punctuation between the words: no match
        ("new york city and new york", "NYC and New York"),  # the longest phrase first
        ("send to my email", "send to me@example.org"),
        ("Straße", "Strasse"),  # non-ASCII, case-folded
        ("a cat", "a dog"),  # one pass: "dog" is not replaced again even if it were a key
    ],
)
def test_replacements(heard: str, expected: str) -> None:
    assert apply([heard], Rules.of(replacements=REPLACEMENTS)) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("Um, I think, uh, we should ship it.", "I think, we should ship it."),
        ("So, you know, it works.", "So, it works."),
        ("Um. Hello.", "Hello."),
        ("Um, we should ship it.", "We should ship it."),  # the sentence it began starts with the next word
        ("I like it, um.", "I like it."),  # the sentence end it carried goes to the word before
        ('"Um, hello," she said', '"Hello," she said'),  # the quote before it stays
        ("um", ""),
        ("drum and umbrella", "drum and umbrella"),  # whole words only
    ],
)
def test_a_phrase_replaced_by_nothing_takes_its_commas_with_it(heard: str, expected: str) -> None:
    assert apply([heard], Rules.of(replacements={"um": "", "uh": "", "you know": ""})) == expected


def test_a_replacement_output_is_never_replaced_again() -> None:
    rules = Rules.of(replacements={"alpha": "beta", "beta": "gamma"})
    assert apply(["alpha beta"], rules) == "beta gamma"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("hello comma world period", "hello, world."),
        ("Hello, comma, world, period.", "Hello, world."),  # the model's own marks give way
        ("is it done question mark", "is it done?"),
        ("stop exclamation mark now exclamation point", "stop! Now!"),  # a capital after . ! ?
        ("note colon buy milk semicolon eggs full stop", "note: buy milk; eggs."),
        ("he said open quote hi close quote period", 'he said "hi".'),
        ("open paren aside close paren done", "(aside) done"),
        ("comma hello", ", hello"),  # a mark at the start stands alone
        ("hello comma", "hello,"),  # and at the end attaches
        ("open quote", '"'),
        ("period", "."),
        ("dear anna comma new line thanks", "dear anna,\nthanks"),
        ("one new paragraph two", "one\n\ntwo"),
        ("literal comma is a word", "comma is a word"),
        ("say literal new line please", "say new line please"),
        ("literal", "literal"),
        ("Grüße comma Köln period straße", "Grüße, Köln. Straße"),  # non-ASCII words
        ("scratch that hello", "hello"),  # as the first words: nothing before to drop
        ("send it tomorrow scratch that send it today", "send it today"),
        ("Send it tomorrow. Scratch that. Send it today.", "Send it today."),
        ("a comma scratch that b", "b"),
    ],
)
def test_spoken_commands(heard: str, expected: str) -> None:
    assert apply([heard], Rules.of(commands=True)) == expected


def test_scratch_that_at_the_start_of_a_part_drops_the_part_before() -> None:
    rules = Rules.of(commands=True)
    assert apply(["first part", "scratch that second part"], rules) == "second part"
    assert apply(["first", "second", "scratch that", "scratch that", "third"], rules) == "third"
    assert apply(["first", "more scratch that second"], rules) == "first second"
    assert apply(["scratch that", "only"], rules) == "only"


def test_newline_commands_can_be_off_while_punctuation_stays_on() -> None:
    rules = Rules.of(commands=True, newline_commands=False)
    assert apply(["ls new line comma rm"], rules) == "ls new line, rm"


def test_commands_off_leave_the_words() -> None:
    assert apply(["hello comma world period"], Rules.of()) == "hello comma world period"
    assert apply([" a ", "", "b"], Rules.of()) == "a b"


def test_steps_run_in_order_vocabulary_replacements_commands() -> None:
    rules = Rules.of(vocabulary=["Kubernetes"], replacements={"cube control": "kubectl"}, commands=True)
    parts = ["deploy kubernetes with cube control period", "done"]
    assert apply(parts, rules) == "deploy Kubernetes with kubectl. Done"


def test_an_unknown_language_uses_the_english_table() -> None:
    assert apply(["a comma b"], Rules.of(commands=True, language="de")) == "a, b"
