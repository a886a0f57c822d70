"""EKS access rules, through the analyzer: who becomes cluster-admin through access entries and policies."""

from __future__ import annotations

import pytest

from tests.policy_helpers import TAGS, Case, analyze, case_id, hits, load_config, res, run_case

ASSOC = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ENTRY = "aws:eks/accessEntry:AccessEntry"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
ADMIN = "arn:aws:iam::444455556666:role/PlatformAdmin"
TEAM = "arn:aws:iam::444455556666:role/ResearchTeam"
ALLOW_ADMIN = {"eks-cluster-admin-access": {"allowedPrincipals": [ADMIN]}}


def association(name, principal, policy, scope=None):
    return res(ASSOC, name, {"clusterName": "ml", "principalArn": principal, "policyArn": POLICY + policy,
                             "accessScope": scope or {"type": "cluster"}})


def pulumi_eks(entries):
    return res("eks:index:Cluster", "eks", {"name": "ml", "version": "1.35", "authenticationMode": "API",
                                            "accessEntries": entries, "tags": TAGS})


CASES = [
    Case("eks-cluster-admin-access", True, association("team-admin", TEAM, "AmazonEKSClusterAdminPolicy"),
         config=ALLOW_ADMIN, contains="AmazonEKSClusterAdminPolicy (cluster scope) to " + TEAM,
         label="team-role-cluster-admin"),
    Case("eks-cluster-admin-access", True, association("team-admin-all", TEAM, "AmazonEKSAdminPolicy"),
         config=ALLOW_ADMIN, contains="AmazonEKSAdminPolicy at cluster scope", label="admin-policy-cluster-scope"),
    Case("eks-cluster-admin-access", True, association("anyone", ADMIN, "AmazonEKSClusterAdminPolicy"),
         label="nobody-listed-by-default"),
    Case("eks-cluster-admin-access", True,
         pulumi_eks({"research": {"principalArn": TEAM, "accessPolicies": {
             "admin": {"policyArn": POLICY + "AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}}}}),
         config=ALLOW_ADMIN, contains="accessEntries[research]", label="pulumi-eks-access-entries"),
    Case("eks-cluster-admin-access", True,
         res(ENTRY, "masters", {"clusterName": "ml", "principalArn": TEAM, "kubernetesGroups": ["system:masters"],
                                "type": "STANDARD", "tags": TAGS}),
         config=ALLOW_ADMIN, contains="system:masters", label="entry-mapped-to-system-masters"),
    Case("eks-cluster-admin-access", True,
         res("aws:eks/cluster:Cluster", "raw", {"accessConfig": {"authenticationMode": "API"}, "tags": TAGS}),
         config={"eks-cluster-admin-access": {"allowClusterCreatorAdmin": False}}, contains="bootstrapCluster",
         label="tunable-creator-admin"),
    Case("eks-cluster-admin-access", False, association("platform-admin", ADMIN, "AmazonEKSClusterAdminPolicy"),
         config=ALLOW_ADMIN, label="listed-admin"),
    Case("eks-cluster-admin-access", False,
         association("team-ns-admin", TEAM, "AmazonEKSAdminPolicy", {"type": "namespace", "namespaces": ["research"]}),
         label="admin-policy-namespace-scope"),
    Case("eks-cluster-admin-access", False, association("auditor", TEAM, "AmazonEKSViewPolicy"), label="view"),
    Case("eks-cluster-admin-access", False,
         pulumi_eks({"admin": {"principalArn": ADMIN, "accessPolicies": {
             "admin": {"policyArn": POLICY + "AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}}},
             "research": {"principalArn": TEAM, "kubernetesGroups": ["research-developers"]}}),
         config={"eks-cluster-admin-access": {"allowedPrincipals": ["arn:aws:iam::444455556666:role/Platform*"]}},
         label="pulumi-eks-pattern"),
    Case("eks-cluster-admin-access", False,
         res(ENTRY, "team", {"clusterName": "ml", "principalArn": TEAM, "kubernetesGroups": ["research-developers"],
                             "type": "STANDARD", "tags": TAGS}), label="entry-team-group"),
    Case("eks-cluster-admin-access", False,
         res("aws:eks/cluster:Cluster", "raw", {"accessConfig": {"authenticationMode": "API"}, "tags": TAGS}),
         label="creator-admin-accepted-by-default"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_access_rules(case: Case) -> None:
    run_case(case)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_configs_list_exactly_the_stacks_admin_roles(stack: str) -> None:
    """policies/config/<stack>.json lists the admins Pulumi.<stack>.yaml grants cluster admin (no drift), and a
    team role of that stack is refused."""
    import yaml

    from tests.policy_helpers import ROOT

    cfg = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    admins = list(cfg.get("mlplatform:adminRoleArns") or [])
    pack = load_config(stack)
    assert sorted(pack["eks-cluster-admin-access"]["allowedPrincipals"]) == sorted(admins)
    account = admins[0].split(":")[4]
    for arn in admins:
        assert not hits(analyze(association("ok", arn, "AmazonEKSClusterAdminPolicy"), pack),
                        "eks-cluster-admin-access")
    team = f"arn:aws:iam::{account}:role/SomeTeam"
    found = hits(analyze(association("team", team, "AmazonEKSClusterAdminPolicy"), pack), "eks-cluster-admin-access")
    assert found and found[0].level == "mandatory"


def test_an_unknown_principal_only_silences_the_rule_in_preview() -> None:
    """A principal ARN not known yet (a role created in the same preview) cannot be judged: advisory note."""
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    found = hits(analyze(association("new-role", unknown, "AmazonEKSClusterAdminPolicy")), "eks-cluster-admin-access")
    assert found and all(d.level == "advisory" and "can't run" in d.message for d in found)
    # A non-admin policy never needs the principal, so it is judged (and passes) even then.
    assert not hits(analyze(association("new-viewer", unknown, "AmazonEKSViewPolicy")), "eks-cluster-admin-access")
