"""Model-serving objects as plain dicts: Deployment spec, Service, ALB Ingress / NLB annotations, HPA, PDB.

No Pulumi here. Exposure follows one rule: load balancers are internal unless
an endpoint is explicitly external, and an external one always terminates TLS
1.2+ with an ACM certificate and redirects HTTP to HTTPS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from components.config import InferenceEndpointConfig
from components.workloads import pods

EXPOSURE_ANNOTATION = "mlplatform.io/exposure"
#: Newest ELB policy that still accepts TLS 1.2 clients (TLS 1.3 preferred).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
MODEL_CACHE = "model-cache"
MODEL_CACHE_PATH = "/models"
SERVICE_PORT_HTTP = 80
SERVICE_PORT_HTTPS = 443


@dataclass(frozen=True)
class Endpoint:
    """An endpoint's config plus what the platform resolved for it."""

    name: str
    namespace: str
    cfg: InferenceEndpointConfig
    service_account: str
    #: Labels a Fargate profile selector requires on the pods (placement fargate).
    fargate_labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple = ()


def selector(e: Endpoint) -> dict:
    return {"app.kubernetes.io/name": e.name, "app.kubernetes.io/instance": e.name}


def pod_labels(e: Endpoint) -> dict:
    return {**pods.labels(e.name, e.namespace), **selector(e), **dict(e.fargate_labels)}


def _probe(e: Endpoint, **timing: int) -> dict:
    return {"httpGet": {"path": e.cfg.healthPath, "port": "http"}, **timing}


def container(e: Endpoint) -> dict:
    c = e.cfg
    gpus = c.gpus if c.placement == "gpu" else 0
    return {
        "name": "server",
        "image": c.image,
        "imagePullPolicy": pods.IMAGE_PULL_POLICY,
        "args": list(c.args),
        "ports": [{"name": "http", "containerPort": c.port, "protocol": "TCP"}],
        "env": [
            {"name": "HOME", "value": "/tmp"},
            # Model servers download weights into the Hugging Face cache: point it at the writable volume.
            {"name": "HF_HOME", "value": f"{MODEL_CACHE_PATH}/huggingface"},
            {"name": "HUGGINGFACE_HUB_CACHE", "value": f"{MODEL_CACHE_PATH}/huggingface/hub"},
            *[dict(x) for x in e.env],
        ],
        "resources": pods.resources(c.cpu, c.memory, gpus),
        # Loading a model can take minutes: the startup probe holds off liveness until it is up.
        "startupProbe": _probe(e, periodSeconds=10, failureThreshold=90, timeoutSeconds=5),
        "readinessProbe": _probe(e, periodSeconds=10, failureThreshold=3, timeoutSeconds=5),
        "livenessProbe": _probe(e, periodSeconds=20, failureThreshold=3, timeoutSeconds=5),
        "securityContext": pods.container_security_context(),
        "volumeMounts": pods.scratch_mounts(shm=bool(gpus)) + [{"name": MODEL_CACHE, "mountPath": MODEL_CACHE_PATH}],
    }


def pod_spec(e: Endpoint) -> dict:
    c = e.cfg
    placement = pods.gpu_placement() if c.placement == "gpu" else {}
    spread = [
        # Prefer spreading over zones rather than require it: GPU capacity is often in one zone only,
        # and a hard constraint would leave replicas Pending instead of serving.
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": selector(e)}},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": selector(e)}},
    ]
    return pods.merge(
        {
            "serviceAccountName": e.service_account,
            # Model servers fetch from S3 with the projected AWS token; they never call the Kubernetes API.
            "automountServiceAccountToken": False,
            "securityContext": pods.pod_security_context(),
            "terminationGracePeriodSeconds": 60,
            "topologySpreadConstraints": spread,
        },
        placement,
        {
            "containers": [container(e)],
            "volumes": pods.scratch_volumes(shm=c.placement == "gpu") + [{"name": MODEL_CACHE, "emptyDir": {}}],
        },
    )


