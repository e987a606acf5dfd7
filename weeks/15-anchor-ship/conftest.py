"""Week 15's shared rig: one real ``moto_server`` on loopback, and the template scanners.

The anchor's deployment is checked as week 12 checked its stack, by the same rig
(:mod:`course.cloudformation`): moto in *server* mode speaks the AWS wire protocols over HTTP, so
boto3 signs and sends real requests and only the endpoint URL differs from AWS; ``cfn-lint`` and
``checkov`` run once, in the background, while the other tests go on. The ML add-on's tests use
the same moto server as the artifact store.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from course import cloudformation
from course.anchor import package_root

# The anchor is imported top-level, ``anchor``, from the folder under test (labs/, solutions/ or
# the proof's composite), exactly as its roles import it.
if str(package_root()) not in sys.path:
    sys.path.insert(0, str(package_root()))


def deploy_dir() -> Path:
    """``deploy/`` of the anchor under test (``labs/``, ``solutions/`` or the proof's composite)."""
    return package_root() / "anchor" / "deploy"


DEPLOYMENT = cloudformation.Deployment(
    folder=deploy_dir, shown="labs/anchor/deploy", templates=("stack.yaml",),
    lesson=lambda template: "weeks/15-anchor-ship/README.md, section 'The anchor on AWS'")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of one moto server for the week's tests (each lab uses its own names in it)."""
    with cloudformation.moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def aws(moto_url: str) -> Callable[[str], Any]:
    """Factory: ``aws("s3")`` → a boto3 client for that service on the moto server."""
    return functools.partial(cloudformation.client, moto_url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    DEPLOYMENT.start_for(items)


def pytest_sessionfinish() -> None:
    DEPLOYMENT.stop()


@pytest.fixture(scope="session")
def scans() -> dict[str, Any]:
    """cfn-lint's and checkov's findings over the template."""
    return DEPLOYMENT.scans()


@pytest.fixture(scope="session")
def cfn() -> SimpleNamespace:
    """The template helpers, for the test modules."""
    return DEPLOYMENT.helpers()
