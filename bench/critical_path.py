"""Deploy critical path: the longest chain of SLOW resources in a plan's dependency graph.

A first ``pulumi up`` is dominated by a handful of resource kinds that take
minutes each (the EKS control plane, node groups, NAT gateways, FSx, EKS
add-ons, Helm releases); everything else takes seconds. So the deploy time is
roughly "minutes x the number of slow resources that must run one after the
other". This module counts exactly that, from the plan JSON written by
``python -m automation plan --json``. Pure functions, no Pulumi.

Graph model (what the engine waits for):

* a resource starts when every resource in its ``dependencies`` and
  ``propertyDependencies`` is ready;
* a custom resource (or a component with no registered children, such as a
  pulumi-eks component under mocks) is ready when it has been created;
* a component resource with children is ready when it and all its
  descendants are ready. That is how ``depends_on=[component]`` behaves;
* objects the offline harness expanded from a provider-side component
  (``origin == "expanded"``) start no earlier than that component starts,
  because the provider creates them on its behalf;
* a dependency URN the plan never registered (e.g. pulumi-eks's inner
  ``aws:eks/cluster:Cluster``, handed back as a reference) is attributed to the
  registered component it lives in: the component's finish covers it.

Each slow resource weighs 1, everything else 0; the depth of a resource is the
heaviest path ending at it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

#: Slow resource kinds: exact type tokens, plus the FSx file-system pattern below.
SLOW_TYPES: frozenset[str] = frozenset({
    "eks:index:Cluster",
    "aws:eks/cluster:Cluster",
    "eks:index:ManagedNodeGroup",
    "eks:index:NodeGroupV2",
    "eks:index:NodeGroup",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:ec2/natGateway:NatGateway",
    "aws:eks/addon:Addon",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
})
_FSX_FILE_SYSTEM = re.compile(r"^aws:fsx/[A-Za-z0-9]*:[A-Za-z0-9]*FileSystem$")

#: Slow kinds that are cluster add-ons (they should install in parallel, not in a chain).
ADDON_TYPES: frozenset[str] = frozenset({
    "aws:eks/addon:Addon", "kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart",
})

#: The target: cluster -> the add-ons nodes need -> system node group -> add-ons in parallel (CoreDNS among
#: them) -> the other node groups. The last step is the price of a Kubernetes minor upgrade that moves every
#: EKS add-on before the node groups roll (README "Upgrading"): non-system pools wait for CoreDNS, which
#: itself needs a system node. Nothing waits for those pools, so they never delay the add-ons.
TARGET_DEPTH = 5


def is_slow(type_: str) -> bool:
    return type_ in SLOW_TYPES or bool(_FSX_FILE_SYSTEM.match(type_))


def is_addon(type_: str) -> bool:
    return type_ in ADDON_TYPES


class GraphError(Exception):
    """The dependency graph has a cycle (the engine would refuse it too)."""


@dataclass(frozen=True)
class Node:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    expanded: bool
    #: dependency URN -> how it is referenced ("dependencies" or "propertyDependencies.<key>")
    deps: Mapping[str, str]

    @property
    def slow(self) -> bool:
        return is_slow(self.type)


@dataclass(frozen=True)
class Hop:
    """One resource on a path, and how the resource after it (the dependent) waits for it."""

    urn: str
    type: str
    name: str
    slow: bool
    #: how the NEXT hop on the path waits for this one; "" for the last hop
    link: str = ""


@dataclass(frozen=True)
class SlowEdge:
    """Slow resource ``dependent`` waits for slow resource ``dependency``, through ``path``."""

    dependent: str
    dependency: str
    path: tuple[Hop, ...]  # from the dependency to the dependent


@dataclass
class CriticalPath:
    """The result: depth in slow steps, the chain, and every slow-on-slow wait."""

    depth: int
    #: the heaviest path, first resource first, every hop included
    path: list[Hop]
    #: depth of every slow resource (URN -> slow steps up to and including it)
    depths: dict[str, int]
    #: for each slow resource, the slow resources it waits for directly (no other slow resource between)
    slow_edges: list[SlowEdge] = field(default_factory=list)
    #: dependency URNs that could not be placed (kept as standalone nodes)
    unresolved: list[str] = field(default_factory=list)
    #: dependencies dropped because they point at the resource's own ancestor (a cycle the engine refuses)
    dropped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def chain(self) -> list[Hop]:
        """Only the slow hops of :attr:`path`."""
        return [h for h in self.path if h.slow]

    def addon_chains(self) -> list[SlowEdge]:
        """Add-on waiting for another add-on: the waits the target allows only when truly needed."""
        return [e for e in self.slow_edges if is_addon(_type_of(e.dependent, e.path)) and
                is_addon(_type_of(e.dependency, e.path))]

    def over_target(self, target: int = TARGET_DEPTH) -> list[SlowEdge]:
        """The slow-on-slow edges that put a resource past ``target`` slow steps (deepest first)."""
        out = []
        for e in self.slow_edges:
            if self.depths.get(e.dependent, 0) > target and self.depths.get(e.dependency, 0) >= target:
                out.append(e)
        return sorted(out, key=lambda e: (-self.depths[e.dependent], e.dependent, e.dependency))


def _type_of(urn: str, path: Sequence[Hop]) -> str:
    for h in path:
        if h.urn == urn:
            return h.type
    return urn_type(urn)


# --------------------------------------------------------------------------- URN helpers


def urn_type_chain(urn: str) -> list[str]:
    """``urn:pulumi:s::p::a$b$c::name`` -> ``["a", "b", "c"]`` (the qualified type, split)."""
    parts = urn.split("::")
    if len(parts) < 4:
        return [urn]
    return parts[2].split("$")


def urn_type(urn: str) -> str:
    return urn_type_chain(urn)[-1]


def urn_name(urn: str) -> str:
    parts = urn.split("::")
    return "::".join(parts[3:]) if len(parts) >= 4 else urn


def _strip_stack(chain: list[str]) -> list[str]:
    # Mocks qualify top-level types with the stack type; the engine does not. Compare without it.
    return chain[1:] if chain and chain[0] == "pulumi:pulumi:Stack" else chain


# --------------------------------------------------------------------------- graph building


def build_nodes(resources: Iterable[Mapping]) -> dict[str, Node]:
    """Nodes from plan-JSON resources (``urn``, ``type``, ``name``, ``parent``, ``dependencies``, ...)."""
    nodes: dict[str, Node] = {}
    for r in resources:
        deps: dict[str, str] = {}
        for key in sorted(r.get("propertyDependencies") or {}):
            for d in r["propertyDependencies"][key] or []:
                deps.setdefault(d, f"propertyDependencies.{key}")
        for d in r.get("dependencies") or []:
            deps.setdefault(d, "dependencies")
        nodes[r["urn"]] = Node(
            urn=r["urn"], type=r["type"], name=r.get("name") or urn_name(r["urn"]),
            parent=r.get("parent") or "", custom=bool(r.get("custom", True)),
            expanded=r.get("origin") == "expanded", deps=deps,
        )
    return nodes


def _resolver(nodes: Mapping[str, Node]):
    """Map a dependency URN to a registered node: itself, or the registered component it lives in."""
    by_chain: dict[tuple[str, ...], list[Node]] = {}
    for n in nodes.values():
        by_chain.setdefault(tuple(_strip_stack(urn_type_chain(n.urn))), []).append(n)

    def resolve(urn: str) -> Optional[str]:
        if urn in nodes:
            return urn
        chain = _strip_stack(urn_type_chain(urn))
        name = urn_name(urn)
        while len(chain) > 1:
            chain = chain[:-1]
            # Provider-side components name their children after themselves (cluster-eks -> cluster-eks-eksCluster).
            cands = [n for n in by_chain.get(tuple(chain), []) if name.startswith(n.name)]
            if cands:
                return max(cands, key=lambda n: (len(n.name), n.urn)).urn
        return None

    return resolve


def _ancestors(urn: str, nodes: Mapping[str, Node]) -> set[str]:
    out: set[str] = set()
    cur = nodes[urn].parent if urn in nodes else ""
    while cur and cur in nodes and cur not in out:
        out.add(cur)
        cur = nodes[cur].parent
    return out


# --------------------------------------------------------------------------- the computation


def critical_path(resources: Iterable[Mapping]) -> CriticalPath:
    """Longest chain of slow resources in the plan's dependency graph."""
    nodes = build_nodes(resources)
    resolve = _resolver(nodes)
    unresolved: list[str] = []
    dropped: list[tuple[str, str]] = []

    # Phantom nodes for dependencies nobody registered and no component covers.
    for n in list(nodes.values()):
        for d in n.deps:
            if resolve(d) is None and d not in nodes:
                unresolved.append(d)
                nodes[d] = Node(urn=d, type=urn_type(d), name=urn_name(d), parent="", custom=True,
                                expanded=False, deps={})

    children: dict[str, list[str]] = {}
    for n in nodes.values():
        if n.parent in nodes:
            children.setdefault(n.parent, []).append(n.urn)
    for v in children.values():
        v.sort()

    # Resolved, de-duplicated dependency edges: urn -> [(dep urn, label)]
    edges: dict[str, list[tuple[str, str]]] = {}
    for n in nodes.values():
        anc = _ancestors(n.urn, nodes)
        out: dict[str, str] = {}
        for d, label in n.deps.items():
            r = resolve(d) or d
            if r == n.urn or r in anc:
                # Waiting for yourself or your own ancestor component is a cycle; the SDK refuses it.
                dropped.append((n.urn, d))
                continue
            if r != d:
                label = f"{label} -> {urn_name(d)} (inside {nodes[r].name})"
            out.setdefault(r, label)
        edges[n.urn] = sorted(out.items())

    # Three quantities per node, memoised with explicit cycle detection:
    #   start(x)  = max(ready(d) for deps) [and start(parent) for expanded objects]
    #   finish(x) = start(x) + weight(x)
    #   ready(x)  = finish(x), or max(finish(x), ready(children)) for components with children
    start: dict[str, int] = {}
    start_from: dict[str, Optional[tuple[str, str, str]]] = {}  # (kind, urn, label): "dep" | "parent"
    ready: dict[str, int] = {}
    ready_from: dict[str, Optional[str]] = {}  # child urn whose ready() dominates, or None (own finish)
    visiting: set[tuple[str, str]] = set()

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20 * len(nodes) + 1000))

    def weight(x: str) -> int:
        return 1 if nodes[x].slow else 0

    def get_start(x: str) -> int:
        if x in start:
            return start[x]
        key = ("S", x)
        if key in visiting:
            raise GraphError(f"dependency cycle through {nodes[x].type} {nodes[x].name}")
        visiting.add(key)
        best, frm = 0, None
        for d, label in edges[x]:
            v = get_ready(d)
            if v > best or frm is None:
                best, frm = v, ("dep", d, label)
        n = nodes[x]
        if n.expanded and n.parent in nodes:
            v = get_start(n.parent)
            if v > best:
                best, frm = v, ("parent", n.parent, "parent (provider-side component)")
        visiting.discard(key)
        start[x], start_from[x] = best, frm
        return best

    def finish(x: str) -> int:
        return get_start(x) + weight(x)

    def get_ready(x: str) -> int:
        if x in ready:
            return ready[x]
        key = ("R", x)
        if key in visiting:
            raise GraphError(f"dependency cycle through component {nodes[x].type} {nodes[x].name}")
        visiting.add(key)
        best, frm = finish(x), None
        if not nodes[x].custom:
            for c in children.get(x, []):
                v = get_ready(c)
                if v > best:
                    best, frm = v, c
        visiting.discard(key)
        ready[x], ready_from[x] = best, frm
        return best

    try:
        for x in sorted(nodes):
            get_ready(x)
    finally:
        sys.setrecursionlimit(old_limit)

    depths = {x: finish(x) for x in nodes if nodes[x].slow}
    if not nodes:
        return CriticalPath(depth=0, path=[], depths={}, unresolved=unresolved, dropped=dropped)

    # The end of the critical path: the deepest resource (slow ones first, then by URN for stability).
    end = min(nodes, key=lambda x: (-finish(x), not nodes[x].slow, x))
    path = _trace(end, nodes, start_from, ready_from)
    slow_edges = _slow_edges(nodes, edges, children, start_from)
    return CriticalPath(depth=finish(end), path=path, depths=depths, slow_edges=slow_edges,
                        unresolved=sorted(set(unresolved)), dropped=dropped)


