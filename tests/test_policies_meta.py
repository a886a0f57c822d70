"""Every registered rule has a violating and a compliant fixture, and the pack serves what the code registers."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from guardrails import METADATA
from guardrails._meta import UNEVALUABLE
from tests.policy_helpers import Case, client

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
AREAS = {"network", "cluster", "nodes", "iam", "storage", "workloads", "inference", "rbac", "access", "registry", "helm",
         "ingress", "tagging", "stack"}


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


def _claims(name: str) -> list[str]:
    meta = METADATA[name]
    return list(meta.checkov) + [f"CIS {c}" for c in meta.cis]


def test_every_claimed_check_has_fixtures_that_exercise_it() -> None:
    """A rule that says it stands for a checkov check or a CIS item has a violating and a compliant fixture for it."""
    cases = all_cases()
    missing = [(name, check, "violating" if want else "compliant")
               for name in METADATA for check in _claims(name) for want in (True, False)
               if not any(c.rule == name and c.violates is want and check in c.covers for c in cases)]
    assert not missing, missing


def test_fixtures_claim_only_what_their_rule_stands_for() -> None:
    from guardrails.coverage import TUNABLE

    wrong = [(c.id, check) for c in all_cases() for check in c.covers
             if check not in _claims(c.rule) and TUNABLE.get(check, ("",))[0] != c.rule]
    assert not wrong, wrong


def test_checks_a_tunable_covers_have_a_violating_fixture_with_that_setting() -> None:
    from guardrails.coverage import TUNABLE

    cases = all_cases()
    missing = []
    for check, (rule, setting, reason) in TUNABLE.items():
        assert rule in METADATA and reason, check
        assert set(setting) <= set(METADATA[rule].config), (check, setting)
        if not any(c.rule == rule and c.violates and check in c.covers
                   and all((c.config or {}).get(rule, {}).get(k) == v for k, v in setting.items()) for c in cases):
            missing.append(check)
    assert not missing, missing


def test_claimed_checks_exist_upstream_and_apply() -> None:
    """Every id a rule or a tunable claims is a check of checkov 3.3.30 or an item of CIS EKS 1.8.0 (vendored)."""
    from guardrails.coverage import CIS_LABELS, CIS_NOT_IAC, TUNABLE, checkov_not_applicable
    from tools.readme_tables import coverage_rows

    rows = {r["check"]: r for rs in coverage_rows().values() for r in rs}
    claimed = {check for name in METADATA for check in _claims(name)} | set(TUNABLE)
    unknown = sorted(claimed - set(rows))
    assert not unknown, f"not a check of the vendored rule sets: {unknown}"
    assert not [c for c in claimed if rows[c]["status"] == "n/a"], "claims a check that does not apply"
    cis = {r["check"] for r in coverage_rows()["CIS EKS 1.8"]}
    assert {f"CIS {i}" for i in CIS_LABELS} == cis, "a label for every CIS item, and only those"
    assert set(CIS_NOT_IAC) <= cis
    assert checkov_not_applicable({"kinds": ["PodSecurityPolicy"], "module": "X"})


def test_coverage_of_the_public_rule_sets() -> None:
    """The bar of issue #15: 90% of the applicable checkov Kubernetes checks and CIS items, all 6 EKS checks (one
    through a tunable that prod sets), and nothing applicable left without a rule or a tunable."""
    import json

    from tools.readme_tables import coverage_rows, coverage_summary

    summary = coverage_summary()
    for name in ("checkov Kubernetes", "CIS EKS 1.8"):
        s = summary[name]
        assert s["covered"] / s["applicable"] >= 0.9, (name, s)
    assert summary["checkov EKS"]["applicable"] == 6
    assert all(s["not covered"] == 0 for s in summary.values()), summary
    prod = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    from guardrails.coverage import TUNABLE

    for r in coverage_rows()["checkov EKS"]:
        if r["status"] == "tunable":
            rule, setting, _ = TUNABLE[r["check"]]
            assert all(prod[rule][k] == v for k, v in setting.items()), r["check"]


def test_vendored_rule_sets_match_their_manifest() -> None:
    """upstream/policy/ is what tools.vendor_upstream produced (sha256 in upstream/MANIFEST.json), not hand edits."""
    from tools import vendor_upstream as vu

    entries = [e for e in vu.load_manifest()["files"] if e["file"].startswith("policy/")]
    assert {e["file"] for e in entries} == {s.dest for s in vu.all_sources() if s.dest.startswith("policy/")}
    assert not [p for p in vu.check() if p.startswith("policy/")]


def test_every_kind_checkovs_pod_checks_read_is_walked() -> None:
    """The pack walks at least the kinds checkov's container checks open (from the vendored checkov)."""
    import json

    from guardrails.podspecs import WORKLOAD_KINDS

    kinds = json.loads((ROOT / "upstream" / "policy" / "checkov-3.3.30.json").read_text())["containerCheckKinds"]
    assert kinds and set(kinds) <= WORKLOAD_KINDS, sorted(set(kinds) - WORKLOAD_KINDS)


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
                          "skipDefaultNodeGroup", "taints", "tags", "version", "encryptionConfigKeyArn",
                          "accessEntries", "vpcCniOptions", "useDefaultVpcCni", "name", "kubeletExtraArgs"],
    "aws:eks/cluster:Cluster": ["vpcConfig", "encryptionConfig", "accessConfig", "enabledClusterLogTypes"],
    "eks:index:ManagedNodeGroup": ["instanceTypes", "taints", "scalingConfig", "remoteAccess", "launchTemplate", "tags"],
    "eks:index:NodeGroupV2": ["instanceType", "taints", "maxSize", "gpu", "nodeAssociatePublicIpAddress"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["metadataOptions", "blockDeviceMappings", "networkInterfaces",
                                              "instanceType", "userData"],
    "aws:ec2/securityGroup:SecurityGroup": ["ingress"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["fromPort", "toPort", "cidrIpv4", "ipProtocol"],
    "aws:iam/role:Role": ["assumeRolePolicy", "inlinePolicies", "managedPolicyArns"],
    "aws:iam/policy:Policy": ["policy"],
    "aws:kms/key:Key": ["policy", "enableKeyRotation"],
    "aws:autoscaling/group:Group": ["tags", "mixedInstancesPolicy", "maxSize", "vpcZoneIdentifiers"],
    "aws:s3/bucket:Bucket": ["tags"],
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ["policyArn", "accessScope", "principalArn"],
    "aws:eks/accessEntry:AccessEntry": ["kubernetesGroups", "principalArn"],
    "aws:eks/addon:Addon": ["addonName", "configurationValues"],
    "kubernetes:helm.sh/v3:Release": ["chart", "values", "namespace"],
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ["policy"],
    "aws:ecr/repository:Repository": ["imageScanningConfiguration", "name"],
    "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
}
_K8S = [("apps/v1", "Deployment"), ("kubeflow.org/v1", "PyTorchJob"), ("trainer.kubeflow.org/v1alpha1", "TrainJob"),
        ("karpenter.sh/v1", "NodePool"), ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"), ("storage.k8s.io/v1", "StorageClass"), ("v1", "ReplicationController"),
        ("v1", "PodTemplate"), ("jobset.x-k8s.io/v1alpha2", "JobSet"), ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("ray.io/v1", "RayJob"), ("v1", "Pod"),
        ("v1", "Namespace"), ("networking.k8s.io/v1", "NetworkPolicy")]
_K8S_PATHS = [("spec",), ("spec", "template"), ("spec", "template", "spec"),
              ("spec", "template", "spec", "containers"), ("spec", "trainer"), ("spec", "runtimePatches"),
              ("spec", "pytorchReplicaSpecs"), ("rules",), ("metadata", "annotations"), ("parameters",),
              ("template",), ("spec", "replicatedJobs"), ("subjects",), ("roleRef",), ("spec", "rayClusterSpec"),
              ("spec", "podSelector")]


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
