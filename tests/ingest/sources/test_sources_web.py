import gzip
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rag.config import Settings
from rag.ingest.sources import web
from rag.ingest.sources.web import FetchError, check_url, fetch

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


# Hostile servers and addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[fe80::1]/", "http://[fc00::1]/", "http://[::]/",
    "http://0.0.0.0/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/",
    "http://100.64.0.1/", "http://news.example@10.0.0.1/", "http://[2002:7f00:1::]/",
])
def test_disguised_private_addresses_refused(url: str) -> None:
    """IPv6 forms of loopback, link-local and mapped addresses; decimal, octal, hex and short IPv4; 6to4."""
    with pytest.raises(FetchError, match="non-public address"):
        check_url(url, _settings(allow_private_urls=False))


@pytest.mark.parametrize("target", ["file:///etc/passwd", "javascript:alert(1)", "gopher://127.0.0.1:70/x"])
def test_redirect_to_another_scheme_refused(http_server, target: str) -> None:
    http_server.add("/jump", status=302, headers={"Location": target})
    with pytest.raises(FetchError, match="only http and https"):
        fetch(http_server.url("/jump"), _settings())


def _resolving(monkeypatch: pytest.MonkeyPatch, name: str, answers: list[str]) -> list[str]:
    """Make ``name`` resolve to each of ``answers`` in turn (the last one ever after); returns the lookups made."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, *args: object, **kw: object) -> list:
        if host != name:
            return real(host, *args, **kw)
        asked.append(answers[min(len(asked), len(answers) - 1)])
        return real(asked[-1], *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_dns_rebinding_cannot_reach_loopback(http_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's lookup answers 127.0.0.2 (taken as public here), any later one 127.0.0.1, where the server is."""
    http_server.add("/admin", PAGE)
    monkeypatch.setattr(web, "_is_public", lambda address: str(address) != "127.0.0.1")
    asked = _resolving(monkeypatch, "news.test", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(FetchError, match="could not fetch"):  # connected to 127.0.0.2, where nothing listens
        fetch(f"http://news.test:{http_server.server_address[1]}/admin", _settings(allow_private_urls=False))
    assert asked == ["127.0.0.2"] and http_server.seen == []


def test_pinned_request_keeps_the_host_name(http_server, monkeypatch: pytest.MonkeyPatch) -> None:
    http_server.add("/page", PAGE)
    monkeypatch.setattr(web, "_is_public", lambda address: True)
    _resolving(monkeypatch, "news.test", ["127.0.0.1"])
    url = f"http://news.test:{http_server.server_address[1]}/page"
    fetched = fetch(url, _settings(allow_private_urls=False))
    assert (fetched.url, fetched.data) == (url, PAGE)
    assert http_server.seen[0][1]["Host"] == f"news.test:{http_server.server_address[1]}"


@contextmanager
def dripping(head: bytes, drip: bytes) -> Iterator[str]:
    """A loopback server that sends ``head``, then ``drip`` every 50 ms until the client hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(head)
                while not stop.wait(0.05):
                    conn.sendall(drip)
        except OSError:
            pass  # the client hung up, as it should

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/drip"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("head", "drip"), [
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000000\r\n\r\n", b"x"),  # the body
    (b"HTTP/1.1 200 OK\r\n", b"X-Drip: 1\r\n"),  # the headers, which no body check ever sees
])
def test_slow_drip_is_cut_by_a_total_deadline(head: bytes, drip: bytes) -> None:
    """Every read returns within the per-read timeout, so only a deadline on the whole request ends it."""
    with dripping(head, drip) as url:
        start = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            fetch(url, _settings(url_timeout=0.5))
        assert time.monotonic() - start < 2.0


def test_gzip_bomb_capped_by_decoded_size(http_server) -> None:
    bomb = gzip.compress(b"\0" * 30_000_000)
    assert len(bomb) < 100_000  # small on the wire: only the decoded size can trip the cap
    url = http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="max_download_mb"):
        fetch(url, _settings(max_download_mb=1))
