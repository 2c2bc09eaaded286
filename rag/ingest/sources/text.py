"""Plain-text and Markdown articles, as saved from a news page by copy-paste.

Such files carry page furniture around the story (the headline twice, "5 min read",
a dateline, image captions, "Live Story" teasers). The furniture is recognised line
by line and dropped; every other line is kept verbatim, because later stages cite
char offsets into the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import yaml

from rag.ingest.sources.common import (
    as_authors,
    canonical_url,
    clean_text,
    file_doc_id,
    first_field,
    outlet_from_url,
    parse_date,
    text_field,
    web_url,
)
from rag.types import Article, Failure

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^#{1,6}\s+")
_READ_TIME = re.compile(r"^\d+\s*(?:min|mins|minute|minutes)\.?\s+read$", re.I)
# A photo credit in brackets closing the line: "... health ministry. [Getty]", "[AFP via Getty]".
_CAPTION = re.compile(r"\[[A-Z][^\[\]]{0,60}\]$")
_LIVE_STORY = re.compile(r"^live\s+story$", re.I)
_MAX_DATELINE = 40
_MAX_LABEL_WORDS = 3
_MAX_HEADLINE = 200
# A value that names a file, not a publisher: "000_6f57e6f2.txt", "/home/ana/news/page.html", "file:///...".
_FILE_LIKE = re.compile(r"^(?:file:|[/~\\]|\.\.?[/\\])|\\|\.(?:txt|md|markdown|html?|jsonl?|xml|rss|atom|csv|pdf)$",
                        re.I)
OUTLET_KEYS = ("outlet", "source", "site_name", "sitename", "site", "publisher")


def read_text(text: str, origin: str, url: str = "", path: Path | None = None) -> Article | Failure:
    """One article from a text/Markdown file or response (optional YAML front matter for metadata)."""
    meta = split_front_matter(clean_text(text))
    if isinstance(meta, Failure):
        return Failure(origin, meta.reason)
    fields, rest = meta
    lines = [line.rstrip() for line in rest.splitlines()]
    title, lines = take_title(lines, text_field(fields, "title", "headline"))
    lines, dateline = drop_furniture(lines)
    body = join_paragraphs(lines)
    if not body:
        return Failure(origin, "no article text (only a headline or page furniture); add the story text")
    url = web_url(first_field(fields, "url", "link", "canonical_url")) or url
    outlet = readable_outlet((text_field(fields, key) for key in OUTLET_KEYS), url)
    return Article(
        doc_id=canonical_url(url) if url else file_doc_id(path) if path else origin,
        title=title,
        body=body,
        outlet=outlet,
        authors=as_authors(first_field(fields, "authors", "author")),
        url=url,
        published=parse_date(first_field(fields, "date", "published", "publish_date")) or dateline,
        origin=origin,
    )


def readable_outlet(names: Iterable[str], url: str = "") -> str:
    """An outlet a reader recognises: the first name given that is one, else the host of the article's URL.

    A URL given as a name stands for its host. A file name or path is no outlet ("file 000_1.txt" in a
    citation says nothing): it gives way to the next name, the URL's host, or "" when there is none,
    and citations then show the headline alone.
    """
    for given in names:
        name = " ".join(given.split())
        if name.casefold().startswith(("http://", "https://", "www.")):
            name = outlet_from_url(name if "://" in name else f"https://{name}")
        if name and not _FILE_LIKE.search(name):
            return name
    return outlet_from_url(url)


def split_front_matter(text: str) -> tuple[dict, str] | Failure:
    """Metadata from a leading ``---`` YAML block, and the text after it.

    Besides YAMLError, PyYAML raises ValueError for a date that does not exist ("2023-02-30") and
    RecursionError for deeply nested brackets: all three mean "fix the block", not a crash.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        fields = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return Failure("", f"front matter is not valid YAML ({exc.__class__.__name__}); fix the --- block")
    except ValueError as exc:
        return Failure("", f"front matter holds an impossible value ({exc}); fix the --- block")
    except RecursionError:
        return Failure("", "front matter is nested too deeply to be metadata; fix the --- block")
    if not isinstance(fields, dict):
        return {}, text  # a Markdown rule, not metadata
    return fields, text[match.end() :]


def take_title(lines: list[str], known: str) -> tuple[str, list[str]]:
    """The headline (the front matter's, or the first line) and the lines after it.

    The first line counts as a headline only if it looks like one: a Markdown heading,
    or a short line not ending like a sentence, followed by more text. Saved pages
    repeat the headline on the next line; the repeat is dropped too.
    """
    start = _first_text(lines, 0)
    if start is None:
        return known, lines
    first = _HEADING.sub("", lines[start]).strip()
    if known:
        return known, _drop_repeat(lines, start, known) if _same(first, known) else lines
    rest_start = _first_text(lines, start + 1)
    if rest_start is None or not _looks_like_headline(lines[start]):
        return "", lines
    return first, _drop_repeat(lines, start, first)


def _drop_repeat(lines: list[str], start: int, title: str) -> list[str]:
    rest = lines[start + 1 :]
    nxt = _first_text(rest, 0)
    if nxt is not None and _same(_HEADING.sub("", rest[nxt]), title):
        del rest[nxt]
    return rest


def _first_text(lines: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(lines)) if lines[i].strip()), None)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _looks_like_headline(line: str) -> bool:
    if _HEADING.match(line):
        return True
    stripped = line.strip().rstrip("\"'”’)")
    return len(stripped) <= _MAX_HEADLINE and not stripped.endswith((".", ",", ";", ":"))


def drop_furniture(lines: list[str]) -> tuple[list[str], date | None]:
    """Lines without page furniture, and the date of the first dateline found (or None)."""
    kept: list[str] = []
    dateline: date | None = None
    for line in lines:
        text = line.strip()
        if _LIVE_STORY.match(text):
            if kept and _is_label(kept[-1]):
                kept.pop()  # the section label above a teaser: "Analysis", "MENA"
            continue
        if _READ_TIME.match(text) or _CAPTION.search(text):
            continue
        when = _dateline(text)
        if when is not None:
            dateline = dateline or when
            continue
        kept.append(line)
    return kept, dateline


def _dateline(text: str) -> date | None:
    """The date, if the whole line is just a date ("25 October, 2023")."""
    if not text or len(text) > _MAX_DATELINE or not any(c.isdigit() for c in text):
        return None
    return parse_date(text)


def _is_label(line: str) -> bool:
    text = line.strip()
    return bool(text) and len(text.split()) <= _MAX_LABEL_WORDS and text[-1].isalnum()


def join_paragraphs(lines: list[str]) -> str:
    """Blank-line separated paragraphs, each kept as written; runs of blanks become one."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\n".join(p) for p in paragraphs if p)
