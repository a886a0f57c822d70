"""Network rules: the API endpoint, security groups and public IPs on nodes.

Every rule checks both layers: the pulumi-eks component inputs (what our
program writes, visible offline) and the AWS resources underneath (what
pulumi-eks or any other code creates, visible under the engine). The VPC
flow-log rule is a stack rule (see ``stack.py``).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from guardrails._meta import Ctx, resource_rule
from guardrails.common import as_list, cidr_within, flag, is_karpenter, is_world, obj, to_int

EKS_CLUSTER = "eks:index:Cluster"
AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster"


@resource_rule(
    name="eks-private-endpoint",
    description="The EKS API server must be reachable on a private endpoint inside the VPC.",
    remediation="Set endpointPrivateAccess=true (pulumi-eks Cluster, or vpcConfig.endpointPrivateAccess on "
                "aws.eks.Cluster) so nodes and in-VPC tooling never leave the VPC to reach the API server.",
    types=(EKS_CLUSTER, AWS_EKS_CLUSTER),
)
def eks_private_endpoint(props: dict, ctx: Ctx) -> Iterable[str]:
    value = props.get("endpointPrivateAccess") if ctx.type == EKS_CLUSTER \
        else obj(props.get("vpcConfig")).get("endpointPrivateAccess")
    if flag(value) is not True:
        yield ("the private API endpoint is off (endpointPrivateAccess is not true; both pulumi-eks and EKS "
               "default it to false)")


@resource_rule(
    name="eks-public-endpoint-restricted",
    description="A public EKS API endpoint must be limited to known CIDRs, never the whole internet.",
    remediation="Turn the public endpoint off (endpointPublicAccess=false), or set publicAccessCidrs to the "
                "office/VPN ranges (none of them 0.0.0.0/0 or ::/0, all inside the allowedPublicCidrs setting).",
    types=(EKS_CLUSTER, AWS_EKS_CLUSTER),
    config={
        "allowedPublicCidrs": {
            "type": "array", "items": {"type": "string"}, "default": [],
            "description": "When non-empty, every public-access CIDR must fall inside one of these ranges.",
        },
    },
)
def eks_public_endpoint_restricted(props: dict, ctx: Ctx) -> Iterable[str]:
    src = props if ctx.type == EKS_CLUSTER else obj(props.get("vpcConfig"))
    # Both pulumi-eks and EKS default the public endpoint to on.
    if flag(src.get("endpointPublicAccess")) is False:
        return
    cidrs = [str(c) for c in as_list(src.get("publicAccessCidrs"))]
    if not cidrs:
        yield "the public API endpoint is on with no publicAccessCidrs, which defaults to 0.0.0.0/0"
        return
    for c in cidrs:
        if is_world(c):
            yield f"the public API endpoint is open to {c}"
    allowed = [str(a) for a in ctx.config.get("allowedPublicCidrs") or []]
    if allowed:
        for c in cidrs:
            if not is_world(c) and not cidr_within(c, allowed):
                yield f"public access CIDR {c} is outside the allowed ranges {allowed}"


ADMIN_PORTS_DEFAULT = [22, 3389, 6443, 10250, 2379, 2380]


def _open_admin_ports(protocol: Any, from_port: Any, to_port: Any, cidrs: list, ports: list[int]) -> Optional[str]:
    world = [str(c) for c in cidrs if is_world(c)]
    if not world:
        return None
    proto = str(protocol if protocol is not None else "").lower()
    if proto in ("-1", "all"):
        return f"all traffic from {', '.join(world)}"
    if proto not in ("tcp", "6", "udp", "17"):
        return None
    lo, hi = to_int(from_port), to_int(to_port)
    lo = 0 if lo is None else lo
    hi = 65535 if hi is None else hi
    if lo <= 0 and hi >= 65535:
        return f"every {proto} port from {', '.join(world)}"
    hit = sorted(p for p in ports if lo <= p <= hi)
    if hit:
        return f"{proto} port(s) {', '.join(map(str, hit))} from {', '.join(world)}"
    return None


@resource_rule(
    name="no-admin-ports-open-to-world",
    description="No security group may open SSH, RDP, the Kubernetes API, kubelet, etcd or all ports to 0.0.0.0/0 or ::/0.",
    remediation="Restrict the rule's source to a security group or a known CIDR; reach nodes through SSM "
                "Session Manager instead of SSH.",
    types=("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
           "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:ec2/securityGroupRule:SecurityGroupRule"),
    config={
        "adminPorts": {
            "type": "array", "items": {"type": "integer"}, "default": ADMIN_PORTS_DEFAULT,
            "description": "Ports that must never be open to the internet.",
        },
    },
)
def no_admin_ports_open_to_world(props: dict, ctx: Ctx) -> Iterable[str]:
    ports = [int(p) for p in ctx.config.get("adminPorts") or []]
    if ctx.type in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        for i, rule in enumerate(as_list(props.get("ingress"))):
            if not isinstance(rule, dict):
                continue
            cidrs = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
            hit = _open_admin_ports(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"), cidrs, ports)
            if hit:
                yield f"ingress[{i}] opens {hit}"
    elif ctx.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = as_list(props.get("cidrIpv4")) + as_list(props.get("cidrIpv6"))
        hit = _open_admin_ports(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), cidrs, ports)
        if hit:
            yield f"the ingress rule opens {hit}"
    elif str(props.get("type", "")).lower() == "ingress":
        cidrs = as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))
        hit = _open_admin_ports(props.get("protocol"), props.get("fromPort"), props.get("toPort"), cidrs, ports)
        if hit:
            yield f"the ingress rule opens {hit}"


@resource_rule(
    name="node-subnets-no-public-ip",
    description="Nodes must not get public IP addresses: no subnet maps public IPs on launch, no launch template "
                "or instance asks for one, and pulumi-eks self-managed nodes explicitly opt out.",
    remediation="Set mapPublicIpOnLaunch=false on subnets (NAT gateways and load balancers get their addresses "
                "explicitly), associatePublicIpAddress=false on launch templates/instances, and "
                "nodeAssociatePublicIpAddress=false on pulumi-eks NodeGroupV2/NodeGroup/Cluster (NodeGroupV2 "
                "defaults it to true); leave spec.associatePublicIPAddress unset or false on Karpenter EC2NodeClasses.",
    types=("aws:ec2/subnet:Subnet", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance",
           "aws:ec2/launchConfiguration:LaunchConfiguration", "eks:index:NodeGroupV2", "eks:index:NodeGroup",
           EKS_CLUSTER),
    type_prefixes=("kubernetes:",),
)
def node_subnets_no_public_ip(props: dict, ctx: Ctx) -> Iterable[str]:
    t = ctx.type
    if t == "aws:ec2/subnet:Subnet":
        if flag(props.get("mapPublicIpOnLaunch")) is True:
            yield "the subnet maps a public IP to every instance launched in it (mapPublicIpOnLaunch=true)"
    elif t == "aws:ec2/launchTemplate:LaunchTemplate":
        for i, ni in enumerate(as_list(props.get("networkInterfaces"))):
            if isinstance(ni, dict) and flag(ni.get("associatePublicIpAddress")) is True:
                yield f"networkInterfaces[{i}] associates a public IP address"
    elif t in ("aws:ec2/instance:Instance", "aws:ec2/launchConfiguration:LaunchConfiguration"):
        if flag(props.get("associatePublicIpAddress")) is True:
            yield "the instance associates a public IP address"
    elif t.startswith("kubernetes:"):
        if is_karpenter(t, props, "EC2NodeClass") and \
                flag(obj(props.get("spec")).get("associatePublicIPAddress")) is True:
            yield "the EC2NodeClass asks for public IP addresses (spec.associatePublicIPAddress=true)"
    elif t == EKS_CLUSTER:
        # Only the default node group uses this flag; a cluster that skips it launches no nodes itself.
        if flag(props.get("skipDefaultNodeGroup")) is not True and flag(props.get("nodeAssociatePublicIpAddress")) is not False:
            yield "the default node group's nodes get public IPs (nodeAssociatePublicIpAddress is not false)"
    else:
        if flag(props.get("nodeAssociatePublicIpAddress")) is not False:
            yield ("nodeAssociatePublicIpAddress is not explicitly false; pulumi-eks self-managed node groups "
                   "default it to true")
