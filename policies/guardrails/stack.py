"""Stack rules: facts that need more than one resource.

They see every resource's outputs (with ``id``), parent, dependencies and
``propertyDependencies``. References are matched by ID when the ID is known
and through ``propertyDependencies`` when it is not (a preview of resources
that do not exist yet), so the same rule works offline, in preview and in up.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator, Mapping, Optional

from guardrails._meta import Ctx, StackResource, dig, is_unknown, stack_rule
from guardrails.common import (
    NodeGroupView,
    NodePoolScope,
    as_list,
    flag,
    helm_chart_name,
    is_gpu_instance,
    is_karpenter,
    labels,
    obj,
    quantity,
    tag_map,
)
from guardrails.ingress import is_alb_ingress, is_load_balancer_service
from guardrails.podspecs import kind_of

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_RTA = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
DEFAULT_RT = "aws:ec2/defaultRouteTable:DefaultRouteTable"
IGW = "aws:ec2/internetGateway:InternetGateway"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ELB_ROLE_TAG = "kubernetes.io/role/elb"


class Stack:
    """Index of the stack's resources for reference resolution."""

    def __init__(self, resources: list[StackResource]):
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self.by_id: dict[str, StackResource] = {}
        for r in resources:
            rid = r.props.get("id")
            if isinstance(rid, str) and rid and not is_unknown(rid):
                self.by_id.setdefault(rid, r)

    def of_type(self, *types: str) -> list[StackResource]:
        return [r for r in self.resources if r.type in types]

    def resolve(self, owner: StackResource, key: str, value: Any, types: tuple[str, ...]) -> tuple[list[StackResource], list[str]]:
        """Resources of ``types`` that ``owner.<key>`` (an ID, a list of IDs, or unknown) points at.

        Returns ``(resolved, unresolved_ids)``. Unknown values fall back to the
        property's dependencies; a known ID that matches nothing is unresolved.
        """
        resolved: list[StackResource] = []
        unresolved: list[str] = []
        values = value if isinstance(value, list) else [value]
        by_deps = [self.by_urn[u] for u in owner.property_dependencies.get(key, ())
                   if u in self.by_urn and self.by_urn[u].type in types]
        if is_unknown(value) or any(is_unknown(v) for v in values):
            resolved.extend(by_deps)
        for v in values:
            if not isinstance(v, str) or not v or is_unknown(v):
                continue
            r = self.by_id.get(v) or self.by_urn.get(v)
            if r is not None and r.type in types:
                resolved.append(r)
            else:
                unresolved.append(v)
        seen: set[str] = set()
        return [r for r in resolved if not (r.urn in seen or seen.add(r.urn))], unresolved

    def ancestors(self, r: StackResource) -> Iterator[StackResource]:
        cur = self.by_urn.get(r.parent or "")
        while cur is not None:
            yield cur
            cur = self.by_urn.get(cur.parent or "")

    def reaches(self, start: StackResource, targets: set[str]) -> bool:
        """Does ``start`` depend on any of ``targets``, through dependencies, property dependencies or parents?"""
        seen, queue = {start.urn}, deque([start])
        while queue:
            r = queue.popleft()
            edges = list(r.dependencies) + [u for us in r.property_dependencies.values() for u in us]
            if r.parent:
                edges.append(r.parent)
            for u in edges:
                if u in targets:
                    return True
                if u not in seen and u in self.by_urn:
                    seen.add(u)
                    queue.append(self.by_urn[u])
        return False


def _label(r: StackResource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} {r.name}"


# --------------------------------------------------------------------------- subnets

def _default_route_is_igw(stack: Stack, owner: StackResource, route: Mapping[str, Any], gw_key: str,
                          cidr_keys: tuple[str, str], deps_key: str) -> bool:
    if not any(route.get(k) in ("0.0.0.0/0", "::/0") for k in cidr_keys):
        return False
    gw = route.get(gw_key)
    if isinstance(gw, str) and not is_unknown(gw):
        return gw.startswith("igw-")
    if is_unknown(gw):
        return any(stack.by_urn[u].type == IGW for u in owner.property_dependencies.get(deps_key, ())
                   if u in stack.by_urn)
    return False


