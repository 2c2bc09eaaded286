"""The naive baseline every answerer must beat: count each choice's mentions in BM25's top articles.

Plain BM25 over whole pool articles with the question as query; the choice mentioned most often in
the top five articles is the answer (a tie is no answer). It reads nothing, so an answerer that
does not clearly beat it is not reading either. Run in the same process over the same questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rag.answer.choices import named_choices
from rag.config import Settings
from rag.ingest.sources import read_sources
from rag.types import Article

TOP_ARTICLES = 5


def pool_articles(targets: Sequence[str], settings: Settings) -> list[Article]:
    """The pool's articles as ingestion reads them, the first copy of each URL kept."""
    seen: dict[str, Article] = {}
    for target in targets:
        for item in read_sources(Path(target), settings):
            if isinstance(item, Article):
                seen.setdefault(item.doc_id, item)
    return list(seen.values())


def bm25_choice_counts(questions: Sequence[tuple[str, Sequence[str]]], articles: Sequence[Article]) -> list[int | None]:
    """Per (question, choices): the index of the choice most mentioned in the top articles, None on a tie."""
    from rag.index.lexical import plain_ranker

    texts = [f"{a.title}\n{a.body}" for a in articles]
    rank = plain_ranker(texts)
    picks: list[int | None] = []
    for question, choices in questions:
        counts = [0] * len(choices)
        for doc in rank(question, TOP_ARTICLES):
            for i in mentions(texts[doc], choices):
                counts[i] += 1
        best = max(counts, default=0)
        picks.append(counts.index(best) if best and counts.count(best) == 1 else None)
    return picks


def mentions(text: str, choices: Sequence[str]) -> list[int]:
    """One index per mention: a choice named in three paragraphs counts three times."""
    return [i for paragraph in text.split("\n") for i in named_choices(paragraph, choices)]
