"""What an index holds, one row per article, and removing articles from it.

Read in one pass over the collection's metadata (no passage text, no vectors), so listing a large index
costs what ``stats`` does. The command line and the UI both list, select and remove through here, so a
URL, a date or an outlet picks the same articles wherever it is typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.index.writer import sole_writer

if TYPE_CHECKING:
    from rag.index.index import Index

FILE_ID = "file://"  # the id prefix of an article read from a local file without a URL


@dataclass(frozen=True, slots=True)
class Document:
    """One stored article as a listing shows it; ingest times are None for indexes that predate them."""

    doc_id: str
    title: str
    outlet: str
    url: str
    published: date | None
    passages: int
    first_ingested: str | None = None
    last_ingested: str | None = None

    @property
    def path(self) -> str:
        """The file it was read from (with ``#record`` for one record of a dump), when it has no URL."""
        return self.doc_id.removeprefix(FILE_ID) if self.doc_id.startswith(FILE_ID) and not self.url else ""

    @property
    def location(self) -> str:
        """Where to find it: its URL, else its file, else its id."""
        return self.url or self.path or self.doc_id

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {"doc_id": self.doc_id, "outlet": self.outlet, "headline": self.title,
                "published": self.published.isoformat() if self.published else None, "url": self.url,
                "path": self.path, "passages": self.passages, "first_ingested": self.first_ingested,
                "last_ingested": self.last_ingested}


def minute(stamp: str | None) -> str:
    """An ingest time as a listing shows it ("2024-05-01 12:00", UTC); "" when the index never recorded it."""
    return stamp[:16].replace("T", " ") if stamp else ""


def documents(index: Index) -> list[Document]:
    """Every article of the index, newest publication first (undated last), from its passages' metadata.

    While an update is half-written a document has two versions: the newest written one describes it.
    """
    counts: dict[str, int] = {}
    newest: dict[str, dict[str, Any]] = {}
    firsts: dict[str, str] = {}
    for page in index.chroma.pages(["metadatas"]):
        for meta in page["metadatas"]:
            doc = str(meta["doc_id"])
            counts[doc] = counts.get(doc, 0) + 1
            if doc not in newest or str(meta.get("ingested") or "") > str(newest[doc].get("ingested") or ""):
                newest[doc] = meta
            if first := str(meta.get("first_ingested") or ""):
                firsts[doc] = min(firsts.get(doc, first), first)
    rows = [_row(doc, meta, counts[doc], firsts.get(doc)) for doc, meta in newest.items()]
    return sorted(rows, key=lambda d: (d.published is not None, d.published or date.min, d.title), reverse=True)


def _row(doc: str, meta: dict[str, Any], passages: int, first: str | None) -> Document:
    published = str(meta.get("published") or "")
    return Document(doc_id=doc, title=str(meta.get("title") or ""), outlet=str(meta.get("outlet") or ""),
                    url=str(meta.get("url") or ""), published=date.fromisoformat(published) if published else None,
                    passages=passages, first_ingested=first, last_ingested=str(meta.get("ingested") or "") or None)


def within(docs: Iterable[Document], outlet: str | None = None, date_from: date | None = None,
           date_to: date | None = None) -> list[Document]:
    """The articles of an outlet (any case) published in a window; an undated one is outside any window."""
    wanted = outlet.strip().casefold() if outlet else None
    return [d for d in docs if (wanted is None or d.outlet.casefold() == wanted)
            and (date_from is None or (d.published is not None and d.published >= date_from))
            and (date_to is None or (d.published is not None and d.published <= date_to))]


def select(docs: Sequence[Document], targets: Sequence[str] = (), before: date | None = None,
           outlet: str | None = None) -> tuple[list[Document], list[str]]:
    """The articles that every given criterion picks, and the targets that matched none.

    A target is a URL (compared after ``canonical_url`` with an article's id and URL), a file path (its
    resolved form; a dump's path picks all of its records) or an article id. ``before`` picks articles
    published before that day: an undated article is never picked by it. No criterion picks nothing.
    """
    if not targets and before is None and outlet is None:
        return [], []
    picked, missed = list(docs), list[str]()
    if targets:
        names = {d.doc_id: _names(d) for d in picked}
        keys = {target: _keys(target) for target in targets}
        every = set().union(*names.values())
        missed = [t for t, k in keys.items() if not k & every]
        wanted = set().union(*keys.values())
        picked = [d for d in picked if wanted & names[d.doc_id]]
    if before is not None:
        picked = [d for d in picked if d.published is not None and d.published < before]
    if outlet is not None:
        picked = within(picked, outlet=outlet)
    return picked, missed


def _keys(target: str) -> set[str]:
    """What a typed URL, path or id may equal among an article's names."""
    from rag.ingest.sources.common import canonical_url

    text = target.strip()
    if text.startswith(("http://", "https://")):
        return {text, canonical_url(text)}
    if text.startswith(FILE_ID):
        return {text, text.removeprefix(FILE_ID)}
    return {text, Path(text).expanduser().resolve().as_posix()} if text else set()


def _names(doc: Document) -> set[str]:
    """An article's id, URL (canonical too) and file path, with and without its record locator."""
    from rag.ingest.sources.common import canonical_url

    names = {doc.doc_id, doc.url, canonical_url(doc.url) if doc.url else ""}
    if doc.doc_id.startswith(FILE_ID):
        path = doc.doc_id.removeprefix(FILE_ID)
        names |= {path, path.split("#", 1)[0]}
    return names - {""}


def remove(index: Index, docs: Iterable[Document]) -> list[Document]:
    """Delete these articles from both sides of the index at once; the ones removed come back.

    Inside ``writing``, as an ingest's deletes are: the keyword side is marked stale while Chroma changes
    and rebuilt after, so a search never sees an article on one side and not the other; and as the index's
    sole writer, so another process's ingest into it waits (or is waited for).
    """
    gone = list(docs)
    if gone:
        with sole_writer(index.dir), index.writing(changes=True):
            index.delete_docs(d.doc_id for d in gone)
    return gone


def stats(index: Index) -> dict[str, Any]:
    """What the index holds: articles, passages, outlets, publication range, size on disk, model."""
    docs, outlets, days = set(), set(), []
    for page in index.chroma.pages(["metadatas"]):
        for meta in page["metadatas"]:
            docs.add(str(meta["doc_id"]))
            outlets.add(str(meta.get("outlet") or ""))
            days += [str(meta["published"])] if meta.get("published") else []
    size = sum(f.stat().st_size for f in index.dir.rglob("*") if f.is_file()) if index.dir.is_dir() else 0
    return {"index": index.name, "location": index.location, "articles": len(docs), "passages": index.count(),
            "outlets": len(outlets - {""}), "first_published": min(days, default=None),
            "last_published": max(days, default=None), "bytes_on_disk": size,
            "embed_model": index.manifest.get("embed_model"), "dimension": index.manifest.get("dimension")}
