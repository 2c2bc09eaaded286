"""The extractive answerer on hand-made sources: relevant sentences, exact citations, refusal."""

from datetime import date

from rag.answer.extractive import extract, score_sentences
from rag.types import Hit

SEED_PART = (
    "Despite Sudani's reassurances, a parliament member said Sudani's meetings with leaders of Iraqi militias "
    "did not yield a definite resolution. However, there were other faction leaders who refused to even engage "
    "with Al-Sudani, like Harakat al-Nujaba leader Akram al-Kaabi, and some leaders in the Hezbollah Brigades."
)
OTHER = "The 90-year-old al-Sistani is the top Shia cleric in Iraq and a powerhouse in the Shia world."


def hit(text: str, similarity: float, start: int = 0) -> Hit:
    return Hit(chunk_id="c", doc_id="d", text=text, title="T", outlet="O", url="", published=date(2023, 10, 25),
               start=start, end=start + len(text), similarity=similarity)


def test_who_refused_names_the_leaders_with_an_exact_citation() -> None:
    sources = [hit(OTHER, 0.2), hit(SEED_PART, 0.5, start=4000)]
    text, claims = extract("Who refused to meet Sudani?", sources)
    assert "Akram al-Kaabi" in text and "Hezbollah Brigades" in text and "[2]" in text
    citation = next(c.citations[0] for c in claims if "Kaabi" in c.text)
    assert citation.n == 2 and citation.start >= 4000
    assert SEED_PART[citation.start - 4000 : citation.end - 4000].startswith("However, there were")
    assert "[1]" not in text


def test_unrelated_question_is_refused() -> None:
    text, claims = extract("Who won the 2022 World Cup?", [hit(SEED_PART, 0.1), hit(OTHER, 0.05)])
    assert (text, claims) == ("", [])


def test_time_phrase_does_not_count_as_a_missing_word() -> None:
    sources = [hit("Sistani called on the world to stand up to Israel.", 0.4)]
    with_phrase = score_sentences("What did Sistani say this week?", sources, ignore="this week")[0].coverage
    without = score_sentences("What did Sistani say this week?", sources)[0].coverage
    assert with_phrase > without
