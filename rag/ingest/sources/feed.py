"""RSS and Atom feeds, through feedparser, one article per entry.

Feeds often carry only a teaser, so an entry's text comes from the best source
available: its full ``content``, else the linked page (fetched with the safe
fetcher), else its summary. feedparser is only ever given bytes: it never fetches.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date

import feedparser

from rag.config import Settings
from rag.ingest.sources.common import as_authors, canonical_url, clean_text, outlet_from_url, parse_date, web_url
from rag.ingest.sources.html import html_to_text, read_html
from rag.ingest.sources.web import FetchError, fetch
from rag.types import Article, Failure

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARREF = re.compile(rb"&#(x[0-9a-f]+|[0-9]+);?", re.I)  # the lenient parser needs no ";"
_MAX_CODE_POINT = 0x10FFFF


def read_feed(data: bytes, origin: str, settings: Settings) -> Iterator[Article | Failure]:
    """Every entry of a feed; a document that is not a feed, or has no entries, is one Failure."""
    parsed = feedparser.parse(io.BytesIO(_valid_charrefs(data)))
    if not parsed.entries:
        yield Failure(origin, _empty_reason(parsed))
        return
    outlet = clean_text(str(parsed.feed.get("title", ""))).strip()
    for index, entry in enumerate(parsed.entries):
        yield entry_article(entry, f"{origin}[entry {index}]", outlet, settings)


def _valid_charrefs(data: bytes) -> bytes:
    """The feed with numeric character references that name no character replaced by U+FFFD.

    feedparser's lenient parser calls ``chr()`` on every "&#...;" and crashed on surrogates
    ("&#xD800;", which feeds that encode emoji as UTF-16 pairs contain) and on numbers past U+10FFFF.
    Replacing just those keeps the rest of the feed readable.
    """
    def fix(match: re.Match[bytes]) -> bytes:
        ref = match.group(1)
        code = int(ref[1:], 16) if ref[:1] in b"xX" else int(ref) if len(ref) < 10 else -1
        return match.group() if 0 <= code < 0xD800 or 0xE000 <= code <= _MAX_CODE_POINT else b"&#xFFFD;"

    return _CHARREF.sub(fix, data)


def _empty_reason(parsed: feedparser.FeedParserDict) -> str:
    """Why a document gave no entries: broken XML, not a feed at all, or a feed with nothing in it."""
    if parsed.get("bozo"):
        return f"malformed feed XML ({parsed.bozo_exception}); check it is a complete RSS/Atom feed"
    if not parsed.get("version"):  # absent, not empty, for an empty document (an empty feed URL response)
        return "not an RSS/Atom feed; check the file or URL points at a feed"
    return "feed has no entries; nothing to read until it publishes some"


def entry_article(entry: dict, origin: str, outlet: str, settings: Settings) -> Article | Failure:
    """One entry; the linked page fills in what the entry lacks (text, date, authors)."""
    link = web_url(entry.get("link"))
    body = _content_text(entry)
    page: Article | Failure | None = None
    if not body and link:
        page = _fetch_page(link, settings)
        body = page.body if isinstance(page, Article) else ""
    if not body:
        body = html_to_text(str(entry.get("summary", "")))
    if not body:
        reason = page.reason if isinstance(page, Failure) else "no link to fetch it from"
        return Failure(origin, f"feed entry has no text (no content, no summary; {reason})")
    extra = page if isinstance(page, Article) else None
    return Article(
        doc_id=canonical_url(link) if link else clean_text(str(entry.get("id") or origin)),
        title=clean_text(str(entry.get("title", ""))).strip() or (extra.title if extra else ""),
        body=body,
        outlet=outlet or (extra.outlet if extra else "") or outlet_from_url(link),
        authors=as_authors(entry.get("authors") or entry.get("author")) or (extra.authors if extra else ()),
        url=link,
        published=_entry_date(entry) or (extra.published if extra else None),
        origin=origin,
    )


def _content_text(entry: dict) -> str:
    """The entry's full text, if the feed ships it (Atom <content>, RSS content:encoded)."""
    for content in entry.get("content", []):
        value = clean_text(str(content.get("value", ""))).strip()
        if not value:
            continue
        text = html_to_text(value) if content.get("type", "text/html") in _HTML_TYPES else value
        if text:
            return text
    return ""


def _fetch_page(link: str, settings: Settings) -> Article | Failure:
    try:
        fetched = fetch(link, settings)
    except FetchError as exc:
        return Failure(link, str(exc))
    html = fetched.text()
    if html is None:
        return Failure(link, f"{link} is not a text page (binary content); link an HTML article")
    return read_html(html, link, url=fetched.url)


def _entry_date(entry: dict) -> date | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return date(*parsed[:3])
    return parse_date(entry.get("published") or entry.get("updated"))
