"""The watch phase of `newsrag bench load`: chat sessions while the server's watcher ingests a changing feed.

A feed on a loopback HTTP server gains ``per_round`` articles every ``interval`` seconds. It is
added to the served index's watched list through the UI's own "watch" endpoint, so the server's
watcher polls it every ``interval`` seconds and ingests in the server process while the sessions
chat. For each round, the delay from publishing to every new article being searchable (in the
keyword side, which is rebuilt after the dense side is written) is measured from this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rag.engine import Engine
from rag.ingest.sources.common import canonical_url
from rag.types import doc_key


class GrowingFeed(ThreadingHTTPServer):
    """An RSS feed at /feed.xml whose entries grow when ``publish`` is called; it honours If-None-Match."""

    daemon_threads = True

    def __init__(self, rows: list[dict[str, str]]) -> None:
        super().__init__(("127.0.0.1", 0), _FeedHandler)
        self.rows, self.published, self.lock = rows, 0, threading.Lock()
        self.not_modified = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/feed.xml"

    def publish(self, count: int) -> list[str]:
        """Add the next ``count`` articles; their URLs."""
        with self.lock:
            start, self.published = self.published, min(len(self.rows), self.published + count)
            return [r["url"] for r in self.rows[start:self.published]]

    def body(self) -> bytes:
        with self.lock:
            items = "".join(
                f"<item><title>{escape(r['title'])}</title><link>{escape(r['url'])}</link>"
                f"<pubDate>{formatdate(time.time(), usegmt=True)}</pubDate>"
                f"<content:encoded>{escape(r['text'])}</content:encoded></item>" for r in self.rows[:self.published])
        return (f'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
                f"<channel><title>Bench Wire</title>{items}</channel></rss>").encode()


class _FeedHandler(BaseHTTPRequestHandler):
    server: GrowingFeed

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        etag = f'"{self.server.published}"'
        if self.headers.get("If-None-Match") == etag:
            self.server.not_modified += 1
            self.send_response(304)
            self.end_headers()
            return
        data = self.server.body()
        self.send_response(200)
        for name, value in (("Content-Type", "application/rss+xml"), ("ETag", etag),
                            ("Content-Length", str(len(data)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def growing_feed(rows: list[dict[str, str]]) -> Iterator[GrowingFeed]:
    """The feed served on a free loopback port for as long as the block runs."""
    feed = GrowingFeed(rows)
    thread = threading.Thread(target=feed.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield feed
    finally:
        feed.shutdown()
        feed.server_close()


def searchable_docs(engine: Engine) -> set[str]:
    """Document keys the index's keyword side holds now (it follows the server process's writes)."""
    return {cid.split(":", 1)[0] for cid in engine.index().keyword().ids}


def publish_rounds(feed: GrowingFeed, engine: Engine, interval: float, rounds: int, per_round: int) -> dict[str, Any]:
    """Publish ``rounds`` batches ``interval`` apart; seconds from each to all of its articles searchable."""
    delays: list[float] = []
    for _ in range(rounds):
        published, new = time.perf_counter(), {doc_key(canonical_url(u)) for u in feed.publish(per_round)}
        while not new <= searchable_docs(engine) and time.perf_counter() - published < 10 * interval:
            time.sleep(0.25)
        delays.append(round(time.perf_counter() - published, 2) if new <= searchable_docs(engine) else float("inf"))
        time.sleep(max(0.0, interval - (time.perf_counter() - published)))
    return {"delays_s": delays, "interval_s": interval, "within_interval": sum(d <= interval for d in delays),
            "rounds": rounds, "not_modified_answers": feed.not_modified}


def watch(url: str, feed_url: str, every: str) -> str:
    """Add the feed to the server's watched list through the UI's own endpoint."""
    from gradio_client import Client

    return str(Client(url, verbose=False).predict(feed_url, every, False, api_name="/watch")[0])
