"""Lab docker/startup: the container's entry point, run as a real process.

``python -m labs.week06_docker.entrypoint api|worker|healthcheck`` is what the image runs. The
tests start it exactly so: against a loopback HTTP server for the healthcheck, with
``python -X importtime`` to see which modules a role really imports, and with a tiny ASGI app to
prove secrets reach the application and SIGTERM stops it gracefully.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from course.services import port_accepts

ENTRYPOINT = [sys.executable, "-m", "labs.week06_docker.entrypoint"]
LESSON = "weeks/06-docker/README.md"
CONFIG_VARIABLES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "SECRETS_DIR")
HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "pydantic", "pydantic_settings", "redis", "rq",
         "psycopg", "jwt", "httpx", "anyio", "labs.week02_fastapi")
DATABASE_URL = "postgresql+psycopg://app:pg-pass-0451@db:5432/app"
JWT_SECRET = "jwt-" + "k7Qx9" * 8
REDIS_URL = "redis://127.0.0.1:6379/3"
EXPECTED_ENV = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "JWT_SECRET": JWT_SECRET}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocesses inherit os.environ: start each role without the test run's own settings."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class _Probe(http.server.BaseHTTPRequestHandler):
    release = threading.Event()
    paths: ClassVar[list[str]] = []  # every path asked for, in order

    def do_GET(self) -> None:
        self.paths.append(self.path)
        if self.path == "/hang":
            self.release.wait(30)  # accept, then say nothing: the probe must give up on its own
            return
        self.send_response(503 if self.path == "/sick" else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def probe_server() -> Iterator[str]:
    """A loopback server: /healthz → 200, /sick → 503, /hang → never answers."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Probe.release.set()
    server.shutdown()
    server.server_close()


def run_role(*args: str, importtime: bool = False, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable, "-X", "importtime", *ENTRYPOINT[1:]] if importtime else ENTRYPOINT
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout_s)


def imported_modules(importtime_stderr: str) -> dict[str, int]:
    """Module → cumulative microseconds, from ``python -X importtime`` output."""
    modules = {}
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            modules[name] = int(cumulative)
    return modules


def heavy_in(modules: dict[str, int]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY)


def describe(completed: subprocess.CompletedProcess[str]) -> str:
    errors = "\n".join(line for line in completed.stderr.splitlines() if not line.startswith("import time:"))
    return f"exit {completed.returncode}; stderr:\n{errors[-1500:] or '(empty)'}"


def assert_healthy_control(base: str) -> None:
    completed = run_role("healthcheck", "--url", f"{base}/healthz")
    assert completed.returncode == 0, (
        f"expected `healthcheck --url {base}/healthz` (which answers 200) to exit 0; got "
        f"{describe(completed)}\nLook at {LESSON}, section 'Healthchecks'.")


def test_healthcheck_passes_when_the_api_answers(probe_server: str) -> None:
    assert_healthy_control(probe_server)


def test_healthcheck_probes_healthz_on_port_by_default(probe_server: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", probe_server.rsplit(":", 1)[1])  # what the image sets
    monkeypatch.delenv("HEALTH_PATH", raising=False)
    _Probe.paths.clear()
    completed = run_role("healthcheck")
    assert completed.returncode == 0 and _Probe.paths == ["/healthz"], (
        f"expected `healthcheck` without --url to GET http://127.0.0.1:$PORT/healthz once and exit 0; "
        f"the server saw {_Probe.paths} and the probe gave {describe(completed)}\nThe container's "
        f"check is liveness (/healthz), never readiness (/readyz). Look at {LESSON}, section "
        "'Healthchecks'.")


def test_healthcheck_fails_cleanly_on_5xx_and_on_a_closed_port(probe_server: str, free_tcp_port: int) -> None:
    assert_healthy_control(probe_server)
    for url in (f"{probe_server}/sick", f"http://127.0.0.1:{free_tcp_port}/healthz"):
        completed = run_role("healthcheck", "--url", url)
        assert completed.returncode == 1 and "Traceback" not in completed.stderr, (
            f"expected `healthcheck --url {url}` to exit 1 (unhealthy) with a one-line reason, no "
            f"traceback; got {describe(completed)}\nDocker reads only the exit code: 0 healthy, 1 "
            f"unhealthy. Look at {LESSON}, section 'Healthchecks'.")


def test_healthcheck_gives_up_after_its_timeout(probe_server: str) -> None:
    assert_healthy_control(probe_server)
    try:
        completed = run_role("healthcheck", "--url", f"{probe_server}/hang", "--timeout-s", "1", timeout_s=20)
    except subprocess.TimeoutExpired:
        pytest.fail("expected `healthcheck --timeout-s 1` against a server that never answers to give up "
                    "and exit 1; got a probe still waiting after 20 s. Without a timeout a wedged "
                    "API wedges its own healthcheck. Pass timeout= to urlopen. "
                    f"Look at {LESSON}, section 'Healthchecks'.", pytrace=False)
    assert completed.returncode == 1 and "Traceback" not in completed.stderr, (
        f"expected exit 1 (unhealthy) after the timeout; got {describe(completed)}")


def test_healthcheck_imports_only_what_it_needs(probe_server: str) -> None:
    completed = run_role("healthcheck", "--url", f"{probe_server}/healthz", importtime=True)
    modules = imported_modules(completed.stderr)
    heavy = heavy_in(modules)
    total_ms = sum(us for name, us in modules.items() if "." not in name) / 1000
    assert completed.returncode == 0 and modules and not heavy, (
        "expected the healthcheck role to answer (exit 0) importing only the standard library; got "
        f"{describe(completed) if completed.returncode else 'exit 0'} and these heavy imports: "
        f"{[(m, f'{modules[m] / 1000:.0f} ms') for m in heavy]} ({total_ms:.0f} ms of imports in all). "
        "Docker runs this every few seconds for the life of the container. Import settings, "
        f"uvicorn and the app inside the roles that need them. Look at {LESSON}, section "
        "'Trim the start-up'.")


@pytest.mark.parametrize("role", ["api", "worker"])
def test_missing_config_fails_fast_before_importing_the_app(role: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))  # empty: nothing to find there either
    completed = run_role(role, importtime=True)
    modules = imported_modules(completed.stderr)
    settings_libraries = {"pydantic", "pydantic_settings"}  # the settings check itself needs these
    app_imports = sorted(m for m in heavy_in(modules) if m.split(".")[0] not in settings_libraries)
    assert completed.returncode != 0 and "JWT_SECRET" in completed.stderr and \
        "Traceback" not in completed.stderr, (
            f"expected `{role}` without configuration to exit non-zero with a message naming "
            f"JWT_SECRET (and every other missing value), no traceback; got {describe(completed)}\n"
            f"Look at {LESSON}, section 'Fail fast, and clearly'.")
    assert not app_imports, (
        f"expected `{role}` to check its settings before importing the application; got "
        f"{app_imports} imported first. A misconfigured container should die in a blink, not after "
        f"loading the whole app. Look at {LESSON}, section 'Trim the start-up'.")


