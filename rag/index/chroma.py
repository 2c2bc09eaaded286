"""The Chroma collection of an index and the manifest that says how its vectors were made.

Chroma is the single source of truth: every chunk carries its document id, article
version and chunk count, so the state of each document (present, complete, stale,
half-written by a killed run) is read back from the collection itself and no second
bookkeeping file can drift out of step with it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from rag.config import Settings, collection_name
from rag.index.embedding import model_of
from rag.types import Chunk, format_events

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

COLLECTION = "chunks"
MANIFEST = "manifest.json"
MANIFEST_KEY = "newsrag_manifest"  # on a server, the manifest lives in the collection's metadata
REVISION_KEY = "newsrag_revision"  # changed by every ingest that writes: other processes' BM25 follows it
FORMAT = 1
_PAGE = 5000
_SEEN: dict[str, str] = {}  # index location -> the collection revision this process last wrote or read


class StoreError(RuntimeError):
    """The index cannot be used as asked (mismatched manifest, unreadable folder)."""


@dataclass
class DocState:
    """What the collection holds for one document: chunk counts per article version."""

    present: dict[str, int] = field(default_factory=dict)  # version -> chunks stored
    expected: dict[str, int] = field(default_factory=dict)  # version -> chunks it should have
    content_key: str = ""
    source: str = ""
    origin: str = ""

    def complete(self, version: str) -> bool:
        """True when exactly this version is stored, with all of its chunks."""
        return set(self.present) == {version} and self.present[version] == self.expected[version]


def manifest_for(settings: Settings, dimension: int) -> dict[str, Any]:
    """Everything that changes the vectors: an index built otherwise must not be mixed."""
    return {
        "format": FORMAT,
        "embed_model": model_of(settings.embed_model),
        "dimension": dimension,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "chunker": "llama-index SentenceSplitter, model tokens, rag.sentences v1",
    }


def check_manifest(index_dir: Path, wanted: dict[str, Any]) -> None:
    """Write the manifest for a new index; refuse to open one built with other settings."""
    path = index_dir / MANIFEST
    if not path.exists():
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")
        os.replace(tmp, path)
        return
    _compare(json.loads(path.read_text()), wanted, str(index_dir), index_dir.name)


def chunk_metadata(chunk: Chunk, source: str) -> dict[str, str | int]:
    """The Chroma edge of a Chunk: flat scalars only, dates also as yyyymmdd integers."""
    a = chunk.article
    return {
        "doc_id": a.doc_id,
        "version": a.version,
        "content_key": a.content_key,
        "chunk_index": chunk.index,
        "n_chunks": chunk.n_chunks,
        "start": chunk.start,
        "end": chunk.end,
        "title": a.title,
        "outlet": a.outlet,
        "authors": "; ".join(a.authors),
        "url": a.url,
        "published": a.published.isoformat() if a.published else "",
        "published_int": int(a.published.strftime("%Y%m%d")) if a.published else 0,
        "events": format_events(chunk.events),
        "source": source,
        "origin": a.origin,
    }


class Store:
    """One index: a Chroma collection in cosine space plus its manifest.

    The collection is embedded (a folder under the index) or on a Chroma server
    (``settings.chroma_url``), where the manifest is kept in the collection's own metadata so
    every process that shares it checks the same one. ``create=False`` opens an existing index
    only (asking never creates one).
    """

    def __init__(self, settings: Settings, dimension: int, *, create: bool = True) -> None:
        self.dir = settings.index_dir
        self.url = settings.chroma_url
        self.location = settings.location
        self._manifest = manifest_for(settings, dimension)
        if self.url is None:
            if not create and not (self.dir / MANIFEST).is_file():
                raise _missing(settings)
            check_manifest(self.dir, self._manifest)
        with self.errors():
            self._client = _client(settings)
            self.collection = self._collection(settings, create)
        self.follow_other_writers()  # this process may hold a client opened before another one wrote

    @property
    def remote(self) -> bool:
        """True on a Chroma server: other processes may write to it at any time."""
        return self.url is not None

    def errors(self) -> AbstractContextManager[None]:
        """What Chroma raises here, as a StoreError that names this index (see ``_errors``)."""
        return _errors(self.location, self.url)

    def _collection(self, settings: Settings, create: bool) -> Collection:
        if self.url is None:
            return self._client.get_or_create_collection(
                COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        name = collection_name(settings.index)
        if not create and name not in {c.name for c in self._client.list_collections()}:
            raise _missing(settings)
        meta = {MANIFEST_KEY: json.dumps(self._manifest, sort_keys=True)}
        collection = self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}, metadata=meta)
        stored = json.loads((collection.metadata or {}).get(MANIFEST_KEY) or "{}")
        _compare(stored, self._manifest, self.location, settings.index)
        return collection

    def revision(self) -> str:
        """A token that changes whenever an ingest writes to the collection (read fresh each time)."""
        with self.errors():
            fresh = self._client.get_collection(self.collection.name, embedding_function=None)
        return str((fresh.metadata or {}).get(REVISION_KEY, ""))

    def bump_revision(self) -> None:
        """Tell every process sharing the collection that its contents changed."""
        revision = uuid.uuid4().hex
        with self.errors():
            fresh = self._client.get_collection(self.collection.name, embedding_function=None)
            fresh.modify(metadata={**(fresh.metadata or {}), REVISION_KEY: revision})
        _SEEN[self.location] = revision

    def follow_other_writers(self) -> bool:
        """Reopen an embedded store that another process wrote to since this one last looked.

        Chroma's embedded client keeps its vector index in memory: after another process's
        ingest it misses the new passages and can fail outright ("Error finding id"). The
        revision token says when that happened; a fresh client reads the folder anew. In-flight
        queries keep the old client, which is dropped, not stopped. True when it reopened.
        """
        if self.remote:  # a server's answers are always current; its BM25 side follows in keyword.load
            return False
        revision = self.revision()
        known = _SEEN.setdefault(self.location, revision)
        if revision == known:
            return False
        from chromadb.api.shared_system_client import SharedSystemClient

        path = str(self.dir / "chroma")
        SharedSystemClient._identifier_to_system.pop(path, None)  # the next client starts a fresh System
        SharedSystemClient._identifier_to_refcount.pop(path, None)
        with self.errors():
            self._client = _client_for(path)
            self.collection = self._client.get_collection(COLLECTION, embedding_function=None)
        _SEEN[self.location] = revision
        return True

    def count(self) -> int:
        """Number of chunks stored."""
        with self.errors():
            return self.collection.count()

    def metadatas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (chunk id, metadata) pair, paged so a large index is not loaded at once."""
        offset = 0
        while True:
            with self.errors():
                page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            yield from zip(page["ids"], page["metadatas"], strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def records(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (chunk id, passage, metadata), paged: what the keyword index is rebuilt from."""
        offset = 0
        while True:
            with self.errors():
                page = self.collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            yield from zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def doc_states(self) -> dict[str, DocState]:
        """The state of every document in the collection, from the chunks' metadata."""
        states: dict[str, DocState] = defaultdict(DocState)
        for _, meta in self.metadatas():
            state = states[str(meta["doc_id"])]
            version = str(meta["version"])
            state.present[version] = state.present.get(version, 0) + 1
            state.expected[version] = int(meta["n_chunks"])
            state.content_key = str(meta["content_key"])
            state.source = str(meta.get("source", ""))
            state.origin = str(meta.get("origin", ""))
        return dict(states)

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, sources: list[str]) -> None:
        """Write chunks with their vectors; ids are per article version, so this is idempotent."""
        with self.errors():
            self.collection.upsert(
                ids=[c.id for c in chunks],
                embeddings=vectors,
                documents=[c.text for c in chunks],
                metadatas=[chunk_metadata(c, s) for c, s in zip(chunks, sources, strict=True)],
            )

    def drop_other_versions(self, doc_id: str, keep: str) -> None:
        """Remove a document's stale chunks, after its new version is fully written."""
        with self.errors():
            self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep}}]})

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove documents entirely (pruning)."""
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            with self.errors():
                self.collection.delete(where={"doc_id": {"$in": ids[i : i + 500]}})


def list_indexes(settings: Settings) -> list[str]:
    """The indexes that exist where the settings point: folders with a manifest, or server collections."""
    if settings.chroma_url is None:
        root = settings.index_root
        return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file()) if root.is_dir() else []
    with _errors(settings.location, settings.chroma_url):
        names = [c.name for c in _client(settings).list_collections()]
    prefix = collection_name("")
    return sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))


def index_exists(settings: Settings) -> bool:
    """Whether the selected index has been created (by an ingest) where the settings point."""
    if settings.chroma_url is None:
        return (settings.index_dir / MANIFEST).is_file()
    return settings.index in list_indexes(settings)


def delete_index(settings: Settings) -> None:
    """Remove an index entirely (``--rebuild``): its collection, its keyword index and its folder.

    A folder without a manifest is not deleted: it may be anything the user pointed at by mistake.
    """
    if settings.chroma_url is not None:
        name = collection_name(settings.index)
        with _errors(settings.location, settings.chroma_url):
            client = _client(settings)
            if name in {c.name for c in client.list_collections()}:
                client.delete_collection(name)
    elif settings.index_dir.exists() and not (settings.index_dir / MANIFEST).exists():
        raise StoreError(f"{settings.index_dir} does not look like an index (no {MANIFEST}); not deleting it.")
    if settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)


def _client(settings: Settings) -> ClientAPI:
    """The embedded client of the index folder, or an HTTP client of the configured server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url is None:
        return _client_for(str(settings.index_dir / "chroma"))
    url = urlsplit(settings.chroma_url)
    port = url.port or (443 if url.scheme == "https" else 8000)
    quiet = ChromaSettings(anonymized_telemetry=False)
    return chromadb.HttpClient(host=url.hostname or "", port=port, ssl=url.scheme == "https", settings=quiet)


