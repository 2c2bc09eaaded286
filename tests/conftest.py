"""Shared fixtures: a real HTTP server on 127.0.0.1 serving canned routes (no internet); the seed index."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.config import Settings
from rag.engine import Engine
from tests import ROOT


@pytest.fixture(autouse=True)
def _fast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast citation check unless a test asks for the model verifier (tests/test_verify.py does):
    with the bundled model installed, auto mode would load it in every test that checks a sentence."""
    monkeypatch.setenv("RAG_CHECK_MODE", "fast")


@dataclass
class Route:
    """A canned response; ``length=False`` omits Content-Length (body runs until the connection closes)."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0
    length: bool = True


class LocalServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that answers from ``routes`` and records request headers; a route with an ETag
    answers a request that sends it back in If-None-Match with 304 Not Modified."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def add(self, path: str, body: bytes = b"", content_type: str = "text/html; charset=utf-8", **kw) -> str:
        """Serve ``body`` at ``path`` (``kw``: Route fields) and return the full URL."""
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        self.routes[path] = Route(body=body, headers=headers, **kw)
        return self.url(path)


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.seen.append((self.path, dict(self.headers)))
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        time.sleep(route.delay)
        etag = route.headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:  # a conditional GET of an unchanged resource
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        try:
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, size cap): expected in those tests

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    server = LocalServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An index of seeds/ built once per test session by the real pipeline."""
    from rag.ingest.ingest import ingest

    settings = Settings(index_root=tmp_path_factory.mktemp("indexes"), index="seed")
    assert ingest([str(ROOT / "seeds")], Engine(settings), progress=False).ok
    return settings
