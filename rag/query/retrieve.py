"""Hybrid, time-aware retrieval: dense + BM25, fused, filtered by date and outlet, duplicates collapsed.

Why each step:

- Two kinds of date bound a search (``Scope``). Publication: never after ``as_of`` (news published
  later did not exist yet) and within --from/--to. The days asked about: a question's own time
  words ("on 23 October", "last week") name when things happened, so they match the dates a
  passage reports (its event dates, read at ingest) as well as reports published in the window
  or up to ``REPORT_LAG_DAYS`` after it. Undated passages stay in unless a start date bounds
  publication; a window asked about takes them only by their event dates.
- Dense search finds paraphrases; BM25 finds rare names and exact terms that MiniLM blurs. Both
  are filtered the same way (the keyword index's mask, handed to Chroma as ids when selective)
  and fused by reciprocal rank (k=60), which needs no score calibration between two very
  different scorers. A filter that excludes nothing in this index is left out.
- "latest" questions re-rank the fused candidates by relevance plus an age decay (see
  ``prefer_recent``); other questions are ranked by relevance alone.
- Syndicated copies (the same wire paragraph under several outlets) would fill the context with
  one source repeated: they collapse into one Hit whose ``also_in`` names the other outlets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from rag.index.lexical import Filters
from rag.query.timescope import REPORT_LAG_DAYS, strip_time, time_scope
from rag.types import Hit

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.index import Index

RRF_K = 60  # the constant of Cormack et al. (2009): damps the head of each list
CANDIDATES = 50  # per retriever, before fusion
DUPLICATE_COSINE = 0.95  # passage vectors this close are the same text (headline aside)
RECENCY_WEIGHT = 0.3  # share of the "latest" ranking given to recency
HALF_LIFE_DAYS = 7.0  # a week-old article keeps half its recency bonus

Window = tuple[date | None, date | None]


@dataclass
class Retrieval:
    """What retrieval found, the window it searched and what each stage cost (ms)."""

    hits: list[Hit]
    window: Window
    latest: bool
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A Hit on its way through ranking, with what "latest" and duplicate checks need."""

    hit: Hit
    vector: np.ndarray  # the passage vector stored in Chroma
    lexical: float = 0.0  # BM25 score, 0 when BM25 did not return it


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - started) * 1000


@dataclass(frozen=True, slots=True)
class Scope:
    """The dates a question may be answered from.

    ``published`` bounds publication: --from/--to, and never after ``as_of`` (nothing published
    later existed yet). ``asked`` is the window the question's own words name ("on 23 October",
    "last week", "this week"): the days things happened, matched against a passage's event dates
    and against its publication date, which may fall up to ``lag`` days after the window
    (``Settings.report_lag_days``).
    """

    published: Window
    asked: tuple[date, date] | None
    latest: bool
    lag: int = REPORT_LAG_DAYS

    @property
    def window(self) -> Window:
        """The one window to show: the days asked about, within the publication bounds."""
        starts = [d for d in (self.asked[0] if self.asked else None, self.published[0]) if d is not None]
        ends = [d for d in (self.asked[1] if self.asked else None, self.published[1]) if d is not None]
        return (max(starts) if starts else None, min(ends) if ends else None)

    def filters(self, outlet: str | None) -> Filters:
        """The same scope as the keyword index's integer filters."""
        asked = None
        if self.asked:
            first, last = self.asked
            asked = (_as_int(first), _as_int(last), _as_int(last + timedelta(days=self.lag)))
        return Filters(_as_int(self.published[0]), _as_int(self.published[1]), outlet, asked)

    def holds(self, hit: Hit) -> bool:
        """Whether a passage is in scope; an undated one only by an event date, or when nothing bounds it."""
        start, end = self.published
        day = hit.published
        if day is not None and ((start and day < start) or (end and day > end)):
            return False
        if day is None and start is not None:
            return False
        if not self.asked:
            return True
        first, last = self.asked
        reported = day is not None and first <= day <= last + timedelta(days=self.lag)
        return reported or any(a <= last and b >= first for a, b in hit.events)


def scope_of(question: str, as_of: date, date_from: date | None = None, date_to: date | None = None,
             lag: int = REPORT_LAG_DAYS) -> Scope:
    """The question's time words as the window asked about; the explicit dates and ``as_of`` as publication bounds."""
    scope = time_scope(question, as_of)
    ends = [d for d in (date_to, as_of) if d is not None]
    asked = (scope.start, scope.end) if scope.start and scope.end else None
    return Scope(published=(date_from, min(ends)), asked=asked, latest=scope.latest, lag=lag)


def _as_int(day: date | None) -> int | None:
    return int(day.strftime("%Y%m%d")) if day else None


def inside(hit: Hit, scope: Scope, outlet: str | None) -> bool:
    """The filters checked again on each fetched passage: those skipped as no-ops must still hold
    (an ingest running elsewhere may have added passages the keyword index has not seen yet)."""
    return (outlet is None or hit.outlet == outlet) and scope.holds(hit)