def _client_for(path: str) -> ClientAPI:
    """The embedded client of a Chroma folder, telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))


def _compare(stored: dict[str, Any], wanted: dict[str, Any], location: str, index: str) -> None:
    """Refuse to mix vectors made otherwise; say what differs and how to get out of it."""
    diffs = [f"{k}: index has {stored.get(k)!r}, settings ask for {v!r}" for k, v in wanted.items()
             if stored.get(k) != v]
    if diffs:
        raise StoreError(
            f"Index at {location} was built with other settings ({'; '.join(diffs)}). Use those settings, pick "
            f"another index with --index NAME, or rebuild it with `newsrag ingest --rebuild ... --index {index}`."
        )


def _missing(settings: Settings) -> StoreError:
    return StoreError(f"No index at {settings.location}: ingest some news first, e.g. "
                      f"`newsrag ingest seeds/ --index {settings.index}`.")


def _nearly_full(folder: Path) -> bool:
    """Chroma often reports a full disk as some other failure (a compaction error, say): look."""
    probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return probe is not None and shutil.disk_usage(probe).free < 4 * 2**20


@contextmanager
def _errors(location: str, url: str | None) -> Iterator[None]:
    """Turn what Chroma raises (a server gone, a full disk, a read-only folder) into a StoreError
    that names the index's location and says what to do; nothing is half-written by then."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:  # chromadb and its transports raise many unrelated types
        raise StoreError(_explain(location, url, exc)) from exc


def _explain(location: str, url: str | None, exc: Exception) -> str:
    """What went wrong with the store, in words a person can act on."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if url is not None and any(w in lowered for w in ("connect", "timed out", "timeout", "refused", "unavailable")):
        return (f"The Chroma server at {url} is not answering ({text}). Start it (e.g. `chroma run --path DIR "
                f"--port PORT`) and run the same command again: what was written is kept, nothing is half-written.")
    if "full" in lowered or "no space" in lowered or (url is None and _nearly_full(Path(location))):
        return f"No space left for the index at {location} ({text}). Free some disk space and run the command again."
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return f"The index at {location} cannot be written ({text}). Make the folder writable or pick another one."
    return f"Cannot use the index at {location}: {text}"
