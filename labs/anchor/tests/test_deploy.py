"""The anchor's AWS stack (``deploy/stack.yaml``) and its CI workflow (``deploy/ci.yml``), offline.

Four independent checks, because each catches what the others cannot:

- the template read as data: the shape a reviewer insists on (every role a service of the one
  image, private data stores, secrets never in the template, least-privilege roles);
- ``cfn-lint`` against the CloudFormation specification and ``checkov`` against security policy;
- moto creates the stack, and every resource is looked up through its own API. moto's
  CloudFormation skips some types (Secrets Manager secrets, ElastiCache, bucket policies); those
  are created here through their own APIs from the template's properties, so a dynamic reference
  to a secret that does not exist, or a Redis without its token, fails here and not in production;
- ``actionlint`` over the workflow, and the workflow read as data.

No AWS account, no network: moto runs in this process (``moto.mock_aws``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anchor
import pytest

DEPLOY = Path(anchor.__file__).resolve().parent / "deploy"
STACK = DEPLOY / "stack.yaml"
WORKFLOW = DEPLOY / "ci.yml"
LESSON = "weeks/15-anchor-ship/README.md, section 'Deploying the anchor'"
REGION = "us-east-1"
ROLES = {"api": "anchor.api", "relay": "anchor.workers.relay", "worker": "anchor.workers.worker",
         "scheduler": "anchor.workers.scheduler"}
WORLD = {"0.0.0.0/0", "::/0"}


# --------------------------------------------------------------------------- the template as data

def _load() -> dict[str, Any]:
    decode = pytest.importorskip("cfnlint.decode", reason="cfn-lint reads the template").decode
    template, problems = decode(str(STACK))
    if template is None:
        pytest.fail(f"expected {STACK.name} to parse as CloudFormation; got "
                    f"{[str(p) for p in problems or []][:3]}", pytrace=False)
    return dict(template)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def _ref(value: Any) -> str | None:
    """The logical id behind ``!Ref X`` or ``!GetAtt X.Attr``; None for anything else."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    return None


def _container(template: dict[str, Any], task: str) -> dict[str, Any]:
    return dict(_props(template["Resources"][task])["ContainerDefinitions"][0])


def _task_of_role(template: dict[str, Any], role: str) -> str:
    """The task definition whose container runs ``python -m <module of role>``."""
    for name in _of_type(template, "AWS::ECS::TaskDefinition"):
        container = _container(template, name)
        command = [*container.get("EntryPoint", []), *container.get("Command", [])]
        if ROLES.get(role, role) in command:
            return name
    pytest.fail(f"expected a task definition whose container runs `python -m {ROLES.get(role, role)}`"
                f" (EntryPoint [python, -m], Command [{ROLES.get(role, role)}]); found none. "
                f"Look at {LESSON}.", pytrace=False)


def _public_subnets(template: dict[str, Any]) -> set[str]:
    """Subnets whose route table sends 0.0.0.0/0 to an internet gateway."""
    gateways = set(_of_type(template, "AWS::EC2::InternetGateway"))
    open_tables = {_ref(_props(r).get("RouteTableId")) for r in _of_type(template, "AWS::EC2::Route").values()
                   if _props(r).get("DestinationCidrBlock") == "0.0.0.0/0"
                   and _ref(_props(r).get("GatewayId")) in gateways}
    return {str(_ref(_props(a).get("SubnetId")))
            for a in _of_type(template, "AWS::EC2::SubnetRouteTableAssociation").values()
            if _ref(_props(a).get("RouteTableId")) in open_tables}


def test_every_role_runs_the_one_image_as_a_service(template: dict[str, Any]) -> None:
    params = template.get("Parameters", {})
    for name in ("ImageUri", "CertificateArn", "ApiDesiredCount", "RelayDesiredCount",
                 "WorkerDesiredCount", "SchedulerDesiredCount"):
        assert name in params, f"expected a parameter {name}; the stack has {sorted(params)}"
    services = {_ref(_props(s)["TaskDefinition"]): s
                for s in _of_type(template, "AWS::ECS::Service").values()}
    for role in ROLES:
        task = _task_of_role(template, role)
        assert _ref(_container(template, task)["Image"]) == "ImageUri", (
            f"expected the {role} container to run !Ref ImageUri — one image, a role argument")
        assert task in services, f"expected an ECS service running {task} (the {role} role)"
        count = _ref(_props(services[task])["DesiredCount"])
        assert count == f"{role.capitalize()}DesiredCount", (
            f"expected the {role} service's DesiredCount from {role.capitalize()}DesiredCount; got {count}")
    migrate = _container(template, _task_of_role(template, "anchor.migrations"))
    assert migrate.get("Command", [])[-1:] == ["upgrade"], "expected the migration task to run `upgrade`"
    assert not [s for s in services.values() if _ref(_props(s)["TaskDefinition"]) ==
                _task_of_role(template, "anchor.migrations")], (
        "expected the migration to be a one-shot task, not a service that ECS restarts forever")
    outputs = template.get("Outputs", {})
    assert "PublicUrl" in outputs and "https://" in json.dumps(outputs["PublicUrl"]), (
        "expected an output PublicUrl, https://<the load balancer's name>")


