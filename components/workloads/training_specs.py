"""Distributed-training objects as plain dicts: the Trainer runtime, TrainJobs, PyTorchJobs, Kueue.

Shapes follow the Kubeflow Trainer API 2.3 (``trainer.kubeflow.org/v1alpha1``),
the training-operator v1 API (``kubeflow.org/v1``) and Kueue ``v1beta2``; tests
validate them against the ``kubeflow_trainer_api`` and ``kubeflow_training``
models. No Pulumi here: values may be ``pulumi.Input``s (the bucket name), they
are only placed, never inspected.

How a TrainJob becomes pods: Trainer copies the runtime's JobSet template,
applies ``spec.trainer`` (image, command, nodes, resources per node) to the
``node`` container of the replicated job labelled
``trainer.kubeflow.org/trainjob-ancestor-step: trainer``, then applies each
``spec.runtimePatches`` entry (tolerations, affinity, volumes, service account,
security contexts). The patch repeats the runtime's hardening so the effective
pod is restricted even if the runtime is later edited, and so the policy pack,
which rebuilds the pod from the TrainJob alone, sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import yaml

from components.conventions import SYSTEM_NODE_SELECTOR
from components.workloads import pods

TRAINER_API = "trainer.kubeflow.org/v1alpha1"
PYTORCH_API = "kubeflow.org/v1"
KUEUE_API = "kueue.x-k8s.io/v1beta2"
KUEUE_CONFIG_API = "config.kueue.x-k8s.io/v1beta2"

#: The replicated job and container Trainer's torch plugin drives.
NODE_JOB = "node"
NODE_CONTAINER = "node"
#: PyTorchJob's training container must carry this name (the operator injects its env there).
PYTORCH_CONTAINER = "pytorch"
ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
#: Owner of our entry in ``spec.runtimePatches`` (patches are keyed by manager). Trainer's admission
#: webhook requires a domain-prefixed path here (pkg/runtime/framework/plugins/jobset/jobset.go).
PATCH_MANAGER = "mlplatform.io/platform"
#: Where the team's shared dataset/checkpoint volume is mounted.
SHARED_MOUNT = "/mnt/shared"
SHARED_VOLUME = "shared"
#: Where a job's ConfigMap-delivered entry point is mounted (the default command runs /workspace/train.py).
SCRIPT_MOUNT = "/workspace"
SCRIPT_VOLUME = "script"
#: Name of every team's Kueue LocalQueue (one per namespace, same name everywhere so manifests port).
LOCAL_QUEUE = "training"
CLUSTER_QUEUE = "ml-training"
RESOURCE_FLAVOR = "default-flavor"
#: Kueue integrations we rely on. Plain Deployments/Pods are deliberately not managed: serving
#: must not wait in a batch queue.
KUEUE_FRAMEWORKS = ("batch/job", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob", "kubeflow.org/pytorchjob")

#: Caches and HOME must be writable with a read-only root filesystem.
_SCRATCH_ENV = ({"name": "HOME", "value": "/tmp"}, {"name": "XDG_CACHE_HOME", "value": "/tmp/.cache"})


@dataclass(frozen=True)
class TrainingPod:
    """What a training job's pods need, independent of TrainJob or PyTorchJob."""

    name: str
    namespace: str
    image: str
    command: Sequence[str]
    nodes: int
    gpus_per_node: int
    cpu: str
    memory: str
    service_account: str
    #: Kueue LocalQueue; None when Kueue is off.
    queue: Optional[str] = None
    #: PVC holding datasets/checkpoints, mounted at SHARED_MOUNT; None for no shared volume.
    claim: Optional[str] = None
    #: Extra environment, e.g. the S3 locations ([{"name": ..., "value": ...}]).
    env: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    #: ConfigMap holding ``train.py``, mounted read-only at SCRIPT_MOUNT; None when the image carries it.
    script_config_map: Optional[str] = None


