"""The Chroma collection of an index and the manifest that says how its vectors were made.

Chroma is the single source of truth: every chunk carries its document id, article
version and chunk count, so the state of each document (present, complete, stale,
half-written by a killed run) is read back from the collection itself and no second
bookkeeping file can drift out of step with it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import Settings
from rag.embedding import model_of
from rag.types import Chunk

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "chunks"
MANIFEST = "manifest.json"
FORMAT = 1
_PAGE = 5000


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
    stored = json.loads(path.read_text())
    diffs = [f"{k}: index has {stored.get(k)!r}, settings ask for {v!r}" for k, v in wanted.items()
             if stored.get(k) != v]
    if diffs:
        raise StoreError(
            f"Index folder {index_dir} was built with other settings ({'; '.join(diffs)}). "
            f"Use those settings, pick another index with --index NAME, or rebuild it with "
            f"`newsrag ingest --rebuild ... --index {index_dir.name}`."
        )


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
        "source": source,
        "origin": a.origin,
    }


class Store:
    """One index: a Chroma collection in cosine space plus its manifest."""

    def __init__(self, settings: Settings, dimension: int) -> None:
        self.dir = settings.index_dir
        check_manifest(self.dir, manifest_for(settings, dimension))
        self.collection = _open_collection(settings)

    def count(self) -> int:
        """Number of chunks stored."""
        return self.collection.count()

    def metadatas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (chunk id, metadata) pair, paged so a large index is not loaded at once."""
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            yield from zip(page["ids"], page["metadatas"], strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def records(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (chunk id, passage, metadata), paged: what the keyword index is rebuilt from."""
        offset = 0
        while True:
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
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[chunk_metadata(c, s) for c, s in zip(chunks, sources, strict=True)],
        )

    def drop_other_versions(self, doc_id: str, keep: str) -> None:
        """Remove a document's stale chunks, after its new version is fully written."""
        self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep}}]})

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove documents entirely (pruning)."""
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"doc_id": {"$in": ids[i : i + 500]}})


def _open_collection(settings: Settings) -> Collection:
    """Open (or create) the collection; we always pass vectors, so no embedding function."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = settings.index_dir / "chroma"
    try:
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        return client.get_or_create_collection(
            COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
    except Exception as exc:  # chromadb raises several unrelated types for an unusable folder
        raise StoreError(f"Cannot open the index at {path}: {exc}. Check that the folder is writable.") from exc