def test_api_sits_behind_https_and_is_checked_on_readyz(template: dict[str, Any]) -> None:
    api_task = _task_of_role(template, "api")
    listeners = [_props(r) for r in _of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()]
    assert any(x.get("Protocol") == "HTTPS" and x.get("Port") in (443, "443")
               and _ref(x["Certificates"][0]["CertificateArn"]) == "CertificateArn" for x in listeners), (
        "expected an HTTPS listener on 443 with !Ref CertificateArn")
    groups = _of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {_props(g).get("HealthCheckPath") for g in groups.values()} == {"/readyz"}, (
        "expected the target group to check /readyz: a task whose PostgreSQL or Redis does not "
        "answer must leave the rotation, and /healthz would keep it in")
    environment = {e["Name"]: e["Value"] for e in _container(template, api_task).get("Environment", [])}
    assert environment.get("ANCHOR_HOST") == "0.0.0.0", (
        "expected the API to listen on 0.0.0.0 in its task (ANCHOR_HOST): `python -m anchor.api` "
        "binds 127.0.0.1 by default, which the load balancer cannot reach, and every health check fails")
    behind = [s for s in _of_type(template, "AWS::ECS::Service").values()
              if _ref(_props(s)["TaskDefinition"]) == api_task and _props(s).get("LoadBalancers")]
    assert behind, "expected the API service registered with the load balancer's target group"
    for role in ("relay", "worker", "scheduler"):
        service = next(s for s in _of_type(template, "AWS::ECS::Service").values()
                       if _ref(_props(s)["TaskDefinition"]) == _task_of_role(template, role))
        assert not _props(service).get("LoadBalancers"), (
            f"expected the {role} service off the load balancer")


def test_data_stores_are_private_encrypted_and_authenticated(template: dict[str, Any]) -> None:
    public = _public_subnets(template)
    groups = {**_of_type(template, "AWS::RDS::DBSubnetGroup"),
              **_of_type(template, "AWS::ElastiCache::SubnetGroup")}
    exposed = {n: [_ref(s) for s in _props(g)["SubnetIds"] if _ref(s) in public] for n, g in groups.items()}
    assert len(groups) == 2 and not any(exposed.values()), (
        f"expected the database's and the cache's subnet groups in private subnets only; got {exposed}")
    (db,) = [_props(d) for d in _of_type(template, "AWS::RDS::DBInstance").values()]
    assert db.get("PubliclyAccessible") in (False, "false") and db.get("StorageEncrypted") in (True, "true")
    assert _ref(db.get("MultiAZ")) == "DatabaseMultiAZ", "expected MultiAZ from a parameter"
    assert template["Parameters"]["DatabaseMultiAZ"].get("Default") == "true", "expected Multi-AZ by default"
    assert "resolve:secretsmanager" in json.dumps(db.get("MasterUserPassword")), (
        "expected the database password as a Secrets Manager dynamic reference")
    (cache,) = [_props(c) for c in _of_type(template, "AWS::ElastiCache::ReplicationGroup").values()]
    encrypted = [cache.get(k) in (True, "true")
                 for k in ("TransitEncryptionEnabled", "AtRestEncryptionEnabled")]
    assert all(encrypted), (
        "expected Redis encrypted in transit and at rest")
    assert "resolve:secretsmanager" in json.dumps(cache.get("AuthToken")), (
        "expected the Redis AUTH token from Secrets Manager")
    for name, resource in {**_of_type(template, "AWS::EC2::SecurityGroup")}.items():
        wide = [r for r in _props(resource).get("SecurityGroupIngress", [])
                if r.get("CidrIp") in WORLD and (r.get("FromPort"), r.get("ToPort")) != (443, 443)]
        assert not wide, f"expected only HTTPS open to the world; {name} opens {wide}"


