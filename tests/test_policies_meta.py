"""Every registered rule has a violating and a compliant fixture, and the pack serves what the code registers."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from guardrails import METADATA
from guardrails._meta import UNEVALUABLE
from tests.policy_helpers import Case, client

TESTS = Path(__file__).resolve().parent
AREAS = {"network", "cluster", "nodes", "iam", "storage", "workloads", "inference", "rbac", "ingress", "tagging",
         "stack"}


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(TESTS.glob("test_policies_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        cases += list(getattr(module, "CASES", []))
    return cases


def test_every_rule_has_a_violating_and_a_compliant_fixture() -> None:
    cases = all_cases()
    unknown = sorted({c.rule for c in cases} - set(METADATA))
    assert not unknown, f"fixtures for rules that do not exist: {unknown}"
    missing = [(name, kind) for name in METADATA for kind, want in (("violating", True), ("compliant", False))
               if not any(c.rule == name and c.violates is want for c in cases)]
    assert not missing, missing


def test_the_pack_serves_every_registered_rule() -> None:
    info = client().get_info()
    assert sorted(p.name for p in info.policies) == sorted(METADATA)
    stack_rules = {p.name for p in info.policies if p.policy_type == "stack"}
    assert stack_rules == {n for n, m in METADATA.items() if m.kind == "stack"}
    assert {"node-groups-in-private-subnets", "team-namespace-guardrails", "load-balancers-depend-on-controller",
            "vpc-flow-logs-enabled", "gpu-capacity-total"} <= stack_rules


def test_rules_are_named_and_grouped() -> None:
    assert len(METADATA) >= 35
    for name, meta in METADATA.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", name), name
        assert meta.area in AREAS, (name, meta.area)
        assert meta.level == "mandatory", name


JUNK = ["x", 7, ["x"], [7], {"a": "b"}, True]
_TOP_KEYS = {
    "eks:index:Cluster": ["endpointPublicAccess", "publicAccessCidrs", "enabledClusterLogTypes", "nodeGroupOptions",
                          "skipDefaultNodeGroup", "taints", "tags", "version", "encryptionConfigKeyArn"],
    "aws:eks/cluster:Cluster": ["vpcConfig", "encryptionConfig", "accessConfig", "enabledClusterLogTypes"],
    "eks:index:ManagedNodeGroup": ["instanceTypes", "taints", "scalingConfig", "remoteAccess", "launchTemplate", "tags"],
    "eks:index:NodeGroupV2": ["instanceType", "taints", "maxSize", "gpu", "nodeAssociatePublicIpAddress"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["metadataOptions", "blockDeviceMappings", "networkInterfaces",
                                              "instanceType"],
    "aws:ec2/securityGroup:SecurityGroup": ["ingress"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["fromPort", "toPort", "cidrIpv4", "ipProtocol"],
    "aws:iam/role:Role": ["assumeRolePolicy", "inlinePolicies", "managedPolicyArns"],
    "aws:iam/policy:Policy": ["policy"],
    "aws:kms/key:Key": ["policy", "enableKeyRotation"],
    "aws:autoscaling/group:Group": ["tags", "mixedInstancesPolicy", "maxSize", "vpcZoneIdentifiers"],
    "aws:s3/bucket:Bucket": ["tags"],
}
_K8S = [("apps/v1", "Deployment"), ("kubeflow.org/v1", "PyTorchJob"), ("trainer.kubeflow.org/v1alpha1", "TrainJob"),
        ("karpenter.sh/v1", "NodePool"), ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"), ("storage.k8s.io/v1", "StorageClass")]
_K8S_PATHS = [("spec",), ("spec", "template"), ("spec", "template", "spec"),
              ("spec", "template", "spec", "containers"), ("spec", "trainer"), ("spec", "runtimePatches"),
              ("spec", "pytorchReplicaSpecs"), ("rules",), ("metadata", "annotations"), ("parameters",)]


def _nest(path: tuple, value: object) -> dict:
    out: object = value
    for key in reversed(path):
        out = {key: out}
    return out  # type: ignore[return-value]


def test_rules_survive_malformed_inputs() -> None:
    """A strange shape must produce a verdict, never crash the pack (a crash fails the whole preview)."""
    from tests.policy_helpers import analyze, res

    regs = []
    for t, keys in _TOP_KEYS.items():
        for j in JUNK:
            regs.append(res(t, f"junk-{len(regs)}", {k: j for k in keys}))
    for api, kind in _K8S:
        group_version = api if "/" in api else f"core/{api}"
        for path in _K8S_PATHS:
            for j in JUNK:
                body = {"apiVersion": api, "kind": kind, "metadata": {"name": "n", "namespace": "team-a"}}
                nested = _nest(path, j)
                for k, v in nested.items():
                    body[k] = {**body[k], **v} if k == "metadata" and isinstance(v, dict) else v
                regs.append(res(f"kubernetes:{group_version}:{kind}", f"junk-{len(regs)}", body))
    broken = []
    for r in regs:
        # analyze() raises PolicyPackError if a rule crashes the pack; a rule that fails closed says so.
        broken += [(d.policy, r.type, d.message) for d in analyze(r) if UNEVALUABLE in d.message]
    broken += [(d.policy, "stack", d.message) for d in analyze(regs) if UNEVALUABLE in d.message]
    assert not broken, broken[:10]


def test_a_rule_that_cannot_evaluate_fails_closed() -> None:
    """If a rule breaks anyway, the resource gets a diagnostic at the rule's level instead of a crashed preview."""
    from tests.policy_helpers import analyze, hits, res

    sg = res("aws:ec2/securityGroup:SecurityGroup", "sg", {"ingress": [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]})
    # A config value of the wrong type (the engine would refuse it; the offline client does not check types).
    found = hits(analyze(sg, {"no-admin-ports-open-to-world": {"adminPorts": ["ssh"]}}), "no-admin-ports-open-to-world")
    assert len(found) == 1 and found[0].level == "mandatory" and found[0].message.startswith(UNEVALUABLE)
