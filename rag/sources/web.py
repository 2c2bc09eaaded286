"""Fetching a URL without letting it reach the local network or eat the disk.

A URL given to the ingester, or found in a feed, is untrusted: it may point at a
service on this machine or network (SSRF), redirect forever, stall, or be huge.
Every hop is checked before it is requested, redirects are followed by hand so each
target is checked too, and the download is capped in size and in time.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from rag.config import Settings
from rag.sources.common import decode_bytes

USER_AGENT = "newsrag/0.1 (news question-answering assistant; reads articles for a local index)"
_SCHEMES = ("http", "https")


class FetchError(Exception):
    """A URL that could not be fetched; the message names the URL and says what to do."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A downloaded resource: final URL after redirects, media type, charset and bytes."""

    url: str
    content_type: str
    charset: str | None
    data: bytes

    def text(self) -> str | None:
        """The body as text: the declared charset if it works, else the usual detection."""
        if self.charset:
            try:
                return self.data.decode(self.charset)
            except (LookupError, UnicodeDecodeError):
                pass
        return decode_bytes(self.data)


def fetch(url: str, settings: Settings) -> Fetched:
    """GET ``url`` within the limits of ``settings``; raises ``FetchError`` with an actionable message."""
    seen: list[str] = []
    current = url
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(timeout=settings.url_timeout, follow_redirects=False, headers=headers) as client:
        while True:
            check_url(current, settings)
            seen.append(current)
            result = _get(client, current, settings)
            if isinstance(result, Fetched):
                return result
            if result in seen:
                raise FetchError(f"redirect loop: {' -> '.join([*seen, result])}; the site is misconfigured")
            if len(seen) > settings.max_redirects:
                raise FetchError(
                    f"too many redirects from {url} (more than max_redirects={settings.max_redirects}); "
                    "use the final URL directly or raise RAG_MAX_REDIRECTS"
                )
            current = result


def check_url(url: str, settings: Settings) -> None:
    """Refuse non-HTTP schemes and, unless allowed, hosts that resolve to non-public addresses."""
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
    if settings.allow_private_urls:
        return
    for address in _resolve(parts.hostname, port, url):
        if not _is_public(address):
            raise FetchError(
                f"refused {url}: {parts.hostname} resolves to the non-public address {address}; "
                "set RAG_ALLOW_PRIVATE_URLS=1 to allow it"
            )


def _resolve(host: str, port: int, url: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve the host of {url} ({exc}); check the URL and network") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
        addresses.append(address)
    return addresses


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
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
            if response.is_redirect and response.next_request is not None:
                return str(response.next_request.url)
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} from {url}; check the URL is still online")
            data = _read_capped(response, url, settings)
            media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            return Fetched(str(response.url), media_type, response.charset_encoding, data)
    except httpx.TimeoutException:
        raise FetchError(_timeout_message(url, settings)) from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {url} ({exc}); check the URL and the connection") from None


def _read_capped(response: httpx.Response, url: str, settings: Settings) -> bytes:
    """The body, refused (not truncated) past ``max_download_mb`` or ``url_timeout`` in total."""
    limit = int(settings.max_download_mb * 1024 * 1024)
    too_big = (
        f"refused {url}: larger than max_download_mb={settings.max_download_mb:g}; "
        "save the page to a file or raise RAG_MAX_DOWNLOAD_MB"
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(too_big)
    deadline = time.monotonic() + settings.url_timeout
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FetchError(too_big)
        if time.monotonic() > deadline:
            raise FetchError(_timeout_message(url, settings))
        chunks.append(chunk)
    return b"".join(chunks)


def _timeout_message(url: str, settings: Settings) -> str:
    seconds = f"{settings.url_timeout:g} s"
    return f"timed out after {seconds} fetching {url}; try again later or raise RAG_URL_TIMEOUT"
