"""The chunk-metadata schema: how a Chunk is written to the index and read back as a Hit, in one place.

Chroma keeps flat scalars only: dates are also stored as yyyymmdd integers (range filters take
numbers), authors as one string, and the days a passage reports as "first-last" spans. Each passage
also says when its document was first written and when this version was (UTC, to the second), so the
library can tell what is new; records written before these fields existed simply lack them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rag.types import Chunk, Hit


def utc_now() -> str:
    """The current time as stored in ``ingested``: UTC ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunk_metadata(chunk: Chunk, source: str, ingested: str | None = None,
                   first_ingested: str | None = None) -> dict[str, str | int]:
    """The index edge of a Chunk: flat scalars only, dates also as yyyymmdd integers.

    ``ingested`` is when this version is written (now by default); ``first_ingested`` when the document
    first was (None for a new document: the same moment; "" when an older index never recorded it).
    """
    a = chunk.article
    ingested = ingested or utc_now()
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
        "published_int": day_number(a.published),
        "events": format_events(chunk.events),
        "source": source,
        "origin": a.origin,
        "ingested": ingested,
        "first_ingested": ingested if first_ingested is None else first_ingested,
    }


def to_hit(chunk_id: str, document: str, meta: dict[str, Any], score: float = 0.0,
           similarity: float = 0.0) -> Hit:
    """The one place a stored record becomes a Hit. A record stored before passages kept their event
    dates has them read from its text now, so older indexes filter the same way."""
    published_text = str(meta.get("published") or "")
    published = date.fromisoformat(published_text) if published_text else None
    if "events" in meta:
        events = parse_events(str(meta["events"]))
    else:
        from rag.query.events import event_dates

        events = tuple(event_dates(document, published))
    return Hit(
        chunk_id=chunk_id, doc_id=str(meta["doc_id"]), text=document, title=str(meta.get("title", "")),
        outlet=str(meta.get("outlet", "")), url=str(meta.get("url", "")), published=published,
        start=int(meta.get("start", 0)), end=int(meta.get("end", 0)), score=score, similarity=similarity,
        events=events,
    )


def day_number(day: date | None) -> int:
    """A date as the yyyymmdd integer filters compare; 0 for undated."""
    return int(day.strftime("%Y%m%d")) if day else 0


def format_events(events: tuple[tuple[date, date], ...]) -> str:
    """Event spans as one metadata string (Chroma keeps scalars only): "20231023-20231023 20231016-20231022"."""
    return " ".join(f"{a:%Y%m%d}-{b:%Y%m%d}" for a, b in events)


def parse_events(text: str) -> tuple[tuple[date, date], ...]:
    """``format_events`` read back."""
    def day(digits: str) -> date:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))

    return tuple((day(a), day(b)) for a, b in (span.split("-") for span in text.split()))
