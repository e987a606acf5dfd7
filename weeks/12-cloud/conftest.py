"""Week 12's shared rig: one real ``moto_server`` process per test module, on loopback.

moto in *server* mode is a separate process speaking the AWS wire protocols over HTTP, so the
code under test uses the real boto3 client, real signing and real sockets — only the endpoint
URL differs from AWS. One server per module keeps start-up (≈1 s) off every test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from course.processes import start_process

REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """The URL of a fresh moto server, stopped when the module's tests are done."""
    server = Path(sys.executable).parent / "moto_server"
    process = start_process([str(server), "-H", "127.0.0.1", "-p", "{port}"], timeout=60)
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def aws(moto_url: str) -> Callable[[str], Any]:
    """Factory: ``aws("s3")`` → a boto3 client for that service on the moto server."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

    return client


# --------------------------------------------------------------------------- templates

LAB_DEPLOY = "labs/week12_cloud/deploy"
TEMPLATES = ("stack.yaml", "vm.yaml")
# checkov offline (--skip-download) reports no severities: the course treats every failed check
# as a finding to fix, and never lets one of these be skipped — the ones that expose data or
# hosts to the internet, or leave data unencrypted.
HIGH_CHECKS = frozenset({
    "CKV_AWS_2", "CKV_AWS_8", "CKV_AWS_16", "CKV_AWS_17", "CKV_AWS_19", "CKV_AWS_20",
    "CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_29", "CKV_AWS_30", "CKV_AWS_31", "CKV_AWS_53",
    "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_57", "CKV_AWS_79", "CKV_AWS_260",
    "CKV_AWS_277",
})


def deploy_dir() -> Path:
    import labs.week12_cloud as lab

    return Path(lab.__file__).parent / "deploy"


@pytest.fixture(scope="session")
def scans() -> dict[str, Any]:
    """cfn-lint and checkov over both templates, run once, side by side (each takes seconds)."""
    import json
    import subprocess

    from course.tools import ToolUnavailable, tool

    files = [str(deploy_dir() / name) for name in TEMPLATES]
    lint = subprocess.Popen([str(Path(sys.executable).parent / "cfn-lint"), "-f", "json", *files],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        checkov: Any = subprocess.Popen(
            [str(tool("checkov")), "--skip-download", "--quiet", "--compact", "-o", "json",
             "--framework", "cloudformation", "secrets",
             *[arg for f in files for arg in ("-f", f)]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except ToolUnavailable as error:
        checkov = error
    lint_out, lint_err = lint.communicate(timeout=300)
    result: dict[str, Any] = {"cfn-lint": json.loads(lint_out) if lint_out.strip() else [],
                              "cfn-lint-error": lint_err if lint.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) else ""}
    if isinstance(checkov, ToolUnavailable):
        result["checkov"] = str(checkov)
        return result
    out, err = checkov.communicate(timeout=600)
    reports = json.loads(out) if out.strip().startswith(("[", "{")) else []
    reports = reports if isinstance(reports, list) else [reports]
    failed, skipped = [], []
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        failed += results.get("failed_checks", [])
        skipped += results.get("skipped_checks", [])
    result["checkov"] = {"failed": failed, "skipped": skipped, "stderr": err[-2000:],
                         "ran": bool(reports) or checkov.returncode in (0, 1)}
    return result
