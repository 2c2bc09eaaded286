"""Run one stage of the ingest pipeline in a thread, a few items ahead of the next.

Reading (fetching pages, parsing HTML) and chunking are Python work or waiting on the network;
embedding spends its time in onnxruntime or torch, which release the GIL. Running the first while
the second computes keeps the encoder busy instead of idle between groups.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def in_background(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what ``items`` yields, produced by a daemon thread at most ``depth`` items ahead.

    An exception in the producer is raised here, where the consumer would have met it. Closing
    this generator (or an exception in the consumer) stops the producer at its next item; a
    producer stuck in a slow fetch is not waited for, it is a daemon and writes nothing.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(items, handoff, stop), name="ingest-reader", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        _drain(handoff)
        thread.join(timeout=1.0)


class _Raised:
    """An exception carried across the queue (a plain exception object might be a legitimate item)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _produce(items: Iterator[T], handoff: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(handoff, item, stop):
                return
    except BaseException as error:  # noqa: BLE001 - every failure belongs to the consumer
        _put(handoff, _Raised(error), stop)
        return
    _put(handoff, _DONE, stop)


def _put(handoff: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Hand one item over unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            handoff.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _drain(handoff: queue.Queue) -> None:
    """Empty the queue so a producer blocked on a full one sees the stop."""
    while True:
        try:
            handoff.get_nowait()
        except queue.Empty:
            return
