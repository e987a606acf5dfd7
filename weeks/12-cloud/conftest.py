"""Week 12's shared rig: one real ``moto_server`` process for the run, on loopback, and the scanners.

moto in *server* mode is a separate process speaking the AWS wire protocols over HTTP, so the
code under test uses the real boto3 client, real signing and real sockets — only the endpoint
URL differs from AWS. The rig itself is :mod:`course.cloudformation`, shared with week 15.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from course import cloudformation


def deploy_dir() -> Path:
    import labs.week12_cloud as lab

    return Path(lab.__file__).parent / "deploy"


def _lesson(template: str) -> str:
    section = "The budget shape: one VM" if template == "vm.yaml" else "The deployment lab"
    return f"weeks/12-cloud/README.md, section '{section}'"


DEPLOYMENT = cloudformation.Deployment(folder=deploy_dir, shown="labs/week12_cloud/deploy",
                                       templates=("stack.yaml", "vm.yaml"), lesson=_lesson)


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
    """cfn-lint's and checkov's findings over both templates."""
    return DEPLOYMENT.scans()


@pytest.fixture(scope="session")
def cfn() -> SimpleNamespace:
    """The template helpers, for the test modules."""
    return DEPLOYMENT.helpers()
