"""The watched sources of an index and their schedule, kept with the index in ``watch.json``.

Each source carries what a restart needs to carry on where it left off: when it was last checked
and with what outcome, when it runs next, how many times in a row it failed (its own backoff) and
the validators of its last download (an ETag, a Last-Modified date, or for files the sizes and times
of what was read). Edits are read-modify-write under a file lock and land by atomic rename, so the
UI, the CLI and a running watcher can all change the list without losing each other's changes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag.index.writer import holder, own

FILE = "watch.json"
MAX_BACKOFF = 6 * 3600.0  # a failing source is retried at least this often (or at its own interval, if longer)
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """"30s", "15m", "2h" or "1d" as seconds; a message naming the value when it is none of those."""
    match = _EVERY.match(text or "")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0.0
    if seconds < 1:
        raise ValueError(f"interval {text!r} is not valid: give a number and a unit, like 30s, 15m, 2h or 1d")
    return seconds


def now() -> datetime:
    """The current time in UTC, to the second (what the state file records)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Watched:
    """One watched source: what to read and how often, and how its last check went."""

    source: str  # a URL, or an absolute path to a file or folder
    every: float  # seconds between checks
    prune: bool = False  # drop articles the source no longer has
    last_check: str = ""  # ISO time, UTC
    outcome: str = ""  # what the last check did, as a person reads it
    ok: bool = True
    failures: int = 0  # failed checks in a row: each doubles the wait, up to MAX_BACKOFF
    next_run: str = ""  # ISO time, UTC; empty means now
    etag: str = ""
    last_modified: str = ""
    fingerprint: str = ""  # files: what was read last time, to skip an unchanged folder unread

    def due(self, at: datetime) -> bool:
        """Whether its next check is at or before ``at``."""
        return not self.next_run or datetime.fromisoformat(self.next_run) <= at

    def finished(self, at: datetime, outcome: str, ok: bool) -> None:
        """Record a check and schedule the next: the interval after success, a doubling backoff after failures."""
        self.last_check, self.outcome, self.ok = at.isoformat(), outcome, ok
        self.failures = 0 if ok else self.failures + 1
        wait = self.every if ok else min(self.every * 2**self.failures, max(self.every, MAX_BACKOFF))
        self.next_run = (at + timedelta(seconds=wait)).isoformat()

    def took(self, checked: Watched) -> None:
        """Take the outcome of a check made on a copy; the interval and pruning stay as edited meanwhile."""
        for name in ("last_check", "outcome", "ok", "failures", "next_run", "etag", "last_modified", "fingerprint"):
            setattr(self, name, getattr(checked, name))


class WatchList:
    """The watched sources of one index folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / FILE

    def load(self) -> dict[str, Watched]:
        """Every watched source by its key; none when the file is missing (an unreadable one is an error)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the watched sources in {self.path} ({exc}); fix or delete the file") from exc
        known = {f.name for f in fields(Watched)}
        return {item["source"]: Watched(**{k: v for k, v in item.items() if k in known}) for item in raw["sources"]}

    @contextmanager
    def editing(self) -> Iterator[dict[str, Watched]]:
        """The list to change in place, saved atomically on leaving; other editors wait their turn."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f".{FILE}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            items = self.load()
            yield items
            partial = self.path.with_suffix(".json.part")
            partial.write_text(json.dumps({"sources": [asdict(w) for w in items.values()]}, indent=1),
                               encoding="utf-8")
            os.replace(partial, self.path)

    def add(self, source: str, every: float, prune: bool = False) -> Watched:
        """Watch a source (again): a new one is due now; one already watched keeps its history."""
        with self.editing() as items:
            item = items.get(source) or Watched(source, every)
            item.every, item.prune = every, prune
            items[source] = item
            return item

    def remove(self, source: str) -> bool:
        """Stop watching a source; False when it was not watched."""
        with self.editing() as items:
            return items.pop(source, None) is not None


@contextmanager
def sole_watcher(folder: Path) -> Iterator[None]:
    """Held for as long as a watcher runs on an index: a second one would fetch and write everything twice."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".watcher.lock", "a+") as lock:
        if (pid := holder(lock)) is not None:
            raise AlreadyWatched(f"another process (pid {pid}) already watches the sources of {folder}; stop it "
                                 "first, or add sources to it from its UI or `newsrag watch`")
        own(lock)
        yield


class AlreadyWatched(RuntimeError):
    """A watcher already runs on this index, in another process."""
