"""Lab: Standard Webhooks signing and verification (labs/week11_design_practice/signing.py).

What you sign, the two libraries the ecosystem uses (``standardwebhooks`` and ``svix``) must
verify; what they sign, you must verify; and every bad request is refused with a reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks

from labs.week11_design_practice import signing

LESSON = "weeks/11-design-practice/README.md, section 'Signing a webhook'"
BODY = b'{"type":"invoice.paid","timestamp":"2026-03-01T12:00:00Z","data":{"id":"inv_1","cents":4200}}'
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def library(name: str) -> Callable[[str], Any]:
    return {"standardwebhooks": standardwebhooks.Webhook, "svix": svix.webhooks.Webhook}[name]


def library_sign(name: str, secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    at = dt.datetime.fromtimestamp(timestamp_s, tz=dt.UTC)
    return library(name)(secret).sign(msg_id, at, body.decode())


def refusal(secrets: Any, headers: dict[str, str], body: bytes, **kwargs: Any) -> signing.VerificationError:
    """The VerificationError verify() raises — anything else (a pass, a ValueError) fails the test."""
    try:
        signing.verify(secrets, headers, body, **kwargs)
    except signing.VerificationError as exc:
        return exc
    except NotImplementedError:
        raise
    except Exception as exc:
        pytest.fail(f"verify() raised {type(exc).__name__}: {exc} for headers {headers}. A receiver turns an "
                    f"uncaught exception into a 500 and the sender retries for days; raise "
                    f"VerificationError(reason, detail) instead — see {LESSON}", pytrace=False)
    pytest.fail(f"verify() accepted headers {headers} with body {body[:60]!r}; it must refuse them — "
                f"see {LESSON}",
                pytrace=False)


def test_secrets_are_whsec_base64_with_enough_entropy() -> None:
    made = {signing.generate_secret() for _ in range(20)}
    assert len(made) == 20, (
        "expected 20 different secrets from 20 calls; secrets come from the secrets module")
    for secret in made:
        assert secret.startswith("whsec_"), f"expected a whsec_ prefix; got {secret[:12]!r}…"
        key = base64.b64decode(secret.removeprefix("whsec_"))
        assert 24 <= len(key) <= 64, (
            f"the spec asks for 24–64 random bytes; this secret decodes to {len(key)}")


def test_signature_is_hmac_sha256_over_id_timestamp_body() -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    got = signing.sign(secret, MSG_ID, 1674087231, BODY)
    digest = hmac.new(bytes(range(32)), f"{MSG_ID}.1674087231.".encode() + BODY, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    assert got == expected, (f"expected {expected} — v1, then base64 of HMAC-SHA256 keyed by the *decoded* "
                             f"secret over 'id.timestamp.body'; got {got!r} — see {LESSON}")


@pytest.mark.parametrize("name", ["standardwebhooks", "svix"])
def test_the_libraries_verify_what_you_sign(name: str) -> None:
    secret = signing.generate_secret()
    headers = signing.sign_headers([secret], MSG_ID, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}, (
        f"expected exactly the three Standard Webhooks headers; got {sorted(headers)}")
    try:
        library(name)(secret).verify(BODY, headers)
    except Exception as exc:
        pytest.fail(f"the {name} library refused what you signed ({exc}); headers were {headers} — "
                    f"see {LESSON}",
                    pytrace=False)


@pytest.mark.parametrize("name", ["standardwebhooks", "svix"])
def test_you_verify_what_the_libraries_sign(name: str) -> None:
    secret = signing.generate_secret()
    now = int(time.time())
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(now),
               "webhook-signature": library_sign(name, secret, MSG_ID, now, BODY)}
    assert signing.verify(secret, headers, BODY) == MSG_ID, "verify() returns the webhook-id it checked"
    shouted = {key.title(): value for key, value in headers.items()}
    assert signing.verify(secret, shouted, BODY) == MSG_ID, (
        "HTTP header names are case-insensitive: Webhook-Id is webhook-id; look the headers up ignoring case")


def test_rotation_sends_a_signature_per_secret_and_any_one_verifies() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    headers = signing.sign_headers([new, old], MSG_ID, BODY)
    entries = headers["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(e.startswith("v1,") for e in entries), (
        f"during a rotation webhook-signature holds one v1 entry per secret, space-separated; got {entries}")
    for secret in (old, new):
        assert signing.verify(secret, headers, BODY) == MSG_ID, (
            "a receiver that knows either secret must accept")
        standardwebhooks.Webhook(secret).verify(BODY, headers)
    assert signing.verify([signing.generate_secret(), old], headers, BODY) == MSG_ID, (
        "a receiver mid-rotation holds several secrets; any one matching passes")


def test_signature_covers_the_id_and_the_timestamp() -> None:
    secret = signing.generate_secret()
    now = int(time.time())
    headers = signing.sign_headers([secret], MSG_ID, BODY, timestamp_s=now)
    for field, value in (("webhook-id", "msg_replayed_under_a_new_id"), ("webhook-timestamp", str(now - 1))):
        forged = headers | {field: value}
        error = refusal(secret, forged, BODY)
        assert error.reason == signing.Reason.NO_MATCHING_SIGNATURE, (
            f"changing {field} kept the signature valid — so it does not cover {field}, and a captured "
            f"request can be replayed with a fresh {field}. Sign f'{{id}}.{{timestamp}}.' + body — see "
            f"{LESSON}")


def test_a_tampered_body_is_refused() -> None:
    secret = signing.generate_secret()
    headers = signing.sign_headers([secret], MSG_ID, BODY)
    error = refusal(secret, headers, BODY.replace(b"4200", b"4201"))
    assert error.reason == signing.Reason.NO_MATCHING_SIGNATURE, (
        f"expected no-matching-signature; got {error.reason}")


def test_a_wrong_secret_is_refused() -> None:
    headers = signing.sign_headers([signing.generate_secret()], MSG_ID, BODY)
    error = refusal(signing.generate_secret(), headers, BODY)
    assert error.reason == signing.Reason.NO_MATCHING_SIGNATURE, (
        f"expected no-matching-signature; got {error.reason}")


def test_timestamps_outside_the_tolerance_are_refused() -> None:
    secret = signing.generate_secret()
    now = 1_800_000_000
    outside = ((-301, signing.Reason.TIMESTAMP_TOO_OLD), (301, signing.Reason.TIMESTAMP_TOO_NEW))
    for offset_s, reason in outside:
        headers = signing.sign_headers([secret], MSG_ID, BODY, timestamp_s=now + offset_s)
        error = refusal(secret, headers, BODY, tolerance_s=300, now_s=now)
        assert error.reason == reason, (
            f"a timestamp {offset_s:+d}s from now with a 300 s tolerance: expected {reason}; got "
            f"{error.reason}")
    for offset_s in (-300, 0, 300):
        headers = signing.sign_headers([secret], MSG_ID, BODY, timestamp_s=now + offset_s)
        assert signing.verify(secret, headers, BODY, tolerance_s=300, now_s=now) == MSG_ID, (
            f"a timestamp {offset_s:+d}s from now is inside a 300 s tolerance (the edge included) and must "
            "pass")


MALFORMED: dict[str, tuple[dict[str, str | None], signing.Reason]] = {
    "no webhook-id": ({"webhook-id": None}, signing.Reason.MISSING_HEADER),
    "no webhook-timestamp": ({"webhook-timestamp": None}, signing.Reason.MISSING_HEADER),
    "no webhook-signature": ({"webhook-signature": None}, signing.Reason.MISSING_HEADER),
    "empty signature": ({"webhook-signature": " "}, signing.Reason.MISSING_HEADER),
    "timestamp not a number": ({"webhook-timestamp": "yesterday"}, signing.Reason.INVALID_TIMESTAMP),
    "timestamp with a fraction": ({"webhook-timestamp": "1800000000.5"}, signing.Reason.INVALID_TIMESTAMP),
    "timestamp 'nan'": ({"webhook-timestamp": "nan"}, signing.Reason.INVALID_TIMESTAMP),
    "entry without a comma": ({"webhook-signature": "v1"}, signing.Reason.MALFORMED_SIGNATURE),
    "signature not base64": ({"webhook-signature": "v1,!!!not-base64!!!"},
                             signing.Reason.MALFORMED_SIGNATURE),
    "non-ASCII signature": ({"webhook-signature": "v1,sïgnätürë"}, signing.Reason.MALFORMED_SIGNATURE),
    "only a future version": ({"webhook-signature": "v9,AAAA"}, signing.Reason.MALFORMED_SIGNATURE),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_headers_are_refused_with_a_reason(case: str) -> None:
    secret = signing.generate_secret()
    now = 1_800_000_000
    changes, reason = MALFORMED[case]
    headers = signing.sign_headers([secret], MSG_ID, BODY, timestamp_s=now)
    for name, value in changes.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    error = refusal(secret, headers, BODY, now_s=now)
    assert error.reason == reason, f"{case}: expected reason {reason}; got {error.reason} ({error})"


@pytest.mark.parametrize("secret", ["not-a-whsec-secret", "whsec_%%%%",
                                    "whsec_" + base64.b64encode(b"short").decode()])
def test_a_bad_secret_is_refused_with_a_reason(secret: str) -> None:
    headers = signing.sign_headers([signing.generate_secret()], MSG_ID, BODY)
    error = refusal(secret, headers, BODY)
    assert error.reason == signing.Reason.INVALID_SECRET, (
        f"secret {secret!r}: expected invalid-secret; got {error.reason}")


def test_signatures_are_compared_in_constant_time() -> None:
    """`==` on bytes or strings stops at the first difference; the time it takes leaks the prefix."""
    secret = signing.generate_secret()
    headers = signing.sign_headers([secret], MSG_ID, BODY)
    called: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "c_call" and "compare_digest" in getattr(arg, "__name__", ""):
            called.append(getattr(arg, "__name__", ""))

    sys.setprofile(profile)
    try:
        signing.verify(secret, headers, BODY)
        with pytest.raises(signing.VerificationError):
            signing.verify(secret, headers, BODY + b" ")
    finally:
        sys.setprofile(None)
    assert len(called) >= 2, (
        "expected verify() to compare signatures with hmac.compare_digest (constant time), for the good "
        "and the "
        "tampered request alike; it never called it. `==` returns as soon as a byte differs, and an "
        "attacker who "
        f"can time your answers learns the right signature byte by byte — see {LESSON}")
