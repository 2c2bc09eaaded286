"""Time expressions -> publication windows, with a fixed as-of date (Wednesday 25 October 2023)."""

from datetime import date

import pytest

from rag.query.events import event_dates
from rag.query.timescope import TimeScope, strip_time, time_scope

AS_OF = date(2023, 10, 25)  # a Wednesday
D = date


@pytest.mark.parametrize(("question", "start", "end"), [
    ("What happened today?", D(2023, 10, 25), D(2023, 10, 25)),
    ("What did the minister say yesterday?", D(2023, 10, 24), D(2023, 10, 24)),
    ("Which bases were attacked this week?", D(2023, 10, 18), D(2023, 10, 25)),  # the past 7 days
    ("What happened last week in Iraq?", D(2023, 10, 16), D(2023, 10, 22)),  # the calendar week
    ("Any strikes in the past 3 days?", D(2023, 10, 22), D(2023, 10, 25)),
    ("news from the last two weeks", D(2023, 10, 11), D(2023, 10, 25)),
    ("what changed over the past week", D(2023, 10, 18), D(2023, 10, 25)),
    ("Who resigned this month?", D(2023, 10, 1), D(2023, 10, 25)),
    ("Who resigned last month?", D(2023, 9, 1), D(2023, 9, 30)),
    ("What happened this year?", D(2023, 1, 1), D(2023, 10, 25)),
    ("What happened last year?", D(2022, 1, 1), D(2022, 12, 31)),
    ("What happened in October?", D(2023, 10, 1), D(2023, 10, 31)),
    ("What happened in November?", D(2022, 11, 1), D(2022, 11, 30)),  # November 2023 is still ahead
    ("What happened in October 2021?", D(2021, 10, 1), D(2021, 10, 31)),
    ("What happened in Sept. 2022?", D(2022, 9, 1), D(2022, 9, 30)),
    ("What happened in 2022?", D(2022, 1, 1), D(2022, 12, 31)),
    ("What was announced on 12 October?", D(2023, 10, 12), D(2023, 10, 12)),
    ("What was announced on October 12?", D(2023, 10, 12), D(2023, 10, 12)),
    ("What was announced on the 12th of October?", D(2023, 10, 12), D(2023, 10, 12)),
    ("What was announced on 12 October 2022?", D(2022, 10, 12), D(2022, 10, 12)),
    ("What was announced on October 12, 2022?", D(2022, 10, 12), D(2022, 10, 12)),
    ("What was announced on 2022-10-12?", D(2022, 10, 12), D(2022, 10, 12)),
    ("What was announced on 30 October?", D(2022, 10, 30), D(2022, 10, 30)),  # not yet this year
    ("What happened on Monday?", D(2023, 10, 23), D(2023, 10, 23)),
    ("What happened last Wednesday?", D(2023, 10, 18), D(2023, 10, 18)),
    ("attacks since 17 October", D(2023, 10, 17), D(2023, 10, 25)),
    ("attacks since October 17", D(2023, 10, 17), D(2023, 10, 25)),
    ("attacks since October", D(2023, 10, 1), D(2023, 10, 25)),
    ("attacks since 2021", D(2021, 1, 1), D(2023, 10, 25)),
    ("attacks since last week", D(2023, 10, 16), D(2023, 10, 25)),
])
def test_expressions_become_windows(question: str, start: date, end: date) -> None:
    scope = time_scope(question, AS_OF)
    assert (scope.start, scope.end) == (start, end), scope
    assert scope.phrase and scope.phrase.lower() in question.lower()
    assert not scope.latest


@pytest.mark.parametrize(("question", "as_of", "start", "end"), [
    ("What happened in December?", D(2024, 1, 3), D(2023, 12, 1), D(2023, 12, 31)),
    ("What happened last week?", D(2024, 1, 3), D(2023, 12, 25), D(2023, 12, 31)),
    ("What happened last month?", D(2024, 1, 3), D(2023, 12, 1), D(2023, 12, 31)),
    ("What happened last year?", D(2024, 1, 3), D(2023, 1, 1), D(2023, 12, 31)),
    ("What happened on 31 December?", D(2024, 1, 3), D(2023, 12, 31), D(2023, 12, 31)),
    ("What happened yesterday?", D(2024, 1, 1), D(2023, 12, 31), D(2023, 12, 31)),
    ("Over the past 2 months?", D(2024, 3, 31), D(2024, 1, 31), D(2024, 3, 31)),
    ("On 29 February?", D(2023, 3, 1), D(2020, 2, 29), D(2020, 2, 29)),  # the last leap day
])
def test_year_and_month_boundaries(question: str, as_of: date, start: date, end: date) -> None:
    assert (time_scope(question, as_of).start, time_scope(question, as_of).end) == (start, end)


