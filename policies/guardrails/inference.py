"""Inference rules: GPU endpoints that really land on GPUs, and KEDA ScaledObjects that can do what they promise.

* A serving workload that asks for GPUs must tolerate the GPU taint (or it
  never schedules on a GPU node) and run Guaranteed: every container's
  requests equal its limits for GPUs, CPU and memory, so the kubelet never
  evicts an expensive, slow-to-restart model replica ahead of best-effort pods.
* A ScaledObject must scale a Deployment this stack creates (KEDA would sit
  idle, or scale someone else's workload), no HorizontalPodAutoscaler may
  target the same Deployment (KEDA creates its own; two HPAs fight), and its
  maximum must fit the namespace's ResourceQuota: at ``maxReplicaCount`` plus
  the rollout surge, the pods' requests and limits stay within the quota's
  hard limits. Otherwise the autoscaler promises capacity the quota refuses
  exactly when load peaks (the extra pods are rejected at admission).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional

from guardrails._meta import Ctx, StackResource, dig, is_unknown, resource_rule, stack_rule
from guardrails.common import as_list, obj, quantity
from guardrails.podspecs import SERVING_KINDS, PodView, kind_of, pod_templates
from guardrails.workloads import GPU_RESOURCE, K8S, tolerates

#: Resources a GPU endpoint's containers must pin (requests == limits).
PINNED = ("cpu", "memory", GPU_RESOURCE)
#: KEDA's default maxReplicaCount (the CRD's CEL rule assumes 100 when it is unset).
KEDA_DEFAULT_MAX = 100
#: Deployment RollingUpdate maxSurge default.
DEFAULT_SURGE = "25%"
#: ResourceQuota hard keys checked, and how a pod's resources count against them.
QUOTA_KEYS = {
    "requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory"),
    f"requests.{GPU_RESOURCE}": ("requests", GPU_RESOURCE),
}


def _uses_gpu(pod: PodView) -> bool:
    for c in pod.containers():
        res = obj(c.get("resources"))
        if any(quantity(obj(res.get(b)).get(GPU_RESOURCE)) for b in ("requests", "limits")):
            return True
    return False


@resource_rule(
    name="gpu-endpoints-guaranteed",
    description="Serving workloads that request GPUs tolerate the GPU taint and set requests equal to limits "
                "for GPUs, CPU and memory (Guaranteed QoS) on every container.",
    remediation="Add the toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} and give every "
                "container (init containers too) identical requests and limits for nvidia.com/gpu, cpu and memory.",
    type_prefixes=K8S,
    config={
        "taintKey": {"type": "string", "default": "nvidia.com/gpu", "description": "The GPU taint's key."},
        "taintValue": {"type": "string", "default": "true", "description": "The GPU taint's value."},
    },
)
def gpu_endpoints_guaranteed(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) not in SERVING_KINDS:
        return
    key, value = str(ctx.config.get("taintKey")), str(ctx.config.get("taintValue"))
    for pod in pod_templates(ctx.type, props):
        if not _uses_gpu(pod):
            continue
        if not tolerates(pod.spec.get("tolerations"), key, value):
            yield f"GPU endpoint {pod.where} does not tolerate the {key}:NoSchedule taint"
        for c in pod.containers():
            res = obj(c.get("resources"))
            req, lim = obj(res.get("requests")), obj(res.get("limits"))
            for r in PINNED:
                if r == GPU_RESOURCE and r not in req and r not in lim:
                    continue
                rq, lm = quantity(req.get(r)), quantity(lim.get(r))
                if rq is None or lm is None or not math.isclose(rq, lm):
                    yield (f"GPU endpoint container {c.get('name') or '?'!r} in {pod.where} has {r} requests "
                           f"{req.get(r)} and limits {lim.get(r)}; they must be set and equal")


# --------------------------------------------------------------------------- ScaledObjects


def _ns(r: StackResource) -> Any:
    return dig(r.props, "metadata", "namespace")


def _name(r: StackResource) -> Any:
    return dig(r.props, "metadata", "name")


def _is_scaled_object(r: StackResource) -> bool:
    return kind_of(r.type, r.props) == "ScaledObject" and "keda.sh/" in str(r.props.get("apiVersion") or r.type)


def pod_amounts(spec: Mapping[str, Any], block: str) -> dict[str, float]:
    """A pod's effective requests or limits: the larger of all app containers together and any init container."""
    def amounts(containers: Any) -> list[dict[str, float]]:
        out = []
        for c in as_list(containers):
            b = obj(obj(obj(c).get("resources")).get(block))
            out.append({k: q for k, v in b.items() if (q := quantity(v)) is not None})
        return out

    total: dict[str, float] = {}
    for a in amounts(spec.get("containers")):
        for k, v in a.items():
            total[k] = total.get(k, 0.0) + v
    for a in amounts(spec.get("initContainers")):
        for k, v in a.items():
            total[k] = max(total.get(k, 0.0), v)
    return total


