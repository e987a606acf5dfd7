"""Lab cloud/managed-db: a verified TLS URL and a pool size that fits ``max_connections``.

``pool_size`` is a pure function, tested at its edges; ``database_url`` is parsed by libpq's own
rules (psycopg) and then used against the real embedded PostgreSQL, which speaks no TLS — so a
client that demands a verified server must refuse to talk to it in plaintext.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from labs.week12_cloud import managed_db

LESSON = "weeks/12-cloud/README.md"
POOL = "section 'Pool size against max_connections'"
TLS = "section 'TLS to a managed database'"


@pytest.mark.parametrize(("max_connections", "instances", "reserved", "processes", "expected"), [
    (100, 4, 3, 1, 24),     # (100 - 3) // 4
    (100, 1, 3, 1, 97),
    (87, 2, 3, 2, 21),      # db.t4g.micro-sized: (87 - 3) // 4
    (300, 3, 0, 1, 100),    # divides exactly
    (7, 4, 3, 1, 1),        # exactly one each
])
def test_pool_size_examples(max_connections: int, instances: int, reserved: int, processes: int,
                            expected: int) -> None:
    got = managed_db.pool_size(max_connections=max_connections, instances=instances,
                               reserved_connections=reserved, processes_per_instance=processes)
    assert got == expected, (
        f"expected pool_size(max_connections={max_connections}, instances={instances}, reserved="
        f"{reserved}, processes={processes}) == {expected}; got {got}. Look at {LESSON}, {POOL}.")


def test_pool_never_exceeds_max_connections_and_wastes_none() -> None:
    for max_connections, instances, reserved, processes in itertools.product(
            (10, 23, 87, 100, 401), (1, 2, 3, 7), (0, 3, 5), (1, 2)):
        if (max_connections - reserved) < instances * processes:
            continue
        size = managed_db.pool_size(max_connections=max_connections, instances=instances,
                                    reserved_connections=reserved,
                                    processes_per_instance=processes)
        total = size * instances * processes + reserved
        assert total <= max_connections, (
            f"expected every pool plus the {reserved} reserved slots to fit max_connections="
            f"{max_connections}; {instances}×{processes} pools of {size} need {total}. "
            f"The N+1th connection is refused at deploy time. Look at {LESSON}, {POOL}.")
        assert total + instances * processes > max_connections, (
            f"expected the largest pool that fits; {size} leaves room for one more each")


@pytest.mark.parametrize(("max_connections", "instances", "reserved", "processes"), [
    (6, 4, 3, 1),    # one short of a connection each
    (3, 1, 3, 1),    # everything reserved
    (100, 0, 3, 1),
    (100, 2, 3, 0),
    (0, 1, 0, 1),
    (100, 1, -1, 1),
])
def test_pool_size_refuses_what_cannot_fit(max_connections: int, instances: int, reserved: int,
                                           processes: int) -> None:
    with pytest.raises(ValueError):
        size = managed_db.pool_size(max_connections=max_connections, instances=instances,
                                    reserved_connections=reserved, processes_per_instance=processes)
        pytest.fail(f"expected ValueError for max_connections={max_connections}, instances="
                    f"{instances}, reserved={reserved}, processes={processes}; got {size}. "
                    f"Look at {LESSON}, {POOL}.")


def test_url_verifies_the_server_certificate_and_hostname(tmp_path: Path) -> None:
    ca = tmp_path / "rds-global-bundle.pem"
    url = managed_db.database_url(host="db.internal.example", dbname="app", user="app",
                                  password="pw", ca_bundle_path=ca)
    params = conninfo_to_dict(url)
    assert params.get("sslmode") == "verify-full", (
        f"expected sslmode=verify-full; got {params.get('sslmode')!r}. `require` encrypts but "
        "accepts any certificate, so anyone in the path can present one. Look at "
        f"{LESSON}, {TLS}.")
    assert params.get("sslrootcert") == str(ca), (
        f"expected sslrootcert={ca}; got {params.get('sslrootcert')!r}")
    assert (params.get("host"), params.get("port"), params.get("dbname")) == (
        "db.internal.example", "5432", "app")
    assert params.get("connect_timeout") == "5", "expected connect_timeout=5 (seconds) by default"


def test_url_survives_any_character_in_the_password(tmp_path: Path) -> None:
    password = "p@ss/w:rd?#%&="
    url = managed_db.database_url(host="db.internal.example", dbname="app", user="app",
                                  password=password, ca_bundle_path=tmp_path / "ca.pem", port=6432)
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        pytest.fail(f"expected libpq to parse the URL; got {error}. Percent-encode user and "
                    f"password. Look at {LESSON}, {TLS}.")
    assert (params.get("password"), params.get("port")) == (password, "6432"), (
        f"expected password {password!r} and port 6432 after parsing; got "
        f"{params.get('password')!r} and {params.get('port')!r}. Percent-encode the password "
        "(urllib.parse.quote with safe='').")


def test_refuses_a_server_that_cannot_prove_who_it_is(pg_server_url: str, tmp_path: Path) -> None:
    """The embedded server speaks no TLS: a verify-full client must not fall back to plaintext."""
    server = urlsplit(pg_server_url)
    url = managed_db.database_url(host=server.hostname or "127.0.0.1", port=server.port or 5432,
                                  dbname="postgres", user=server.username or "postgres",
                                  password=server.password or "", ca_bundle_path=tmp_path / "ca.pem",
                                  connect_timeout_s=3)
    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError:
        return
    pytest.fail("expected the connection to be refused (the server offers no TLS, so it cannot be "
                "verified); it connected in plaintext. Look at the sslmode table in "
                f"{LESSON}, {TLS}.")
