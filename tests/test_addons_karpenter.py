"""Karpenter under mocks: controller identity, node role and access entry, interruption queue, node classes, pools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import conventions as cv
from components import versions
from components.addons.karpenter import Karpenter, KarpenterArgs
from tests.addon_helpers import CLUSTER, TAGS, attached_policy, deps, release, run_addon, statements
from tests.helpers import of_type, policy_doc

#: Karpenter's interruption rules at the vendored version (upstream/aws/karpenter-interruption-events.json).
UPSTREAM_RULES = json.loads((Path(__file__).resolve().parent.parent / "upstream/aws/karpenter-interruption-events.json")
                            .read_text())["rules"]

NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def build(gpu_limit=8, families=("g5", "g6e"), capacity=("spot", "on-demand"), mode="pod-identity"):
    return run_addon(lambda t, cfg: Karpenter("kp", KarpenterArgs(
        target=t, cpu_limit=128, gpu_limit=gpu_limit, gpu_instance_families=families, gpu_capacity_types=capacity,
        expire_after="336h", tags=TAGS)), mode=mode)


@pytest.fixture(scope="module")
def run():
    return build()


def pool(run, name):
    (p,) = [p for p in of_type(run, NODEPOOL) if p.inputs["metadata"]["name"] == name]
    return p


def test_controller_from_pinned_oci_chart_on_system_pool(run):
    rel = release(run, "kp-release")
    pin = versions.HELM_CHARTS["karpenter"]
    assert rel.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter" and rel.inputs["version"] == pin.version
    assert "repositoryOpts" not in rel.inputs or not rel.inputs["repositoryOpts"]
    v = rel.inputs["values"]
    assert v["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR) and rel.inputs["namespace"] == "kube-system"
    queue = run.one("aws:sqs/queue:Queue", "kp-interruptions")
    assert v["settings"]["interruptionQueue"] == queue.outputs["name"] and v["settings"]["clusterName"] == CLUSTER
    assert {"name": "AWS_REGION", "value": "us-west-2"} in v["controller"]["env"]
    assert {"kp-identity-association", "ng-system"} <= deps(run, rel)


def test_controller_policy_passes_only_the_node_role(run):
    doc = statements(attached_policy(run, "kp-identity"))
    role = run.one("aws:iam/role:Role", "kp-node-role")
    queue = run.one("aws:sqs/queue:Queue", "kp-interruptions")
    assert doc["AllowPassingInstanceRole"]["Resource"] == role.outputs["arn"]
    assert doc["AllowInterruptionQueueActions"]["Resource"] == queue.outputs["arn"]
    assert doc["AllowScopedDeletion"]["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}


def test_node_role_and_access_entry(run):
    role = run.one("aws:iam/role:Role", "kp-node-role")
    trust = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    attached = {r.inputs["policyArn"].rsplit("/", 1)[1] for r in
                of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r.name.startswith("kp-node-")}
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"}
    entry = run.one("aws:eks/accessEntry:AccessEntry", "kp-node-access")
    assert entry.inputs["type"] == "EC2_LINUX" and entry.inputs["principalArn"] == role.outputs["arn"]


def test_interruption_queue_encrypted_tls_only_and_fed_by_upstreams_rules(run):
    queue = run.one("aws:sqs/queue:Queue", "kp-interruptions")
    assert queue.inputs["sqsManagedSseEnabled"] is True and queue.inputs["messageRetentionSeconds"] == 300
    (qp,) = of_type(run, "aws:sqs/queuePolicy:QueuePolicy")
    doc = statements(qp.inputs["policy"])
    assert doc["DenyHTTP"]["Effect"] == "Deny"
    assert doc["EventBridgeSends"]["Principal"]["Service"] == ["events.amazonaws.com", "sqs.amazonaws.com"]
    rules = of_type(run, "aws:cloudwatch/eventRule:EventRule")
    patterns = sorted((json.loads(r.inputs["eventPattern"]) for r in rules), key=json.dumps)
    assert patterns == sorted(UPSTREAM_RULES.values(), key=json.dumps)  # upstream's CloudFormation template
    targets = of_type(run, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == len(UPSTREAM_RULES) and all(t.inputs["arn"] == queue.outputs["arn"] for t in targets)
    assert {t.inputs["rule"] for t in targets} == {r.outputs["name"] for r in rules}


def test_node_classes_imdsv2_encrypted_discovered_and_after_the_release(run):
    classes = {c.inputs["metadata"]["name"]: c for c in of_type(run, NODECLASS)}
    assert set(classes) == {"default", "gpu"}
    role = run.one("aws:iam/role:Role", "kp-node-role")
    for c in classes.values():
        spec = c.inputs["spec"]
        assert spec["metadataOptions"]["httpTokens"] == "required"
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
        assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": CLUSTER}}]
        assert spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": CLUSTER}}]
        assert spec["amiSelectorTerms"] == [{"alias": versions.KARPENTER_AMI_ALIAS}]
        assert spec["role"] == role.outputs["name"] and spec["tags"] == TAGS
        assert {"kp-release", "kp-node-access"} <= deps(run, c)
        assert "namespace" not in c.inputs["metadata"]  # cluster-scoped


def test_gpu_pool_tainted_limited_and_scales_to_zero(run):
    gpu = pool(run, "gpu")
    spec = gpu.inputs["spec"]
    assert spec["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert spec["limits"] == {"nvidia.com/gpu": "8"}
    req = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert req["karpenter.k8s.aws/instance-family"] == ["g5", "g6e"]
    assert req["karpenter.sh/capacity-type"] == ["spot", "on-demand"]
    assert spec["template"]["spec"]["expireAfter"] == "336h"
    assert spec["template"]["spec"]["nodeClassRef"]["name"] == "gpu"
    # No floor: nothing in the pool keeps a GPU node when no pod needs one.
    assert "replicas" not in spec and spec["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert spec["disruption"]["budgets"]
    assert {"kp-release", "kp-nodeclass-gpu"} <= deps(run, gpu)


def test_cpu_pool_spot_and_on_demand_consolidating(run):
    spec = pool(run, "cpu").inputs["spec"]
    assert spec["limits"] == {"cpu": "128"}
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    req = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert set(req["karpenter.sh/capacity-type"]) == {"spot", "on-demand"}


def test_no_gpu_pool_when_the_gpu_limit_is_zero():
    run = build(gpu_limit=0, families=())
    assert [p.inputs["metadata"]["name"] for p in of_type(run, NODEPOOL)] == ["cpu"]


def test_irsa_mode_annotates_the_karpenter_service_account():
    run = build(mode="irsa")
    role = run.one("aws:iam/role:Role", "kp-identity-role")
    sa = release(run, "kp-release").inputs["values"]["serviceAccount"]
    assert sa["name"] == "karpenter" and sa["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
