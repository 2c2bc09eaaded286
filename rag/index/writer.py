"""One writer per index, across processes: an ingest, a watcher's check and a removal take turns.

Two ingests into one index at once would each read the index's state, then write and rebuild the
keyword side from what they saw: duplicates, lost prunes and a keyword side out of step. A lock on
a file in the index folder (released by the kernel when its process dies, even by SIGKILL) makes
the second one wait, saying for whom.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)
LOCK = ".writer.lock"


@contextmanager
def sole_writer(folder: Path) -> Iterator[None]:
    """Held while one process reads and writes the index in ``folder``; another waits its turn."""
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = open(folder / LOCK, "a+")  # noqa: SIM115 - closed by the with below
        except OSError:  # a read-only index: nothing can write it, and its own error says which index and why
            yield
            return
        with lock:
            _take(lock, folder)
            if _still_there(lock, folder / LOCK):
                own(lock)
                try:
                    yield
                finally:
                    _tidy(folder)
                return
        # the index was deleted (an ingest that added nothing) while we waited: lock its new folder


def holder(lock: IO[str]) -> str | None:
    """Take ``lock`` (a file opened "a+") if it is free: None; else the pid its holder wrote, so a message
    can say who holds it. The kernel frees it when the holder exits, even by SIGKILL."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        return lock.read().strip() or "?"
    return None


def own(lock: IO[str]) -> None:
    """Write this process's pid into a lock it holds, for the messages of those who wait."""
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()


def _take(lock: IO[str], folder: Path) -> None:
    if (pid := holder(lock)) is not None:
        log.warning("waiting for another process (pid %s) to finish writing to %s", pid, folder)
        fcntl.flock(lock, fcntl.LOCK_EX)


def _still_there(lock: IO[str], path: Path) -> bool:
    """Whether the locked file is still the one at ``path`` (not removed with its folder meanwhile)."""
    try:
        return os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino
    except FileNotFoundError:
        return False


def _tidy(folder: Path) -> None:
    """Remove a folder that holds nothing but the lock: a write that created no index leaves none behind."""
    try:
        if [p.name for p in folder.iterdir()] == [LOCK]:
            (folder / LOCK).unlink()
            folder.rmdir()
    except OSError:
        pass  # another process is creating it now, or it is already gone
