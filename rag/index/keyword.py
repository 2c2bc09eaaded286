"""The BM25 keyword index beside Chroma: rare names and exact terms that embeddings blur.

It lives in ``<index>/keyword/`` as immutable segments (``s-<stamp>/``, see ``rag.index.segments``) and
generations (``g-<stamp>.json``, the segments that make up the index, in order); a ``CURRENT`` file names
the live generation. An ingest that writes adds one segment (its passages, and the ids it deleted or
replaced) and a generation naming it after the others, swapped in by one atomic rename, so readers
never see half an index and a write costs what it wrote, not the whole index. Past ``MAX_SEGMENTS``
the segments are merged into one by adding up their counts (nothing is tokenised again).

Chroma stays the single source of truth. Every ingest that writes changes a revision token in the
collection's metadata, before its first write and after its last. On a Chroma server shared by
several processes (or machines), each keeps its own keyword index in its own index folder; a process
whose generation was made from another revision catches up on its next query by the ids that differ:
it lists the collection's ids, reads only the passages it lacks and deletes those gone (an embedded
store's readers share the folder, so they just load the new generation's new segments). While an
ingest writes, a ``STALE`` marker names its process; a marker whose process is gone means a killed
run, and the next query catches up the same way (a run that failed marks it abandoned, with the same
effect). A passage count different from Chroma's (with no ingest running) means the same. Only a
missing or unreadable keyword side is built anew from the whole collection.

These are the keyword side's files and rules; ``rag.index.Index`` holds the loaded generation and
decides when to catch up.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.index.lexical import KeywordIndex, tokenizer
from rag.index.schema import to_hit
from rag.index.segments import Row, Segment, assemble, merged

if TYPE_CHECKING:
    from rag.index.chroma import Chroma

log = logging.getLogger(__name__)

FOLDER = "keyword"
CURRENT = "CURRENT"
STALE = "STALE"
MAX_SEGMENTS = 8  # a generation with more is merged into one: loading stays a few files
Segments = dict[str, "Segment"]  # loaded segments by name, reused across generations


def folder_of(index_dir: Path) -> Path:
    """Where an index's keyword builds live."""
    return index_dir / FOLDER