def test_containers_get_their_secrets_from_secrets_manager(template: dict[str, Any]) -> None:
    secrets = set(_of_type(template, "AWS::SecretsManager::Secret"))
    for role in [*ROLES, "anchor.migrations", "anchor.ml.train"]:
        container = _container(template, _task_of_role(template, role))
        injected = {s["Name"]: _ref(s["ValueFrom"]) for s in container.get("Secrets", [])}
        for name in ("ANCHOR_DATABASE_URL", "ANCHOR_REDIS_URL", "ANCHOR_JWT_SECRET"):
            assert injected.get(name) in secrets, (
                f"expected {role}'s {name} injected from a Secrets Manager secret; got {injected.get(name)}")
        plain = [e["Name"] for e in container.get("Environment", [])
                 if any(w in e["Name"].upper()
                        for w in ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL", "REDIS_URL"))]
        assert not plain, f"expected no secret in {role}'s plain environment; got {plain}"
        assert container.get("ReadonlyRootFilesystem") in (True, "true"), f"expected {role} read-only"
        logs = container.get("LogConfiguration", {})
        assert logs.get("LogDriver") == "awslogs" and _ref(logs["Options"]["awslogs-group"]) in _of_type(
            template, "AWS::Logs::LogGroup"), f"expected {role} to log to a log group of the stack"
    generated = [n for n, s in _of_type(template, "AWS::SecretsManager::Secret").items()
                 if "SecretString" in _props(s)
                 and "resolve:secretsmanager" not in json.dumps(_props(s)["SecretString"])]
    assert not generated, (
        f"expected every secret generated or built from generated ones; {generated} are written out")
    defaults = [n for n, p in template["Parameters"].items()
                if "Default" in p and any(w in n.lower() for w in ("password", "secret", "token"))]
    assert not defaults, f"expected no secret-looking parameter with a Default; got {defaults}"


def test_model_bucket_is_versioned_private_and_encrypted(template: dict[str, Any]) -> None:
    api_task = _task_of_role(template, "api")
    bucket_ref = {e["Name"]: _ref(e["Value"]) for e in _container(template, api_task).get("Environment", [])}
    bucket = bucket_ref.get("ANCHOR_ML_BUCKET")
    assert bucket in _of_type(template, "AWS::S3::Bucket"), (
        f"expected the API's ANCHOR_ML_BUCKET to name a bucket of the stack; got {bucket}")
    props = _props(template["Resources"][bucket])
    assert props.get("VersioningConfiguration", {}).get("Status") == "Enabled", "expected versioning"
    assert props.get("BucketEncryption"), "expected encryption at rest"
    block = props.get("PublicAccessBlockConfiguration", {})
    assert all(block.get(f) in (True, "true") for f in
               ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")), (
        f"expected every public-access block on; got {block}")


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in _props(role).get("Policies", [])
            for s in policy["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def test_roles_hold_only_what_their_code_calls(template: dict[str, Any]) -> None:
    roles = _of_type(template, "AWS::IAM::Role")
    for name, role in roles.items():
        for statement in _statements(role):
            wildcard = [a for a in _actions(statement) if a.endswith(":*") or a == "*"]
            assert not wildcard, f"expected no wildcard action in {name}; got {wildcard}"
            if statement.get("Resource") == "*":
                assert _actions(statement) == ["ecr:GetAuthorizationToken"], (
                    f"expected Resource '*' only for ecr:GetAuthorizationToken; {name} grants "
                    f"{_actions(statement)} on every resource")
        managed = json.dumps(_props(role).get("ManagedPolicyArns", []))
        assert "FullAccess" not in managed and "AdministratorAccess" not in managed, (
            f"expected no broad managed policy on {name}; got {managed}")
    for quiet in ("relay", "scheduler", "anchor.migrations"):
        task = _props(template["Resources"][_task_of_role(template, quiet)])
        assert "TaskRoleArn" not in task, f"expected no task role for {quiet}: its code calls no AWS API"
    serving = {_ref(_props(template["Resources"][_task_of_role(template, r)]).get("TaskRoleArn"))
               for r in ROLES}
    for name in sorted(n for n in serving if n is not None):
        granted = [a for s in _statements(roles[name]) for a in _actions(s)]
        assert "s3:PutObject" not in granted, (
            f"expected the serving roles to read models only; {name} may write them — a compromised "
            "API could replace the model every worker loads")
    train_task = template["Resources"][_task_of_role(template, "anchor.ml.train")]
    trainer = str(_ref(_props(train_task).get("TaskRoleArn")))
    granted = [a for s in _statements(roles[trainer]) for a in _actions(s)] if trainer in roles else []
    assert "s3:PutObject" in granted, (
        "expected the training task's role to publish models (s3:PutObject)")


# --------------------------------------------------------------------------- linters

def _course_tool(name: str) -> Path | None:
    """``course.tools`` installs checkov and actionlint in the course; elsewhere, the PATH's."""
    try:
        from course.tools import ToolUnavailable, tool
    except ImportError:
        found = shutil.which(name)
        return Path(found) if found else None
    try:
        return Path(tool(name))
    except ToolUnavailable:
        return None


@pytest.fixture(scope="module", autouse=True)
def linters() -> Iterator[dict[str, subprocess.Popen[str] | str]]:
    """cfn-lint and checkov, started when the module starts and read by the last tests: each costs
    seconds of CPU, and running beside moto's tests takes them off the module's wall time."""
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    jobs: dict[str, subprocess.Popen[str] | str] = {}
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    jobs["cfn-lint"] = (subprocess.Popen([str(cfn_lint), str(STACK)], **pipes) if cfn_lint.exists()
                        else "cfn-lint is not installed beside this Python (pip install cfn-lint)")
    checkov = _course_tool("checkov")
    scan = [str(checkov), "--skip-download", "--quiet", "--compact", "-o", "json",
            "--framework", "cloudformation", "secrets", "-f", str(STACK)]
    jobs["checkov"] = (subprocess.Popen(scan, **pipes) if checkov
                       else "checkov is not installed here (pipx install checkov)")
    yield jobs
    for job in jobs.values():
        if isinstance(job, subprocess.Popen) and job.poll() is None:
            job.kill()
            job.communicate()


def _finish(linters: dict[str, subprocess.Popen[str] | str], name: str) -> subprocess.CompletedProcess[str]:
    job = linters[name]
    if isinstance(job, str):
        pytest.skip(job)
    out, err = job.communicate(timeout=600)
    return subprocess.CompletedProcess(job.args, job.returncode, out, err)


# --------------------------------------------------------------------------- created on moto

def _walk(value: Any, skipped: set[str]) -> Any:
    """A copy where references to resources moto skips become placeholders, so it accepts the rest."""
    if isinstance(value, dict):
        if _ref(value) in skipped:
            return f"moto-skips-{_ref(value)}"
        if "Fn::Sub" in value:
            body = value["Fn::Sub"]
            text = re.sub(r"\$\{(\w+)(\.[\w.]+)?\}",
                          lambda m: f"moto-skips-{m[1]}" if m[1] in skipped else m[0],
                          str(body[0] if isinstance(body, list) else body))
            return {"Fn::Sub": [text, _walk(body[1], skipped)] if isinstance(body, list) else text}
        return {k: _walk(v, skipped) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, skipped) for v in value]
    return value


class _Unresolved(Exception):
    """A value refers to a resource not created yet; try again after the others."""


class Stack:
    """The stack on moto: what CloudFormation created, plus what this test created by hand."""

    def __init__(self, template: dict[str, Any], client: Callable[[str], Any]) -> None:
        from moto.cloudformation.parsing import get_model_map

        self.template, self.client = template, client
        self.skipped = {n for n, r in template["Resources"].items() if r["Type"] not in get_model_map()}
        self.physical: dict[str, str] = {}
        self.attributes: dict[str, dict[str, str]] = {}

    def create(self) -> None:
        body = {k: v for k, v in self.template.items() if k != "Resources"}
        body["Resources"] = {}
        for name, resource in self.template["Resources"].items():
            if name in self.skipped:
                continue
            resource = _walk(dict(resource), self.skipped)
            if "DependsOn" in resource:
                depends = resource["DependsOn"]
                depends = [depends] if isinstance(depends, str) else depends
                resource["DependsOn"] = [d for d in depends if d not in self.skipped] or None
                if resource["DependsOn"] is None:
                    del resource["DependsOn"]
            body["Resources"][name] = resource
        certificate = self.client("acm").request_certificate(DomainName="hooks.example.com")["CertificateArn"]
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(
            StackName="anchor", TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "ImageUri", "ParameterValue": "123456789012.dkr.ecr.us-east-1"
                         ".amazonaws.com/anchor:0123abc"},
                        {"ParameterKey": "CertificateArn", "ParameterValue": certificate}])
        status = cloudformation.describe_stacks(StackName="anchor")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", f"expected moto to create the stack; got {status}"
        for summary in cloudformation.list_stack_resources(StackName="anchor")["StackResourceSummaries"]:
            self.physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        pending = sorted(self.skipped)
        while pending:
            progress = []
            for name in pending:
                try:
                    self._create_by_hand(name)
                except _Unresolved:
                    continue
                progress.append(name)
            if not progress:
                pytest.fail(f"could not create {pending}: they refer to resources that never appear",
                            pytrace=False)
            pending = [n for n in pending if n not in progress]

    # -- intrinsic functions, against what exists
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return self._dynamic(value) if isinstance(value, str) else value
        if "Ref" in value:
            return self._physical(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            name, attribute = ((target[0], target[1]) if isinstance(target, list)
                               else str(target).split(".", 1))
            return self._attribute(name, attribute)
        if "Fn::Sub" in value:
            body = value["Fn::Sub"]
            text, names = (body[0], self.resolve(body[1])) if isinstance(body, list) else (body, {})

            def one(match: re.Match[str]) -> str:
                key = match[1]
                if key in names:
                    return str(names[key])
                if key.startswith("AWS::"):
                    return {"AWS::Region": REGION, "AWS::AccountId": "123456789012",
                            "AWS::Partition": "aws"}[key]
                if "." in key:
                    return str(self._attribute(*key.split(".", 1)))
                return str(self._physical(key))

            return self._dynamic(re.sub(r"\$\{([\w:.]+)\}", one, text))
        return {k: self.resolve(v) for k, v in value.items()}

    def _physical(self, name: str) -> str:
        if name in self.template.get("Parameters", {}):
            return str(self.template["Parameters"][name].get("Default", ""))
        if name not in self.physical:
            raise _Unresolved(name)
        return self.physical[name]

    def _attribute(self, name: str, attribute: str) -> str:
        if name in self.attributes and attribute in self.attributes[name]:
            return self.attributes[name][attribute]
        kind = self.template["Resources"][name]["Type"]
        physical = self._physical(name)
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::RDS::DBInstance" and attribute == "Endpoint.Address":
            return str(self.client("rds").describe_db_instances(
                DBInstanceIdentifier=physical)["DBInstances"][0]["Endpoint"]["Address"])
        raise _Unresolved(f"{name}.{attribute}")

    def _dynamic(self, text: str) -> str:
        """``{{resolve:secretsmanager:ID[:SecretString:KEY]}}`` read from the secret itself."""
        def one(match: re.Match[str]) -> str:
            secret_id, _, rest = match[1].partition(":SecretString")
            value = self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
            key = rest.lstrip(":").split(":")[0]
            return str(json.loads(value)[key]) if key else str(value)

        pattern = r"\{\{resolve:secretsmanager:(arn:[^}]+?|[^:}]+?(?::SecretString:[^}]*)?)\}\}"
        return re.sub(pattern, one, text)

    def _create_by_hand(self, name: str) -> None:
        resource = self.template["Resources"][name]
        kind, props = resource["Type"], _props(resource)
        if kind == "AWS::SecretsManager::Secret":
            kms = self.resolve(props.get("KmsKeyId"))
            if "SecretString" in props:
                value = str(self.resolve(props["SecretString"]))
            else:
                generate = props["GenerateSecretString"]
                password = self.client("secretsmanager").get_random_password(
                    PasswordLength=generate["PasswordLength"],
                    ExcludePunctuation=generate.get("ExcludePunctuation", False))["RandomPassword"]
                value = password
                if "SecretStringTemplate" in generate:
                    value = json.dumps({**json.loads(generate["SecretStringTemplate"]),
                                        generate["GenerateStringKey"]: password})
            created = self.client("secretsmanager").create_secret(
                Name=f"anchor-{name}", Description=props.get("Description", ""), KmsKeyId=kms,
                SecretString=value)
            self.physical[name] = created["ARN"]
        elif kind == "AWS::ElastiCache::SubnetGroup":
            group = f"anchor-{name}".lower()
            self.client("elasticache").create_cache_subnet_group(
                CacheSubnetGroupName=group, CacheSubnetGroupDescription=props["Description"],
                SubnetIds=self.resolve(props["SubnetIds"]))
            self.physical[name] = group
        elif kind == "AWS::ElastiCache::ReplicationGroup":
            group_id = f"anchor-{name}".lower()
            created = self.client("elasticache").create_replication_group(
                ReplicationGroupId=group_id, **self.resolve(props))["ReplicationGroup"]
            self.physical[name] = group_id
            primary = (created.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint", {})
            address = primary.get("Address", f"{group_id}.cache.local")
            self.attributes[name] = {"PrimaryEndPoint.Address": address}
        elif kind == "AWS::S3::BucketPolicy":
            bucket = self.resolve(props["Bucket"])
            policy = json.dumps(self.resolve(props["PolicyDocument"]))
            self.client("s3").put_bucket_policy(Bucket=bucket, Policy=policy)
            self.physical[name] = bucket
        else:
            pytest.fail(f"moto cannot create {kind} ({name}) and this test has no way to create it "
                        "by hand; add one", pytrace=False)

    def exists(self, name: str) -> bool | None:
        """Ask the resource's own API; None for a type moto keeps no API for."""
        kind, physical = self.template["Resources"][name]["Type"], self.physical.get(name, "")
        ec2, elb, ecs = self.client("ec2"), self.client("elbv2"), self.client("ecs")
        checks: dict[str, Callable[[], Any]] = {
            "AWS::EC2::VPC": lambda: ec2.describe_vpcs(VpcIds=[physical])["Vpcs"],
            "AWS::EC2::Subnet": lambda: ec2.describe_subnets(SubnetIds=[physical])["Subnets"],
            "AWS::EC2::InternetGateway": lambda: ec2.describe_internet_gateways(
                InternetGatewayIds=[physical])["InternetGateways"],
            "AWS::EC2::RouteTable": lambda: ec2.describe_route_tables(
                RouteTableIds=[physical])["RouteTables"],
            "AWS::EC2::NatGateway": lambda: ec2.describe_nat_gateways(
                NatGatewayIds=[physical])["NatGateways"],
            "AWS::EC2::SecurityGroup": lambda: ec2.describe_security_groups(
                GroupIds=[physical])["SecurityGroups"],
            "AWS::EC2::EIP": lambda: ec2.describe_addresses(
                Filters=[{"Name": "public-ip", "Values": [physical]}])["Addresses"]
            or ec2.describe_addresses(AllocationIds=[physical])["Addresses"],
            "AWS::EC2::FlowLog": lambda: ec2.describe_flow_logs(FlowLogIds=[physical])["FlowLogs"],
            "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: elb.describe_load_balancers(
                LoadBalancerArns=[physical])["LoadBalancers"],
            "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: elb.describe_target_groups(
                TargetGroupArns=[physical])["TargetGroups"],
            "AWS::ElasticLoadBalancingV2::Listener": lambda: elb.describe_listeners(
                ListenerArns=[physical])["Listeners"],
            "AWS::ECS::Cluster": lambda: [c for c in ecs.describe_clusters(clusters=[physical])["clusters"]
                                          if c.get("status") == "ACTIVE"],
            "AWS::ECS::TaskDefinition": lambda: ecs.describe_task_definition(taskDefinition=physical),
            "AWS::ECS::Service": lambda: [s for c in ecs.list_clusters()["clusterArns"]
                                          for s in ecs.list_services(cluster=c)["serviceArns"]
                                          if s == physical or s.endswith("/" + physical)],
            "AWS::RDS::DBInstance": lambda: self.client("rds").describe_db_instances(
                DBInstanceIdentifier=physical)["DBInstances"],
            "AWS::S3::Bucket": lambda: self.client("s3").head_bucket(Bucket=physical),
            "AWS::S3::BucketPolicy": lambda: self.client("s3").get_bucket_policy(Bucket=physical)["Policy"],
            "AWS::IAM::Role": lambda: self.client("iam").get_role(RoleName=physical)["Role"],
            "AWS::Logs::LogGroup": lambda: [g for g in self.client("logs").describe_log_groups(
                logGroupNamePrefix=physical)["logGroups"] if g["logGroupName"] == physical],
            "AWS::SecretsManager::Secret": lambda: self.client("secretsmanager").describe_secret(
                SecretId=physical),
            "AWS::ElastiCache::SubnetGroup": lambda: self.client(
                "elasticache").describe_cache_subnet_groups(CacheSubnetGroupName=physical)["CacheSubnetGroups"],
            "AWS::ElastiCache::ReplicationGroup": lambda: self.client(
                "elasticache").describe_replication_groups(ReplicationGroupId=physical)["ReplicationGroups"],
            "AWS::Events::Rule": lambda: self.client("events").describe_rule(Name=physical.split("|")[-1]),
        }
        if kind not in checks:
            return None
        try:
            return bool(checks[kind]())
        except Exception:
            return False


