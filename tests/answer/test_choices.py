"""Questions that offer their own answers: split into stem and alternatives, and answered by choosing."""

from datetime import date

import pytest

from rag.answer.choices import named_choices, split_alternatives
from rag.answer.extractive import extract
from rag.answer.grounded import chosen_claims
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


def loose(text: str, choices: list[str], context: str = "") -> list[int]:
    return named_choices(text, choices, context=context, loose=True)


@pytest.mark.parametrize(("text", "choice"), [
    ("He was sentenced to six months to six years.", "6 months to 6 years"),
    ("He was sentenced to 6 months to 6 years.", "Six months to six years"),
    ("The ban lasts ten years.", "10 years"),
    ("The ban lasts at least 10 years.", "At least ten years"),
    ("Twenty-five people were hurt.", "25"),
])
def test_numbers_in_words_or_digits_name_the_choice(text: str, choice: str) -> None:
    assert loose(text, [choice, "3 years"]) == [0]


def test_a_surname_names_the_person_the_article_names_in_full() -> None:
    article = "Liz Truss met the king on Tuesday. Prime Minister Truss said the talks went well."
    assert loose("Truss said the talks went well.", ["Boris Johnson", "Liz Truss"], article) == [1]
    assert loose("Prime Minister Truss said so.", ["Boris Johnson", "Liz Truss"], article) == [1]


def test_a_name_without_its_kind_names_the_choice() -> None:
    assert loose("Agents searched Mar-a-Lago on Monday.", ["Mar-a-Lago estate", "Trump Tower"]) == [0]
    assert loose("Labour won the seat.", ["Labour Party", "Conservative Party"]) == [0]


def test_hyphens_and_possessives_are_other_forms_of_the_name() -> None:
    assert loose("Agents searched Mar a Lago.", ["Mar-a-Lago", "Trump Tower"]) == [0]
    assert loose("It was Trump's call.", ["Biden", "Trump"]) == [1]
    assert loose("Ukraine’s army advanced.", ["Russia", "Ukraine"]) == [1]


def test_virginia_does_not_name_west_virginia_nor_the_other_way_round() -> None:
    assert loose("Virginia voted first.", ["West Virginia", "Ohio"], "West Virginia and Virginia voted.") == []
    assert loose("West Virginia voted first.", ["Virginia", "Ohio"]) == []
    assert loose("West Virginia voted first.", ["Virginia", "West Virginia"]) == [1]


def test_a_surname_needs_the_full_name_in_the_article() -> None:
    assert loose("Truss said the talks went well.", ["Boris Johnson", "Liz Truss"], "Truss said so.") == []


def test_a_surname_shared_by_two_choices_names_neither() -> None:
    article = "Joe Biden and Hunter Biden arrived. Biden said he was proud."
    assert loose("Biden said he was proud.", ["Hunter Biden", "Joe Biden"], article) == []
    assert loose("Hunter Biden said so.", ["Joe Biden", "Donald Trump"], article) == []  # another Biden


@pytest.mark.parametrize(("text", "choice"), [
    ("The Trumpet Voluntary played.", "Trump"),
    ("The court sentenced 16 people.", "6 people"),
    ("The court sentenced sixty people.", "six people"),
    ("The court sentenced seven people.", "6 people"),
    ("The roof truss gave way.", "Liz Truss"),  # not a name when not capitalised
    ("The Trump Organization paid.", "Donald Trump"),  # part of a longer name
])
def test_look_alikes_do_not_name_the_choice(text: str, choice: str) -> None:
    assert loose(text, [choice, "Nobody"], "Donald Trump and Liz Truss spoke.") == []


def test_the_strict_form_is_unchanged() -> None:
    assert named_choices("He got six months to six years.", ["6 months to 6 years"]) == []
    assert named_choices("Truss said so.", ["Liz Truss"]) == []
    assert named_choices("West Virginia voted.", ["Virginia", "Ohio"]) == [0]


def test_a_pick_named_in_words_is_chosen_and_cited() -> None:
    sources = [hit("The judge sentenced Smith to six months to six years in prison on Monday.")]
    text, claims = extract("How long is the sentence for Smith: 6 months to 6 years, 10 years or life?", sources)
    assert text.startswith("6 months to 6 years. [1]")
    assert claims[0].citations[0].quote.startswith("The judge sentenced Smith to six months")


def test_a_model_pick_is_cited_where_the_article_names_it_by_surname() -> None:
    sources = [hit("Liz Truss won the Conservative leadership vote.\nTruss will become prime minister on Tuesday.")]
    claims = chosen_claims(["Boris Johnson", "Liz Truss"], 1, "Who will become prime minister on Tuesday?", sources)
    assert claims[0].text == "Liz Truss." and claims[0].supported
    assert claims[0].citations[0].quote == "Truss will become prime minister on Tuesday."


def test_numbers_with_thousands_separators_stay_whole_alternatives() -> None:
    stem, choices = split_alternatives("How many subscribers did it lose: 200,000, 350,000, 640,000 or 970,000?")
    assert choices == ("200,000", "350,000", "640,000", "970,000")


def test_a_number_does_not_name_the_start_of_another() -> None:
    choices = ("$3", "$4", "$5", "$6")
    assert named_choices("Gas hit $4.96 a gallon on average.", choices, loose=True) == []
    assert named_choices("Gas cost $4 a gallon on average.", choices, loose=True) == [1]
    assert named_choices("It cost the company 700,000 subscribers.", ("000", "700,000"), loose=True) == [1]