def deployment(e: Endpoint) -> dict:
    return {
        "replicas": e.cfg.replicas,
        "selector": {"matchLabels": selector(e)},
        # Never drop below the serving floor during a rollout; GPU replicas are too scarce to surge many.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {"metadata": {"labels": pod_labels(e)}, "spec": pod_spec(e)},
    }


def service(e: Endpoint) -> tuple[dict, dict]:
    """(annotations, spec) for the endpoint's Service: ClusterIP, or an NLB when exposure is nlb."""
    c = e.cfg
    annotations: dict[str, str] = {}
    spec: dict[str, Any] = {"selector": selector(e)}
    if c.exposure != "nlb":
        spec.update(type="ClusterIP", ports=[{"name": "http", "port": SERVICE_PORT_HTTP, "targetPort": "http",
                                               "protocol": "TCP"}])
        return annotations, spec
    annotations.update({
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" if c.internal else "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": c.healthPath,
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "traffic-port",
    })
    port = SERVICE_PORT_HTTP
    if not c.internal:
        port = SERVICE_PORT_HTTPS
        annotations.update({
            EXPOSURE_ANNOTATION: "external",
            "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": c.certificateArn,
            "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": str(SERVICE_PORT_HTTPS),
            "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": TLS_POLICY,
        })
    spec.update(type="LoadBalancer", ports=[{"name": "https" if port == SERVICE_PORT_HTTPS else "http", "port": port,
                                             "targetPort": "http", "protocol": "TCP"}])
    return annotations, spec


def ingress_annotations(e: Endpoint) -> dict[str, str]:
    """ALB annotations: internal by default; external means HTTPS with an ACM cert and HTTP->HTTPS redirect."""
    c = e.cfg
    a = {
        "alb.ingress.kubernetes.io/scheme": "internal" if c.internal else "internet-facing",
        # Pods are targets directly (also the only mode Fargate supports).
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/healthcheck-path": c.healthPath,
        "alb.ingress.kubernetes.io/healthcheck-port": "traffic-port",
        "alb.ingress.kubernetes.io/success-codes": "200",
    }
    if c.internal:
        a["alb.ingress.kubernetes.io/listen-ports"] = json.dumps([{"HTTP": SERVICE_PORT_HTTP}])
    else:
        a.update({
            EXPOSURE_ANNOTATION: "external",
            "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": SERVICE_PORT_HTTP},
                                                                  {"HTTPS": SERVICE_PORT_HTTPS}]),
            "alb.ingress.kubernetes.io/certificate-arn": c.certificateArn,
            "alb.ingress.kubernetes.io/ssl-redirect": str(SERVICE_PORT_HTTPS),
            "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
        })
    return a


def ingress_spec(e: Endpoint, service_name: str) -> dict:
    return {
        "ingressClassName": "alb",
        "rules": [{"http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service_name, "port": {"name": "http"}}},
        }]}}],
    }


def hpa_spec(e: Endpoint, deployment_name: str) -> dict:
    c = e.cfg
    metrics: list[dict] = [{"type": "Resource", "resource": {
        "name": c.hpaMetric, "target": {"type": "Utilization", "averageUtilization": c.targetUtilization}}}]
    if c.customMetric:
        # Needs a custom-metrics adapter (e.g. prometheus-adapter) serving this per-pod metric.
        metrics.append({"type": "Pods", "pods": {
            "metric": {"name": c.customMetric},
            "target": {"type": "AverageValue", "averageValue": c.customMetricTarget}}})
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name},
        "minReplicas": c.replicas,
        "maxReplicas": c.maxReplicas,
        "metrics": metrics,
        # Scale down slowly: a model replica is expensive to bring back.
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                   "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]}},
    }


def pdb_spec(e: Endpoint) -> dict:
    # maxUnavailable (not minAvailable) so a single-replica endpoint never blocks node drains forever.
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector(e)}}


def fargate_labels_for(namespace: str, selectors: list[tuple[str, Mapping[str, str]]]) -> Optional[dict]:
    """Labels a pod in ``namespace`` must carry to match a Fargate selector (first match wins); None if none matches.

    ``selectors`` is [(namespace, labels)] in a stable order.
    """
    for ns, lbls in selectors:
        if ns == namespace:
            return dict(lbls)
    return None
