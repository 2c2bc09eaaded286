"""read -> hash/skip -> chunk -> embed -> upsert, with progress and a summary.

Order matters for safety: a changed article's new chunks are written before its old
ones are removed (it is always searchable), and pruning happens last (a run killed
at any point loses nothing and the next run finishes the job).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from rag.config import Settings
from rag.index import DocState, Index, index_exists
from rag.index.writer import sole_writer
from rag.ingest.chunking import chunk_article
from rag.ingest.sources import read_sources
from rag.types import Article, Chunk, Failure

if TYPE_CHECKING:
    from rag.engine import Engine

Reader = Callable[[str, Settings], Iterable[Article | Failure]]


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
    articles = _read(targets, settings, report, progress, reader)
    states = store.doc_states()
    stale = _stale_docs(targets, articles, states, report) if prune else set()
    pending = _classify(articles, {k: v for k, v in states.items() if k not in stale}, report)
    with store.writing(changes=bool(pending or stale)):  # the keyword side follows Chroma, rebuilt once
        report.chunks = _write(pending, store, engine, progress, states)
        store.delete_docs(stale)
    report.pruned = sorted(stale)
    report.seconds = time.perf_counter() - started
    if not existed and not report.added:  # an index this run created for nothing is not left behind
        engine.delete_index(index)
    return report


def _read(
    targets: Sequence[str], settings: Settings, report: Report, progress: bool, reader: Reader
) -> list[tuple[Article, str]]:
    """Read every target; failures go to the report, articles come back with their source."""
    articles: list[tuple[Article, str]] = []
    for target in targets:
        source = source_key(target)
        items = tqdm(reader(target, settings), desc=f"reading {target}", unit=" items",
                     disable=not progress, leave=False)
        for item in items:
            if isinstance(item, Failure):
                report.failed.append(item)
            else:
                articles.append((item, source))
    return articles


def _stale_docs(
    targets: Sequence[str], articles: list[tuple[Article, str]], states: dict[str, DocState], report: Report
) -> set[str]:
    """Documents a re-read source no longer has; a source that gave nothing prunes nothing."""
    seen = {a.doc_id for a, _ in articles}
    failed_origins = {f.origin for f in report.failed}
    productive = {source for _, source in articles}
    stale = set()
    for target in targets:
        source = source_key(target)
        if source not in productive:
            report.warnings.append(f"{target} gave no articles: nothing pruned from it")
            continue
        stale |= {doc for doc, st in states.items()
                  if st.source == source and doc not in seen and st.origin not in failed_origins}
    return stale


def _classify(
    articles: list[tuple[Article, str]], states: dict[str, DocState], report: Report
) -> list[tuple[Article, str]]:
    """Sort articles into unchanged, duplicate, added or updated; return those to write."""
    by_content = {st.content_key: doc for doc, st in states.items()}
    done: set[str] = set()
    pending = []
    for article, source in articles:
        state = states.get(article.doc_id)
        kept = by_content.get(article.content_key)
        if article.doc_id in done:
            report.duplicates.append((article.origin, article.doc_id))
        elif state is not None and state.complete(article.version):
            report.unchanged.append(article.doc_id)
        elif kept is not None and kept != article.doc_id:
            report.duplicates.append((article.doc_id, kept))
        else:
            (report.updated if state is not None else report.added).append(article.doc_id)
            report.warnings += _warnings(article)
            by_content[article.content_key] = article.doc_id
            pending.append((article, source))
        done.add(article.doc_id)
    return pending


def _warnings(article: Article) -> list[str]:
    """Problems that do not stop an article from being indexed, but that a person should know."""
    notes = []
    if article.published is None:
        notes.append(f"{article.origin}: no publication date found; date filters will not match it")
    if not article.title:
        notes.append(f"{article.origin}: no headline found; its first words stand in for one")
    return notes


def _write(pending: list[tuple[Article, str]], store: Index, engine: Engine, progress: bool,
           states: dict[str, DocState] | None = None) -> int:
    """Chunk, embed and upsert in groups of whole articles; then drop their old versions.

    An updated document keeps the time it was first written (from its ``states``); a new one has none yet.
    """
    first = {doc: state.first_ingested for doc, state in (states or {}).items()}
    settings, embedder, tokenizer = engine.settings.ingest, engine.embedder(), engine.tokenizer()
    chunked = [(a, s, chunk_article(a, settings.chunk_size, settings.chunk_overlap, tokenizer)) for a, s in pending]
    total = sum(len(chunks) for _, _, chunks in chunked)
    with tqdm(total=total, desc="embedding", unit=" passages", disable=not progress) as bar:
        for group in _groups(chunked, settings.write_batch):
            chunks = [c for _, _, cs in group for c in cs]
            sources = [s for _, s, cs in group for _ in cs]
            firsts = [first.get(a.doc_id) for a, _, cs in group for _ in cs]
            if chunks:
                store.upsert(chunks, embedder.embed([c.embed_text for c in chunks]), sources, firsts)
            for article, _, _ in group:
                store.drop_other_versions(article.doc_id, article.version)
            bar.update(len(chunks))
    return total


def _groups(
    chunked: list[tuple[Article, str, list[Chunk]]], size_goal: int
) -> list[list[tuple[Article, str, list[Chunk]]]]:
    """Whole articles per group, about ``size_goal`` passages each: bounded memory, frequent commits."""
    groups: list[list[tuple[Article, str, list[Chunk]]]] = [[]]
    size = 0
    for item in chunked:
        if size >= size_goal:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item[2])
    return groups
