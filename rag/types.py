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
    def events(self) -> tuple[tuple[date, date], ...]:
        """The days the passage says things happened on, read against the article's publication date."""
        from rag.query.events import event_dates

        return tuple(event_dates(self.text, self.article.published))

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the headline gives a passage its missing context."""
        return f"{self.article.title}\n{self.text}" if self.article.title else self.text


def doc_key(doc_id: str) -> str:
    """Short fixed-length key for a document id (URLs can be very long)."""
    return hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Answerer(str):
    """Who writes an answer, checked when named: "extractive" (quotes, no model), "local", "local:MODEL",
    "local:PATH.gguf", "openai" or "ollama"; "given" for an answer someone else wrote (``check``).

    A string, so it prints, compares and serialises as its name; ``kind`` and ``generative`` say
    what it is without anyone parsing the name again.
    """

    KINDS = ("extractive", "local", "openai", "ollama", "given")

    def __new__(cls, spec: str) -> Answerer:
        spec = str(spec).strip()
        kind, colon, arg = spec.partition(":")
        if kind not in cls.KINDS or (colon and (kind != "local" or not arg)):
            raise ValueError(f"answerer must be extractive, local, local:MODEL, local:PATH.gguf, openai or ollama, "
                             f"got {spec!r}")
        return super().__new__(cls, spec)

    @property
    def kind(self) -> str:
        """extractive, local, openai, ollama or given."""
        return self.partition(":")[0]

    @property
    def generative(self) -> bool:
        """True when a generative model writes the answer (and can judge claims as the verifier)."""
        return self.kind in ("local", "openai", "ollama")


EXTRACTIVE = Answerer("extractive")


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with everything a citation has to show about it."""

    chunk_id: str
    doc_id: str
    text: str
    title: str
    outlet: str
    url: str
    published: date | None
    start: int  # char offsets of the passage in the article body
    end: int
    score: float = 0.0  # fused retrieval score (higher is better)
    similarity: float = 0.0  # cosine between question and passage
    also_in: tuple[str, ...] = ()  # other outlets carrying a near-identical passage
    events: tuple[tuple[date, date], ...] = ()  # days the passage says things happened on (Chunk.events)

    @property
    def label(self) -> str:
        """Outlet, headline and date, as a source line shows them; the headline alone when the outlet is unknown
        (a file name is no outlet)."""
        when = self.published.isoformat() if self.published else "undated"
        headline = self.title or self.text[:80]
        return f"{self.outlet}: {headline} ({when})" if self.outlet else f"{headline} ({when})"


@dataclass(frozen=True, slots=True)
class Citation:
    """A [n] in an answer, resolved to the sentence of the source that supports it."""

    n: int  # the source's number in the answer (1-based)
    hit: Hit
    quote: str  # the supporting sentence of the passage
    start: int  # char span of ``quote`` in the article body
    end: int
    support: float  # how well the quote supports the claim, 0..1


@dataclass(slots=True)
class Claim:
    """One sentence of an answer, with its citations and whether the sources back it."""

    text: str
    citations: list[Citation]
    supported: bool
    reason: str = ""  # why it is not supported, for a person to read
    judge: str = "fast"  # what decided: "fast" (words, facts, embeddings), "model" (the verifier) or "quote"
    confidence: float = 1.0  # how sure that judge is that the sources back the sentence, 0..1
    # sentences of other sources that state a different figure, name or date for the same thing
    contested_by: list[Citation] = field(default_factory=list)


@dataclass(slots=True)
class Answer:
    """What every answerer returns, whatever produced the text."""

    question: str
    text: str  # the answer with [n] markers, after checking
    claims: list[Claim]
    sources: list[Hit]  # numbered 1..len(sources), as the answerer saw them
    refused: bool
    as_of: date
    window: tuple[date | None, date | None] = (None, None)  # publication window searched
    answerer: Answerer = EXTRACTIVE
    fallback: str = ""  # why the reply is not the answerer's own words (a refusal, both sides of a dispute)
    timings: dict[str, float] = field(default_factory=dict)
    # a model choosing among offered alternatives: its probability of each (in the order asked) under
    # every rotation of their order, row 0 being the order as asked; the mean log-probability decides
    choice_readings: list[list[float]] = field(default_factory=list)
    # the text the answerer read: a model's evidence block, or the extractive answerer's passages (for
    # measuring whether the answer was there to be found)
    evidence: str = ""
    # how likely the reply is right, by the judgement of rag.answer.judge (None: not judged), and its signals
    confidence: float | None = None
    signals: dict[str, float] = field(default_factory=dict)

    @property
    def newest(self) -> date | None:
        """Publication date of the newest source cited (or retrieved, if none is cited)."""
        cited = {c.n for claim in self.claims for c in claim.citations}
        pool = [h for i, h in enumerate(self.sources, 1) if i in cited] or self.sources
        dates = [h.published for h in pool if h.published]
        return max(dates) if dates else None

    def recency(self) -> str:
        """How recent the newest source is, relative to the as-of date."""
        newest = self.newest
        if newest is None:
            return "No dated source."
        days = (self.as_of - newest).days
        return f"Newest source: {newest.isoformat()} ({days} day{'s' if days != 1 else ''} before {self.as_of})."

    def to_dict(self) -> dict:
        """JSON-ready: every field, dates as ISO strings, plus the newest source date."""
        from dataclasses import asdict

        def plain(value: object) -> object:
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        newest = self.newest
        return plain(asdict(self) | {"newest": newest})  # type: ignore[return-value]
