"""Stack rules, through AnalyzeStack: subnets, team namespaces, load-balancer ordering, flow logs, S3, GPU totals.

Fixtures come in two shapes: IDs known (an update, or the offline plan) and IDs
unknown (a preview of resources not created yet), where references resolve
through ``propertyDependencies``.
"""

from __future__ import annotations

import pytest

from tests.policy_helpers import TAGS, Case, case_id, k8s, res, run_case, urn_of

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
MNG = "eks:index:ManagedNodeGroup"


# --------------------------------------------------------------------------- a small VPC


def subnet(name, id_, public_ip=False, tags=None, unknown_id=False):
    inputs = {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": public_ip,
              "tags": {**TAGS, **(tags or {})}}
    outputs = {**inputs, "id": UNKNOWN} if unknown_id else None
    return res("aws:ec2/subnet:Subnet", name, inputs, id="" if unknown_id else id_, outputs=outputs)


def table(name, id_, routes):
    return res("aws:ec2/routeTable:RouteTable", name, {"vpcId": "vpc-1", "routes": routes, "tags": TAGS}, id=id_)


def assoc(name, subnet_id, table_id):
    return res("aws:ec2/routeTableAssociation:RouteTableAssociation", name,
               {"subnetId": subnet_id, "routeTableId": table_id}, id=f"rtbassoc-{name}")


VPC = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16", "tags": TAGS}, id="vpc-1")
PRIV = subnet("private-0", "subnet-priv")
PUB = subnet("public-0", "subnet-pub", tags={"kubernetes.io/role/elb": "1"})
ROUTED = subnet("routed-0", "subnet-routed")
MAPPED = subnet("mapped-0", "subnet-mapped", public_ip=True)
RT_PRIV = table("private-rt", "rtb-priv", [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}])
RT_PUB = table("public-rt", "rtb-pub", [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}])
NETWORK = [VPC, PRIV, PUB, ROUTED, MAPPED, RT_PRIV, RT_PUB,
           assoc("p", "subnet-priv", "rtb-priv"), assoc("r", "subnet-routed", "rtb-pub"),
           res("aws:ec2/flowLog:FlowLog", "fl", {"vpcId": "vpc-1", "trafficType": "ALL", "tags": TAGS}, id="fl-1")]


def mng(name, subnets, max_size=3, types=("m6i.large",), **kw):
    return res(MNG, name, {"cluster": "c", "subnetIds": list(subnets) if isinstance(subnets, (list, tuple)) else subnets,
                           "instanceTypes": list(types), "tags": TAGS,
                           "scalingConfig": {"minSize": 0, "maxSize": max_size, "desiredSize": 0}}, **kw)


def preview_network():
    """The same public layout with every ID unknown: only propertyDependencies link the resources."""
    vpc = res("aws:ec2/vpc:Vpc", "pv-vpc", {"cidrBlock": "10.1.0.0/16", "tags": TAGS},
              outputs={"cidrBlock": "10.1.0.0/16", "id": UNKNOWN})
    igw = res("aws:ec2/internetGateway:InternetGateway", "pv-igw", {"vpcId": UNKNOWN},
              outputs={"vpcId": UNKNOWN, "id": UNKNOWN}, prop_deps={"vpcId": [vpc.urn]})
    sub = res("aws:ec2/subnet:Subnet", "pv-public", {"vpcId": UNKNOWN, "mapPublicIpOnLaunch": False},
              outputs={"vpcId": UNKNOWN, "mapPublicIpOnLaunch": False, "id": UNKNOWN}, prop_deps={"vpcId": [vpc.urn]})
    rt = res("aws:ec2/routeTable:RouteTable", "pv-rt", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}]},
             outputs={"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}], "id": UNKNOWN},
             prop_deps={"routes": [igw.urn]})
    rta = res("aws:ec2/routeTableAssociation:RouteTableAssociation", "pv-rta",
              {"subnetId": UNKNOWN, "routeTableId": UNKNOWN},
              prop_deps={"subnetId": [sub.urn], "routeTableId": [rt.urn]})
    ng = res(MNG, "pv-ng", {"cluster": "c", "subnetIds": UNKNOWN}, prop_deps={"subnetIds": [sub.urn]})
    return [vpc, igw, sub, rt, rta, ng]


def route_resource_network():
    """A public route declared as a separate aws:ec2/route resource."""
    rt = table("rt-sep", "rtb-sep", [])
    route = res("aws:ec2/route:Route", "default-route",
                {"routeTableId": "rtb-sep", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}, id="r-1")
    sub = subnet("sep-0", "subnet-sep")
    return [VPC, sub, rt, route, assoc("sep", "subnet-sep", "rtb-sep"),
            res("aws:autoscaling/group:Group", "asg", {"vpcZoneIdentifiers": ["subnet-sep"], "maxSize": 2,
                                                       "minSize": 0}, id="asg-1")]


