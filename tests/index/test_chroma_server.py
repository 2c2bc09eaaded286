"""A real Chroma server on loopback (`chroma run`, from the chromadb package) shared by several processes:
ingest, ask, two ingests at once, another process's writes reaching this one's keyword index, and the
server stopping in the middle of an ingest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from rag.benchmarks.ui import free_port, wait_until_up
from rag.config import Settings
from rag.engine import Engine
from rag.index import Index
from rag.ingest.ingest import ingest
from rag.query.retrieve import retrieve
from tests import SEEDS
from tests.ingest.test_ingest import assert_consistent, wait_until_halfway, write_article


@dataclass
class ChromaServer:
    """A `chroma run` process; ``stop`` and ``start`` keep the same data folder and port."""

    path: Path
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-c", "from chromadb.cli.cli import app; app()", "run", "--path", str(self.path),
               "--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_up(f"{self.url}/api/v2/heartbeat", seconds=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "chroma-data", free_port())
    chroma.start()
    yield chroma
    chroma.stop()


def cli(*args: str, root: Path, url: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_CHROMA_URL": url, **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "rag", *args], env=env, capture_output=True, text=True, timeout=600)


def check_consistent(settings: Settings, expected_docs: int) -> None:
    """Every document complete, exactly once, and this process's keyword index equal to the server's rows."""
    store = Index(settings)
    assert_consistent(store, expected_docs)
    ids = [hit.chunk_id for hit in store.hits()]
    assert sorted(store.keyword().ids) == sorted(ids)


def test_ingest_and_ask_through_the_server(server: ChromaServer, tmp_path: Path) -> None:
    root = tmp_path / "indexes"
    first = cli("ingest", str(SEEDS), "-q", root=root, url=server.url)
    assert first.returncode == 0, first.stderr
    assert "added 1" in first.stdout and "newsrag-default" in first.stdout
    assert not (root / "default" / "chroma").exists(), "vectors belong on the server, not in the local folder"

    asked = cli("ask", "Who refused to meet Sudani?", "--as-of", "2023-10-26", root=root, url=server.url)
    assert asked.returncode == 0, asked.stderr
    assert "Akram al-Kaabi" in asked.stdout

    # Another machine (its own index folder, so its own keyword index) sees the same index.
    elsewhere = cli("ask", "Who refused to meet Sudani?", "--as-of", "2023-10-26", root=tmp_path / "other",
                    url=server.url)
    assert elsewhere.returncode == 0 and "Akram al-Kaabi" in elsewhere.stdout, elsewhere.stderr

    again = cli("ingest", str(SEEDS), "-q", root=root, url=server.url)
    assert "added 0, updated 0, unchanged 1" in again.stdout


def test_manifest_is_checked_on_the_server(server: ChromaServer, tmp_path: Path) -> None:
    assert cli("ingest", str(SEEDS), "-q", root=tmp_path / "a", url=server.url).returncode == 0
    other = cli("ingest", str(SEEDS), "-q", root=tmp_path / "b", url=server.url, extra_env={"RAG_CHUNK_SIZE": "128"})
    assert other.returncode == 2
    assert "chunk_size" in other.stderr and server.url in other.stderr and "--rebuild" in other.stderr
    missing = cli("ask", "anything?", "--index", "nothing-here", root=tmp_path / "a", url=server.url)
    assert missing.returncode == 2 and "No index at Chroma server" in missing.stderr


def test_two_processes_ingest_at_once(server: ChromaServer, tmp_path: Path) -> None:
    a, b, root = tmp_path / "a", tmp_path / "b", tmp_path / "indexes"
    a.mkdir()
    b.mkdir()
    for n in range(20):
        write_article(a, n, paragraphs=6)
        write_article(b, 100 + n, paragraphs=6)
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_CHROMA_URL": server.url, "RAG_WRITE_BATCH": "16"}
    procs = [subprocess.Popen([sys.executable, "-m", "rag", "ingest", *targets, "-q"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for targets in ([str(a)], [str(a), str(b)])]  # both write folder a's articles at the same time
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    check_consistent(Settings(index_root=root, chroma_url=server.url), expected_docs=40)


def test_another_processs_ingest_reaches_this_ones_keyword_index(server: ChromaServer, tmp_path: Path) -> None:
    news = tmp_path / "news"
    news.mkdir()
    writer = Settings(index_root=tmp_path / "writer", chroma_url=server.url, index="shared")
    reader = Settings(index_root=tmp_path / "reader", chroma_url=server.url, index="shared")
    ingest([str(write_article(news, 1))], Engine(writer), progress=False)
    assert retrieve("story number 1", Engine(reader), as_of=date(2023, 12, 31)).hits
    article = write_article(news, 2, extra="\n\nThe zyxwvut inquiry opened on Tuesday.")
    ingest([str(article)], Engine(writer), progress=False)
    found = retrieve("zyxwvut inquiry", Engine(reader), as_of=date(2023, 12, 31)).hits
    assert found and "zyxwvut" in found[0].text
    store = Index(reader)
    assert any("zyxwvut" in store.chroma.collection.get(ids=[cid])["documents"][0]
               for cid, _ in store.keyword().search("zyxwvut", 5))


def test_server_stopped_mid_ingest_then_rerun(server: ChromaServer, tmp_path: Path) -> None:
    news, root = tmp_path / "news", tmp_path / "indexes"
    news.mkdir()
    for n in range(40):
        write_article(news, n, paragraphs=8)
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_CHROMA_URL": server.url, "RAG_WRITE_BATCH": "16",
           "RAG_EMBED_BATCH_SIZE": "8"}
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(news)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    progress = wait_until_halfway(proc)  # stop the server once some, not all, passages are written
    server.stop()
    out, err = proc.communicate(timeout=300)
    err = progress + err
    assert proc.returncode == 2, (out, err)
    assert f"The Chroma server at {server.url} is not answering" in err and "run the same command again" in err

    server.start()
    settings = Settings(index_root=root, chroma_url=server.url)
    assert 0 < len(Index(settings).doc_states()) < 40, "the stop did not land mid-way"
    rerun = subprocess.run([sys.executable, "-m", "rag", "ingest", str(news), "-q"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    check_consistent(settings, expected_docs=40)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    out = cli("ingest", str(SEEDS), "-q", root=tmp_path, url=url)
    assert out.returncode == 2 and f"The Chroma server at {url} is not answering" in out.stderr


def test_the_chat_ui_lists_asks_and_adds_to_server_indexes(server: ChromaServer, tmp_path: Path) -> None:
    from rag.index import list_indexes
    from rag.interfaces.ui.library import add_news, index_names, outlets, settings_for

    base = Settings(index_root=tmp_path / "local", chroma_url=server.url, index="world")
    engine = Engine(base)
    article = write_article(tmp_path, 3)
    summary, *_ = add_news(engine, [str(article)], "", "world")
    assert summary.startswith("added 1") and f"at Chroma server {server.url}" in summary
    assert index_names(base) == ["world"] and settings_for(base, "world").index == "world"
    assert outlets(engine, settings_for(base, "world").index)[0]  # the filter's choices come from the server's index

    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    failed, *_ = add_news(engine, [str(junk)], "", "empty")
    assert "was not created" in failed
    assert list_indexes(base) == ["world"], "an index created for nothing was left on the server"
