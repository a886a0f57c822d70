"""Cluster component under mocks: endpoint access, encryption, logs, access entries, pinned add-ons."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.cluster import Cluster, ClusterArgs
from tests.helpers import of_type, policy_doc, run_component

ADMIN = "arn:aws:iam::111122223333:role/PlatformAdmin"
VIEWER = "arn:aws:iam::111122223333:role/Auditor"


def build(public=False, cidrs=(), pod_subnets=(), deletion_protection=True, region="us-west-2", mode="pod-identity"):
    return run_component(lambda env: Cluster("cl", ClusterArgs(
        cluster_name="ml-test", kubernetes_version="1.35", vpc_id="vpc-123",
        private_subnet_ids=["subnet-a", "subnet-b"], endpoint_public_access=public, public_access_cidrs=list(cidrs),
        admin_role_arns=[ADMIN], read_only_role_arns=[VIEWER], log_retention_days=90,
        deletion_protection=deletion_protection, identity_mode=mode, env=env, pod_subnets=list(pod_subnets),
        tags={"owner": "t"})), region=region)


def eks_inputs(run):
    (c,) = of_type(run, "eks:index:Cluster")
    return c


def test_private_endpoint_always_on_public_off_in_prod_shape():
    c = eks_inputs(build(public=False)).inputs
    assert c["endpointPrivateAccess"] is True and c["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in c


def test_public_endpoint_only_for_allow_list():
    c = eks_inputs(build(public=True, cidrs=["203.0.113.0/24"])).inputs
    assert c["endpointPublicAccess"] is True and c["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_secrets_encrypted_with_rotating_customer_key_and_all_logs():
    run = build()
    c = eks_inputs(run)
    (key,) = of_type(run, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert c.inputs["encryptionConfigKeyArn"].endswith(f"key/{key.id}")
    assert c.inputs["encryptionConfigKeyArn"].startswith("arn:aws:kms:us-west-2:123456789012:")
    assert sorted(c.inputs["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"])
    (lg,) = [lg for lg in of_type(run, "aws:cloudwatch/logGroup:LogGroup")]
    assert lg.inputs["name"] == "/aws/eks/ml-test/cluster" and lg.inputs["retentionInDays"] == 90
    assert lg.urn in c.dependencies  # created first, or EKS makes one that never expires
    policy = policy_doc(key.inputs["policy"])
    principals = [s["Principal"] for s in policy["Statement"]]
    assert principals == [{"AWS": "arn:aws:iam::123456789012:root"}]


def test_access_mode_api_without_default_node_group_and_with_oidc():
    c = eks_inputs(build()).inputs
    assert c["authenticationMode"] == "API"
    assert c["skipDefaultNodeGroup"] is True and c["createOidcProvider"] is True
    assert c["deletionProtection"] is True
    assert c["nodeAssociatePublicIpAddress"] is False
    assert c["upgradePolicy"] == {"supportType": "STANDARD"}


def test_admin_and_view_access_entries():
    run = build()
    entries = {e.inputs["principalArn"]: e for e in of_type(run, "aws:eks/accessEntry:AccessEntry")}
    assert set(entries) == {ADMIN, VIEWER}
    assocs = {a.inputs["principalArn"]: a.inputs for a in of_type(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert assocs[ADMIN]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert assocs[VIEWER]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    assert assocs[ADMIN]["accessScope"] == {"type": "cluster"}


def test_partition_aware_arns_in_govcloud():
    run = build(region="us-gov-west-1")
    assocs = of_type(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert all(a.inputs["policyArn"].startswith("arn:aws-us-gov:eks::aws:") for a in assocs)
    attach = [a for a in of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert all(a.inputs["policyArn"].startswith("arn:aws-us-gov:iam::aws:policy/") for a in attach)


def test_core_addons_pinned_from_the_versions_table():
    run = build()
    addons = {a.inputs["addonName"]: a.inputs for a in of_type(run, "aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent"}
    for name, a in addons.items():
        assert a["addonVersion"] == versions.addon_version(name, "1.35")
    cni = json.loads(addons["vpc-cni"]["configurationValues"])
    assert cni["enableNetworkPolicy"] == "true" and cni["env"]["ENABLE_PREFIX_DELEGATION"] == "true"


def test_vpc_cni_uses_irsa_scoped_to_aws_node():
    run = build()
    cni = next(a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni")
    role = next(r for r in of_type(run, "aws:iam/role:Role") if r.outputs["arn"] == cni.inputs["serviceAccountRoleArn"])
    st = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    issuer = st["Principal"]["Federated"].split("oidc-provider/")[1]
    assert st["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:kube-system:aws-node", f"{issuer}:aud": "sts.amazonaws.com"}


def test_custom_networking_eniconfigs_per_az():
    run = build(pod_subnets=[("us-west-2a", "subnet-pa"), ("us-west-2b", "subnet-pb")])
    enis = of_type(run, "kubernetes:crd.k8s.amazonaws.com/v1alpha1:ENIConfig")
    assert {e.inputs["metadata"]["name"]: e.inputs["spec"]["subnet"] for e in enis} == {
        "us-west-2a": "subnet-pa", "us-west-2b": "subnet-pb"}
    cni = next(a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni")
    assert json.loads(cni.inputs["configurationValues"])["env"]["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "true"


@pytest.mark.parametrize("flag", [True, False])
def test_deletion_protection_follows_config(flag):
    assert eks_inputs(build(deletion_protection=flag)).inputs["deletionProtection"] is flag


def test_kubeconfig_output_is_secret():
    run = run_component(lambda env: __import__("pulumi").export("kc", Cluster("cl", ClusterArgs(
        cluster_name="ml-test", kubernetes_version="1.35", vpc_id="vpc-1", private_subnet_ids=["s"],
        endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[], read_only_role_arns=[],
        log_retention_days=90, deletion_protection=False, identity_mode="pod-identity", env=env)).kubeconfig))
    from automation.offline.monitor import secret_paths
    assert secret_paths(run.stack_outputs) == ["kc"]
    assert json.loads(run.outputs["kc"])["clusters"][0]["cluster"]["server"].startswith("https://")


def test_node_and_cluster_security_groups_open_to_each_other():
    run = build()
    c = eks_inputs(run).outputs
    node_sg = c["nodeSecurityGroupId"]
    eks_sg = next(r.state["vpcConfig"]["clusterSecurityGroupId"] for r in run.monitor.resources.values()
                  if "aws:eks/cluster:Cluster" in r.urn)
    rules = {(r.inputs["securityGroupId"], r.inputs["referencedSecurityGroupId"], r.inputs["ipProtocol"])
             for r in of_type(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert rules == {(node_sg, eks_sg, "-1"), (eks_sg, node_sg, "-1")} and node_sg != eks_sg
