"""The anchor service from the course's side: where its code is, its environment, its roles.

The anchor is one package, ``anchor``, imported top-level: its root on ``PYTHONPATH`` is
``labs/`` (the learner's), ``solutions/`` (``--solutions``, through ``COURSE_LAB_PATH``) or the
composite folder the proof builds for one week. Weeks 13–15, ``course anchor …`` and the proof
suite start its roles through :func:`start_role`, so they all run it the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from course import paths
from course.processes import RunningProcess, python_command, start_process
from course.target import LAB_PATH_ENV

ROLES = ("api", "relay", "worker", "scheduler")
MODULES = {"api": "anchor.api", "relay": "anchor.workers.relay", "worker": "anchor.workers.worker",
           "scheduler": "anchor.workers.scheduler", "migrate": "anchor.migrations"}
# Loopback receivers (the demo receiver, the tests') must be reachable past the SSRF guard.
LOOPBACK_ALLOW = "127.0.0.0/8,::1/128"


def package_root() -> Path:
    """The folder that holds the ``anchor`` package under test."""
    return Path(os.environ.get(LAB_PATH_ENV) or paths.LABS_DIR)


def anchor_env(*, database_url: str, redis_url: str, jwt_secret: str, **settings: str) -> dict[str, str]:
    """The environment a role runs in: ``anchor`` importable, its settings as ``ANCHOR_*`` variables.

    ``settings`` are extra settings by field name (``retry_time_scale="0.001"``).
    """
    values = {"database_url": database_url, "redis_url": redis_url, "jwt_secret": jwt_secret,
              "ssrf_allow_cidrs": LOOPBACK_ALLOW, "log_json": "false"} | settings
    python_path = os.pathsep.join(filter(None, [str(package_root()), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": python_path} | {f"ANCHOR_{key.upper()}": value for key, value in values.items()}


def start_role(role: str, env: dict[str, str], *, port: int | None = None,
               timeout: float = 30.0) -> RunningProcess:
    """Start one role (``api`` on ``port``, a free one if None) and return once it is up.

    The API is up when its port accepts; a worker role when it logs ``"<role> ready"``.
    """
    if role == "api":
        return start_process(python_command("-m", MODULES["api"], "--host", "127.0.0.1", "--port", "{port}"),
                             port=port, env=env, timeout=timeout)
    if role not in MODULES:
        raise ValueError(f"unknown anchor role {role!r}; roles: {', '.join(ROLES)}")
    return start_process(python_command("-m", MODULES[role]), ready_line=f"{role} ready", env=env,
                         timeout=timeout)
