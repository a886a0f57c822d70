"""Tags and cost: required tags on every taggable AWS resource, GPU instance allow-list, GPU pool sizes,
log retention. The stack-wide GPU total lives in ``stack.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from pulumi_policy import Severity

from guardrails._meta import Ctx, dig, resource_rule
from guardrails.common import (
    DEFAULT_GPU_FAMILIES,
    NodeGroupView,
    NodePoolScope,
    instance_family,
    is_gpu_instance,
    is_karpenter,
    obj,
    quantity,
    tag_map,
    to_int,
)

REQUIRED_TAGS = ["owner", "cost-center", "environment"]
#: pulumi-eks components that take ``tags`` and hand them to what they create.
TAGGABLE_COMPONENTS = frozenset({"eks:index:Cluster", "eks:index:ManagedNodeGroup"})
INSTANCE_TYPES = ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance",
                  "aws:ec2/launchConfiguration:LaunchConfiguration")


def _load_taggable() -> frozenset[str]:
    path = Path(__file__).with_name("taggable_aws_types.txt")
    lines = path.read_text().splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


#: AWS types whose inputs accept ``tags`` (generated from the pulumi-aws SDK; see tests/policy_taggable.py).
TAGGABLE_AWS_TYPES = _load_taggable()


def takes_tags(resource_type: str, props: Mapping[str, Any]) -> bool:
    """Known taggable types, plus any AWS type that carries ``tags`` (a provider newer than the list)."""
    if resource_type in TAGGABLE_AWS_TYPES or resource_type in TAGGABLE_COMPONENTS:
        return True
    return resource_type.startswith("aws:") and ("tags" in props or "tagsAll" in props)


def provider_default_tags(provider: Mapping[str, Any]) -> dict[str, Any]:
    """``defaultTags.tags`` of an aws provider (providers receive nested inputs as JSON strings)."""
    dt = provider.get("defaultTags") if isinstance(provider, Mapping) else None
    if isinstance(dt, str):
        try:
            dt = json.loads(dt)
        except ValueError:
            return {}
    return tag_map((dt or {}).get("tags")) if isinstance(dt, Mapping) else {}


@resource_rule(
    name="required-tags",
    description="Every taggable AWS resource carries the required cost-allocation tags (owner, cost-center, "
                "environment by default).",
    remediation="Pass the stack's tags to every AWS resource (or set them as the aws provider's defaultTags).",
    type_prefixes=("aws:", "eks:index:"),
    severity=Severity.MEDIUM,
    config={
        "requiredTags": {"type": "array", "items": {"type": "string"}, "default": REQUIRED_TAGS,
                         "description": "Tag keys every taggable AWS resource must carry, with a non-empty value."},
    },
)
def required_tags(props: dict, ctx: Ctx) -> Iterable[str]:
    if not takes_tags(ctx.type, props):
        return
    tags = {**provider_default_tags(ctx.provider), **tag_map(props.get("tags"))}
    missing = [k for k in ctx.config.get("requiredTags") or [] if not str(tags.get(k) or "").strip()]
    if missing:
        yield f"missing required tags: {', '.join(missing)}"


@resource_rule(
    name="gpu-instance-allowlist",
    description="GPU capacity uses only approved NVIDIA instance families (node groups, launch templates, "
                "instances, Karpenter NodePools).",
    remediation="Pick instance types from allowedGpuFamilies; in Karpenter NodePools pin "
                "karpenter.k8s.aws/instance-family (or node.kubernetes.io/instance-type) to approved families.",
    type_prefixes=("aws:", "eks:index:", "kubernetes:"),
    config={
        "allowedGpuFamilies": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_GPU_FAMILIES,
                               "description": "GPU instance families that may be launched."},
    },
)
def gpu_instance_allowlist(props: dict, ctx: Ctx) -> Iterable[str]:
    allowed = {str(f).lower() for f in ctx.config.get("allowedGpuFamilies") or []}
    if ctx.type.startswith("kubernetes:"):
        if not is_karpenter(ctx.type, props, "NodePool"):
            return
        scope = NodePoolScope(dig(props, "spec", "template", "spec", "requirements"))
        if not scope.allows_gpu:
            return
        families = scope.gpu_families()
        if families is None:
            yield ("the NodePool allows GPU instances without naming their families; pin "
                   "karpenter.k8s.aws/instance-family to approved GPU families")
            return
        bad = sorted(set(families) - allowed)
        if bad:
            yield f"the NodePool allows GPU families {', '.join(bad)}, which are not approved"
        return
    view = NodeGroupView.of(ctx.type, props)
    if view is not None:
        types = view.instance_types
    elif ctx.type in INSTANCE_TYPES and props.get("instanceType"):
        types = [str(props.get("instanceType"))]
    else:
        types = []
    for t in types:
        if is_gpu_instance(t) and instance_family(t) not in allowed:
            yield f"GPU instance type {t} (family {instance_family(t)}) is not approved"


@resource_rule(
    name="gpu-node-limits",
    description="Each GPU pool has a bounded size: node groups at most maxGpuNodesPerPool nodes, Karpenter GPU "
                "NodePools a spec.limits nvidia.com/gpu of at most maxGpusPerNodePool.",
    remediation="Lower maxSize of the GPU node group, or set spec.limits[\"nvidia.com/gpu\"] on the Karpenter "
                "NodePool (without it a burst of pending pods can launch GPUs without bound).",
    type_prefixes=("aws:", "eks:index:", "kubernetes:"),
    config={
        "maxGpuNodesPerPool": {"type": "integer", "default": 16, "description": "Largest maxSize of one GPU node group."},
        "maxGpusPerNodePool": {"type": "integer", "default": 64,
                               "description": "Largest nvidia.com/gpu limit of one Karpenter NodePool."},
    },
)
def gpu_node_limits(props: dict, ctx: Ctx) -> Iterable[str]:
    if ctx.type.startswith("kubernetes:"):
        if not is_karpenter(ctx.type, props, "NodePool"):
            return
        if not NodePoolScope(dig(props, "spec", "template", "spec", "requirements")).allows_gpu:
            return
        cap = int(ctx.config.get("maxGpusPerNodePool", 64))
        limit = quantity(obj(dig(props, "spec", "limits")).get("nvidia.com/gpu"))
        if limit is None:
            yield "the GPU NodePool sets no spec.limits[\"nvidia.com/gpu\"]: its GPU count is unbounded"
        elif limit > cap:
            yield f"the GPU NodePool may hold {limit:g} GPUs, above {cap}"
        return
    view = NodeGroupView.of(ctx.type, props)
    if view is None or not view.gpu:
        return
    cap = int(ctx.config.get("maxGpuNodesPerPool", 16))
    if view.max_size is None:
        yield "the GPU node group sets no maximum size"
    elif view.max_size > cap:
        yield f"the GPU node group may grow to {view.max_size} nodes, above {cap}"


@resource_rule(
    name="log-groups-retention",
    description="CloudWatch log groups expire their events (no never-expire groups).",
    remediation="Set retentionInDays (the platform uses logRetentionDays from the stack config).",
    types=("aws:cloudwatch/logGroup:LogGroup",),
    config={"minRetentionDays": {"type": "integer", "default": 7,
                                 "description": "Shortest retention accepted (audit trails need a floor)."}},
)
def log_groups_retention(props: dict, ctx: Ctx) -> Iterable[str]:
    days = to_int(props.get("retentionInDays"))
    floor = int(ctx.config.get("minRetentionDays", 7))
    if not days:
        yield "retentionInDays is unset: events are kept (and billed) forever"
    elif days < floor:
        yield f"retentionInDays is {days}, below {floor}"
