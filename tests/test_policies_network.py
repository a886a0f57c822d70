"""Network rules, through the analyzer: endpoint access, admin ports, public IPs on nodes."""

from __future__ import annotations

import pytest

from tests.policy_helpers import TAGS, Case, case_id, k8s, res, run_case

EKS = "eks:index:Cluster"
AWS_EKS = "aws:eks/cluster:Cluster"


def eks_cluster(name="c", **kw):
    inputs = {"version": "1.35", "endpointPrivateAccess": True, "endpointPublicAccess": False,
              "skipDefaultNodeGroup": True, "tags": TAGS}
    inputs.update(kw)
    return res(EKS, name, inputs)


def aws_cluster(name="c", **vpc):
    return res(AWS_EKS, name, {"version": "1.35", "roleArn": "arn:aws:iam::1:role/r", "vpcConfig": vpc, "tags": TAGS})


def nodeclass(**spec):
    return k8s("karpenter.k8s.aws/v1", "EC2NodeClass", "default", namespace=None,
               spec={"role": "r", "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "c"}}], **spec})


def sg(name, *ingress):
    return res("aws:ec2/securityGroup:SecurityGroup", name, {"vpcId": "vpc-1", "ingress": list(ingress), "tags": TAGS})


def rule(protocol="tcp", lo=443, hi=443, cidrs=("0.0.0.0/0",), v6=()):
    return {"protocol": protocol, "fromPort": lo, "toPort": hi, "cidrBlocks": list(cidrs), "ipv6CidrBlocks": list(v6)}


CASES = [
    # eks-private-endpoint: both layers, pulumi-eks defaults private access to false
    Case("eks-private-endpoint", True, eks_cluster(endpointPrivateAccess=False), label="eks-off"),
    Case("eks-private-endpoint", True, res(EKS, "unset", {"version": "1.35"}), label="eks-default"),
    Case("eks-private-endpoint", True, aws_cluster(endpointPrivateAccess=False), label="aws-off"),
    Case("eks-private-endpoint", False, eks_cluster(), label="eks-on"),
    Case("eks-private-endpoint", False, aws_cluster(endpointPrivateAccess=True), label="aws-on"),

    # eks-public-endpoint-restricted
    Case("eks-public-endpoint-restricted", True,
         eks_cluster(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"]),
         config={"eks-public-endpoint-restricted": {"allowPublicEndpoint": False}}, contains="only the private",
         label="tunable-private-only", covers=("CKV_AWS_39", "CIS 5.4.2")),
    Case("eks-public-endpoint-restricted", False, eks_cluster(),
         config={"eks-public-endpoint-restricted": {"allowPublicEndpoint": False}}, label="tunable-private-ok"),
    Case("eks-public-endpoint-restricted", True, eks_cluster(endpointPublicAccess=True), contains="0.0.0.0/0",
         label="public-no-cidrs"),
    Case("eks-public-endpoint-restricted", True, res(EKS, "default-public", {"version": "1.35"}),
         label="pulumi-eks-default-is-public"),
    Case("eks-public-endpoint-restricted", True,
         eks_cluster(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24", "::/0"]), contains="::/0",
         label="world-v6"),
    Case("eks-public-endpoint-restricted", True, aws_cluster(endpointPublicAccess=True), label="aws-default-cidrs",
         covers=('CKV_AWS_38', 'CIS 5.4.1')),
    Case("eks-public-endpoint-restricted", True,
         eks_cluster(endpointPublicAccess=True, publicAccessCidrs=["198.51.100.0/24"]),
         config={"eks-public-endpoint-restricted": {"allowedPublicCidrs": ["203.0.113.0/24"]}},
         contains="outside the allowed ranges", label="outside-allowed"),
    Case("eks-public-endpoint-restricted", False,
         eks_cluster(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/25"]),
         config={"eks-public-endpoint-restricted": {"allowedPublicCidrs": ["203.0.113.0/24"]}},
         label="inside-allowed"),
    Case("eks-public-endpoint-restricted", False, eks_cluster(), label="private-only"),
    Case("eks-public-endpoint-restricted", False,
         aws_cluster(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"]), label="aws-restricted",
              covers=('CKV_AWS_38', 'CIS 5.4.1')),

    # no-admin-ports-open-to-world: three resource shapes, port ranges, all-traffic
    Case("no-admin-ports-open-to-world", True, sg("ssh", rule(lo=22, hi=22)), contains="22", label="ssh"),
    Case("no-admin-ports-open-to-world", True, sg("range", rule(lo=2000, hi=3000)), contains="2379, 2380",
         label="etcd-in-range"),
    Case("no-admin-ports-open-to-world", True, sg("all", rule(protocol="-1", lo=0, hi=0)), contains="all traffic",
         label="all-traffic"),
    Case("no-admin-ports-open-to-world", True, sg("v6", rule(lo=10250, hi=10250, cidrs=(), v6=("::/0",))),
         label="kubelet-v6"),
    Case("no-admin-ports-open-to-world", True,
         res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api",
             {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 6443, "toPort": 6443,
              "cidrIpv4": "0.0.0.0/0"}), label="vpc-ingress-rule"),
    Case("no-admin-ports-open-to-world", True,
         res("aws:ec2/securityGroupRule:SecurityGroupRule", "rdp",
             {"type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 3389, "toPort": 3389,
              "cidrBlocks": ["0.0.0.0/0"]}), label="sg-rule"),
    Case("no-admin-ports-open-to-world", False, sg("https", rule(lo=443, hi=443)), label="https-world-ok"),
    Case("no-admin-ports-open-to-world", False, sg("ssh-vpc", rule(lo=22, hi=22, cidrs=("10.0.0.0/16",))),
         label="ssh-from-vpc"),
    Case("no-admin-ports-open-to-world", False,
         res("aws:ec2/securityGroupRule:SecurityGroupRule", "egress",
             {"type": "egress", "securityGroupId": "sg-1", "protocol": "-1", "fromPort": 0, "toPort": 0,
              "cidrBlocks": ["0.0.0.0/0"]}), label="egress-ignored"),
    Case("no-admin-ports-open-to-world", False, sg("ssh-ok", rule(lo=22, hi=22)),
         config={"no-admin-ports-open-to-world": {"adminPorts": [3389]}}, label="tunable-ports"),

    # node-subnets-no-public-ip
    Case("node-subnets-no-public-ip", True,
         res("aws:ec2/subnet:Subnet", "pub", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/24",
                                              "mapPublicIpOnLaunch": True, "tags": TAGS}), label="subnet",
                                                   covers=('CIS 5.4.3',)),
    Case("node-subnets-no-public-ip", True,
         res("aws:ec2/launchTemplate:LaunchTemplate", "lt",
             {"networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "true"}], "tags": TAGS}),
         label="launch-template"),
    Case("node-subnets-no-public-ip", True, res("eks:index:NodeGroupV2", "ng", {"cluster": "c", "instanceType": "m6i.large"}),
         contains="default it to true", label="nodegroupv2-default"),
    Case("node-subnets-no-public-ip", True, res(EKS, "default-ng", {"version": "1.35"}), label="cluster-default-ng"),
    Case("node-subnets-no-public-ip", False,
         res("aws:ec2/subnet:Subnet", "priv", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/24",
                                               "mapPublicIpOnLaunch": False, "tags": TAGS}), label="subnet",
                                                    covers=('CIS 5.4.3',)),
    Case("node-subnets-no-public-ip", False,
         res("aws:ec2/launchTemplate:LaunchTemplate", "lt-ok",
             {"networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "false"}]}), label="lt-false"),
    Case("node-subnets-no-public-ip", False,
         res("eks:index:NodeGroupV2", "ng-ok", {"cluster": "c", "nodeAssociatePublicIpAddress": False}),
         label="nodegroupv2-false"),
    Case("node-subnets-no-public-ip", False, eks_cluster(), label="cluster-skips-default-ng"),
    Case("node-subnets-no-public-ip", True, nodeclass(associatePublicIPAddress=True), label="karpenter-nodeclass"),
    Case("node-subnets-no-public-ip", False, nodeclass(), label="karpenter-nodeclass-default"),
]


ADDON = "aws:eks/addon:Addon"


def cni_addon(name="vpc-cni", config=None):
    inputs = {"clusterName": "ml", "addonName": "vpc-cni", "addonVersion": "v1.20.0-eksbuild.1", "tags": TAGS}
    if config is not None:
        inputs["configurationValues"] = config
    return res(ADDON, name, inputs)


def default_cni_cluster(name="c", **kw):
    return eks_cluster(name, useDefaultVpcCni=True, bootstrapSelfManagedAddons=False, **kw)


CASES += [
    Case("cni-enforces-network-policies", True, [default_cni_cluster(), cni_addon(config='{"env": {}}')],
         contains="enableNetworkPolicy is unset", label="addon-without-policy", covers=("CIS 4.3.1", "CIS 5.4.4")),
    Case("cni-enforces-network-policies", True, [default_cni_cluster()], contains="no CNI that enforces",
         label="cluster-without-cni-config", covers=("CIS 4.3.1", "CIS 5.4.4")),
    Case("cni-enforces-network-policies", True,
         [eks_cluster(useDefaultVpcCni=False, vpcCniOptions={"enablePrefixDelegation": True})],
         contains="vpcCniOptions.enableNetworkPolicy", label="pulumi-eks-cni-without-policy"),
    Case("cni-enforces-network-policies", True,
         [res("eks:index:VpcCniAddon", "cni", {"clusterName": "ml", "enableNetworkPolicy": False})],
         label="vpccniaddon-off"),
    Case("cni-enforces-network-policies", False,
         [default_cni_cluster(), cni_addon(config='{"enableNetworkPolicy": "true", "env": {"WARM_PREFIX_TARGET": "1"}}')],
         label="addon-with-policy", covers=("CIS 4.3.1", "CIS 5.4.4")),
    Case("cni-enforces-network-policies", False,
         [default_cni_cluster(), cni_addon(config="enableNetworkPolicy: 'true'\n")], label="yaml-configuration"),
    Case("cni-enforces-network-policies", False,
         [eks_cluster(useDefaultVpcCni=False, vpcCniOptions={"enableNetworkPolicy": True})],
         label="pulumi-eks-cni-with-policy"),
    Case("cni-enforces-network-policies", False,
         [default_cni_cluster(), res("kubernetes:helm.sh/v3:Release", "cilium",
                                     {"chart": "cilium", "namespace": "kube-system", "version": "1.18.0"})],
         label="cilium"),
    Case("cni-enforces-network-policies", False, [res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})],
         label="no-cluster"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_network_rules(case: Case) -> None:
    run_case(case)
