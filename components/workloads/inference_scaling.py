"""Metric-driven autoscaling for endpoints: presets, the KEDA ScaledObject, its trigger. Plain dicts, no Pulumi.

An endpoint with ``autoscaling`` gets a KEDA ``ScaledObject`` instead of an
HPA. KEDA creates and owns the HPA itself (``keda-hpa-<name>``), so the two
never coexist: the platform never creates an HPA for such an endpoint, and the
policy pack refuses a stack where one targets the same Deployment.

Where the metric comes from depends on the stack:

* ``prometheus: true``: a ``prometheus`` trigger against kube-prometheus-stack's
  Service. The endpoint's server is scraped through a ServiceMonitor on its
  Service (port ``http``, ``/metrics``: vLLM and TEI both serve it there).
* otherwise a ``aws-cloudwatch`` trigger. KEDA's operator reads CloudWatch with
  its own workload identity (``cloudwatch:GetMetricData`` only), referenced
  through one ClusterTriggerAuthentication (components/addons/keda.py).

Semantics shared by every trigger: the query returns a *total* for the
Deployment and the target is *per replica* (``metricType: AverageValue``: the
HPA divides the total by the replica count). The GPU preset divides by the GPUs
per replica, so its target reads as per-GPU utilisation. The one exception is
CloudWatch's GPU preset, whose metric is already an average over the Service's
pods (``metricType: Value``).

Facts behind the presets (checked 2026-11-29):

* vLLM exports ``vllm:num_requests_waiting`` (gauge, labels ``model_name`` and
  ``engine``) from its OpenAI server's ``/metrics`` (vllm-project/vllm
  ``vllm/v1/metrics/loggers.py``, PrometheusStatLogger). Scraped through a
  ServiceMonitor, each series also carries the target labels ``namespace`` and
  ``pod``.
* The DCGM exporter exports ``DCGM_FI_DEV_GPU_UTIL`` (gauge, percent; NVIDIA/dcgm-exporter
  ``etc/default-counters.csv`` at 4.5.2-4.8.1, the image our pinned chart runs)
  and labels each GPU with the pod using it as ``pod``/``namespace``
  (``internal/pkg/transformation/const.go``). Our ServiceMonitor for the exporter
  does not honour labels, so Prometheus renames those to ``exported_pod`` and
  ``exported_namespace`` (the exporter's own pod owns ``pod``/``namespace``).
* Container Insights (the amazon-cloudwatch-observability add-on) publishes
  ``pod_gpu_utilization`` in ``ContainerInsights`` with the dimension set
  ``ClusterName, Namespace, Service`` among others (aws/amazon-cloudwatch-agent
  ``translator/translate/otel/exporter/awsemf/kubernetes.go``).
* Trigger metadata keys are the ones KEDA 2.20.2's scalers read
  (``pkg/scalers/prometheus_scaler.go``, ``aws_cloudwatch_scaler.go``;
  vendored to upstream/keda/scalers.yaml and checked by validators/scalers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

API_VERSION = "keda.sh/v1alpha1"
KIND = "ScaledObject"
#: The ClusterTriggerAuthentication (created with KEDA) that makes the CloudWatch scaler use the
#: KEDA operator's own workload identity.
AWS_TRIGGER_AUTH = "keda-aws-operator-identity"

#: kube-prometheus-stack's Prometheus Service: ``<fullname>-prometheus`` (templates/prometheus/service.yaml;
#: fullname is the release name when it contains the chart name), port ``prometheus.service.port`` (9090).
PROMETHEUS_SERVER = "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"
#: KEDA asks each trigger every pollingInterval seconds (its default is 30; model servers queue fast).
POLLING_SECONDS = 15
#: After this many failed reads KEDA stops trusting the metric and applies the fallback.
FALLBACK_FAILURES = 3
#: Scale down at most one replica per this many seconds: a GPU replica is expensive to bring back.
SCALE_DOWN_PERIOD_SECONDS = 120

VLLM_QUEUE = "vllm-queue-depth"
GPU_UTILIZATION = "gpu-utilization"


@dataclass(frozen=True)
class Preset:
    """A named metric: what it needs and the doc line config errors cite."""

    name: str
    #: Backends that can serve it.
    backends: tuple[str, ...]
    #: Produced by the endpoint's own pods: useless for waking a scaled-to-zero endpoint.
    from_pods: bool
    needs_gpu: bool
    doc: str


PRESETS: dict[str, Preset] = {
    VLLM_QUEUE: Preset(VLLM_QUEUE, ("prometheus",), True, False,
                       "vLLM requests waiting, per replica (vllm:num_requests_waiting)"),
    GPU_UTILIZATION: Preset(GPU_UTILIZATION, ("prometheus", "cloudwatch"), True, True,
                            "GPU utilisation in percent, per GPU (DCGM_FI_DEV_GPU_UTIL, or Container Insights' "
                            "pod_gpu_utilization when Prometheus is off)"),
}

_PRESET_LIKE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")


def backend(prometheus: bool) -> str:
    return "prometheus" if prometheus else "cloudwatch"


def metric_problem(metric: str, backend_: str) -> Optional[str]:
    """Why ``metric`` cannot be used on ``backend_``, or None. Presets are checked by the caller."""
    m = metric.strip()
    if not m:
        return "must be a preset or a query"
    if m in PRESETS:
        return None
    if _PRESET_LIKE.match(m):
        return f"{m!r} is not a preset; use one of {', '.join(sorted(PRESETS))} or a query"
    if backend_ == "cloudwatch":
        if not m.upper().startswith("SELECT "):
            return ("prometheus is off, so a custom metric is a CloudWatch Metrics Insights query "
                    "(SELECT ... FROM ...); PromQL needs prometheus: true")
        return None
    return _promql_problem(m)


def _promql_problem(q: str) -> Optional[str]:
    """Cheap structural checks: balanced brackets outside strings, closed quotes (Prometheus parses the rest)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: Optional[str] = None
    escaped = False
    for ch in q:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return f"unbalanced {ch!r} in the PromQL query"
    if quote:
        return "unterminated string in the PromQL query"
    if stack:
        return f"unclosed {stack[-1]!r} in the PromQL query"
    return None


