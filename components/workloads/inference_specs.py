"""Model-serving objects as plain dicts: Deployment spec, Service, ALB Ingress / NLB annotations, HPA, PDB.

No Pulumi here. Exposure follows one rule: load balancers are internal unless
an endpoint is explicitly external, and an external one always terminates TLS
1.2+ with an ACM certificate and redirects HTTP to HTTPS.

Availability:

* Replicas spread over zones (preferred: GPU capacity is often in one zone, and
  a hard constraint would leave replicas Pending instead of serving) and over
  nodes (required, honouring taints and affinity, so only eligible nodes count
  as domains): one node's loss or drain never takes every replica. Endpoints
  that can never run two replicas carry no spread.
* The PodDisruptionBudget is ``maxUnavailable: 1``, never ``minAvailable``: with
  one replica a drain may still evict it (a budget of zero disruptions would
  block node upgrades and Karpenter consolidation forever).
* Shutdown drains: ``preStop`` sleeps :data:`DEREGISTRATION_SECONDS` while the
  endpoint is taken out of the Service and the load balancer (the controller
  deregisters the pod's IP; until then new requests still arrive), then SIGTERM
  lets the server finish in-flight requests within ``drainSeconds``.
  ``terminationGracePeriodSeconds`` covers both, and the load balancer's
  deregistration delay matches it so it never cuts a request the pod is still
  finishing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from components.config import InferenceEndpointConfig
from components.workloads import inference_model, pods

EXPOSURE_ANNOTATION = "mlplatform.io/exposure"
#: Newest ELB policy that still accepts TLS 1.2 clients (TLS 1.3 preferred).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
MODEL_CACHE = inference_model.CACHE_VOLUME
MODEL_CACHE_PATH = inference_model.CACHE_PATH
SERVICE_PORT_HTTP = 80
SERVICE_PORT_HTTPS = 443
#: How long a terminating pod keeps serving while it leaves the Service and the load balancer's targets.
DEREGISTRATION_SECONDS = 15
#: Room after the drain for the server to exit once its requests are done.
EXIT_SECONDS = 5


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
    #: Model volumes, init container and env (default: a pod-local emptyDir cache, as without ``model``).
    model: inference_model.ModelPlan = field(default_factory=lambda: inference_model.ModelPlan(
        volumes=[{"name": MODEL_CACHE, "emptyDir": {}}], mounts=[{"name": MODEL_CACHE, "mountPath": MODEL_CACHE_PATH}]))


def selector(e: Endpoint) -> dict:
    return {"app.kubernetes.io/name": e.name, "app.kubernetes.io/instance": e.name}


def pod_labels(e: Endpoint) -> dict:
    return {**pods.labels(e.name, e.namespace), **selector(e), **dict(e.fargate_labels)}


def _probe(e: Endpoint, **timing: int) -> dict:
    return {"httpGet": {"path": e.cfg.healthPath, "port": "http"}, **timing}


def grace_seconds(e: Endpoint) -> int:
    """terminationGracePeriodSeconds: leave the load balancer, drain in-flight requests, exit."""
    return DEREGISTRATION_SECONDS + e.cfg.drainSeconds + EXIT_SECONDS


def container(e: Endpoint) -> dict:
    c = e.cfg
    gpus = c.gpus if c.placement == "gpu" else 0
    res = pods.resources(c.cpu, c.memory, gpus)
    for block in res.values():
        block.update(e.model.extra_resources)
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
            *[dict(x) for x in e.model.env],
        ],
        "resources": res,
        # Loading a model can take minutes: the startup probe holds off liveness for a budget that grows
        # with the declared model size. Readiness then only passes once the server answers healthPath,
        # which model servers do after the model is loaded.
        "startupProbe": _probe(e, periodSeconds=inference_model.PROBE_PERIOD_SECONDS, timeoutSeconds=5,
                               failureThreshold=inference_model.probe_failure_threshold(e.model.startup_seconds)),
        "readinessProbe": _probe(e, periodSeconds=10, failureThreshold=3, timeoutSeconds=5),
        "livenessProbe": _probe(e, periodSeconds=20, failureThreshold=3, timeoutSeconds=5),
        # Keep serving while the endpoint leaves the Service and the load balancer, then SIGTERM drains.
        "lifecycle": {"preStop": {"sleep": {"seconds": DEREGISTRATION_SECONDS}}},
        "securityContext": pods.container_security_context(),
        "volumeMounts": pods.scratch_mounts(shm=bool(gpus)) + [dict(m) for m in e.model.mounts],
    }


def pod_spec(e: Endpoint) -> dict:
    c = e.cfg
    placement = pods.gpu_placement() if c.placement == "gpu" else {}
    base: dict = {
        "serviceAccountName": e.service_account,
        # Model servers fetch from S3 with the projected AWS token; they never call the Kubernetes API.
        "automountServiceAccountToken": False,
        "securityContext": pods.pod_security_context(),
        "terminationGracePeriodSeconds": grace_seconds(e),
    }
    if c.maxReplicas >= 2:
        base["topologySpreadConstraints"] = spread(e)
    parts: dict = {
        "containers": [container(e)],
        "volumes": pods.scratch_volumes(shm=c.placement == "gpu") + [dict(v) for v in e.model.volumes],
    }
    if e.model.init_containers:
        parts["initContainers"] = [dict(x) for x in e.model.init_containers]
    return pods.merge(base, placement, parts)


def spread(e: Endpoint) -> list[dict]:
    """Zones preferred, nodes required (only nodes the pod may use count as domains).

    Fargate gives every pod a node of its own, so only the zone constraint applies there.
    """
    match = {"matchLabels": selector(e)}
    out = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": match}]
    if e.cfg.placement != "fargate":
        out.append({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": match, "nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Honor"})
    return out


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
        "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": _deregistration(e),
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
        "alb.ingress.kubernetes.io/target-group-attributes": _deregistration(e),
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


def _deregistration(e: Endpoint) -> str:
    """The load balancer waits this long for a deregistered target's requests (its default is 300 s)."""
    return f"deregistration_delay.timeout_seconds={grace_seconds(e)}"


def ingress_spec(e: Endpoint, service_name: str) -> dict:
    return {
        "ingressClassName": "alb",
        "rules": [{"http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service_name, "port": {"name": "http"}}},
        }]}}],
    }


def hpa_spec(e: Endpoint, deployment_name: str) -> dict:
    """The resource-metric HPA of an endpoint without ``autoscaling`` (with it, KEDA owns the HPA)."""
    c = e.cfg
    if c.autoscaling is not None:
        raise ValueError(f"endpoint {e.name} scales through KEDA; it must not get an HPA of its own")
    metrics: list[dict] = [{"type": "Resource", "resource": {
        "name": c.hpaMetric, "target": {"type": "Utilization", "averageUtilization": c.targetUtilization}}}]
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
