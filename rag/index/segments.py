"""Keyword segments: the BM25 side of an index as immutable pieces, so a write adds a piece instead of
rebuilding the whole.

A segment holds the term counts of the passages one write added (a sparse docs x terms matrix over
its own vocabulary), their filter fields, and the chunk ids that write deleted or replaced. Scores are
computed when a question is asked, from counts, document lengths and document frequencies over the
live passages, so a view assembled from several segments scores exactly as one built from scratch
(BM25, Lucene's idf, k1 1.5, b 0.75: what bm25s computes). A passage is live in a segment unless a
later segment deleted its id: a row deleted or replaced is never returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

K1, B = 1.5, 0.75


@dataclass(frozen=True)
class Row:
    """One passage as the keyword side keeps it."""

    chunk_id: str
    text: str  # the headline and the passage: what the embedder sees too
    published: int  # yyyymmdd, 0 for undated
    outlet: str
    events: tuple[tuple[int, int], ...]  # (first day, last day) yyyymmdd


@dataclass
class Segment:
    """The passages one write added, and the ids it deleted (from earlier segments)."""

    ids: list[str]
    outlets: list[str]
    published: np.ndarray  # int32
    events: np.ndarray  # (row, first, last) int32
    counts: sparse.csr_matrix  # docs x vocab term counts
    vocab: list[str]
    deleted: list[str]

    @classmethod
    def of(cls, rows: Sequence[Row], deleted: Sequence[str], tokenizer: Any) -> Segment:
        """Tokenise the rows' text (the tokenizer gives stems without stopwords) into a segment."""
        tokens = tokenizer.tokenize([r.text for r in rows], return_as="tuple", show_progress=False) if rows \
            else ([], {})
        ids, vocab = tokens[0], tokens[1]
        indptr = np.cumsum([0, *map(len, ids)], dtype=np.int64)
        flat = np.fromiter((t for doc in ids for t in doc), dtype=np.int32, count=int(indptr[-1]))
        counts = sparse.csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr),
                                   shape=(len(rows), len(vocab)))
        counts.sum_duplicates()
        events = [(i, a, b) for i, r in enumerate(rows) for a, b in r.events]
        return cls(ids=[r.chunk_id for r in rows], outlets=[r.outlet for r in rows],
                   published=np.asarray([r.published for r in rows], dtype=np.int32),
                   events=np.asarray(events, dtype=np.int32).reshape(-1, 3), counts=counts,
                   vocab=[t for t, _ in sorted(vocab.items(), key=lambda item: item[1])], deleted=list(deleted))

    def save(self, path: Path) -> None:
        """Write the segment into a new folder (the caller renames it into place)."""
        path.mkdir(parents=True)
        np.savez(path / "arrays.npz", published=self.published, events=self.events, indptr=self.counts.indptr,
                 indices=self.counts.indices, data=self.counts.data)
        (path / "rows.json").write_text(json.dumps({"ids": self.ids, "outlets": self.outlets, "vocab": self.vocab,
                                                    "deleted": self.deleted}))

    # Derived once per loaded segment (segments never change, and the index keeps them across writes).
    @cached_property
    def columns(self) -> sparse.csc_matrix:
        """The counts column-major: a term's postings are contiguous."""
        return self.counts.tocsc()

    @cached_property
    def terms(self) -> dict[str, int]:
        return {term: column for column, term in enumerate(self.vocab)}

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {cid: row for row, cid in enumerate(self.ids)}

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=1)).ravel().astype(np.float32)

    @cached_property
    def outlet_array(self) -> np.ndarray:
        return np.asarray(self.outlets, dtype=str)

    @classmethod
    def load(cls, path: Path) -> Segment:
        """A segment written by ``save``."""
        rows = json.loads((path / "rows.json").read_text())
        with np.load(path / "arrays.npz") as arrays:
            counts = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                       shape=(len(rows["ids"]), len(rows["vocab"])))
            return cls(ids=rows["ids"], outlets=rows["outlets"], published=arrays["published"],
                       events=arrays["events"], counts=counts, vocab=rows["vocab"], deleted=rows["deleted"])


