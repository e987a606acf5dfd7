"""What the anchor's tests share: a signed-up tenant, and the check that an answer is a problem."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import httpx

PUBLIC_URL = "https://203.0.113.10/webhook"  # TEST-NET-3: public by the SSRF guard's rules, never routed


@dataclass(frozen=True)
class Tenant:
    """A signed-up tenant: its ids, a person's access token and an API key."""

    tenant_id: str
    user_id: str
    email: str
    password: str
    token: str
    api_key: str
    api_key_id: str

    @property
    def headers(self) -> dict[str, str]:
        """Authenticated as the tenant's API key (what machines use)."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def jwt_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(client: httpx.AsyncClient) -> Tenant:
    """Sign up a new tenant, sign in, and create an API key — through the API, as a customer would."""
    email, password = f"{uuid.uuid4().hex[:12]}@example.test", secrets.token_urlsafe(12)
    signup = await client.post("/api/v1/auth/signup", json={
        "email": email, "password": password, "organization": "Acme"})
    assert signup.status_code == 201, f"signup should answer 201; got {signup.status_code}: {signup.text}"
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, f"sign-in should answer 200; got {token.status_code}: {token.text}"
    access = token.json()["access_token"]
    key = await client.post("/api/v1/api-keys", json={"name": "ci"},
                            headers={"Authorization": f"Bearer {access}"})
    assert key.status_code == 201, f"creating an API key should answer 201; got {key.text}"
    return Tenant(tenant_id=signup.json()["tenantId"], user_id=signup.json()["userId"], email=email,
                  password=password, token=access, api_key=key.json()["key"], api_key_id=key.json()["id"])


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    """``response`` is an RFC 9457 problem with ``status`` (and ``code``); returns its body."""
    assert response.status_code == status, (
        f"expected {status}; got {response.status_code}: {response.text[:300]}")
    assert response.headers["content-type"].startswith("application/problem+json"), (
        f"errors are application/problem+json; got {response.headers['content-type']}")
    body: dict[str, object] = response.json()
    missing = {"type", "title", "status", "detail", "instance", "code"} - set(body)
    assert not missing, (
        f"a problem document has type, title, status, detail, instance and code; missing {missing}")
    assert body["status"] == status, (
        f"the body's status {body['status']} should match the HTTP status {status}")
    if code is not None:
        assert body["code"] == code, f"expected problem code {code!r}; got {body['code']!r}: {body['detail']}"
    return body
