"""Questions that offer their own answers: split into stem and alternatives, and answered by choosing."""

from datetime import date

import pytest

from rag.answer.choices import named_choices, split_alternatives
from rag.answer.extractive import extract
from rag.types import Hit


@pytest.mark.parametrize(("question", "stem", "choices"), [
    ("Which city hosted the summit: Rome, Paris or Oslo?", "Which city hosted the summit?", ("Rome", "Paris", "Oslo")),
    ("Who won: Biden or Trump?", "Who won?", ("Biden", "Trump")),
    ("Which firm bid: Tesla, Apple, or Google?", "Which firm bid?", ("Tesla", "Apple", "Google")),
    ("Is it on: Yes or No", "Is it on?", ("Yes", "No")),
])
def test_colon_lists_are_alternatives(question: str, stem: str, choices: tuple[str, ...]) -> None:
    assert split_alternatives(question) == (stem, choices)


@pytest.mark.parametrize("question", [
    "Who refused to meet Sudani?",
    "Did Biden or Trump win?",  # no colon: could be yes/no, and the names are what retrieval needs
    "Note: what happened to the bases, and who attacked them?",  # a clause, not a list
    "Why: because the talks failed or because the militias refused to attend the meeting at all?",  # too long
])
def test_other_questions_offer_no_alternatives(question: str) -> None:
    assert split_alternatives(question) == (question, ())


def hit(text: str, similarity: float = 0.5) -> Hit:
    return Hit(chunk_id="c", doc_id="d", text=text, title="T", outlet="O", url="", published=date(2031, 1, 5),
               start=0, end=len(text), similarity=similarity)


def test_the_most_relevant_sentence_naming_an_alternative_decides() -> None:
    sources = [hit("Paris and Oslo bid for many events. Rome will host the 2031 Widget Summit, organisers said."),
               hit("The 2031 Widget Summit will bring makers from forty countries to Rome.")]
    text, claims = extract("Which city will host the 2031 Widget Summit: Paris, Rome, Berlin or Oslo?", sources)
    assert text.startswith("Rome. [1]")
    assert named_choices(text, ["Paris", "Rome", "Berlin", "Oslo"]) == [1]  # quotes naming others are left out
    assert claims[0].citations[0].quote == "Rome will host the 2031 Widget Summit, organisers said."
    assert all(c.supported for c in claims)


def test_a_sentence_naming_several_is_settled_by_the_mentions() -> None:
    sources = [hit("The 2031 Widget Summit shortlist had Paris and Rome."),
               hit("Rome won the vote for the 2031 Widget Summit."), hit("Rome is ready for the 2031 Widget Summit.")]
    text, _ = extract("Which city will host the 2031 Widget Summit: Paris, Rome or Oslo?", sources)
    # the first sentence names two; Rome, mentioned most, is cited where it is named alone (no hedging quote)
    assert text.startswith("Rome. [2]") and "[3]" in text and "Paris" not in text


def test_sources_naming_no_alternative_answer_the_stem_or_refuse() -> None:
    about = [hit("Organisers of the 2031 Widget Summit have not chosen a host city yet.")]
    text, claims = extract("Which city will host the 2031 Widget Summit: Paris, Rome or Oslo?", about)
    assert text.startswith("Organisers of the 2031 Widget Summit") and named_choices(text, ["Paris", "Rome"]) == []
    off_topic = [hit("Rome is sunny in spring.", similarity=0.1)]
    assert extract("Which city will host the 2031 Widget Summit: Paris, Rome or Oslo?", off_topic) == ("", [])
