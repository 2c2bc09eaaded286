"""The BM25 keyword index beside Chroma: rare names and exact terms that embeddings blur.

It lives in ``<index>/keyword/`` as immutable builds (``<stamp>/``) and a ``CURRENT`` file naming
the live one: a rebuild is written aside and swapped in by one atomic rename, so readers never
see half an index. A build holds the BM25 matrices (bm25s), the chunk ids in row order and
per-chunk ``published_int`` and ``outlet`` arrays and every passage's event dates (one row per
span): date and outlet filters become a weight mask.

Chroma stays the single source of truth: the index is rebuilt from the collection after an
ingest that wrote something (never per query).

Every ingest that writes changes a revision token in the collection's metadata, before its
first write and after its last. On a Chroma server shared by several processes (or machines),
each keeps its own keyword index in its own index folder, and a process whose build was made
from another revision rebuilds from the server once, on its next query (an embedded store's
readers use the token to reopen Chroma: see ``Chroma.follow_other_writers``). While another process's
ingest runs, this one's keyword side may lag behind the dense side by that ingest's writes,
never more (the dense side, read from the server, is always current). While an ingest writes, a
``STALE`` marker names its process; a marker whose process is gone means a killed run, and the next
query rebuilds the index once (a run that failed marks it abandoned, with the same effect). A chunk
count different from Chroma's (with no ingest running) means the same.

These are the keyword side's files and rules; ``rag.index.Index`` holds the loaded build and decides
when to rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index.schema import to_hit

if TYPE_CHECKING:
    from rag.index.chroma import Chroma

log = logging.getLogger(__name__)

FOLDER = "keyword"
CURRENT = "CURRENT"
STALE = "STALE"


def _bm25s() -> Any:
    try:
        import bm25s
        import Stemmer  # noqa: F401 (PyStemmer: checked here so the error names the package)
    except ImportError as exc:
        raise ImportError("the keyword index needs bm25s and PyStemmer: pip install bm25s PyStemmer") from exc
    return bm25s


def _tokenizer() -> Any:
    """English stopwords and Snowball stems; a fresh one per call (PyStemmer is not thread-safe)."""
    import Stemmer

    return _bm25s().tokenization.Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")


def query_terms(text: str) -> list[str]:
    """The stems BM25 matches a question by, as the corpus was tokenised."""
    return _tokenizer().tokenize([text], return_as="string", show_progress=False)[0]


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
    """One loaded build: BM25 rows align with ``ids``, ``published`` and ``outlets``; ``events`` holds
    (row, first day, last day) for each event date a passage mentions."""

    stamp: str
    ids: list[str]
    published: np.ndarray  # int32 yyyymmdd, 0 for undated
    outlets: np.ndarray  # str
    events: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int32))
    bm25: Any = None  # bm25s.BM25; None for an empty index
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
        if self.bm25 is None or n <= 0:
            return []
        terms = [t for t in query_terms(query) if t in self.bm25.vocab_dict]
        if not terms:
            return []
        rows, scores = self.bm25.retrieve([terms], k=min(n, len(self.ids)), show_progress=False,
                                          weight_mask=None if filters.empty else self.mask(filters))
        return [(self.ids[int(r)], float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

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


def _records(chroma: Chroma) -> list[tuple[str, str, dict[str, Any]]]:
    return [row for page in chroma.pages(["documents", "metadatas"])
            for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]


def _write_build(path: Path, chroma: Chroma) -> None:
    """Tokenise title + passage (what the embedder sees, too); save BM25 and the filter arrays.

    The revision is read before the records: a write that lands during the read leaves this build
    marked with the older revision, so it is rebuilt again rather than trusted.
    """
    revision = chroma.revision() if chroma.url else ""
    records = _records(chroma)
    path.mkdir(parents=True)
    if records:
        bm25s = _bm25s()
        texts = [f"{meta.get('title') or ''}\n{document}" for _, document, meta in records]
        bm25 = bm25s.BM25()
        bm25.index(_tokenizer().tokenize(texts, return_as="tuple", show_progress=False), show_progress=False)
        bm25.save(str(path), show_progress=False)
    published = [int(meta.get("published_int") or 0) for _, _, meta in records]
    np.save(path / "published.npy", np.asarray(published, dtype=np.int32))
    events = [(row, int(f"{a:%Y%m%d}"), int(f"{b:%Y%m%d}")) for row, (cid, document, meta) in enumerate(records)
              for a, b in to_hit(cid, document, meta).events]
    np.save(path / "events.npy", np.asarray(events, dtype=np.int32).reshape(-1, 3))
    outlets = [str(meta.get("outlet") or "") for _, _, meta in records]
    (path / "chunks.json").write_text(json.dumps({"ids": [r[0] for r in records], "outlets": outlets,
                                                  "revision": revision}))


def _sweep(folder: Path, keep: set[str | None]) -> None:
    """Remove old builds; the previous one stays for readers that are still loading it."""
    hour_ago = time.time() - 3600
    for path in folder.iterdir():
        leftover_tmp = path.name.startswith(".tmp-") and path.stat().st_mtime < hour_ago
        if path.is_dir() and path.name not in keep and (leftover_tmp or not path.name.startswith(".")):
            shutil.rmtree(path, ignore_errors=True)


def load_build(folder: Path, stamp: str) -> KeywordIndex:
    """One build read from disk."""
    path = folder / stamp
    chunks = json.loads((path / "chunks.json").read_text())
    bm25 = _bm25s().BM25.load(str(path), show_progress=False) if chunks["ids"] else None
    return KeywordIndex(stamp=stamp, ids=chunks["ids"], published=np.load(path / "published.npy"),
                        outlets=np.asarray(chunks["outlets"], dtype=str), events=np.load(path / "events.npy"),
                        bm25=bm25, revision=chunks.get("revision", ""))


def build(folder: Path, chroma: Chroma) -> KeywordIndex:
    """Rebuild from the Chroma collection aside, swap it in atomically, drop builds older than the last."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = current_stamp(folder)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp = folder / f".tmp-{stamp}"
    _write_build(tmp, chroma)
    os.rename(tmp, folder / stamp)
    _write_atomic(folder / CURRENT, stamp + "\n")
    _sweep(folder, keep={stamp, previous})
    return load_build(folder, stamp)


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
