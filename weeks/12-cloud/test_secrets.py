"""Lab cloud/secrets: secrets loaded from Secrets Manager (moto_server) or files, and never shown.

Each test plants known secret values and then greps one output channel for them: reprs and
dumps, errors and their full tracebacks, log records, error pages, ``/docs`` and the OpenAPI
document, the readiness answer.
"""

from __future__ import annotations

import json
import logging
import secrets as token_source
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from course.services import free_port
from labs.week12_cloud import app as lab_app
from labs.week12_cloud import config

LESSON = "weeks/12-cloud/README.md"
SECTION = "section 'Secrets that stay secret'"
JWT_SECRET = "jwt-" + token_source.token_hex(20)
DB_PASSWORD = "pw-" + token_source.token_hex(12)
# A closed port: /readyz must fail, and the password sits in the URL it fails with.
DATABASE_URL = f"postgresql://app:{DB_PASSWORD}@127.0.0.1:{free_port()}/app"
PLANTED = (JWT_SECRET, DB_PASSWORD)


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


@pytest.fixture(scope="module")
def secretsmanager(aws: Callable[[str], Any]) -> Any:
    client = aws("secretsmanager")
    client.create_secret(Name="week12/api", SecretString=json.dumps(
        {"database_url": DATABASE_URL, "jwt_secret": JWT_SECRET, "bucket": "uploads"}))
    return client


@pytest.fixture
def settings(secretsmanager: Any) -> config.Settings:
    return config.settings_from_secrets_manager(secretsmanager, "week12/api")


def _value(field: object) -> object:
    reveal = getattr(field, "get_secret_value", None)
    return reveal() if callable(reveal) else field


def test_reads_settings_from_secrets_manager(settings: config.Settings) -> None:
    got = (_value(settings.database_url), _value(settings.jwt_secret), settings.bucket)
    assert got == (DATABASE_URL, JWT_SECRET, "uploads"), (
        "expected database_url, jwt_secret and bucket from the secret's JSON; got different "
        f"values. Look at {LESSON}, {SECTION}.")


def test_reads_settings_from_a_mounted_directory(tmp_path: Path) -> None:
    for name, value in (("database_url", DATABASE_URL), ("jwt_secret", JWT_SECRET),
                        ("bucket", "uploads")):
        (tmp_path / name).write_text(value + "\n")
    settings = config.settings_from_directory(tmp_path)
    got = (_value(settings.database_url), _value(settings.jwt_secret), settings.bucket)
    assert got == (DATABASE_URL, JWT_SECRET, "uploads"), (
        "expected one file per field, trailing newline stripped; got different values")


def test_repr_str_and_dumps_hide_every_secret(settings: config.Settings) -> None:
    channels = {"repr": repr(settings), "str": str(settings), "f-string": f"{settings}",
                "model_dump_json": settings.model_dump_json(),
                "json.dumps(model_dump(mode='json'))": json.dumps(settings.model_dump(mode="json"))}
    leaked = {name: _leaks(text) for name, text in channels.items() if _leaks(text)}
    assert not leaked, (
        f"expected no secret in any printed form of Settings; found them in {sorted(leaked)}. "
        f"Type secret fields as pydantic SecretStr. Look at {LESSON}, {SECTION}.")


def test_a_bad_secret_is_reported_without_its_value(secretsmanager: Any) -> None:
    short = "short-" + token_source.token_hex(4)
    secretsmanager.create_secret(Name="week12/bad", SecretString=json.dumps(
        {"database_url": DATABASE_URL, "jwt_secret": short}))
    with pytest.raises(config.SettingsError) as caught:
        config.settings_from_secrets_manager(secretsmanager, "week12/bad")
    message = str(caught.value)
    assert "JWT_SECRET" in message.upper() and "BUCKET" in message.upper(), (
        f"expected the error to name both bad fields (jwt_secret too short, bucket missing); "
        f"got: {message}")
    printed = "".join(traceback.format_exception(caught.value))
    found = [v for v in (short, *PLANTED) if v in printed]
    assert not found, (
        "expected the error and its whole traceback (chained causes included) to carry no secret "
        "value; pydantic's ValidationError quotes every input, so raise SettingsError `from None`. "
        f"Look at {LESSON}, {SECTION}.")


def _requests(app: Any) -> dict[str, Any]:
    @app.get("/boom")
    def boom() -> None:  # a driver error that quotes its connection string, as many do
        raise RuntimeError(f"could not connect to {DATABASE_URL} with token {JWT_SECRET}")

    client = TestClient(app, raise_server_exceptions=False)
    return {path: client.get(path) for path in ("/healthz", "/readyz", "/boom", "/docs",
                                                "/openapi.json")}


def test_logs_never_carry_a_secret(secretsmanager: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = config.settings_from_secrets_manager(secretsmanager, "week12/api")
    _requests(lab_app.create_app(settings))
    lines = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    for record in caplog.records:
        if record.exc_info and record.exc_info[1] is not None:
            lines.append("".join(traceback.format_exception(record.exc_info[1])))
    leaked = [line for line in lines if _leaks(line)]
    assert not leaked, (
        f"expected no secret in any log record; {len(leaked)} carry one, e.g.: {leaked[0][:300]}. "
        "Log the failing dependency's name and the exception's type, never a URL or message. "
        f"Look at {LESSON}, {SECTION}.")


def test_error_pages_and_docs_hide_every_secret(settings: config.Settings) -> None:
    answers = _requests(lab_app.create_app(settings))
    assert answers["/boom"].status_code == 500, (
        f"expected 500 from a failing route; got {answers['/boom'].status_code}")
    leaked = {path: answer.status_code for path, answer in answers.items()
              if _leaks(answer.text) or _leaks(json.dumps(dict(answer.headers)))}
    assert not leaked, (
        f"expected no secret in any response; found one in {sorted(leaked)}. A debug error page "
        "prints the exception's message; answer a generic problem document and keep debug off. "
        f"Look at {LESSON}, {SECTION}.")


def test_health_routes_name_the_failing_dependency(settings: config.Settings) -> None:
    client = TestClient(lab_app.create_app(settings))
    assert client.get("/healthz").status_code == 200, "expected /healthz 200: the process is alive"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "database" in ready.text, (
        f"expected /readyz 503 naming 'database' (nothing listens on its port); got "
        f"{ready.status_code}: {ready.text[:200]}")
    assert ready.headers.get("Retry-After", "").isdigit(), (
        "expected a Retry-After header (whole seconds) on the 503")