def _hop(nodes: Mapping[str, Node], x: str, link: str) -> Hop:
    n = nodes[x]
    return Hop(urn=x, type=n.type, name=n.name, slow=n.slow, link=link)


def _trace(end: str, nodes: Mapping[str, Node], start_from: Mapping, ready_from: Mapping) -> list[Hop]:
    """Walk back from ``end`` along the arguments of every max; return the path first-to-last."""
    rev: list[Hop] = [_hop(nodes, end, "")]
    x = end
    seen = {x}
    while True:
        frm = start_from.get(x)
        if frm is None:
            break
        kind, y, label = frm
        # Descend into components to the descendant that finishes last.
        while ready_from.get(y) is not None and kind == "dep":
            c = ready_from[y]
            label = f"{label}; component {nodes[y].name} waits for its descendant"
            y = c
        if y in seen:
            break
        seen.add(y)
        hop = _hop(nodes, y, label)
        if kind == "parent":
            # Its children start with it, so the provider-side component adds no step of its own here.
            hop = Hop(urn=hop.urn, type=hop.type, name=hop.name, slow=False, link=label)
        rev.append(hop)
        x = y
    return list(reversed(rev))


def _slow_edges(nodes: Mapping[str, Node], edges: Mapping, children: Mapping, start_from: Mapping) -> list[SlowEdge]:
    """For every slow resource, the slow resources it waits for with no other slow resource in between."""
    out: list[SlowEdge] = []
    for x in sorted(u for u in nodes if nodes[u].slow):
        # Backward search from x's start through non-slow resources; stop at slow ones.
        found: dict[str, list[Hop]] = {}
        stack: list[tuple[str, list[Hop]]] = []
        seen: set[str] = set()

        def push_deps(u: str, trail: list[Hop]) -> None:
            for d, label in edges[u]:
                stack.append((d, trail + [_hop(nodes, d, label)]))
            n = nodes[u]
            if n.expanded and n.parent in nodes:
                stack.append((n.parent, trail + [_hop(nodes, n.parent, "parent (provider-side component)")]))

        push_deps(x, [])
        while stack:
            u, trail = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if nodes[u].slow:
                found.setdefault(u, trail)
                if nodes[u].custom or not children.get(u):
                    continue
            # A component dependency means waiting for all of its descendants.
            if not nodes[u].custom:
                for c in children.get(u, []):
                    stack.append((c, trail + [_hop(nodes, c, f"descendant of component {nodes[u].name}")]))
            if not nodes[u].slow:
                push_deps(u, trail)
        for dep, trail in sorted(found.items()):
            # trail runs dependent-first and each hop's link says how the element before it waits for
            # it, so reversed (dependency-first) each link says how the NEXT hop waits for it.
            path = tuple(reversed([_hop(nodes, x, ""), *trail]))
            out.append(SlowEdge(dependent=x, dependency=dep, path=path))
    return out


def describe_path(path: Sequence[Hop], *, only_slow_and_links: bool = False) -> list[str]:
    """Human-readable lines: ``type name`` then ``  <- link`` for each hop."""
    lines = []
    for i, h in enumerate(path):
        mark = "**SLOW**" if h.slow else ""
        lines.append(f"{h.type} `{h.name}` {mark}".rstrip())
        if h.link and i < len(path) - 1:
            lines.append(f"  -> waited for by the next via {h.link}")
    return lines
