"""Keeping an index current: poll watched feeds, pages and folders on their schedule and ingest what changed.

A check costs as little as the source allows. A URL is fetched conditionally (ETag, Last-Modified), so
a 304 costs no parsing; a file or folder is read only when a file's size or time changed. What did
change goes through the ordinary ingest, which skips unchanged articles by hash and replaces updated
ones. The validators are kept only after a check that read everything, so an entry whose page failed
is tried again next time. A source that fails backs off on its own (``Watched.finished``); the others
keep their schedule. Writes take the Engine's ingest lock, which the UI's uploads take too.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from copy import copy
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rag.ingest.ingest import Report, ingest, source_key
from rag.ingest.sources import iter_files, read_fetched, read_sources
from rag.ingest.sources.web import FetchError, fetch
from rag.ingest.watchlist import Watched, WatchList, now, sole_watcher
from rag.types import Failure

if TYPE_CHECKING:
    from rag.engine import Engine

log = logging.getLogger(__name__)
IDLE_CHECK = 2.0  # seconds between looks at the list while nothing is due: sources added elsewhere start soon


class SourceFailed(Exception):
    """A check that read nothing: the source is down, refused, or not news."""


def is_url(source: str) -> bool:
    """Whether a watched source is fetched over HTTP (else it is a local file or folder)."""
    return source.startswith(("http://", "https://"))


def watch_key(source: str) -> str:
    """How a source is stored: the URL as given, or the absolute path (the key pruning matches on)."""
    return source.strip() if is_url(source.strip()) else source_key(source.strip())


def check(item: Watched, engine: Engine, index: str | None = None, progress: bool = False) -> Watched:
    """Check one source now and ingest what changed; returns a copy of ``item`` with the outcome."""
    checked = copy(item)
    try:
        report = _check_url(checked, engine, index, progress) if is_url(item.source) else \
            _check_path(checked, engine, index, progress)
    except (SourceFailed, FetchError) as exc:
        checked.finished(now(), f"failed: {exc}", ok=False)
        return checked
    checked.finished(now(), "not modified" if report is None else _outcome(report), ok=True)
    return checked


def _check_url(item: Watched, engine: Engine, index: str | None, progress: bool) -> Report | None:
    settings = engine.for_index(index)
    fetched = fetch(item.source, settings, item.etag, item.last_modified)
    if fetched.not_modified:
        return None
    items = list(read_fetched(fetched, item.source, settings))
    report = _ingest(item, items, engine, index, progress)
    item.etag, item.last_modified = (fetched.etag, fetched.last_modified) if report.ok else ("", "")
    return report


def _check_path(item: Watched, engine: Engine, index: str | None, progress: bool) -> Report | None:
    if not Path(item.source).exists():
        raise SourceFailed(f"{item.source} does not exist any more; restore it or stop watching it")
    fingerprint = _fingerprint(Path(item.source))
    if fingerprint == item.fingerprint:
        return None
    items = list(read_sources(item.source, engine.for_index(index)))
    report = _ingest(item, items, engine, index, progress)
    item.fingerprint = fingerprint if report.ok else ""
    return report


def _ingest(item: Watched, items: list, engine: Engine, index: str | None, progress: bool) -> Report:
    """Ingest what a check read, through the ordinary pipeline; nothing read at all is a failed check."""
    if items and all(isinstance(i, Failure) for i in items):
        raise SourceFailed(items[0].reason)
    engine.index(index, create=True)  # created before the ingest: the watched list lives in the index folder
    return ingest([item.source], engine, prune=item.prune, progress=progress, index=index,
                  reader=lambda _target, _settings: items)


def _fingerprint(path: Path) -> str:
    """Names, sizes and modification times of the files under ``path``: any edit changes it."""
    digest = hashlib.sha256()
    for found in iter_files(path) if path.is_dir() else [path]:
        if isinstance(found, Path):
            stat = found.stat()
            digest.update(f"{found}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _outcome(report: Report) -> str:
    """The ingest's one-line summary, and the first failure when some items failed."""
    line = report.summary(limit=0).splitlines()[0]
    return f"{line}; first failure: {report.failed[0].origin}: {report.failed[0].reason}" if report.failed else line


class Watcher:
    """Checks an index's watched sources when due, one at a time, for as long as it runs."""

    def __init__(self, engine: Engine, index: str | None = None, say: Callable[[str], None] = print,
                 progress: bool = False) -> None:
        self.engine, self.index, self.say, self.progress = engine, index, say, progress
        self.folder = engine.for_index(index).index_dir
        self.watchlist = WatchList(self.folder)

    def run(self, stop: threading.Event, once: bool = False) -> None:
        """Check due sources until ``stop`` is set (``once``: check every source now, then return).

        Only one watcher runs per index (``sole_watcher``); the list is re-read each round, so sources
        added or removed by the UI or another command are picked up without a restart.
        """
        while not once and not stop.is_set() and not self.watchlist.load():
            stop.wait(IDLE_CHECK)  # nothing watched yet (a server's UI may add some): no lock, no folder
        with sole_watcher(self.folder):
            while not stop.is_set():
                items = self.watchlist.load().values()
                due = [w for w in items if once or w.due(now())]
                for item in due:
                    if stop.is_set():
                        return
                    self.check(item)
                if once:
                    return
                stop.wait(self._pause())

    def check(self, item: Watched) -> Watched:
        """Check one source under the ingest lock and record the outcome, unless it was unwatched meanwhile."""
        with self.engine.ingest_lock:
            try:
                checked = check(item, self.engine, self.index, self.progress)
            except Exception as exc:  # noqa: BLE001 - one source's fault (a full disk, a bad page) must not stop the rest
                log.exception("checking %s failed", item.source)
                checked = copy(item)
                checked.finished(now(), f"failed: {type(exc).__name__}: {exc}", ok=False)
        with self.watchlist.editing() as items:
            if item.source in items:
                items[item.source].took(checked)
        self.say(f"{checked.last_check} {item.source}: {checked.outcome} (next check {checked.next_run})")
        return checked

    def _pause(self) -> float:
        """Seconds until the next source is due, at most ``IDLE_CHECK``."""
        runs = [w.next_run for w in self.watchlist.load().values() if w.next_run]
        if not runs:
            return IDLE_CHECK
        wait = (min(datetime.fromisoformat(r) for r in runs) - now()).total_seconds()
        return max(0.0, min(wait, IDLE_CHECK))
