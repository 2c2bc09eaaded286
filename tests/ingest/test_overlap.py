"""Reading in a thread ahead of embedding: errors reach the consumer, and a consumer that stops stops it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.ingest.ingest import ingest
from rag.ingest.overlap import in_background
from rag.types import Article


def test_items_arrive_in_order_and_the_producer_runs_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for n in range(6):
            produced.append(n)
            yield n

    stream = in_background(items(), depth=2)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 4 and time.monotonic() < deadline:  # one handed over, two queued, one waiting to go in
        time.sleep(0.01)
    assert produced == [0, 1, 2, 3]
    assert list(stream) == [1, 2, 3, 4, 5]


def test_a_producer_error_is_raised_to_the_consumer_after_what_came_before() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad feed")

    stream = in_background(items())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="bad feed"):
        next(stream)


def test_closing_the_consumer_stops_the_producer() -> None:
    started = threading.active_count()

    def endless() -> Iterator[int]:
        n = 0
        while True:
            n += 1
            yield n

    stream = in_background(endless(), depth=1)
    assert next(stream) == 1
    stream.close()
    assert threading.active_count() == started


def test_an_ingest_embeds_while_it_is_still_reading(tmp_path: Path) -> None:
    """The fourth article can only be read once the first has been embedded: a pipeline that read
    everything before embedding would wait here until the reader gives up."""
    engine = Engine(Settings(index_root=tmp_path, index="o", embed_model="minilm-int8", write_batch=1))
    real, embedded = engine.embedder(), threading.Event()

    class Spy:
        name, dimension = real.name, real.dimension

        def embed(self, texts: list[str]) -> np.ndarray:
            embedded.set()
            return real.embed(texts)

    engine.embedder = lambda purpose="index": Spy() if purpose == "index" else real  # type: ignore[method-assign]

    def reader(target: str, settings: Settings) -> Iterator[Article]:
        for n in range(4):
            if n == 3 and not embedded.wait(60):
                raise AssertionError("nothing was embedded while the source was still being read")
            yield Article(doc_id=f"https://a.example/{n}", title=f"Story {n}", url=f"https://a.example/{n}",
                          body=f"The harbour council met on day {n} and approved {n + 3} new berths for ferries.",
                          published=date(2023, 10, 24))

    report = ingest(["feed"], engine, reader=reader, progress=False)
    assert len(report.added) == 4 and engine.index("o").count() == 4
