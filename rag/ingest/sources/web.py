"""Fetching a URL without letting it reach the local network or eat the disk.

A URL given to the ingester, or found in a feed, is untrusted: it may point at a
service on this machine or network (SSRF), redirect forever, stall, or be huge.
Every hop is checked before it is requested, redirects are followed by hand so each
target is checked too, and the download is capped in size and in time.

The connection goes to the very address that was checked: resolving the name again
would let a DNS answer that changes in between (rebinding) reach the local network.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from rag.config import Settings
from rag.ingest.sources.common import decode_bytes

USER_AGENT = "newsrag/0.1 (news question-answering assistant; reads articles for a local index)"
_SCHEMES = ("http", "https")


class FetchError(Exception):
    """A URL that could not be fetched; the message names the URL and says what to do."""


class _Redirect(Exception):  # noqa: N818 - control flow, not an error
    """A redirect's raw Location, taken before httpx parses it.

    httpx builds the next request of every redirect even when not following it, and raised
    ``InvalidURL`` (no ``HTTPError``: it escaped ``read_sources``) for "Location: javascript:...".
    Taken raw, the target goes through ``check_url``, which refuses it with a clear message.
    """

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _stop_at_redirect(response: httpx.Response) -> None:
    if response.is_redirect and "location" in response.headers:  # a 304 (or a broken 3xx) has no Location
        raise _Redirect(response.headers["location"])


@dataclass(frozen=True, slots=True)
class Fetched:
    """A downloaded resource: final URL after redirects, media type, charset and bytes.

    ``status`` is 304 (and ``data`` empty) when a conditional request found it unchanged; ``etag`` and
    ``last_modified`` are the validators the server sent, for the next conditional request.
    """

    url: str
    content_type: str
    charset: str | None
    data: bytes
    status: int = 200
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        """The server said the copy we hold is current: nothing to download or parse."""
        return self.status == 304

    def text(self) -> str | None:
        """The body as text: the declared charset if it works, else the usual detection."""
        if self.charset:
            try:
                return self.data.decode(self.charset)
            except (LookupError, UnicodeDecodeError):
                pass
        return decode_bytes(self.data)


def fetch(url: str, settings: Settings, etag: str = "", last_modified: str = "") -> Fetched:
    """GET ``url`` within the limits of ``settings``; raises ``FetchError`` with an actionable message.

    Given the validators of an earlier response, the request is conditional: an unchanged resource
    comes back as a 304 with no body, so a watched feed that did not change costs one round trip.
    """
    headers = {"User-Agent": USER_AGENT}
    headers |= {"If-None-Match": etag} if etag else {}
    headers |= {"If-Modified-Since": last_modified} if last_modified else {}
    seen: list[str] = []
    current = url
    while True:
        address = check_url(current, settings)
        seen.append(current)
        transport = _PinnedTransport(address, time.monotonic() + settings.fetch.url_timeout)
        with httpx.Client(transport=transport, timeout=settings.fetch.url_timeout, headers=headers,
                          event_hooks={"response": [_stop_at_redirect]}) as client:
            result = _get(client, current, settings)
        if isinstance(result, Fetched):
            return result
        if result in seen:
            raise FetchError(f"redirect loop: {' -> '.join([*seen, result])}; the site is misconfigured")
        if len(seen) > settings.fetch.max_redirects:
            raise FetchError(
                f"too many redirects from {url} (more than max_redirects={settings.fetch.max_redirects}); "
                "use the final URL directly or raise RAG_MAX_REDIRECTS"
            )
        current = result


def check_url(url: str, settings: Settings) -> str | None:
    """Refuse non-HTTP schemes and, unless allowed, hosts that resolve to non-public addresses.

    Returns the checked address to connect to (None when private URLs are allowed: nothing to pin).
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"malformed URL {url!r} ({exc}); check it") from None
    if parts.scheme not in _SCHEMES:
        scheme = parts.scheme or "none"
        raise FetchError(f"refused {url}: only http and https URLs are fetched, not {scheme!r}")
    if not parts.hostname:
        raise FetchError(f"malformed URL {url!r}: it has no host name; check it")
    if settings.fetch.allow_private_urls:
        return None
    addresses = _resolve(parts.hostname, port, url)
    for address in addresses:
        if not _is_public(address):
            raise FetchError(
                f"refused {url}: {parts.hostname} resolves to the non-public address {address}; "
                "set RAG_ALLOW_PRIVATE_URLS=1 to allow it"
            )
    return str(addresses[0])


def _resolve(host: str, port: int, url: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve the host of {url} ({exc}); check the URL and network") from None
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
        addresses.append(address)
    return addresses


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address; a 6to4 one (2002::/16) only if the IPv4 address inside it is too."""
    inner = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    if inner is not None and not _is_public(inner):
        return False
    private = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )
    return address.is_global and not private


def _get(client: httpx.Client, url: str, settings: Settings) -> Fetched | str:
    """One request: the resource, or the URL a redirect points to."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} from {url}; check the URL is still online")
            if response.is_redirect and response.status_code != 304:
                raise FetchError(f"HTTP {response.status_code} from {url} names no page to go to; the site is "
                                 "misconfigured, try again later")
            data = b"" if response.status_code == 304 else _read_capped(response, url, settings)
            media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            return Fetched(str(response.url), media_type, response.charset_encoding, data, response.status_code,
                           response.headers.get("etag", ""), response.headers.get("last-modified", ""))
    except _Redirect as redirect:
        return urljoin(url, redirect.location)
    except httpx.TimeoutException:
        raise FetchError(_timeout_message(url, settings)) from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {url} ({exc}); check the URL and the connection") from None


def _read_capped(response: httpx.Response, url: str, settings: Settings) -> bytes:
    """The body, refused (not truncated) past ``max_download_mb`` of *decoded* bytes (a gzip bomb is
    small on the wire); the transport's deadline refuses it past ``url_timeout``."""
    limit = int(settings.fetch.max_download_mb * 1024 * 1024)
    too_big = (
        f"refused {url}: larger than max_download_mb={settings.fetch.max_download_mb:g}; "
        "save the page to a file or raise RAG_MAX_DOWNLOAD_MB"
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(too_big)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FetchError(too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def _timeout_message(url: str, settings: Settings) -> str:
    seconds = f"{settings.fetch.url_timeout:g} s"
    return f"timed out after {seconds} fetching {url}; try again later or raise RAG_URL_TIMEOUT"


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport, whose connections go to the checked address and end at a deadline.

    The URL, and so the Host header and the TLS server name (SNI and certificate check), keep the
    host name. httpx 0.28 takes no network backend, so its connection pool is rebuilt with ours.
    """

    def __init__(self, address: str | None, deadline: float) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=_PinnedBackend(address, deadline))


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to ``address`` (when given) instead of resolving the host name again."""

    def __init__(self, address: str | None, deadline: float) -> None:
        self._address = address
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: object = None) -> httpcore.NetworkStream:
        left = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = httpcore.SyncBackend().connect_tcp(self._address or host, port, left, local_address,
                                                     socket_options)  # type: ignore[arg-type]
        return _DeadlineStream(stream, self._deadline)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write gets only what is left of the request's time.

    A per-read timeout alone never fires on a server that drips a byte (or a header) at a time.
    """

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: object, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left),  # type: ignore[arg-type]
                               self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


def _left(deadline: float, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
    """The smaller of a step's own timeout and the time left; past the deadline, httpx's timeout error."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request ran out of time")
    return left if timeout is None else min(timeout, left)
