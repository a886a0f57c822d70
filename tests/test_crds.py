"""CRDs managed apart from their charts, and controllers that survive a node roll (whole stacks under mocks)."""

from __future__ import annotations

import functools

import pytest

from automation.offline.changes import waits_for
from automation.offline.plan import resource_json
from components import versions
from components.addons.common import AddonTarget
from components.addons.gpu import GpuStack, GpuStackArgs
from components.addons.lb_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.cluster import Cluster, ClusterArgs
from components.crds import KEEP
from tests.helpers import run_component, stack_run

RELEASE = "kubernetes:helm.sh/v3:Release"
GROUP = "kubernetes:yaml/v2:ConfigGroup"
PROVIDER = "pulumi:providers:kubernetes"
STACKS = ("dev", "prod")


def chart_of(reg) -> str:
    return reg.inputs["chart"].rsplit("/", 1)[-1]


def release_of(run, chart):
    (rel,) = [r for r in run.registrations if r.type == RELEASE and chart_of(r) == chart]
    return rel


@functools.lru_cache(maxsize=None)
def plan_resources(stack):
    return [resource_json(r) for r in stack_run(stack).registrations]


def waits(stack, reg) -> set[str]:
    return waits_for(plan_resources(stack), reg.urn)


# --------------------------------------------------------------------------- CRD charts


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_crds_come_from_karpenter_crd_at_the_controller_version_before_the_controller(stack):
    run = stack_run(stack)
    controller = release_of(run, "karpenter")
    crds = release_of(run, "karpenter-crd")
    pin = versions.HELM_CHARTS["karpenter"]
    assert crds.inputs["version"] == controller.inputs["version"] == pin.version
    assert crds.inputs["chart"] == f"{pin.repository}/karpenter-crd"
    assert controller.inputs["skipCrds"] is True and crds.inputs.get("skipCrds") is not True
    assert crds.urn in waits(stack, controller)
    # Adopts what the controller chart's crds/ created on an existing cluster; never uninstalled by Pulumi,
    # and Helm itself keeps the CRDs (uninstall, or a chart version that drops one).
    assert crds.inputs["takeOwnership"] is True and crds.options["retainOnDelete"] is True
    assert crds.inputs["values"] == {"additionalAnnotations": KEEP}
    # No pods: it waits for no node, so it is never on the critical path.
    assert not [u for u in waits(stack, crds) if "ManagedNodeGroup" in u]
    for kind in ("NodePool", "EC2NodeClass"):
        objs = [r for r in run.registrations if r.type.endswith(f":{kind}")]
        assert objs and all(crds.urn in waits(stack, o) for o in objs)


def test_prometheus_operator_crds_match_the_operator_kube_prometheus_stack_runs():
    run = stack_run("prod")
    stack = release_of(run, "kube-prometheus-stack")
    crds = release_of(run, "prometheus-operator-crds")
    pin = versions.CRD_CHARTS["kube-prometheus-stack"]
    assert pin.app_version == versions.HELM_CHARTS["kube-prometheus-stack"].app_version
    assert crds.inputs["version"] == pin.version and crds.inputs["namespace"] == stack.inputs["namespace"]
    assert stack.inputs["skipCrds"] is True and stack.inputs["values"]["crds"] == {"enabled": False}
    assert crds.inputs["values"] == {"crds": {"annotations": KEEP}}
    assert crds.inputs["takeOwnership"] is True and crds.options["retainOnDelete"] is True
    monitor = next(r for r in run.registrations if r.type.endswith(":ServiceMonitor"))
    assert {crds.urn, stack.urn} <= waits("prod", monitor) and crds.urn in waits("prod", stack)


def test_versions_table_refuses_a_crd_chart_of_another_release():
    good = versions.CRD_CHARTS["kube-prometheus-stack"]
    import dataclasses

    bad = dataclasses.replace(good, app_version="v0.92.0")
    orig = versions.CRD_CHARTS
    try:
        versions.CRD_CHARTS = {**orig, "kube-prometheus-stack": bad}
        with pytest.raises(ValueError, match="same release"):
            versions._validate()
    finally:
        versions.CRD_CHARTS = orig


# --------------------------------------------------------------------------- CRD files


