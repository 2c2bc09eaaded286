"""An index's Chroma collection: embedded in the index folder or on a server, in cosine space.

Chroma is the single source of truth: every chunk carries its document id, article version and
chunk count, so the state of each document (present, complete, stale, half-written by a killed
run) is read back from the collection itself and no second bookkeeping file can drift out of
step with it. A revision token in the collection's metadata changes with every ingest that writes:
it is how other processes (and their keyword sides) learn that the collection changed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from rag.config import Settings, collection_name
from rag.index import manifest
from rag.index.errors import explained, missing

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

COLLECTION = "chunks"
MANIFEST_KEY = "newsrag_manifest"  # on a server, the manifest lives in the collection's metadata
REVISION_KEY = "newsrag_revision"
PAGE = 5000
# listing ids only: pages go by offset, which the store scans from the start each time, so fewer, larger
# pages (ids are small) list 200k ids in 0.7 s instead of 4-6 s
ID_PAGE = 100_000
COSINE = {"hnsw": {"space": "cosine"}}
SEEN = "newsrag_revision_seen"  # the attribute a System carries: the revision it reflects


class Chroma:
    """The collection of one index, reopened when another process wrote to an embedded one."""

    def __init__(self, settings: Settings, want: dict[str, Any], create: bool) -> None:
        self.dir, self.url, self.location, self.index = (settings.index_dir, settings.chroma_url,
                                                         settings.location, settings.index)
        self.manifest = want
        with self.errors():
            self._client = client(settings)
            self.collection = self._collection(create) if self.url else self._client.get_or_create_collection(
                COLLECTION, embedding_function=None, configuration=COSINE)
        self._system = None if self.url else system_of(str(self.dir / "chroma"))
        self._revision = ""  # on a server: what this process last wrote
        self.follow_other_writers()  # this process may hold a System opened before another process wrote

    @property
    def _seen(self) -> str | None:
        """The revision the embedded System reflects; kept on chromadb's per-process System, which every
        index open on this folder in this process shares, so they all know when it went stale."""
        return getattr(self._system, SEEN, None) if self._system is not None else self._revision

    @_seen.setter
    def _seen(self, revision: str) -> None:
        if self._system is not None:
            setattr(self._system, SEEN, revision)
        self._revision = revision

    def errors(self) -> AbstractContextManager[None]:
        """What Chroma raises here, as a StoreError that names this index."""
        return explained(self.location, self.url)

    def _collection(self, create: bool) -> Collection:
        """A server collection, its manifest in its metadata (checked, or written by the first ingest)."""
        name = collection_name(self.index)
        if not create and name not in {c.name for c in self._client.list_collections()}:
            raise missing(self.location, self.index)
        meta = {MANIFEST_KEY: json.dumps(self.manifest, sort_keys=True)} if create else None
        collection = self._client.get_or_create_collection(name, embedding_function=None, configuration=COSINE,
                                                           metadata=meta)
        stored = json.loads((collection.metadata or {}).get(MANIFEST_KEY) or "{}")
        manifest.compare(stored, self.manifest, self.location, self.index)
        self.manifest = stored
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
        self._seen = revision

    def follow_other_writers(self) -> bool:
        """Reopen an embedded store that another process wrote to since this one last looked.

        Chroma's embedded client keeps its vector index in memory: after another process's
        ingest it misses the new passages and can fail outright ("Error finding id"). The
        revision token says when that happened; a fresh client reads the folder anew. In-flight
        queries keep the old client, which is dropped, not stopped. True when it reopened.
        """
        if self.url is not None:  # a server's answers are always current
            return False
        revision, seen = self.revision(), self._seen
        if seen is None:  # a System opened just now reads the folder as it is
            self._seen = revision
        if seen in (None, revision):
            return False
        path = str(self.dir / "chroma")
        with self.errors():
            self._client = fresh(path)
            self.collection = self._client.get_collection(COLLECTION, embedding_function=None)
        self._system = system_of(path)
        self._seen = revision
        return True

    def count(self) -> int:
        with self.errors():
            return self.collection.count()

    def pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """The whole collection, a page at a time, so a large index is never loaded at once."""
        offset, size = 0, PAGE if include else ID_PAGE
        while True:
            with self.errors():
                page = self.collection.get(include=include, limit=size, offset=offset)  # type: ignore[arg-type]
            yield page
            if len(page["ids"]) < size:
                return
            offset += size

    def query(self, vector: np.ndarray, n: int, ids: list[str] | None = None) -> list[str]:
        """Ids of the ``n`` nearest passages, among ``ids`` when given."""
        with self.errors():
            result = self.collection.query(query_embeddings=[vector], n_results=n, ids=ids, include=[])
        return list(result["ids"][0])

    def records(self, ids: list[str]) -> dict[str, Any]:
        """Passages and metadata of these ids, without vectors (the keyword side catching up)."""
        with self.errors():
            return self.collection.get(ids=ids, include=["documents", "metadatas"])

    def get(self, ids: list[str]) -> dict[str, Any]:
        """Passages, metadata and vectors of these ids (those the collection has)."""
        with self.errors():
            return self.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])


def client(settings: Settings) -> ClientAPI:
    """The embedded client of the index folder, or an HTTP client of the configured server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url is None:
        return embedded(str(settings.index_dir / "chroma"))
    url = urlsplit(settings.chroma_url)
    port = url.port or (443 if url.scheme == "https" else 8000)
    quiet = ChromaSettings(anonymized_telemetry=False)
    return chromadb.HttpClient(host=url.hostname or "", port=port, ssl=url.scheme == "https", settings=quiet)


def embedded(path: str) -> ClientAPI:
    """The embedded client of a Chroma folder, telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))


def fresh(path: str) -> ClientAPI:
    """An embedded client on a new System, reading the folder as it is now.

    chromadb shares one System per folder in a process and it keeps its vector index in memory: a
    System opened before another process wrote misses what it wrote, so a stale one is replaced
    (in-flight queries keep the old one, which is dropped, not stopped).
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    for _ in range(3):
        SharedSystemClient._identifier_to_system.pop(path, None)  # the next client starts a fresh System
        SharedSystemClient._identifier_to_refcount.pop(path, None)
        try:
            return embedded(path)
        except KeyError:  # another thread swapped the folder's System at the same moment: take the next one
            continue
    return embedded(path)


def system_of(path: str) -> Any:
    """chromadb's System for an embedded folder in this process (None if another thread just dropped it)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    return SharedSystemClient._identifier_to_system.get(path)


def server_indexes(settings: Settings) -> list[str]:
    """The indexes on the configured server: its collections named by ``collection_name``."""
    with explained(settings.location, settings.chroma_url):
        names = [c.name for c in client(settings).list_collections()]
    prefix = collection_name("")
    return sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))


def drop_server_collection(settings: Settings) -> None:
    """Delete the index's collection on the server, if it is there."""
    name = collection_name(settings.index)
    with explained(settings.location, settings.chroma_url):
        server = client(settings)
        if name in {c.name for c in server.list_collections()}:
            server.delete_collection(name)
