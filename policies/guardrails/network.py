"""Network rules: the API endpoint, security groups and public IPs on nodes.

Every rule checks both layers: the pulumi-eks component inputs (what our
program writes, visible offline) and the AWS resources underneath (what
pulumi-eks or any other code creates, visible under the engine). The VPC
flow-log rule is a stack rule (see ``stack.py``).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

import yaml

from guardrails._meta import Ctx, StackResource, resource_rule, stack_rule
from guardrails.common import as_list, cidr_within, flag, helm_chart_name, is_karpenter, is_world, obj, to_int

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
        "allowPublicEndpoint": {
            "type": "boolean", "default": True,
            "description": "Accept a CIDR-limited public endpoint; false requires endpointPublicAccess=false "
                           "(checkov CKV_AWS_39, CIS 5.4.2).",
        },
    },
    checkov=("CKV_AWS_38",),
    cis=("5.4.1",),
)
def eks_public_endpoint_restricted(props: dict, ctx: Ctx) -> Iterable[str]:
    src = props if ctx.type == EKS_CLUSTER else obj(props.get("vpcConfig"))
    # Both pulumi-eks and EKS default the public endpoint to on.
    if flag(src.get("endpointPublicAccess")) is False:
        return
    if not ctx.config.get("allowPublicEndpoint", True):
        yield ("the public API endpoint is on (endpointPublicAccess is not false) and this stack allows only the "
               "private endpoint")
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
    cis=("5.4.3",),
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


# --------------------------------------------------------------------------- CNI network policy

ADDON = "aws:eks/addon:Addon"
VPC_CNI_ADDON = "eks:index:VpcCniAddon"
#: Helm charts of CNIs that enforce NetworkPolicy on their own (chosen instead of the VPC CNI's agent).
POLICY_CNI_CHARTS = ["cilium", "calico", "tigera-operator", "antrea"]


def addon_configuration(value: Any) -> Mapping[str, Any]:
    """An EKS add-on's configurationValues (a JSON or YAML string, or an object) as a mapping ({} if unreadable)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _under_eks_component(r: StackResource, by_urn: Mapping[str, StackResource]) -> bool:
    cur = by_urn.get(r.parent or "")
    while cur is not None:
        if cur.type.startswith("eks:index:"):
            return True
        cur = by_urn.get(cur.parent or "")
    return False


@stack_rule(
    name="cni-enforces-network-policies",
    description="The cluster's CNI enforces NetworkPolicies: every VPC CNI configuration (EKS add-on, pulumi-eks "
                "VpcCniAddon or vpcCniOptions) enables its network policy agent, and each cluster has such a CNI "
                "(or a NetworkPolicy-capable CNI chart such as Cilium or Calico).",
    remediation="Install the vpc-cni EKS add-on with configurationValues {\"enableNetworkPolicy\": \"true\"} "
                "(pulumi-eks: vpcCniOptions.enableNetworkPolicy=true with useDefaultVpcCni=false); without it every "
                "NetworkPolicy in the cluster is silently ignored.",
    config={
        "policyCapableCharts": {"type": "array", "items": {"type": "string"}, "default": POLICY_CNI_CHARTS,
                                "description": "Helm charts of CNIs that enforce NetworkPolicy themselves."},
    },
    cis=("4.3.1", "5.4.4"),
)
def cni_enforces_network_policies(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    by_urn = {r.urn: r for r in resources}
    charts = set(ctx.config.get("policyCapableCharts") or [])
    enforcing = False
    for r in resources:
        if r.type == ADDON and r.props.get("addonName") == "vpc-cni":
            value = addon_configuration(r.props.get("configurationValues")).get("enableNetworkPolicy")
            if flag(value) is True:
                enforcing = True
            else:
                yield (f"the vpc-cni add-on {r.name} does not enable network policies (configurationValues "
                       f"enableNetworkPolicy is {value if value is not None else 'unset'})"), r.urn
        elif r.type == VPC_CNI_ADDON:
            if flag(r.props.get("enableNetworkPolicy")) is True:
                enforcing = True
            else:
                yield f"VpcCniAddon {r.name} does not set enableNetworkPolicy=true", r.urn
        elif r.type.startswith(("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")) \
                and helm_chart_name(r.props.get("chart")) in charts:
            enforcing = True
    clusters = []
    for r in resources:
        if r.type == EKS_CLUSTER:
            if flag(obj(r.props.get("autoMode")).get("enabled")) is True:
                enforcing = True  # EKS Auto Mode runs its own networking; its policy switch is not an input here
            elif flag(r.props.get("useDefaultVpcCni")) is False:
                # pulumi-eks installs the VPC CNI itself, configured from vpcCniOptions.
                if flag(obj(r.props.get("vpcCniOptions")).get("enableNetworkPolicy")) is True:
                    enforcing = True
                else:
                    yield (f"cluster {r.name}: pulumi-eks installs the VPC CNI without network policies "
                           f"(vpcCniOptions.enableNetworkPolicy is not true)"), r.urn
            clusters.append(r)
        elif r.type == AWS_EKS_CLUSTER and not _under_eks_component(r, by_urn):
            clusters.append(r)
    if not enforcing:
        for c in clusters:
            yield (f"cluster {c.name} has no CNI that enforces NetworkPolicies (EKS's bootstrap VPC CNI leaves "
                   f"them off); add the vpc-cni add-on with enableNetworkPolicy"), c.urn
