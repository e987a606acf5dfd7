"""CloudFormation templates checked without an AWS account: a moto server, cfn-lint and checkov.

Week 12 checks its stack and week 15 the anchor's deployment the same way, so the rig lives here
once; each week's conftest describes its templates with a :class:`Deployment` and exposes the
pieces as fixtures. moto in *server* mode is a separate process speaking the AWS wire protocols
over HTTP: boto3 signs and sends real requests, only the endpoint URL differs from AWS.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from course.processes import start_process
from course.tools import ToolUnavailable, tool

REGION = "us-east-1"
# checkov offline (--skip-download) reports no severities: the course treats every failed check
# as a finding to fix, and never lets one of these be skipped — the ones that expose data or
# hosts to the internet, or leave data unencrypted.
HIGH_CHECKS = frozenset({
    "CKV_AWS_2", "CKV_AWS_8", "CKV_AWS_16", "CKV_AWS_17", "CKV_AWS_19", "CKV_AWS_20",
    "CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_29", "CKV_AWS_30", "CKV_AWS_31", "CKV_AWS_53",
    "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_57", "CKV_AWS_79", "CKV_AWS_260",
    "CKV_AWS_277",
})
# Types moto 5.2's CloudFormation accepts but does not really create, found by week 12's test:
# the stack reports them, their own API cannot find them. Checked by cfn-lint and checkov only.
MOTO_GAPS = {
    "AWS::KMS::Key": "created by the stack, but kms:DescribeKey cannot find it",
    "AWS::RDS::DBSubnetGroup": "left out of the stack's resources when a DB instance uses it",
}


# --------------------------------------------------------------------------- moto


@contextmanager
def moto_server() -> Iterator[str]:
    """One moto server on loopback for the run; its URL."""
    server = Path(sys.executable).parent / "moto_server"
    process = start_process([str(server), "-H", "127.0.0.1", "-p", "{port}"], timeout=60)
    try:
        yield process.url
    finally:
        process.stop()


def client(moto_url: str, service: str) -> Any:
    """A boto3 client for ``service`` on the moto server at ``moto_url``."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(service, endpoint_url=moto_url, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1}))


# --------------------------------------------------------------------------- reading templates


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


def for_moto(template: dict[str, Any], skipped: set[str]) -> dict[str, Any]:
    """A copy for moto: resources it cannot create, and references to them, become placeholders.

    Real CloudFormation creates them; moto would reject the whole stack on the first
    ``!GetAtt`` of a resource it skipped. The tests say which ones (see ``skipped``).
    """

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


# --------------------------------------------------------------------------- one week's templates