def _pod_metadata(p: TrainingPod) -> dict:
    # Karpenter must never consolidate or expire a node under a running job: one lost
    # worker fails the whole collective (and with it every GPU-hour since the last checkpoint).
    return {"labels": pods.labels(p.name, p.namespace), "annotations": {pods.DO_NOT_DISRUPT: "true"}}


def _volumes(p: TrainingPod) -> list[dict]:
    vols = pods.scratch_volumes(shm=True)
    if p.claim:
        vols.append({"name": SHARED_VOLUME, "persistentVolumeClaim": {"claimName": p.claim}})
    if p.script_config_map:
        vols.append({"name": SCRIPT_VOLUME, "configMap": {"name": p.script_config_map}})
    return vols


def _mounts(p: TrainingPod) -> list[dict]:
    mounts = pods.scratch_mounts(shm=True)
    if p.claim:
        mounts.append({"name": SHARED_VOLUME, "mountPath": SHARED_MOUNT})
    if p.script_config_map:
        mounts.append({"name": SCRIPT_VOLUME, "mountPath": SCRIPT_MOUNT, "readOnly": True})
    return mounts


def _placement(p: TrainingPod) -> dict:
    return pods.gpu_placement() if p.gpus_per_node else {}


def _job_metadata(p: TrainingPod, kind_label: str) -> dict:
    lbls = pods.labels(p.name, p.namespace, **{"mlplatform.io/workload": kind_label})
    if p.queue:
        lbls[QUEUE_LABEL] = p.queue
    return {"name": p.name, "namespace": p.namespace, "labels": lbls}


def torch_runtime(name: str, image: str) -> dict:
    """The hardened ``torch-distributed`` ClusterTrainingRuntime every TrainJob references.

    Gang semantics come from Kueue (all-or-nothing admission), so no
    ``podGroupPolicy``: coscheduling or Volcano would need a second scheduler.
    ``numProcPerNode`` moved from ``mlPolicy.torch`` to ``TrainJob.spec.trainer`` in
    Trainer 2.2, so the torch policy carries no fields.
    """
    return {
        "apiVersion": TRAINER_API,
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": name, "labels": {"trainer.kubeflow.org/framework": "torch", **pods.PART_OF}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {}},
            "template": {"spec": {
                # A failed worker leaves the collective inconsistent: restart the whole set, a few times.
                "failurePolicy": {"maxRestarts": 3},
                "replicatedJobs": [{
                    "name": NODE_JOB,
                    "template": {
                        "metadata": {"labels": {ANCESTOR_LABEL: "trainer"}},
                        "spec": {
                            "backoffLimit": 0,
                            "template": {
                                "metadata": {"annotations": {pods.DO_NOT_DISRUPT: "true"}},
                                "spec": {
                                    # Training talks to S3 through the projected AWS token, never to the API server.
                                    "automountServiceAccountToken": False,
                                    "restartPolicy": "Never",
                                    "securityContext": pods.pod_security_context(),
                                    "volumes": pods.scratch_volumes(shm=True),
                                    "containers": [{
                                        "name": NODE_CONTAINER,
                                        "image": image,
                                        "imagePullPolicy": pods.IMAGE_PULL_POLICY,
                                        "command": ["torchrun", "/workspace/train.py"],
                                        "env": [dict(e) for e in _SCRATCH_ENV],
                                        "resources": pods.resources("1", "2Gi"),
                                        "securityContext": pods.container_security_context(),
                                        "volumeMounts": pods.scratch_mounts(shm=True),
                                    }],
                                },
                            },
                        },
                    },
                }],
            }},
        },
    }


