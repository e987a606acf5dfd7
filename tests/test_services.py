"""Embedded services: start on demand, reuse across runs, stop cleanly, env URLs win."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from course import services


@pytest.fixture
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory of its own, so this test starts (and stops) servers nobody else uses."""
    monkeypatch.setenv("COURSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    try:
        yield tmp_path / "home"
    finally:
        services.down(wipe=True)


def _postmaster_pid(home: Path) -> int:
    return int((home / "postgres" / "postmaster.pid").read_text().split()[0])


def test_start_reuse_and_stop(private_home: Path) -> None:
    assert [i.source for i in services.status()] == ["stopped", "stopped"]
    pg_url, redis_url = services.postgres_url(), services.redis_url()
    assert pg_url.startswith("postgresql://postgres@127.0.0.1:")
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


def test_environment_urls_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    assert services.postgres_url() == "postgresql://app@db.internal:5432/app"
    assert services.redis_url() == "redis://cache.internal:6379/0"
    assert [i.source for i in services.status()] == ["environment", "environment"]


def test_an_unreachable_env_url_raises_a_message_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    with pytest.raises(services.ServiceUnavailable, match="unset REDIS_URL"):
        services.checked_redis_url()


@pytest.mark.parametrize(("url", "database", "expected"), [
    ("postgresql://postgres@127.0.0.1:5432/postgres", "w05", "postgresql://postgres@127.0.0.1:5432/w05"),
    ("postgresql://u:p@h:1/app?sslmode=require", "x", "postgresql://u:p@h:1/x?sslmode=require"),
    ("postgresql://h", "x", "postgresql://h/x"),
])
def test_with_database(url: str, database: str, expected: str) -> None:
    assert services.with_database(url, database) == expected


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
