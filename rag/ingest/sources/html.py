"""Saved or downloaded HTML pages, through trafilatura.

trafilatura already separates the story from navigation, adverts and comments and
reads the page's metadata (title, date, author, site name, canonical link); this
module only maps its result onto an ``Article``.
"""

from __future__ import annotations

from pathlib import Path

import trafilatura
from lxml.etree import LxmlError

from rag.ingest.sources.common import (
    as_authors,
    canonical_url,
    clean_text,
    file_doc_id,
    parse_date,
    web_url,
)
from rag.ingest.sources.text import readable_outlet
from rag.types import Article, Failure


def read_html(html: str, origin: str, url: str = "", path: Path | None = None) -> Article | Failure:
    """One article from an HTML page; ``url`` is where it came from, ``path`` the file it was saved in.

    The page is cleaned first (``clean_text``): lxml silently cut the text at a lone surrogate.
    """
    try:
        doc = trafilatura.bare_extraction(clean_text(html), url=url or None, with_metadata=True, include_comments=False)
    except (ValueError, LxmlError) as exc:
        return Failure(origin, f"unreadable HTML ({exc}); check the file is a complete web page")
    text = (doc.text or "").strip() if doc else ""
    if not text:
        reason = "no article text found in the HTML page; it may be empty, paywalled or built by JavaScript"
        return Failure(origin, reason)
    title = (doc.title or "").strip()
    page_url = web_url(doc.url) or url
    return Article(
        doc_id=canonical_url(page_url) if page_url else file_doc_id(path) if path else origin,
        title=title,
        body=_without_headline(text, title),
        outlet=readable_outlet([doc.sitename or ""], page_url),
        authors=as_authors(doc.author or ""),
        url=page_url,
        published=parse_date(doc.date),
        origin=origin,
    )


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed entry's content), keeping paragraph breaks.

    The extractor is given the fragment as a whole article; when it finds nothing
    (very short fragments), the plain text of all elements is used instead.
    """
    fragment = clean_text(fragment)
    try:
        doc = trafilatura.bare_extraction(f"<html><body><article>{fragment}</article></body></html>")
    except (ValueError, LxmlError):
        doc = None
    text = (doc.text or "").strip() if doc else ""
    return text or trafilatura.html2txt(f"<html><body>{fragment}</body></html>").strip()


def _without_headline(text: str, title: str) -> str:
    """Drop the headline when the extractor kept the page's <h1> as the first line of text."""
    first, sep, rest = text.partition("\n")
    if title and sep and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest.lstrip("\n")
    return text
