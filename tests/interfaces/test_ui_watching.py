"""Watched sources in the server: `serve --watch` ingests a feed while the UI answers, and the UI's
Watched tab adds and removes sources through its own endpoints (gradio_client, a real local feed)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.benchmarks.ui import free_port
from rag.config import Settings
from rag.engine import Engine
from rag.interfaces.ui.server import Watching, launch
from rag.interfaces.ui.watching import add_watched, remove_watched, rows
from tests.conftest import LocalServer
from tests.ingest.test_watch import RSS, feed, until, urls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_tabs_handlers_check_what_they_are_given(tmp_path: Path) -> None:
    engine = Engine(Settings(index_root=tmp_path, index="w"))
    said, table = add_watched(engine, "/etc", "15m", False)
    assert said.startswith("Not added: paste a feed or page address") and table == []
    said, table = add_watched(engine, "https://news.example/feed.xml", "soon", False)
    assert "like 30s, 15m" in said and table == []
    said, table = add_watched(engine, " https://news.example/feed.xml ", "2h", True)
    assert said.startswith("Watching https://news.example/feed.xml every 2h")
    assert table == [["https://news.example/feed.xml", "2h, prune", "not yet", "-", "now"]]
    assert remove_watched(engine, "https://news.example/other.xml")[0].endswith("is not watched.")
    said, table = remove_watched(engine, "https://news.example/feed.xml")
    assert said.startswith("Stopped watching") and table == rows(engine) == []


def test_serve_watch_ingests_while_the_ui_adds_and_removes_sources(tmp_path: Path, http_server: LocalServer) -> None:
    from gradio_client import Client

    first = http_server.add("/first.xml", feed({50: ""}), RSS)
    second = http_server.add("/second.xml", feed({51: ""}), RSS)
    settings = Settings(index_root=tmp_path, index="w", allow_private_urls=True)
    engine = Engine(settings)
    demo = launch(settings, port=free_port(), block=False, quiet=True, engine=engine,
                  watch=Watching((first,), every=1.0))
    try:
        until(lambda: _docs(engine) >= urls(50), 90)
        client = Client(demo.local_url, verbose=False)
        said, table = client.predict(second, "1s", False, api_name="/watch")
        assert said.startswith(f"Watching {second} every 1s")
        until(lambda: _docs(engine) == urls(50, 51), 60)
        reply = client.predict("How many people did reporters count in district 51?", api_name="/ask")[0]
        assert "Story 51" in str(reply[-1]["content"])  # the watched article answers through the UI
        said, table = client.predict(first, api_name="/unwatch")
        assert said.startswith(f"Stopped watching {first}") and [r[0] for r in table["data"]] == [second]
    finally:
        demo.close()
    until(lambda: not any(t.name == "newsrag-watcher" for t in threading.enumerate()), 10)  # closing stops it


def _docs(engine: Engine) -> set[str]:
    if not (engine.settings.index_dir / "manifest.json").exists():
        return set()
    return set(engine.index().doc_states())
