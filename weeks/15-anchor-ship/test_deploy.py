"""Lab anchor-ship/deploy: the anchor's AWS stack, validated offline three ways.

Week 12's checks, pointed at the anchor: ``cfn-lint`` against the CloudFormation specification,
``checkov`` against security policy, and moto's CloudFormation creating the stack, each resource
then looked up through its own API (moto silently skips the types it cannot create). The other
tests read the template as data for what a reviewer of *this* service would insist on: four roles
from one image, secrets that never sit in a task definition's plain environment, a private,
versioned bucket for the models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

LESSON = "weeks/15-anchor-ship/README.md"
NAME = "stack.yaml"
WHOLE_STACK = {
    "AWS::EC2::VPC": "the network", "AWS::ElasticLoadBalancingV2::LoadBalancer": "the entry",
    "AWS::ElasticLoadBalancingV2::Listener": "HTTPS on 443", "AWS::ECS::Cluster": "the cluster",
    "AWS::ECS::Service": "api, relay, worker, scheduler", "AWS::ECS::TaskDefinition": "the roles",
    "AWS::RDS::DBInstance": "PostgreSQL, the truth", "AWS::ElastiCache::*": "Redis, the stream",
    "AWS::SecretsManager::Secret": "the JWT secret and the database password",
    "AWS::S3::Bucket": "the ML artifacts",
}
ROLES = {"api": "anchor.api", "relay": "anchor.workers.relay", "worker": "anchor.workers.worker",
         "scheduler": "anchor.workers.scheduler"}
ECS_DEFAULT_STOP_TIMEOUT_S = 30  # what ECS waits between SIGTERM and SIGKILL when a container sets none
SECRET_WORDS = ("password", "secret", "token", "database_url", "redis_url", "dsn")


@pytest.fixture(scope="module")
def template(cfn: Any) -> dict[str, Any]:
    return cfn.load(NAME)


@pytest.fixture(scope="module")
def stack(cfn: Any, template: dict[str, Any], aws: Callable[[str], Any]) -> Any:
    cfn.require_types(template, NAME, WHOLE_STACK)
    certificate = aws("acm").request_certificate(DomainName="anchor.example.com")["CertificateArn"]
    return cfn.create_on_moto(aws, NAME, template, {"ImageUri": "example/anchor:1",
                                                    "CertificateArn": certificate})


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def _containers(cfn: Any, template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Task definition logical id → its container definitions."""
    return {name: list(_props(t).get("ContainerDefinitions") or [])
            for name, t in cfn.resources(template, "AWS::ECS::TaskDefinition").items()}


def _command(container: dict[str, Any]) -> str:
    """What the container runs, entry point and command joined (``python -m anchor.workers.relay``)."""
    parts = [*(container.get("EntryPoint") or []), *(container.get("Command") or [])]
    return " ".join(str(p) for p in parts)


