"""Week 15's shared rig: one real ``moto_server`` on loopback, and the template scanners.

The anchor's deployment is checked as week 12 checked its stack: moto in *server* mode speaks the
AWS wire protocols over HTTP, so boto3 signs and sends real requests and only the endpoint URL
differs from AWS; ``cfn-lint`` and ``checkov`` run once, in the background, while the other tests
go on. The ML add-on's tests use the same moto server as the artifact store.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from course.anchor import package_root
from course.processes import start_process

REGION = "us-east-1"

# The anchor is imported top-level, ``anchor``, from the folder under test (labs/, solutions/ or
# the proof's composite), exactly as its roles import it.
if str(package_root()) not in sys.path:
    sys.path.insert(0, str(package_root()))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of one moto server for the week's tests (each lab uses its own names in it)."""
    server = Path(sys.executable).parent / "moto_server"
    process = start_process([str(server), "-H", "127.0.0.1", "-p", "{port}"], timeout=60)
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="session")
def aws(moto_url: str) -> Callable[[str], Any]:
    """Factory: ``aws("s3")`` → a boto3 client for that service on the moto server."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

    return client


# --------------------------------------------------------------------------- templates

LAB_DEPLOY = "labs/anchor/deploy"
TEMPLATES = ("stack.yaml",)
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
    """``deploy/`` of the anchor under test (``labs/``, ``solutions/`` or the proof's composite)."""
    from course.anchor import package_root

    return package_root() / "anchor" / "deploy"


_jobs: dict[str, Any] = {}


def _start(name: str) -> Any:
    """Start background job ``name`` once: "moto-types", "cfn-lint" or "checkov".

    Each costs seconds of CPU at start-up; run side by side, they overlap the other labs' tests.
    A checkov that cannot be installed is stored as its ``ToolUnavailable``.
    """
    import subprocess

    from course.tools import ToolUnavailable, tool

    if name in _jobs:
        return _jobs[name]
    files = [str(deploy_dir() / template) for template in TEMPLATES]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    if name == "moto-types":  # importing every moto model takes seconds: in a process of its own
        _jobs[name] = subprocess.Popen(
            [sys.executable, "-c", "import json; from moto.cloudformation.parsing import "
             "get_model_map; print(json.dumps(sorted(get_model_map())))"], **pipes)
    elif name == "cfn-lint":
        _jobs[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "cfn-lint"), "-f", "json", *files], **pipes)
    else:
        try:
            _jobs[name] = subprocess.Popen(
                [str(tool("checkov")), "--skip-download", "--quiet", "--compact", "-o", "json",
                 "--framework", "cloudformation", "secrets",
                 *[arg for f in files for arg in ("-f", f)]], **pipes)
        except ToolUnavailable as error:
            _jobs[name] = error
    return _jobs[name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the slow tools as soon as a test needs them, and run the scanners' tests last."""
    uses = {name for item in items for name in getattr(item, "fixturenames", ())}
    if "scans" in uses:
        for name in ("cfn-lint", "checkov"):
            _start(name)
    if "aws" in uses and "cfn" in uses:
        _start("moto-types")
    needing = [item for item in items if "scans" in getattr(item, "fixturenames", ())]
    items[:] = [item for item in items if item not in needing] + needing


def pytest_sessionfinish() -> None:
    """Leave no tool running behind a run that did not need its answer."""
    for job in _jobs.values():
        if hasattr(job, "poll") and job.poll() is None:
            job.kill()
            job.communicate()
    _jobs.clear()


@pytest.fixture(scope="session")
def scans() -> Iterator[dict[str, Any]]:
    """cfn-lint's and checkov's findings over both templates (started by :func:`_start`)."""
    import json

    lint_out, lint_err = _start("cfn-lint").communicate(timeout=300)
    try:
        result: dict[str, Any] = {"cfn-lint": json.loads(lint_out or "[]"), "cfn-lint-error": ""}
    except json.JSONDecodeError:
        result = {"cfn-lint": [], "cfn-lint-error": (lint_out + lint_err)[-2000:]}
    checkov = _start("checkov")
    if not hasattr(checkov, "communicate"):
        result["checkov"] = str(checkov)
    else:
        out, err = checkov.communicate(timeout=600)
        reports = json.loads(out) if out.strip().startswith(("[", "{")) else []
        reports = reports if isinstance(reports, list) else [reports]
        failed: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for report in reports:
            results = report.get("results", {}) if isinstance(report, dict) else {}
            failed += results.get("failed_checks", [])
            skipped += results.get("skipped_checks", [])
        result["checkov"] = {"failed": failed, "skipped": skipped, "stderr": err[-2000:]}
    yield result


def load_template(name: str) -> dict[str, Any]:
    """The template as data, short-form intrinsics (!Ref, !Sub, !GetAtt) decoded as cfn-lint does."""
    from cfnlint.decode import decode

    path = deploy_dir() / name
    template, problems = decode(str(path))
    if template is None:
        pytest.fail(f"expected {LAB_DEPLOY}/{name} to parse as a CloudFormation template; got "
                    f"{[str(p) for p in problems or []][:3]}", pytrace=False)
    return dict(template)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource, for every resource of ``kind`` (e.g. ``AWS::S3::Bucket``)."""
    return {name: r for name, r in (template.get("Resources") or {}).items()
            if isinstance(r, dict) and r.get("Type") == kind}


def ref_name(value: Any) -> str | None:
    """The logical id behind ``!Ref X`` or ``!GetAtt X.GroupId``; None for anything else."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    return None


def public_subnets(template: dict[str, Any]) -> set[str]:
    """Subnets whose route table sends 0.0.0.0/0 to an internet gateway — the definition of public."""
    gateways = set(resources(template, "AWS::EC2::InternetGateway"))
    open_tables = {ref_name(r["Properties"].get("RouteTableId"))
                   for r in resources(template, "AWS::EC2::Route").values()
                   if r.get("Properties", {}).get("DestinationCidrBlock") == "0.0.0.0/0"
                   and ref_name(r["Properties"].get("GatewayId")) in gateways}
    return {str(ref_name(a["Properties"].get("SubnetId")))
            for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
            if ref_name(a.get("Properties", {}).get("RouteTableId")) in open_tables}


def require_types(template: dict[str, Any], name: str, kinds: dict[str, str]) -> None:
    """Fail, naming what is missing, unless the template declares each resource type."""
    declared = {r.get("Type") for r in (template.get("Resources") or {}).values() if isinstance(r, dict)}
    missing = [f"{kind} ({why})" for kind, why in kinds.items()
               if not any(kind == d or (kind.endswith("*") and str(d).startswith(kind[:-1]))
                          for d in declared)]
    if missing:
        pytest.fail(f"expected {LAB_DEPLOY}/{name} to declare the whole deployment; missing: "
                    + "; ".join(missing) + ". Look at weeks/15-anchor-ship/README.md, section "
                    "'The anchor on AWS'.", pytrace=False)


# Types moto 5.2's CloudFormation accepts but does not really create, found by week 12's test:
# the stack reports them, their own API cannot find them. Checked by cfn-lint and checkov only.
MOTO_GAPS = {
    "AWS::KMS::Key": "created by the stack, but kms:DescribeKey cannot find it",
    "AWS::RDS::DBSubnetGroup": "left out of the stack's resources when a DB instance uses it",
}


@functools.cache
def moto_creatable_types() -> frozenset[str]:
    """The resource types moto's CloudFormation can create; it silently skips every other one."""
    import json

    out, err = _start("moto-types").communicate(timeout=300)
    if not out.strip():
        pytest.fail(f"could not list moto's CloudFormation types: {err[-1000:]}", pytrace=False)
    return frozenset(json.loads(out))


def for_moto(template: dict[str, Any], skipped: set[str]) -> dict[str, Any]:
    """A copy for moto: resources it cannot create, and references to them, become placeholders.

    Real CloudFormation creates them; moto would reject the whole stack on the first
    ``!GetAtt`` of a resource it skipped. The tests say which ones (see ``skipped``).
    """
    import copy
    import re

    def placeholder(name: str) -> str:
        return f"moto-cannot-create-{name}"

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if ref_name(value) in skipped:
                return placeholder(str(ref_name(value)))
            if "Fn::Sub" in value:
                body = value["Fn::Sub"]
                text = body[0] if isinstance(body, list) else body
                text = re.sub(r"\$\{(\w+)(\.[\w.]+)?\}",
                              lambda m: placeholder(m[1]) if m[1] in skipped else m[0], str(text))
                return {"Fn::Sub": [text, walk(body[1])] if isinstance(body, list) else text}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = copy.deepcopy({k: v for k, v in template.items() if k != "Resources"})
    out["Resources"] = {}
    for name, resource in template["Resources"].items():
        if name in skipped:
            continue
        resource = walk(dict(resource))
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in skipped]
            resource["DependsOn"] = kept
            if not kept:
                del resource["DependsOn"]
        out["Resources"][name] = resource
    return out


