"""Week 14's fixtures: a migrated database per module, a Redis database, the receiver, the rig.

The rig itself (``rig.py``) and the receiver (``receiver.py``) are plain modules beside this
file, loaded here under the names ``anchor_jobs_rig`` and ``anchor_jobs_receiver`` so the tests
(and the week's notebook) import them like any module.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from course import anchor, services
from course.processes import python_command

HERE = Path(__file__).parent


def _load(name: str, filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HERE / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("anchor_jobs_receiver", "receiver.py")
rig_module = _load("anchor_jobs_rig", "rig.py")
JWT_SECRET = rig_module.JWT_SECRET


@pytest.fixture(scope="session")
def anchor_template(make_database: Callable[..., str]) -> str:
    """A database migrated once (``python -m anchor.migrations upgrade``); modules clone it."""
    url = make_database("week14_template")
    env = anchor.anchor_env(database_url=url, redis_url="redis://127.0.0.1:1/0", jwt_secret=JWT_SECRET)
    done = subprocess.run(python_command("-m", anchor.MODULES["migrate"], "upgrade"), env=os.environ | env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"expected the anchor's migrations to run; they failed:\n{done.stderr[-3000:]}",
                    pytrace=False)
    return url.rsplit("/", 1)[-1].split("?")[0]


@pytest.fixture(scope="module")
def anchor_database_url(make_database: Callable[..., str], anchor_template: str,
                        request: pytest.FixtureRequest) -> str:
    return make_database(request.module.__name__.rsplit(".", 1)[-1], template=anchor_template)


@pytest.fixture(scope="module")
def anchor_redis_url(redis_server_url: str) -> Iterator[str]:
    """A flushed Redis database for the module: its roles run for all of its tests."""
    url = services.allocate_redis_db(redis_server_url)
    yield url
    services.release_redis_db(url)


@pytest.fixture(scope="session")
def receiver() -> Iterator[object]:
    """One loopback receiver for the run; each endpoint gets a name of its own on it."""
    with rig_module.Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def make_rig(anchor_database_url: str, anchor_redis_url: str, receiver: object) -> Iterator[object]:
    """The module's :class:`Rig`; the module's own fixture starts the roles it needs."""
    rig = rig_module.Rig(anchor_database_url, anchor_redis_url, receiver)
    yield rig
    rig.close()


@pytest.fixture(scope="session")
def anchor_package() -> Path:
    """The ``anchor`` package under test (``labs/``, ``solutions/`` or the proof's composite), importable."""
    root = anchor.package_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root / "anchor"


# The settings of the shared stack: Svix's schedule shape with the retry after the first failure
# 100 s away (so a failed delivery stays put while a test reads when it is due), a short HTTP
# timeout for the hanging endpoints, and a scheduler that looks every 0.1 s.
STANDARD_SETTINGS: dict[str, object] = {
    "retry_schedule_s": "0,100,300", "http_timeout_s": 1, "claim_timeout_s": 6,
    "response_body_max_bytes": 100, "scheduler_interval_s": 0.1}


@pytest.fixture(scope="session")
def standard_rig(make_database: Callable[..., str], anchor_template: str, redis_server_url: str,
                 receiver: object) -> Iterator[object]:
    """relay + worker + scheduler with :data:`STANDARD_SETTINGS`, shared by the modules that only deliver.

    The worker and the scheduler serve ``/metrics``; their URLs are ``rig.metrics_urls[role]``.
    """
    redis_url = services.allocate_redis_db(redis_server_url)
    rig = rig_module.Rig(make_database("week14_standard", template=anchor_template), redis_url, receiver)
    try:
        ports = {"worker": services.free_port(), "scheduler": services.free_port()}
        rig.metrics_urls = {role: f"http://127.0.0.1:{port}/metrics" for role, port in ports.items()}
        rig.start_together(("relay", STANDARD_SETTINGS),
                           ("worker", STANDARD_SETTINGS | {"metrics_port": ports["worker"]}),
                           ("scheduler", STANDARD_SETTINGS | {"metrics_port": ports["scheduler"]}))
        yield rig
    finally:
        rig.close()
        services.release_redis_db(redis_url)
