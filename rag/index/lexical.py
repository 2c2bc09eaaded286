"""Searching the keyword side: BM25 over stems, filters as a weight mask, and the evaluation's plain BM25.

bm25s supplies the tokenizer (English stopwords, Snowball stems through PyStemmer) and the plain
baseline; the index's own scores come from ``rag.index.segments``, which can grow without a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.index.segments import Postings


def _bm25s() -> Any:
    try:
        import bm25s
        import Stemmer  # noqa: F401 (PyStemmer: checked here so the error names the package)
    except ImportError as exc:
        raise ImportError("the keyword index needs bm25s and PyStemmer: pip install bm25s PyStemmer") from exc
    return bm25s


def tokenizer() -> Any:
    """English stopwords and Snowball stems; a fresh one per call (PyStemmer is not thread-safe)."""
    import Stemmer

    return _bm25s().tokenization.Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")


def query_terms(text: str) -> list[str]:
    """The stems BM25 matches a question by, as the corpus was tokenised."""
    return tokenizer().tokenize([text], return_as="string", show_progress=False)[0]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which passages a search may return; dates are yyyymmdd integers, None for no bound.

    ``start``/``end`` bound the publication date (the as-of date, --from/--to). ``asked`` is the
    window a question asks about, (first day, last day, last publication day of reports on it):
    a passage is in it when one of its event dates falls in the window, or when it was published
    between the first day and the last publication day.
    """

    start: int | None = None
    end: int | None = None
    outlet: str | None = None
    asked: tuple[int, int, int] | None = None

    @property
    def empty(self) -> bool:
        return self == Filters()


@dataclass
class KeywordIndex:
    """One loaded generation: rows align with ``ids``, ``published`` and ``outlets``; ``events`` holds
    (row, first day, last day) for each event date a passage mentions; ``postings`` scores them."""

    stamp: str
    ids: list[str]
    published: np.ndarray  # int32 yyyymmdd, 0 for undated
    outlets: np.ndarray  # str
    events: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int32))
    postings: Postings | None = None  # None for an empty index
    revision: str = ""  # the server collection's revision it was built from ("" when embedded)
    outlet_names: dict[str, str] = field(init=False, repr=False)  # casefolded -> stored spelling
    oldest: int = field(init=False)
    newest: int = field(init=False)

    def __post_init__(self) -> None:
        self.outlet_names = {str(o).casefold(): str(o) for o in set(self.outlets.tolist())}
        empty = len(self.published) == 0
        self.oldest, self.newest = (0, 0) if empty else (int(self.published.min()), int(self.published.max()))

    def __len__(self) -> int:
        return len(self.ids)

    def narrowing(self, filters: Filters) -> Filters:
        """Only the filters that exclude something here: a no-op filter still costs a full scan."""
        start, end, outlet = filters.start, filters.end, filters.outlet
        return Filters(start if start is not None and self.oldest < start else None,
                       end if end is not None and self.newest > end else None,
                       outlet if outlet is not None and set(self.outlet_names.values()) != {outlet} else None,
                       filters.asked)

    def mask(self, filters: Filters) -> np.ndarray:
        """1.0 for rows the filters keep, 0.0 for the rest (bm25s multiplies scores by it)."""
        keep = (self.published >= (filters.start or 0)) & (self.published <= (filters.end or 99991231))
        if filters.outlet is not None:
            keep &= self.outlets == filters.outlet
        if filters.asked is not None:
            first, last, reported = filters.asked
            asked = (self.published >= first) & (self.published <= reported)
            rows, starts, ends = self.events.T
            asked[rows[(starts <= last) & (ends >= first)]] = True
            keep &= asked
        return keep.astype(np.float32)

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """Up to ``n`` (chunk id, BM25 score) pairs matching at least one query term, best first."""
        if self.postings is None or not len(self.ids) or n <= 0:
            return []
        terms = [t for t in query_terms(query) if t in self.postings.vocab]
        if not terms:
            return []
        scores = self.postings.scores(terms)
        if not filters.empty:
            scores *= self.mask(filters)
        top = np.argpartition(-scores, min(n, len(scores)) - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(r)], float(scores[r])) for r in top if scores[r] > 0]

    def outlet_named(self, name: str) -> str:
        """The stored spelling of an outlet, matched case-insensitively ("reuters" -> "Reuters")."""
        if name in self.outlet_names.values():
            return name
        return self.outlet_names.get(name.casefold(), name)


def plain_ranker(texts: Sequence[str]) -> Callable[[str, int], list[int]]:
    """Plain BM25 over whole texts (bm25s's defaults: English stopwords, no stems), as a function from a
    query and a depth to the best texts' positions: the evaluation's baseline, not newsrag's retrieval."""
    bm25s = _bm25s()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def rank(query: str, k: int) -> list[int]:
        top, _ = retriever.retrieve(bm25s.tokenize([query], stopwords="en", show_progress=False),
                                    k=min(k, len(texts)), show_progress=False)
        return [int(doc) for doc in top[0]]

    return rank