def pod_regex(deployment: str) -> str:
    """Pods of Deployment ``deployment`` (``<name>-<replicaset hash>-<pod suffix>``), and no other Deployment's."""
    return f"{re.escape(deployment)}-[a-z0-9]+-[a-z0-9]+"


@dataclass(frozen=True)
class Target:
    """What the ScaledObject scales and where it reads metrics."""

    name: str
    namespace: str
    #: The Deployment (and its Service) name.
    deployment: str
    gpus_per_replica: int
    backend: str
    #: EKS cluster name and region, for CloudWatch triggers (strings or Outputs: only placed, never read).
    cluster_name: Any = ""
    region: Any = ""


def _concat(*parts: Any) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    import pulumi

    return pulumi.Output.concat(*parts)


def trigger(t: Target, metric: str, target: int) -> dict:
    """One KEDA trigger for ``metric`` (a preset or a query) with ``target`` per replica."""
    m = metric.strip()
    if t.backend == "prometheus":
        if m == VLLM_QUEUE:
            query = f'sum(vllm:num_requests_waiting{{namespace="{t.namespace}",pod=~"{pod_regex(t.deployment)}"}})'
        elif m == GPU_UTILIZATION:
            # Total utilisation over the Deployment's GPUs, divided by GPUs per replica: AverageValue then
            # divides by replicas, so the target is per-GPU percent.
            query = (f'sum(DCGM_FI_DEV_GPU_UTIL{{exported_namespace="{t.namespace}",'
                     f'exported_pod=~"{pod_regex(t.deployment)}"}}) / {max(t.gpus_per_replica, 1)}')
        else:
            query = m
        return {"type": "prometheus", "metricType": "AverageValue", "metadata": {
            "serverAddress": PROMETHEUS_SERVER, "query": query, "threshold": str(target),
            # An empty result (no series yet) reads as 0 rather than an error.
            "ignoreNullValues": "true",
        }}
    common = {"awsRegion": t.region, "targetMetricValue": str(target), "minMetricValue": "0",
              "metricStatPeriod": "60", "metricCollectionTime": "300", "ignoreNullValues": "true"}
    auth = {"name": AWS_TRIGGER_AUTH, "kind": "ClusterTriggerAuthentication"}
    if m == GPU_UTILIZATION:
        # Container Insights aggregates pod_gpu_utilization over the Service's pods: an average already.
        return {"type": "aws-cloudwatch", "metricType": "Value", "authenticationRef": auth, "metadata": {
            **common, "namespace": "ContainerInsights", "metricName": "pod_gpu_utilization",
            "dimensionName": "ClusterName;Namespace;Service",
            "dimensionValue": _concat(t.cluster_name, f";{t.namespace};{t.deployment}"), "metricStat": "Average",
        }}
    return {"type": "aws-cloudwatch", "metricType": "AverageValue", "authenticationRef": auth,
            "metadata": {**common, "expression": m}}


def scaled_object(t: Target, *, metric: str, target: int, min_replicas: int, max_replicas: int, cooldown: int,
                  labels: Optional[dict] = None) -> dict:
    """The ScaledObject manifest for ``t`` (validated against KEDA's CRD schema and CEL in the tests)."""
    trig = trigger(t, metric, target)
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.deployment},
        "minReplicaCount": min_replicas,
        "maxReplicaCount": max_replicas,
        "pollingInterval": POLLING_SECONDS,
        # cooldownPeriod only governs the last step to zero; the HPA's own stabilisation window below
        # governs every other step down. Both take the configured cooldown.
        "cooldownPeriod": cooldown,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {
            "stabilizationWindowSeconds": cooldown,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": SCALE_DOWN_PERIOD_SECONDS}],
        }}}},
        "triggers": [trig],
    }
    if trig["metricType"] == "AverageValue":
        # If the metric source breaks (Prometheus down, CloudWatch throttled), hold what is running rather
        # than collapsing to the floor under load. KEDA accepts a fallback only with an AverageValue trigger.
        # (A scale-to-zero endpoint's fallback is 0: a broken metric source must not wake a GPU.)
        spec["fallback"] = {"failureThreshold": FALLBACK_FAILURES, "replicas": min_replicas,
                            "behavior": "currentReplicasIfHigher"}
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": t.name, "namespace": t.namespace, "labels": dict(labels or {})},
            "spec": spec}


def service_monitor(name: str, namespace: str, selector: dict, port: str = "http",
                    labels: Optional[dict] = None) -> dict:
    """Scrape the endpoint's server through its Service port named ``port`` (``/metrics``)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": port, "path": "/metrics", "interval": f"{POLLING_SECONDS}s"}],
        },
    }
