"""Keyword segments score exactly as one BM25 index built from scratch over the live passages (bm25s),
however the passages were added, replaced, deleted or merged."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.lexical import KeywordIndex, query_terms, tokenizer
from rag.index.segments import Row, Segment, assemble, merged

TOPICS = ["flood", "election", "harbour budget", "ceasefire talks", "rail strike", "vaccine trial"]


def text(n: int, extra: str = "") -> str:
    topic = TOPICS[n % len(TOPICS)]
    return (f"Story {n} about the {topic}\nOfficials in district {n} described the {topic} on day {n % 7}. "
            f"Residents said the {topic} changed how they live; reporters counted {n * 7} people.{extra}")


def row(n: int, extra: str = "") -> Row:
    return Row(f"c{n}", text(n, extra), 20231001 + n % 28, "Alpha" if n % 2 else "Beta", ((20231001, 20231002),))


def reference(texts: list[str], query: str) -> np.ndarray:
    """bm25s built from scratch over ``texts``: the scores the segments must reproduce."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(tokenizer().tokenize(texts, return_as="tuple", show_progress=False), show_progress=False)
    terms = [t for t in query_terms(query) if t in retriever.vocab_dict]
    return retriever.get_scores(terms) if terms else np.zeros(len(texts))


@pytest.fixture
def segments() -> list[Segment]:
    """40 passages; then 20 more with two deleted; then one of those two written again, changed."""
    first = Segment.of([row(n) for n in range(40)], [], tokenizer())
    second = Segment.of([row(n) for n in range(40, 60)], ["c5", "c10"], tokenizer())
    third = Segment.of([row(10, " A zanzibarite shipment was found.")], ["c10"], tokenizer())
    return [first, second, third]


def live_texts() -> tuple[list[str], list[str]]:
    ids = [f"c{n}" for n in range(60) if n not in (5, 10)] + ["c10"]
    texts = [text(n) for n in range(60) if n not in (5, 10)] + [text(10, " A zanzibarite shipment was found.")]
    return ids, texts


@pytest.mark.parametrize("query", ["flood residents", "harbour budget day 3", "zanzibarite", "rail rail strike",
                                   "district 5 officials"])
def test_scores_equal_a_build_from_scratch(segments: list[Segment], query: str) -> None:
    ids, texts = live_texts()
    expected = reference(texts, query)
    for postings in (assemble(segments), assemble([merged(segments)])):
        assert postings.ids == ids
        got = postings.scores([t for t in query_terms(query) if t in postings.vocab])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_deleted_and_replaced_rows_are_never_returned(segments: list[Segment]) -> None:
    postings = assemble(segments)
    index = KeywordIndex(stamp="g", ids=postings.ids, published=postings.published, outlets=postings.outlets,
                         events=postings.events, postings=postings)
    assert "c5" not in index.ids and index.ids.count("c10") == 1
    assert [cid for cid, _ in index.search("zanzibarite", 10)] == ["c10"]
    assert all(cid != "c5" for cid, _ in index.search("district 5 officials", 100))
    # the filter arrays follow the rows that survive, events included
    row10 = index.ids.index("c10")
    assert index.published[row10] == row(10).published and index.outlets[row10] == "Beta"
    assert sorted(index.events[:, 0].tolist()) == list(range(len(index.ids)))


def test_a_segment_round_trips_through_disk(segments: list[Segment], tmp_path) -> None:  # noqa: ANN001
    segments[1].save(tmp_path / "s")
    loaded = Segment.load(tmp_path / "s")
    assert loaded.ids == segments[1].ids and loaded.deleted == ["c5", "c10"] and loaded.vocab == segments[1].vocab
    assert (loaded.counts != segments[1].counts).nnz == 0


def test_an_empty_write_and_an_empty_index() -> None:
    empty = Segment.of([], ["c1"], tokenizer())
    postings = assemble([Segment.of([row(1)], [], tokenizer()), empty])
    assert postings.ids == [] and postings.scores(["flood"]).shape == (0,)
    assert assemble([]).ids == []
