"""The SSRF guard at registration: an endpoint URL that would reach inside the network is refused (422).

Each URL below is a way people have reached loopback, a private range or the cloud metadata service
past a guard that compared strings. The 422 names the address that was refused, so the tenant can
see why their URL was turned down.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest
from anchor.tests.helpers import PUBLIC_URL, Tenant, assert_problem, make_tenant

pytestmark = pytest.mark.anyio

MakeTenant = Callable[[], Awaitable[Tenant]]

# (url, what the 422's detail must mention)
HOSTILE: list[tuple[str, str]] = [
    ("http://127.0.0.1:8080/", "127.0.0.1"),
    ("http://2130706433/", "127.0.0.1"),              # 127.0.0.1 as one decimal number
    ("http://0177.0.0.1/", "127.0.0.1"),              # octal
    ("http://0x7f.0.0.1/", "127.0.0.1"),              # hex
    ("http://0/", "0.0.0.0"),
    ("http://[::1]/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),      # IPv4-mapped IPv6
    ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # cloud metadata
    ("http://10.0.0.5/", "10.0.0.5"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://172.16.0.1/", "172.16.0.1"),
    ("http://100.64.0.1/", "100.64.0.1"),             # carrier-grade NAT
    ("http://localhost:9000/hook", "127.0.0.1"),
    ("http://ip6-localhost/", "ip6-localhost"),
    ("http://user:password@203.0.113.10/", "credentials"),
    ("ftp://203.0.113.10/", "ftp"),
    ("file:///etc/passwd", "file"),
    ("gopher://203.0.113.10:70/", "gopher"),
    ("http:///no-host", "no host"),
]


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 80)
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
async def registrar(client: httpx.AsyncClient) -> tuple[Tenant, str, str]:
    owner = await make_tenant(client)
    app_id = (await client.post("/api/v1/app", headers=owner.headers, json={"name": "c"})).json()["id"]
    endpoint = await client.post(f"/api/v1/app/{app_id}/endpoint", headers=owner.headers,
                                 json={"url": PUBLIC_URL})
    assert endpoint.status_code == 201, f"a public URL must be accepted; got {endpoint.text}"
    return owner, app_id, endpoint.json()["id"]


@pytest.mark.parametrize(("url", "named"), HOSTILE, ids=[url for url, _ in HOSTILE])
async def test_a_hostile_url_is_refused_at_registration_and_update(
        url: str, named: str, client: httpx.AsyncClient, registrar: tuple[Tenant, str, str]) -> None:
    owner, app_id, endpoint_id = registrar
    path = f"/api/v1/app/{app_id}/endpoint"
    for method, target, body in (("POST", path, {"url": url}), ("PUT", f"{path}/{endpoint_id}", {"url": url}),
                                 ("PATCH", f"{path}/{endpoint_id}", {"url": url})):
        response = await client.request(method, target, headers=owner.headers, json=body)
        problem = assert_problem(response, 422, "unsafe_url")
        if named == "ip6-localhost" and _resolves("ip6-localhost"):
            named = "::1"
        assert named in str(problem["detail"]), (
            f"{method} with {url} was refused, but the problem should name {named!r}; "
            f"got {problem['detail']!r}")
    kept = (await client.get(f"{path}/{endpoint_id}", headers=owner.headers)).json()["url"]
    assert kept == PUBLIC_URL, f"a refused update must leave the endpoint's URL as it was; it is {kept}"
