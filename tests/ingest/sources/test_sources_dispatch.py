import inspect
import json
import time
from datetime import date
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest.sources import read_sources
from rag.ingest.sources.detect import sniff
from rag.types import Article, Failure

STORY = (
    "Officials said on Monday that the talks between the two delegations would resume next week in Baghdad."
)
PAGE = (
    "<!DOCTYPE html><html><head><title>Talks</title></head>"
    f"<body><article><p>{STORY}</p></article></body></html>"
)
RSS = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title>
<item><title>Item</title><link>https://example.com/i</link><description>{STORY}</description></item></channel></rss>"""


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **{"allow_private_urls": False, "url_timeout": 2.0, **kw})


def _tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.txt").write_text(f"Headline A\n\n{STORY}\n")
    (root / "sub" / "b.md").write_text(f"# Headline B\n\n{STORY}\n")
    (root / "sub" / "c.html").write_text(PAGE)
    (root / "sub" / "deeper" / "d.json").write_text(
        json.dumps([{"title": "D1", "text": STORY}, {"title": "D2"}])
    )
    (root / "e.jsonl").write_text(json.dumps({"title": "E", "text": STORY}) + "\n")
    (root / "f.rss").write_text(RSS)
    (root / "g_sniffed_html").write_text(PAGE)
    (root / "h_sniffed_feed.dat").write_text(RSS)
    (root / ".hidden.txt").write_text(f"Hidden\n\n{STORY}\n")
    (root / ".git" / "x.txt").write_text(f"Git\n\n{STORY}\n")
    (root / "empty.txt").write_text("")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (root / "cp1252.txt").write_bytes(
        f"Caf\u00e9 talks\n\nThe \u201cna\u00efve\u201d envoy \u2013 {STORY}\n".encode("cp1252")
    )


def test_folder_is_read_recursively_in_order(tmp_path: Path) -> None:
    _tree(tmp_path)
    items = list(read_sources(tmp_path, _settings()))
    names = [
        (Path(i.origin.split("[")[0].split(":")[0]).relative_to(tmp_path).as_posix(), type(i).__name__)
        for i in items
    ]
    assert names == [
        ("a.txt", "Article"),
        ("cp1252.txt", "Article"),
        ("e.jsonl", "Article"),
        ("empty.txt", "Failure"),
        ("f.rss", "Article"),
        ("g_sniffed_html", "Article"),
        ("h_sniffed_feed.dat", "Article"),
        ("image.png", "Failure"),
        ("sub/b.md", "Article"),
        ("sub/c.html", "Article"),
        ("sub/deeper/d.json", "Article"),
        ("sub/deeper/d.json", "Failure"),
    ]
    by_name = {Path(i.origin).name: i for i in items}
    assert by_name["cp1252.txt"].title == "Caf\u00e9 talks"
    assert by_name["cp1252.txt"].body == f"The \u201cna\u00efve\u201d envoy \u2013 {STORY}"
    assert "empty file" in by_name["empty.txt"].reason
    assert "binary file" in by_name["image.png"].reason
    assert all(STORY in i.body for i in items if isinstance(i, Article))


def test_huge_file_is_refused_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: no disk used

    def never(*_args: object, **_kw: object) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", never)
    monkeypatch.setattr(Path, "open", never)
    start = time.monotonic()
    [failure] = read_sources(big, _settings(max_file_mb=50))
    assert time.monotonic() - start < 1.0
    assert (
        isinstance(failure, Failure)
        and "too large (100.0 MB" in failure.reason
        and "RAG_MAX_FILE_MB" in failure.reason
    )


def test_missing_path() -> None:
    [failure] = read_sources("/nonexistent/news", _settings())
    assert isinstance(failure, Failure) and "no such file" in failure.reason


def test_read_sources_is_lazy(tmp_path: Path) -> None:
    _tree(tmp_path)
    items = read_sources(tmp_path, _settings())
    assert inspect.isgenerator(items)
    assert isinstance(next(items), Article)


def test_url_html_page(http_server) -> None:
    url = http_server.add("/news/talks/", PAGE.encode())
    [article] = read_sources(url, _settings(allow_private_urls=True))
    assert isinstance(article, Article)
    assert (article.title, article.body, article.url) == ("Talks", STORY, url)
    assert article.doc_id == url.rstrip("/") and article.outlet.startswith("127.0.0.1")


def test_url_feed_told_apart_by_content(http_server) -> None:
    url = http_server.add("/feed", RSS.encode(), content_type="text/html")  # mislabelled, as servers do
    [article] = read_sources(url, _settings(allow_private_urls=True))
    assert isinstance(article, Article) and (article.title, article.outlet) == ("Item", "Feed")


def test_url_json_and_text(http_server) -> None:
    json_url = http_server.add(
        "/dump",
        json.dumps({"title": "J", "text": STORY, "date": "2023-01-02"}).encode(),
        content_type="application/json",
    )
    text_url = http_server.add("/plain", f"Plain headline\n\n{STORY}\n".encode(), content_type="text/plain")
    [j] = read_sources(json_url, _settings(allow_private_urls=True))
    [t] = read_sources(text_url, _settings(allow_private_urls=True))
    assert isinstance(j, Article) and (j.title, j.published) == ("J", date(2023, 1, 2))
    assert isinstance(t, Article) and (t.title, t.doc_id) == ("Plain headline", text_url)


def test_url_refusals_are_failures(http_server) -> None:
    url = http_server.add("/page", PAGE.encode())
    [private] = read_sources(url, _settings())
    [scheme] = read_sources("ftp://example.com/news", _settings())
    assert (
        isinstance(private, Failure)
        and private.origin == url
        and "RAG_ALLOW_PRIVATE_URLS=1" in private.reason
    )
    assert isinstance(scheme, Failure) and "only http and https" in scheme.reason


@pytest.mark.parametrize(
    ("data", "media_type", "kind"),
    [
        (PAGE.encode(), "", "html"),
        (RSS.encode(), "text/html", "feed"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', "", "feed"),
        (b"\xef\xbb\xbf  <html><body>x</body></html>", "", "html"),
        (b'{"a": 1}', "", "json"),
        (b"plain words", "application/json", "json"),
        (b"Plain headline\n\nBody.", "", "text"),
    ],
)
def test_sniff(data: bytes, media_type: str, kind: str) -> None:
    assert sniff(data, media_type) == kind
