"""read -> hash/skip -> chunk -> embed -> upsert, with progress and a summary.

Order matters for safety: a changed article's new chunks are written before its old
ones are removed (it is always searchable), and pruning happens last (a run killed
at any point loses nothing and the next run finishes the job).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from rag.config import Settings
from rag.index import DocState, Index, index_exists
from rag.index.writer import sole_writer
from rag.ingest.chunking import chunk_article
from rag.ingest.overlap import in_background
from rag.ingest.sources import read_sources
from rag.types import Article, Chunk, Failure

if TYPE_CHECKING:
    import numpy as np

    from rag.engine import Engine

Reader = Callable[[str, Settings], Iterable[Article | Failure]]
Chunked = tuple[Article, str, list[Chunk]]  # an article, its source, its passages


@dataclass
class Report:
    """What an ingest did, item by item, for the summary and the exit code."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (skipped, kept)
    failed: list[Failure] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """False when any item failed: the exit code says so."""
        return not self.failed

    def summary(self, limit: int | None = 10) -> str:
        """The lines a person reads after an ingest; at most ``limit`` of each kind of detail."""
        lines = [
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"duplicates skipped {len(self.duplicates)}, pruned {len(self.pruned)}, failed {len(self.failed)} "
            f"({self.chunks} passages embedded in {self.seconds:.1f}s)"
        ]
        lines += _capped([f"  duplicate: {skipped} has the same text as {kept}" for skipped, kept in self.duplicates],
                         limit, "duplicates")
        lines += _capped([f"  warning: {w}" for w in self.warnings], limit, "warnings")
        lines += _capped([f"  FAILED: {f.origin}: {f.reason}" for f in self.failed], limit, "failures")
        return "\n".join(lines)


def _capped(lines: list[str], limit: int | None, what: str) -> list[str]:
    """The first ``limit`` lines and a count of the rest (all of them with --verbose)."""
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], f"  ... and {len(lines) - limit} more {what} (--verbose lists them all)"]


def source_key(target: str) -> str:
    """Where a document came from, as stored: pruning removes what a source no longer has."""
    if target.startswith(("http://", "https://")):
        return target
    return Path(target).resolve().as_posix()


def ingest(targets: Sequence[str], engine: Engine, *, prune: bool = False, progress: bool = True,
           index: str | None = None, reader: Reader = read_sources) -> Report:
    """Bring the index in line with ``targets``; never duplicates, never half-writes.

    ``reader`` turns a target into articles; a watcher that already downloaded a feed passes one that
    reads those bytes instead of fetching them again.
    """
    settings = engine.for_index(index)
    with sole_writer(settings.index_dir):  # another process's ingest into this index finishes first
        return _ingest(targets, engine, settings, prune=prune, progress=progress, index=index, reader=reader)


def _ingest(targets: Sequence[str], engine: Engine, settings: Settings, *, prune: bool, progress: bool,
            index: str | None, reader: Reader) -> Report:
    started = time.perf_counter()
    report = Report()
    existed = index_exists(settings)
    store = engine.index(index, create=True)
    states = store.doc_states()
    sorter = _Sorter(targets, states, report, prune)
    with tqdm(total=0, desc="embedding", unit=" passages", disable=not progress) as bar:
        made = _groups(_to_write(targets, settings, sorter, progress, reader), settings, engine, bar)
        with closing(in_background(made)) as groups:  # the next groups are read and chunked while one embeds
            first = next(groups, None)
            with store.writing(changes=first is not None or bool(sorter.stale)):  # keyword side follows, once
                report.chunks = _write(chain([first], groups) if first else [], store, engine, bar, states)
                store.delete_docs(sorter.stale)
    report.pruned = sorted(sorter.stale)
    report.seconds = time.perf_counter() - started
    if not existed and not report.added:  # an index this run created for nothing is not left behind
        engine.delete_index(index)
    return report


def _to_write(targets: Sequence[str], settings: Settings, sorter: _Sorter, progress: bool,
              reader: Reader) -> Iterator[tuple[Article, str]]:
    """Articles to write, with their source, as they are read; then those that had to wait for the end."""
    for target in targets:
        source = source_key(target)
        items = tqdm(reader(target, settings), desc=f"reading {target}", unit=" items",
                     disable=not progress, leave=False)
        for item in items:
            if isinstance(item, Failure):
                sorter.report.failed.append(item)
            elif sorter.take(item, source):
                yield item, source
    yield from sorter.finish()


