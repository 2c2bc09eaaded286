"""Questions end to end over the seed index: real readers, model, Chroma, BM25 and checks."""

from datetime import date, timedelta

import pytest

from rag.answer.qa import REFUSAL, Ask, EmptyQuestion, Written, _disagreements, answer, check, stream_answer
from rag.config import Settings
from rag.engine import Engine
from rag.ingest.sources import read_sources
from rag.types import Answer, Article, Hit
from tests import SEEDS

AS_OF = date(2023, 10, 26)


@pytest.fixture
def settings(seed_settings: Settings) -> Settings:
    return seed_settings


@pytest.fixture(scope="module")
def seed_body() -> str:
    (article,) = [a for a in read_sources(SEEDS, Settings()) if isinstance(a, Article)]
    return article.body


def test_who_refused_to_meet_sudani(settings: Settings, seed_body: str) -> None:
    result = answer(Ask("Who refused to meet Sudani?", as_of=AS_OF), Engine(settings))
    assert not result.refused
    assert "Akram al-Kaabi" in result.text and "Hezbollah Brigades" in result.text
    kaabi = next(c for c in result.claims if "Kaabi" in c.text)
    citation = kaabi.citations[0]
    assert citation.hit.doc_id.endswith("000_6f57e6f2eacdf9d5.txt")
    assert f"[{citation.n}]" in result.text and result.sources[citation.n - 1] == citation.hit
    assert " ".join(seed_body[citation.start : citation.end].split()) == citation.quote
    assert citation.hit.published == date(2023, 10, 25)
    assert result.newest == date(2023, 10, 25)
    assert {"retrieve_ms", "answer_ms"} <= set(result.timings)


def test_question_the_news_does_not_answer_is_refused(settings: Settings) -> None:
    result = answer(Ask("Who won the 2022 World Cup?", as_of=AS_OF), Engine(settings))
    assert result.refused and result.text == REFUSAL and result.claims == []
    assert result.sources, "a refusal still lists the closest sources"


def test_news_after_the_as_of_date_does_not_exist_yet(settings: Settings) -> None:
    before = answer(Ask("Who refused to meet Sudani?", as_of=date(2023, 10, 1)), Engine(settings))
    assert before.refused and before.sources == []
    this_week = answer(Ask("Who refused to meet Sudani this week?", as_of=AS_OF), Engine(settings))
    assert not this_week.refused and this_week.window == (AS_OF - timedelta(days=7), AS_OF)


def test_stream_yields_text_then_the_answer(settings: Settings) -> None:
    events = list(stream_answer(Ask("Who refused to meet Sudani?", as_of=AS_OF), Engine(settings)))
    assert isinstance(events[-1], Answer) and all(isinstance(e, str) for e in events[:-1])
    assert "".join(events[:-1]) == events[-1].text


def test_check_verifies_a_given_answer(settings: Settings) -> None:
    ask = Ask("Who refused to meet Sudani?", as_of=AS_OF)
    cited = answer(ask, Engine(settings)).claims[0].citations[0].n
    result = check(f"Akram al-Kaabi refused to engage with Al-Sudani [{cited}]. "
                   f"Kaabi met Sudani in Paris on 3 May [{cited}]. The militias disbanded [42].", ask, Engine(settings))
    assert [c.supported for c in result.claims] == [True, False, False]
    assert "Paris" in result.claims[1].reason
    assert result.to_dict()["claims"][0]["citations"][0]["hit"]["published"] == "2023-10-25"


def test_sources_that_disagree_are_shown_instead_of_a_refusal() -> None:
    def source(doc: str, outlet: str, figure: str) -> Hit:
        text = f"The fire at the Ostrava chemical plant injured {figure} workers, the regional fire service said."
        return Hit(chunk_id=doc, doc_id=doc, text=text, title="Fire", outlet=outlet, url=f"https://{doc}.example/",
                   published=date(2031, 3, 2), start=0, end=len(text))

    sources = [source("a", "Ostrava Daily", "14"), source("b", "Prague Wire", "41")]
    shown = _disagreements(Written("", [], sources), "How many workers did the Ostrava chemical plant fire injure?")
    assert shown.text.startswith('Sources disagree: "The fire at the Ostrava chemical plant injured 14 workers')
    assert [c.citations[0].n for c in shown.claims] == [1, 2] and all(c.supported for c in shown.claims)
    same = [source("a", "Ostrava Daily", "14"), source("c", "Brno Post", "14")]
    assert _disagreements(Written("", [], same), "How many workers did the fire injure?").claims == []


DATED = {  # asked as of 2023-10-26 of the article published on 25 October: the dates name when things happened
    "Who did Antony Blinken speak with on 23 October?":
        "The US Secretary of State Antony J. Blinken also spoke with Sudani over the phone on 23 October.",
    "How many US military personnel were injured in last week's drone attacks?":
        "resulting in injuries to at least 24 US military personnel",
}


@pytest.mark.parametrize("question", DATED)
def test_events_are_found_by_the_day_they_happened(settings: Settings, seed_body: str, question: str) -> None:
    result = answer(Ask(question, as_of=AS_OF), Engine(settings))
    assert not result.refused, result.text
    lead = result.claims[0].citations[0]
    assert DATED[question] in lead.quote and seed_body[lead.start:lead.end].split() == lead.quote.split()


@pytest.mark.parametrize("question", [
    "What is the population of Erbil?",  # Erbil is named; its population is not
    "How many Iraqi soldiers were killed in the Victoria base attack?",  # the base is named; no such count
    "How many Spanish military personnel were injured in last week's drone attacks?",  # the count is of others
    "Who did Antony Blinken speak with on 19 October?",  # the call is dated 23 October
    "What happened in Iraq on 5 October?",  # nothing reported happened that day
])
def test_sentences_that_do_not_answer_are_not_answers(settings: Settings, question: str) -> None:
    result = answer(Ask(question, as_of=AS_OF), Engine(settings))
    assert result.refused and result.text == REFUSAL and result.claims == [], result.text


def test_a_report_published_after_the_as_of_date_is_still_excluded(settings: Settings) -> None:
    result = answer(Ask("Who did Antony Blinken speak with on 23 October?", as_of=date(2023, 10, 24)), Engine(settings))
    assert result.refused and result.sources == [], "the article naming 23 October appeared on the 25th"


def test_a_refusal_says_why(settings: Settings) -> None:
    """The Answer carries the reason it is not the answerer's own words, for the CLI, the UI and the JSON."""
    engine = Engine(settings)
    nothing = answer(Ask("Who refused to meet Sudani?", as_of=date(2023, 10, 1)), engine)
    assert nothing.fallback.startswith("no passage in the index matches"), nothing.fallback
    no_quote = answer(Ask("Who won the 2022 World Cup?", as_of=AS_OF), engine)
    assert no_quote.fallback.startswith("no sentence of the sources gives"), no_quote.fallback
    answered = answer(Ask("Who refused to meet Sudani?", as_of=AS_OF), engine)
    assert not answered.refused and answered.fallback == ""
    assert answered.to_dict()["answerer"] == "extractive" and no_quote.to_dict()["fallback"] == no_quote.fallback


def test_a_blank_question_is_not_asked() -> None:
    with pytest.raises(EmptyQuestion, match="Ask a question about the indexed news"):
        Ask("  \n ", as_of=AS_OF)
