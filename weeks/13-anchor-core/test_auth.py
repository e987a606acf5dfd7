"""Lab: who is calling — passwords, people's JWTs, machines' API keys, one tenant's walls.

Every test talks to a real API process over HTTP. The attacks are the ones that work on real
services: a token that names its own algorithm, a key embedded in the token, a token edited to
name another tenant, a token that never expires, an API key read back out of a database dump.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

LESSON = "weeks/13-anchor-core/README.md"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    """The claims a token carries, read without checking it (what an attacker can do too)."""
    return dict(jwt.decode(token, options={"verify_signature": False}))


def assert_refused(response: httpx.Response, what: str) -> None:
    """401 with a problem document and ``WWW-Authenticate: Bearer`` — nothing else will do."""
    assert response.status_code == 401, (
        f"{what}: expected 401, got {response.status_code} with body {response.text[:300]!r}. "
        f"The service trusted a credential it should have refused; see {LESSON}, section "
        "'Tokens an attacker can make'")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("bearer"), (
        f"{what}: a 401 must say how to authenticate with `WWW-Authenticate: Bearer`; got "
        f"{challenge!r}")


def test_a_password_is_stored_as_an_argon2_hash(api: Any) -> None:
    tenant = api.signup()
    rows = api.sql("SELECT password_hash FROM users WHERE id = %s", tenant.user_id)
    assert rows, f"signup answered userId {tenant.user_id!r}, but no users row has that id"
    stored = rows[0][0]
    assert "correct horse" not in stored, (
        f"the users row holds the password itself ({stored[:40]!r}…): one database dump and every "
        f"account is open. Hash it with argon2; see {LESSON}, section 'Passwords'")
    assert stored.startswith("$argon2"), (
        f"the stored password hash is {stored[:30]!r}…, not an argon2 hash ($argon2id$…). A fast "
        "hash (sha256, md5) of a password is guessed at billions a second on one GPU; argon2 is "
        f"slow and memory-hard on purpose. See {LESSON}, section 'Passwords'")


def test_the_password_flow_refuses_a_wrong_password(api: Any) -> None:
    tenant = api.signup()
    with api.http() as client:
        wrong = client.post("/api/v1/auth/token", data={"username": tenant.email, "password": "guess"})
        nobody = client.post("/api/v1/auth/token", data={"username": "nobody@example.com",
                                                         "password": "guess"})
    for response, what in ((wrong, "a wrong password"), (nobody, "an unknown email")):
        assert response.status_code == 401, (
            f"POST /api/v1/auth/token with {what} answered {response.status_code} "
            f"({response.text[:200]!r}); it must be 401, the same for both, so the endpoint does "
            f"not reveal which emails have accounts. See {LESSON}, section 'Passwords'")
    with tenant.client() as client:
        mine = client.get("/api/v1/app")
    assert mine.status_code == 200, (
        f"a token from the password flow must open the API: GET /api/v1/app answered "
        f"{mine.status_code} ({mine.text[:200]!r}). See {LESSON}, section 'Access tokens'")


def forged(kind: str, token: str, other: Any, secret: str) -> str:
    """A token an attacker could make from a real one (``other`` is a second tenant)."""
    claims = claims_of(token)
    header, payload, signature = token.split(".")
    if kind == "alg-none":
        head = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{head}.{payload}."
    if kind == "rs256-own-key":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return jwt.encode(claims, key, algorithm="RS256", headers={"jwk": public_jwk})
    if kind == "wrong-secret":
        return jwt.encode(claims, "an-attacker's-guess-at-the-secret-0123456789", algorithm="HS256")
    if kind == "tampered":
        edited = claims | {"sub": other.user_id, "tid": other.tenant_id}
        return f"{header}.{b64url(json.dumps(edited).encode())}.{signature}"
    if kind == "expired":
        now = int(time.time())
        return jwt.encode(claims | {"iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    if kind == "no-exp":
        return jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256")
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["alg-none", "rs256-own-key", "wrong-secret", "tampered", "expired",
                                  "no-exp"])
def test_forged_tokens_are_refused(api: Any, jwt_secret: str, kind: str) -> None:
    tenant, other = api.signup("Acme"), api.signup("Other")
    other.create_app("other's app")
    with tenant.client() as client:
        genuine = client.get("/api/v1/app")
    assert genuine.status_code == 200, (
        f"the genuine token must work before a forged one can prove anything: GET /api/v1/app "
        f"answered {genuine.status_code} ({genuine.text[:200]!r}). See {LESSON}, section 'Access tokens'")
    with tenant.client(forged(kind, tenant.token, other, jwt_secret)) as client:
        response = client.get("/api/v1/app")
    assert_refused(response, f"a {kind} token")


def test_an_api_key_is_shown_once_and_stored_hashed(api: Any) -> None:
    tenant = api.signup()
    with tenant.client() as client:
        created = client.post("/api/v1/api-keys", json={"name": "ci"})
        body = created.json() if created.status_code == 201 else {}
        listed = client.get("/api/v1/api-keys")
    assert created.status_code == 201 and str(body.get("key", "")).startswith("ak_"), (
        f"POST /api/v1/api-keys must answer 201 with the key (`ak_…`) once; got "
        f"{created.status_code} {created.text[:200]!r}. See {LESSON}, section 'API keys'")
    key = body["key"]
    secret = key.split("_", 2)[-1]
    assert listed.status_code == 200 and secret not in listed.text, (
        f"GET /api/v1/api-keys must list keys without their secrets (answered {listed.status_code}, "
        f"secret shown: {secret in listed.text}). A key is shown once, when it is made. "
        f"See {LESSON}, section 'API keys'")
    rows = [row[0] for row in api.sql("SELECT row_to_json(k)::text FROM api_keys k WHERE tenant_id = %s",
                                      tenant.tenant_id)]
    assert len(rows) == 1, f"expected one api_keys row for the tenant, found {len(rows)}"
    assert secret not in rows[0], (
        f"the api_keys row holds the key's secret as it was handed out: {rows[0][:200]}. Whoever "
        "reads a backup can call the API as every tenant. Store a SHA-256 of the secret and compare "
        f"hashes. See {LESSON}, section 'API keys'")
    with tenant.client(key) as client:
        mine = client.get("/api/v1/app")
    assert mine.status_code == 200, (
        f"the new key must authenticate: GET /api/v1/app with it answered {mine.status_code} "
        f"({mine.text[:200]!r}). See {LESSON}, section 'API keys'")


def test_a_key_with_a_wrong_secret_or_revoked_is_refused(api: Any) -> None:
    tenant = api.signup()
    with tenant.client() as client:
        created = client.post("/api/v1/api-keys", json={"name": "deploy"})
    assert created.status_code == 201, (
        f"POST /api/v1/api-keys answered {created.status_code} ({created.text[:200]!r}); see "
        f"{LESSON}, section 'API keys'")
    key, key_id = created.json()["key"], created.json()["id"]
    scheme, key_part, secret = key.split("_", 2)
    guessed = f"{scheme}_{key_part}_{'A' * len(secret)}"
    with tenant.client(guessed) as client:
        assert_refused(client.get("/api/v1/app"), "a key with a real key id and a guessed secret")
    with tenant.client() as client:
        revoked = client.delete(f"/api/v1/api-keys/{key_id}")
    assert revoked.status_code == 204, (
        f"DELETE /api/v1/api-keys/{{id}} must answer 204; got {revoked.status_code} "
        f"({revoked.text[:200]!r}). See {LESSON}, section 'API keys'")
    with tenant.client(key) as client:
        assert_refused(client.get("/api/v1/app"), "a revoked key")


def test_one_tenant_cannot_reach_another_tenants_data(api: Any) -> None:
    owner, stranger = api.signup("Owner"), api.signup("Stranger")
    app_id = owner.create_app("owner's app")
    with owner.client() as client:
        key = client.post("/api/v1/api-keys", json={"name": "owner key"})
    assert key.status_code == 201, f"POST /api/v1/api-keys answered {key.status_code}"
    tries = {
        "GET the app": ("GET", f"/api/v1/app/{app_id}", None),
        "send a message to the app": ("POST", f"/api/v1/app/{app_id}/msg",
                                      {"eventType": "order.paid", "payload": {"n": 1}}),
        "list the app's messages": ("GET", f"/api/v1/app/{app_id}/msg", None),
        "revoke the app owner's key": ("DELETE", f"/api/v1/api-keys/{key.json()['id']}", None),
    }
    with stranger.client() as client:
        seen = {what: client.request(method, path, json=body).status_code
                for what, (method, path, body) in tries.items()}
        listed = client.get("/api/v1/app")
    leaked = {what: status for what, status in seen.items() if status != 404}
    assert not leaked, (
        f"another tenant's ids must answer 404, exactly like ids that do not exist; got {leaked}. "
        "Every query filters on the caller's tenant_id — and 403 would confirm the id exists. "
        f"See {LESSON}, section 'Tenant isolation'")
    assert app_id not in listed.text, (
        f"GET /api/v1/app as another tenant lists {app_id}. See {LESSON}, section 'Tenant isolation'")
    with owner.client(key.json()["key"]) as client:
        still = client.get(f"/api/v1/app/{app_id}")
    assert still.status_code == 200, (
        f"the owner's key must still work after a stranger tried to revoke it; got "
        f"{still.status_code}. See {LESSON}, section 'Tenant isolation'")
