"""The scoring functions on hand-made inputs, each value worked out by hand."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pytest

from rag.evaluation.metrics import (
    CitationCounts,
    Rate,
    article_key,
    choice_correct,
    citation_counts,
    citation_rates,
    content_words,
    first_rank,
    holds_answer,
    latency,
    mrr,
    named_choices,
    ranked_articles,
    rate,
    recall_at,
)
from rag.types import Hit


class HashEmbedder:
    """Deterministic pseudo-random unit vectors: distinct texts are nearly orthogonal, so only the
    lexical half of the support check can pass; enough to make the citation counts exact."""

    name = "hash"
    dimension = 64

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def hit(doc_id: str, text: str = "text") -> Hit:
    return Hit(chunk_id=doc_id + ":0", doc_id=doc_id, text=text, title="", outlet="", url=doc_id, published=None,
               start=0, end=len(text))


@pytest.mark.parametrize("url", [
    "https://www.cnn.com/2022/06/12/media/squid-game-season-2/index.html",
    "https://edition.cnn.com/2022/06/12/media/squid-game-season-2/index.html",
    "http://cnn.com/2022/06/12/media/squid-game-season-2/index.html/",
    "https://www.cnn.com/2022/06/12/media/squid-game-season-2/index.html#:~:text=Squid",
    "https://WWW.CNN.COM/2022/06/12/media/squid-game-season-2/index.html?utm_source=x",
])
def test_article_key_joins_spellings_of_one_url(url: str) -> None:
    assert article_key(url) == "cnn.com/2022/06/12/media/squid-game-season-2/index.html"


def test_article_key_keeps_distinct_articles_and_file_ids_apart() -> None:
    assert article_key("https://cnn.com/a?id=1") != article_key("https://cnn.com/a?id=2")
    assert article_key("file:///tmp/x.txt#3") == "file:///tmp/x.txt#3"


def test_ranked_articles_counts_each_article_once_at_its_first_passage() -> None:
    hits = [hit("https://cnn.com/a"), hit("https://edition.cnn.com/a"), hit("https://bbc.com/b"),
            hit("https://cnn.com/a")]
    assert ranked_articles(hits) == ["cnn.com/a", "bbc.com/b"]
    assert first_rank(["x", "cnn.com/a"], {"cnn.com/a"}) == 2
    assert first_rank(["x"], {"cnn.com/a"}) is None


def test_recall_and_mrr_over_ranks() -> None:
    ranks = [1, 3, None, 6]
    assert recall_at(ranks, 1) == Rate(1, 4)
    assert recall_at(ranks, 5) == Rate(2, 4)
    assert recall_at(ranks, 10) == Rate(3, 4)
    assert mrr(ranks).value == pytest.approx((1 + 1 / 3 + 0 + 1 / 6) / 4)
    assert mrr(ranks).n == 4


def test_rate_of_nothing_is_not_a_number_not_zero() -> None:
    assert math.isnan(rate([]).value)
    assert rate([True, False, True]).as_dict() == {"value": pytest.approx(2 / 3), "hits": 2.0, "n": 3}


def test_named_choices_whole_words_longest_first() -> None:
    choices = ["Virginia", "West Virginia", "Ohio", "2"]
    assert named_choices("It was West Virginia [2].", choices) == [1]
    assert named_choices("Both Ohio and Virginia voted.", choices) == [0, 2]
    assert named_choices("Ohioans voted.", choices) == []
    assert named_choices("Only 2 states voted.", choices) == [3]


def test_named_choices_ignores_quotes_and_case() -> None:
    choices = ["“Game of Thrones”", "“Squid Game”", "“Breaking Bad”", "“Friends”"]
    assert named_choices('Netflix said "squid game" is back [1].', choices) == [1]


def test_choice_correct_needs_the_gold_choice_alone() -> None:
    choices = ["Europe", "North America", "Asia", "Africa"]
    assert choice_correct("European regulators... Europe will require it [1].", choices, 0)
    assert not choice_correct("Europe and Asia will require it.", choices, 0)
    assert not choice_correct("Not found in the indexed news.", choices, 0)


def test_citation_counts_follow_alce() -> None:
    sources = [hit("s1", "The 2031 Widget Summit will be held in Rome."),
               hit("s2", "Rain is expected across the region this weekend.")]
    text = ("The 2031 Widget Summit will be held in Rome [1, 2]. "  # supported; [1] alone, [2] not needed
            "The summit moved to Oslo [2]. "  # unsupported: its citation is imprecise
            "Widgets are popular.")  # no citation: unsupported
    counts = citation_counts(text, sources, HashEmbedder())
    assert counts == CitationCounts(sentences=3, supported=1, citations=3, precise=1)


def test_citation_counts_keep_a_citation_that_is_needed() -> None:
    sources = [hit("s1", "The Widget Summit will be held in Rome."), hit("s2", "It will take place in 2031.")]
    counts = citation_counts("The Widget Summit will be held in Rome in 2031 [1, 2].", sources, HashEmbedder())
    # 2031 is only in [2] and Rome only in [1]: together they support it, neither alone does, both are needed
    assert counts == CitationCounts(sentences=1, supported=1, citations=2, precise=2)


def test_citation_rates_are_micro_averaged() -> None:
    rates = citation_rates([CitationCounts(3, 1, 3, 1), CitationCounts(1, 1, 2, 2)])
    assert rates["recall"] == Rate(2, 4)
    assert rates["precision"] == Rate(3, 5)


def test_latency_per_stage_with_counts() -> None:
    runs = [{"retrieve_ms": 10.0, "check_ms": 1.0}, {"retrieve_ms": 20.0}, {"retrieve_ms": 30.0}]
    summary = latency(runs)
    assert summary["retrieve"] == {"p50": 20.0, "p95": 30.0, "n": 3}
    assert summary["check"]["n"] == 1


def test_content_words_drop_stop_words_case_markers_and_possessives() -> None:
    assert content_words("The Bank of England's rate [2], [1, 3]") == ["bank", "england", "rate"]
    assert content_words("Six state-run firms") == ["6", "state", "run", "firms"]
    assert content_words("None of the above") == []


def test_holds_answer_needs_three_quarters_of_the_gold_content_words() -> None:
    gold = "The Royal Bank of Canada in Toronto"  # four content words: royal, bank, canada, toronto
    assert holds_answer("It was the royal bank of CANADA [1].", gold)  # 3 of 4
    assert not holds_answer("A royal bank [1].", gold)  # 2 of 4
    assert holds_answer("royal bank, canada", gold, share=0.75) and not holds_answer("royal bank, canada", gold, 0.8)


def test_holds_answer_reads_numbers_and_ignores_citation_markers() -> None:
    assert holds_answer("Six people were hurt [1].", "6")
    assert holds_answer("It took 6 days.", "six")
    assert not holds_answer("Nobody said so [2].", "2")
    assert holds_answer("Kyiv's mayor [2].", "Kyiv")


def test_a_gold_without_content_words_is_never_held() -> None:
    assert not holds_answer("None of the above [1].", "None of the above")
    assert not holds_answer("anything", "")
