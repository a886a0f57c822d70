"""Distributed training: the Trainer v2 / JobSet / Kueue platform, and one TrainingJob component per job.

:class:`TrainingPlatform` installs, each from its pinned source and in parallel
(none needs another to install):

* Kubeflow Trainer v2 (Helm, ``kubeflow-system``) with its bundled JobSet, and
  the hardened ``torch-distributed`` ClusterTrainingRuntime;
* optionally the legacy training-operator v1 (PyTorchJob) from its pinned
  kustomize overlay, for teams migrating existing jobs;
* Kueue (Helm, ``kueue-system``) with one ResourceFlavor and one ClusterQueue
  open to team namespaces; teams get their LocalQueue from TeamNamespace.

CRDs: Trainer (2.3+) and Kueue render theirs as chart templates, which Helm
upgrades. The JobSet chart Trainer bundles keeps its CRD in ``crds/``, which
Helm installs once and never upgrades, so the JobSet CRD is applied apart at
the bundled version's tag and the Trainer release sets ``skipCrds``
(``components/crds.py``).

Kueue picks up integrations whose CRDs are installed after it starts, so it
does not wait for Trainer. Jobs, however, wait for both: a TrainJob created
before Kueue's webhook is serving would start unsuspended, outside any quota.

:class:`TrainingJob` emits a TrainJob (runtime reference plus a runtime patch)
or a PyTorchJob, with an identity that can read ``datasets/`` and write the
team's ``checkpoints/<team>/`` in the data bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.config import TrainingJobConfig
from components.conventions import child
from components.crds import CrdTarget, crds_for
from components.kube import custom_resource, pinned_release
from components.identity import ClusterIdentity, WorkloadIdentity, WorkloadIdentityArgs
from components.workloads import iam, pods, training_specs as specs

TRAINER_NAMESPACE = "kubeflow-system"
KUEUE_NAMESPACE = "kueue-system"
DEFAULT_RUNTIME = "torch-distributed"


@dataclass(frozen=True)
class TrainingPlatformArgs:
    """Arguments for :class:`TrainingPlatform`."""

    provider: k8s.Provider
    #: Install Kubeflow Trainer v2 (+ JobSet) and the torch-distributed runtime.
    trainer: bool = True
    #: Install the legacy training-operator v1 (PyTorchJob).
    legacy_training_operator: bool = False
    #: Install Kueue with one ClusterQueue.
    kueue: bool = True
    kueue_cpu_quota: str = "64"
    kueue_memory_quota: str = "256Gi"
    kueue_gpu_quota: int = 8
    #: Image of the runtime's default node container (TrainJobs normally set their own).
    runtime_image: str = versions.IMAGES["pytorch-train"]
    #: What the charts need before they can schedule (the system node group).
    depends_on: Sequence[pulumi.Resource] = ()
    #: Where CRDs installed apart go (the cluster's); None leaves the bundled JobSet chart its own CRD.
    crds: Optional[CrdTarget] = None
    #: Replicas of the Kueue, Trainer and JobSet controllers (``controllerReplicas``); 2+ adds disruption budgets.
    controller_replicas: int = 2


class TrainingPlatform(pulumi.ComponentResource):
    """Trainer v2 + JobSet, the torch-distributed runtime, optional training-operator v1, and Kueue."""

    trainer_release: Optional[k8s.helm.v3.Release]
    runtime: Optional[k8s.apiextensions.CustomResource]
    runtime_name: Optional[str]
    legacy_operator: Optional[pulumi.Resource]
    kueue_release: Optional[k8s.helm.v3.Release]
    cluster_queue: Optional[k8s.apiextensions.CustomResource]
    cluster_queue_name: Optional[str]
    #: Everything a TrainJob must wait for.
    trainjob_ready: list[pulumi.Resource]
    #: Everything a PyTorchJob must wait for.
    pytorchjob_ready: list[pulumi.Resource]
    #: What a team's LocalQueue must wait for.
    queue_ready: list[pulumi.Resource]

    def __init__(self, name: str, args: TrainingPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:TrainingPlatform", name, None, opts)
        p = args.provider
        self.trainer_release = self.runtime = self.legacy_operator = None
        self.kueue_release = self.cluster_queue = None
        self.runtime_name = self.cluster_queue_name = None
        self.queue_ready = []
        kueue_ready: list[pulumi.Resource] = []

        if args.kueue:
            self.kueue_release = pinned_release(
                f"{name}-kueue", "kueue", namespace=KUEUE_NAMESPACE, create_namespace=True,
                values=specs.merged(specs.kueue_values(), specs.kueue_ha_values(args.controller_replicas)),
                parent=self, provider=p, depends_on=args.depends_on)
            flavor = custom_resource(f"{name}-resource-flavor", specs.resource_flavor(),
                                     child(self, provider=p, depends_on=[self.kueue_release]))
            cq = specs.cluster_queue(args.kueue_cpu_quota, args.kueue_memory_quota, args.kueue_gpu_quota)
            self.cluster_queue = custom_resource(f"{name}-cluster-queue", cq,
                                                 child(self, provider=p, depends_on=[self.kueue_release, flavor]))
            self.cluster_queue_name = cq["metadata"]["name"]
            self.queue_ready = [self.kueue_release, self.cluster_queue]
            kueue_ready = list(self.queue_ready)

        if args.trainer:
            jobset_crds = crds_for(self, f"{name}-jobset", "jobset", args.crds, namespace=TRAINER_NAMESPACE)
            self.trainer_release = pinned_release(
                f"{name}-trainer", "kubeflow-trainer", namespace=TRAINER_NAMESPACE, create_namespace=True,
                values=specs.merged(specs.trainer_values(), specs.trainer_ha_values(args.controller_replicas)),
                parent=self, provider=p, depends_on=[*args.depends_on, *jobset_crds], skip_crds=bool(jobset_crds))
            if args.controller_replicas > 1:
                pdb = specs.trainer_pdb(TRAINER_NAMESPACE)
                k8s.policy.v1.PodDisruptionBudget(
                    f"{name}-trainer-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                    opts=child(self, provider=p, depends_on=[self.trainer_release]))
            self.runtime = custom_resource(f"{name}-torch-runtime",
                                           specs.torch_runtime(DEFAULT_RUNTIME, args.runtime_image),
                                           child(self, provider=p, depends_on=[self.trainer_release]))
            self.runtime_name = DEFAULT_RUNTIME

        if args.legacy_training_operator:
            pin = versions.HELM_CHARTS["training-operator"]
            # No upstream Helm chart exists for v1 (see the versions table): the standalone kustomize
            # overlay at the pinned tag, applied by the provider exactly as `kubectl apply -k` would.
            self.legacy_operator = k8s.kustomize.v2.Directory(
                f"{name}-training-operator",
                directory=f"{pin.repository}?ref={pin.version}",
                opts=child(self, provider=p, depends_on=list(args.depends_on)),
            )

        self.trainjob_ready = [r for r in (self.trainer_release, self.runtime) if r is not None] + kueue_ready
        self.pytorchjob_ready = [r for r in (self.legacy_operator,) if r is not None] + kueue_ready
        self.register_outputs({"runtime": self.runtime_name, "clusterQueue": self.cluster_queue_name})


@dataclass(frozen=True)
class TrainingJobArgs:
    """Arguments for :class:`TrainingJob`."""

    #: Job name (also the Kubernetes object name).
    job: str
    #: Resolved job config (image defaulted by config validation).
    config: TrainingJobConfig
    #: Team namespace the job runs in (plain string: it is part of the IRSA trust condition).
    namespace: str
    provider: k8s.Provider
    identity: ClusterIdentity
    #: Data bucket (``datasets/`` read, ``checkpoints/<team>/`` read-write).
    data_bucket_name: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    #: Kueue LocalQueue of the team; None when Kueue is off.
    queue: Optional[str] = None
    #: Shared PVC for the configured volume; None for ``volume: none``.
    claim: Optional[str] = None
    #: ClusterTrainingRuntime for TrainJobs.
    runtime: str = DEFAULT_RUNTIME
    #: Text of the training entry point, delivered as /workspace/train.py through a ConfigMap; None when the
    #: image carries its own.
    script: Optional[str] = None
    #: Team namespace objects, controllers, runtime and queues the job must wait for.
    depends_on: Sequence[pulumi.Resource] = ()


class TrainingJob(pulumi.ComponentResource):
    """One distributed training job (TrainJob or PyTorchJob) with its S3 identity."""

    job: k8s.apiextensions.CustomResource
    kind: str
    service_account_name: str
    role_arn: pulumi.Output[str]
    #: The job's checkpoint location in the data bucket.
    checkpoint_uri: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingJobArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:TrainingJob", name, None, opts)
        cfg = args.config
        if cfg.volume != "none" and not args.claim:
            raise ValueError(f"training job {args.job}: volume {cfg.volume} requested but the team has no such claim")
        sa = f"{args.job}-trainer"
        self.kind = cfg.kind
        self.service_account_name = sa
        checkpoints = f"checkpoints/{args.namespace}"
        identity = WorkloadIdentity(
            f"{name}-identity",
            WorkloadIdentityArgs(
                cluster=args.identity, namespace=args.namespace, service_account=sa,
                policy_json=iam.policy_document(iam.s3_prefix_statements(
                    args.data_bucket_arn, read=["datasets"], read_write=[checkpoints])),
                labels=pods.labels(args.job, args.namespace),
                depends_on=list(args.depends_on),
            ),
            opts=child(self),
        )
        self.role_arn = identity.role_arn
        bucket_uri = pulumi.Output.concat("s3://", args.data_bucket_name, "/")
        self.checkpoint_uri = pulumi.Output.concat(bucket_uri, checkpoints, "/", args.job, "/")
        env = [
            {"name": "JOB_NAME", "value": args.job},
            {"name": "DATASETS_URI", "value": pulumi.Output.concat(bucket_uri, "datasets/")},
            {"name": "CHECKPOINTS_URI", "value": self.checkpoint_uri},
        ]
        if args.claim:
            env.append({"name": "SHARED_DIR", "value": specs.SHARED_MOUNT})
        deps: list[pulumi.Resource] = [identity, *args.depends_on]
        script_cm = None
        if args.script is not None:
            script_cm = f"{args.job}-script"
            deps.append(k8s.core.v1.ConfigMap(
                f"{name}-script",
                metadata={"name": script_cm, "namespace": args.namespace,
                          "labels": pods.labels(args.job, args.namespace)},
                data={"train.py": args.script},
                opts=child(self, provider=args.provider, depends_on=list(args.depends_on))))
        pod = specs.TrainingPod(
            name=args.job, namespace=args.namespace, image=cfg.image, command=list(cfg.command), nodes=cfg.nodes,
            gpus_per_node=cfg.gpusPerNode, cpu=cfg.cpu, memory=cfg.memory, service_account=sa, queue=args.queue,
            claim=args.claim if cfg.volume != "none" else None, env=env, script_config_map=script_cm,
        )
        obj = specs.trainjob(pod, args.runtime) if cfg.kind == "TrainJob" else specs.pytorchjob(pod)
        self.job = custom_resource(
            f"{name}-{cfg.kind.lower()}", obj,
            # The job is immutable in flight: replace it rather than patch a running collective.
            child(self, provider=args.provider, depends_on=deps, delete_before_replace=True))
        self.register_outputs({"kind": cfg.kind, "roleArn": self.role_arn, "checkpointUri": self.checkpoint_uri})