def main_table_network():
    """A subnet without an explicit association uses the VPC's main route table."""
    sub = subnet("main-0", "subnet-main")
    main = res("aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation", "main",
               {"vpcId": "vpc-1", "routeTableId": "rtb-pub"}, id="rtbassoc-main")
    return [VPC, sub, RT_PUB, main, mng("main-ng", ["subnet-main"])]


def nodeclass(selector):
    return k8s("karpenter.k8s.aws/v1", "EC2NodeClass", "default", namespace=None,
               spec={"role": "r", "subnetSelectorTerms": selector})


# --------------------------------------------------------------------------- tenancy


def team_ns(name="team-a", label=True):
    return k8s("v1", "Namespace", name, namespace=None, labels={"mlplatform.io/team": name} if label else {})


def quota(ns="team-a"):
    return k8s("v1", "ResourceQuota", "quota", namespace=ns, spec={"hard": {"requests.cpu": "8"}},
               resource_name=f"{ns}-quota")


def limits(ns="team-a"):
    return k8s("v1", "LimitRange", "limits", namespace=ns,
               spec={"limits": [{"type": "Container", "default": {"cpu": "1"}}]}, resource_name=f"{ns}-limits")


def netpol(name, ns="team-a", **spec):
    base = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    base.update(spec)
    return k8s("networking.k8s.io/v1", "NetworkPolicy", name, namespace=ns, spec=base, resource_name=f"{ns}-{name}")


ALLOW_DNS = netpol("allow-dns", egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}], policyTypes=["Egress"])


def preview_team():
    ns = k8s("v1", "Namespace", "team-p", namespace=None, labels={"mlplatform.io/team": "team-p"})
    objs = [quota(UNKNOWN), limits(UNKNOWN), netpol("deny", UNKNOWN)]
    for o in objs:
        o.property_dependencies = {"metadata": [ns.urn]}
    return [ns, *objs]


# --------------------------------------------------------------------------- load balancers

LBC = res("kubernetes:helm.sh/v3:Release", "lbc", {"chart": "aws-load-balancer-controller", "namespace": "kube-system",
                                                   "version": "1.9.0"}, id="kube-system/aws-load-balancer-controller")


def alb_ingress(name, **kw):
    return k8s("networking.k8s.io/v1", "Ingress", name, annotations={"alb.ingress.kubernetes.io/scheme": "internal"},
               spec={"ingressClassName": "alb", "rules": []}, **kw)