# Types moto accepts in a stack without an API that can find them afterwards (found by this test).
MOTO_GAPS = {
    "AWS::KMS::Key": "created by the stack, but kms:DescribeKey cannot find it",
    "AWS::RDS::DBSubnetGroup": "left out of the stack's resources when a DB instance uses it",
}


@pytest.fixture(scope="module")
def on_moto(template: dict[str, Any]) -> Iterator[Stack]:
    moto = pytest.importorskip("moto", reason="moto creates the stack offline")
    boto3 = pytest.importorskip("boto3")
    with moto.mock_aws():
        def client(service: str) -> Any:
            return boto3.client(service, region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing")  # moto's fake credentials

        stack = Stack(template, client)
        stack.create()
        yield stack


def test_every_resource_exists_through_its_own_api(template: dict[str, Any], on_moto: Stack) -> None:
    missing, unchecked = [], []
    for name, resource in template["Resources"].items():
        if resource["Type"] in MOTO_GAPS:
            continue
        if not on_moto.physical.get(name):
            missing.append(f"{name} ({resource['Type']}): not created")
            continue
        found = on_moto.exists(name)
        if found is None:
            unchecked.append(resource["Type"])
        elif not found:
            missing.append(f"{name} ({resource['Type']}): {on_moto.physical[name]} not found through its API")
    assert not missing, "expected every resource to exist after the stack was created; " + "; ".join(missing)
    print("created, without an API to check them here:", sorted(set(unchecked)),
          "| moto gaps:", sorted(MOTO_GAPS), "| created by hand:", sorted(on_moto.skipped))


def test_urls_in_the_secrets_point_at_the_stacks_own_stores(template: dict[str, Any], on_moto: Stack) -> None:
    def secret(name: str) -> str:
        answer = on_moto.client("secretsmanager").get_secret_value(SecretId=on_moto.physical[name])
        return str(answer["SecretString"])

    database_url, redis_url = secret("DatabaseUrlSecret"), secret("RedisUrlSecret")
    password = json.loads(secret("DatabaseSecret"))["password"]
    host = on_moto.resolve({"Fn::GetAtt": ["Database", "Endpoint.Address"]})
    assert database_url.startswith(f"postgresql://anchor:{password}@{host}:5432/anchor?"), (
        f"expected ANCHOR_DATABASE_URL built from the generated password and the instance's address; "
        f"got {database_url.replace(password, '<password>')}")
    assert "sslmode=verify-full" in database_url, "expected verify-full TLS to the database"
    token = secret("CacheAuthSecret")
    assert redis_url.startswith(f"rediss://:{token}@"), "expected rediss:// with the AUTH token"
    (group,) = on_moto.client("elasticache").describe_replication_groups(
        ReplicationGroupId=on_moto.physical["Cache"])["ReplicationGroups"]
    assert group.get("TransitEncryptionEnabled") and group.get("AuthTokenEnabled", True), (
        f"expected the replication group encrypted in transit with AUTH; got {group}")


def test_services_run_on_moto_with_their_counts(on_moto: Stack) -> None:
    ecs = on_moto.client("ecs")
    cluster = on_moto.physical["Cluster"]
    arns = ecs.list_services(cluster=cluster)["serviceArns"]
    services = ecs.describe_services(cluster=cluster, services=arns)["services"]
    counts = {}
    for service in services:
        task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        counts[task["containerDefinitions"][0]["name"]] = service["desiredCount"]
    assert counts == {"api": 2, "relay": 1, "worker": 2, "scheduler": 1}, (
        f"expected the four roles as services at their default counts; got {counts}")


# --------------------------------------------------------------------------- the CI workflow

@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(WORKFLOW.read_text()) or {}
    if True in data:  # a YAML 1.1 reader turns the key `on` into True
        data["on"] = data.pop(True)
    return dict(data)


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def test_actionlint_finds_nothing() -> None:
    actionlint = _course_tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed here")
    done = subprocess.run([str(actionlint), "-no-color", str(WORKFLOW)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, (
        f"expected actionlint to accept ci.yml; got:\n{(done.stdout + done.stderr)[-3000:]}")


def test_workflow_lints_tests_on_real_services_then_ships(workflow: dict[str, Any]) -> None:
    jobs = workflow.get("jobs") or {}
    runs = {name: "\n".join(str(s.get("run", "")) for s in _steps(job)) for name, job in jobs.items()}
    lint = [n for n, text in runs.items() if "ruff" in text]
    assert lint, "expected a job that runs ruff"
    tests = [n for n, text in runs.items() if "pytest" in text]
    assert tests, "expected a job that runs pytest"
    services = {image.split(":")[0] for n in tests for image in
                [str(s.get("image", "")) for s in (jobs[n].get("services") or {}).values()]}
    assert {"postgres", "redis"} <= services, (
        f"expected the test job to run PostgreSQL and Redis as service containers; got {services}")
    job = jobs[tests[0]]
    env = json.dumps(job.get("env", {})) + json.dumps([s.get("env", {}) for s in _steps(job)])
    assert "DATABASE_URL" in env and "REDIS_URL" in env, "expected DATABASE_URL and REDIS_URL for the tests"
    (deploy,) = [n for n, text in runs.items() if "cloudformation deploy" in text]
    needs = jobs[deploy].get("needs")
    needs = [needs] if isinstance(needs, str) else list(needs or [])
    assert set(lint + tests) <= set(needs) | {n for x in needs for n in
                                              ([jobs[x].get("needs")] if isinstance(jobs[x].get("needs"), str)
                                               else jobs[x].get("needs") or [])}, (
        f"expected the deploy job to need the lint and test jobs; it needs {needs}")
    assert "anchor.migrations" in runs[deploy] or "MigrateTaskDefinition" in runs[deploy], (
        "expected the deploy job to run the one-shot migration task")
    text = WORKFLOW.read_text()
    assert "github.sha" in text and ":latest" not in text, "expected the image tagged with the commit"


def test_workflow_deploys_from_main_with_oidc_only(workflow: dict[str, Any]) -> None:
    text = WORKFLOW.read_text().lower()
    stored = [k for k in ("aws_access_key_id", "aws_secret_access_key", "aws-access-key-id",
                          "aws-secret-access-key") if k in text]
    assert not stored, f"expected no stored AWS keys; the workflow mentions {stored}. Use OIDC."
    jobs = workflow["jobs"]
    deploying = {n: j for n, j in jobs.items()
                 if any("configure-aws-credentials" in str(s.get("uses", "")) for s in _steps(j))}
    assert deploying, "expected aws-actions/configure-aws-credentials in the jobs that touch AWS"
    for name, job in deploying.items():
        assert (job.get("permissions") or {}).get("id-token") == "write", (
            f"expected job {name} to have `permissions: id-token: write`")
        assert "main" in str(job.get("if", "")) or job.get("environment"), (
            f"expected job {name} to run for main only (an `if:` on the ref, or an environment)")
        login = [s for s in _steps(job) if "configure-aws-credentials" in str(s.get("uses", ""))]
        assert login[0].get("with", {}).get("role-to-assume"), f"expected role-to-assume in {name}"
    assert (workflow.get("permissions") or {}).get("contents") == "read", (
        "expected the workflow's default permissions to be read-only")
    concurrency = workflow.get("concurrency") or {}
    for job in deploying.values():
        concurrency = job.get("concurrency") or concurrency
    assert isinstance(concurrency, dict) and concurrency.get("cancel-in-progress") is False, (
        "expected deploys one at a time, never cancelled half-way")


# --------------------------------------------------------------------------- linters (last: see `linters`)

def test_cfn_lint_finds_nothing(linters: dict[str, subprocess.Popen[str] | str]) -> None:
    done = _finish(linters, "cfn-lint")
    assert done.returncode == 0, (
        f"expected `cfn-lint stack.yaml` to find nothing; got:\n{done.stdout[-3000:]}")


def test_checkov_finds_nothing(linters: dict[str, subprocess.Popen[str] | str]) -> None:
    done = _finish(linters, "checkov")
    reports = json.loads(done.stdout) if done.stdout.strip().startswith(("[", "{")) else None
    assert reports is not None, f"checkov did not report: {done.stderr[-2000:]}"
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for r in reports
              for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, "expected checkov to pass every check; got:\n  " + "\n  ".join(failed[:15])
