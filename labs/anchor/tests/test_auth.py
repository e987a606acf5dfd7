"""Authentication: people sign in for a JWT, machines use API keys, and every forged credential is a 401.

Each attack below is one a real service has fallen to: ``alg: none`` accepted, an RS256 token
verified with the HMAC key (the public key used as a shared secret), an expired token honoured, a
revoked key still working. All of them must get the same answer: 401, a problem document, and
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest
from anchor.core.config import Settings
from anchor.models import ApiKey
from anchor.tests.helpers import Tenant, assert_problem, make_tenant
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import select

pytestmark = pytest.mark.anyio

MakeTenant = Callable[[], Awaitable[Tenant]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(tenant: Tenant, **overrides: object) -> dict[str, object]:
    return {"sub": tenant.user_id, "tid": tenant.tenant_id, "exp": int(time.time()) + 600} | overrides


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _attacks(tenant: Tenant, settings: Settings) -> dict[str, str]:
    """The Authorization header values that must all be refused, by name."""
    secret = settings.jwt_secret.get_secret_value()
    valid = jwt.encode(_claims(tenant), secret, algorithm="HS256")
    header, payload, signature = valid.split(".")
    forged_payload = _b64(json.dumps(_claims(tenant, tid="org_someone_else")).encode())
    public_pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    unsigned = _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(_claims(tenant)).encode()) + "."
    # HS/RS confusion: an HS256 token whose "secret" is the RSA public key, and a genuine RS256 token.
    confused = (_b64(b'{"alg":"HS256","typ":"JWT"}') + "." + payload)
    confused_signature = _b64(hmac.new(public_pem, confused.encode(), hashlib.sha256).digest())
    key_prefix, _, key_secret = tenant.api_key.rpartition("_")
    return {
        "expired": "Bearer " + jwt.encode(_claims(tenant, exp=int(time.time()) - 60), secret,
                                          algorithm="HS256"),
        "no exp": "Bearer " + jwt.encode({"sub": tenant.user_id, "tid": tenant.tenant_id}, secret,
                                         algorithm="HS256"),
        "tampered payload": f"Bearer {header}.{forged_payload}.{signature}",
        "other secret": "Bearer " + jwt.encode(_claims(tenant), "x" * 48, algorithm="HS256"),
        "alg none": "Bearer " + unsigned,
        "RS256 token": "Bearer " + jwt.encode(_claims(tenant), RSA_KEY, algorithm="RS256"),
        "HS256 keyed with the public key": f"Bearer {confused}.{confused_signature}",
        "HS512 with the real secret": "Bearer " + jwt.encode(_claims(tenant), secret, algorithm="HS512"),
        "garbage token": "Bearer not.a.jwt",
        "unknown API key": "Bearer ak_01JD0000000000000000000000_" + "A" * 43,
        "API key, wrong secret": f"Bearer {key_prefix}_{'B' * len(key_secret)}",
        "malformed API key": "Bearer ak_short",
        "Basic scheme": "Basic " + base64.b64encode(b"user:pass").decode(),
        "Bearer without token": "Bearer",
        "empty header": "",
    }


ATTACKS = ["expired", "no exp", "tampered payload", "other secret", "alg none", "RS256 token",
           "HS256 keyed with the public key", "HS512 with the real secret", "garbage token",
           "unknown API key", "API key, wrong secret", "malformed API key", "Basic scheme",
           "Bearer without token", "empty header"]


@pytest.fixture(scope="module")
async def victim(client: httpx.AsyncClient) -> Tenant:
    """One tenant whose credentials every attack forges (signing up costs two argon2 runs)."""
    return await make_tenant(client)


@pytest.mark.parametrize("attack", ATTACKS)
async def test_every_forged_or_stale_credential_is_a_401(attack: str, client: httpx.AsyncClient,
                                                         victim: Tenant, settings: Settings) -> None:
    header = _attacks(victim, settings)[attack]
    response = await client.get("/api/v1/app", headers={"Authorization": header} if header else {})
    assert_problem(response, 401, "authentication_failed")
    assert response.headers.get("www-authenticate") == "Bearer", (
        f"a 401 must say how to authenticate (WWW-Authenticate: Bearer); attack {attack!r} got "
        f"{response.headers.get('www-authenticate')!r}")


async def test_the_genuine_token_and_key_both_work(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    for headers in (owner.headers, owner.jwt_headers):
        response = await client.get("/api/v1/app", headers=headers)
        assert response.status_code == 200, f"a valid credential should be accepted; got {response.text}"
        uids = [app["uid"] for app in response.json()["data"]]
        assert uids == ["operational"], f"a new tenant has exactly its operational application; got {uids}"


async def test_a_revoked_key_is_refused_at_once(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    assert (await client.get("/api/v1/app", headers=owner.headers)).status_code == 200  # now cached
    revoke = await client.delete(f"/api/v1/api-keys/{owner.api_key_id}", headers=owner.jwt_headers)
    assert revoke.status_code == 204, f"revoking a key answers 204; got {revoke.status_code}: {revoke.text}"
    response = await client.get("/api/v1/app", headers=owner.headers)
    assert_problem(response, 401, "authentication_failed")


async def test_keys_are_shown_once_and_stored_only_as_a_hash(app: FastAPI, client: httpx.AsyncClient,
                                                             tenant: MakeTenant) -> None:
    owner = await tenant()
    listed = await client.get("/api/v1/api-keys", headers=owner.jwt_headers)
    assert listed.status_code == 200
    assert owner.api_key not in listed.text and "key" not in listed.json()["data"][0], (
        "listing API keys must never show a key again")
    async with app.state.sessions() as session:
        stored = (await session.scalars(select(ApiKey).where(ApiKey.id == owner.api_key_id))).one()
    secret = owner.api_key.rpartition("_")[2]
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64, (
        "the table must hold the SHA-256 of the key's secret, never the secret")


async def test_wrong_password_and_unknown_email_are_the_same_401(client: httpx.AsyncClient,
                                                                 tenant: MakeTenant) -> None:
    owner = await tenant()
    wrong = await client.post("/api/v1/auth/token", data={"username": owner.email, "password": "nope-nope"})
    unknown = await client.post("/api/v1/auth/token", data={"username": "x@y.test", "password": "nope-nope"})
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.json()["detail"] == unknown.json()["detail"], (
        "a wrong password and an unknown email must read the same, or the answer reveals who has an account")


async def test_signing_up_twice_with_one_email_is_a_409(client: httpx.AsyncClient,
                                                         tenant: MakeTenant) -> None:
    owner = await tenant()
    again = await client.post("/api/v1/auth/signup", json={
        "email": owner.email, "password": "another-password", "organization": "Other"})
    assert_problem(again, 409)