@dataclass
class Deployment:
    """One week's templates: where they are, how messages name them, where the lesson explains them.

    ``folder`` is called, not stored, because the code under test (``labs/``, ``solutions/`` or
    the proof's composite) is only known once the week's tests run. ``lesson(name)`` is the
    pointer a failure prints: ``"weeks/NN-topic/README.md, section 'Heading'"``.
    """

    folder: Callable[[], Path]
    shown: str
    templates: tuple[str, ...]
    lesson: Callable[[str], str]
    _jobs: dict[str, Any] = field(default_factory=dict)

    def start(self, name: str) -> Any:
        """Start background job ``name`` once: "moto-types", "cfn-lint" or "checkov".

        Each costs seconds of CPU at start-up; run side by side, they overlap the other tests.
        A checkov that cannot be installed is stored as its ``ToolUnavailable``.
        """
        if name in self._jobs:
            return self._jobs[name]
        files = [str(self.folder() / template) for template in self.templates]
        pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        if name == "moto-types":  # importing every moto model takes seconds: in a process of its own
            self._jobs[name] = subprocess.Popen(
                [sys.executable, "-c", "import json; from moto.cloudformation.parsing import "
                 "get_model_map; print(json.dumps(sorted(get_model_map())))"], **pipes)
        elif name == "cfn-lint":
            self._jobs[name] = subprocess.Popen(
                [str(Path(sys.executable).parent / "cfn-lint"), "-f", "json", *files], **pipes)
        else:
            try:
                self._jobs[name] = subprocess.Popen(
                    [str(tool("checkov")), "--skip-download", "--quiet", "--compact", "-o", "json",
                     "--framework", "cloudformation", "secrets",
                     *[arg for f in files for arg in ("-f", f)]], **pipes)
            except ToolUnavailable as error:
                self._jobs[name] = error
        return self._jobs[name]

    def start_for(self, items: list[pytest.Item]) -> None:
        """Start the slow tools as soon as a collected test needs them; run the scanners' tests last."""
        uses = {name for item in items for name in getattr(item, "fixturenames", ())}
        if "scans" in uses:
            for name in ("cfn-lint", "checkov"):
                self.start(name)
        if "aws" in uses and "cfn" in uses:
            self.start("moto-types")
        needing = [item for item in items if "scans" in getattr(item, "fixturenames", ())]
        items[:] = [item for item in items if item not in needing] + needing

    def stop(self) -> None:
        """Leave no tool running behind a run that did not need its answer."""
        for job in self._jobs.values():
            if hasattr(job, "poll") and job.poll() is None:
                job.kill()
                job.communicate()
        self._jobs.clear()

    def scans(self) -> dict[str, Any]:
        """cfn-lint's and checkov's findings over the templates (started by :meth:`start`)."""
        lint_out, lint_err = self.start("cfn-lint").communicate(timeout=300)
        try:
            result: dict[str, Any] = {"cfn-lint": json.loads(lint_out or "[]"), "cfn-lint-error": ""}
        except json.JSONDecodeError:
            result = {"cfn-lint": [], "cfn-lint-error": (lint_out + lint_err)[-2000:]}
        checkov = self.start("checkov")
        if not hasattr(checkov, "communicate"):
            result["checkov"] = str(checkov)
            return result
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
        return result

    def load(self, name: str) -> dict[str, Any]:
        """The template as data, short-form intrinsics (!Ref, !Sub, !GetAtt) decoded as cfn-lint does."""
        from cfnlint.decode import decode  # type: ignore[import-untyped]

        template, problems = decode(str(self.folder() / name))
        if template is None:
            pytest.fail(f"expected {self.shown}/{name} to parse as a CloudFormation template; got "
                        f"{[str(p) for p in problems or []][:3]}", pytrace=False)
        return dict(template)

    def require_types(self, template: dict[str, Any], name: str, kinds: dict[str, str]) -> None:
        """Fail, naming what is missing, unless the template declares each resource type."""
        declared = {r.get("Type") for r in (template.get("Resources") or {}).values() if isinstance(r, dict)}
        missing = [f"{kind} ({why})" for kind, why in kinds.items()
                   if not any(kind == d or (kind.endswith("*") and str(d).startswith(kind[:-1]))
                              for d in declared)]
        if missing:
            pytest.fail(f"expected {self.shown}/{name} to declare the whole deployment; missing: "
                        + "; ".join(missing) + f". Look at {self.lesson(name)}.", pytrace=False)

    @functools.cached_property
    def moto_creatable_types(self) -> frozenset[str]:
        """The resource types moto's CloudFormation can create; it silently skips every other one."""
        out, err = self.start("moto-types").communicate(timeout=300)
        if not out.strip():
            pytest.fail(f"could not list moto's CloudFormation types: {err[-1000:]}", pytrace=False)
        return frozenset(json.loads(out))

    def create_on_moto(self, aws: Callable[[str], Any], name: str, template: dict[str, Any],
                       parameters: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Create the stack on moto; return its resources by logical id and the ones moto skipped."""
        creatable = self.moto_creatable_types
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
            pytest.fail(f"expected moto's CloudFormation to create {self.shown}/{name}; got: {error}",
                        pytrace=False)
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", f"expected CREATE_COMPLETE; got {status}"
        created = {r["LogicalResourceId"]: r for r in
                   cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
        return created, skipped

    def helpers(self) -> SimpleNamespace:
        """What the ``cfn`` fixture hands the week's tests (a conftest is not importable by name)."""
        return SimpleNamespace(load=self.load, resources=resources, ref_name=ref_name,
                               public_subnets=public_subnets, require_types=self.require_types,
                               create_on_moto=self.create_on_moto, exists=exists_through_its_api,
                               high_checks=HIGH_CHECKS, deploy_dir=self.folder, moto_gaps=MOTO_GAPS)