@pytest.mark.parametrize("stack", STACKS)
def test_lb_controller_crds_are_the_charts_files_at_its_tag_applied_by_an_adopting_provider(stack):
    run = stack_run(stack)
    controller = release_of(run, "aws-load-balancer-controller")
    (group,) = [r for r in run.registrations if r.type == GROUP and r.name == "addons-lb-controller-crds"]
    pin = versions.HELM_CHARTS["aws-load-balancer-controller"]
    files = group.inputs["files"]
    assert files == list(versions.CRD_FILES["aws-load-balancer-controller"].urls)
    assert all(f"/v{pin.version}/helm/aws-load-balancer-controller/crds/" in f for f in files)
    assert controller.inputs["skipCrds"] is True and group.urn in waits(stack, controller)
    provider = run.one(PROVIDER, "cluster-k8s-crds")
    assert group.provider == provider.urn
    assert provider.inputs["upsertExistingObjects"] == "true" and provider.inputs["enablePatchForce"] == "true"
    # The cluster's everyday provider never upserts (renames there must not silently adopt and then delete).
    main = run.one(PROVIDER, "cluster-k8s")
    assert "upsertExistingObjects" not in main.inputs
    # Protected exactly when the stack protects its cluster from deletion (children inherit protect).
    assert group.options["protect"] is (stack == "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_jobset_crd_is_applied_apart_and_trainer_skips_the_bundled_copy(stack):
    run = stack_run(stack)
    trainer = release_of(run, "kubeflow-trainer")
    (group,) = [r for r in run.registrations if r.type == GROUP and r.name == "training-jobset-crds"]
    assert trainer.inputs["skipCrds"] is True and group.urn in waits(stack, trainer)
    assert group.inputs["files"] == list(versions.CRD_FILES["jobset"].urls)
    # Trainer's own CRDs are chart templates (Helm upgrades them): the chart keeps installing them.
    assert trainer.inputs["values"].get("crds", {}).get("enabled", True) is True


@pytest.mark.parametrize("stack", STACKS)
def test_charts_that_template_their_crds_keep_them(stack):
    kueue = release_of(stack_run(stack), "kueue")
    assert not kueue.inputs.get("skipCrds")


def _cluster(env, *, protect):
    return Cluster("cl", ClusterArgs(
        cluster_name="ml-test", kubernetes_version="1.35", vpc_id="vpc-1", private_subnet_ids=["subnet-a"],
        endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[], read_only_role_arns=[],
        log_retention_days=30, deletion_protection=protect, identity_mode="pod-identity", env=env, tags={}))


def test_gpu_operator_crds_apart_and_its_own_crd_job_off():
    run = run_component(lambda env: GpuStack("gpu", GpuStackArgs(
        target=AddonTarget(cluster=_cluster(env, protect=True), env=env, kubernetes_version="1.35"),
        stack="gpu-operator")))
    rel = release_of(run, "gpu-operator")
    (group,) = [r for r in run.registrations if r.type == GROUP]
    assert group.inputs["files"] == list(versions.CRD_FILES["gpu-operator"].urls)
    assert all(f"/{versions.HELM_CHARTS['gpu-operator'].version}/" in f for f in group.inputs["files"])
    assert rel.inputs["skipCrds"] is True and group.urn in rel.dependencies
    assert rel.inputs["values"]["operator"]["upgradeCRD"] is False
    assert group.options["protect"] is True


def test_crd_files_unprotected_without_deletion_protection():
    run = run_component(lambda env: LoadBalancerController("lbc", LoadBalancerControllerArgs(
        target=AddonTarget(cluster=_cluster(env, protect=False), env=env, kubernetes_version="1.35"),
        vpc_id="vpc-1")))
    (group,) = [r for r in run.registrations if r.type == GROUP]
    assert group.options["protect"] is False


# --------------------------------------------------------------------------- through node rolls

#: chart -> (replica value path, how the chart's own budget is switched on: path -> value), "" = our own PDB
HA = {
    "aws-load-balancer-controller": ("replicaCount", None),
    "karpenter": ("replicas", None),
    "cluster-autoscaler": ("replicaCount", None),
    "metrics-server": ("replicas", "podDisruptionBudget"),
    "kueue": ("controllerManager.replicas", "controllerManager.podDisruptionBudget"),
    "kubeflow-trainer": ("manager.replicas", ""),
}


def _get(values, path):
    for part in path.split("."):
        values = values[part]
    return values


@pytest.mark.parametrize("chart", sorted(HA))
def test_prod_controllers_run_two_replicas_with_a_budget_that_lets_drains_proceed(chart):
    run = stack_run("prod")
    rel = release_of(run, chart)
    replicas_path, pdb_path = HA[chart]
    assert _get(rel.inputs["values"], replicas_path) >= 2
    if pdb_path:
        pdb = _get(rel.inputs["values"], pdb_path)
        assert pdb["enabled"] is True and pdb.get("minAvailable", 1) < _get(rel.inputs["values"], replicas_path)
    elif pdb_path == "":
        (obj,) = [r for r in run.registrations if r.type == "kubernetes:policy/v1:PodDisruptionBudget"
                  and r.inputs["metadata"]["namespace"] == rel.inputs["namespace"]]
        labels = rel.inputs["values"]["manager"]["labels"]
        assert obj.inputs["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert obj.inputs["spec"]["maxUnavailable"] == 1 and rel.urn in obj.dependencies


def test_prod_jobset_and_coredns_keep_two():
    run = stack_run("prod")
    jobset = release_of(run, "kubeflow-trainer").inputs["values"]["jobset"]["controller"]
    assert jobset["replicas"] >= 2 and jobset["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    import json

    (coredns,) = [r for r in run.registrations if r.type == "aws:eks/addon:Addon"
                  and r.inputs["addonName"] == "coredns"]
    assert json.loads(coredns.inputs["configurationValues"])["replicaCount"] == 2


def test_single_replica_controllers_never_carry_a_budget_that_blocks_every_eviction():
    """dev runs one replica each: a minAvailable budget there would stall every node drain."""
    run = stack_run("dev")
    for chart, (replicas_path, pdb_path) in HA.items():
        rels = [r for r in run.registrations if r.type == RELEASE and chart_of(r) == chart]
        if not rels:
            continue
        rel = rels[0]
        if _get(rel.inputs["values"], replicas_path) != 1 or not pdb_path:
            continue
        assert _get(rel.inputs["values"], pdb_path)["enabled"] is False, chart
    assert not [r for r in run.registrations if r.type == "kubernetes:policy/v1:PodDisruptionBudget"
                and r.name == "training-trainer-pdb"]


def test_controller_replicas_is_validated():
    from components.config import ConfigError
    from tests.helpers import minimal_config

    with pytest.raises(ConfigError) as exc:
        minimal_config(controllerReplicas=0)
    assert exc.value.key == "controllerReplicas"

