"""Pure add-on planning functions, no Pulumi: IAM documents, Helm values, manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import conventions as cv
from components.addons import iam, manifests, values
from components.addons.iam import Scope

COMMERCIAL = Scope(partition="aws", region="us-west-2", account="123456789012", cluster_name="ml-prod")
GOVCLOUD = Scope(partition="aws-us-gov", region="us-gov-west-1", account="210987654321", cluster_name="ml-gov")
NODE_ROLE = "arn:aws:iam::123456789012:role/karpenter-node-abc"
QUEUE = "arn:aws:sqs:us-west-2:123456789012:karpenter-ml-prod"

#: Actions that turn a role into an administrator when granted on every resource.
ESCALATION = {"iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
              "iam:AttachUserPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:CreateAccessKey",
              "iam:UpdateAssumeRolePolicy", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:*",
              "sts:AssumeRole"}


def as_list(v):
    return [v] if isinstance(v, str) else list(v)


def by_sid(doc):
    return {s["Sid"]: s for s in doc["Statement"]}


def allowing(doc, action):
    return [s for s in doc["Statement"] if s["Effect"] == "Allow" and action in as_list(s["Action"])]


CONTROLLER_POLICIES = {
    "lb-controller": lambda s: iam.lb_controller_policy(s),
    "karpenter": lambda s: iam.karpenter_controller_policy(s, NODE_ROLE, QUEUE),
    "cluster-autoscaler": lambda s: iam.cluster_autoscaler_policy(s),
    "fsx-csi": lambda s: iam.fsx_csi_policy(s),
}


# --------------------------------------------------------------------------- IAM: properties of every policy


@pytest.mark.parametrize("policy", sorted(CONTROLLER_POLICIES))
def test_no_wildcard_actions_and_no_escalation_on_every_resource(policy):
    doc = CONTROLLER_POLICIES[policy](COMMERCIAL)
    assert doc["Version"] == "2012-10-17"
    for st in doc["Statement"]:
        acts = as_list(st["Action"])
        assert all(a != "*" and not a.endswith(":*") for a in acts), st["Sid"]
        if st["Resource"] == "*" or "*" in as_list(st["Resource"]):
            assert not ESCALATION & set(acts), st["Sid"]


@pytest.mark.parametrize("policy", sorted(CONTROLLER_POLICIES))
def test_arns_follow_partition_region_and_account(policy):
    doc = CONTROLLER_POLICIES[policy](GOVCLOUD)
    arns = [r for st in doc["Statement"] for r in as_list(st["Resource"]) if r.startswith("arn:")]
    arns = [a for a in arns if a not in (NODE_ROLE, QUEUE)]
    for arn in arns:
        part, service, region, account = arn.split(":")[1:5]
        assert part == "aws-us-gov", arn
        assert region in ("", "us-gov-west-1") and account in ("", "210987654321"), arn
        assert "*:*" not in arn


# --------------------------------------------------------------------------- IAM: load balancer controller


def test_lb_controller_mutations_are_scoped_to_this_clusters_tag():
    doc = iam.lb_controller_policy(COMMERCIAL)
    ours = {"aws:ResourceTag/elbv2.k8s.aws/cluster": "ml-prod"}
    for action in ("elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes",
                   "elasticloadbalancing:DeleteTargetGroup", "ec2:DeleteSecurityGroup"):
        (st,) = allowing(doc, action)
        assert st["Condition"]["StringEquals"] == ours, action
    (create,) = allowing(doc, "elasticloadbalancing:CreateLoadBalancer")
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": "ml-prod"}}
    # Changing tags on an existing load balancer may never touch (or remove) the cluster tag itself.
    retag = by_sid(doc)["RetagOwnLoadBalancers"]
    assert retag["Condition"]["Null"] == {"aws:RequestTag/elbv2.k8s.aws/cluster": "true"}
    assert retag["Condition"]["StringEquals"] == ours
    (slr,) = allowing(doc, "iam:CreateServiceLinkedRole")
    assert slr["Condition"] == {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}


def test_lb_controller_can_do_what_upstream_needs():
    granted = {a for st in iam.lb_controller_policy(COMMERCIAL)["Statement"] for a in as_list(st["Action"])}
    for needed in ("ec2:DescribeRouteTables", "elasticloadbalancing:DescribeListenerAttributes",
                   "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyIpPools",
                   "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:SetRulePriorities",
                   "wafv2:AssociateWebACL", "shield:CreateProtection", "acm:DescribeCertificate"):
        assert needed in granted


# --------------------------------------------------------------------------- IAM: Karpenter


def test_karpenter_passes_only_its_node_role_to_ec2():
    doc = iam.karpenter_controller_policy(COMMERCIAL, NODE_ROLE, QUEUE)
    (pass_role,) = allowing(doc, "iam:PassRole")
    assert pass_role["Resource"] == NODE_ROLE
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com",
                                                                               "ec2.amazonaws.com.cn"]}}


def test_karpenter_terminates_and_tags_only_what_it_launched_for_this_cluster():
    doc = iam.karpenter_controller_policy(COMMERCIAL, NODE_ROLE, QUEUE)
    (term,) = allowing(doc, "ec2:TerminateInstances")
    assert term["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/ml-prod": "owned"}
    assert term["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    launch = by_sid(doc)["AllowScopedEC2InstanceActionsWithTags"]
    assert launch["Condition"]["StringEquals"] == {"aws:RequestTag/kubernetes.io/cluster/ml-prod": "owned",
                                                   "aws:RequestTag/eks:eks-cluster-name": "ml-prod"}
    profile = by_sid(doc)["AllowScopedInstanceProfileCreationActions"]
    assert profile["Resource"] == "arn:aws:iam::123456789012:instance-profile/*"
    assert profile["Condition"]["StringEquals"]["aws:RequestTag/topology.kubernetes.io/region"] == "us-west-2"
    reads = by_sid(doc)["AllowRegionalReadActions"]
    assert reads["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}
    assert "ec2:DescribeCapacityReservations" in reads["Action"]  # reserved GPU capacity
    assert by_sid(doc)["AllowInterruptionQueueActions"]["Resource"] == QUEUE
    assert by_sid(doc)["AllowAPIServerEndpointDiscovery"]["Resource"] == \
        "arn:aws:eks:us-west-2:123456789012:cluster/ml-prod"
    assert by_sid(doc)["AllowSSMReadActions"]["Resource"] == "arn:aws:ssm:us-west-2::parameter/aws/service/*"


def test_interruption_queue_accepts_eventbridge_and_refuses_plain_http():
    doc = by_sid(iam.interruption_queue_policy(QUEUE))
    send = doc["EventBridgeSends"]
    assert send["Action"] == "sqs:SendMessage" and send["Resource"] == QUEUE
    assert send["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    deny = doc["DenyHTTP"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_interruption_events_are_upstreams_rules():
    upstream = json.loads((Path(__file__).resolve().parent.parent / "upstream/aws/karpenter-interruption-events.json")
                          .read_text())["rules"]
    ours = sorted(iam.INTERRUPTION_EVENTS.values(), key=json.dumps)
    assert ours == sorted(upstream.values(), key=json.dumps)


# --------------------------------------------------------------------------- IAM: cluster-autoscaler, FSx, keys


def test_cluster_autoscaler_resizes_only_this_clusters_groups():
    doc = iam.cluster_autoscaler_policy(COMMERCIAL)
    for action in ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"):
        (st,) = allowing(doc, action)
        assert st["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/ml-prod"] == "owned"
        assert st["Resource"].startswith("arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:")
    (ng,) = allowing(doc, "eks:DescribeNodegroup")
    assert ng["Resource"] == "arn:aws:eks:us-west-2:123456789012:nodegroup/ml-prod/*/*"


def test_fsx_driver_for_static_volumes_only_describes():
    doc = iam.fsx_csi_policy(COMMERCIAL)
    granted = {a for st in doc["Statement"] for a in as_list(st["Action"])}
    assert granted == {"fsx:DescribeFileSystems"}


def test_storage_key_lets_the_csi_role_use_it_only_through_ec2():
    role = "arn:aws:iam::123456789012:role/ebs-csi"
    doc = by_sid(iam.storage_key_policy(COMMERCIAL, [role], via_service="ec2"))
    assert doc["AccountAdministers"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    use = doc["RolesUseKey"]
    assert use["Principal"] == {"AWS": role}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}}
    assert "kms:Decrypt" in use["Action"] and "kms:GenerateDataKey*" in use["Action"]
    grant = doc["RolesGrantToAwsServices"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # Without users the key is administered by the account only (EFS/FSx use it through service grants).
    assert [s["Sid"] for s in iam.storage_key_policy(COMMERCIAL)["Statement"]] == ["AccountAdministers"]


def test_bucket_and_file_system_policies_refuse_plain_transport():
    bucket = "arn:aws:s3:::ml-prod-data-x"
    (deny,) = iam.deny_insecure_transport(bucket)["Statement"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == [bucket, f"{bucket}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    fs = by_sid(iam.efs_file_system_policy("arn:aws:elasticfilesystem:us-west-2:1:file-system/fs-1"))
    assert fs["MountThroughMountTargets"]["Condition"] == {
        "Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    assert fs["DenyInsecureTransport"]["Effect"] == "Deny"


# --------------------------------------------------------------------------- Helm values


def test_lb_controller_values_explicit_region_vpc_system_pool_and_no_forced_scheme():
    v = values.lb_controller_values(cluster_name="ml-prod", region="eu-west-1", vpc_id="vpc-1",
                                    sa_annotations={}, default_tags={"owner": "x"})
    assert (v["clusterName"], v["region"], v["vpcId"]) == ("ml-prod", "eu-west-1", "vpc-1")
    assert v["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)
    assert v["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller", "annotations": {}}
    # No IngressClassParams (its scheme would forbid opting out); the IngressClass is created by the platform.
    assert v["ingressClassParams"] == {"create": False} and v["createIngressClassResource"] is False
    assert v["enableServiceMutatorWebhook"] is True
    assert v["serviceMutatorWebhookConfig"]["failurePolicy"] == "Ignore"
    assert v["defaultTags"] == {"owner": "x"}


def test_karpenter_values_region_queue_and_system_pool():
    v = values.karpenter_values(cluster_name="ml", cluster_endpoint="https://x", region="us-east-2",
                                queue_name="karpenter-ml", sa_annotations={"eks.amazonaws.com/role-arn": "arn:r"})
    assert v["settings"] == {"clusterName": "ml", "clusterEndpoint": "https://x", "interruptionQueue": "karpenter-ml"}
    assert {"name": "AWS_REGION", "value": "us-east-2"} in v["controller"]["env"]
    assert v["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)
    assert v["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:r"}


def test_cluster_autoscaler_values_discover_this_cluster_with_matching_image():
    v = values.cluster_autoscaler_values(cluster_name="ml-prod", region="us-west-2", image_tag="v1.35.1",
                                         sa_annotations={})
    assert v["autoDiscovery"]["tags"] == ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/ml-prod"]
    assert v["image"]["tag"] == "v1.35.1" and v["awsRegion"] == "us-west-2"
    assert v["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert v["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)


def test_device_plugin_runs_only_on_nvidia_nodes_and_tolerates_the_gpu_taint():
    v = values.device_plugin_values()
    (term,) = v["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": cv.ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia"]}]}
    assert cv.gpu_toleration() in v["tolerations"]
    excluded = values.device_plugin_values(["gpu-b", "gpu-a"])
    (term,) = excluded["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": cv.POOL_LABEL, "operator": "NotIn", "values": ["gpu-a", "gpu-b"]} in term["matchExpressions"]


def test_gpu_operator_leaves_driver_and_toolkit_to_the_ami_and_nfd_tolerates_our_taint():
    v = values.gpu_operator_values()
    assert v["driver"] == {"enabled": False} and v["toolkit"] == {"enabled": False}
    assert v["node-feature-discovery"]["worker"]["tolerations"] == [cv.gpu_toleration()]
    assert v["daemonsets"]["tolerations"] == [cv.gpu_toleration()]
    assert v["operator"]["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)


def test_metrics_server_values_highly_available_on_system_pool():
    v = values.metrics_server_values()
    assert v["replicas"] == 2 and v["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert v["nodeSelector"] == dict(cv.SYSTEM_NODE_SELECTOR)


def test_fsx_chart_values_set_region_and_tolerate_all_taints():
    v = values.fsx_chart_values(region="ap-south-1", sa_annotations={})
    assert v["controller"]["region"] == "ap-south-1"
    assert v["controller"]["serviceAccount"]["name"] == "fsx-csi-controller-sa"
    assert v["node"] == {"tolerateAllTaints": True}


# --------------------------------------------------------------------------- manifests


def test_gp3_class_is_the_encrypted_customer_key_default():
    sc = manifests.gp3_storage_class("arn:aws:kms:us-west-2:1:key/k")
    assert sc["metadata"] == {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    assert sc["parameters"]["kmsKeyId"] == "arn:aws:kms:us-west-2:1:key/k"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["allowVolumeExpansion"] is True


@pytest.mark.parametrize("retain,policy", [(True, "Retain"), (False, "Delete")])
def test_efs_class_uses_access_points(retain, policy):
    sc = manifests.efs_storage_class("fs-1", retain=retain)
    assert sc["metadata"] == {"name": "efs-sc"} and sc["provisioner"] == "efs.csi.aws.com"
    p = sc["parameters"]
    assert (p["provisioningMode"], p["fileSystemId"], p["directoryPerms"]) == ("efs-ap", "fs-1", "700")
    assert p["uid"] == p["gid"] == "1000" and p["basePath"] == "/dynamic"
    assert sc["reclaimPolicy"] == policy


def test_ec2_node_class_imdsv2_hop_limit_1_encrypted_and_discovered_by_tag():
    nc = manifests.ec2_node_class("default", cluster_name="ml", role_name="role-x", ami_alias="al2023@v20260903",
                                  root_gib=100, tags={"owner": "o"})
    assert (nc["apiVersion"], nc["kind"]) == ("karpenter.k8s.aws/v1", "EC2NodeClass")
    spec = nc["spec"]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [
        {"tags": {"karpenter.sh/discovery": "ml"}}]
    (bdm,) = spec["blockDeviceMappings"]
    assert bdm["ebs"]["encrypted"] is True and bdm["ebs"]["volumeType"] == "gp3"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260903"}] and spec["role"] == "role-x"
    assert spec["tags"] == {"owner": "o"}


def test_gpu_node_pool_tainted_limited_and_scales_to_zero():
    pool = manifests.gpu_node_pool(families=["g5", "p5"], capacity_types=["spot", "on-demand"], gpu_limit=16,
                                   expire_after="720h")
    spec = pool["spec"]
    tmpl = spec["template"]["spec"]
    assert tmpl["taints"] == [{"key": cv.GPU_TAINT_KEY, "value": cv.GPU_TAINT_VALUE, "effect": "NoSchedule"}]
    assert spec["limits"] == {"nvidia.com/gpu": "16"}
    req = {r["key"]: r for r in tmpl["requirements"]}
    assert req["karpenter.k8s.aws/instance-family"]["values"] == ["g5", "p5"]
    assert req["karpenter.sh/capacity-type"]["values"] == ["spot", "on-demand"]
    assert spec["template"]["metadata"]["labels"][cv.ACCELERATOR_LABEL] == "nvidia"
    assert tmpl["expireAfter"] == "720h"
    # Scale to zero: nothing keeps a GPU node alive (no static replicas), and empty nodes are removed.
    assert "replicas" not in spec and spec["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert spec["disruption"]["consolidateAfter"] == "5m"
    assert {"nodes": "1", "reasons": ["Drifted"]} in spec["disruption"]["budgets"]


def test_cpu_node_pool_consolidates_and_never_offers_gpus():
    pool = manifests.cpu_node_pool(cpu_limit=64, expire_after="Never")
    spec = pool["spec"]
    assert spec["limits"] == {"cpu": "64"}
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert "taints" not in spec["template"]["spec"]
    req = {r["key"]: r for r in spec["template"]["spec"]["requirements"]}
    assert set(req["karpenter.k8s.aws/instance-category"]["values"]).isdisjoint({"g", "p", "inf", "trn"})
    assert set(req["karpenter.sh/capacity-type"]["values"]) == {"spot", "on-demand"}
    labels = spec["template"]["metadata"]["labels"]
    assert labels[cv.ACCELERATOR_LABEL] == "none" and labels[cv.ROLE_LABEL] == "cpu"


def test_karpenter_pool_labels_never_collide_with_managed_pool_names():
    # Managed pools are labelled with their config name; Karpenter pools get prefixed values.
    labels = [manifests.cpu_node_pool(cpu_limit=1, expire_after="1h"),
              manifests.gpu_node_pool(families=["g5"], capacity_types=["spot"], gpu_limit=1, expire_after="1h")]
    values_ = {p["spec"]["template"]["metadata"]["labels"][cv.POOL_LABEL] for p in labels}
    assert values_ == {"karpenter-cpu", "karpenter-gpu"}
