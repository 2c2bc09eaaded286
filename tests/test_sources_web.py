import time

import pytest

from rag.config import Settings
from rag.sources import web
from rag.sources.web import FetchError, check_url, fetch

PAGE = b"<html><body><p>Hello from the local test server.</p></body></html>"


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **{"allow_private_urls": True, "url_timeout": 2.0, **kw})


def test_loopback_refused_by_default(http_server) -> None:
    url = http_server.add("/page", PAGE)
    with pytest.raises(FetchError) as err:
        fetch(url, _settings(allow_private_urls=False))
    assert url in str(err.value) and "RAG_ALLOW_PRIVATE_URLS=1" in str(err.value)
    assert http_server.seen == []  # refused before any request was sent


@pytest.mark.parametrize(
    "url", ["http://localhost/x", "http://[::1]/x", "http://10.1.2.3/", "http://169.254.169.254/"]
)
def test_private_addresses_refused(url: str) -> None:
    with pytest.raises(FetchError, match="non-public address"):
        check_url(url, _settings(allow_private_urls=False))


def test_allowed_with_flag_and_names_newsrag(http_server) -> None:
    url = http_server.add("/page", PAGE)
    fetched = fetch(url, _settings())
    assert (fetched.data, fetched.content_type, fetched.charset) == (PAGE, "text/html", "utf-8")
    assert "newsrag" in http_server.seen[0][1]["User-Agent"]


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "javascript:alert(1)"])
def test_non_http_scheme_refused(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetch(url, _settings())


def test_redirects_followed_and_checked(http_server) -> None:
    final = http_server.add("/final", PAGE)
    http_server.add("/a", status=302, headers={"Location": "/final"})
    assert fetch(http_server.url("/a"), _settings()).url == final
    http_server.add("/to-ftp", status=301, headers={"Location": "ftp://example.com/x"})
    with pytest.raises(FetchError, match="only http and https"):
        fetch(http_server.url("/to-ftp"), _settings())


def test_every_redirect_hop_is_checked(http_server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend only 127.0.0.1 is public so the first hop passes; the redirect goes to 127.0.0.2.
    monkeypatch.setattr(web, "_is_public", lambda address: str(address) == "127.0.0.1")
    http_server.add("/to-private", status=302, headers={"Location": "http://127.0.0.2/admin"})
    with pytest.raises(FetchError, match="refused http://127.0.0.2/admin"):
        fetch(http_server.url("/to-private"), _settings(allow_private_urls=False))
    assert [path for path, _ in http_server.seen] == ["/to-private"]


def test_redirect_loop_refused(http_server) -> None:
    http_server.add("/loop1", status=302, headers={"Location": "/loop2"})
    http_server.add("/loop2", status=302, headers={"Location": "/loop1"})
    with pytest.raises(FetchError, match="redirect loop") as err:
        fetch(http_server.url("/loop1"), _settings())
    assert http_server.url("/loop1") in str(err.value)


def test_too_many_redirects(http_server) -> None:
    for i in range(4):
        http_server.add(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    http_server.add("/r4", PAGE)
    with pytest.raises(FetchError, match="max_redirects=2"):
        fetch(http_server.url("/r0"), _settings(max_redirects=2))
    assert fetch(http_server.url("/r0"), _settings(max_redirects=4)).data == PAGE


@pytest.mark.parametrize("declared", [True, False])
def test_oversized_response_refused(http_server, declared: bool) -> None:
    url = http_server.add("/big", b"x" * 300_000, length=declared)
    with pytest.raises(FetchError, match="max_download_mb") as err:
        fetch(url, _settings(max_download_mb=0.1))
    assert url in str(err.value)


def test_slow_response_times_out(http_server) -> None:
    url = http_server.add("/slow", PAGE, delay=3.0)
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as err:
        fetch(url, _settings(url_timeout=0.3))
    assert time.monotonic() - start < 2.0
    assert "RAG_URL_TIMEOUT" in str(err.value)


def test_http_error_status(http_server) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(http_server.url("/missing"), _settings())


def test_connection_refused_names_url() -> None:
    with pytest.raises(FetchError, match="could not fetch http://127.0.0.1:9/"):
        fetch("http://127.0.0.1:9/", _settings())
