"""The index stage: takes Chunks with their vectors, gives passages back by keyword, by vector and by date.

``Index`` owns one index whole: its Chroma collection (embedded or on a server), its BM25 keyword
side, their consistency after crashes and across processes, the manifest that says how its vectors
were made, and the chunk-metadata schema. It is the only code that imports chromadb or bm25s.
``embedding`` holds the two runtimes of the model that makes the vectors.
"""

from __future__ import annotations

import shutil

from rag.config import Settings
from rag.index import manifest
from rag.index.chroma import drop_server_collection, server_indexes
from rag.index.errors import StoreError
from rag.index.index import DocState, Index
from rag.index.lexical import Filters, KeywordIndex

__all__ = ["DocState", "Filters", "Index", "KeywordIndex", "StoreError", "delete_index", "index_exists",
           "list_indexes"]


def list_indexes(settings: Settings) -> list[str]:
    """The indexes that exist where the settings point: folders with a manifest, or server collections."""
    if settings.chroma_url is not None:
        return server_indexes(settings)
    root = settings.index_root
    return sorted(p.name for p in root.iterdir() if (p / manifest.FILE).is_file()) if root.is_dir() else []


def index_exists(settings: Settings) -> bool:
    """Whether the selected index has been created (by an ingest) where the settings point."""
    if settings.chroma_url is None:
        return (settings.index_dir / manifest.FILE).is_file()
    return settings.index in list_indexes(settings)


def delete_index(settings: Settings) -> None:
    """Remove an index entirely (``--rebuild``): its collection, its keyword side and its folder.

    A folder without a manifest is not deleted: it may be anything the user pointed at by mistake.
    """
    if settings.chroma_url is not None:
        drop_server_collection(settings)
    elif settings.index_dir.exists() and not (settings.index_dir / manifest.FILE).exists():
        raise StoreError(f"{settings.index_dir} does not look like an index (no {manifest.FILE}); not deleting it.")
    if settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)
