"""`newsrag bench scale`: the store at hundreds of thousands of passages, embedded or on a Chroma server.

Passages are made from a real index's own (the pool's passages recombined: the first half of one, the
second half of another, the headline and outlet of the first, a publication day spread over two years)
with the average of the two stored vectors as theirs: this measures the store, not the encoder. They go
through the real write path (``Index.writing``, ``Index.upsert``: metadata, event dates, keyword segments)
in writes of ``per_write`` passages. Then, in the same run: hybrid retrieval (``retrieve``) of real
questions with and without a date window, the keyword side's cost for one more write of 100 articles
against rebuilding it whole, memory, and disk per 100k passages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rag.benchmarks.common import machine, percentile
from rag.benchmarks.keyword import time_after_write
from rag.config import Settings
from rag.engine import Engine
from rag.types import Article, Chunk

FIRST_DAY = date(2022, 1, 1)
DAYS = 730
PER_ARTICLE = 10  # passages per made-up article


def pool(settings: Settings) -> dict[str, Any]:
    """Texts, headlines, outlets and vectors of every passage of the source index."""
    from rag.index import Index

    texts, titles, outlets, vectors = [], [], [], []
    for page in Index(settings).chroma.pages(["documents", "metadatas", "embeddings"]):
        texts += page["documents"]
        titles += [str(m.get("title") or "") for m in page["metadatas"]]
        outlets += [str(m.get("outlet") or "") for m in page["metadatas"]]
        vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
    return {"texts": texts, "titles": titles, "outlets": outlets, "vectors": np.concatenate(vectors)}


def made_up(source: dict[str, Any], start: int, count: int, seed: int = 7) -> tuple[list[Chunk], np.ndarray]:
    """Passages ``start`` .. ``start + count`` (the same ones for the same numbers), with their vectors."""
    rng = np.random.default_rng(seed + start)
    n = len(source["texts"])
    pairs, days = rng.integers(0, n, size=(count, 2)), rng.integers(0, DAYS, size=count)
    chunks = []
    for offset, ((a, b), day) in enumerate(zip(pairs, days, strict=True)):
        number = start + offset
        first, second = source["texts"][a].split(), source["texts"][b].split()
        body = " ".join(first[: len(first) // 2] + second[len(second) // 2 :])
        article = Article(doc_id=f"https://scale.invalid/{number // PER_ARTICLE}", title=source["titles"][a],
                          body=body, outlet=source["outlets"][a], url=f"https://scale.invalid/{number // PER_ARTICLE}",
                          published=FIRST_DAY + timedelta(days=int(day)))
        chunks.append(Chunk(article, number % PER_ARTICLE, 0, len(body), body, PER_ARTICLE))
    vectors = source["vectors"][pairs[:, 0]] + source["vectors"][pairs[:, 1]]
    return chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(settings: Settings, source: dict[str, Any], passages: int, per_write: int) -> list[dict[str, float]]:
    """Write ``passages`` in writes of ``per_write``; seconds per write, and the keyword side's share."""
    from rag.index import Index

    index = Index(settings, dimension=source["vectors"].shape[1], create=True)
    writes = []
    for start in range(0, passages, per_write):
        timed: dict[str, float] = {}
        time_after_write(index, timed)
        began = time.perf_counter()
        with index.writing(changes=True):
            for low in range(start, min(passages, start + per_write), 5000):
                chunks, vectors = made_up(source, low, min(5000, passages - low, start + per_write - low))
                index.upsert(chunks, vectors, ["bench"] * len(chunks))
        writes.append({"passages": min(per_write, passages - start), "s": time.perf_counter() - began,
                       "keyword_s": timed["s"]})
    return writes


def latency(engine: Engine, questions: list[tuple[str, date]], window: bool) -> dict[str, float]:
    """Hybrid retrieval (top 8) of each question: over the whole index, or published within 30 days."""
    from rag.query.retrieve import retrieve

    last = FIRST_DAY + timedelta(days=DAYS)
    ms = []
    for n, (question, _) in enumerate(questions):
        start = FIRST_DAY + timedelta(days=(n * 37) % (DAYS - 30)) if window else None
        began = time.perf_counter()
        retrieve(question, engine, as_of=last, date_from=start, date_to=start + timedelta(days=30) if start else None)
        ms.append(1000 * (time.perf_counter() - began))
    return {f"p{q}_ms": round(percentile(ms, q), 1) for q in (50, 95, 99)}


