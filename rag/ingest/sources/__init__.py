"""Readers: turn files, folders and URLs into ``Article``s (or ``Failure``s saying why not).

``read_sources`` is the one entry point. It is a generator so a large folder or dump
streams through the pipeline, and it never raises for bad input: each unreadable
item becomes a ``Failure`` and the other items still come through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from rag.config import Settings
from rag.ingest.sources.common import binary_failure, decode_bytes, load_bytes
from rag.ingest.sources.detect import kind_of_path, sniff
from rag.ingest.sources.feed import read_feed
from rag.ingest.sources.html import read_html
from rag.ingest.sources.jsondump import read_json_text, read_jsonl
from rag.ingest.sources.text import read_text
from rag.ingest.sources.web import Fetched, FetchError, fetch
from rag.types import Article, Failure

__all__ = ["read_sources", "read_file", "read_url", "read_fetched", "iter_files"]


def read_sources(target: str | Path, settings: Settings) -> Iterator[Article | Failure]:
    """Every article in a file, a folder (recursively) or at an http(s) URL."""
    if isinstance(target, str) and "://" in target:
        yield from read_url(target, settings)
        return
    path = Path(target).expanduser()
    if path.is_dir():
        for item in iter_files(path):
            if isinstance(item, Failure):
                yield item
            else:
                yield from read_file(item, settings)
    elif path.exists():
        yield from read_file(path, settings)
    else:
        yield Failure(
            str(target), "no such file, folder or URL; check the path (URLs need http:// or https://)"
        )


def iter_files(root: Path) -> Iterator[Path | Failure]:
    """Files under ``root`` in a stable order, skipping hidden ones; unreadable folders as Failures."""
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, onerror=errors.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield from (Path(folder, name) for name in sorted(files) if not name.startswith("."))
    for error in errors:
        reason = f"cannot list folder ({error.strerror}); check its permissions"
        yield Failure(str(error.filename or root), reason)


def read_file(path: Path, settings: Settings) -> Iterator[Article | Failure]:
    """The articles of one file, chosen by extension, or by content for unknown extensions."""
    if not path.is_file():
        yield Failure(str(path), "not a regular file (a device, pipe or broken link); remove it")
        return
    kind = kind_of_path(path)
    if kind == "jsonl":
        yield from read_jsonl(path)
        return
    data = load_bytes(path, settings)
    if isinstance(data, Failure):
        yield data
        return
    text = decode_bytes(data)
    if text is None:
        yield binary_failure(str(path))
        return
    kind = kind or sniff(data)
    if kind == "feed":
        yield from read_feed(data, str(path), settings)  # bytes: feedparser honours the XML encoding
    elif kind == "json":
        yield from read_json_text(text, str(path), path)
    elif kind == "html":
        yield read_html(text, str(path), path=path)
    else:
        yield read_text(text, str(path), path=path)


def read_url(url: str, settings: Settings) -> Iterator[Article | Failure]:
    """The article at a web page, or every entry of a feed, told apart by media type and content."""
    try:
        fetched = fetch(url, settings)
    except FetchError as exc:
        yield Failure(url, str(exc))
        return
    yield from read_fetched(fetched, url, settings)


def read_fetched(fetched: Fetched, url: str, settings: Settings) -> Iterator[Article | Failure]:
    """The articles of a downloaded resource (a watcher fetches conditionally, then reads it here)."""
    kind = sniff(fetched.data, fetched.content_type)
    text = fetched.text()
    if text is None:
        yield binary_failure(url)
    elif kind == "feed":
        yield from read_feed(fetched.data, url, settings)
    elif kind == "json":
        yield from read_json_text(text, url)
    elif kind == "html":
        yield read_html(text, url, url=fetched.url)
    else:
        yield read_text(text, url, url=fetched.url)
