"""Tenancy: a team namespace's labels, quota, limits, network isolation, RBAC, access entry, queue and storage."""

from __future__ import annotations

import pulumi
import pytest

from components.contracts import FsxLustreVolume
from components.workloads import tenancy_specs as specs
from components.workloads.tenancy import TeamNamespace, TeamNamespaceArgs
from components.workloads.training import TrainingPlatform, TrainingPlatformArgs
from tests.helpers import minimal_config, of_type, run_component
from tests.workload_helpers import TAGS, by_suffix, depends_on, names, one, provider, verdicts

ROLE = "arn:aws:iam::111122223333:role/ResearchTeam"
CFG = minimal_config(teams={
    "research": {"iamRoleArn": ROLE, "cpu": "256", "memory": "2Ti", "gpu": 24, "pvcs": 50, "storage": "10Ti"},
    "hpc": {"podSecurity": "baseline", "group": "hpc-engineers"},
})


def build(team="research", fsx=True, efs="efs-sc", kueue=True, pod_identity=True, serving_ports=(8000,)):
    def body(env):
        p = provider()
        platform = TrainingPlatform("training", TrainingPlatformArgs(provider=p, trainer=False)) if kueue else None
        volume = FsxLustreVolume(file_system_id=pulumi.Output.from_input("fs-0123456789abcdef0"),
                                 dns_name=pulumi.Output.from_input("fs-0123.fsx.us-west-2.amazonaws.com"),
                                 mount_name=pulumi.Output.from_input("abcdefgh"), capacity_gib=2400) if fsx else None
        TeamNamespace(f"team-{team}", TeamNamespaceArgs(
            team=team, config=CFG.teams[team], provider=p, cluster_name="ml-test",
            ingress_cidrs=specs.ingress_cidrs("10.20.0.0/16", "100.64.0.0/16"), serving_ports=serving_ports,
            pod_identity=pod_identity, legacy_training=True, efs_storage_class=efs, fsx=volume,
            cluster_queue=platform.cluster_queue_name if platform else None,
            kueue_depends_on=platform.queue_ready if platform else (), tags=TAGS))
    return run_component(body)


@pytest.fixture(scope="module")
def research():
    return build()


def test_namespace_is_labelled_for_the_team_and_restricted(research):
    ns = one(research, "core/v1:Namespace")
    labels = ns.inputs["metadata"]["labels"]
    assert ns.inputs["metadata"]["name"] == "research" and labels["mlplatform.io/team"] == "research"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_baseline_team_enforces_baseline_but_still_warns_restricted():
    labels = one(build("hpc", fsx=False), "core/v1:Namespace").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_quota_caps_cpu_memory_gpus_claims_and_storage(research):
    hard = one(research, "core/v1:ResourceQuota").inputs["spec"]["hard"]
    assert hard == {"requests.cpu": "256", "limits.cpu": "256", "requests.memory": "2Ti", "limits.memory": "2Ti",
                    "requests.nvidia.com/gpu": "24", "persistentvolumeclaims": "50", "requests.storage": "10Ti"}


def test_limit_range_defaults_come_from_config(research):
    (limit,) = one(research, "core/v1:LimitRange").inputs["spec"]["limits"]
    assert limit == {"type": "Container", "default": {"cpu": "1", "memory": "1Gi"},
                     "defaultRequest": {"cpu": "250m", "memory": "512Mi"}}


def netpols(run) -> dict:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in by_suffix(run, ":NetworkPolicy")}


