"""Node groups under mocks: taints, labels, launch templates (IMDSv2, encryption), subnets, scale-to-zero."""

from __future__ import annotations

import pytest

from components.cluster import Cluster, ClusterArgs
from components.nodegroups import NODE_MANAGED_POLICIES, NodeGroups, NodeGroupsArgs
from tests.helpers import minimal_config, of_type, run_component

PRIVATE = ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]

GROUPS = {
    "system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3},
    "gpu": {"instanceTypes": ["g5.xlarge", "g6.xlarge"], "capacityType": "SPOT", "minSize": 0, "maxSize": 4},
    "h100": {"instanceTypes": ["p5.48xlarge"], "amiType": "BOTTLEROCKET_x86_64_NVIDIA", "maxSize": 2, "efa": True},
    "byo": {"kind": "self-managed", "instanceTypes": ["m6i.xlarge"], "amiId": "ami-0123456789abcdef0",
            "minSize": 1, "maxSize": 2},
}


def build(groups=GROUPS, autoscaler=False):
    cfg = minimal_config(nodeGroups=groups)

    def body(env):
        cluster = Cluster("cl", ClusterArgs(
            cluster_name="ml-test", kubernetes_version=cfg.kubernetesVersion, vpc_id="vpc-1",
            private_subnet_ids=PRIVATE, endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[],
            read_only_role_arns=[], log_retention_days=30, deletion_protection=False, identity_mode="pod-identity",
            env=env))
        NodeGroups("ng", NodeGroupsArgs(cluster=cluster, groups=cfg.nodeGroups, subnet_ids=PRIVATE,
                                        kubernetes_version=cfg.kubernetesVersion, cluster_autoscaler=autoscaler,
                                        env=env, depends_on=cluster.networking_ready))

    return run_component(body)


@pytest.fixture(scope="module")
def run():
    return build()


def mng(run, pool):
    return run.one("eks:index:ManagedNodeGroup", f"ng-{pool}")


def test_gpu_pools_tainted_and_labelled_scale_to_zero(run):
    gpu = mng(run, "gpu").inputs
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert gpu["labels"]["mlplatform.io/role"] == "gpu" and gpu["labels"]["mlplatform.io/accelerator"] == "nvidia"
    assert gpu["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 4}
    assert gpu["capacityType"] == "SPOT" and gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu["ignoreScalingChanges"] is True


def test_system_pool_is_on_demand_untainted_and_labelled(run):
    sysng = mng(run, "system").inputs
    assert sysng["taints"] == [] and sysng["capacityType"] == "ON_DEMAND"
    assert sysng["labels"]["mlplatform.io/role"] == "system"


def test_launch_templates_require_imdsv2_hop_limit_1_and_encrypt(run):
    lts = {lt.name: lt.inputs for lt in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate")}
    assert set(lts) == {"ng-system-lt", "ng-gpu-lt", "ng-h100-lt"}
    for lt in lts.values():
        md = lt["metadataOptions"]
        assert md["httpTokens"] == "required" and md["httpPutResponseHopLimit"] == 1
        for bdm in lt["blockDeviceMappings"]:
            assert bdm["ebs"]["encrypted"] == "true" and bdm["ebs"]["volumeType"] == "gp3"
    assert max(b["ebs"]["volumeSize"] for b in lts["ng-gpu-lt"]["blockDeviceMappings"]) >= 100
    assert mng(run, "gpu").inputs["launchTemplate"]["id"] == run.one("aws:ec2/launchTemplate:LaunchTemplate", "ng-gpu-lt").id


def test_every_node_group_only_in_private_subnets(run):
    for ng in of_type(run, "eks:index:ManagedNodeGroup"):
        assert set(ng.inputs["subnetIds"]) <= set(PRIVATE)
    (byo,) = of_type(run, "eks:index:NodeGroupV2")
    assert byo.inputs["nodeSubnetIds"] == PRIVATE and byo.inputs["nodeAssociatePublicIpAddress"] is False


def test_efa_pool_single_az_placement_group_and_efa_interface(run):
    h100 = mng(run, "h100").inputs
    assert h100["subnetIds"] == PRIVATE[:1]
    lt = run.one("aws:ec2/launchTemplate:LaunchTemplate", "ng-h100-lt").inputs
    assert lt["networkInterfaces"][0]["interfaceType"] == "efa"
    (pg,) = of_type(run, "aws:ec2/placementGroup:PlacementGroup")
    assert pg.inputs["strategy"] == "cluster" and lt["placement"]["groupName"] == pg.outputs["name"]
    assert [b["deviceName"] for b in lt["blockDeviceMappings"]] == ["/dev/xvda", "/dev/xvdb"]


def test_self_managed_group_uses_configured_ami_and_node_access_entry(run):
    (byo,) = of_type(run, "eks:index:NodeGroupV2")
    assert byo.inputs["amiId"] == "ami-0123456789abcdef0"
    assert byo.inputs["nodeRootVolumeEncrypted"] is True
    entries = [e for e in of_type(run, "aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2_LINUX"]
    assert len(entries) == 1


def test_node_role_has_only_the_node_policies(run):
    role = run.one("aws:iam/role:Role", "ng-node-role")
    attached = [a.inputs["policyArn"].rsplit("/", 1)[-1] for a in of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == role.outputs["name"]]
    assert sorted(attached) == sorted(NODE_MANAGED_POLICIES)
    assert "AmazonEKS_CNI_Policy" not in attached  # aws-node has its own IRSA role


def test_coredns_waits_for_the_system_pool(run):
    coredns = next(a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "coredns")
    assert mng(run, "system").urn in coredns.dependencies
    assert '"mlplatform.io/role": "system"' in coredns.inputs["configurationValues"]


def test_cluster_autoscaler_tags_for_scale_from_zero():
    run = build(groups={k: v for k, v in GROUPS.items() if k in ("system", "gpu")}, autoscaler=True)
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in of_type(run, "aws:autoscaling/tag:Tag")}
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/label/mlplatform.io/pool"] in ("gpu", "system")
    assert not of_type(build(groups={"system": GROUPS["system"]}), "aws:autoscaling/tag:Tag")


def test_pool_urns_are_keyed_by_name():
    a = build(groups={"system": GROUPS["system"], "gpu": GROUPS["gpu"]})
    b = build(groups={"system": GROUPS["system"], "extra": GROUPS["gpu"], "gpu": GROUPS["gpu"]})
    urn = lambda run: {r.urn for r in of_type(run, "eks:index:ManagedNodeGroup") if r.name == "ng-gpu"}
    assert urn(a) == urn(b)


def test_nodes_carry_exactly_one_cluster_tagged_security_group(run):
    # Two SGs tagged kubernetes.io/cluster/<name> on one ENI break the Load Balancer Controller.
    (eks_cluster,) = of_type(run, "eks:index:Cluster")
    node_sg = eks_cluster.outputs["nodeSecurityGroupId"]
    for lt in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate"):
        sgs = lt.inputs.get("vpcSecurityGroupIds") or lt.inputs["networkInterfaces"][0]["securityGroups"]
        assert sgs == [node_sg], lt.name