@pytest.mark.parametrize("word", ["latest", "most recent", "recent", "newest"])
def test_latest_words_ask_for_recency_without_a_window(word: str) -> None:
    scope = time_scope(f"What is the {word} news on the Ain al-Asad attacks?", AS_OF)
    assert scope == TimeScope(start=None, end=None, latest=True, phrase=word)


def test_latest_combines_with_a_window() -> None:
    scope = time_scope("What is the latest on Gaza this week?", AS_OF)
    assert (scope.start, scope.end, scope.latest) == (D(2023, 10, 18), D(2023, 10, 25), True)
    assert scope.phrase == "this week, latest"


@pytest.mark.parametrize("question", [
    "Who refused to meet Sudani?",
    "What did USA Today report about the strikes?",  # an outlet, not a date
    "How many of the 12 may be freed?",  # "12 may" without "on" is not a date
    "What was announced on 31 February?",  # no such day
    "Which militias attacked Ain al-Asad in western Iraq?",
    "Who won the 2022 World Cup?",  # a year naming an event, not a window
    "Which show was recently renewed for a new season?",  # "recently" dates the event, it does not ask for news
    "",
])
def test_questions_without_time_expressions_get_no_window(question: str) -> None:
    assert time_scope(question, AS_OF) == TimeScope()


def test_the_first_expression_sets_the_window() -> None:
    scope = time_scope("What happened on 12 October, and since then this week?", AS_OF)
    assert (scope.start, scope.end) == (D(2023, 10, 12), D(2023, 10, 12))


def test_strip_time_keeps_the_topic_and_never_empties_the_question() -> None:
    assert strip_time("What is the latest on Gaza this week?") == "What is the on Gaza ?"
    assert strip_time("Who refused to meet Sudani?") == "Who refused to meet Sudani?"
    assert strip_time("latest") == "latest"


PUBLISHED = D(2023, 10, 25)  # a Wednesday, as the seed article


@pytest.mark.parametrize(("text", "spans"), [
    ("Blinken spoke with Sudani over the phone on 23 October.", [(D(2023, 10, 23), D(2023, 10, 23))]),
    ("The vote is set for October 30.", [(D(2023, 10, 30), D(2023, 10, 30))]),  # scheduled: the nearest one
    ("It began on December 28, 2022.", [(D(2022, 12, 28), D(2022, 12, 28))]),
    ("The report of 2023-09-14 said so.", [(D(2023, 9, 14), D(2023, 9, 14))]),
    ("BAGHDAD, Oct 25 (Reuters) - Officials said", [(D(2023, 10, 25), D(2023, 10, 25))]),  # a dateline
    ("A statement on Monday said so.", [(D(2023, 10, 23), D(2023, 10, 23))]),
    ("The minister said Monday that it was over.", [(D(2023, 10, 23), D(2023, 10, 23))]),  # wire style
    ("On Wednesday the talks resumed.", [(D(2023, 10, 25), D(2023, 10, 25))]),  # the day it appeared
    ("Talks resume next Monday.", [(D(2023, 10, 30), D(2023, 10, 30))]),
    ("They met last Wednesday.", [(D(2023, 10, 18), D(2023, 10, 18))]),
    ("On Wednesday, 12 October, he spoke.", [(D(2023, 10, 12), D(2023, 10, 12))]),  # the weekday of a date
    ("He arrived yesterday and leaves today.", [(D(2023, 10, 24), D(2023, 10, 24)), (PUBLISHED, PUBLISHED)]),
    ("Last week, bases were targeted by drones.", [(D(2023, 10, 16), D(2023, 10, 22))]),
    ("This week, factions claimed the attacks.", [(D(2023, 10, 23), D(2023, 10, 29))]),
    ("Prices rose earlier this month.", [(D(2023, 10, 1), D(2023, 10, 31))]),
    ("Exports fell last month.", [(D(2023, 9, 1), D(2023, 9, 30))]),
    ("Over the past week, three strikes hit.", [(D(2023, 10, 18), PUBLISHED)]),
    ("It may rain; they march on Sunday evening.", [(D(2023, 10, 22), D(2023, 10, 22))]),  # "may", "march": words
    ("Unemployment fell in 2022 and this year.", []),  # spans longer than a month date nothing
    ("No date here at all.", []),
])
def test_passages_dates_are_read_against_their_publication_date(text: str, spans: list) -> None:
    assert event_dates(text, PUBLISHED) == spans


def test_an_undated_passage_keeps_only_dates_with_a_year() -> None:
    assert event_dates("On 3 March 2021 it rained, and on Monday and on 4 March it snowed.", None) == [
        (D(2021, 3, 3), D(2021, 3, 3))]