def trainjob(p: TrainingPod, runtime: str) -> dict:
    """A TrainJob on ``runtime`` with placement, identity, volumes and hardening as a runtime patch."""
    pod_spec = pods.merge(
        {"serviceAccountName": p.service_account, "securityContext": pods.pod_security_context()},
        _placement(p),
        {"volumes": _volumes(p),
         "containers": [{"name": NODE_CONTAINER, "securityContext": pods.container_security_context(),
                         "volumeMounts": _mounts(p)}]},
    )
    trainer: dict[str, Any] = {
        "image": p.image,
        "command": list(p.command),
        "numNodes": p.nodes,
        # One process per GPU; CPU-only jobs run one process per node.
        "numProcPerNode": p.gpus_per_node or 1,
        "resourcesPerNode": pods.resources(p.cpu, p.memory, p.gpus_per_node),
        "env": [dict(e) for e in _SCRATCH_ENV] + [dict(e) for e in p.env],
    }
    return {
        "apiVersion": TRAINER_API,
        "kind": "TrainJob",
        "metadata": _job_metadata(p, "trainjob"),
        "spec": {
            "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime", "name": runtime},
            "trainer": trainer,
            "runtimePatches": [{
                "manager": PATCH_MANAGER,
                "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [{
                    "name": NODE_JOB,
                    "template": {"spec": {"template": {"metadata": _pod_metadata(p), "spec": pod_spec}}},
                }]}}},
            }],
        },
    }


def pytorchjob(p: TrainingPod) -> dict:
    """A legacy ``kubeflow.org/v1`` PyTorchJob: one Master plus ``nodes - 1`` Workers, same pod for both."""
    template = {
        "metadata": _pod_metadata(p),
        "spec": pods.merge(
            {"serviceAccountName": p.service_account, "automountServiceAccountToken": False,
             "securityContext": pods.pod_security_context()},
            _placement(p),
            {"volumes": _volumes(p),
             "containers": [{
                 "name": PYTORCH_CONTAINER,
                 "image": p.image,
                 "imagePullPolicy": pods.IMAGE_PULL_POLICY,
                 "command": list(p.command),
                 "env": [dict(e) for e in _SCRATCH_ENV] + [dict(e) for e in p.env],
                 "resources": pods.resources(p.cpu, p.memory, p.gpus_per_node),
                 "securityContext": pods.container_security_context(),
                 "volumeMounts": _mounts(p),
             }]},
        ),
    }
    replicas = {"Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template}}
    if p.nodes > 1:
        replicas["Worker"] = {"replicas": p.nodes - 1, "restartPolicy": "OnFailure", "template": template}
    return {
        "apiVersion": PYTORCH_API,
        "kind": "PyTorchJob",
        "metadata": _job_metadata(p, "pytorchjob"),
        "spec": {
            "nprocPerNode": str(p.gpus_per_node or 1),
            "runPolicy": {"cleanPodPolicy": "None"},
            "pytorchReplicaSpecs": replicas,
        },
    }


# --------------------------------------------------------------------------- Kueue


def kueue_manager_config() -> dict:
    """Kueue's controller configuration (the chart takes it as one YAML string).

    ``waitForPodsReady`` is what makes admission all-or-nothing in practice:
    quota is reserved for the whole job at once, and if its pods are not all
    Ready within ``timeout`` (say half the GPUs never materialise) Kueue evicts
    the job, releases every GPU it held and requeues it with backoff, instead of
    leaving it half-started and deadlocking another half-started job.
    ``blockAdmission`` admits one job at a time until its pods are ready, so two
    jobs can never each grab half the GPUs.
    """
    return {
        "apiVersion": KUEUE_CONFIG_API,
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {"groupKindConcurrency": {
            "Job.batch": 5, "Pod": 5, "Workload.kueue.x-k8s.io": 5, "LocalQueue.kueue.x-k8s.io": 1,
            "ClusterQueue.kueue.x-k8s.io": 1, "ResourceFlavor.kueue.x-k8s.io": 1,
        }},
        "clientConnection": {"qps": 50, "burst": 100},
        "waitForPodsReady": {
            # Long enough for Karpenter to launch a GPU node and pull a large image (4-6 min).
            "timeout": "15m",
            "recoveryTimeout": "5m",
            "blockAdmission": True,
            "requeuingStrategy": {"timestamp": "Eviction", "backoffLimitCount": 10, "backoffBaseSeconds": 60,
                                  "backoffMaxSeconds": 3600},
        },
        # Jobs without a queue label are left alone: tenants are still bounded by their ResourceQuota.
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": list(KUEUE_FRAMEWORKS)},
    }


def kueue_values() -> dict:
    return {
        "controllerManager": {"nodeSelector": dict(SYSTEM_NODE_SELECTOR)},
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(kueue_manager_config(), sort_keys=False)},
    }


