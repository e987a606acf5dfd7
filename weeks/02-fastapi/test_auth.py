"""Lab fastapi/auth — register, log in, /me, and every bad token answered 401.

The bad tokens are built the way an attacker builds them: by editing a real token's payload,
by declaring ``"alg": "none"``, or by signing HS256 with the RS256 public key (which is public).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest

LESSON = "weeks/02-fastapi/README.md"
PASSWORD = "correct horse battery staple"


# --------------------------------------------------------------------------- helpers


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def register(client, email: str | None = None, password: str = PASSWORD) -> dict:
    email = email or unique_email()
    response = client.post("/users", json={"email": email, "password": password})
    assert response.status_code == 201, (
        f"expected POST /users to answer 201 Created; got {response.status_code} {response.text}; "
        f"look at register() in routes.py and {LESSON}, section 'Auth'")
    return response.json()


def login(client, email: str, password: str = PASSWORD) -> str:
    response = client.post("/token", data={"username": email, "password": password})
    assert response.status_code == 200, (
        f"expected POST /token (an OAuth2 password-flow form) to answer 200; got "
        f"{response.status_code} {response.text}; look at login() in routes.py")
    body = response.json()
    assert body.get("token_type", "").lower() == "bearer", f"expected token_type 'bearer'; got {body}"
    return body["access_token"]


def new_user(client) -> tuple[dict, str]:
    user = register(client)
    return user, login(client, user["email"])


def me(client, token: str):
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def assert_rejected(response, what: str, where: str) -> None:
    assert response.status_code == 401, (
        f"expected a {what} to be answered 401; got {response.status_code} {response.text}; "
        f"look at {where} and {LESSON}, section 'Tokens that must fail'")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("bearer"), (
        f"expected a 401 for a bearer-protected resource to carry `WWW-Authenticate: Bearer …` "
        f"(RFC 6750); got {challenge!r}; raise HTTPException(401, headers={{'WWW-Authenticate': ...}})")


# --------------------------------------------------------------------------- register and log in


def test_register_returns_the_user_but_never_the_password(client) -> None:
    user = register(client)
    assert set(user) >= {"id", "email"}, f"expected the new user's id and email; got {user}"
    leaked = {key for key in user if "password" in key.lower() or "hash" in key.lower()}
    assert not leaked, f"the response leaks {leaked}; return a schema without password fields (UserOut)"


def test_passwords_are_stored_as_argon2id_hashes(client, schema_url: str) -> None:
    user = register(client)
    with psycopg.connect(schema_url) as conn:
        (stored,) = conn.execute("SELECT hashed_password FROM users WHERE id = %s", (user["id"],)).fetchone()
    assert PASSWORD not in stored, "the plain password is in the database; hash it (security.hash_password)"
    assert stored.startswith("$argon2id$"), (
        f"expected an argon2id hash (PHC string '$argon2id$v=19$m=…'); got {stored[:24]!r}…; "
        "use pwdlib's PasswordHash.recommended() — fast hashes (sha256, md5) fall to GPUs")


def test_a_second_registration_with_the_same_email_is_409(client) -> None:
    email = unique_email()
    register(client, email)
    response = client.post("/users", json={"email": email, "password": PASSWORD})
    assert response.status_code == 409, (
        f"expected 409 Conflict for a duplicate e-mail; got {response.status_code} {response.text}; "
        "catch the unique-constraint IntegrityError, roll back, raise HTTPException(409)")


def test_token_from_the_password_flow_opens_me(client) -> None:
    user, token = new_user(client)
    response = me(client, token)
    assert response.status_code == 200, f"expected /me with a fresh token to be 200; got {response.text}"
    assert response.json()["email"] == user["email"], f"expected /me to be {user}; got {response.json()}"


def test_wrong_password_is_401(client) -> None:
    user = register(client)
    response = client.post("/token", data={"username": user["email"], "password": "not the password"})
    assert response.status_code == 401, f"expected 401 for a wrong password; got {response.status_code}"


def test_login_takes_as_long_for_unknown_users(client) -> None:
    """Same-run ratio, best of several: an unknown e-mail must not answer measurably faster."""
    user = register(client)
    forms = {"wrong password": {"username": user["email"], "password": "wrong password!"},
             "unknown e-mail": {"username": unique_email("nobody"), "password": "wrong password!"}}
    best = dict.fromkeys(forms, float("inf"))
    for _ in range(5):  # interleaved, so a burst of load hits both kinds alike
        for kind, form in forms.items():
            started = time.perf_counter()
            response = client.post("/token", data=form)
            best[kind] = min(best[kind], time.perf_counter() - started)
            assert response.status_code == 401, f"expected 401 for a {kind}; got {response.status_code}"
    ratio = best["unknown e-mail"] / best["wrong password"]
    assert ratio > 0.5, (
        f"an unknown e-mail is answered in {best['unknown e-mail'] * 1000:.1f} ms, a wrong password "
        f"in {best['wrong password'] * 1000:.1f} ms (ratio {ratio:.2f}): the time says which accounts "
        "exist. Verify against a dummy argon2 hash when the user is missing — lesson section 'Auth'")


# --------------------------------------------------------------------------- tokens that must fail


def test_missing_token_is_401(client) -> None:
    assert_rejected(client.get("/me"), "request without a token", "get_current_user() in deps.py")


def test_expired_token_is_401(client, settings) -> None:
    from labs.week02_fastapi import security

    user = register(client)
    expired = security.create_access_token(str(user["id"]), settings, expires_in=dt.timedelta(seconds=-30))
    assert_rejected(me(client, expired), "token that expired 30 s ago",
                    "decode_access_token() in security.py")


def test_tampered_token_is_401(client) -> None:
    victim = register(client)
    _, token = new_user(client)
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = str(victim["id"])  # "I am the victim now" — same signature, edited payload
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert_rejected(me(client, forged), "token whose payload was edited after signing",
                    "decode_access_token() in security.py (is the signature verified?)")


def test_alg_none_token_is_401(client) -> None:
    _, token = new_user(client)
    _, claims, _ = token_parts(token)
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{b64url(json.dumps(claims).encode())}."
    assert_rejected(me(client, unsigned), 'token with "alg": "none" and no signature',
                    "the algorithms= allow-list in decode_access_token()")


def test_garbage_token_is_401(client) -> None:
    assert_rejected(me(client, "not-a-jwt"), "malformed token", "decode_access_token() in security.py")


def sign_hs256(claims: dict, secret: str) -> str:
    """A token signed correctly with the service's own secret — only its claims are wrong."""
    signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}." \
                    f"{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@pytest.mark.parametrize("missing", ["exp", "iat"])
def test_token_without_a_required_claim_is_401(client, settings, missing: str) -> None:
    user = register(client)
    now = int(time.time())
    claims = {"sub": str(user["id"]), "iat": now, "exp": now + 300}
    del claims[missing]  # a token without "exp" would be valid forever
    assert_rejected(me(client, sign_hs256(claims, settings.signing_key)),
                    f"correctly signed token without its {missing!r} claim",
                    "options={'require': [...]} in decode_access_token()")


def test_token_lives_exactly_access_token_minutes(client, settings) -> None:
    _, token = new_user(client)
    _, claims, _ = token_parts(token)
    expected = settings.access_token_minutes * 60
    lifetime = claims.get("exp", 0) - claims.get("iat", 0)
    assert abs(lifetime - expected) <= 1, (
        f"expected exp - iat = settings.access_token_minutes × 60 = {expected} s; got {lifetime} s "
        f"(claims {claims}). A token that outlives its configured lifetime is a stolen token that "
        f"keeps working; look at create_access_token() in security.py, {LESSON}, section 'Auth'")
    assert abs(claims.get("iat", 0) - time.time()) <= 60, (
        f"expected iat to be the issue time (now); got {claims.get('iat')}; look at create_access_token() "
        f"in security.py, {LESSON}, section 'Auth'")


def test_emails_are_compared_case_insensitively(client) -> None:
    email = unique_email("Case").replace("@example.com", "@Example.COM")
    register(client, email)
    again = client.post("/users", json={"email": email.lower(), "password": PASSWORD})
    assert again.status_code == 409, (
        f"expected registering {email.lower()!r} after {email!r} to be 409 (one person, one "
        f"account: e-mails are stored lower-cased); got {again.status_code} {again.text}; look at "
        "register() in routes.py")
    login(client, email.upper())


@pytest.fixture
def rsa_keys(tmp_path) -> tuple:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "jwt_private.pem"
    public = tmp_path / "jwt_public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_hs256_token_signed_with_the_rs256_public_key_is_401(app, client, make_settings: Callable,
                                                            rsa_keys) -> None:
    from labs.week02_fastapi.settings import get_settings

    private, public = rsa_keys
    rs_settings = make_settings(jwt_algorithm="RS256", jwt_private_key_file=private,
                                jwt_public_key_file=public)
    app.dependency_overrides[get_settings] = lambda: rs_settings
    _, token = new_user(client)
    header, claims, _ = token_parts(token)
    assert header.get("alg") == "RS256", f"with JWT_ALGORITHM=RS256 tokens must be RS256; got header {header}"
    assert me(client, token).status_code == 200, "a genuine RS256 token must open /me"

    # The attack: the public key is public, so sign HS256 with its PEM bytes as the HMAC secret.
    # A verifier that takes the algorithm from the header "verifies" this with the public key.
    forged_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{forged_header}.{b64url(json.dumps(claims).encode())}"
    mac = hmac.new(public.read_bytes(), signing_input.encode(), hashlib.sha256).digest()
    assert_rejected(me(client, f"{signing_input}.{b64url(mac)}"),
                    "HS256 token signed with the RS256 public key (algorithm confusion)",
                    "the algorithms= allow-list in decode_access_token()")