def _table_is_public(stack: Stack, table: StackResource) -> bool:
    for route in as_list(table.props.get("routes")):
        if isinstance(route, Mapping) and _default_route_is_igw(
                stack, table, route, "gatewayId", ("cidrBlock", "ipv6CidrBlock"), "routes"):
            return True
    for route in stack.of_type(ROUTE):
        tables, _ = stack.resolve(route, "routeTableId", route.props.get("routeTableId"), (ROUTE_TABLE, DEFAULT_RT))
        if table in tables and _default_route_is_igw(
                stack, route, route.props, "gatewayId", ("destinationCidrBlock", "destinationIpv6CidrBlock"),
                "gatewayId"):
            return True
    return False


def _subnet_tables(stack: Stack, subnet: StackResource) -> list[StackResource]:
    tables: list[StackResource] = []
    for assoc in stack.of_type(RTA):
        subnets, _ = stack.resolve(assoc, "subnetId", assoc.props.get("subnetId"), (SUBNET,))
        if subnet in subnets:
            t, _ = stack.resolve(assoc, "routeTableId", assoc.props.get("routeTableId"), (ROUTE_TABLE, DEFAULT_RT))
            tables.extend(t)
    if tables:
        return tables
    # No explicit association: the subnet uses its VPC's main route table.
    vpcs, _ = stack.resolve(subnet, "vpcId", subnet.props.get("vpcId"), (VPC,))
    for main in stack.of_type(MAIN_RTA):
        mv, _ = stack.resolve(main, "vpcId", main.props.get("vpcId"), (VPC,))
        if set(r.urn for r in mv) & set(r.urn for r in vpcs):
            t, _ = stack.resolve(main, "routeTableId", main.props.get("routeTableId"), (ROUTE_TABLE, DEFAULT_RT))
            tables.extend(t)
    for d in stack.of_type(DEFAULT_RT):
        dv, _ = stack.resolve(d, "vpcId", d.props.get("vpcId"), (VPC,))
        if set(r.urn for r in dv) & set(r.urn for r in vpcs):
            tables.append(d)
    return tables


def public_reason(stack: Stack, subnet: StackResource) -> Optional[str]:
    """Why ``subnet`` is public, or None when it is private."""
    if flag(subnet.props.get("mapPublicIpOnLaunch")) is True:
        return "it maps public IPs on launch"
    if ELB_ROLE_TAG in tag_map(subnet.props.get("tags")):
        return f"it is tagged {ELB_ROLE_TAG} (internet-facing load balancers)"
    for table in _subnet_tables(stack, subnet):
        if _table_is_public(stack, table):
            return f"its route table {table.name} sends 0.0.0.0/0 to an internet gateway"
    return None


def _subnet_refs(r: StackResource) -> Optional[tuple[str, Any]]:
    """``(property, value)`` holding the subnets a node-launching resource uses."""
    key = {
        "eks:index:ManagedNodeGroup": "subnetIds",
        "aws:eks/nodeGroup:NodeGroup": "subnetIds",
        "aws:eks/fargateProfile:FargateProfile": "subnetIds",
        "eks:index:NodeGroupV2": "nodeSubnetIds",
        "eks:index:NodeGroup": "nodeSubnetIds",
        "aws:autoscaling/group:Group": "vpcZoneIdentifiers",
    }.get(r.type)
    if key is None or key not in r.props:
        return None
    return key, r.props.get(key)