class _Vocabulary:
    """Whether any segment of a view has a term (a view keeps no vocabulary of its own)."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._segments = segments

    def __contains__(self, term: object) -> bool:
        return any(term in segment.terms for segment in self._segments)


@dataclass
class Postings:
    """The live passages of several segments, scored segment by segment.

    Nothing is copied into one matrix: each segment keeps its own column-major counts (made once when
    it is loaded, then cached with it), and ``positions`` maps its rows to live passages (-1 for a row
    deleted later). A write therefore costs the new segment and these maps, not the whole index.
    """

    ids: list[str]
    outlets: np.ndarray
    published: np.ndarray
    events: np.ndarray
    lengths: np.ndarray  # tokens per live passage
    segments: list[Segment]
    positions: list[np.ndarray]  # per segment: each row's live position, -1 when not live

    @property
    def vocab(self) -> _Vocabulary:
        return _Vocabulary(self.segments)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 of every passage for the query terms (repeated terms count again, as in bm25s)."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        n, average = len(self.ids), float(self.lengths.mean()) if len(self.ids) else 1.0
        for term in terms:
            rows, tf = self._postings(term)
            if not len(rows):
                continue
            idf = np.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            total[rows] += idf * tf / (K1 * ((1 - B) + B * self.lengths[rows] / average) + tf)
        return total

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The live passages holding ``term`` and its count in each (their number is its document frequency)."""
        rows, tfs = [], []
        for segment, position in zip(self.segments, self.positions, strict=True):
            column = segment.terms.get(term)
            if column is None:
                continue
            lo, hi = segment.columns.indptr[column], segment.columns.indptr[column + 1]
            found = position[segment.columns.indices[lo:hi]]
            live = found >= 0
            rows.append(found[live])
            tfs.append(segment.columns.data[lo:hi][live])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows), np.concatenate(tfs)


def live_rows(segments: Sequence[Segment]) -> list[np.ndarray]:
    """Per segment, which rows are live: not deleted (or replaced) by a later segment."""
    later: set[str] = set()
    keep: list[np.ndarray] = []
    for segment in reversed(segments):
        alive = np.ones(len(segment.ids), dtype=bool)
        alive[[row for cid in later if (row := segment.row_of.get(cid)) is not None]] = False
        keep.append(alive)
        later.update(segment.deleted)
    return keep[::-1]


def assemble(segments: Sequence[Segment]) -> Postings:
    """The live passages of ``segments``, in order: the filter arrays, and the maps to score them by."""
    ids: list[str] = []
    outlets, published, events, lengths, positions = [], [], [], [], []
    row = 0
    for segment, keep in zip(segments, live_rows(segments), strict=True):
        position = np.where(keep, np.cumsum(keep) - 1 + row, -1)
        positions.append(position)
        ids += compress(segment.ids, keep)
        outlets.append(segment.outlet_array[keep])
        published.append(segment.published[keep])
        lengths.append(segment.lengths[keep])
        alive = keep[segment.events[:, 0]] if len(segment.events) else np.zeros(0, dtype=bool)
        events.append(np.column_stack([position[segment.events[alive, 0]], segment.events[alive, 1:]]).astype(np.int32)
                      if alive.any() else np.zeros((0, 3), dtype=np.int32))
        row += int(keep.sum())
    return Postings(ids=ids, outlets=np.concatenate(outlets) if outlets else np.zeros(0, dtype=str),
                    published=np.concatenate(published) if published else np.zeros(0, dtype=np.int32),
                    events=np.concatenate(events) if events else np.zeros((0, 3), dtype=np.int32),
                    lengths=np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.float32),
                    segments=list(segments), positions=positions)


def _stack(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rows: int, terms: int) -> sparse.csr_matrix:
    """Row blocks (data, term ids, indptr) over the shared vocabulary, as one docs x terms matrix."""
    if not parts:
        return sparse.csr_matrix((rows, terms), dtype=np.float32)
    blocks = [sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, terms))
              for data, indices, indptr in parts]
    return sparse.vstack(blocks, format="csr")


def merged(segments: Sequence[Segment]) -> Segment:
    """One segment with the live passages of all (no deletions left to apply): fewer files to load, and the
    counts added up over one vocabulary without tokenising again."""
    view, vocab, parts = assemble(segments), {}, []
    for segment, position in zip(segments, view.positions, strict=True):
        keep = position >= 0
        remap = np.asarray([vocab.setdefault(term, len(vocab)) for term in segment.vocab], dtype=np.int32)
        kept = segment.counts[keep]
        parts.append((kept.data, remap[kept.indices] if len(remap) else kept.indices, kept.indptr))
    return Segment(ids=view.ids, outlets=view.outlets.tolist(), published=view.published, events=view.events,
                   counts=_stack(parts, len(view.ids), len(vocab)), vocab=list(vocab), deleted=[])