def lb_service(name, **kw):
    return k8s("v1", "Service", name, spec={"type": "LoadBalancer", "ports": [{"port": 80}]},
               annotations={"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}, **kw)


COMPONENT = res("mlplatform:workloads:InferenceService", "svc", {}, deps=[LBC.urn])


# --------------------------------------------------------------------------- GPU capacity


def gpu_nodepool(name, gpus=None):
    spec = {"template": {"spec": {"requirements": [
        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5"]}],
        "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]}}}
    if gpus is not None:
        spec["limits"] = {"nvidia.com/gpu": gpus}
    return k8s("karpenter.sh/v1", "NodePool", name, namespace=None, spec=spec)


MNG_BIG = mng("gpu-big", ["subnet-priv"], 20, ("p5.48xlarge",))
CHILD = res("aws:eks/nodeGroup:NodeGroup", "gpu-big-child",
            {"clusterName": "c", "instanceTypes": ["p5.48xlarge"], "scalingConfig": {"maxSize": 20, "minSize": 0}},
            parent=MNG_BIG.urn)

CASES = [
    # node-groups-in-private-subnets
    Case("node-groups-in-private-subnets", True, NETWORK + [mng("ng", ["subnet-priv", "subnet-routed"])],
         contains="public-rt sends 0.0.0.0/0 to an internet gateway", label="route-to-igw", covers=('CIS 5.4.3',)),
    Case("node-groups-in-private-subnets", True, NETWORK + [
        res("aws:eks/fargateProfile:FargateProfile", "fp", {"subnetIds": ["subnet-pub"], "tags": TAGS})],
         contains="kubernetes.io/role/elb", label="fargate-elb-tagged"),
    Case("node-groups-in-private-subnets", True, NETWORK + [
        res("eks:index:NodeGroupV2", "self", {"cluster": "c", "nodeSubnetIds": ["subnet-mapped"]})],
         contains="maps public IPs", label="nodegroupv2-mapped"),
    Case("node-groups-in-private-subnets", True, preview_network(), contains="pv-public", label="preview-unknown-ids"),
    Case("node-groups-in-private-subnets", True, route_resource_network(), label="asg-route-resource"),
    Case("node-groups-in-private-subnets", True, main_table_network(), label="main-route-table"),
    Case("node-groups-in-private-subnets", True, NETWORK + [nodeclass([{"tags": {"kubernetes.io/role/elb": "*"}}])],
         label="karpenter-selector"),
    Case("node-groups-in-private-subnets", True, NETWORK + [mng("ext", ["subnet-elsewhere"])],
         config={"node-groups-in-private-subnets": {"allowUnmanagedSubnets": False}}, contains="outside the stack",
         label="unmanaged-refused"),
    Case("node-groups-in-private-subnets", False, NETWORK + [mng("ng", ["subnet-priv"]),
                                                           nodeclass([{"id": "subnet-priv"}])], label="private",
                                                                covers=('CIS 5.4.3',)),
    Case("node-groups-in-private-subnets", False, NETWORK + [mng("ext", ["subnet-elsewhere"])],
         label="pre-existing-subnet-allowed"),

    # team-namespace-guardrails
    Case("team-namespace-guardrails", True, [team_ns(), quota(), limits(), ALLOW_DNS],
         contains="default-deny NetworkPolicy", label="allow-only-policy"),
    Case("team-namespace-guardrails", True, [team_ns(), netpol("deny")], contains="ResourceQuota, LimitRange",
         label="no-quota-no-limits", covers=('CIS 4.5.1',)),
    Case("team-namespace-guardrails", True,
         [team_ns(), quota(), limits(), netpol("deny-ingress-only", policyTypes=["Ingress"])], label="ingress-only"),
    Case("team-namespace-guardrails", True, [team_ns(), quota("team-b"), limits("team-b"), netpol("deny", "team-b")],
         label="guardrails-in-another-namespace"),
    Case("team-namespace-guardrails", False, [team_ns(), quota(), limits(), netpol("deny"), ALLOW_DNS],
         label="complete", covers=('CIS 4.5.1',)),
    Case("team-namespace-guardrails", False, [team_ns("kube-tools", label=False)], label="not-a-team"),
    Case("team-namespace-guardrails", False, preview_team(), label="preview-namespace-unknown"),

    # load-balancers-depend-on-controller
    Case("load-balancers-depend-on-controller", True, [LBC, alb_ingress("web")], contains="does not depend",
         label="ingress"),
    Case("load-balancers-depend-on-controller", True, [lb_service("nlb")], contains="does not install",
         label="no-controller"),
    Case("load-balancers-depend-on-controller", False, [LBC, alb_ingress("web", deps=[LBC.urn])], label="direct"),
    Case("load-balancers-depend-on-controller", False, [LBC, COMPONENT, lb_service("nlb", parent=COMPONENT.urn)],
         label="through-parent"),
    Case("load-balancers-depend-on-controller", False,
         [res("kubernetes:helm.sh/v3:Release", "oci", {"chart": "oci://public.ecr.aws/eks/aws-load-balancer-controller"},
              id="kube-system/oci"),
          alb_ingress("web", prop_deps={"metadata": [urn_of("kubernetes:helm.sh/v3:Release", "oci")]})],
         label="oci-chart-property-dependency"),
    Case("load-balancers-depend-on-controller", False, [k8s("v1", "Service", "cip", spec={"ports": [{"port": 80}]})],
         label="no-load-balancers"),

    # vpc-flow-logs-enabled
    Case("vpc-flow-logs-enabled", True, [VPC], label="none"),
    Case("vpc-flow-logs-enabled", True,
         [VPC, res("aws:ec2/flowLog:FlowLog", "other", {"vpcId": "vpc-other"}, id="fl-2")], label="other-vpc"),
    Case("vpc-flow-logs-enabled", False, NETWORK, label="flow-log"),
    Case("vpc-flow-logs-enabled", False,
         [preview_network()[0], res("aws:ec2/flowLog:FlowLog", "pv-fl", {"vpcId": UNKNOWN},
                                    prop_deps={"vpcId": [urn_of("aws:ec2/vpc:Vpc", "pv-vpc")]})],
         label="preview-unknown-vpc-id"),

    # s3-buckets-block-public-access
    Case("s3-buckets-block-public-access", True, [res("aws:s3/bucket:Bucket", "data", {"tags": TAGS}, id="data-1")],
         label="no-block"),
    Case("s3-buckets-block-public-access", True,
         [res("aws:s3/bucket:Bucket", "data", {"tags": TAGS}, id="data-1"),
          res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab",
              {"bucket": "data-1", "blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}, id="data-1")], label="partial-block"),
    Case("s3-buckets-block-public-access", False,
         [res("aws:s3/bucket:Bucket", "data", {"tags": TAGS}, id="data-1"),
          res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab",
              {"bucket": "data-1", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}, id="data-1")], label="blocked"),
    Case("s3-buckets-block-public-access", False,
         [res("aws:s3/bucket:Bucket", "data", {"tags": TAGS}, id="data-1"),
          res("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "acct",
              {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}, id="123456789012")], label="account-level"),

    # gpu-capacity-total
    Case("gpu-capacity-total", True, [MNG_BIG, mng("gpu-2", ["subnet-priv"], 20, ("g5.xlarge",))],
         contains="40 nodes", label="node-groups"),
    Case("gpu-capacity-total", True, [gpu_nodepool("a", 100), gpu_nodepool("b", 64)], contains="164 GPUs",
         label="nodepools"),
    Case("gpu-capacity-total", True, [gpu_nodepool("unbounded")], contains="unbounded", label="nodepool-no-limit"),
    Case("gpu-capacity-total", True, [mng("gpu-dev", ["subnet-priv"], 10, ("g5.xlarge",))],
         config={"gpu-capacity-total": {"maxGpuNodes": 8}}, label="tunable-dev-budget"),
    Case("gpu-capacity-total", False, [MNG_BIG, CHILD, mng("cpu", ["subnet-priv"], 50)],
         label="pulumi-eks-child-counted-once"),
    Case("gpu-capacity-total", False, [gpu_nodepool("a", 32), mng("gpu", ["subnet-priv"], 4, ("g5.xlarge",))],
         label="within-budget"),
]


def bare_pod(name="debug", ns="team-a", labels=None):
    from tests.policy_helpers import pod_spec

    return k8s("v1", "Pod", name, namespace=ns, labels=labels or {"app": name}, spec=pod_spec())


def log_group(name, retention=30):
    inputs = {"name": name, "tags": TAGS}
    if retention is not None:
        inputs["retentionInDays"] = retention
    return res("aws:cloudwatch/logGroup:LogGroup", name.strip("/").replace("/", "-"), inputs)


def cluster(name="ml", logs=("api", "audit", "authenticator", "controllerManager", "scheduler")):
    return res("eks:index:Cluster", f"cluster-{name}", {"name": name, "version": "1.35", "tags": TAGS,
                                                        "enabledClusterLogTypes": list(logs)})


CASES += [
    Case("namespaces-have-network-policies", True, [team_ns("tools", label=False)],
         contains="namespace tools has no NetworkPolicy", label="namespace-without-policy",
         covers=("CIS 4.3.2", "CKV2_K8S_6")),
    Case("namespaces-have-network-policies", True,
         [team_ns("tools", label=False), netpol("deny", "tools"), netpol("web-only", "team-b", podSelector={
             "matchLabels": {"app": "web"}}), bare_pod(ns="team-b")],
         contains="selected by no NetworkPolicy", label="bare-pod-not-selected", covers=("CKV2_K8S_6",)),
    Case("namespaces-have-network-policies", True, [team_ns("a", label=False), netpol("deny", "b")],
         label="policy-in-another-namespace"),
    Case("namespaces-have-network-policies", False,
         [team_ns("tools", label=False), netpol("deny", "tools"), bare_pod(ns="tools")],
         label="default-deny-selects-all", covers=("CIS 4.3.2", "CKV2_K8S_6")),
    Case("namespaces-have-network-policies", False,
         [bare_pod(ns="team-b", labels={"app": "web", "tier": "front"}),
          netpol("web", "team-b", podSelector={"matchLabels": {"app": "web"}, "matchExpressions": [
              {"key": "tier", "operator": "In", "values": ["front", "back"]}]})],
         label="selector-matches", covers=("CKV2_K8S_6",)),
    Case("namespaces-have-network-policies", False, preview_team(), label="preview-namespace-unknown"),
    Case("namespaces-have-network-policies", False, [team_ns("monitoring", label=False)],
         config={"namespaces-have-network-policies": {"exemptNamespaces": ["monitoring"]}}, label="tunable-exempt"),

    Case("eks-audit-logs-retained", True, [cluster()], contains="/aws/eks/ml/cluster", label="unmanaged-group",
         covers=("CIS 2.1.2",)),
    Case("eks-audit-logs-retained", True, [cluster(), log_group("/aws/eks/ml/cluster", retention=None)],
         contains="forever", label="group-never-expires"),
    Case("eks-audit-logs-retained", False, [cluster(), log_group("/aws/eks/ml/cluster")], label="managed-group",
         covers=("CIS 2.1.2",)),
    Case("eks-audit-logs-retained", False, [cluster(logs=())], label="no-logs-is-another-rules-finding"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_stack_rules(case: Case) -> None:
    run_case(case)


def test_stack_diagnostics_point_at_the_offending_resource() -> None:
    from tests.policy_helpers import analyze, hits

    ng = mng("ng", ["subnet-routed"])
    found = hits(analyze(NETWORK + [ng]), "node-groups-in-private-subnets")
    assert [d.urn for d in found] == [ng.urn]
    ns = team_ns()
    found = hits(analyze([ns, quota()]), "team-namespace-guardrails")
    assert [d.urn for d in found] == [ns.urn]
