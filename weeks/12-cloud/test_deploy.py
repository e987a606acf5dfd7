"""Lab cloud/deploy: the week-02 service's AWS stack, validated offline three ways.

``cfn-lint`` checks the template against the CloudFormation specification; ``checkov`` checks it
against security policy; moto's CloudFormation creates it, and each resource is then looked up
through its own API — moto silently skips the types it cannot create, so "the stack is
CREATE_COMPLETE" alone proves little. The structural tests read the template as data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

LESSON = "weeks/12-cloud/README.md"
NAME = "stack.yaml"
WHOLE_STACK = {
    "AWS::EC2::VPC": "the network", "AWS::EC2::NatGateway": "egress for private subnets",
    "AWS::EC2::SecurityGroup": "firewalls", "AWS::ElasticLoadBalancingV2::LoadBalancer": "the entry",
    "AWS::ElasticLoadBalancingV2::Listener": "HTTPS on 443", "AWS::ECS::Service": "the API tasks",
    "AWS::ECS::TaskDefinition": "the container", "AWS::RDS::DBInstance": "PostgreSQL",
    "AWS::ElastiCache::*": "Redis", "AWS::SecretsManager::Secret": "secrets",
    "AWS::S3::Bucket": "uploads",
}
WORLD = {"0.0.0.0/0", "::/0"}


@pytest.fixture(scope="module")
def template(cfn: Any) -> dict[str, Any]:
    return cfn.load(NAME)


@pytest.fixture(scope="module")
def stack(cfn: Any, template: dict[str, Any], aws: Callable[[str], Any]) -> Any:
    cfn.require_types(template, NAME, WHOLE_STACK)
    certificate = aws("acm").request_certificate(DomainName="api.example.com")["CertificateArn"]
    return cfn.create_on_moto(aws, NAME, template, {"ImageUri": "example/api:1",
                                                    "CertificateArn": certificate})


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def test_cfn_lint_passes(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    assert not scans["cfn-lint-error"], f"cfn-lint did not run: {scans['cfn-lint-error']}"
    found = [f"{m['Rule']['Id']} line {m['Location']['Start']['LineNumber']}: {m['Message']}"
             for m in scans["cfn-lint"] if m["Filename"].endswith(NAME)]
    assert not found, (f"expected `cfn-lint {NAME}` to find nothing; got:\n  " + "\n  ".join(found[:10])
                       + f"\nLook at {LESSON}, section 'Validate it offline'.")


def test_checkov_finds_nothing_high(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    if isinstance(scans["checkov"], str):
        pytest.skip(f"checkov could not be installed here: {scans['checkov']}")
    ours = [c for c in scans["checkov"]["failed"] if c.get("file_path", "").endswith(NAME)]
    found = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in ours]
    assert not found, (f"expected checkov to pass every check on {NAME}; got {len(found)}:\n  "
                       + "\n  ".join(found[:15]) + f"\nLook at {LESSON}, section 'Harden it'.")
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


def test_database_and_cache_live_in_private_subnets(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    public = cfn.public_subnets(template)
    groups = {**cfn.resources(template, "AWS::RDS::DBSubnetGroup"),
              **cfn.resources(template, "AWS::ElastiCache::SubnetGroup")}
    exposed = {name: [cfn.ref_name(s) for s in _props(g).get("SubnetIds", [])
                      if cfn.ref_name(s) in public] for name, g in groups.items()}
    exposed = {k: v for k, v in exposed.items() if v}
    assert groups and not exposed, (
        f"expected the database's and the cache's subnet groups to use only private subnets (no "
        f"route to the internet gateway); {exposed or 'no subnet groups'} are public. Look at "
        f"{LESSON}, section 'The network'.")
    for name, db in cfn.resources(template, "AWS::RDS::DBInstance").items():
        assert _props(db).get("PubliclyAccessible") in (False, "false"), (
            f"expected {name} PubliclyAccessible: false")
    for name, service in cfn.resources(template, "AWS::ECS::Service").items():
        vpc = _props(service).get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        assert vpc.get("AssignPublicIp", "DISABLED") == "DISABLED", (
            f"expected {name}'s tasks without public addresses (AssignPublicIp: DISABLED)")
        in_public = [cfn.ref_name(s) for s in vpc.get("Subnets", []) if cfn.ref_name(s) in public]
        assert not in_public, f"expected {name}'s tasks in private subnets; {in_public} are public"


def test_only_the_load_balancer_is_open_to_the_world(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    rules = [(name, rule) for name, group in cfn.resources(template, "AWS::EC2::SecurityGroup").items()
             for rule in _props(group).get("SecurityGroupIngress", [])]
    rules += [(name, _props(r)) for name, r in
              cfn.resources(template, "AWS::EC2::SecurityGroupIngress").items()]
    wide = [f"{name}: {rule.get('FromPort')}-{rule.get('ToPort')}" for name, rule in rules
            if (rule.get("CidrIp") in WORLD or rule.get("CidrIpv6") in WORLD)
            and (rule.get("FromPort"), rule.get("ToPort")) != (443, 443)]
    assert not wide, (
        f"expected only HTTPS (443) open to 0.0.0.0/0; these rules open more: {wide}. The "
        "database and cache take traffic from the API's security group, nothing else. Look at "
        f"{LESSON}, section 'The network'.")


def test_buckets_are_private_and_encrypted(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    for name, bucket in cfn.resources(template, "AWS::S3::Bucket").items():
        block = _props(bucket).get("PublicAccessBlockConfiguration", {})
        flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        open_flags = [f for f in flags if block.get(f) not in (True, "true")]
        assert not open_flags, (
            f"expected bucket {name} to block public access ({', '.join(flags)} all true); "
            f"{open_flags} are not. Downloads go through presigned URLs, never a public bucket. "
            f"Look at {LESSON}, section 'Harden it'.")
        assert "PublicRead" not in str(_props(bucket).get("AccessControl", "")), (
            f"expected no public ACL on {name}")
        assert _props(bucket).get("BucketEncryption"), f"expected {name} encrypted at rest"


def test_no_secret_is_written_in_the_template(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    defaults = [name for name, p in (template.get("Parameters") or {}).items()
                if "Default" in p and any(w in name.lower() for w in ("password", "secret", "token", "key"))]
    assert not defaults, (
        f"expected no secret-looking parameter with a Default; {defaults} have one, so the value "
        "is in git and in every `describe-stacks`. Generate it in Secrets Manager and reference "
        f"it with {{{{resolve:secretsmanager:…}}}}. Look at {LESSON}, section 'Harden it'.")
    for name, db in cfn.resources(template, "AWS::RDS::DBInstance").items():
        password = _props(db).get("MasterUserPassword")
        assert password is None or "resolve:secretsmanager" in str(password), (
            f"expected {name}'s MasterUserPassword from Secrets Manager (a dynamic reference) or "
            f"ManageMasterUserPassword; got {password!r}")


def test_traffic_is_encrypted_and_health_checked(cfn: Any, template: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_STACK)
    listeners = [_props(r) for r in cfn.resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()]
    assert any(x.get("Protocol") == "HTTPS" and x.get("Port") in (443, "443") for x in listeners), (
        "expected an HTTPS listener on 443 (with an ACM certificate)")
    for name, db in cfn.resources(template, "AWS::RDS::DBInstance").items():
        assert _props(db).get("StorageEncrypted") in (True, "true"), f"expected {name} encrypted"
    paths = {_props(t).get("HealthCheckPath") for t in
             cfn.resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()}
    assert paths and paths <= {"/readyz", "/healthz"}, (
        f"expected the target group to check /readyz (or /healthz); got {paths}")
