"""The evidence block a model reads: relevant sentences from many passages, grouped by article, within a budget."""

from __future__ import annotations

from datetime import date

from rag.answer.evidence import gather, tokens
from rag.types import Hit


def hit(n: int, doc: str, text: str, title: str = "Headline", outlet: str = "Herald", sim: float = 0.5) -> Hit:
    return Hit(f"{doc}#{n}", doc, text, title, outlet, f"https://example.com/{doc}", date(2024, 5, 1), 100 * n,
               100 * n + len(text), similarity=sim)


FILLER = " ".join(f"Weather note {i} says it rained in the valley again." for i in range(12))
HITS = [
    hit(0, "a", f"{FILLER} The mayor of Springfield is Ana Lopez. She took office in March."),
    hit(1, "a", "Ana Lopez was elected after a long count. The council met on Friday."),
    hit(2, "b", f"{FILLER} Springfield's new mayor promised cheaper buses.", title="Buses", outlet="Courier"),
    hit(3, "c", "The festival drew large crowds to the river.", title="Festival"),
]


def test_block_holds_the_relevant_sentences_under_one_header_per_article() -> None:
    block = gather("Who is the mayor of Springfield?", HITS, 600)
    assert "The mayor of Springfield is Ana Lopez." in block.text
    assert "Weather note 3" not in block.text  # irrelevant sentences are left out
    assert "festival" not in block.text.lower()  # a passage with nothing relevant is not read at all
    headers = [line for line in block.text.splitlines() if line.startswith("## ")]
    assert headers == ["## Herald | Headline | 2024-05-01", "## Courier | Buses | 2024-05-01"]
    numbered = [line for line in block.text.splitlines() if line.startswith("[")]
    assert [line[:3] for line in numbered] == [f"[{n}]" for n in range(1, len(block.sources) + 1)]
    assert block.sources[0] is HITS[0]  # each number is a whole passage: the check cites within it


def test_a_sentence_opening_with_a_pronoun_brings_the_one_naming_its_subject() -> None:
    block = gather("When did Ana Lopez take office as mayor?", HITS[:1], 600)
    assert "The mayor of Springfield is Ana Lopez. She took office in March." in block.text


def test_budget_is_kept_and_fewer_tokens_hold_fewer_sentences() -> None:
    wide, tight = gather("Who is the mayor of Springfield?", HITS, 600), gather("Who is the mayor of Springfield?",
                                                                                 HITS, 40)
    assert tight.tokens <= 40 < wide.tokens <= 600
    assert tokens(tight.text) == tight.tokens and len(tight.sources) < len(wide.sources)
    assert "Ana Lopez" in tight.text  # the most relevant sentence comes first


def test_each_alternative_gets_its_most_relevant_sentence_first() -> None:
    hits = [hit(0, "a", "The mayor of Springfield met Tom Reed. The mayor praised the buses."),
            hit(1, "b", f"{FILLER} Officials said the mayor of Springfield, Ana Lopez, would run again.")]
    block = gather("Who is the mayor of Springfield?", hits, 60, choices=("Tom Reed", "Ana Lopez", "Bo Chan"))
    assert "Ana Lopez" in block.text and "Tom Reed" in block.text, block.text


def test_nothing_relevant_reads_nothing() -> None:
    block = gather("What did the central bank decide about rates?", HITS[3:], 600)
    assert block.text == "" and block.sources == []