def current_stamp(folder: Path) -> str | None:
    """The live build's name, or None when no build was ever swapped in."""
    try:
        return (folder / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _records(chroma: Chroma, ids: list[str] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """Every passage of the collection (or those of ``ids``, a page at a time), with its metadata."""
    if ids is None:
        pages = chroma.pages(["documents", "metadatas"])
    else:
        pages = (chroma.records(ids[i : i + 5000]) for i in range(0, len(ids), 5000))
    return [row for page in pages for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]


def row_of(chunk_id: str, document: str, meta: dict[str, Any]) -> Row:
    """A stored passage as the keyword side keeps it: headline and text, filter fields, event spans."""
    events = tuple((int(f"{a:%Y%m%d}"), int(f"{b:%Y%m%d}")) for a, b in to_hit(chunk_id, document, meta).events)
    return Row(chunk_id, f"{meta.get('title') or ''}\n{document}", int(meta.get("published_int") or 0),
               str(meta.get("outlet") or ""), events)


def _generation(folder: Path, stamp: str) -> dict[str, Any]:
    return json.loads((folder / f"{stamp}.json").read_text())


def _new_stamp() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def _save_segment(folder: Path, segment: Segment) -> str:
    """Write a segment aside and rename it into place: a half-written one is never named by a generation."""
    name = f"s-{_new_stamp()}"
    tmp = folder / f".tmp-{name}"
    segment.save(tmp)
    os.rename(tmp, folder / name)
    return name


def _publish(folder: Path, segments: list[str], revision: str, cache: Segments) -> KeywordIndex:
    """Name a new generation (its segments, in order) as the live one, atomically; sweep the old."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = current_stamp(folder)
    stamp = f"g-{_new_stamp()}"
    _write_atomic(folder / f"{stamp}.json", json.dumps({"segments": segments, "revision": revision}))
    _write_atomic(folder / CURRENT, stamp + "\n")
    _sweep(folder, stamp, previous)
    return load_build(folder, stamp, cache)


def _sweep(folder: Path, stamp: str, previous: str | None) -> None:
    """Remove generations and segments neither the live generation nor the one before uses (readers may
    still be loading that one); an old single-build folder goes the same way."""
    keep = {stamp, previous}
    names = {name for gen in keep if gen and (folder / f"{gen}.json").exists()
             for name in _generation(folder, gen)["segments"]}
    hour_ago = time.time() - 3600
    for path in folder.iterdir():
        if path.name in (CURRENT, STALE) or path.stem in keep or path.name in names:
            continue
        if path.name.startswith(".tmp-") and path.stat().st_mtime >= hour_ago:
            continue  # another process is writing it now
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def load_build(folder: Path, stamp: str, cache: Segments | None = None) -> KeywordIndex:
    """One generation read from disk; segments already in ``cache`` are not read again."""
    generation = _generation(folder, stamp)
    cache = {} if cache is None else cache
    segments = []
    for name in generation["segments"]:
        if name not in cache:
            cache[name] = Segment.load(folder / name)
        segments.append(cache[name])
    for name in set(cache) - set(generation["segments"]):
        del cache[name]
    postings = assemble(segments)
    return KeywordIndex(stamp=stamp, ids=postings.ids, published=postings.published, outlets=postings.outlets,
                        events=postings.events, postings=postings, revision=generation.get("revision", ""))


def build(folder: Path, chroma: Chroma, cache: Segments | None = None) -> KeywordIndex:
    """Build anew from the whole Chroma collection: one segment (the full rebuild, for a missing or
    unreadable keyword side).

    The revision is read before the records: a write that lands during the read leaves this build
    marked with the older revision, so it is caught up again rather than trusted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    revision = chroma.revision() if chroma.url else ""
    segment = Segment.of([row_of(*r) for r in _records(chroma)], [], tokenizer())
    return _publish(folder, [_save_segment(folder, segment)], revision, {} if cache is None else cache)


def update(folder: Path, live: KeywordIndex, rows: Sequence[Row], deleted: Iterable[str], revision: str,
           cache: Segments) -> KeywordIndex:
    """Add one write's passages and deletions as a segment after ``live``'s; past ``MAX_SEGMENTS`` they are
    merged into one (no tokenising: counts are added up)."""
    names = _generation(folder, live.stamp)["segments"]
    names = [*names, _save_segment(folder, Segment.of(rows, sorted(set(deleted)), tokenizer()))]
    if len(names) > MAX_SEGMENTS:
        for name in names:
            cache.setdefault(name, Segment.load(folder / name))
        names = [_save_segment(folder, merged([cache[name] for name in names]))]
    return _publish(folder, names, revision, cache)


def catch_up(folder: Path, chroma: Chroma, live: KeywordIndex, cache: Segments) -> KeywordIndex:
    """Bring ``live`` in step with the collection by the ids that differ: passages written elsewhere (another
    process, a killed run) are read and added, those gone are deleted; nothing else is read again."""
    revision = chroma.revision() if chroma.url else ""
    stored = {cid for page in chroma.pages([]) for cid in page["ids"]}
    have = set(live.ids)
    added = sorted(stored - have)
    return update(folder, live, [row_of(*r) for r in _records(chroma, added)], have - stored, revision, cache)


def marker(folder: Path) -> dict[str, Any] | None:
    """The STALE marker's content; an unreadable marker counts as one left by a killed run."""
    try:
        data = json.loads((folder / STALE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def mark(folder: Path, token: str, pid: int | None) -> None:
    """Say that an ingest writes (``pid``), or that one failed part-way (``pid`` None: abandoned)."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / STALE, json.dumps({"pid": pid, "token": token, "since": time.time()}))


def clear(folder: Path, token: str | None) -> None:
    """Remove the marker if it is still the one we saw (a newer ingest may have replaced it)."""
    found = marker(folder)
    if found is not None and found.get("token") == token:
        (folder / STALE).unlink(missing_ok=True)


def held(found: dict[str, Any]) -> bool:
    """True while the ingest that wrote the marker still runs: its writes are expected, not a crash.

    One of this process's ingests either finishes (and clears the marker) or fails (and marks it
    abandoned), so a marker naming this process is always a running one.
    """
    pid = found.get("pid")
    if not isinstance(pid, int):
        return False
    return pid == os.getpid() or _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child that its parent has not reaped yet is a zombie: it writes nothing more
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
