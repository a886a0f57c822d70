"""The add-on layer in both shipped stacks (and their IRSA variants): identity trust, protection, ordering, facts."""

from __future__ import annotations

import functools
import importlib
import inspect
import json

import pytest

from automation.offline.runner import run_program
from components import conventions as cv
from components import versions
from components import stack_outputs as out
from tests.helpers import of_type, stack_run

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
EKS_ADDON = "aws:eks/addon:Addon"
ADDON_LAYER = "mlplatform:addons:"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
STACKS = ("dev", "prod")

#: Installers (Helm releases, EKS add-ons) another installer may wait for, and why. Nothing else is allowed.
JUSTIFIED_UPSTREAM = {
    # Nodes never become Ready without the CNI, and every add-on needs a Ready node.
    "cluster-vpc-cni": "the system node group waits for the VPC CNI",
    # Pods using Pod Identity get AWS credentials only through the agent.
    "cluster-eks-pod-identity-agent": "controllers with Pod Identity wait for the agent",
    # On a Kubernetes minor upgrade kube-proxy moves to the new minor's build before any node group rolls.
    "cluster-kube-proxy": "node groups wait for kube-proxy",
    # CRDs installed apart from their charts come before the controller that serves them (components/crds.py).
    "addons-karpenter-crds": "the Karpenter controller waits for its CRDs (karpenter-crd chart)",
    "observability-prometheus-crds": "kube-prometheus-stack waits for the Prometheus Operator CRDs",
}


@functools.lru_cache(maxsize=None)
def irsa_run(stack):
    return run_program(stack, overrides={"identityMode": "irsa"})


def runs():
    for stack in STACKS:
        yield f"{stack}", stack_run(stack)
        yield f"{stack}-irsa", irsa_run(stack)


def in_layer(reg):
    return ADDON_LAYER in reg.urn


def as_list(v):
    return [v] if isinstance(v, str) else list(v or [])


# --------------------------------------------------------------------------- workload identity


def oidc_statements(role):
    doc = json.loads(role.inputs["assumeRolePolicy"])
    for st in doc["Statement"]:
        fed = as_list((st.get("Principal") or {}).get("Federated") if isinstance(st.get("Principal"), dict) else [])
        if any(":oidc-provider/" in p for p in fed):
            yield st


@pytest.mark.parametrize("label", [f"{s}{v}" for s in STACKS for v in ("", "-irsa")])
def test_every_oidc_trusting_role_pins_sub_and_aud(label):
    run = dict(runs())[label]
    checked = 0
    for role in of_type(run, "aws:iam/role:Role"):
        for st in oidc_statements(role):
            checked += 1
            assert as_list(st["Action"]) == ["sts:AssumeRoleWithWebIdentity"], role.name
            eq = (st.get("Condition") or {}).get("StringEquals") or {}
            subs = [v for k, v in eq.items() if k.endswith(":sub")]
            auds = [v for k, v in eq.items() if k.endswith(":aud")]
            assert len(subs) == 1, f"{role.name}: no StringEquals :sub"
            for sub in as_list(subs[0]):
                assert sub.startswith("system:serviceaccount:") and not set("*?") & set(sub), f"{role.name}: {sub}"
            assert auds == ["sts.amazonaws.com"], f"{role.name}: :aud must be sts.amazonaws.com"
            assert "StringLike" not in st.get("Condition", {}), role.name
    # The walk is not vacuous: at least the VPC CNI role trusts OIDC, and in IRSA mode every add-on role does.
    addon_roles = [r for r in of_type(run, "aws:iam/role:Role") if in_layer(r) and r.name.endswith("-identity-role")]
    assert checked >= (1 + len(addon_roles) if label.endswith("irsa") else 1)


@pytest.mark.parametrize("stack", STACKS)
def test_addon_identities_use_pod_identity_by_default_and_irsa_on_request(stack):
    pod = stack_run(stack)
    roles = [r for r in of_type(pod, "aws:iam/role:Role") if in_layer(r) and r.name.endswith("-identity-role")]
    assert roles
    for r in roles:
        (st,) = json.loads(r.inputs["assumeRolePolicy"])["Statement"]
        assert st["Principal"] == {"Service": "pods.eks.amazonaws.com"}, r.name
    assocs = {r.name for r in of_type(pod, "aws:eks/podIdentityAssociation:PodIdentityAssociation") if in_layer(r)}
    assert assocs == {r.name.replace("-role", "-association") for r in roles}
    irsa = irsa_run(stack)
    assert not [r for r in of_type(irsa, "aws:eks/podIdentityAssociation:PodIdentityAssociation") if in_layer(r)]
    # In IRSA mode the binding moves to the chart's ServiceAccount annotation or the add-on's role ARN.
    for addon in (r for r in of_type(irsa, EKS_ADDON) if in_layer(r)):
        assert addon.inputs["serviceAccountRoleArn"].startswith("arn:aws:iam::"), addon.name
    lbc = irsa.one(HELM_RELEASE, "addons-lb-controller-release")
    assert "eks.amazonaws.com/role-arn" in lbc.inputs["values"]["serviceAccount"]["annotations"]