def update_cost(settings: Settings, source: dict[str, Any], passages: int) -> dict[str, float]:
    """One more write of 100 articles: the keyword side's seconds, another reader's catch-up, and a full
    keyword rebuild. The reader is a second process on the same folder, or on a Chroma server a second
    machine: its own folder (a copy) on the same collection, following the write by the ids that differ."""
    from rag.index import Index

    other = settings
    if settings.chroma_url:
        other = settings.replace(index_root=settings.index_root.parent / "second-machine")
        shutil.copytree(settings.index_dir, other.index_dir)
    reader, index, timed = Index(other), Index(settings), {}
    reader.keyword()
    time_after_write(index, timed)
    with index.writing(changes=True):
        chunks, vectors = made_up(source, passages, 100 * PER_ARTICLE)
        index.upsert(chunks, vectors, ["bench"] * len(chunks))
    began = time.perf_counter()
    caught = len(reader.keyword())
    reader_s = time.perf_counter() - began
    if caught != index.count():
        raise RuntimeError(f"the reader holds {caught} of {index.count()} passages after catching up")
    began = time.perf_counter()
    index.rebuild()
    return {"segment_s": round(timed["s"], 3), "reader_s": round(reader_s, 3),
            "rebuild_s": round(time.perf_counter() - began, 2)}


def size_mb(path: Path) -> float:
    """Megabytes under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def rss_mb() -> float:
    """This process's resident memory now."""
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    line = next((row for row in status.splitlines() if row.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1000


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """`chroma run` (from the chromadb package) on a free loopback port, for the server mode."""
    from rag.benchmarks.ui import free_port, wait_until_up

    port = free_port()
    command = [sys.executable, "-c", "from chromadb.cli.cli import app; app()", "run", "--path", str(folder),
               "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/v2/heartbeat", seconds=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_scale(settings: Settings, questions: list[tuple[str, date]], passages: int = 500_000,
                per_write: int = 50_000, server: bool = False) -> dict[str, Any]:
    """Build, measure and return the figures (``server``: the collection on a `chroma run` of its own)."""
    source = pool(settings)
    base_mb = rss_mb()
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as tmp, \
            (chroma_server(Path(tmp) / "server") if server else _nothing()) as url:
        scratch = settings.replace(index_root=Path(tmp) / "indexes", index="scale", chroma_url=url)
        writes = fill(scratch, source, passages, per_write)
        engine = Engine(scratch)
        if len(engine.index().keyword()) != passages:  # loaded once, as a running server would have it
            raise RuntimeError(f"the keyword side holds {len(engine.index().keyword())} of {passages} passages")
        latency(engine, questions[:1], window=False)  # the query embedder loaded: what a running server has
        figures = {"passages": passages, "mode": "Chroma server" if server else "embedded", "machine": machine(),
                   "write_s": round(sum(w["s"] for w in writes), 1),
                   "keyword_write_s": [round(w["keyword_s"], 2) for w in writes],
                   "unfiltered": latency(engine, questions, window=False),
                   "filtered": latency(engine, questions, window=True), "rss_mb": round(rss_mb()),
                   "index_mb": round(rss_mb() - base_mb),
                   "disk_mb": {"chroma": round(size_mb(Path(tmp) / ("server" if server else "indexes/scale/chroma"))),
                               "keyword": round(size_mb(scratch.index_dir / "keyword"))}}
        figures["update"] = update_cost(scratch, source, passages)
    return figures


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def markdown(f: dict[str, Any]) -> str:
    """The figures as the report's table and lines."""
    per = 100_000 / f["passages"]
    rows = [f"{f['passages']} passages, {f['mode']}; {f['machine']}", "",
            "| hybrid retrieval (top 8) | p50 ms | p95 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for name, key in (("whole index", "unfiltered"), ("published within 30 days", "filtered")):
        rows.append(f"| {name} | {f[key]['p50_ms']} | {f[key]['p95_ms']} | {f[key]['p99_ms']} |")
    update = f["update"]
    rows += ["", f"Writing them took {f['write_s']} s in {len(f['keyword_write_s'])} writes; the keyword side's "
                 f"share of each write: {f['keyword_write_s']} s.",
             f"One more write of 100 articles ({100 * PER_ARTICLE} passages) cost the keyword side "
             f"{update['segment_s']} s; rebuilding it whole {update['rebuild_s']} s "
             f"({update['segment_s'] / update['rebuild_s']:.3f} of a rebuild); "
             f"{'another machine on the same server' if f['mode'] == 'Chroma server' else 'another process'} "
             f"caught up on that write in {update['reader_s']} s.",
             f"Memory: {f['rss_mb']} MB resident in the measuring process, {f['index_mb']} MB of it added after the "
             f"source passages were read (the index open and queried: {f['index_mb'] * per:.0f} MB per 100k "
             f"passages). Disk: Chroma {f['disk_mb']['chroma']} MB, keyword side {f['disk_mb']['keyword']} MB "
             f"({(f['disk_mb']['chroma'] + f['disk_mb']['keyword']) * per:.0f} MB per 100k passages)."]
    return "\n".join(rows)