def _selector_subnets(stack: Stack, terms: Any) -> tuple[list[StackResource], list[str]]:
    """Subnets a Karpenter EC2NodeClass's subnetSelectorTerms select among the stack's subnets."""
    found: list[StackResource] = []
    unresolved: list[str] = []
    subnets = stack.of_type(SUBNET)
    for term in as_list(terms):
        if not isinstance(term, Mapping):
            continue
        if term.get("id"):
            hit = [s for s in subnets if s.props.get("id") == term["id"]]
            found += hit
            if not hit:
                unresolved.append(str(term["id"]))
        elif isinstance(term.get("tags"), Mapping):
            want = term["tags"]
            if any(is_unknown(v) for v in want.values()):
                continue
            for s in subnets:
                tags = tag_map(s.props.get("tags"))
                if all(k in tags and (v == "*" or tags[k] == v) for k, v in want.items()):
                    found.append(s)
    return found, unresolved


@stack_rule(
    name="node-groups-in-private-subnets",
    description="Node groups, Fargate profiles, autoscaling groups and Karpenter node classes launch only into "
                "private subnets (no public IP mapping, no elb role tag, no default route to an internet gateway).",
    remediation="Pass only the private subnet IDs (network.private_subnet_ids) to node groups, Fargate profiles "
                "and autoscaling groups; select Karpenter subnets by a tag only private subnets carry.",
    config={
        "allowUnmanagedSubnets": {
            "type": "boolean", "default": True,
            "description": "Accept subnet IDs that match no subnet in the stack (pre-existing subnets).",
        },
    },
    cis=("5.4.3",),
)
def node_groups_in_private_subnets(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    cache: dict[str, Optional[str]] = {}

    def reason(s: StackResource) -> Optional[str]:
        if s.urn not in cache:
            cache[s.urn] = public_reason(stack, s)
        return cache[s.urn]

    for r in resources:
        ref = _subnet_refs(r)
        if ref is not None:
            subnets, unresolved = stack.resolve(r, ref[0], ref[1], (SUBNET,))
        elif r.type.startswith("kubernetes:") and is_karpenter(r.type, r.props, "EC2NodeClass"):
            subnets, unresolved = _selector_subnets(stack, dig(r.props, "spec", "subnetSelectorTerms"))
        else:
            continue
        for s in subnets:
            why = reason(s)
            if why:
                yield f"{_label(r)} uses public subnet {s.name}: {why}", r.urn
        if unresolved and not ctx.config.get("allowUnmanagedSubnets", True):
            yield f"{_label(r)} uses subnets outside the stack ({', '.join(unresolved)})", r.urn


# --------------------------------------------------------------------------- tenancy

def _namespace_index(objects: list[StackResource]) -> tuple[dict[str, list[StackResource]], list[StackResource]]:
    """Objects grouped by their known ``metadata.namespace``, and those whose namespace is not known yet."""
    known: dict[str, list[StackResource]] = {}
    pending: list[StackResource] = []
    for o in objects:
        value = obj(o.props.get("metadata")).get("namespace")
        if isinstance(value, str) and value and not is_unknown(value):
            known.setdefault(value, []).append(o)
        elif is_unknown(value):
            pending.append(o)
    return known, pending


def _default_deny(policy: StackResource) -> bool:
    spec = obj(policy.props.get("spec"))
    selector = spec.get("podSelector")
    if not isinstance(selector, Mapping) or any(selector.get(k) for k in ("matchLabels", "matchExpressions")):
        return False
    types = {str(t) for t in as_list(spec.get("policyTypes"))}
    return {"Ingress", "Egress"} <= types and not as_list(spec.get("ingress")) and not as_list(spec.get("egress"))


@stack_rule(
    name="team-namespace-guardrails",
    description="Every team namespace (labelled mlplatform.io/team) has a ResourceQuota, a LimitRange and a "
                "default-deny NetworkPolicy (all pods, Ingress and Egress, no allow rules).",
    remediation="Create the namespace through the TeamNamespace component, which adds the quota, the limit range "
                "and the default-deny policy next to the allow rules the team needs.",
    config={"teamLabel": {"type": "string", "default": "mlplatform.io/team",
                          "description": "Namespace label that marks a team namespace."}},
    cis=("4.5.1",),
)
def team_namespace_guardrails(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    label = str(ctx.config.get("teamLabel") or "mlplatform.io/team")
    objects = [r for r in resources if r.type.startswith("kubernetes:")]
    known, pending = _namespace_index(objects)
    for ns in objects:
        if kind_of(ns.type, ns.props) != "Namespace" or label not in labels(ns.props.get("metadata")):
            continue
        name = obj(ns.props.get("metadata")).get("name")
        name = name if isinstance(name, str) and name and not is_unknown(name) else ns.name
        # In preview a namespace reference may be unknown: the object then depends on the Namespace resource.
        inside = known.get(name, []) + [o for o in pending if ns.urn in o.property_dependencies.get("metadata", ())
                                        or ns.urn in o.dependencies]
        kinds = {kind_of(o.type, o.props) for o in inside}
        missing = [k for k in ("ResourceQuota", "LimitRange") if k not in kinds]
        if not any(kind_of(o.type, o.props) == "NetworkPolicy" and _default_deny(o) for o in inside):
            missing.append("a default-deny NetworkPolicy")
        if missing:
            yield f"team namespace {name} has no {', '.join(missing)}", ns.urn


def selects(selector: Any, pod_labels: Mapping[str, Any]) -> bool:
    """Does a NetworkPolicy ``podSelector`` select pods with ``pod_labels``? (``{}`` selects every pod.)"""
    if not isinstance(selector, Mapping):
        return False
    for k, v in obj(selector.get("matchLabels")).items():
        if pod_labels.get(k) != v:
            return False
    for expr in as_list(selector.get("matchExpressions")):
        e = obj(expr)
        key, op, values = e.get("key"), str(e.get("operator") or ""), [str(v) for v in as_list(e.get("values"))]
        present = key in pod_labels
        if op == "In" and not (present and str(pod_labels[key]) in values):
            return False
        if op == "NotIn" and present and str(pod_labels[key]) in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


@stack_rule(
    name="namespaces-have-network-policies",
    description="Every Namespace the stack creates holds at least one NetworkPolicy, and every bare Pod is "
                "selected by a NetworkPolicy in its namespace.",
    remediation="Add a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress) plus the allow "
                "rules the namespace needs; TeamNamespace does this for team namespaces. A namespace whose tenants "
                "bring their own policies may be listed in exemptNamespaces, with the reason in the README.",
    config={"exemptNamespaces": {"type": "array", "items": {"type": "string"}, "default": [],
                                 "description": "Namespaces (metadata.name) exempt after review."}},
    checkov=("CKV2_K8S_6",),
    cis=("4.3.2",),
)
def namespaces_have_network_policies(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    exempt = set(ctx.config.get("exemptNamespaces") or [])
    objects = [r for r in resources if r.type.startswith("kubernetes:")]
    policies = [o for o in objects if kind_of(o.type, o.props) == "NetworkPolicy"]
    known, pending = _namespace_index(policies)
    for ns in objects:
        if kind_of(ns.type, ns.props) != "Namespace":
            continue
        name = obj(ns.props.get("metadata")).get("name")
        if not isinstance(name, str) or is_unknown(name) or name in exempt:
            continue
        inside = known.get(name, []) + [p for p in pending if ns.urn in p.property_dependencies.get("metadata", ())
                                        or ns.urn in p.dependencies]
        if not inside:
            yield f"namespace {name} has no NetworkPolicy: its pods accept and send any traffic", ns.urn
    for pod in objects:
        if kind_of(pod.type, pod.props) != "Pod":
            continue
        meta = obj(pod.props.get("metadata"))
        namespace = meta.get("namespace")
        if not isinstance(namespace, str) or is_unknown(namespace) or namespace in exempt:
            continue
        pod_labels = labels(meta)
        if not any(selects(obj(p.props.get("spec")).get("podSelector"), pod_labels) for p in known.get(namespace, [])):
            yield f"Pod {meta.get('name') or pod.name} in {namespace} is selected by no NetworkPolicy", pod.urn


# --------------------------------------------------------------------------- load balancers

@stack_rule(
    name="load-balancers-depend-on-controller",
    description="Every LoadBalancer Service and ALB Ingress depends on the AWS Load Balancer Controller release, "
                "so a destroy removes them (and their AWS load balancers) before the controller.",
    remediation="Add depends_on=[addons.lb_controller] to the Service/Ingress (or to its parent component); "
                "without it destroy removes the controller first and the load balancers and their ENIs are left "
                "behind, blocking the VPC's deletion.",
    config={"controllerCharts": {"type": "array", "items": {"type": "string"},
                                 "default": ["aws-load-balancer-controller"],
                                 "description": "Chart names of the load balancer controller."}},
)
def load_balancers_depend_on_controller(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    lbs = [r for r in resources if r.type.startswith("kubernetes:")
           and (is_load_balancer_service(r.type, r.props) or is_alb_ingress(r.type, r.props, ("alb",)))]
    if not lbs:
        return
    charts = set(ctx.config.get("controllerCharts") or [])
    controllers = {r.urn for r in resources
                   if r.type in ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
                   and helm_chart_name(r.props.get("chart")) in charts}
    for lb in lbs:
        if not controllers:
            yield f"{_label(lb)} needs the AWS Load Balancer Controller, which this stack does not install", lb.urn
        elif not stack.reaches(lb, controllers):
            yield f"{_label(lb)} does not depend on the AWS Load Balancer Controller release", lb.urn


# --------------------------------------------------------------------------- control-plane audit logs

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@stack_rule(
    name="eks-audit-logs-retained",
    description="A cluster that sends control-plane logs to CloudWatch has its log group (/aws/eks/<name>/cluster) "
                "in the stack with a retention, so audit logs are kept for a known time instead of the "
                "never-expiring group EKS creates on its own.",
    remediation="Create aws.cloudwatch.LogGroup(name=f\"/aws/eks/{cluster_name}/cluster\", retention_in_days=...) "
                "before the cluster (depends_on), with the cluster's explicit name.",
    cis=("2.1.2",),
)
def eks_audit_logs_retained(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    groups = {}
    for g in stack.of_type(LOG_GROUP):
        name = g.props.get("name")
        if isinstance(name, str) and not is_unknown(name):
            groups[name] = g
    for c in stack.of_type("eks:index:Cluster", "aws:eks/cluster:Cluster"):
        if c.type == "aws:eks/cluster:Cluster" and any(a.type.startswith("eks:index:") for a in stack.ancestors(c)):
            continue  # pulumi-eks's own cluster: judged through the component's inputs
        if not as_list(c.props.get("enabledClusterLogTypes")):
            continue  # eks-control-plane-logging reports the missing logs
        name = c.props.get("name")
        if not isinstance(name, str) or not name or is_unknown(name):
            continue  # an auto-named cluster's group cannot be matched before it exists
        group = groups.get(f"/aws/eks/{name}/cluster")
        if group is None:
            yield (f"cluster {name}'s control-plane logs go to a log group the stack does not manage "
                   f"(/aws/eks/{name}/cluster is created by EKS and never expires)"), c.urn
        elif not group.props.get("retentionInDays"):
            yield f"log group /aws/eks/{name}/cluster keeps audit logs forever (no retentionInDays)", group.urn


# --------------------------------------------------------------------------- VPC flow logs

@stack_rule(
    name="vpc-flow-logs-enabled",
    description="Every VPC has a flow log.",
    remediation="Create an aws.ec2.FlowLog with vpc_id=<the VPC> (traffic_type ALL) to CloudWatch Logs or S3.",
)
def vpc_flow_logs_enabled(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    covered: set[str] = set()
    for fl in stack.of_type(FLOW_LOG):
        vpcs, _ = stack.resolve(fl, "vpcId", fl.props.get("vpcId"), (VPC,))
        covered.update(v.urn for v in vpcs)
    for vpc in stack.of_type(VPC):
        if vpc.urn not in covered:
            yield f"VPC {vpc.name} has no flow log", vpc.urn


# --------------------------------------------------------------------------- S3

@stack_rule(
    name="s3-buckets-block-public-access",
    description="Every S3 bucket has all four public-access blocks on (or the account-level block covers it).",
    remediation="Add an aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, "
                "ignore_public_acls and restrict_public_buckets all true.",
)
def s3_buckets_block_public_access(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if any(all(flag(a.props.get(f)) is True for f in flags)
           for a in stack.of_type("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock")):
        return
    buckets = stack.of_type("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
    blocked: set[str] = set()
    for b in stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        if not all(flag(b.props.get(f)) is True for f in flags):
            continue
        hits, _ = stack.resolve(b, "bucket", b.props.get("bucket"), ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"))
        by_name = [k for k in buckets if b.props.get("bucket") in (k.props.get("bucket"), k.props.get("id"))]
        blocked.update(h.urn for h in hits + by_name)
    for k in buckets:
        if k.urn not in blocked:
            yield f"bucket {k.name} has no BucketPublicAccessBlock with all four blocks on", k.urn


# --------------------------------------------------------------------------- GPU capacity

def _launch_template_types(stack: Stack, asg: StackResource) -> list[str]:
    lt = obj(asg.props.get("launchTemplate"))
    templates, _ = stack.resolve(asg, "launchTemplate", lt.get("id") if isinstance(lt, Mapping) else None,
                                 ("aws:ec2/launchTemplate:LaunchTemplate",))
    return [str(t.props.get("instanceType")) for t in templates if t.props.get("instanceType")]


@stack_rule(
    name="gpu-capacity-total",
    description="The stack's total GPU capacity is bounded: GPU node groups' maxSize add up to at most "
                "maxGpuNodes, and Karpenter GPU NodePool limits to at most maxGpus.",
    remediation="Lower the GPU pools' maximum sizes or NodePool GPU limits, or raise the budget in the stack's "
                "policy config after a cost review.",
    config={
        "maxGpuNodes": {"type": "integer", "default": 32, "description": "Total maxSize across GPU node groups."},
        "maxGpus": {"type": "integer", "default": 128,
                    "description": "Total nvidia.com/gpu limit across Karpenter GPU NodePools."},
    },
)
def gpu_capacity_total(resources: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    stack = Stack(resources)
    nodes, pools, unbounded = 0, [], []
    gpus, nodepools = 0.0, []
    for r in resources:
        # Count a pulumi-eks component once, not again through the AWS resources it creates.
        if any(a.type.startswith("eks:index:") for a in stack.ancestors(r)):
            continue
        if r.type.startswith("kubernetes:"):
            if is_karpenter(r.type, r.props, "NodePool") and \
                    NodePoolScope(dig(r.props, "spec", "template", "spec", "requirements")).allows_gpu:
                limit = quantity(obj(dig(r.props, "spec", "limits")).get("nvidia.com/gpu"))
                if limit is None:
                    unbounded.append(_label(r))
                else:
                    gpus += limit
                    nodepools.append(f"{r.name}={limit:g}")
            continue
        view = NodeGroupView.of(r.type, r.props)
        if view is None:
            continue
        gpu = view.gpu or (r.type == "aws:autoscaling/group:Group"
                           and any(is_gpu_instance(t) for t in _launch_template_types(stack, r)))
        if not gpu:
            continue
        if view.max_size is None:
            unbounded.append(_label(r))
        else:
            nodes += view.max_size
            pools.append(f"{r.name}={view.max_size}")
    max_nodes, max_gpus = int(ctx.config.get("maxGpuNodes", 32)), int(ctx.config.get("maxGpus", 128))
    if nodes > max_nodes:
        yield f"GPU node groups may grow to {nodes} nodes in total ({', '.join(pools)}), above {max_nodes}", None
    if gpus > max_gpus:
        yield f"Karpenter GPU NodePools may hold {gpus:g} GPUs in total ({', '.join(nodepools)}), above {max_gpus}", None
    if unbounded:
        yield f"GPU capacity is unbounded: {', '.join(unbounded)} set no maximum", None
