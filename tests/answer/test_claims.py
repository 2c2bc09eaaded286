"""Source lines that only list candidates (a quiz's options, a poll) and the news sentences that must not count."""

import pytest

from rag.answer.claims import lists_candidates


@pytest.mark.parametrize("line", [
    "A. Pumpkin Spice Latte B. Peppermint Sugar Latte C. Pumpkin Sugar Latte",
    "a) Pumpkin Spice Latte b) Peppermint Sugar Latte",
    "(a) Pumpkin Spice Latte (b) Peppermint Sugar Latte",
    "1) Pumpkin Spice Latte 2) Peppermint Sugar Latte",
    "What does PSL stand for? a) Pumpkin Spice Latte b) Peppermint Sugar Latte",
    "B. Peppermint Sugar Latte",
    "Who will win? Biden, Trump or Sanders",
    "Does PSL stand for Pumpkin Spice Latte or Peppermint Sugar Latte?",
    "Quiz: What does PSL stand for?",
    "Poll: Who will win the primary?",
    "Which of the following is a Starbucks drink?",
])
def test_options_polls_and_questions_offering_alternatives_list_candidates(line: str) -> None:
    assert lists_candidates(line)


def test_names_joined_by_or_are_a_poll_only_after_a_question() -> None:
    assert lists_candidates("Biden, Trump or Sanders", previous="Who will win the primary?")
    assert not lists_candidates("Best Southern, Country, or Bluegrass Gospel Album", previous="Nominees were named.")


@pytest.mark.parametrize("line", [
    "He may resign or be fired, aides said.",
    "Biden, Macron and Scholz met on Monday.",
    "'Why now?' she asked.",
    '"Is it Biden or Trump?" he asked.',
    "Officials did not say whether Biden or Trump would attend.",
    "New poll: Biden leads Trump by five points.",
    "The BBC quiz show host died on Monday.",
    "The law bans (a) smoking and (b) vaping in parks.",
    "A. Smith, a spokesman, said the plant would close.",
    "T. A. Knuuttila and F. B. Rasmussen wrote the paper.",
    "2. $1.537 billion, Oct. 23, 2018",
    "Answer: B. Peppermint Sugar Latte",
    "PSL stands for Pumpkin Spice Latte, the chain said.",
])
def test_news_sentences_with_or_lists_questions_or_initials_do_not(line: str) -> None:
    assert not lists_candidates(line)
