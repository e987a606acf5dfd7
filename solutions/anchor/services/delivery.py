"""One HTTP attempt to one endpoint: SSRF-checked at connect time, pinned, timed, classified.

The tenant chooses the URL, so the address is checked *when we connect*, not only when the
endpoint was registered: the name is resolved, every address it resolves to must be public (or
allow-listed), and the request goes to that checked address — the URL's host is replaced by the IP,
the ``Host`` header and TLS SNI (``sni_hostname``) carry the name. A DNS answer that changes a
second later (rebinding) is never connected to, and redirects are never followed: a ``302`` to
``169.254.169.254`` is recorded as an HTTP failure, not obeyed.

Keep-alive still works: plain-HTTP connections are pooled per checked IP, so a connection is only
ever reused for the address that was checked. HTTPS connections are pooled per *name* (one client
per host, a bounded few), because a TLS connection verified for one name must never carry another
name's request. The plain pool is split into shards of ``SHARD_CONNECTIONS``: httpcore looks at
every connection of its pool for every request it places, so one pool of hundreds of connections
spends more CPU choosing a connection than sending the request.

Nothing here raises for the receiver's trouble: every way an attempt can go wrong is an
:class:`Outcome` with an ``error_class`` — dns, connect, tls, timeout, http, ssrf — and a detail a
person can act on, which the attempt log shows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import ssl
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from .retry_policy import parse_retry_after
from .ssrf import IPAddress, Network, UnsafeUrl, is_allowed, resolve, split_url

USER_AGENT = "anchor/1.0 (+https://www.standardwebhooks.com/)"
MAX_TLS_CLIENTS = 64  # HTTPS names with a warm connection pool at once; the least recent is closed
SHARD_CONNECTIONS = 8  # connections per plain-HTTP client; requests are spread over the shards


@dataclass(frozen=True)
class Outcome:
    """What one attempt did. ``status_code`` is ``None`` when no answer came back."""

    succeeded: bool
    status_code: int | None
    body: str
    duration_ms: int
    error_class: str | None  # dns|connect|tls|timeout|http|ssrf; None on success
    detail: str | None
    retry_after_s: float | None = None

    @property
    def outcome(self) -> str:
        """The metric label: ``success`` or the error class."""
        return self.error_class or "success"

    @property
    def slow_down(self) -> bool:
        """A 429 or a timeout: the receiver is overloaded, so the retry waits longer."""
        return self.status_code == 429 or self.error_class == "timeout"


async def checked_address(url: str, allowed: Sequence[Network]) -> IPAddress:
    """The address to connect to for ``url``: every resolved address checked, the first returned.

    ``LookupError`` when the name does not resolve (a dns failure), :class:`UnsafeUrl` when any
    address is refused (an ssrf failure) — one refused address taints the name, since a resolver
    may hand out any of them next time.
    """
    _, host, port = split_url(url)
    try:
        addresses = [ipaddress.ip_address(host)]  # a literal in canonical notation: no lookup
    except ValueError:
        addresses = await resolve(host, port)
    refused = [address for address in addresses if not is_allowed(address, allowed)]
    if refused or not addresses:
        shown = ", ".join(str(address) for address in refused)
        raise UnsafeUrl(f"{host} resolves to {shown}, a private, loopback, link-local or reserved "
                        "address; webhooks may only go to public addresses")
    return addresses[0]


def _classify_transport(exc: Exception) -> tuple[str, str]:
    """``(error_class, detail)`` for an exception raised before an answer arrived."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout", f"no answer in time ({type(exc).__name__})"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return "tls", f"TLS failed: {cause}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connect", f"could not connect: {exc}"
    return "connect", f"the connection failed: {type(exc).__name__}: {exc}"


class Sender:
    """Makes attempts with pooled, keep-alive HTTP clients; one per worker process."""

    def __init__(self, *, timeout_s: float, body_max_bytes: int, allowed: Sequence[Network],
                 max_connections: int) -> None:
        self.timeout_s = timeout_s
        self.body_max_bytes = body_max_bytes
        self.allowed = tuple(allowed)
        self._max_connections = max_connections
        shards = max(1, -(-max_connections // SHARD_CONNECTIONS))
        self._plain = [self._client(SHARD_CONNECTIONS) for _ in range(shards)]
        self._next_shard = itertools.cycle(range(shards))
        self._tls: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    def _client(self, connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), limits=limits,
                                 follow_redirects=False, trust_env=False)

    async def _client_for(self, scheme: str, host: str) -> httpx.AsyncClient:
        if scheme == "http":
            return self._plain[next(self._next_shard)]
        client = self._tls.pop(host, None) or self._client(self._max_connections)
        self._tls[host] = client
        while len(self._tls) > MAX_TLS_CLIENTS:
            _, oldest = self._tls.popitem(last=False)
            await oldest.aclose()
        return client

    async def aclose(self) -> None:
        for shard in self._plain:
            await shard.aclose()
        for client in self._tls.values():
            await client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        """POST ``body`` to ``url`` once; the answer, or the classified reason there was none."""
        started = time.monotonic()

        def done(status: int | None, text: str, error_class: str | None, detail: str | None,
                 retry_after_s: float | None = None) -> Outcome:
            return Outcome(error_class is None, status, text, round((time.monotonic() - started) * 1000),
                           error_class, detail, retry_after_s)

        try:
            scheme, host, port = split_url(url)
            address = await checked_address(url, self.allowed)
        except UnsafeUrl as exc:
            return done(None, "", "ssrf", str(exc))
        except LookupError as exc:
            return done(None, "", "dns", str(exc))
        # Connect to the checked address, say the name in Host and SNI: no second lookup.
        pinned = httpx.URL(url).copy_with(host=str(address), port=port)
        default_port = 443 if scheme == "https" else 80
        request_headers = {**headers, "host": host if port == default_port else f"{host}:{port}",
                           "content-type": "application/json", "user-agent": USER_AGENT}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        client = await self._client_for(scheme, host)
        try:
            async with asyncio.timeout(self.timeout_s):
                request = client.build_request("POST", pinned, content=body, headers=request_headers,
                                               extensions=extensions)
                response = await client.send(request, stream=True)
                try:
                    text = await self._read_some(response)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            error_class, detail = _classify_transport(exc)
            return done(None, "", error_class, detail)
        retry_after_s = parse_retry_after(response.headers.get("retry-after"))
        if 200 <= response.status_code < 300:
            return done(response.status_code, text, None, None)
        detail = f"HTTP {response.status_code}"
        if response.is_redirect:
            detail += f" redirect to {response.headers.get('location', '?')!r}, not followed"
        return done(response.status_code, text, "http", detail, retry_after_s)

    async def _read_some(self, response: httpx.Response) -> str:
        """At most ``body_max_bytes`` of the answer: a receiver may send megabytes back."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= self.body_max_bytes:
                break
        return b"".join(chunks)[: self.body_max_bytes].decode("utf-8", errors="replace")
