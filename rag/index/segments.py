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

    @classmethod
    def load(cls, path: Path) -> Segment:
        """A segment written by ``save``."""
        rows = json.loads((path / "rows.json").read_text())
        with np.load(path / "arrays.npz") as arrays:
            counts = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                       shape=(len(rows["ids"]), len(rows["vocab"])))
            return cls(ids=rows["ids"], outlets=rows["outlets"], published=arrays["published"],
                       events=arrays["events"], counts=counts, vocab=rows["vocab"], deleted=rows["deleted"])


@dataclass
class Postings:
    """Live passages of several segments in one term-major matrix, ready to score."""

    ids: list[str]
    outlets: np.ndarray
    published: np.ndarray
    events: np.ndarray
    counts: sparse.csc_matrix  # docs x terms, column-major: a term's postings are contiguous
    vocab: dict[str, int]
    lengths: np.ndarray  # tokens per passage

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 of every passage for the query terms (repeated terms count again, as in bm25s)."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        n, average = len(self.ids), float(self.lengths.mean()) if len(self.ids) else 1.0
        for term in terms:
            column = self.vocab.get(term)
            if column is None:
                continue
            lo, hi = self.counts.indptr[column], self.counts.indptr[column + 1]
            if hi == lo:
                continue
            rows, tf = self.counts.indices[lo:hi], self.counts.data[lo:hi]
            idf = np.log(1 + (n - (hi - lo) + 0.5) / ((hi - lo) + 0.5))
            total[rows] += idf * tf / (K1 * ((1 - B) + B * self.lengths[rows] / average) + tf)
        return total


def live_rows(segments: Sequence[Segment]) -> list[np.ndarray]:
    """Per segment, which rows are live: not deleted (or replaced) by a later segment."""
    later: set[str] = set()
    keep: list[np.ndarray] = []
    for segment in reversed(segments):
        keep.append(np.fromiter((cid not in later for cid in segment.ids), dtype=bool, count=len(segment.ids)))
        later.update(segment.deleted)
    return keep[::-1]


def assemble(segments: Sequence[Segment]) -> Postings:
    """The live passages of ``segments``, in order, over one vocabulary."""
    vocab: dict[str, int] = {}
    parts, ids, outlets, published, events = [], [], [], [], []
    row = 0
    for segment, keep in zip(segments, live_rows(segments), strict=True):
        remap = np.asarray([vocab.setdefault(term, len(vocab)) for term in segment.vocab], dtype=np.int32)
        kept = segment.counts[keep]
        parts.append((kept.data, remap[kept.indices] if len(remap) else kept.indices, kept.indptr))
        ids += [cid for cid, k in zip(segment.ids, keep, strict=True) if k]
        outlets += [o for o, k in zip(segment.outlets, keep, strict=True) if k]
        published.append(segment.published[keep])
        new_row = np.cumsum(keep) - 1 + row  # where each kept row lands
        event_rows = segment.events[:, 0] if len(segment.events) else np.zeros(0, dtype=np.int64)
        alive = keep[event_rows] if len(event_rows) else np.zeros(0, dtype=bool)
        events.append(np.column_stack([new_row[event_rows[alive]], segment.events[alive, 1:]]).astype(np.int32)
                      if alive.any() else np.zeros((0, 3), dtype=np.int32))
        row += int(keep.sum())
    counts = _stack(parts, row, len(vocab))
    return Postings(ids=ids, outlets=np.asarray(outlets, dtype=str), counts=counts.tocsc(), vocab=vocab,
                    published=np.concatenate(published) if published else np.zeros(0, dtype=np.int32),
                    events=np.concatenate(events) if events else np.zeros((0, 3), dtype=np.int32),
                    lengths=np.asarray(counts.sum(axis=1)).ravel().astype(np.float32))


def _stack(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rows: int, terms: int) -> sparse.csr_matrix:
    """Row blocks (data, term ids, indptr) over the shared vocabulary, as one docs x terms matrix."""
    if not parts:
        return sparse.csr_matrix((rows, terms), dtype=np.float32)
    blocks = [sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, terms))
              for data, indices, indptr in parts]
    return sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((rows, terms), dtype=np.float32)


def merged(segments: Sequence[Segment]) -> Segment:
    """One segment with the live passages of all (no deletions left to apply): fewer files to load."""
    postings = assemble(segments)
    terms = sorted(postings.vocab, key=postings.vocab.__getitem__)
    return Segment(ids=postings.ids, outlets=postings.outlets.tolist(), published=postings.published,
                   events=postings.events, counts=postings.counts.tocsr(), vocab=terms, deleted=[])