def trainer_values() -> dict:
    """Trainer chart values: JobSet bundled, both controllers on the system pool, upstream runtimes off.

    The upstream default runtimes are left off: ours (:func:`torch_runtime`) is
    hardened and would collide by name with upstream's ``torch-distributed``.
    """
    return {
        # The bundled JobSet controller (subchart values under ``jobset``) runs on the system pool too.
        "jobset": {"install": True, "controller": {"nodeSelector": dict(SYSTEM_NODE_SELECTOR)}},
        "manager": {
            "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
            "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
        "runtimes": {"defaultEnabled": False},
    }


def resource_flavor(name: str = RESOURCE_FLAVOR) -> dict:
    """One flavor for all capacity: placement (GPU taint, accelerator label) is the pods' business."""
    return {"apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": name}, "spec": {}}


def cluster_queue(cpu: str, memory: str, gpus: int, *, name: str = CLUSTER_QUEUE,
                  flavor: str = RESOURCE_FLAVOR, team_label: str = pods.TEAM_LABEL) -> dict:
    """The one ClusterQueue: nominal CPU/memory/GPU quota, open only to team namespaces."""
    return {
        "apiVersion": KUEUE_API,
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {"matchExpressions": [{"key": team_label, "operator": "Exists"}]},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": [{
                "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                "flavors": [{"name": flavor, "resources": [
                    {"name": "cpu", "nominalQuota": str(cpu)},
                    {"name": "memory", "nominalQuota": str(memory)},
                    {"name": "nvidia.com/gpu", "nominalQuota": str(gpus)},
                ]}],
            }],
        },
    }


def local_queue(namespace: str, cluster_queue_name: str = CLUSTER_QUEUE, name: str = LOCAL_QUEUE) -> dict:
    return {"apiVersion": KUEUE_API, "kind": "LocalQueue", "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterQueue": cluster_queue_name}}


# --------------------------------------------------------------------------- controllers through node rolls

#: Pod label the Trainer manager carries (chart value ``manager.labels``) for the budget below: the chart
#: ships no PodDisruptionBudget, and its selector labels are immutable, so ours selects by a label of its own.
TRAINER_MANAGER_LABEL = {"mlplatform.io/controller": "kubeflow-trainer-manager"}


def kueue_ha_values(replicas: int) -> dict:
    """Kueue controller replicas and, with two or more, the chart's PodDisruptionBudget (``minAvailable: 1``).

    Kueue elects a leader; every replica serves its admission webhooks, so a
    second replica keeps job creation working while the first one's node
    drains. The chart's budget knows only ``minAvailable``: with one replica it
    would forbid every eviction, so it is on only with two or more.
    """
    return {"controllerManager": {"replicas": replicas,
                                  "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1}}}


def trainer_ha_values(replicas: int) -> dict:
    """Trainer manager and bundled JobSet controller replicas (both elect a leader; every replica serves webhooks).

    JobSet's chart has its own budget (``maxUnavailable: 1``); Trainer's has
    none, so :func:`trainer_pdb` adds one over :data:`TRAINER_MANAGER_LABEL`.
    """
    return {
        "manager": {"replicas": replicas, "labels": dict(TRAINER_MANAGER_LABEL)},
        "jobset": {"controller": {"replicas": replicas,
                                  "podDisruptionBudget": {"enabled": replicas > 1, "maxUnavailable": 1}}},
    }


def trainer_pdb(namespace: str) -> dict:
    """PodDisruptionBudget spec (with metadata) for the Trainer manager: one replica may go at a time."""
    return {"metadata": {"name": "kubeflow-trainer-manager", "namespace": namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(TRAINER_MANAGER_LABEL)}}}


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict:
    """``base`` with ``extra`` merged in, maps recursively (Helm's own values merge)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out