# --------------------------------------------------------------------------- ordering


def runs_no_pods(reg):
    """A CRD chart's release (components/crds.py): it creates no pods, so it waits for no node or agent."""
    return reg.type == HELM_RELEASE and reg.inputs["chart"].rsplit("/", 1)[-1] in {
        pin.chart for pin in versions.CRD_CHARTS.values()}


def closure(run, reg):
    by_urn = {r.urn: r for r in run.registrations}
    seen, stack = set(), list(reg.dependencies)
    while stack:
        urn = stack.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        stack.extend(by_urn[urn].dependencies)
    return [by_urn[u] for u in seen]


@pytest.mark.parametrize("stack", STACKS)
def test_addons_install_in_parallel(stack):
    """No Helm release or EKS add-on of the stack waits (even transitively) for another, bar the justified."""
    run = stack_run(stack)
    installers = [r for r in run.registrations if r.type in (HELM_RELEASE, EKS_ADDON)]
    assert len([r for r in installers if in_layer(r)]) >= 5
    for inst in installers:
        upstream = closure(run, inst)
        chained = {r.name for r in upstream if r.type in (HELM_RELEASE, EKS_ADDON)} - set(JUSTIFIED_UPSTREAM)
        assert not chained, f"{inst.name} waits for {sorted(chained)}"
        if in_layer(inst) and not runs_no_pods(inst):
            assert "nodes-system" in {r.name for r in upstream}, inst.name  # ...but for a schedulable node


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_objects_wait_for_their_crds_and_classes_for_their_driver(stack):
    run = stack_run(stack)
    release = run.one(HELM_RELEASE, "addons-karpenter-release")
    for cr in [*of_type(run, NODEPOOL), *of_type(run, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")]:
        assert release.urn in cr.dependencies, cr.name
    for sc in of_type(run, "kubernetes:storage.k8s.io/v1:StorageClass"):
        drivers = [r for r in closure(run, sc) if r.type == EKS_ADDON and in_layer(r)]
        assert len(drivers) == 1, sc.name


# --------------------------------------------------------------------------- stack facts


def test_prod_has_fsx_and_cluster_autoscaler_dev_has_neither():
    prod, dev = stack_run("prod"), stack_run("dev")
    (fs,) = of_type(prod, "aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.inputs["deploymentType"] == "PERSISTENT_2" and fs.inputs["storageCapacity"] == 2400
    assert fs.inputs["perUnitStorageThroughput"] == 500
    private = sorted(s.id for s in of_type(prod, "aws:ec2/subnet:Subnet")
                     if s.inputs["tags"]["mlplatform.io/subnet-tier"] == "private")
    assert fs.inputs["subnetIds"] in private
    assert [r.inputs["chart"] for r in of_type(prod, HELM_RELEASE) if r.name == "addons-cluster-autoscaler-release"] \
        == ["cluster-autoscaler"]
    assert prod.outputs[out.FSX_FILE_SYSTEM_ID] == fs.id
    assert not of_type(dev, "aws:fsx/lustreFileSystem:LustreFileSystem")
    assert not [r for r in of_type(dev, HELM_RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    assert not [r for r in of_type(dev, EKS_ADDON) if r.inputs["addonName"] == "aws-fsx-csi-driver"]
    assert out.FSX_FILE_SYSTEM_ID not in dev.outputs


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_with_a_tainted_limited_gpu_pool(stack):
    run = stack_run(stack)
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in of_type(run, NODEPOOL)}
    assert set(pools) == {"cpu", "gpu"}
    gpu = pools["gpu"]
    assert {"key": cv.GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"} in gpu["template"]["spec"]["taints"]
    limit = {"dev": "4", "prod": "32"}[stack]
    assert gpu["limits"] == {"nvidia.com/gpu": limit}
    families = {"dev": ["g5", "g6", "g6e"], "prod": ["g5", "g6e", "p5"]}[stack]
    req = {r["key"]: r["values"] for r in gpu["template"]["spec"]["requirements"]}
    assert req["karpenter.k8s.aws/instance-family"] == families
    assert gpu["disruption"]["consolidationPolicy"] == "WhenEmpty"


@pytest.mark.parametrize("stack", STACKS)
def test_lb_controller_on_system_pool_and_exposed_to_workloads(stack):
    run = stack_run(stack)
    rel = run.one(HELM_RELEASE, "addons-lb-controller-release")
    assert rel.inputs["chart"] == "aws-load-balancer-controller"
    assert rel.inputs["values"]["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)
    vpc = of_type(run, "aws:ec2/vpc:Vpc")[0]
    assert rel.inputs["values"]["vpcId"] == vpc.id and rel.inputs["values"]["region"] == "us-west-2"


@pytest.mark.parametrize("stack", STACKS)
def test_exactly_one_default_storage_class(stack):
    run = stack_run(stack)
    defaults = [sc.inputs["metadata"]["name"] for sc in of_type(run, "kubernetes:storage.k8s.io/v1:StorageClass")
                if (sc.inputs["metadata"].get("annotations") or {}).get(
                    "storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["gp3"]
    assert run.outputs[out.DEFAULT_STORAGE_CLASS] == "gp3" and run.outputs[out.EFS_STORAGE_CLASS] == "efs-sc"


def test_gpu_stack_skips_prods_bottlerocket_pool():
    v = stack_run("prod").one(HELM_RELEASE, "addons-gpu-release").inputs["values"]
    (term,) = v["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": cv.POOL_LABEL, "operator": "NotIn", "values": ["gpu-a10g"]} in term["matchExpressions"]


# --------------------------------------------------------------------------- data protection and tags


DATA_TYPES = ("aws:s3/bucket:Bucket", "aws:efs/fileSystem:FileSystem", "aws:fsx/lustreFileSystem:LustreFileSystem")


def test_prod_data_is_protected_and_retained_dev_is_deletable():
    prod, dev = stack_run("prod"), stack_run("dev")
    prod_stores = [r for t in DATA_TYPES for r in of_type(prod, t) if in_layer(r)]
    assert {r.type for r in prod_stores} == set(DATA_TYPES)
    for r in prod_stores:
        assert r.options["protect"] and r.options["retainOnDelete"], r.name
    dev_stores = [r for t in DATA_TYPES for r in of_type(dev, t) if in_layer(r)]
    assert dev_stores
    for r in dev_stores:
        assert not r.options["protect"] and not r.options["retainOnDelete"], r.name
    (bucket,) = of_type(dev, "aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True


@functools.lru_cache(maxsize=None)
def accepts_tags(type_token: str) -> bool:
    pkg, rest = type_token.split(":", 1)
    module, cls = rest.split(":")
    mod = importlib.import_module(f"pulumi_{pkg}.{module.split('/')[0]}")
    return "tags" in inspect.signature(getattr(mod, cls)._internal_init).parameters


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_addon_resource_carries_the_stack_tags(stack):
    run = stack_run(stack)
    required = {"owner", "cost-center", "environment"}
    tagged = 0
    for r in run.registrations:
        if r.custom and r.type.startswith("aws:") and in_layer(r) and accepts_tags(r.type):
            assert required <= set(r.inputs.get("tags") or {}), f"{r.type} {r.name}"
            tagged += 1
    assert tagged > 20
    for nc in of_type(run, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        assert required <= set(nc.inputs["spec"]["tags"])  # instances Karpenter launches are tagged too


@pytest.mark.parametrize("stack", STACKS)
def test_every_addon_kms_key_rotates(stack):
    keys = [k for k in of_type(stack_run(stack), "aws:kms/key:Key") if in_layer(k)]
    assert len(keys) == {"dev": 2, "prod": 3}[stack]
    assert all(k.inputs["enableKeyRotation"] is True for k in keys)


@pytest.mark.parametrize("stack", STACKS)
def test_controllers_wait_for_the_pod_identity_agent_only_in_pod_identity_mode(stack):
    for run, expect in ((stack_run(stack), True), (irsa_run(stack), False)):
        agent = next(r for r in of_type(run, EKS_ADDON) if r.inputs["addonName"] == "eks-pod-identity-agent")
        for rel in (r for r in of_type(run, HELM_RELEASE) if in_layer(r) and not runs_no_pods(r)):
            assert (agent.urn in closure_urns(run, rel)) is expect, rel.name


def closure_urns(run, reg):
    return {r.urn for r in closure(run, reg)}
