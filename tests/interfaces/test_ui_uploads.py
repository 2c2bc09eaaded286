"""Hostile uploads against the real server: a file name that climbs out of its folder, and an oversized file.

Sent as raw multipart requests (what any client, not only our page, can send) to the running app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.benchmarks.ui import free_port
from rag.config import Settings
from rag.engine import Engine
from rag.interfaces.ui.library import UPLOADS, add_news
from tests.ingest.test_ingest import write_article

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    from rag.interfaces.ui.server import launch

    settings = Settings(index_root=tmp_path_factory.mktemp("indexes"), index="up", max_file_mb=0.05)
    demo = launch(settings, port=free_port(), block=False, quiet=True)
    yield demo.local_url, settings
    demo.close()


def upload(url: str, name: str, content: bytes) -> httpx.Response:
    return httpx.post(f"{url}gradio_api/upload", files={"files": (name, content, "text/plain")}, timeout=30)


def test_a_name_that_climbs_out_stays_inside_the_index(app: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = app
    escape = Path("/tmp/newsrag-escape-test.txt")
    escape.unlink(missing_ok=True)
    article = write_article(tmp_path, 7).read_bytes()
    reply = upload(url, "../../../../../../tmp/newsrag-escape-test.txt", article)
    assert reply.status_code == 200, reply.text
    stored = Path(reply.json()[0]).resolve()
    assert not escape.exists(), "an upload was written outside the upload folder"
    assert stored.is_relative_to(settings.index_root.resolve()), stored

    summary, *_ = add_news(Engine(settings), [str(stored)], "", "up")
    assert summary.startswith("added 1"), summary
    kept = list((settings.index_dir / UPLOADS).iterdir())
    assert [p.name for p in kept] == ["newsrag-escape-test.txt"]
    assert not escape.exists()
    for name in ("..", ".hidden", "a/../../b.txt", "..\\..\\win.txt"):  # refused, or kept inside
        odd = upload(url, name, article)
        assert odd.status_code in (200, 400), odd.text
        if odd.status_code == 200:
            assert Path(odd.json()[0]).resolve().is_relative_to(settings.index_root.resolve())
    assert not any(Path(p).exists() for p in ("/tmp/b.txt", "/b.txt", "/tmp/win.txt"))


def test_an_oversized_upload_is_refused_by_the_server(app: tuple[str, Settings]) -> None:
    url, settings = app
    before = {p for p in settings.index_root.rglob("*") if p.is_file()}
    reply = upload(url, "huge.txt", b"word " * 40_000)  # 200 kB against a 50 kB limit
    assert reply.status_code == 413, reply.text
    assert "huge.txt" not in {p.name for p in settings.index_root.rglob("*") if p.is_file()} - {p.name for p in before}