def test_token_for_a_deleted_user_is_401(client, schema_url: str) -> None:
    user, token = new_user(client)
    with psycopg.connect(schema_url) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (user["id"],))
    assert_rejected(me(client, token), "valid token whose user no longer exists",
                    "get_current_user() in deps.py (look the user up; None is not a user)")


# --------------------------------------------------------------------------- dependency overrides


def test_me_comes_from_the_current_user_dependency(app, client) -> None:
    from labs.week02_fastapi.deps import get_current_user
    from labs.week02_fastapi.models import User

    app.dependency_overrides[get_current_user] = lambda: User(id=4242, email="override@example.com")
    response = client.get("/me")  # no token at all: the override stands in for authentication
    assert response.status_code == 200 and response.json()["email"] == "override@example.com", (
        f"expected /me to return whatever get_current_user returns; got {response.status_code} "
        f"{response.text}; /me should declare `user: CurrentUser` and nothing else")


def test_endpoints_use_the_session_dependency(app, client, schema_url: str) -> None:
    """The classic test pattern: run the request inside a transaction the test rolls back."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from labs.week02_fastapi.deps import get_session
    from labs.week02_fastapi.settings import psycopg_url

    engine = create_engine(psycopg_url(schema_url))
    email = unique_email("rolled-back")
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        app.dependency_overrides[get_session] = lambda: session
        register(client, email)
        outer.rollback()
        session.close()
    engine.dispose()
    with psycopg.connect(schema_url) as conn:
        found = conn.execute("SELECT count(*) FROM users WHERE email = %s", (email,)).fetchone()[0]
    assert found == 0, (
        "the user survived a rollback of the overridden session: register() wrote through a "
        "session of its own. Endpoints must take `session: SessionDep` so tests (and week 04's "
        "unit of work) control the transaction")
