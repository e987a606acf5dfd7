"""Lab cloud/vm: the budget shape — one VM running the week-06 Compose stack behind a TLS proxy.

Validated the same way as the full stack: cfn-lint, checkov, created on moto with each resource
looked up through its own API, and read as data for what a reviewer would insist on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

LESSON = "weeks/12-cloud/README.md"
SECTION = "section 'The budget shape: one VM'"
NAME = "vm.yaml"
WHOLE_VM = {
    "AWS::EC2::VPC": "its own network", "AWS::EC2::Subnet": "a public subnet",
    "AWS::EC2::InternetGateway": "the way in", "AWS::EC2::SecurityGroup": "443 only",
    "AWS::EC2::Instance": "the VM", "AWS::EC2::EIP": "a stable address",
    "AWS::IAM::InstanceProfile": "SSM access instead of SSH",
    "AWS::SecretsManager::Secret": "generated secrets",
}
WORLD = {"0.0.0.0/0", "::/0"}
PROXIES = ("caddy", "nginx", "traefik", "haproxy")


@pytest.fixture(scope="module")
def template(cfn: Any) -> dict[str, Any]:
    return cfn.load(NAME)


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def _servers(cfn: Any, template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cfn.require_types(template, NAME, WHOLE_VM)
    return cfn.resources(template, "AWS::EC2::Instance")


def test_cfn_lint_passes(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_VM)
    assert not scans["cfn-lint-error"], f"cfn-lint did not run: {scans['cfn-lint-error']}"
    found = [f"{m['Rule']['Id']} line {m['Location']['Start']['LineNumber']}: {m['Message']}"
             for m in scans["cfn-lint"] if m["Filename"].endswith(NAME)]
    assert not found, (f"expected `cfn-lint {NAME}` to find nothing; got:\n  " + "\n  ".join(found[:10])
                       + f"\nLook at {LESSON}, section 'Validate it offline'.")


def test_checkov_finds_nothing_high(cfn: Any, template: dict[str, Any], scans: dict[str, Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_VM)
    if isinstance(scans["checkov"], str):
        pytest.skip(f"checkov could not be installed here: {scans['checkov']}")
    found = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in scans["checkov"]["failed"]
             if c.get("file_path", "").endswith(NAME)]
    assert not found, (f"expected checkov to pass every check on {NAME}; got {len(found)}:\n  "
                       + "\n  ".join(found[:15]) + f"\nLook at {LESSON}, section 'Harden it'.")


def test_every_resource_exists_through_its_own_api(cfn: Any, template: dict[str, Any],
                                                   aws: Callable[[str], Any]) -> None:
    cfn.require_types(template, NAME, WHOLE_VM)
    image = aws("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    created, skipped = cfn.create_on_moto(aws, NAME, template, {
        "ImageId": image, "DomainName": "api.example.com",
        "RepositoryUrl": "https://github.com/example/backend-semester.git"})
    missing = []
    for logical, resource in template["Resources"].items():
        if logical in skipped or resource["Type"] in cfn.moto_gaps:
            continue
        summary = created.get(logical)
        if summary is None or not summary.get("PhysicalResourceId"):
            missing.append(f"{logical} ({resource['Type']}): not in the stack")
        elif cfn.exists(aws, resource["Type"], summary["PhysicalResourceId"]) is False:
            missing.append(f"{logical} ({resource['Type']}): not found through its API")
    assert not missing, "expected every resource to exist after create_stack; " + "; ".join(missing)


def test_only_https_is_open_and_there_is_no_ssh(cfn: Any, template: dict[str, Any]) -> None:
    _servers(cfn, template)
    rules = [(name, rule) for name, group in cfn.resources(template, "AWS::EC2::SecurityGroup").items()
             for rule in _props(group).get("SecurityGroupIngress", [])]
    rules += [(name, _props(r)) for name, r in
              cfn.resources(template, "AWS::EC2::SecurityGroupIngress").items()]
    wide = [f"{name}: {rule.get('FromPort')}-{rule.get('ToPort')}" for name, rule in rules
            if (rule.get("CidrIp") in WORLD or rule.get("CidrIpv6") in WORLD)
            and (rule.get("FromPort"), rule.get("ToPort")) not in ((443, 443), (80, 80))]
    assert not wide, (
        f"expected only 443 (and at most 80) open to the world; these open more: {wide}. SSH "
        f"open to 0.0.0.0/0 is brute-forced within minutes; use SSM Session Manager. Look at "
        f"{LESSON}, {SECTION}.")


def test_the_vm_requires_imdsv2_and_encrypts_its_disk(cfn: Any, template: dict[str, Any]) -> None:
    for name, server in _servers(cfn, template).items():
        tokens = _props(server).get("MetadataOptions", {}).get("HttpTokens")
        assert tokens == "required", (
            f"expected {name} MetadataOptions HttpTokens: required (IMDSv2); got {tokens!r}. "
            "IMDSv1 hands the instance's credentials to any SSRF in the app.")
        disks = [m.get("Ebs", {}) for m in _props(server).get("BlockDeviceMappings", [])]
        assert disks and all(d.get("Encrypted") in (True, "true") for d in disks), (
            f"expected {name}'s volumes encrypted (BlockDeviceMappings Ebs Encrypted: true)")


def test_runs_the_week06_stack_behind_a_tls_proxy(cfn: Any, template: dict[str, Any]) -> None:
    for name, server in _servers(cfn, template).items():
        script = str(_props(server).get("UserData", "")).lower()
        assert "week06_docker" in script and "compose" in script and "up -d" in script, (
            f"expected {name}'s user data to run the week-06 Compose file (`docker compose -f "
            f"compose.yaml … up -d` in labs/week06_docker). Look at {LESSON}, {SECTION}.")
        assert any(proxy in script for proxy in PROXIES), (
            f"expected a TLS-terminating proxy ({', '.join(PROXIES)}) in front of the API")
    defaults = [n for n, p in (template.get("Parameters") or {}).items()
                if "Default" in p and any(w in n.lower() for w in ("password", "secret", "token"))]
    assert not defaults, f"expected no secret-looking parameter with a Default; {defaults} have one"
