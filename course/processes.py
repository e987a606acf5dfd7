"""Real server and worker processes for tests and notebooks, on free loopback ports.

A lab that says "the service survives SIGTERM" must be proven on a real process, not a function
call. :func:`start_process` launches one, waits until it is ready (a TCP port accepts, or a
line appears in its output), and :meth:`RunningProcess.stop` shuts it down — politely first.
Output goes to a file, so a failing test can show the last lines the process printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from course.errors import CourseError
from course.paths import REPO_ROOT
from course.services import free_port, port_accepts


class ProcessFailed(CourseError, RuntimeError):
    """The process died or never became ready; the message carries its last output."""


@dataclass
class RunningProcess:
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise AttributeError("this process was started without a port")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self, last_lines: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self, timeout: float = 10.0) -> int:
        """SIGKILL and reap: the process gets no chance to clean up — what a crash or OOM looks like."""
        if self.popen.poll() is None:
            self.popen.kill()
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, then SIGKILL: leave nothing running behind a test."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        return self.popen.returncode


def python_command(*args: str) -> list[str]:
    """``python args…`` with the interpreter running the tests."""
    return [sys.executable, *args]


def start_process(
    command: Sequence[str],
    *,
    port: int | None = None,
    ready_line: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> RunningProcess:
    """Start ``command``; return once ``port`` accepts or ``ready_line`` is printed.

    ``{port}`` in the command is replaced by ``port`` (a free one is chosen when ``port`` is
    ``None`` but the command mentions it).
    """
    if port is None and any("{port}" in part for part in command):
        port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    log_fd, log_name = tempfile.mkstemp(prefix="course-process-", suffix=".log")
    full_env = os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {})
    popen = subprocess.Popen(argv, stdout=log_fd, stderr=subprocess.STDOUT, env=full_env,
                             cwd=cwd or REPO_ROOT, start_new_session=True)
    os.close(log_fd)
    process = RunningProcess(popen, Path(log_name), port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Whether it exited is read before whether it was ready: a process that prints its ready
        # line and finishes between two polls was ready, not a failure.
        exited = popen.poll() is not None
        if ready_line is not None and ready_line in process.output(last_lines=200):
            return process
        if ready_line is None and port is not None and not exited and port_accepts(port):
            return process
        if ready_line is None and port is None:
            return process
        if exited:
            raise ProcessFailed(f"`{' '.join(argv)}` exited with {popen.returncode} before it was "
                                f"ready. Its output:\n{process.output()}")
        time.sleep(0.05)
    process.stop()
    raise ProcessFailed(f"`{' '.join(argv)}` was not ready after {timeout:.0f}s. Its output:\n"
                        f"{process.output()}")


@contextlib.contextmanager
def running(command: Sequence[str], **kwargs: object) -> Iterator[RunningProcess]:
    """:func:`start_process` as a context manager that always stops the process."""
    process = start_process(command, **kwargs)  # type: ignore[arg-type]
    try:
        yield process
    finally:
        process.stop()


def stop_all(processes: Iterable[RunningProcess], timeout: float = 10.0) -> None:
    """SIGTERM every process first, then wait for each: their shutdowns overlap instead of adding up."""
    alive = [p for p in processes if p.popen.poll() is None]
    for process in alive:
        process.signal(signal.SIGTERM)
    for process in alive:
        process.stop(timeout=timeout)


class BackgroundStart:
    """A :func:`start_process` running on a thread, so slow start-ups (imports) overlap other work.

    ``result()`` waits and returns the process or raises what the start raised; ``started()``
    waits and returns the process, or ``None`` if it failed — for clean-up code.
    """

    def __init__(self, command: Sequence[str], **kwargs: object) -> None:
        self._process: RunningProcess | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(list(command), kwargs),
                                        name="start-process", daemon=True)
        self._thread.start()

    def _start(self, command: list[str], kwargs: dict[str, object]) -> None:
        try:
            self._process = start_process(command, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def started(self) -> RunningProcess | None:
        self._thread.join()
        return self._process

    def result(self) -> RunningProcess:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._process is not None
        return self._process


def start_in_background(command: Sequence[str], **kwargs: object) -> BackgroundStart:
    """Begin :func:`start_process` (same arguments) on a thread; collect it with ``.result()``."""
    return BackgroundStart(command, **kwargs)
