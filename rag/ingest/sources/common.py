"""Helpers every reader shares: loading and decoding bytes, dates, URLs, authors.

Kept in one place so a text file, a JSON record and a feed entry agree on what a
date or an article's identity is: the same story read two ways gets the same id.
"""

from __future__ import annotations

import codecs
import email.utils
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import charset_normalizer

from rag.config import Settings
from rag.types import Failure

_TRACKING = {"fbclid", "gclid"}
_SCHEMES = ("http", "https")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DATEPARSER_SETTINGS = {
    # News dates are absolute: "yesterday" or "October" alone would invent a day.
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}


def load_bytes(path: Path, settings: Settings) -> bytes | Failure:
    """Read a whole file, refusing it by size *before* reading so a huge file costs nothing."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > settings.ingest.max_file_mb * 1024 * 1024:
            mb = size / 1024 / 1024
            return Failure(
                origin,
                f"file too large ({mb:.1f} MB > max_file_mb={settings.ingest.max_file_mb:g}); "
                "split it, use JSONL (streamed without a size limit) or raise RAG_MAX_FILE_MB",
            )
        data = path.read_bytes()
    except OSError as exc:
        return Failure(origin, f"cannot read file ({exc.strerror or exc}); check it exists and is readable")
    if not data.strip():
        return Failure(origin, "empty file; remove it or add the article text")
    return data


def decode_bytes(data: bytes) -> str | None:
    """UTF-8 first (what almost everything is), then charset_normalizer's best guess.

    On Western text charset_normalizer often ranks cp1250/cp852 level with cp1252 and
    picks the wrong one ("naïve" -> "naďve"); cp1252, the usual legacy encoding of
    English news, wins such ties. Returns None for binary content (NUL bytes without
    a UTF-16 BOM, or no plausible encoding), so callers can say "binary file".
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos), None)
    return str(western or best)


def clean_text(text: str) -> str:
    """Text that every later stage can store and show.

    Lone surrogates (a JSON "\\ud800" escape, an XML "&#xD800;" reference) become U+FFFD: the
    tokenizer, Chroma and the terminal cannot encode them, and one such article crashed the whole
    ingest. Control characters (NUL, ESC, ...) are dropped: no story contains them, and an ESC
    sequence in a headline would rewrite the terminal that prints it. Tabs and line breaks stay.
    """
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def binary_failure(origin: str) -> Failure:
    """The one message for content that is not text in any encoding."""
    return Failure(
        origin, "binary file (not text in any known encoding); convert it to text, HTML or JSON, or remove it"
    )


def parse_date(value: object) -> date | None:
    """Any date a news source might give, as a ``date``; None when there is no real date.

    ISO and RFC 2822 are tried first because they are exact and cheap; dateparser
    (slow to import, so imported here) handles the rest, like "25 October, 2023".
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        pass
    import dateparser

    parsed = dateparser.parse(text, languages=["en"], settings=_DATEPARSER_SETTINGS)
    return parsed.date() if parsed else None


def web_url(value: object) -> str:
    """An article's link if it is a well-formed http(s) URL, else "".

    Links come from the documents themselves: a "javascript:" or "file:" link, a port past 65535 or
    an unclosed "[" (which made ``urlsplit`` raise inside a reader) is no link to show or to key on.
    """
    url = clean_text(value).strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return ""
    return url if parts.scheme.lower() in _SCHEMES and parts.hostname else ""


def canonical_url(url: str) -> str:
    """One spelling per article URL, so re-reading it from another source does not duplicate it.

    A URL that does not parse is kept as written (stripped): it still identifies the article.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").removeprefix("www.")
    if port and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    # Filter the raw "k=v" pieces rather than re-encoding: the rest of the query stays byte-identical.
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p.split("=", 1)[0]))
    return urlunsplit((scheme, host, parts.path.rstrip("/") or "/", query, ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith("utm_") or key in _TRACKING


def outlet_from_url(url: str) -> str:
    """The site's host without "www.": the best outlet name a bare URL offers ("" if it does not parse)."""
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


def file_doc_id(path: Path, locator: str = "") -> str:
    """Id for an article with no URL: its absolute path (plus where in the file it is)."""
    doc_id = "file://" + path.resolve().as_posix()
    return f"{doc_id}#{locator}" if locator else doc_id


def as_authors(value: object) -> tuple[str, ...]:
    """Authors as a tuple, from a list, a list of {"name": ...} or an "A, B and C" string.

    Only strings count as names: ``str()`` of a nested list is no name, and of a YAML alias bomb
    (each level ten references to the one below) it would never finish.
    """
    if isinstance(value, str):
        value = value.replace(" and ", ",").replace(";", ",").split(",")
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, Iterable):
        return ()
    names = (item.get("name") if isinstance(item, dict) else item for item in value)
    cleaned = (clean_text(n).strip() for n in names if isinstance(n, str))
    return tuple(dict.fromkeys(n for n in cleaned if n))


def first_field(record: dict, *keys: str) -> object:
    """The first non-empty value among equivalent field names (scrapers disagree on naming)."""
    for key in keys:
        value = record.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def text_field(record: dict, *keys: str) -> str:
    """``first_field`` as clean text, when it is a scalar (a string or a number); else "".

    Documents put anything anywhere: a title that is a list or an object is no title, and
    ``str()`` of it would put Python's repr (or, for a YAML alias bomb, billions of items) in its place.
    """
    value = first_field(record, *keys)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return clean_text(str(value)).strip()