class _Sorter:
    """Sorts articles, one by one as they are read, into unchanged, duplicate, added or updated.

    With ``prune``, a document a re-read source no longer has is removed, and an article whose text
    equals such a document's is not its duplicate (it replaces it). Which documents those are is
    known only once every target is read, so an article that may be one waits for ``finish``.
    """

    def __init__(self, targets: Sequence[str], states: dict[str, DocState], report: Report, prune: bool) -> None:
        self.targets, self.states, self.report = targets, states, report
        self.pruning = {source_key(t) for t in targets} if prune else set()
        self.by_content = {st.content_key: doc for doc, st in states.items()}
        self.seen: set[str] = set()
        self.productive: set[str] = set()
        self.waiting: list[tuple[Article, str]] = []
        self.stale: set[str] = set()

    def take(self, article: Article, source: str) -> bool:
        """Whether to write the article now; one that may replace a pruned document waits."""
        self.productive.add(source)
        kept = self.by_content.get(article.content_key)
        if (article.doc_id not in self.seen and kept not in (None, article.doc_id) and kept not in self.seen
                and self.states[kept].source in self.pruning):
            self.seen.add(article.doc_id)
            self.waiting.append((article, source))
            return False
        return self._classify(article, repeat=article.doc_id in self.seen)

    def finish(self) -> list[tuple[Article, str]]:
        """Once all is read: the documents to prune, and which waiting articles to write."""
        if self.pruning:
            self.stale = _stale_docs(self.targets, self.seen, self.productive, self.states, self.report)
        for doc in self.stale:
            self.by_content.pop(self.states[doc].content_key, None)
        return [(a, s) for a, s in self.waiting if self._classify(a, repeat=False)]

    def _classify(self, article: Article, repeat: bool) -> bool:
        state, kept = self.states.get(article.doc_id), self.by_content.get(article.content_key)
        self.seen.add(article.doc_id)
        if repeat:
            self.report.duplicates.append((article.origin, article.doc_id))
        elif state is not None and state.complete(article.version):
            self.report.unchanged.append(article.doc_id)
        elif kept is not None and kept != article.doc_id:
            self.report.duplicates.append((article.doc_id, kept))
        else:
            (self.report.updated if state is not None else self.report.added).append(article.doc_id)
            self.report.warnings += _warnings(article)
            self.by_content[article.content_key] = article.doc_id
            return True
        return False


def _stale_docs(targets: Sequence[str], seen: set[str], productive: set[str], states: dict[str, DocState],
                report: Report) -> set[str]:
    """Documents a re-read source no longer has; a source that gave nothing prunes nothing."""
    failed_origins = {f.origin for f in report.failed}
    stale = set()
    for target in targets:
        source = source_key(target)
        if source not in productive:
            report.warnings.append(f"{target} gave no articles: nothing pruned from it")
            continue
        stale |= {doc for doc, st in states.items()
                  if st.source == source and doc not in seen and st.origin not in failed_origins}
    return stale


def _warnings(article: Article) -> list[str]:
    """Problems that do not stop an article from being indexed, but that a person should know."""
    notes = []
    if article.published is None:
        notes.append(f"{article.origin}: no publication date found; date filters will not match it")
    if not article.title:
        notes.append(f"{article.origin}: no headline found; its first words stand in for one")
    return notes


def _groups(articles: Iterable[tuple[Article, str]], settings: Settings, engine: Engine,
            bar: tqdm) -> Iterator[list[Chunked]]:
    """Whole articles chunked, about ``write_batch`` passages a group: bounded memory, frequent commits.

    The bar's total grows as passages are chunked, so it shows how far embedding lags behind reading.
    """
    tokenizer, group, size = engine.tokenizer(), [], 0
    for article, source in articles:
        chunks = chunk_article(article, settings.ingest.chunk_size, settings.ingest.chunk_overlap, tokenizer)
        group.append((article, source, chunks))
        size += len(chunks)
        with bar.get_lock():
            bar.total += len(chunks)
        if size >= settings.ingest.write_batch:
            yield group
            group, size = [], 0
    if group:
        yield group


def _write(groups: Iterable[list[Chunked]], store: Index, engine: Engine, bar: tqdm,
           states: dict[str, DocState]) -> int:
    """Embed each group while the one before is written (Chroma's upsert and the encoder overlap).

    At most one group waits to be written, and a write's error is raised before the next is queued.
    An updated document keeps the time it was first written (from its ``states``); a new one has none yet.
    """
    first = {doc: state.first_ingested for doc, state in states.items()}
    embedder, total = engine.embedder(), 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
        stored: Future | None = None
        for group in groups:
            chunks = [c for _, _, cs in group for c in cs]
            vectors = embedder.embed([c.embed_text for c in chunks]) if chunks else None
            if stored is not None:
                stored.result()
            stored = writer.submit(_store, group, chunks, vectors, store, first, bar)
            total += len(chunks)
        if stored is not None:
            stored.result()
    return total


def _store(group: list[Chunked], chunks: list[Chunk], vectors: np.ndarray | None, store: Index,
           first: dict[str, str | None], bar: tqdm) -> None:
    """Write one group's passages, then drop its articles' old versions (in that order: always searchable)."""
    sources = [s for _, s, cs in group for _ in cs]
    firsts = [first.get(a.doc_id) for a, _, cs in group for _ in cs]
    if vectors is not None:
        store.upsert(chunks, vectors, sources, firsts)
    for article, _, _ in group:
        store.drop_other_versions(article.doc_id, article.version)
    bar.update(len(chunks))
