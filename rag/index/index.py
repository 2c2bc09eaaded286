"""``Index``: one index whole, its Chroma collection and its keyword side kept in step, and its manifest.

Every write happens inside ``writing()``: the keyword side is marked stale while Chroma changes and
rebuilt once after, and the collection's revision token tells other processes to follow. Reading
goes through ``keyword()`` (the live BM25 build, rebuilt here only when a killed or failed ingest,
another process or a count mismatch says it is out of step), ``dense()`` and ``fetch()``.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import Settings
from rag.index import keyword, manifest
from rag.index.chroma import Chroma
from rag.index.errors import missing
from rag.index.lexical import Filters, KeywordIndex
from rag.index.schema import chunk_metadata, to_hit, utc_now
from rag.index.segments import Row
from rag.types import Chunk, Hit

if TYPE_CHECKING:
    from rag.index.library import Document

POSTFILTER_SHARE = 0.3  # filters keeping at least this share of the index are applied after the dense query


@dataclass
class DocState:
    """What the collection holds for one document: chunk counts per article version."""

    present: dict[str, int] = field(default_factory=dict)  # version -> chunks stored
    expected: dict[str, int] = field(default_factory=dict)  # version -> chunks it should have
    content_key: str = ""
    source: str = ""
    origin: str = ""
    first_ingested: str = ""  # when the document was first written; "" if its passages predate the field

    def complete(self, version: str) -> bool:
        """True when exactly this version is stored, with all of its chunks."""
        return set(self.present) == {version} and self.present[version] == self.expected[version]


class Index:
    """One index, embedded (a folder) or on a Chroma server (``settings.chroma_url``).

    ``dimension`` is given by an ingest, which creates the index on its first write; opening one to
    ask questions reads it from the manifest and loads no model. Without ``create``, a missing index
    is an error that says how to make one.
    """

    def __init__(self, settings: Settings, *, dimension: int | None = None, create: bool = False) -> None:
        self.name, self.dir, self.location = settings.index, settings.index_dir, settings.location
        want = manifest.wanted(settings, dimension)
        if settings.chroma_url is None:
            stored = manifest.read(self.dir)
            if stored is None and not create:
                raise missing(self.location, self.name)
            if stored is None:
                manifest.write(self.dir, stored := want)
            manifest.compare(stored, want, str(self.dir), self.name)
            want = stored
        self.chroma = Chroma(settings, want, create)
        self.manifest: dict[str, Any] = self.chroma.manifest
        self._folder = keyword.folder_of(self.dir)
        self._built: KeywordIndex | None = None
        self._segments: keyword.Segments = {}  # loaded keyword segments, reused by the next generation
        self._written: tuple[list[Row], set[str]] | None = None  # inside writing(): passages added, ids deleted
        self._lock = threading.RLock()

    def check(self, settings: Settings, dimension: int) -> None:
        """Refuse to write vectors of another model, size or chunking into this open index."""
        manifest.compare(self.manifest, manifest.wanted(settings, dimension), self.location, self.name)

    @property
    def dimension(self) -> int:
        """The vectors' dimension, as the manifest records it."""
        return int(self.manifest["dimension"])

    @property
    def remote(self) -> bool:
        """True on a Chroma server: other processes may write to it at any time."""
        return self.chroma.url is not None

    def count(self) -> int:
        """Number of passages stored."""
        return self.chroma.count()

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def writing(self, changes: bool) -> Iterator[None]:
        """Wrap an ingest's writes: the keyword side marked stale while they run, then one segment added
        with what they wrote and deleted.

        A run that writes nothing neither marks nor adds (re-ingesting an unchanged corpus stays cheap)
        unless a killed run left the index stale; then this run finishes the job. If the writes raise, the
        marker says so and the next query catches up.
        """
        if not changes and keyword.marker(self._folder) is None:
            yield
            return
        token = uuid.uuid4().hex
        keyword.mark(self._folder, token, os.getpid())
        self._written = ([], set())
        try:
            self.chroma.bump_revision()
            yield
        except BaseException:
            keyword.mark(self._folder, token, None)
            raise
        finally:
            rows, deleted = self._written
            self._written = None
        self.chroma.bump_revision()
        with self._lock:
            self._built = self._after_write(rows, deleted)
            keyword.clear(self._folder, token)

    def _after_write(self, rows: list[Row], deleted: set[str]) -> KeywordIndex:
        """The keyword side with one write's segment added; caught up by ids if the count still differs
        (a killed run's writes before this one, or another process writing the same server collection)."""
        built, _ = self._loaded()
        if built is None:
            return keyword.build(self._folder, self.chroma, self._segments)
        revision = self.chroma.revision() if self.remote else ""
        built = keyword.update(self._folder, built, rows, deleted, revision, self._segments)
        if len(built) != self.count():
            built = keyword.catch_up(self._folder, self.chroma, built, self._segments)
        return built

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, sources: list[str],
               first_ingested: Sequence[str | None] | None = None) -> None:
        """Write chunks with their vectors; ids are per article version, so this is idempotent.

        ``first_ingested`` (per chunk) keeps an updated document's first-written time; None marks a new one.
        """
        now, firsts = utc_now(), first_ingested or [None] * len(chunks)
        metadatas = [chunk_metadata(c, s, now, f) for c, s, f in zip(chunks, sources, firsts, strict=True)]
        with self.chroma.errors():
            self.chroma.collection.upsert(ids=[c.id for c in chunks], embeddings=vectors,
                                          documents=[c.text for c in chunks], metadatas=metadatas)
        if self._written is not None:
            self._written[0].extend(keyword.row_of(c.id, c.text, m) for c, m in zip(chunks, metadatas, strict=True))
            self._written[1].update(c.id for c in chunks)  # a passage written again replaces its older row

    def drop_other_versions(self, doc_id: str, keep: str) -> None:
        """Remove a document's stale chunks, after its new version is fully written."""
        self._delete({"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep}}]})

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove documents entirely (pruning)."""
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            self._delete({"doc_id": {"$in": ids[i : i + 500]}})

    def _delete(self, where: dict[str, Any]) -> None:
        """Delete the passages ``where`` picks, by id, so the keyword side's next segment can delete them too."""
        with self.chroma.errors():
            ids = self.chroma.collection.get(where=where, include=[])["ids"]
            if ids:
                self.chroma.collection.delete(ids=ids)
        if self._written is not None:
            self._written[1].update(ids)

    def doc_states(self) -> dict[str, DocState]:
        """The state of every document in the collection, from the chunks' metadata."""
        states: dict[str, DocState] = defaultdict(DocState)
        for page in self.chroma.pages(["metadatas"]):
            for meta in page["metadatas"]:
                state = states[str(meta["doc_id"])]
                version = str(meta["version"])
                state.present[version] = state.present.get(version, 0) + 1
                state.expected[version] = int(meta["n_chunks"])
                state.content_key, state.source = str(meta["content_key"]), str(meta.get("source", ""))
                state.origin = str(meta.get("origin", ""))
                if first := str(meta.get("first_ingested") or ""):
                    state.first_ingested = min(state.first_ingested or first, first)
        return dict(states)

    def documents(self) -> list[Document]:
        """One row per document (outlet, headline, date, passages, first and last ingested), newest first."""
        from rag.index.library import documents

        return documents(self)

    # --- reading -------------------------------------------------------------------------------

    def hits(self) -> Iterator[Hit]:
        """Every passage, as Hits, a page at a time."""
        for page in self.chroma.pages(["documents", "metadatas"]):
            for cid, document, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                yield to_hit(cid, document, meta)

    def keyword(self) -> KeywordIndex:
        """The live keyword side, reloaded when its generation changed and caught up when it is out of step.

        Caught up here (once, with a warning, by the ids that differ) when a killed or failed ingest left
        it stale, or when its passage count differs from Chroma's while no ingest writes; on a server, when
        another process's ingest changed the collection's revision. Built anew only when it is missing or
        unreadable.
        """
        self.chroma.follow_other_writers()  # another process may have ingested since
        with self._lock:
            found = keyword.marker(self._folder)
            running = found is not None and keyword.held(found)
            built, problem = self._loaded()
            if found is not None and not running and built is not None:
                return self._catch_up("was left stale by an interrupted ingest", built, found.get("token"))
            if built is None:
                return self._rebuild(problem, None)  # nothing to catch up from
            if self.remote:  # other processes write there: follow the server's revision, not the count
                fresh = running or built.revision == self.chroma.revision()
                return built if fresh else self._catch_up("", built)
            if not running and len(built) != (count := self.count()):
                return self._catch_up(f"has {len(built)} passages but Chroma has {count}", built)
            return built

    def _loaded(self) -> tuple[KeywordIndex | None, str]:
        stamp = keyword.current_stamp(self._folder)
        if stamp is None:
            return None, "is missing"
        if self._built is None or self._built.stamp != stamp:
            try:
                self._built = keyword.load_build(self._folder, stamp, self._segments)
            except (OSError, ValueError, KeyError) as exc:
                return None, f"cannot be read ({exc})"
        return self._built, ""

    def rebuild(self) -> KeywordIndex:
        """Rebuild the keyword side from Chroma now, whatever its state (it is never needed for correctness:
        ``keyword()`` rebuilds when it must)."""
        with self._lock:
            return self._rebuild("", None)

    def _rebuild(self, reason: str, token: str | None) -> KeywordIndex:
        if reason:
            level = logging.WARNING if self.count() else logging.DEBUG  # an empty index has nothing to lose
            keyword.log.log(level, "keyword index of %s %s: rebuilding it from the Chroma collection", self.dir, reason)
        self._built = keyword.build(self._folder, self.chroma, self._segments)
        keyword.clear(self._folder, token)
        return self._built

    def _catch_up(self, reason: str, built: KeywordIndex, token: str | None = None) -> KeywordIndex:
        if reason:
            keyword.log.warning("keyword index of %s %s: catching up with the Chroma collection", self.dir, reason)
        self._built = keyword.catch_up(self._folder, self.chroma, built, self._segments)
        keyword.clear(self._folder, token)
        return self._built

    def dense(self, vector: np.ndarray, n: int, side: KeywordIndex, filters: Filters) -> list[str]:
        """Nearest passages within the filters.

        The keyword side's arrays decide which passages the filters keep (~5 ms as a numpy mask, event
        dates included, which a Chroma ``where`` cannot express). A filter keeping a small share goes to
        Chroma as that list of ids (7 ms for 900 of 25k passages, where a ``where`` on the same dates took
        40-850 ms); one keeping most of the index is applied afterwards to an over-fetched query instead.
        """
        if filters.empty or not len(side):
            return self.chroma.query(vector, n)
        keep = side.mask(filters)
        allowed = [side.ids[row] for row in np.flatnonzero(keep)]  # 3 ms for 20k of 500k rows; a zip took 8+
        if len(allowed) < POSTFILTER_SHARE * len(side):
            return self.chroma.query(vector, min(n, len(allowed)), ids=allowed) if allowed else []
        fetched = self.chroma.query(vector, min(len(side), int(n * len(side) / len(allowed) * 1.5) + 1))
        kept = set(allowed)
        return [cid for cid in fetched if cid in kept][:n]

    def fetch(self, ids: list[str]) -> dict[str, tuple[Hit, np.ndarray]]:
        """Passages of these ids as Hits with their stored vectors; ids no longer there are left out."""
        if not ids:
            return {}
        page = self.chroma.get(ids)
        rows = zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True)
        return {cid: (to_hit(cid, doc, meta), np.asarray(vec, dtype=np.float32)) for cid, doc, meta, vec in rows}

    def stats(self) -> dict[str, Any]:
        """What the index holds: articles, passages, outlets, publication range, size on disk, model."""
        from rag.index.library import stats

        return stats(self)

    def outlets(self) -> list[str]:
        """The outlets the index holds, sorted."""
        return sorted({str(o) for o in self.keyword().outlets.tolist() if o})