TINY_APP = '''
import json, os, pathlib

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                pathlib.Path(os.environ["W06_SHUTDOWN_MARK"]).write_text("graceful")
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = json.dumps({k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})
'''

TINY_WORKER = '''
import json, os, pathlib
pathlib.Path(os.environ["W06_WORKER_OUT"]).write_text(
    json.dumps({k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")}))
'''


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a stand-in app and worker, on PYTHONPATH, and secret files beside them."""
    (tmp_path / "w06_tiny_app.py").write_text(textwrap.dedent(TINY_APP))
    (tmp_path / "w06_tiny_worker.py").write_text(textwrap.dedent(TINY_WORKER))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "jwt_secret").write_text(JWT_SECRET + "\n")
    (secrets / "database_url").write_text(DATABASE_URL + "\n")
    monkeypatch.setenv("SECRETS_DIR", str(secrets))
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    search_path = filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(search_path))
    return tmp_path


def test_api_gets_secret_files_and_stops_gracefully_on_sigterm(app_dir: Path, spawn: Callable[..., Any],
                                                               free_tcp_port: int) -> None:
    mark = app_dir / "shutdown.mark"
    process = spawn([*ENTRYPOINT, "api", "--app", "w06_tiny_app:app"], port=free_tcp_port,
                    env={"HOST": "127.0.0.1", "PORT": str(free_tcp_port), "W06_SHUTDOWN_MARK": str(mark)})
    with urllib.request.urlopen(f"{process.url}/", timeout=10) as response:
        seen = json.loads(response.read())
    assert seen == EXPECTED_ENV, (
        "expected the app to find DATABASE_URL and JWT_SECRET (from the secret files) and REDIS_URL "
        f"(from the environment) in its environment; got {seen}. The week-02 service reads "
        f"environment variables: hand the loaded settings over before starting it. Look at {LESSON}, "
        "section 'One image, three roles'.")
    process.signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("expected the api role to exit after SIGTERM; got a process still running 20 s "
                    f"later. Look at {LESSON}, section 'Signals and PID 1'.", pytrace=False)
    assert mark.exists() and not port_accepts(free_tcp_port), (
        "expected SIGTERM to reach the server itself: lifespan shutdown ran and the port closed; got "
        f"shutdown ran={mark.exists()}, port still open={port_accepts(free_tcp_port)}. Run uvicorn in "
        "this process (no shell, no child process that the signal never reaches). Output:\n"
        f"{process.output()}\nLook at {LESSON}, section 'Signals and PID 1'.")


def test_worker_runs_its_module_with_the_settings(app_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = app_dir / "worker.json"
    monkeypatch.setenv("W06_WORKER_OUT", str(out))
    completed = run_role("worker", "--module", "w06_tiny_worker")
    seen = json.loads(out.read_text()) if out.exists() else None
    assert completed.returncode == 0 and seen == EXPECTED_ENV, (
        "expected `worker --module w06_tiny_worker` to run that module as __main__ with the settings "
        f"in its environment; got {describe(completed)}\nand the module saw {seen}. Look at {LESSON}, "
        "section 'One image, three roles'.")
