"""What a question asks for, and whether a sentence gives it (rag.answer.asked), on the seed article's sentences."""

from datetime import date

import pytest

from rag.answer.asked import asked, unmet

AS_OF = date(2023, 10, 26)
PUBLISHED = date(2023, 10, 25)
BLINKEN = "The US Secretary of State Antony J. Blinken also spoke with Sudani over the phone on 23 October."
INJURED = ("Last week, US military bases in Iraq and Syria were targeted by drone attacks, resulting in injuries to "
           "at least 24 US military personnel, as reported by U.S. Central Command to NBC News on Tuesday.")
BASES = ("Militias supported by Iran that call themselves \"the Islamic Resistance in Iraq\" have launched several "
         "attacks targeting Ain al-Asad in western Iraq, Victoria military base near Baghdad's international airport, "
         "Harir in the northern Iraqi city of Erbil and on a base housing US forces in Syria.")
KILLED = "Israel's attacks on Gaza has killed more than 6,000 people, according to the Gaza health ministry."


def test_questions_are_read_for_kind_names_attribute_and_window() -> None:
    blinken = asked("Who did Antony Blinken speak with on 23 October?", AS_OF)
    assert (blinken.kind, blinken.names, blinken.window) == ("person", ("Antony", "Blinken"),
                                                             (date(2023, 10, 23), date(2023, 10, 23)))
    injured = asked("How many US military personnel were injured in last week's drone attacks?", AS_OF)
    assert injured.kind == "number" and injured.names == ("US",) and injured.attribute == {"personnel"}
    assert "injur" in injured.event and injured.window == (date(2023, 10, 16), date(2023, 10, 22))
    population = asked("What is the population of Erbil?")
    assert (population.kind, population.names, population.attribute) == ("", ("Erbil",), {"popul"})
    assert asked("When did the strikes start?").kind == "date" and asked("Where did they meet?").kind == "place"
    assert asked("How many viewers watched the Super Bowl?").attribute == {"viewer"}
    assert asked("How many people died in 2022?").attribute == set() and asked("Who won in 2022?").years == {"2022"}


def test_sentences_that_give_what_was_asked_pass() -> None:
    assert unmet(asked("Who did Antony Blinken speak with on 23 October?", AS_OF), BLINKEN, "", PUBLISHED) == ""
    assert unmet(asked("How many US military personnel were injured in last week's drone attacks?", AS_OF),
                 INJURED, "", PUBLISHED) == ""
    assert unmet(asked("How many US troops were hurt in the drone attacks?"), INJURED) == "", "a word of the family"
    assert unmet(asked("How many people were killed in Gaza?"), KILLED) == ""
    assert unmet(asked("Who spoke with Sudani on 23 October?", AS_OF), "He spoke with Sudani on 23 October.") != ""
    assert unmet(asked("What did Blinken say?"), "He urged calm.", context=BLINKEN) == "", "named the sentence before"


@pytest.mark.parametrize(("question", "sentence", "reason"), [
    # the right entity, the wrong attribute
    ("What is the population of Erbil?", BASES, "says nothing of popul"),
    ("How many Iraqi soldiers were killed in the Victoria base attack?", BASES, "says nothing of soldier"),
    ("How many US military personnel were killed in last week's drone attacks?", INJURED, "says nothing of"),
    # the right attribute, an entity that is absent
    ("How many Spanish military personnel were injured in the drone attacks?", INJURED, "not about Spanish"),
    ("How many people were killed in Lebanon?", KILLED, "not about Lebanon"),
    ("How many people did Israel kill in Beirut and Tyre?", KILLED, "not about Beirut, Tyre"),
    # the kind of thing asked for is not there
    ("How many bases did militias attack in western Iraq?", BASES.replace("several ", ""), "names no number"),
    ("When did Blinken speak with Sudani?", "Blinken spoke with Sudani.", "names no date"),
    ("Who did Blinken speak with?", "Blinken spoke by phone.", "names no person"),
    # constraints: the year named, the day asked about
    ("Who won the election in 2019?", "The election of 2023 was won by Smith.", "about 2023, not 2019"),
    ("Who did Antony Blinken speak with on 19 October?", BLINKEN, "dated 2023-10-23"),
])
def test_sentences_that_do_not_answer_say_why(question: str, sentence: str, reason: str) -> None:
    assert reason in unmet(asked(question, AS_OF), sentence, "", PUBLISHED)


def test_a_chosen_alternative_needs_no_kind_only_the_rest() -> None:
    want = asked("Which city hosted the talks on 23 October?", AS_OF)
    assert unmet(want, "Talks were held in Rome on 23 October.", "", PUBLISHED, choice=True) == ""
    assert "dated" in unmet(want, "Talks were held in Rome on 9 October.", "", PUBLISHED, choice=True)


def test_when_a_date_is_asked_for_the_dates_named_are_the_answer_not_a_constraint() -> None:
    assert unmet(asked("When is the deadline to file taxes, announced this week?", AS_OF),
                 "Taxes are due by April 18.", "", PUBLISHED) == ""
    assert unmet(asked("Feinstein will not run in 2024. What year was she first elected?"),
                 "Feinstein was first elected in 1992.") == ""


def test_a_role_answers_who_as_a_name_does() -> None:
    want = asked("Who cancelled the meeting with the council?")
    assert unmet(want, "The prime minister cancelled the meeting with the council.") == ""
    assert "names no person" in unmet(want, "The meeting with the council was cancelled.")


def test_a_name_opening_the_sentence_answers_who_and_a_date_asked_as_an_attribute_is_a_date() -> None:
    assert unmet(asked("Who acquired Instagram?"), "Facebook acquired Instagram in 2012.") == ""
    assert "names no person" in unmet(asked("Who acquired Instagram?"), "However, Instagram was acquired in 2012.")
    draft = asked("What is the date of the 2021 NBA Draft?")
    assert draft.kind == "date" and not draft.attribute
    assert unmet(draft, "The 2021 NBA draft was held on July 29, 2021, at Barclays Center.") == ""
    assert asked("What is the release date of God of War?").attribute == {"releas"}


def test_a_terse_claim_is_read_with_the_quote_it_rests_on() -> None:
    want = asked("How many US military personnel were injured in drone attacks?")
    assert unmet(want, "24", quote=INJURED) == "", "the number in the claim, the rest in its quote"
    assert unmet(want, "24") != "", "without it, nothing says what the 24 are"
    assert "names no number" in unmet(want, "Drone attacks injured US military personnel.", quote=INJURED)
    assert "popul" in unmet(asked("What is the population of Erbil?"), "Erbil is in northern Iraq.", quote=BASES)
