"""Lab scaling/api-contract — errors, versioning, pagination and idempotency a client can rely on.

The app runs in this process (FastAPI's TestClient) against a real Redis; its OpenAPI document
is fuzzed with schemathesis (positive and negative cases) at the end.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette's TestClient on httpx: a deprecation, not our concern
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from labs.week09_scaling.api import create_app
from labs.week09_scaling.settings import Settings

LESSON = "weeks/09-scaling/README.md"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    settings = Settings(redis_url=redis_url, instance="test", rate_limit=10_000)  # the fuzzer is one user
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(client: TestClient, user: str | None = None) -> dict[str, str]:
    response = client.post("/v1/sessions", json={"user": user or f"u{uuid.uuid4().hex[:12]}"})
    assert response.status_code == 201, (
        f"setting up: POST /v1/sessions {{'user': …}} should answer 201 with a token; got "
        f"{response.status_code} {response.text[:300]}\nlook at create_session in api.py")
    return {"Authorization": f"Bearer {response.json()['token']}"}


def post_note(client: TestClient, auth: dict[str, str], text: str, key: str | None = None) -> Any:
    headers = auth | {"Idempotency-Key": key or str(uuid.uuid4())}
    return client.post("/v1/notes", json={"text": text}, headers=headers)


def assert_problem(response: Any, status: int, where: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem document with ``status``."""
    body_text = response.text[:300]
    assert response.status_code == status, (
        f"expected {status}; got {response.status_code} {body_text}\nlook at {where}")
    media = response.headers.get("content-type", "").split(";")[0]
    assert media == PROBLEM, (
        f"expected a {status} to be a problem document (Content-Type: {PROBLEM}); got {media!r} with "
        f"{body_text}\nlook at {where} and {LESSON}, section 'Errors are problem documents'")
    body = response.json()
    missing = [field for field in ("type", "title", "status") if field not in body]
    assert not missing and body["status"] == status, (
        f"expected the problem document to carry type, title and status ({status}); got {body}\n"
        f"see {LESSON}, section 'Errors are problem documents'")
    return body


def test_every_route_is_versioned(client: TestClient) -> None:
    paths = sorted(client.get("/openapi.json").json()["paths"])
    unversioned = [p for p in paths if not p.startswith("/v1/")]
    assert {"/v1/notes", "/v1/notes/{note_id}", "/v1/sessions"} <= set(paths) and not unversioned, (
        f"expected /v1/sessions, /v1/notes and /v1/notes/{{note_id}} in the OpenAPI document and no "
        f"unversioned API path (health checks stay out of it); got {paths}. "
        f"See {LESSON}, section 'Versions in the path'.")
    assert client.get("/healthz").status_code == 200, "expected GET /healthz to answer 200"
    assert client.get("/readyz").status_code == 200, "expected GET /readyz to answer 200 while Redis is up"


def test_unknown_routes_and_methods_are_problem_documents(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "the StarletteHTTPException handler in api.py")
    assert_problem(client.get("/v2/notes"), 404, "the StarletteHTTPException handler in api.py")
    wrong_method = client.delete("/v1/notes", headers=login(client))
    assert_problem(wrong_method, 405, "the StarletteHTTPException handler in api.py")
    assert "GET" in wrong_method.headers.get("allow", ""), (
        f"expected the 405 to keep its Allow header; got {dict(wrong_method.headers)}")


def test_validation_errors_are_problem_documents(client: TestClient) -> None:
    auth = login(client)
    where = "the RequestValidationError handler in api.py"
    empty = assert_problem(post_note(client, auth, ""), 422, where)
    assert isinstance(empty.get("errors"), list) and empty["errors"], (
        f"expected a validation problem to list what was wrong in an 'errors' member; got {empty}")
    assert_problem(client.get("/v1/notes?limit=0", headers=auth), 422, where)
    assert_problem(client.get("/v1/notes/not-a-number", headers=auth), 422, where)
    broken = client.post("/v1/notes", content=b'{"text": ', headers=auth | {
        "Idempotency-Key": "k", "Content-Type": "application/json"})
    assert_problem(broken, 422, where)


def test_missing_sessions_and_notes_are_problem_documents(client: TestClient) -> None:
    anonymous = client.get("/v1/notes")
    assert_problem(anonymous, 401, "current_user in api.py")
    assert anonymous.headers.get("www-authenticate", "").lower().startswith("bearer"), (
        f"expected a 401 to say how to authenticate (WWW-Authenticate: Bearer); got "
        f"{dict(anonymous.headers)}")
    auth = login(client)
    assert_problem(client.get("/v1/notes/999999", headers=auth), 404, "get_note in api.py")
    other = post_note(client, login(client), "not yours").json()
    assert_problem(client.get(f"/v1/notes/{other['id']}", headers=auth), 404, "get_note in api.py")