def exists_through_its_api(aws: Callable[[str], Any], kind: str, physical_id: str) -> bool | None:
    """Ask the resource's own API whether it exists; None for a type with no check here."""
    ec2, elb = aws("ec2"), aws("elbv2")
    checks: dict[str, Callable[[], Any]] = {
        "AWS::EC2::VPC": lambda: ec2.describe_vpcs(VpcIds=[physical_id])["Vpcs"],
        "AWS::EC2::Subnet": lambda: ec2.describe_subnets(SubnetIds=[physical_id])["Subnets"],
        "AWS::EC2::InternetGateway": lambda: ec2.describe_internet_gateways(
            InternetGatewayIds=[physical_id])["InternetGateways"],
        "AWS::EC2::RouteTable": lambda: ec2.describe_route_tables(
            RouteTableIds=[physical_id])["RouteTables"],
        "AWS::EC2::NatGateway": lambda: ec2.describe_nat_gateways(
            NatGatewayIds=[physical_id])["NatGateways"],
        "AWS::EC2::SecurityGroup": lambda: ec2.describe_security_groups(
            GroupIds=[physical_id])["SecurityGroups"],
        "AWS::EC2::Instance": lambda: ec2.describe_instances(
            InstanceIds=[physical_id])["Reservations"],
        "AWS::EC2::EIP": lambda: ec2.describe_addresses(
            Filters=[{"Name": "public-ip", "Values": [physical_id]}])["Addresses"]
        or ec2.describe_addresses(AllocationIds=[physical_id])["Addresses"],
        "AWS::EC2::FlowLog": lambda: ec2.describe_flow_logs(FlowLogIds=[physical_id])["FlowLogs"],
        "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: elb.describe_load_balancers(
            LoadBalancerArns=[physical_id])["LoadBalancers"],
        "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: elb.describe_target_groups(
            TargetGroupArns=[physical_id])["TargetGroups"],
        "AWS::ElasticLoadBalancingV2::Listener": lambda: elb.describe_listeners(
            ListenerArns=[physical_id])["Listeners"],
        "AWS::ECS::Cluster": lambda: [c for c in aws("ecs").describe_clusters(
            clusters=[physical_id])["clusters"] if c.get("status") == "ACTIVE"],
        "AWS::ECS::TaskDefinition": lambda: aws("ecs").describe_task_definition(
            taskDefinition=physical_id)["taskDefinition"],
        "AWS::ECS::Service": lambda: [s for c in aws("ecs").list_clusters()["clusterArns"]
                                      for s in aws("ecs").list_services(cluster=c)["serviceArns"]
                                      if s == physical_id or s.endswith("/" + physical_id)],
        "AWS::RDS::DBInstance": lambda: aws("rds").describe_db_instances(
            DBInstanceIdentifier=physical_id)["DBInstances"],
        "AWS::RDS::DBSubnetGroup": lambda: aws("rds").describe_db_subnet_groups(
            DBSubnetGroupName=physical_id)["DBSubnetGroups"],
        "AWS::S3::Bucket": lambda: aws("s3").head_bucket(Bucket=physical_id),
        "AWS::IAM::Role": lambda: aws("iam").get_role(RoleName=physical_id)["Role"],
        "AWS::IAM::InstanceProfile": lambda: aws("iam").get_instance_profile(
            InstanceProfileName=physical_id)["InstanceProfile"],
        "AWS::Logs::LogGroup": lambda: [g for g in aws("logs").describe_log_groups(
            logGroupNamePrefix=physical_id)["logGroups"] if g["logGroupName"] == physical_id],
        "AWS::KMS::Key": lambda: aws("kms").describe_key(KeyId=physical_id)["KeyMetadata"],
        "AWS::SecretsManager::Secret": lambda: aws("secretsmanager").describe_secret(
            SecretId=physical_id)["ARN"],
        "AWS::ElastiCache::ReplicationGroup": lambda: aws("elasticache").describe_replication_groups(
            ReplicationGroupId=physical_id)["ReplicationGroups"],
        "AWS::ElastiCache::CacheCluster": lambda: aws("elasticache").describe_cache_clusters(
            CacheClusterId=physical_id)["CacheClusters"],
        "AWS::Events::Rule": lambda: aws("events").describe_rule(Name=physical_id.split("|")[-1])["Arn"],
    }
    if kind not in checks or kind in MOTO_GAPS:
        return None
    try:
        return bool(checks[kind]())
    except Exception:
        return False


