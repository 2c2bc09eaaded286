"""Which reader a file or download needs: by extension first, else by looking at the bytes."""

from __future__ import annotations

import codecs
from pathlib import Path

EXTENSIONS = {
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
_FEED_ROOTS = (b"<rss", b"<feed", b"<rdf:rdf")
_SNIFF_BYTES = 4096


def kind_of_path(path: Path) -> str | None:
    """The reader for a known extension; None means "look at the content"."""
    return EXTENSIONS.get(path.suffix.lower())


def sniff(data: bytes, media_type: str = "") -> str:
    """The reader kind ("html", "feed", "json", "text") from the first bytes and the media type.

    A feed's root element wins over the media type because servers often label
    feeds text/html or text/plain; an HTML doctype or root wins over XML hints.
    """
    head = data[:_SNIFF_BYTES].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if any(root in head for root in _FEED_ROOTS):
        return "feed"
    if media_type in HTML_TYPES or b"<html" in head:
        return "html"
    if media_type in FEED_TYPES or head.startswith(b"<?xml"):
        return "feed"
    if "json" in media_type or head[:1] in (b"{", b"["):
        return "json"
    return "text"