def test_default_deny_selects_every_pod_both_directions_with_no_rules(research):
    deny = netpols(research)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_only_dns_same_namespace_aws_and_load_balancer_traffic_is_allowed(research):
    pols = netpols(research)
    assert set(pols) == {"default-deny", "allow-dns", "allow-same-namespace", "allow-aws-apis",
                         "allow-pod-identity-agent", "allow-load-balancer"}
    (dns,) = pols["allow-dns"]["egress"]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [("TCP", 53), ("UDP", 53)]
    (aws,) = pols["allow-aws-apis"]["egress"]
    assert aws["ports"] == [{"protocol": "TCP", "port": 443}]
    assert aws["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]
    (lb,) = pols["allow-load-balancer"]["ingress"]
    assert lb["from"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}, {"ipBlock": {"cidr": "100.64.0.0/16"}}]
    assert lb["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert pols["allow-load-balancer"]["policyTypes"] == ["Ingress"]


def test_no_load_balancer_ingress_without_serving_ports_and_no_agent_egress_with_irsa():
    pols = netpols(build(fsx=False, pod_identity=False, serving_ports=()))
    assert "allow-load-balancer" not in pols and "allow-pod-identity-agent" not in pols


def test_role_has_no_wildcards_or_escalation(research):
    role = one(research, "rbac.authorization.k8s.io/v1:Role")
    rules = role.inputs["rules"]
    for r in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in r[key], r
        assert not {"escalate", "bind", "impersonate"} & set(r["verbs"])
        assert not {"pods/exec", "pods/attach", "pods/portforward", "secrets", "roles", "rolebindings"} & set(
            r["resources"])
    granted = {(g, res) for r in rules for g in r["apiGroups"] for res in r["resources"] if "create" in r["verbs"]}
    assert {("apps", "deployments"), ("batch", "jobs"), ("trainer.kubeflow.org", "trainjobs"),
            ("kubeflow.org", "pytorchjobs"), ("", "services"), ("", "configmaps"), ("", "persistentvolumeclaims"),
            ("autoscaling", "horizontalpodautoscalers"), ("policy", "poddisruptionbudgets")} <= granted
    read = {(g, res) for r in rules for g in r["apiGroups"] for res in r["resources"]}
    assert ("", "pods/log") in read and ("kueue.x-k8s.io", "localqueues") in read
    assert ("kueue.x-k8s.io", "localqueues") not in granted


def test_role_binding_and_access_entry_map_the_team_role_to_its_group(research):
    rb = one(research, ":RoleBinding")
    assert rb.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "team-developer"}
    assert rb.inputs["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                      "name": "research-developers"}]
    (entry,) = of_type(research, "aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == ROLE and entry.inputs["type"] == "STANDARD"
    assert entry.inputs["kubernetesGroups"] == ["research-developers"]
    assert entry.inputs["tags"] == TAGS
    # RBAC grants the rights; no cluster-wide access policy rides along.
    assert not of_type(research, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")


def test_no_access_entry_without_a_role_and_custom_group_is_bound():
    run = build("hpc", fsx=False)
    assert not of_type(run, "aws:eks/accessEntry:AccessEntry")
    assert one(run, ":RoleBinding").inputs["subjects"][0]["name"] == "hpc-engineers"


def test_local_queue_points_at_the_cluster_queue_after_kueue(research):
    lq = one(research, ":LocalQueue")
    assert lq.inputs["metadata"] == {"name": "training", "namespace": "research"}
    assert lq.inputs["spec"] == {"clusterQueue": "ml-training"}
    assert depends_on(research, lq, one(research, ":Release", "training-kueue"))
    assert depends_on(research, lq, one(research, ":ClusterQueue"))


def test_shared_claims_efs_and_static_fsx(research):
    claims = {r.inputs["metadata"]["name"]: r for r in by_suffix(research, ":PersistentVolumeClaim")}
    efs = claims["shared-efs"].inputs["spec"]
    assert efs["accessModes"] == ["ReadWriteMany"] and efs["storageClassName"] == "efs-sc"
    pv = one(research, ":PersistentVolume").inputs
    assert pv["spec"]["csi"] == {"driver": "fsx.csi.aws.com", "volumeHandle": "fs-0123456789abcdef0",
                                 "volumeAttributes": {"dnsname": "fs-0123.fsx.us-west-2.amazonaws.com",
                                                      "mountname": "abcdefgh"}}
    assert pv["spec"]["capacity"] == {"storage": "2400Gi"} and pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"] == {"namespace": "research", "name": "shared-fsx"}
    fsx = claims["shared-fsx"].inputs["spec"]
    assert fsx["volumeName"] == pv["metadata"]["name"] and fsx["storageClassName"] == ""


def test_no_claims_without_storage():
    run = build(fsx=False, efs=None)
    assert not by_suffix(run, ":PersistentVolumeClaim") and not by_suffix(run, ":PersistentVolume")


def test_every_namespaced_object_is_in_the_team_namespace(research):
    for r in research.registrations:
        if r.type.startswith("kubernetes:") and not r.type.endswith(
                (":Namespace", ":PersistentVolume", ":ClusterQueue", ":ResourceFlavor", ":Release")):
            assert r.inputs["metadata"]["namespace"] == "research", r.name


def test_team_namespace_passes_the_policy_pack_including_the_stack_guardrail(research):
    diags = verdicts(research)
    assert diags == [], [(d.policy, d.message) for d in diags]


def test_policy_pack_flags_a_team_namespace_without_its_guardrails():
    def body(env):
        import pulumi_kubernetes as k8s
        k8s.core.v1.Namespace("bare", metadata={"name": "bare", "labels": {"mlplatform.io/team": "bare"}})
    assert "team-namespace-guardrails" in names(verdicts(run_component(body)))
