"""InferenceService: one model-serving endpoint.

A Deployment of a pinned model server (restricted pod, probes on the health
path, requests equal to limits, spread over zones) placed on CPU nodes, GPU
nodes or Fargate; a Service; an autoscaling/v2 HPA; a PodDisruptionBudget; and,
if asked, an AWS load balancer: an ALB Ingress or an NLB Service, internal
unless the endpoint is explicitly external (then HTTPS with the ACM
certificate, TLS 1.2+, HTTP redirected). Load balancer objects depend on the
AWS Load Balancer Controller release, so ``pulumi destroy`` deletes them while
the controller can still remove the AWS load balancers (otherwise they, and
their ENIs, are orphaned and the VPC never deletes).

The model server's identity reads only ``models/<name>/`` in the data bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.config import InferenceEndpointConfig
from components.conventions import child
from components.identity import ClusterIdentity, WorkloadIdentity, WorkloadIdentityArgs
from components.workloads import iam, inference_specs as specs, pods


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


class InferenceService(pulumi.ComponentResource):
    """A hardened, autoscaled model-serving Deployment with Service, HPA, PDB and optional load balancer."""

    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    ingress: Optional[k8s.networking.v1.Ingress]
    hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler
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
        sa = f"{ep_name}-server"
        self.service_account_name = sa
        identity = WorkloadIdentity(
            f"{name}-identity",
            WorkloadIdentityArgs(
                cluster=args.identity, namespace=ns, service_account=sa,
                policy_json=iam.policy_document(iam.s3_prefix_statements(args.data_bucket_arn,
                                                                         read=[cfg.modelPrefix])),
                labels=pods.labels(ep_name, ns), depends_on=list(args.depends_on),
                # EKS Pod Identity needs its agent DaemonSet on the node, and Fargate runs no DaemonSets:
                # Fargate pods get their role through IRSA whatever the stack-wide mode.
                mode="irsa" if cfg.placement == "fargate" else None,
            ),
            opts=child(self),
        )
        self.role_arn = identity.role_arn
        model_uri = pulumi.Output.concat("s3://", args.data_bucket_name, "/", cfg.modelPrefix.strip("/"), "/")
        endpoint = specs.Endpoint(name=ep_name, namespace=ns, cfg=cfg, service_account=sa,
                                  fargate_labels=dict(args.fargate_labels),
                                  env=({"name": "MODEL_URI", "value": model_uri},))
        k8s_opts = dict(provider=args.provider)
        ready = [identity, *args.depends_on]
        meta = {"name": ep_name, "namespace": ns, "labels": pods.labels(ep_name, ns)}

        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=meta, spec=specs.deployment(endpoint),
            # The HPA owns the replica count after creation; re-applying the floor on every update
            # would fight it (and scale a busy endpoint down).
            opts=child(self, **k8s_opts, depends_on=ready, ignore_changes=["spec.replicas"]),
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
        self.hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa", metadata=meta, spec=specs.hpa_spec(endpoint, ep_name),
            opts=child(self, **k8s_opts, depends_on=[self.deployment]))
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


def _lb_hostname(status) -> str:
    lb = getattr(status, "load_balancer", None) if status is not None else None
    ingress = getattr(lb, "ingress", None) or []
    return (getattr(ingress[0], "hostname", None) or getattr(ingress[0], "ip", None) or "") if ingress else ""
