"""Lab anchor-ship/ci: the anchor's workflow — build, test against real services, deploy.

``actionlint`` (installed on first use by ``course.tools``, as in week 12) checks the syntax, the
expressions and the shell scripts. The other tests read the workflow as data and follow its
``needs:`` graph, because what makes a pipeline safe is its order: nothing deploys that the tests
did not pass, and the tests run against a real PostgreSQL and a real Redis, as the service does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from course.anchor import package_root
from course.tools import ToolUnavailable, tool

LESSON = "weeks/15-anchor-ship/README.md"
SECTION = "section 'The pipeline'"
STARTER = "labs/anchor/deploy/ci.yml"


def workflow_path() -> Path:
    return package_root() / "anchor" / "deploy" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    path = workflow_path()
    if not path.exists():
        pytest.fail(f"expected {STARTER}; got no file. Look at {LESSON}, {SECTION}.", pytrace=False)
    data = YAML(typ="safe").load(path.read_text()) or {}
    if True in data:  # a YAML 1.1 reader turns the key `on` into True
        data["on"] = data.pop(True)
    return dict(data)


def _jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(name): dict(job or {}) for name, job in (workflow.get("jobs") or {}).items()}


def _text(job: dict[str, Any]) -> str:
    """Everything a job's steps run or pass to an action, their ``env:`` too, as one string to search."""
    return "\n".join(f"{s.get('uses', '')} {s.get('run', '')} {s.get('with', '')} {s.get('env', '')}"
                     for s in job.get("steps") or []) + str(job.get("env", ""))


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def _upstream(jobs: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every job ``name`` waits for, directly or through another job."""
    seen: set[str] = set()
    todo = _needs(jobs.get(name, {}))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += _needs(jobs.get(current, {}))
    return seen


def _job_that(workflow: dict[str, Any], what: str, *needles: str) -> str:
    """The job whose steps mention one of ``needles``; fails, teaching, when there is none."""
    for name, job in _jobs(workflow).items():
        if any(needle in _text(job) for needle in needles):
            return name
    pytest.fail(f"expected a job that {what} (a step with one of {list(needles)}); found none in "
                f"{STARTER}. Look at {LESSON}, {SECTION}.", pytrace=False)


def _deploy(workflow: dict[str, Any]) -> str:
    return _job_that(workflow, "deploys the stack", "cloudformation deploy",
                     "aws-cloudformation-github-deploy", "update-stack", "create-stack")


def _test(workflow: dict[str, Any]) -> str:
    return _job_that(workflow, "runs the service's tests", "pytest")


def _build(workflow: dict[str, Any]) -> str:
    return _job_that(workflow, "builds and pushes the image", "docker push", "build-push-action")


def test_actionlint_finds_nothing(workflow: dict[str, Any]) -> None:
    _deploy(workflow)
    try:
        actionlint = tool("actionlint")
    except ToolUnavailable as error:
        pytest.skip(f"actionlint could not be installed here: {error}")
    done = subprocess.run([str(actionlint), "-no-color", str(workflow_path())], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, (f"expected actionlint to accept ci.yml; got:\n"
                                  f"{(done.stdout + done.stderr)[-3000:]}\nLook at {LESSON}, {SECTION}.")


def test_tests_run_against_real_postgres_and_redis(workflow: dict[str, Any]) -> None:
    name = _test(workflow)
    job = _jobs(workflow)[name]
    services = job.get("services") or {}
    images = [str((s or {}).get("image", s) if isinstance(s, dict) else s) for s in services.values()]
    missing = [kind for kind in ("postgres", "redis") if not any(kind in image for image in images)]
    assert not missing, (
        f"expected job {name} to start {missing} as `services:` containers (images {images or 'none'}). "
        "The anchor's tests take DATABASE_URL and REDIS_URL and refuse to fake either; a CI that "
        f"skips them tests nothing. Look at {LESSON}, {SECTION}.")
    env = {**(workflow.get("env") or {}), **(job.get("env") or {}),
           **{k: v for s in job.get("steps") or [] for k, v in (s.get("env") or {}).items()}}
    absent = [key for key in ("DATABASE_URL", "REDIS_URL") if key not in env]
    assert not absent, (f"expected job {name} to hand the tests {absent} (as `env:`), pointing at its "
                        "service containers")


def test_nothing_deploys_that_the_tests_did_not_pass(workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    deploy, test, build = _deploy(workflow), _test(workflow), _build(workflow)
    assert deploy != test, (
        f"expected the tests and the deploy in separate jobs; {deploy} does both, so the graph cannot "
        "show that one waits for the other, and a failed deploy cannot be re-run alone")
    upstream = _upstream(jobs, deploy)
    missing = [job for job in dict.fromkeys((test, build)) if job != deploy and job not in upstream]
    assert not missing, (
        f"expected job {deploy} to wait (through `needs:`) for {missing}; it waits for "
        f"{sorted(upstream) or 'nothing'}. Without it GitHub runs the deploy beside the tests, and a "
        f"red commit reaches production. Look at {LESSON}, {SECTION}.")
    concurrency = workflow.get("concurrency") or jobs[deploy].get("concurrency")
    assert isinstance(concurrency, dict) and concurrency.get("cancel-in-progress") is False, (
        f"expected `concurrency:` with a group and cancel-in-progress: false; got {concurrency}. "
        "Two deploys at once race; a cancelled one leaves the stack mid-update.")


def test_deploys_the_tested_image_from_main_with_short_lived_credentials(
        workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    deploy, build = _deploy(workflow), _build(workflow)
    deploying = _text(jobs[deploy]) + str(workflow.get("env", ""))
    assert "github.sha" in _text(jobs[build]) + str(workflow.get("env", "")), (
        "expected the image tagged with ${{ github.sha }} — the commit the tests passed on")
    assert ":latest" not in _text(jobs[build]) + deploying, (
        "expected no :latest tag — a tag that moves cannot be rolled back to")
    assert "ImageUri" in deploying, (
        f"expected job {deploy} to pass the stack its ImageUri parameter (the image built from this "
        f"commit). Look at {LESSON}, {SECTION}.")
    text = workflow_path().read_text().lower()
    stored = [k for k in ("aws_access_key_id", "aws_secret_access_key", "aws-access-key-id",
                          "aws-secret-access-key") if k in text]
    assert not stored, (f"expected no stored AWS keys; the workflow mentions {stored}. Let "
                        "configure-aws-credentials assume a role through OIDC (id-token: write).")
    permissions = jobs[deploy].get("permissions") or workflow.get("permissions") or {}
    assert isinstance(permissions, dict) and permissions.get("id-token") == "write", (
        f"expected job {deploy} (or the workflow) to have `permissions: id-token: write`; got {permissions}")
    triggers = workflow.get("on")
    triggers = {triggers: None} if isinstance(triggers, str) else dict(triggers or {})
    condition = str(jobs[deploy].get("if", ""))
    from_main = ((triggers.get("push") or {}).get("branches") == ["main"] and "pull_request" not in triggers
                 ) or "refs/heads/main" in condition
    assert from_main, (
        f"expected the deploy to run only for main (`on: push: branches: [main]`, or `if: github.ref "
        f"== 'refs/heads/main'` on job {deploy} when pull requests run the tests too); got triggers "
        f"{sorted(triggers)} and if {condition!r}")
