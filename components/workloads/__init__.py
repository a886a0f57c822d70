"""The ML workload and tenancy layer: teams, training, inference, observability, imported workloads.

:func:`build_workloads` turns the validated stack config plus what the
foundation (:class:`~components.contracts.PlatformContext`) and the add-on
layer (:class:`~components.contracts.PlatformAddons`) provide into components:

* one :class:`TeamNamespace` per team (namespace, guard rails, RBAC, access, queue, shared claims);
* :class:`TrainingPlatform` (Trainer v2 + JobSet, runtime, legacy operator, Kueue) and one
  :class:`TrainingJob` per enabled job;
* one :class:`InferenceService` per enabled endpoint;
* :class:`Observability` (CloudWatch add-on, kube-prometheus-stack, DCGM exporter);
* one :class:`ExistingWorkloads` per imported workload.

Submodules are imported lazily (inside :func:`build_workloads`) so the pure
modules (``sources``, ``*_specs``) can be used from config validation without
an import cycle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:  # pragma: no cover
    from components.contracts import PlatformAddons, PlatformContext
    from components.workloads.imports import ExistingWorkloads
    from components.workloads.inference import InferenceService
    from components.workloads.observability import Observability
    from components.workloads.tenancy import TeamNamespace
    from components.workloads.training import TrainingJob, TrainingPlatform


@dataclass(frozen=True)
class Workloads:
    """What the workload layer created, by name."""

    teams: Mapping[str, "TeamNamespace"]
    training: Optional["TrainingPlatform"]
    jobs: Mapping[str, "TrainingJob"]
    endpoints: Mapping[str, "InferenceService"]
    observability: Optional["Observability"]
    imports: Mapping[str, "ExistingWorkloads"] = field(default_factory=dict)


def fargate_selectors(cfg: Any) -> list[tuple[str, Mapping[str, str]]]:
    """[(namespace, labels)] of every Fargate selector, in a stable order (profile name, then position)."""
    return [(s.namespace, dict(s.labels)) for _, prof in sorted(cfg.fargateProfiles.items()) for s in prof.selectors]


def build_workloads(ctx: "PlatformContext", addons: "PlatformAddons", *,
                    project_dir: Optional[Path] = None) -> Workloads:
    """Create the workload layer for the stack described by ``ctx.cfg``."""
    from components.workloads import inference_specs, tenancy_specs
    from components.workloads.imports import ExistingWorkloads, ExistingWorkloadsArgs
    from components.workloads.inference import InferenceService, InferenceServiceArgs
    from components.workloads.observability import Observability, ObservabilityArgs
    from components.workloads.tenancy import TeamNamespace, TeamNamespaceArgs
    from components.workloads.training import TrainingJob, TrainingJobArgs, TrainingPlatform, TrainingPlatformArgs

    cfg = ctx.cfg
    provider = ctx.cluster.provider
    tags = dict(ctx.tags)
    project_dir = project_dir or Path(os.getcwd())

    training = None
    if cfg.trainer or cfg.legacyTrainingOperator or cfg.kueue:
        training = TrainingPlatform("training", TrainingPlatformArgs(
            provider=provider, trainer=cfg.trainer, legacy_training_operator=cfg.legacyTrainingOperator,
            kueue=cfg.kueue, kueue_cpu_quota=cfg.kueueCpuQuota, kueue_memory_quota=cfg.kueueMemoryQuota,
            kueue_gpu_quota=cfg.kueueGpuQuota, depends_on=ctx.compute_ready, crds=ctx.cluster.crds,
            controller_replicas=cfg.controllerReplicas,
        ))

    enabled_endpoints = {n: e for n, e in cfg.inferenceEndpoints.items() if e.enabled}
    teams: dict[str, TeamNamespace] = {}
    for team, tcfg in cfg.teams.items():
        teams[team] = TeamNamespace(f"team-{team}", TeamNamespaceArgs(
            team=team, config=tcfg, provider=provider, cluster_name=ctx.cluster.cluster_name,
            ingress_cidrs=tenancy_specs.ingress_cidrs(cfg.vpcCidr, cfg.podCidr),
            serving_ports=sorted({e.port for e in enabled_endpoints.values() if e.team == team}),
            pod_identity=cfg.identityMode == "pod-identity",
            legacy_training=cfg.legacyTrainingOperator,
            efs_storage_class=addons.efs_storage_class,
            fsx=addons.fsx,
            cluster_queue=training.cluster_queue_name if training else None,
            kueue_depends_on=training.queue_ready if training else (),
            storage_depends_on=tuple(addons.ready),
            tags=tags,
        ))

    jobs: dict[str, TrainingJob] = {}
    for job, jcfg in cfg.trainingJobs.items():
        if not jcfg.enabled:
            continue
        team = teams[jcfg.team]
        claim = {"efs": team.efs_claim_name, "fsx": team.fsx_claim_name}.get(jcfg.volume)
        platform_ready = (training.trainjob_ready if jcfg.kind == "TrainJob" else training.pytorchjob_ready) \
            if training else []
        jobs[job] = TrainingJob(f"job-{job}", TrainingJobArgs(
            job=job, config=jcfg, namespace=jcfg.team, provider=provider, identity=ctx.cluster.identity,
            data_bucket_name=addons.data_bucket_name, data_bucket_arn=addons.data_bucket_arn,
            queue=team.queue_name, claim=claim,
            runtime=jcfg.runtime,
            script=(project_dir / jcfg.script).read_text(encoding="utf-8") if jcfg.script else None,
            depends_on=[*team.ready, *platform_ready, *addons.ready],
        ))

    # Before the endpoints: their ServiceMonitors wait for the Prometheus release.
    observability = None
    if cfg.cloudwatchObservability or cfg.prometheus:
        observability = Observability("observability", ObservabilityArgs(
            cluster=ctx.cluster, kubernetes_version=cfg.kubernetesVersion, cloudwatch=cfg.cloudwatchObservability,
            prometheus=cfg.prometheus, dcgm_exporter=cfg.dcgmExporter, prometheus_retention=cfg.prometheusRetention,
            prometheus_storage_gib=cfg.prometheusStorageGiB, storage_class=addons.default_storage_class,
            grafana_admin_password=cfg.grafanaAdminPassword, depends_on=ctx.compute_ready,
        ))

    selectors = fargate_selectors(cfg)
    endpoints: dict[str, InferenceService] = {}
    for ep, ecfg in enabled_endpoints.items():
        fargate_labels = (inference_specs.fargate_labels_for(ecfg.team, selectors) or {}) \
            if ecfg.placement == "fargate" else {}
        endpoints[ep] = InferenceService(f"endpoint-{ep}", InferenceServiceArgs(
            endpoint=ep, config=ecfg, namespace=ecfg.team, provider=provider, identity=ctx.cluster.identity,
            data_bucket_name=addons.data_bucket_name, data_bucket_arn=addons.data_bucket_arn,
            lb_controller=addons.lb_controller, fargate_labels=fargate_labels,
            depends_on=[*teams[ecfg.team].ready, *ctx.compute_ready, *addons.ready,
                        *([ctx.fargate] if ecfg.placement == "fargate" and ctx.fargate else [])],
            metrics_backend="prometheus" if cfg.prometheus else "cloudwatch", keda_ready=addons.keda,
            prometheus_ready=[observability.prometheus_release]
            if observability is not None and observability.prometheus_release is not None else [],
            efs_claim=teams[ecfg.team].efs_claim_name, fsx_claim=teams[ecfg.team].fsx_claim_name,
        ))

    imports: dict[str, ExistingWorkloads] = {}
    for wl, wcfg in cfg.existingWorkloads.items():
        imports[wl] = ExistingWorkloads(f"import-{wl}", ExistingWorkloadsArgs(
            workload=wl, config=wcfg, namespace=wcfg.team, provider=provider, base_dir=project_dir,
            depends_on=list(teams[wcfg.team].ready),
        ))

    return Workloads(teams=teams, training=training, jobs=jobs, endpoints=endpoints, observability=observability,
                     imports=imports)