def walk(client: TestClient, auth: dict[str, str], limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    for _ in range(20):
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get("/v1/notes", params=params, headers=auth)
        assert response.status_code == 200, (
            f"expected 200 for a page; got {response.status_code} {response.text[:300]}")
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    pytest.fail("expected next_cursor to become null at the last page; it never did")


def test_cursor_pagination_returns_every_note_once_newest_first(client: TestClient) -> None:
    auth = login(client)
    created = [post_note(client, auth, f"note {n}").json()["id"] for n in range(25)]

    pages = walk(client, auth, limit=10)

    sizes = [len(page) for page in pages]
    seen = [note["id"] for page in pages for note in page]
    assert sizes == [10, 10, 5], (
        f"expected 25 notes in pages of 10, 10, 5 and next_cursor null on the last; got sizes {sizes}. "
        f"See {LESSON}, section 'Cursor pagination'.")
    assert seen == sorted(created, reverse=True), (
        f"expected every note exactly once, newest first; got ids {seen[:12]}…")


def test_pages_are_stable_while_notes_are_added(client: TestClient) -> None:
    auth = login(client)
    for n in range(12):
        post_note(client, auth, f"old {n}")
    first = client.get("/v1/notes", params={"limit": 5}, headers=auth).json()
    for n in range(3):  # someone writes while the client pages
        post_note(client, auth, f"new {n}")
    second = client.get("/v1/notes", params={"limit": 5, "cursor": first["next_cursor"]}, headers=auth).json()

    first_ids = [note["id"] for note in first["items"]]
    second_ids = [note["id"] for note in second["items"]]
    repeated = set(first_ids) & set(second_ids)
    assert not repeated and second_ids and max(second_ids) < min(first_ids), (
        f"expected page 2 to continue after page 1 although 3 notes were added meanwhile; page 1 = "
        f"{first_ids}, page 2 = {second_ids} (repeated: {sorted(repeated)}). An offset shifts when rows "
        f"are inserted; a cursor names a position. See {LESSON}, section 'Cursor pagination'.")


def test_a_cursor_the_server_did_not_issue_is_a_400_problem(client: TestClient) -> None:
    auth = login(client)
    for cursor in ("garbage", "0", "%%%"):
        response = client.get("/v1/notes", params={"cursor": cursor}, headers=auth)
        assert_problem(response, 400, "list_notes and decode_cursor in api.py")


def test_a_post_without_an_idempotency_key_is_a_400_problem(client: TestClient) -> None:
    auth = login(client)
    response = client.post("/v1/notes", json={"text": "no key"}, headers=auth)
    assert_problem(response, 400, "create_note in api.py")
    listed = client.get("/v1/notes", headers=auth).json()["items"]
    assert listed == [], f"expected the refused POST to create nothing; the list holds {listed}"


def test_a_retried_post_is_replayed_not_repeated(client: TestClient) -> None:
    auth = login(client)
    first = post_note(client, auth, "buy milk", key="retry-1")
    again = post_note(client, auth, "buy milk", key="retry-1")

    assert first.status_code == again.status_code == 201, (
        f"expected 201 twice; got {first.status_code}, {again.status_code} {again.text[:200]}")
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true", (
        f"expected the retry to replay the first response with Idempotent-Replayed: true; got "
        f"{again.json()} with headers {dict(again.headers)}. "
        f"See {LESSON}, section 'Idempotency-Key on POST'.")
    assert first.headers.get("location") == f"/v1/notes/{first.json()['id']}", (
        f"expected Location: /v1/notes/<id> on a 201; got {first.headers.get('location')}")
    listed = client.get("/v1/notes", headers=auth).json()["items"]
    assert len(listed) == 1, f"expected one note after a retried POST; got {len(listed)}"
    reused = post_note(client, auth, "buy bread", key="retry-1")
    assert_problem(reused, 422, "create_note in api.py (IdempotencyConflict)")


def test_rate_limited_requests_get_a_429_problem_with_retry_after(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, rate_limit=3, rate_window_s=3600)  # no window edge in sight
    with TestClient(create_app(settings)) as limited:
        auth = login(limited, "limited")
        answers = [limited.get("/v1/notes", headers=auth) for _ in range(5)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200, 200, 200, 429, 429], (
        f"expected the 4th request within a window of RATE_LIMIT=3 to be refused; got {statuses}")
    refused = assert_problem(answers[-1], 429, "limit in api.py")
    retry_after = answers[-1].headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, (
        f"expected Retry-After: <whole seconds, at least 1> on every 429; got {retry_after!r} ({refused})")


def test_readyz_names_a_dependency_that_does_not_answer(redis_url: str) -> None:
    closed = redis_url.rsplit(":", 1)[0] + ":1/0"  # nothing listens on port 1
    with TestClient(create_app(Settings(redis_url=closed, redis_timeout_s=0.5))) as broken:
        alive = broken.get("/healthz")
        ready = broken.get("/readyz")
    assert alive.status_code == 200, (
        f"expected /healthz to answer 200 while Redis is down; got {alive.status_code}")
    body = assert_problem(ready, 503, "readyz in api.py")
    assert "redis" in str(body).lower() and ready.headers.get("retry-after", "").isdigit(), (
        f"expected a 503 naming redis and carrying Retry-After; got {body} {dict(ready.headers)}")


def test_fuzzing_the_openapi_document_finds_no_server_errors(client: TestClient) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    auth = login(client, "fuzzer")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    calls = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def call(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(headers=auth)
                media = response.headers.get("content-type", [""])
                media = (media[0] if isinstance(media, list) else media).split(";")[0]
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: "
                                    f"{response.text[:160]}")
                elif response.status_code >= 400 and (
                        media != PROBLEM or not {"type", "title", "status"} <= set(response.json())):
                    failures.append(f"{case.method} {case.formatted_path} → {response.status_code} is not a "
                                    f"problem document ({media}): {response.text[:160]}")

            call()
    distinct = sorted(set(failures))
    assert calls >= 60 and not distinct, (
        f"schemathesis sent {calls} generated requests; expected 0 server errors and every 4xx a problem "
        f"document; got {len(distinct)} kinds of failure, e.g.\n  " + "\n  ".join(distinct[:5])
        + f"\nSee {LESSON}, section 'Fuzzing the contract'.")
