"""Lab docker/settings: typed settings from the environment and from secret files.

Everything goes through ``load_settings(secrets_dir)`` and ``Settings.as_environment()``, so the
tests do not care how the fields are typed inside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labs.week06_docker import settings as lab

LESSON = "weeks/06-docker/README.md"
VARIABLES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
DATABASE_URL = "postgresql+psycopg://app:pg-pass-0451@db:5432/app"
REDIS_URL = "redis://redis:6379/0"
JWT_SECRET = "jwt-" + "k7Qx9" * 8  # 44 characters


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test run itself may carry DATABASE_URL and friends; each test starts from none."""
    for name in (*VARIABLES, "SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    return folder


def test_reads_every_value_from_the_environment(monkeypatch: pytest.MonkeyPatch, secrets_dir: Path) -> None:
    for name, value in zip(VARIABLES, (DATABASE_URL, REDIS_URL, JWT_SECRET), strict=True):
        monkeypatch.setenv(name, value)
    got = lab.load_settings(secrets_dir).as_environment()
    assert got == {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "JWT_SECRET": JWT_SECRET}, (
        f"expected the three values exactly as set in the environment; got {got}. "
        f"Look at {LESSON}, section 'Typed settings'.")


def test_reads_secrets_from_files_and_strips_the_newline(monkeypatch: pytest.MonkeyPatch,
                                                         secrets_dir: Path) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    # `echo … > file` and most editors end a file with a newline; the secret does not include it.
    (secrets_dir / "jwt_secret").write_text(JWT_SECRET + "\n")
    (secrets_dir / "database_url").write_text(DATABASE_URL + "\n")
    got = lab.load_settings(secrets_dir).as_environment()
    assert got == {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "JWT_SECRET": JWT_SECRET}, (
        "expected jwt_secret and database_url read from files named after the fields in the secrets "
        f"directory (trailing newline stripped), REDIS_URL from the environment; got {got}. "
        f"Look at {LESSON}, section 'Secrets as files'.")


def test_secrets_dir_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch,
                                                               secrets_dir: Path) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(secrets_dir))
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    (secrets_dir / "jwt_secret").write_text(JWT_SECRET)
    got = lab.load_settings().as_environment()["JWT_SECRET"]
    assert got == JWT_SECRET, (
        "expected load_settings() without an argument to read secret files from $SECRETS_DIR "
        f"(default /run/secrets); got JWT_SECRET={got!r}. Look at {LESSON}, section 'Secrets as files'.")


def test_every_missing_value_is_named_in_one_clear_error(secrets_dir: Path) -> None:
    with pytest.raises(lab.SettingsError) as caught:
        lab.load_settings(secrets_dir)
    message = str(caught.value)
    unnamed = [name for name in VARIABLES if name not in message]
    assert not unnamed, (
        "expected one SettingsError naming every missing variable as the operator types it "
        f"(DATABASE_URL, REDIS_URL, JWT_SECRET); got a message without {unnamed}:\n{message}\n"
        f"Look at {LESSON}, section 'Fail fast, and clearly'.")


@pytest.mark.parametrize(("name", "bad_value"), [
    ("JWT_SECRET", "too-short-but-still-secret"),
    ("JWT_SECRET", "k" * 31),  # one short of the minimum
    ("DATABASE_URL", "mysql://root:hunter2-0451@db/app"),
    ("REDIS_URL", "localhost:6379"),
])
def test_invalid_values_are_rejected_without_echoing_them(monkeypatch: pytest.MonkeyPatch, secrets_dir: Path,
                                                          name: str, bad_value: str) -> None:
    good = dict(zip(VARIABLES, (DATABASE_URL, REDIS_URL, JWT_SECRET), strict=True))
    for variable, value in (good | {name: bad_value}).items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(lab.SettingsError) as caught:
        lab.load_settings(secrets_dir)
    message = str(caught.value)
    assert name in message, (
        f"expected a SettingsError naming {name} for the value {bad_value!r}; got:\n{message}\n"
        "Rules: DATABASE_URL is a postgresql:// URL, REDIS_URL a redis:// URL, JWT_SECRET at least "
        f"32 characters (HS256 wants a key as long as its hash). Look at {LESSON}, section 'Typed settings'.")
    assert bad_value not in message, (
        f"expected the error not to repeat the rejected value; got it in the message:\n{message}\n"
        "pydantic's own ValidationError text includes `input_value=…` — for a secret, that prints the "
        f"secret into the logs. Build the message from the field and the reason. Look at {LESSON}, "
        "section 'Fail fast, and clearly'.")


def test_a_jwt_secret_of_exactly_32_characters_is_accepted(monkeypatch: pytest.MonkeyPatch,
                                                            secrets_dir: Path) -> None:
    minimum = "k" * 32
    for variable, value in zip(VARIABLES, (DATABASE_URL, REDIS_URL, minimum), strict=True):
        monkeypatch.setenv(variable, value)
    try:
        settings = lab.load_settings(secrets_dir)
    except lab.SettingsError as error:
        pytest.fail(f"expected a 32-character JWT_SECRET (the minimum) to be accepted; got:\n{error}\n"
                    f"At least 32 means 32 passes. Look at {LESSON}, section 'Typed settings'.",
                    pytrace=False)
    assert settings.as_environment()["JWT_SECRET"] == minimum, (
        f"expected the 32-character secret back from as_environment(); look at {LESSON}, section "
        "'Typed settings'")


def test_secrets_do_not_show_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch,
                                                       secrets_dir: Path) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    (secrets_dir / "jwt_secret").write_text(JWT_SECRET)
    (secrets_dir / "database_url").write_text(DATABASE_URL)
    settings = lab.load_settings(secrets_dir)
    shown = f"{settings!r} {settings!s}"
    secrets = {"JWT_SECRET": JWT_SECRET, "the database password": "pg-pass-0451"}
    leaked = [label for label, value in secrets.items() if value in shown]
    assert not leaked, (
        f"expected repr() and str() of the settings to hide secrets; got {leaked} in: {shown}\n"
        "Settings objects end up in logs and tracebacks. Type secrets as pydantic.SecretStr. "
        f"Look at {LESSON}, section 'Typed settings'.")
