"""Watched sources against a real local HTTP server whose feed changes between checks.

After each change the index must hold exactly the expected documents, each once and complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.ingest import watch
from rag.ingest.watch import Watcher
from rag.ingest.watchlist import MAX_BACKOFF, AlreadyWatched, Watched, WatchList, now, parse_every, sole_watcher
from tests.conftest import LocalServer
from tests.ingest.test_ingest import assert_consistent, wait_until_halfway

RSS = "application/rss+xml"
SITE = "https://news.example"


def feed(entries: dict[int, str], paragraphs: int = 2) -> bytes:
    """An RSS feed whose entry n links to SITE/n and carries its full text, plus ``entries[n]``."""
    def body(n: int, extra: str) -> str:
        return "".join(f"<p>Officials in district {n} met residents on day {p} about the flood. "
                       f"Reporters counted {p * 7 + n} people at the meeting.</p>" for p in range(paragraphs)) + extra

    items = "".join(f"<item><title>Story {n}</title><link>{SITE}/{n}</link>"
                    f"<pubDate>Mon, 23 Oct 2023 10:00:00 GMT</pubDate>"
                    f"<content:encoded><![CDATA[{body(n, extra)}]]></content:encoded></item>"
                    for n, extra in entries.items())
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>District News</title>{items}</channel></rss>").encode()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One engine (one embedder) for every test; each test has its own index."""
    return Engine(Settings(index_root=tmp_path_factory.mktemp("watched"), allow_private_urls=True, url_timeout=1.0))


def docs(engine: Engine, index: str) -> set[str]:
    return set(engine.index(index).doc_states())


def urls(*numbers: int) -> set[str]:
    return {f"{SITE}/{n}" for n in numbers}


def watched(engine: Engine, index: str, url: str, every: float = 60, prune: bool = False) -> Watched:
    return WatchList(engine.for_index(index).index_dir).add(url, every, prune)