def surge(deployment_spec: Mapping[str, Any], replicas: int) -> int:
    """Extra pods a rollout may add at ``replicas`` (RollingUpdate maxSurge; Recreate adds none)."""
    strategy = obj(deployment_spec.get("strategy"))
    if strategy.get("type") == "Recreate":
        return 0
    value = obj(strategy.get("rollingUpdate")).get("maxSurge", DEFAULT_SURGE)
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * float(value[:-1]) / 100)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _fmt(resource: str, value: float) -> str:
    if resource == "memory":
        return f"{value / 2 ** 30:g}Gi"
    return f"{value:g}"


@stack_rule(
    name="scaledobjects-target-own-deployments-within-quota",
    description="A KEDA ScaledObject scales a Deployment this stack creates, no HPA targets that Deployment too, "
                "and its maxReplicaCount (plus the rollout surge) fits the namespace's ResourceQuota.",
    remediation="Point scaleTargetRef at a Deployment of this stack, delete any HPA on it (KEDA creates its own), "
                "and lower maxReplicaCount or the pod's resources, or raise the team quota, until (max + surge) x "
                "per-pod requests fits.",
)
def scaledobjects_target_own_deployments_within_quota(resources: list[StackResource],
                                                      ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    deployments = {(_ns(r), _name(r)): r for r in resources if kind_of(r.type, r.props) == "Deployment"}
    hpas = [r for r in resources if kind_of(r.type, r.props) == "HorizontalPodAutoscaler"]
    quotas = [r for r in resources if kind_of(r.type, r.props) == "ResourceQuota"]
    for so in resources:
        if not _is_scaled_object(so):
            continue
        ns, spec = _ns(so), obj(so.props.get("spec"))
        ref = obj(spec.get("scaleTargetRef"))
        target, kind = ref.get("name"), ref.get("kind") or "Deployment"
        api = ref.get("apiVersion") or "apps/v1"
        label = f"ScaledObject {ns}/{_name(so)}"
        if any(is_unknown(v) for v in (ns, target)):
            continue
        if kind != "Deployment" or api != "apps/v1":
            yield f"{label} scales a {api} {kind}; endpoints scale apps/v1 Deployments this stack creates", so.urn
            continue
        dep = deployments.get((ns, target))
        if dep is None:
            yield f"{label} targets Deployment {ns}/{target}, which this stack does not create", so.urn
            continue
        for h in hpas:
            href = obj(dig(h.props, "spec", "scaleTargetRef"))
            if _ns(h) == ns and href.get("name") == target and (href.get("kind") or "") == "Deployment":
                yield (f"{label} and HorizontalPodAutoscaler {ns}/{_name(h)} both scale Deployment {target}; "
                       "KEDA creates its own HPA, so the two would fight"), so.urn
        max_replicas = spec.get("maxReplicaCount")
        if is_unknown(max_replicas):
            continue
        peak_replicas = int(max_replicas) if max_replicas is not None else KEDA_DEFAULT_MAX
        dep_spec = obj(dep.props.get("spec"))
        pods = peak_replicas + surge(dep_spec, peak_replicas)
        pod_spec = obj(dig(dep_spec, "template", "spec"))
        per_pod = {"requests": pod_amounts(pod_spec, "requests"), "limits": pod_amounts(pod_spec, "limits")}
        for q in quotas:
            if _ns(q) != ns:
                continue
            for key, raw in obj(dig(q.props, "spec", "hard")).items():
                if key not in QUOTA_KEYS or is_unknown(raw):
                    continue
                block, resource = QUOTA_KEYS[key]
                hard = quantity(raw)
                need = pods * per_pod[block].get(resource, 0.0)
                if hard is not None and need > hard * (1 + 1e-9):
                    yield (f"{label}: {pods} pods of {target} ({peak_replicas} at maxReplicaCount + "
                           f"{pods - peak_replicas} rollout surge) need {key} {_fmt(resource, need)}, over "
                           f"ResourceQuota {ns}/{_name(q)}'s {raw}"), so.urn