def fuse(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the lists an id appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def _candidates(index: Index, scores: dict[str, float], question: np.ndarray,
                lexical: dict[str, float]) -> list[Candidate]:
    """The fused candidates as Hits, in fused order, with what ranking needs (ids gone meanwhile skipped)."""
    found = index.fetch(list(scores))
    return [Candidate(replace(hit, score=scores[cid], similarity=float(vec @ question)), vec, lexical.get(cid, 0.0))
            for cid in scores if cid in found for hit, vec in [found[cid]]]


def relevance(candidates: list[Candidate]) -> list[float]:
    """Relative score fusion: mean of cosine and BM25, each divided by its best among the candidates.

    RRF ranks well but throws magnitudes away (in a small pool the second-best passage scores
    almost like the best, however far behind it is); trading relevance against age needs them.
    """
    best_cos = max((c.hit.similarity for c in candidates), default=0.0)
    best_bm25 = max((c.lexical for c in candidates), default=0.0)
    dense = [max(c.hit.similarity, 0.0) / best_cos if best_cos > 0 else 0.0 for c in candidates]
    if best_bm25 <= 0:
        return dense
    return [(d + c.lexical / best_bm25) / 2 for d, c in zip(dense, candidates, strict=True)]


def prefer_recent(candidates: list[Candidate]) -> list[Candidate]:
    """Re-rank for "latest": 0.7 x relevance + 0.3 x 2^(-age / 7 days).

    Relevance stays the larger share, so a newer passage overtakes an older one only when it is
    about as relevant (a week newer is worth about 0.2 of relevance on a 0..1 scale), and "latest"
    never promotes an off-topic item because it is new. Age is counted from the newest passage at least
    half as relevant as the best, not from ``as_of``: an archive that stopped a year ago still
    prefers its newest story. Undated passages get no recency bonus.
    """
    rel = relevance(candidates)
    dated = [c.hit.published for c, r in zip(candidates, rel, strict=True) if c.hit.published and r >= 0.5]
    newest = max(dated, default=None)

    def score(c: Candidate, r: float) -> float:
        recency = 0.0
        if newest and c.hit.published:
            recency = 0.5 ** (max((newest - c.hit.published).days, 0) / HALF_LIFE_DAYS)
        return (1 - RECENCY_WEIGHT) * r + RECENCY_WEIGHT * recency

    rescored = [replace(c, hit=replace(c.hit, score=score(c, r))) for c, r in zip(candidates, rel, strict=True)]
    return sorted(rescored, key=lambda c: -c.hit.score)


_NON_WORD = re.compile(r"\W+")
_FIGURE = re.compile(r"\d[\d,.]*")


def _normal(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def _other_figures(one: str, other: str) -> bool:
    """Each text has a figure the other lacks ("14 injured" / "41 injured"); a copy may only add some."""
    a, b = set(_FIGURE.findall(one)), set(_FIGURE.findall(other))
    return bool(a - b) and bool(b - a)


def collapse_duplicates(ranked: list[Candidate], k: int) -> list[Hit]:
    """The first ``k`` distinct passages; later near-copies (nearly the same words, no figure changed) add
    their outlet to ``also_in``."""
    kept: list[Candidate] = []
    also: list[list[str]] = []
    texts: dict[str, int] = {}
    for cand in ranked:
        twin = texts.get(_normal(cand.hit.text))
        if twin is None and kept:
            cosines = np.stack([c.vector for c in kept]) @ cand.vector
            twin = int(np.argmax(cosines)) if cosines.max() >= DUPLICATE_COSINE else None
            if twin is not None and _other_figures(kept[twin].hit.text, cand.hit.text):
                twin = None  # the same story with other figures: an update or a dispute, shown, not folded away
        if twin is not None:
            outlets = [kept[twin].hit.outlet, *also[twin]]
            if cand.hit.outlet and cand.hit.outlet not in outlets:
                also[twin].append(cand.hit.outlet)
        elif len(kept) < k:
            texts[_normal(cand.hit.text)] = len(kept)
            kept.append(cand)
            also.append([])
    return [replace(c.hit, also_in=tuple(extra)) for c, extra in zip(kept, also, strict=True)]


def retrieve(question: str, engine: Engine, *, as_of: date, date_from: date | None = None,
             date_to: date | None = None, outlet: str | None = None, k: int = 8, index: str | None = None
             ) -> Retrieval:
    """The ``k`` best passages for a question, as the index stood on ``as_of``."""
    if k <= 0:
        raise ValueError(f"k must be greater than 0, got {k}")
    scope = scope_of(question, as_of, date_from, date_to, engine.settings.retrieval.report_lag_days)
    result = Retrieval(hits=[], window=scope.window, latest=scope.latest)
    start, end = scope.published
    if start is not None and end is not None and start > end:
        return result  # e.g. --from after the as-of date: nothing can match
    store, embedder = engine.index(index), engine.embedder("query")
    query, t = strip_time(question), result.timings
    with _timed(t, "total"):
        with _timed(t, "keyword"):
            side = store.keyword()
            outlet = side.outlet_named(outlet) if outlet is not None else None
            filters = side.narrowing(scope.filters(outlet))
            lexical = dict(side.search(query, CANDIDATES, filters))
        with _timed(t, "embed"):
            vector = embedder.embed([query])[0]
        with _timed(t, "dense"):
            dense = store.dense(vector, CANDIDATES, side, filters)
        with _timed(t, "fuse"):
            scores = dict(list(fuse([dense, list(lexical)]).items())[: max(4 * k, 32)])
        with _timed(t, "fetch"):
            candidates = [c for c in _candidates(store, scores, vector, lexical) if inside(c.hit, scope, outlet)]
        with _timed(t, "fuse"):
            result.hits = collapse_duplicates(prefer_recent(candidates) if scope.latest else candidates, k)
    return result