def test_new_updated_and_removed_entries_and_304(engine: Engine, http_server: LocalServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = http_server.add("/feed.xml", feed({1: "", 2: ""}), RSS, headers={"ETag": '"v1"'})
    watcher = Watcher(engine, "changes", say=lambda _: None)
    first = watcher.check(watched(engine, "changes", url, prune=True))
    assert first.ok and first.outcome.startswith("added 2,") and first.etag == '"v1"'
    assert docs(engine, "changes") == urls(1, 2)

    parsed = []
    monkeypatch.setattr(watch, "read_fetched", lambda *a: parsed.append(a) or [])
    unchanged = watcher.check(watcher.watchlist.load()[url])
    assert unchanged.outcome == "not modified" and parsed == []  # a 304 costs no parsing
    assert http_server.seen[-1][1].get("If-None-Match") == '"v1"'
    monkeypatch.undo()

    http_server.add("/feed.xml", feed({1: "", 2: "", 3: ""}), RSS, headers={"ETag": '"v2"'})
    assert watcher.check(watcher.watchlist.load()[url]).outcome.startswith("added 1, updated 0, unchanged 2")
    assert docs(engine, "changes") == urls(1, 2, 3)

    http_server.add("/feed.xml", feed({1: "", 2: "<p>The river has since fallen by a metre.</p>", 3: ""}), RSS,
                    headers={"ETag": '"v3"'})
    assert watcher.check(watcher.watchlist.load()[url]).outcome.startswith("added 0, updated 1, unchanged 2")
    texts = " ".join(h.text for h in engine.index("changes").hits() if h.doc_id == f"{SITE}/2")
    assert "fallen by a metre" in texts

    http_server.add("/feed.xml", feed({2: "<p>The river has since fallen by a metre.</p>", 3: ""}), RSS,
                    headers={"ETag": '"v4"'})
    assert ", pruned 1," in watcher.check(watcher.watchlist.load()[url]).outcome
    assert docs(engine, "changes") == urls(2, 3)
    assert_consistent(engine.index("changes"), expected_docs=2)
    assert set(engine.index("changes").keyword().ids) == {c for c, _ in _chunks(engine, "changes")}


def _chunks(engine: Engine, index: str) -> list[tuple[str, str]]:
    return [(h.chunk_id, h.doc_id) for h in engine.index(index).hits()]


def test_a_failing_source_backs_off_alone_then_recovers(engine: Engine, http_server: LocalServer) -> None:
    good = http_server.add("/good.xml", feed({10: ""}), RSS)
    bad = http_server.add("/bad.xml", b"overloaded", status=500)
    watched(engine, "errors", good, every=60)
    watched(engine, "errors", bad, every=60)
    watcher = Watcher(engine, "errors", say=lambda _: None)
    watcher.run(threading.Event(), once=True)
    state = watcher.watchlist.load()
    assert not state[bad].ok and state[bad].failures == 1 and "HTTP 500" in state[bad].outcome
    assert _wait(state[bad]) == 120 and _wait(state[good]) == 60 and state[good].ok
    assert docs(engine, "errors") == urls(10)

    watcher.run(threading.Event(), once=True)
    assert _wait(watcher.watchlist.load()[bad]) == 240 and watcher.watchlist.load()[good].failures == 0

    http_server.add("/bad.xml", feed({11: ""}), RSS)
    watcher.run(threading.Event(), once=True)
    recovered = watcher.watchlist.load()[bad]
    assert recovered.ok and recovered.failures == 0 and _wait(recovered) == 60
    assert docs(engine, "errors") == urls(10, 11)


def _wait(item: Watched) -> float:
    return (datetime.fromisoformat(item.next_run) - datetime.fromisoformat(item.last_check)).total_seconds()


def test_a_slow_server_meets_the_timeout(engine: Engine, http_server: LocalServer) -> None:
    url = http_server.add("/slow.xml", feed({20: ""}), RSS, delay=4.0)
    started = time.monotonic()
    checked = Watcher(engine, "slow", say=lambda _: None).check(watched(engine, "slow", url))
    assert time.monotonic() - started < 3.5
    assert not checked.ok and "timed out after 1 s" in checked.outcome


def test_running_watcher_finds_new_entries_within_one_interval_and_a_restart_carries_on(
        engine: Engine, http_server: LocalServer) -> None:
    url = http_server.add("/live.xml", feed({30: ""}), RSS, headers={"ETag": '"a"'})
    watched(engine, "live", url, every=1)
    stop = threading.Event()
    runner = threading.Thread(target=Watcher(engine, "live", say=lambda _: None).run, args=(stop,))
    runner.start()
    try:
        until(lambda: docs_or_none(engine, "live") == urls(30), 60)
        http_server.add("/live.xml", feed({30: "", 31: ""}), RSS, headers={"ETag": '"b"'})
        changed = time.monotonic()
        until(lambda: docs_or_none(engine, "live") == urls(30, 31), 30)
        assert time.monotonic() - changed < 1 + 10  # one interval, plus the ingest itself on a busy machine
    finally:
        stop.set()
        runner.join()
    before = len(http_server.seen)
    restarted = Watcher(engine, "live", say=lambda _: None)
    assert restarted.check(restarted.watchlist.load()[url]).outcome == "not modified"
    assert http_server.seen[before][1].get("If-None-Match") == '"b"'  # the validators survived the restart


def docs_or_none(engine: Engine, index: str) -> set[str] | None:
    return docs(engine, index) if (engine.for_index(index).index_dir / "manifest.json").exists() else None


def until(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_watcher_killed_mid_ingest_is_completed_by_a_restart(tmp_path: Path, http_server: LocalServer) -> None:
    url = http_server.add("/big.xml", feed(dict.fromkeys(range(40), ""), paragraphs=8), RSS)
    env = {**os.environ, "RAG_INDEX_ROOT": str(tmp_path), "RAG_ALLOW_PRIVATE_URLS": "1",
           "RAG_EMBED_BATCH_SIZE": "8", "RAG_WRITE_BATCH": "16"}
    command = [sys.executable, "-m", "rag", "watch", "--index", "killed"]
    proc = subprocess.Popen([*command, url, "--every", "1h"], env=env, stderr=subprocess.PIPE, text=True)
    wait_until_halfway(proc)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the watcher finished before it could be killed"
    settings = Settings(index_root=tmp_path, index="killed")
    index = Engine(settings).index()
    assert 0 < len(index.doc_states()) < 40, "the kill did not land mid-ingest"
    assert not WatchList(settings.index_dir).load()[url].last_check  # the interrupted check was not recorded

    rerun = subprocess.run([*command, "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    index = Engine(settings).index()
    assert set(index.doc_states()) == urls(*range(40))
    assert_consistent(index, expected_docs=40)
    assert len(index.keyword()) == index.count()
    assert WatchList(settings.index_dir).load()[url].ok


# --- the list and its schedule ---------------------------------------------------------------------

def test_intervals_parse_and_bad_ones_say_what_is_expected() -> None:
    assert [parse_every(t) for t in ("30s", "15m", "2h", "1d", "1.5 h")] == [30, 900, 7200, 86400, 5400]
    for bad in ("15", "0s", "soon", "-5m", ""):
        with pytest.raises(ValueError, match="like 30s, 15m"):
            parse_every(bad)


def test_backoff_doubles_per_failure_up_to_the_cap_and_resets_on_success() -> None:
    item, at = Watched("https://x.example/feed", every=600), now()
    waits = []
    for _ in range(8):
        item.finished(at, "failed", ok=False)
        waits.append(_wait(item))
    assert waits == [1200, 2400, 4800, 9600, 19200, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    item.finished(at, "added 1", ok=True)
    assert item.failures == 0 and _wait(item) == 600 and item.due(at + timedelta(seconds=600))


def test_edits_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    watchlist = WatchList(tmp_path / "index")
    threads = [threading.Thread(target=lambda k=k: [watchlist.add(f"https://x.example/{k}/{n}", 60)
                                                     for n in range(10)]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(watchlist.load()) == 40
    assert watchlist.remove("https://x.example/0/0") and not watchlist.remove("https://x.example/0/0")
    assert len(watchlist.load()) == 39


def test_one_watcher_per_index(tmp_path: Path) -> None:
    code = "import sys, time; from pathlib import Path; from rag.ingest.watchlist import sole_watcher\n" \
           "with sole_watcher(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)"
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyWatched, match=f"pid {other.pid}"), sole_watcher(tmp_path):
            pass
    finally:
        other.kill()
        other.wait()
    with sole_watcher(tmp_path):  # free again once that process is gone
        pass


def test_the_watch_command_adds_lists_checks_and_removes(tmp_path: Path, http_server: LocalServer) -> None:
    url = http_server.add("/cli.xml", feed({40: ""}), RSS)
    env = {**os.environ, "RAG_INDEX_ROOT": str(tmp_path), "RAG_ALLOW_PRIVATE_URLS": "1"}

    def newsrag(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rag", "watch", "--index", "cli", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    assert "nothing to watch" in newsrag().stderr
    bad = newsrag(url, "--every", "15")
    assert bad.returncode == 2 and "like 30s, 15m" in bad.stderr
    missing = newsrag(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    once = newsrag(url, "--every", "2h", "--once", "-q")
    assert once.returncode == 0 and f"{url}: added 1," in once.stdout
    listed = newsrag("--list").stdout
    assert url in listed and "every 7200s" in listed and "added 1," in listed
    assert newsrag("--remove", url).stdout.strip() == f"stopped watching {url}"
    assert "no watched sources" in newsrag("--list").stdout
