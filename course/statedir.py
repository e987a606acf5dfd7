"""The state directory of the embedded servers: their data, logs, ports and passwords.

It lives in ``COURSE_HOME`` or the per-user data folder (``platformdirs``) and is private to the
learner: mode 0700, or 0710 with the PostgreSQL system user's group when the course runs as root
(that user must pass through it to reach its data folder, but not list it). On a machine with
other accounts, a readable state directory tells everyone where the servers listen and, worse,
what their passwords are; :func:`exposures` finds that for ``course doctor``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import platformdirs

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def state_dir(create: bool = True) -> Path:
    """Where embedded servers keep their data; ``COURSE_HOME`` overrides the per-user default.

    Created private (0700); an existing folder is left as it is here — :func:`make_private`
    tightens it when a server starts, and ``course doctor`` reports it meanwhile.
    """
    override = os.environ.get("COURSE_HOME")
    path = Path(override) if override else platformdirs.user_data_path("backend-semester")
    if create and not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def make_private(traverse_gid: int | None = None) -> None:
    """Make the state directory the learner's alone (0700), and its passwords, logs and ports (0600).

    ``traverse_gid`` (root only) is the group of the server's system user, which gets
    pass-through (0710) and nothing more.
    """
    path = state_dir()
    if traverse_gid is None:
        path.chmod(PRIVATE_DIR)
    else:
        os.chown(path, -1, traverse_gid)
        path.chmod(PRIVATE_DIR | stat.S_IXGRP)
    for child in [*path.glob("*.password"), *path.glob("*.log"), path / "ports.json"]:
        if child.is_file() and stat.S_IMODE(child.stat().st_mode) & 0o077:
            child.chmod(PRIVATE_FILE)


def exposures(allowed_gid: int | None = None) -> list[tuple[Path, str]]:
    """Paths other users can read or enter, each with the ``chmod`` that fixes it.

    Checks the state directory, its password files and its logs. ``allowed_gid`` is a group
    that may pass through the directory (the PostgreSQL system user's, as root).
    """
    path = state_dir()
    found: list[tuple[Path, str]] = []
    info = path.stat()
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if allowed_gid is not None and info.st_gid == allowed_gid:
        loose &= ~stat.S_IXGRP
    if loose or info.st_uid != os.geteuid():
        mode = "700" if allowed_gid is None else "710"
        owner = "" if allowed_gid is None else f":{allowed_gid}"
        chown = f"chown {os.geteuid()}{owner} {path} && " if info.st_uid != os.geteuid() or owner else ""
        found.append((path, f"{chown}chmod {mode} {path}"))
    for child in sorted(path.glob("*.password")) + sorted(path.glob("*.log")):
        if stat.S_IMODE(child.stat().st_mode) & 0o077:
            found.append((child, f"chmod 600 {child}"))
    return found


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that it is never readable by others, not even for a moment."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


@contextlib.contextmanager
def state_lock() -> Iterator[None]:
    """Serialise start/stop across processes (parallel pytest workers start services at once)."""
    lock = state_dir() / "services.lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- ports


def read_ports() -> dict[str, int]:
    """The loopback port each embedded server was last given (``ports.json``)."""
    path = state_dir() / "ports.json"
    try:
        return {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def remember_port(name: str, port: int) -> None:
    """Record ``name``'s port so the next run finds the same server."""
    write_private(state_dir() / "ports.json", json.dumps(read_ports() | {name: port}))


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


def port_for(name: str, fresh: bool = False) -> int:
    """The service's remembered port, or a new one when unset, taken by a stranger, or ``fresh``."""
    port = read_ports().get(name)
    if fresh or port is None or port_accepts(port):
        port = free_port()
        remember_port(name, port)
    return port
