"""Lab: the SSRF guard — an endpoint URL may only ever reach a public address.

The guard is called directly with the URLs attackers really register (every notation of
127.0.0.1, the metadata address wrapped in IPv6, credentials, other schemes), then through the API,
where a refused URL is a 422 naming the address and leaves no endpoint behind. Only IP literals
are used, so the tests need no DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

LESSON = "weeks/13-anchor-core/README.md"

HOSTILE = {
    "loopback": "http://127.0.0.1:8080/hook",
    "loopback-decimal": "http://2130706433/hook",
    "loopback-hex": "http://0x7f000001/hook",
    "loopback-octal": "http://0177.0.0.1/hook",
    "loopback-short": "http://127.1/hook",
    "localhost": "http://localhost:6379/",
    "this-host": "http://0.0.0.0:5432/",
    "metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "metadata-in-ipv6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "loopback-in-ipv6": "http://[::ffff:7f00:1]/",
    "ipv6-loopback": "http://[::1]/",
    "private-10": "http://10.0.0.5/",
    "private-172": "https://172.16.3.4/",
    "private-192": "http://192.168.1.1/admin",
    "carrier-nat": "http://100.64.0.1/",
    "ipv6-unique-local": "http://[fd00::1]/",
    "credentials": "http://admin:admin@93.184.215.14/",
    "file-scheme": "file:///etc/passwd",
    "gopher-scheme": "gopher://93.184.215.14:70/_",
    "no-host": "http:///hook",
}
PUBLIC = {"ipv4": ("http://93.184.215.14/hook", "93.184.215.14"),
          "ipv6": ("https://[2606:4700::1111]:8443/hook", "2606:4700::1111")}


def check(url: str, allowed: tuple[str, ...] = ()) -> list[Any]:
    from anchor.services import ssrf

    networks = [ipaddress.ip_network(cidr) for cidr in allowed]
    return list(asyncio.run(ssrf.check_url(url, networks)))


@pytest.mark.parametrize("url", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_urls_are_refused(url: str) -> None:
    try:
        addresses = check(url)
    except ValueError as exc:  # UnsafeUrl is a ValueError
        assert str(exc), f"refusing {url} must say why (the address or the rule); the message is empty"
        return
    pytest.fail(f"check_url({url!r}) let it through (addresses {addresses}): a tenant could make the "
                "service POST into your own network. Resolve the host, unwrap IPv4 hiding in IPv6, "
                f"and check every address. See {LESSON}, section 'The SSRF guard'", pytrace=False)


@pytest.mark.parametrize("url,address", PUBLIC.values(), ids=PUBLIC.keys())
def test_public_addresses_are_allowed(url: str, address: str) -> None:
    got = [str(item) for item in check(url)]
    assert got == [address], (
        f"check_url({url!r}) must return the checked addresses to connect to, [{address!r}]; got "
        f"{got}. See {LESSON}, section 'The SSRF guard'")


def test_the_allow_list_opens_only_its_ranges() -> None:
    allowed = ("127.0.0.0/8",)
    got = [str(item) for item in check("http://127.0.0.1:9000/hook", allowed)]
    assert got == ["127.0.0.1"], (
        f"with 127.0.0.0/8 allow-listed (a loopback receiver in tests), 127.0.0.1 must pass; got {got}. "
        f"See {LESSON}, section 'The SSRF guard'")
    try:
        check("http://169.254.169.254/", allowed)
    except ValueError:
        return
    pytest.fail("allow-listing 127.0.0.0/8 opened 169.254.169.254 too: an allow-list adds its ranges "
                f"and nothing else. See {LESSON}, section 'The SSRF guard'", pytrace=False)


def test_registration_refuses_a_hostile_endpoint_url(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    path = f"/api/v1/app/{app_id}/endpoint"
    with tenant.client() as client:
        refused = {url: client.post(path, json={"url": url}) for url in (
            "http://169.254.169.254/latest/meta-data/", "http://2130706433/")}
        good = client.post(path, json={"url": PUBLIC["ipv4"][0]})
        assert good.status_code == 201, (
            f"a public URL must register: POST {path} answered {good.status_code} {good.text[:300]!r}. "
            f"See {LESSON}, section 'The SSRF guard'")
        moved = client.patch(f"{path}/{good.json()['id']}", json={"url": "http://[::ffff:10.0.0.1]/"})
    for (url, response), address in zip(refused.items(), ("169.254.169.254", "127.0.0.1"), strict=True):
        assert response.status_code == 422 and address in response.text, (
            f"registering {url} must be a 422 problem naming the refused address {address}; got "
            f"{response.status_code} {response.text[:300]!r}. See {LESSON}, section 'The SSRF guard'")
    assert moved.status_code == 422, (
        f"changing an endpoint's URL to http://[::ffff:10.0.0.1]/ must be refused like registering "
        f"it; got {moved.status_code}. See {LESSON}, section 'The SSRF guard'")
    urls = [row[0] for row in api.sql("SELECT url FROM endpoints WHERE app_id = %s", app_id)]
    assert urls == [PUBLIC["ipv4"][0]], (
        f"after the refusals the app's endpoints must be only the public one; the database holds {urls}")
