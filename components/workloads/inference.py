"""InferenceService: one model-serving endpoint.

A Deployment of a pinned model server (restricted pod, probes on the health
path, requests equal to limits, spread over zones and nodes, graceful drain)
placed on CPU nodes, GPU nodes or Fargate; a Service; an autoscaler; a
PodDisruptionBudget; and, if asked, an AWS load balancer: an ALB Ingress or an
NLB Service, internal unless the endpoint is explicitly external (then HTTPS
with the ACM certificate, TLS 1.2+, HTTP redirected). Load balancer objects
depend on the AWS Load Balancer Controller release, so ``pulumi destroy``
deletes them while the controller can still remove the AWS load balancers
(otherwise they, and their ENIs, are orphaned and the VPC never deletes).

The autoscaler is an ``autoscaling/v2`` HPA on CPU or memory, or, with
``autoscaling``, a KEDA ScaledObject (which owns its own HPA; the two never
coexist). A Prometheus-backed ScaledObject comes with a ServiceMonitor for the
server and a NetworkPolicy letting Prometheus scrape it through the team's
default deny. A scaled-to-zero endpoint keeps its Service and load balancer.

The model server's identity reads only its model's S3 prefix (``models/<name>/``
in the data bucket by default), and nothing for Hub sources or FSx-served models.
Model loading is planned in :mod:`components.workloads.inference_model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.config import InferenceEndpointConfig
from components.conventions import child
from components.identity import ClusterIdentity, WorkloadIdentity, WorkloadIdentityArgs
from components.kube import custom_resource
from components.workloads import iam, inference_model, inference_scaling as scaling, inference_specs as specs, pods
from components.workloads.observability_values import MONITORING_NAMESPACE

#: Pulumi waits this long at least for a Deployment rollout (its own default).
MIN_ROLLOUT_MINUTES = 10


@dataclass(frozen=True)
class InferenceServiceArgs:
    """Arguments for :class:`InferenceService`."""

    #: Endpoint name (object names and the model prefix default).
    endpoint: str
    #: Resolved endpoint config (image and modelPrefix defaulted by config validation).
    config: InferenceEndpointConfig
    #: Team namespace (plain string: part of the IRSA trust condition).
    namespace: str
    provider: k8s.Provider
    identity: ClusterIdentity
    data_bucket_name: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    #: The AWS Load Balancer Controller release; required when the endpoint is exposed.
    lb_controller: Optional[pulumi.Resource] = None
    #: Pod labels a Fargate profile selector needs (placement fargate).
    fargate_labels: Mapping[str, str] = field(default_factory=dict)
    #: Team namespace objects the endpoint waits for.
    depends_on: Sequence[pulumi.Resource] = ()
    #: Where autoscaling metrics come from: ``prometheus`` (kube-prometheus-stack) or ``cloudwatch``.
    metrics_backend: str = "prometheus"
    #: What a ScaledObject waits for (KEDA's release and trigger authentication); required with autoscaling.
    keda_ready: Optional[Sequence[pulumi.Resource]] = None
    #: What the ServiceMonitor waits for (the kube-prometheus-stack release installing its CRD).
    prometheus_ready: Sequence[pulumi.Resource] = ()
    #: The team's shared claims, for model caches on EFS or FSx.
    efs_claim: Optional[str] = None
    fsx_claim: Optional[str] = None


class InferenceService(pulumi.ComponentResource):
    """A hardened, autoscaled model-serving Deployment with Service, HPA or ScaledObject, PDB and load balancer."""

    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    ingress: Optional[k8s.networking.v1.Ingress]
    #: The resource-metric HPA (None when KEDA scales the endpoint).
    hpa: Optional[k8s.autoscaling.v2.HorizontalPodAutoscaler]
    #: The KEDA ScaledObject (None without ``autoscaling``).
    scaled_object: Optional[k8s.apiextensions.CustomResource]
    pdb: k8s.policy.v1.PodDisruptionBudget
    service_account_name: str
    role_arn: pulumi.Output[str]
    #: In-cluster URL of the Service.
    cluster_url: str
    #: Load balancer hostname (None for cluster-only endpoints).
    hostname: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: InferenceServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:InferenceService", name, None, opts)
        cfg, ns, ep_name = args.config, args.namespace, args.endpoint
        if cfg.exposure != "none" and args.lb_controller is None:
            raise ValueError(f"inference endpoint {ep_name}: exposure {cfg.exposure} needs the AWS Load Balancer "
                             "Controller, and the add-on layer provided none")
        if cfg.autoscaling is not None and args.keda_ready is None:
            raise ValueError(f"inference endpoint {ep_name}: autoscaling needs KEDA, and the add-on layer "
                             "provided none")
        model_cfg = cfg.model
        cache = model_cfg.cache if model_cfg else "none"
        source = inference_model.parse_source(model_cfg.source if model_cfg else "", cfg.modelPrefix)
        sa = f"{ep_name}-server"
        self.service_account_name = sa
        identity = WorkloadIdentity(
            f"{name}-identity",
            WorkloadIdentityArgs(
                cluster=args.identity, namespace=ns, service_account=sa,
                policy_json=self._model_policy(args, source, cache),
                labels=pods.labels(ep_name, ns), depends_on=list(args.depends_on),
                # EKS Pod Identity needs its agent DaemonSet on the node, and Fargate runs no DaemonSets:
                # Fargate pods get their role through IRSA whatever the stack-wide mode.
                mode="irsa" if cfg.placement == "fargate" else None,
            ),
            opts=child(self),
        )
        self.role_arn = identity.role_arn
        model = inference_model.plan(
            ep_name, cache=cache, source=source, size_gib=model_cfg.sizeGiB if model_cfg else 0,
            data_bucket_name=args.data_bucket_name, loader_image=versions.IMAGES["model-loader"],
            cpu=cfg.cpu, memory=cfg.memory, efs_claim=args.efs_claim, fsx_claim=args.fsx_claim)
        endpoint = specs.Endpoint(name=ep_name, namespace=ns, cfg=cfg, service_account=sa,
                                  fargate_labels=dict(args.fargate_labels), model=model)
        k8s_opts = dict(provider=args.provider)
        ready = [identity, *args.depends_on]
        meta = {"name": ep_name, "namespace": ns, "labels": pods.labels(ep_name, ns)}

        # Pulumi waits for the rollout: give it the model copy plus the startup budget.
        rollout = max(MIN_ROLLOUT_MINUTES, math.ceil((model.fetch_seconds + model.startup_seconds) / 60) + 5)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=meta, spec=specs.deployment(endpoint),
            # The autoscaler owns the replica count after creation; re-applying the floor on every update
            # would fight it (and scale a busy endpoint down).
            opts=child(self, **k8s_opts, depends_on=ready, ignore_changes=["spec.replicas"],
                       custom_timeouts=pulumi.CustomTimeouts(create=f"{rollout}m", update=f"{rollout}m")),
        )
        svc_annotations, svc_spec = specs.service(endpoint)
        lb = [args.lb_controller] if cfg.exposure != "none" and args.lb_controller is not None else []
        self.service = k8s.core.v1.Service(
            f"{name}-service", metadata={**meta, "annotations": svc_annotations}, spec=svc_spec,
            # Only an NLB Service makes AWS create a load balancer; it then must be deleted before the controller.
            opts=child(self, **k8s_opts, depends_on=ready + (lb if cfg.exposure == "nlb" else [])),
        )
        self.ingress = None
        if cfg.exposure == "alb":
            self.ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress", metadata={**meta, "annotations": specs.ingress_annotations(endpoint)},
                spec=specs.ingress_spec(endpoint, ep_name),
                opts=child(self, **k8s_opts, depends_on=[*ready, self.service, *lb]),
            )
        self.hpa = self.scaled_object = None
        if cfg.autoscaling is None:
            self.hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=meta, spec=specs.hpa_spec(endpoint, ep_name),
                opts=child(self, **k8s_opts, depends_on=[self.deployment]))
        else:
            self._scale_with_keda(name, args, endpoint, meta, svc_spec)
        self.pdb = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=meta, spec=specs.pdb_spec(endpoint),
            opts=child(self, **k8s_opts, depends_on=ready))

        self.cluster_url = f"http://{ep_name}.{ns}.svc.cluster.local"
        self.hostname = None
        if self.ingress is not None:
            self.hostname = self.ingress.status.apply(_lb_hostname)
        elif cfg.exposure == "nlb":
            self.hostname = self.service.status.apply(_lb_hostname)
        self.register_outputs({"clusterUrl": self.cluster_url, "hostname": self.hostname, "roleArn": self.role_arn})

    @staticmethod
    def _model_policy(args: InferenceServiceArgs, source: inference_model.Source,
                      cache: str) -> Optional[pulumi.Output[str]]:
        """Read-only on the model's S3 prefix; nothing when the pod never reads S3 (Hub sources, FSx)."""
        target = inference_model.read_statement_target(source)
        if target is None or cache == "fsx":
            return None
        bucket, prefix = target
        arn = args.data_bucket_arn if not bucket else pulumi.Output.concat(
            "arn:", args.identity.env.partition, ":s3:::", bucket)
        return iam.policy_document(iam.s3_prefix_statements(arn, read=[prefix]))

    def _scale_with_keda(self, name: str, args: InferenceServiceArgs, endpoint: specs.Endpoint, meta: dict,
                         svc_spec: dict) -> None:
        cfg, ns, ep_name = args.config, args.namespace, args.endpoint
        a = cfg.autoscaling
        assert a is not None and a.minReplicas is not None and a.maxReplicas is not None  # resolved by config
        k8s_opts = dict(provider=args.provider)
        target = scaling.Target(name=ep_name, namespace=ns, deployment=ep_name,
                                gpus_per_replica=cfg.gpus, backend=args.metrics_backend,
                                cluster_name=args.identity.cluster_name, region=args.identity.env.region)
        manifest = scaling.scaled_object(target, metric=a.metric, target=a.target, min_replicas=a.minReplicas,
                                         max_replicas=a.maxReplicas, cooldown=a.cooldown, labels=meta["labels"])
        self.scaled_object = custom_resource(
            f"{name}-scaledobject", manifest,
            child(self, **k8s_opts, depends_on=[self.deployment, *(args.keda_ready or [])]))
        if args.metrics_backend != "prometheus":
            return
        # Prometheus must scrape the server: a ServiceMonitor on its Service, and a hole in the team's
        # default deny for the monitoring namespace on the serving port only.
        port_name = svc_spec["ports"][0]["name"]
        custom_resource(
            f"{name}-servicemonitor",
            scaling.service_monitor(ep_name, ns, meta["labels"], port=port_name, labels=meta["labels"]),
            child(self, **k8s_opts, depends_on=[self.service, *args.prometheus_ready]))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-metrics-scrape",
            metadata={**meta, "name": f"{ep_name}-allow-metrics-scrape"},
            spec={"podSelector": {"matchLabels": specs.selector(endpoint)}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}],
                      "ports": [{"protocol": "TCP", "port": cfg.port}]}]},
            opts=child(self, **k8s_opts, depends_on=list(args.depends_on)))


def _lb_hostname(status) -> str:
    lb = getattr(status, "load_balancer", None) if status is not None else None
    ingress = getattr(lb, "ingress", None) or []
    return (getattr(ingress[0], "hostname", None) or getattr(ingress[0], "ip", None) or "") if ingress else ""
