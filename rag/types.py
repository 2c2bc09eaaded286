"""The one chain of data types: Article -> Chunk (-> Hit -> Citation -> Answer).

Everything the pipeline passes between stages is one of these; conversions to and
from Chroma, JSON or Gradio happen at the edges, in classmethods, never ad hoc.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

_WS = re.compile(r"\s+")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Article:
    """One news article, whatever it was read from.

    ``doc_id`` is the canonical URL (or the normalised path for a local file without
    one): re-reading the same article gives the same id, so re-ingestion replaces it
    instead of duplicating it.
    """

    doc_id: str
    title: str
    body: str
    outlet: str = ""
    authors: tuple[str, ...] = ()
    url: str = ""
    published: date | None = None
    origin: str = ""  # where it was read from (path, URL, path:line), for messages

    @property
    def version(self) -> str:
        """Hash of everything stored for the article: a change means re-embedding."""
        published = self.published.isoformat() if self.published else ""
        return _digest(self.title, self.body, self.outlet, "|".join(self.authors), self.url, published)

    @property
    def content_key(self) -> str:
        """Hash of the normalised body: the same story under two URLs has one key."""
        return _digest(_WS.sub(" ", self.body).strip().lower())


@dataclass(frozen=True, slots=True)
class Failure:
    """An item that could not be read, with a reason a person can act on."""

    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of an article; ``start``/``end`` are char offsets into ``Article.body``."""

    article: Article
    index: int
    start: int
    end: int
    text: str = field(repr=False)
    n_chunks: int = 0  # chunks in the whole article: lets a re-run see a half-written one

    @property
    def id(self) -> str:
        """Stable per article version, so a changed article's chunks never collide."""
        return f"{doc_key(self.article.doc_id)}:{self.article.version[:12]}:{self.index}"

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the headline gives a passage its missing context."""
        return f"{self.article.title}\n{self.text}" if self.article.title else self.text


def doc_key(doc_id: str) -> str:
    """Short fixed-length key for a document id (URLs can be very long)."""
    return hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
