"""`newsrag bench keyword`: what adding articles costs the keyword side, against rebuilding it whole.

A copy of an embedded index is made in a scratch folder; in one run there, the keyword side is
rebuilt from the whole collection (the baseline: what every write cost before segments), then
``--articles`` new articles are ingested and the keyword side's share of that write (the segment
added, ``Index._after_write``) is timed, then a second process's view of the index (a reader that
had the previous generation loaded) catches up. Dense writes and embedding are not part of it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.benchmarks.common import machine
from rag.config import Settings
from rag.engine import Engine


def bench_keyword(settings: Settings, sources: list[str], articles: int = 100) -> str:
    """Time a full keyword rebuild, one write's segment and a reader's catch-up on a copy of the index."""
    from rag.index import Index
    from rag.ingest.ingest import ingest

    with tempfile.TemporaryDirectory(prefix="newsrag-keyword-") as tmp:
        scratch = settings.replace(index_root=Path(tmp))
        shutil.copytree(settings.index_dir, scratch.index_dir)
        engine = Engine(scratch)
        index = engine.index()
        started = time.perf_counter()
        index.rebuild()
        full = time.perf_counter() - started
        reader = Index(scratch)
        reader.keyword()
        timed: dict[str, float] = {}
        time_after_write(index, timed)
        report = ingest(sources, engine, progress=False, reader=_first(articles))
        started = time.perf_counter()
        caught = reader.keyword()
        reader_s = time.perf_counter() - started
        assert len(caught) == index.count(), "the reader did not catch up"
        figures = {"passages": index.count(), "added": len(report.added), "chunks": report.chunks, "full_s": full,
                   "segment_s": timed["s"], "reader_s": reader_s}
    return _markdown(figures, settings.index)


def time_after_write(index: Any, timed: dict[str, float]) -> None:
    """Record how long the keyword side's part of the next write takes."""
    original = index._after_write

    def after_write(rows: Any, deleted: Any) -> Any:
        started = time.perf_counter()
        result = original(rows, deleted)
        timed["s"] = time.perf_counter() - started
        return result

    index._after_write = after_write


def _first(limit: int) -> Any:
    """A reader of the first ``limit`` articles of a source."""
    from rag.ingest.sources import read_sources
    from rag.types import Article

    def read(target: str, settings: Settings) -> list[Any]:
        found = [a for a in read_sources(target, settings) if isinstance(a, Article)]
        return found[:limit]

    return read


def _markdown(f: dict[str, Any], name: str) -> str:
    share = f["segment_s"] / f["full_s"]
    return "\n".join([
        f"index `{name}` ({f['passages']} passages after the write); {machine()}", "",
        "| keyword side | seconds | share of a full rebuild |", "| --- | ---: | ---: |",
        f"| full rebuild from the collection (baseline) | {f['full_s']:.2f} | 1.000 |",
        f"| one write: {f['added']} articles, {f['chunks']} passages, as a segment | {f['segment_s']:.3f} | "
        f"{share:.3f} |",
        f"| a reader catching up on that write | {f['reader_s']:.3f} | {f['reader_s'] / f['full_s']:.3f} |"])
