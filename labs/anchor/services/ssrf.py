"""The SSRF guard: an endpoint URL may only ever reach a public address.

A tenant chooses the URL the service POSTs to from inside your network, so an unchecked URL is a
way in: ``http://169.254.169.254/`` reads the cloud metadata (and its credentials), ``localhost``
reaches admin ports. Checking the *string* is not enough — ``http://2130706433/`` is 127.0.0.1,
``[::ffff:10.0.0.1]`` is a private IPv4 address in IPv6 clothes, and a DNS name can resolve to
anything (and resolve differently a second later). So the guard resolves the name, checks *every*
address it resolves to, and the delivery connects to one of those checked addresses — never
resolving again — and follows no redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Denied unless allow-listed: loopback, private, link-local (metadata lives there), carrier-grade
# NAT, "this network", multicast, reserved, and the IPv6 equivalents.
DENIED_NETWORKS: tuple[Network, ...] = tuple(ipaddress.ip_network(cidr) for cidr in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
))


class UnsafeUrl(ValueError):
    """The URL may not be delivered to; ``str()`` says why, naming the refused address."""


def _unwrapped(address: IPAddress) -> IPAddress:
    """An IPv4 address hiding in IPv6 (``::ffff:10.0.0.1``, 6to4 ``2002:…``) as the IPv4 address it is."""
    raise NotImplementedError(
        "_unwrapped: see weeks/13-anchor-core/README.md, section 'The SSRF guard'")


def is_allowed(address: IPAddress, allowed: Sequence[Network] = ()) -> bool:
    """Whether ``address`` may be connected to: allow-listed, or in none of the denied ranges.

    Unwrap it first; compare only networks of the same IP version.
    """
    raise NotImplementedError(
        "is_allowed: see weeks/13-anchor-core/README.md, section 'The SSRF guard'")


def split_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an endpoint URL; refuses what is not plain http(s) to a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"{url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in {"http", "https"}:
        raise UnsafeUrl(f"only http and https URLs can receive webhooks, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UnsafeUrl(f"{url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("URLs with credentials (user:password@host) are refused")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal IP resolves to itself, in any notation)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError(f"{host} does not resolve: {exc.strerror}") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


async def check_url(url: str, allowed: Sequence[Network] = ()) -> list[IPAddress]:
    """The addresses ``url`` may be delivered to — all of them checked — or :class:`UnsafeUrl`.

    :func:`split_url`, then :func:`resolve` (a name that does not resolve is unsafe too), then
    refuse if ANY address is not allowed, naming the refused addresses. Used at registration (a
    hostile URL is refused with a 422) and again at connect time, where the delivery connects to
    the first returned address and nothing else.
    """
    raise NotImplementedError(
        "check_url: see weeks/13-anchor-core/README.md, section 'The SSRF guard'")