def create_on_moto(aws: Callable[[str], Any], name: str, template: dict[str, Any],
                   parameters: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Create the stack on moto; return its resources by logical id and the ones moto skipped."""
    import json

    creatable = moto_creatable_types()
    skipped = {logical: r["Type"] for logical, r in template["Resources"].items()
               if r.get("Type") not in creatable}
    cloudformation = aws("cloudformation")
    stack = name.replace(".yaml", "").replace("_", "-")
    try:
        cloudformation.create_stack(
            StackName=stack, TemplateBody=json.dumps(for_moto(template, set(skipped))),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    except Exception as error:
        pytest.fail(f"expected moto's CloudFormation to create {LAB_DEPLOY}/{name}; got: {error}",
                    pytrace=False)
    status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", f"expected CREATE_COMPLETE; got {status}"
    created = {r["LogicalResourceId"]: r for r in
               cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    return created, skipped


@pytest.fixture(scope="session")
def cfn() -> Any:
    """The template helpers above, for the test modules (conftest is not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(load=load_template, resources=resources, ref_name=ref_name,
                           public_subnets=public_subnets, require_types=require_types,
                           create_on_moto=create_on_moto, exists=exists_through_its_api,
                           high_checks=HIGH_CHECKS, deploy_dir=deploy_dir, moto_gaps=MOTO_GAPS)