def test_cfn_lint_passes(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    assert not scans["cfn-lint-error"], f"cfn-lint did not run: {scans['cfn-lint-error']}"
    found = [f"{m['Rule']['Id']} line {m['Location']['Start']['LineNumber']}: {m['Message']}"
             for m in scans["cfn-lint"] if m["Filename"].endswith(NAME)]
    assert not found, (f"expected `cfn-lint {NAME}` to find nothing; got:\n  " + "\n  ".join(found[:10])
                       + f"\nLook at {LESSON}, section 'The anchor on AWS'.")


def test_checkov_finds_nothing_high(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    if isinstance(scans["checkov"], str):
        pytest.skip(f"checkov could not be installed here: {scans['checkov']}")
    ours = [c for c in scans["checkov"]["failed"] if c.get("file_path", "").endswith(NAME)]
    found = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in ours]
    assert not found, (f"expected checkov to pass every check on {NAME}; got {len(found)}:\n  "
                       + "\n  ".join(found[:15]) + f"\nLook at {LESSON}, section 'The anchor on AWS'.")
    skipped_high = [c["check_id"] for c in scans["checkov"]["skipped"]
                    if c.get("file_path", "").endswith(NAME) and c["check_id"] in cfn.high_checks]
    assert not skipped_high, f"expected no high check skipped; {skipped_high} are"


def test_every_resource_exists_through_its_own_api(cfn: Any, template: dict[str, Any], stack: Any,
                                                   aws: Callable[[str], Any]) -> None:
    created, skipped = stack
    missing = []
    for logical, resource in template["Resources"].items():
        if logical in skipped or resource["Type"] in cfn.moto_gaps:
            continue  # moto cannot create this type; cfn-lint and checkov still checked it
        summary = created.get(logical)
        if summary is None or not summary.get("PhysicalResourceId"):
            missing.append(f"{logical} ({resource['Type']}): not in the stack")
            continue
        if cfn.exists(aws, resource["Type"], summary["PhysicalResourceId"]) is False:
            missing.append(f"{logical} ({resource['Type']}): {summary['PhysicalResourceId']} "
                           "not found through its API")
    assert not missing, "expected every resource to exist after create_stack; " + "; ".join(missing)
    print("moto cannot create, checked only by cfn-lint and checkov:",
          sorted({*skipped.values(), *cfn.moto_gaps}))


def test_runs_the_four_roles_from_one_image(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    containers = _containers(cfn, template)
    served = {cfn.ref_name(_props(s).get("TaskDefinition"))
              for s in cfn.resources(template, "AWS::ECS::Service").values()}
    commands = {_command(c): name for name, cs in containers.items() if name in served for c in cs}
    missing = [f"{role} (`python -m {module}`)" for role, module in ROLES.items()
               if not any(cmd.endswith(module) or f"{module} " in cmd for cmd in commands)]
    assert not missing, (
        f"expected an ECS service for each role, running the role's module; none runs {missing} "
        f"(services run: {sorted(commands) or 'nothing'}). Look at {LESSON}, section "
        "'One image, four roles'.")
    images = {str(c.get("Image")) for cs in containers.values() for c in cs}
    assert images == {str({"Ref": "ImageUri"})}, (
        f"expected every container to run the one image of parameter ImageUri; got {sorted(images)}. "
        "One image per commit is what you tested; a role on another tag runs untested code.")


def test_a_deploy_gives_the_worker_time_to_finish_what_it_is_sending(cfn: Any,
                                                                     template: dict[str, Any]) -> None:
    """ECS stops a task with SIGTERM, waits ``StopTimeout`` (30 s when unset), then SIGKILLs it.

    The worker needs ``http_timeout_s`` + 1 s to let its in-flight deliveries finish (week 14); a
    shorter StopTimeout turns every deploy into the worker-kill drill: requests cut mid-flight,
    sent again by another worker — duplicates on every release.
    """
    from anchor.core.config import Settings

    cfn.require_types(template, NAME, WHOLE_STACK)
    workers = [c for cs in _containers(cfn, template).values() for c in cs
               if _command(c).endswith(ROLES["worker"])]
    assert workers, f"expected a container running python -m {ROLES['worker']}. Look at {LESSON}."
    default_http_timeout_s = Settings.model_fields["http_timeout_s"].default
    for container in workers:
        environment = {e.get("Name"): e.get("Value") for e in container.get("Environment") or []}
        http_timeout = environment.get("ANCHOR_HTTP_TIMEOUT_S", default_http_timeout_s)
        try:
            http_timeout_s = float(http_timeout)
        except (TypeError, ValueError):
            pytest.fail(f"expected ANCHOR_HTTP_TIMEOUT_S as a number of seconds the review can read; "
                        f"got {http_timeout!r}")
        needed_s = http_timeout_s + 1
        stop_timeout = container.get("StopTimeout", ECS_DEFAULT_STOP_TIMEOUT_S)
        assert float(stop_timeout) >= needed_s, (
            f"the worker container {container.get('Name')!r} has StopTimeout {stop_timeout}: ECS sends "
            f"SIGKILL that long after SIGTERM, but with an HTTP timeout of {http_timeout_s:g} s its "
            f"in-flight deliveries need {needed_s:g} s to finish. Every deploy would cut requests "
            f"mid-flight and send them again. Look at {LESSON}, section 'One image, four roles'.")


def test_secrets_reach_the_tasks_from_secrets_manager(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    plain = [f"{task}/{env.get('Name')}" for task, cs in _containers(cfn, template).items()
             for c in cs for env in c.get("Environment") or []
             if any(w in str(env.get("Name", "")).lower() for w in SECRET_WORDS)
             or "resolve:secretsmanager" in str(env.get("Value", ""))]
    assert not plain, (
        f"expected no secret in a container's Environment; {plain} are there, and an Environment "
        "value is printed in plain text by every `describe-task-definitions` and the console. Put "
        "it under `Secrets:` with `ValueFrom:` the secret's ARN, so ECS reads it at start-up. "
        f"Look at {LESSON}, section 'Secrets the tasks never see in plain text'.")
    needed = {"ANCHOR_DATABASE_URL", "ANCHOR_REDIS_URL", "ANCHOR_JWT_SECRET"}
    for task, cs in _containers(cfn, template).items():
        for container in cs:
            if not any(cmd in _command(container) for cmd in ROLES.values()):
                continue
            given = {str(s.get("Name")) for s in container.get("Secrets") or []}
            assert needed <= given, (
                f"expected {task} to get {sorted(needed)} through `Secrets:`; it gets {sorted(given)}")
    for name, db in cfn.resources(template, "AWS::RDS::DBInstance").items():
        password = _props(db).get("MasterUserPassword")
        assert password is None or "resolve:secretsmanager" in str(password), (
            f"expected {name}'s MasterUserPassword from Secrets Manager; got {password!r}")


def test_the_model_bucket_is_private_versioned_and_encrypted(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    buckets = cfn.resources(template, "AWS::S3::Bucket")
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for name, bucket in buckets.items():
        block = _props(bucket).get("PublicAccessBlockConfiguration") or {}
        open_flags = [f for f in flags if block.get(f) not in (True, "true")]
        assert not open_flags, (
            f"expected bucket {name} to block public access ({', '.join(flags)} all true); "
            f"{open_flags} are not, so a model (and what it learned about your customers' "
            "endpoints) is one bucket policy away from the internet. Look at "
            f"{LESSON}, section 'Versioned artifacts'.")
        assert "Public" not in str(_props(bucket).get("AccessControl", "")), (
            f"expected no public ACL on {name}; got {_props(bucket).get('AccessControl')}")
        assert _props(bucket).get("BucketEncryption"), f"expected {name} encrypted at rest (BucketEncryption)"
    versioned = [name for name, bucket in buckets.items()
                 if (_props(bucket).get("VersioningConfiguration") or {}).get("Status") == "Enabled"]
    assert versioned, (
        f"expected the model bucket versioned (VersioningConfiguration: {{Status: Enabled}}); none of "
        f"{sorted(buckets)} is. Each training run overwrites the `latest` pointer; versioning keeps "
        f"the one before it for a rollback. Look at {LESSON}, section 'Versioned artifacts'.")


def test_the_api_sits_behind_https_and_is_checked_for_readiness(cfn: Any,
                                                                template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    listeners = [_props(r) for r in cfn.resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()]
    assert any(x.get("Protocol") == "HTTPS" and x.get("Port") in (443, "443") and x.get("Certificates")
               for x in listeners), (
        f"expected an HTTPS listener on 443 with a certificate; got {listeners}. Look at {LESSON}, "
        "section 'The anchor on AWS'.")
    paths = {_props(t).get("HealthCheckPath") for t in
             cfn.resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()}
    assert "/readyz" in paths, (
        f"expected the API's target group to check /readyz; got {paths}. /healthz says the process "
        "lives; only /readyz says it can reach PostgreSQL and Redis, which is when it may take traffic.")
    fronted = [name for name, s in cfn.resources(template, "AWS::ECS::Service").items()
               if _props(s).get("LoadBalancers")]
    assert len(fronted) == 1, (
        f"expected exactly one service (the API) behind the load balancer; got {fronted}. The "
        "relay, workers and scheduler take no inbound traffic.")
    for name, db in cfn.resources(template, "AWS::RDS::DBInstance").items():
        assert _props(db).get("StorageEncrypted") in (True, "true"), f"expected {name} encrypted"
        assert _props(db).get("PubliclyAccessible") in (False, "false"), (
            f"expected {name} PubliclyAccessible: false")
    for name, cache in cfn.resources(template, "AWS::ElastiCache::ReplicationGroup").items():
        assert _props(cache).get("TransitEncryptionEnabled") in (True, "true"), (
            f"expected {name} TransitEncryptionEnabled: true (rediss://) with an AuthToken")
