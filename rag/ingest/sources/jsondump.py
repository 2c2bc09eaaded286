"""Scraper dumps: a JSON object, a JSON list, or JSON Lines, one article per record.

Field names differ between scrapers (newspaper, news-please, NewsAPI, RealTime QA),
so each field is looked up under its common spellings. One bad line or record is one
``Failure``; the rest of the dump still comes through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from rag.ingest.sources.common import (
    as_authors,
    binary_failure,
    canonical_url,
    clean_text,
    decode_bytes,
    file_doc_id,
    first_field,
    parse_date,
    text_field,
    web_url,
)
from rag.ingest.sources.text import readable_outlet
from rag.types import Article, Failure

TEXT_KEYS = ("text", "body", "content", "maintext", "full_text", "article")
DATE_KEYS = ("publish_date", "published", "date", "date_publish", "published_at", "pubDate")
OUTLET_KEYS = ("source", "outlet", "site_name", "sitename", "source_domain", "publisher")
_SNIFF_BYTES = 8192
NESTED_KEY = "search_result"  # RealTime QA: one question, a list of retrieved articles
_TOO_DEEP = "JSON nested too deeply to be an article; an article is one flat object: fix the file"


def read_jsonl(path: Path) -> Iterator[Article | Failure]:
    """Stream a JSON Lines file line by line, so its size does not matter."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Failure(str(path), f"cannot read file ({exc.strerror or exc}); check it exists and is readable")
        return
    with handle:
        if b"\x00" in handle.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]:
            yield binary_failure(str(path))
            return
        empty = True
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                empty = False
                yield from _read_line(raw, str(path), number, path)
    if empty:
        yield Failure(str(path), "empty file; remove it or add one JSON object per line")


def read_json_text(text: str, origin: str, path: Path | None = None) -> Iterator[Article | Failure]:
    """Records of a whole JSON document (object or list), or of JSON Lines saved as .json."""
    try:
        data = json.loads(text)
    except RecursionError:  # json's C parser recurses per level: "[[[[..." would crash the reader
        yield Failure(origin, _TOO_DEEP)
        return
    except json.JSONDecodeError as exc:
        if not _looks_like_jsonl(text):
            where = f"line {exc.lineno} column {exc.colno}"
            yield Failure(origin, f"invalid JSON ({exc.msg} at {where}); fix the file")
            return
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield from _read_line(line, origin, number, path)
        return
    yield from records(data, origin, "", path)


def _looks_like_jsonl(text: str) -> bool:
    """JSON Lines if the first line is a complete JSON object on its own (pretty JSON's is just "{")."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _read_line(raw: bytes | str, origin: str, number: int, path: Path | None) -> Iterator[Article | Failure]:
    where = f"{origin}:{number}"
    line = decode_bytes(raw) if isinstance(raw, bytes) else raw
    if line is None:
        yield Failure(where, "line is not text (binary data); fix or remove the line")
        return
    try:
        data = json.loads(line)
    except RecursionError:
        yield Failure(where, _TOO_DEEP)
        return
    except json.JSONDecodeError as exc:
        yield Failure(where, f"invalid JSON ({exc.msg} at column {exc.colno}); fix or remove the line")
        return
    yield from records(data, origin, f":{number}", path)


def records(data: object, origin: str, locator: str, path: Path | None) -> Iterator[Article | Failure]:
    """Articles of one parsed value: a list, a RealTime QA ``search_result`` holder, or a record.

    Not recursive: a dump nests at most list -> holder -> records, and walking any depth let
    "[[[...1...]]]" just shallow enough for ``json.loads`` exhaust the stack one level further on.
    An empty list is a Failure (it vanished without a word before); a question whose
    ``search_result`` is empty is not: RealTime QA has such questions, and they hold no articles.
    """
    if data == []:
        yield Failure(origin + locator, "empty JSON list: no articles in it; add records or remove it")
    items = enumerate(data) if isinstance(data, list) else [(None, data)]
    for index, item in items:
        where = locator if index is None else f"{locator}[{index}]"
        if isinstance(item, dict) and isinstance(item.get(NESTED_KEY), list):
            for inner, record in enumerate(item[NESTED_KEY]):
                yield record_article(record, origin, f"{where}[{inner}]", path)
        else:
            yield record_article(item, origin, where, path)


def record_article(data: object, origin: str, locator: str, path: Path | None) -> Article | Failure:
    """One record as an Article; without a URL its id is its place in the file."""
    where = origin + locator
    if not isinstance(data, dict):
        return Failure(where, f"expected a JSON object (an article), got {type(data).__name__}; fix it")
    body = first_field(data, *TEXT_KEYS)
    body = clean_text(body).strip() if isinstance(body, str) else ""
    if not body:
        return Failure(where, "record has no article text (a non-empty 'text', 'body' or 'content'); add it")
    url = web_url(first_field(data, "url", "link"))
    key = locator.lstrip(":")
    fallback = file_doc_id(path, key) if path else f"{origin}#{key}"
    return Article(
        doc_id=canonical_url(url) if url else fallback,
        title=text_field(data, "title", "headline"),
        body=body,
        outlet=readable_outlet((_outlet(data.get(key)) for key in OUTLET_KEYS), url),
        authors=as_authors(first_field(data, "authors", "author", "byline")),
        url=url,
        published=parse_date(first_field(data, *DATE_KEYS)),
        origin=where,
    )


def _outlet(value: object) -> str:
    """An outlet name from a string or a NewsAPI-style ``{"id": ..., "name": ...}``."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or ""
    return clean_text(value).strip() if isinstance(value, str) else ""
