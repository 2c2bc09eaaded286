"""Reading in a thread ahead of embedding: errors reach the consumer, and a consumer that stops stops it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rag.ingest.overlap import in_background


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
