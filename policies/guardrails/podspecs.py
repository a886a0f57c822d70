"""Every pod template inside a Kubernetes object, as a plain pod spec.

Workload rules must see pods wherever they hide: Pods, PodTemplates,
Deployments, ReplicationControllers and Jobs, CronJob job templates, the
training operator's replica specs (PyTorchJob, TFJob, MPIJob, ...), JobSets,
LeaderWorkerSets, Ray clusters, Trainer v2 runtimes' JobSet templates and
TrainJobs. A TrainJob has no full pod template of its own: its trainer
(image, command, resources per node) is applied to the runtime's ``node``
container, and ``runtimePatches`` patch pod fields (tolerations, security
context, volumes). :func:`pod_templates` rebuilds the effective pod from those
parts so one set of rules covers all of them. Checkov's CRD wrapping reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

#: Container name Trainer's torch runtimes give the training process.
TRAINER_CONTAINER = "node"

#: Built-in kinds (and OpenShift's DeploymentConfig, Argo's Rollout) whose pods live at ``spec.template``.
SPEC_TEMPLATE_KINDS = (
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "DeploymentConfig",
    "Rollout",
)
#: The Kubeflow training operator's jobs: ``spec.<x>ReplicaSpecs.<role>.template``.
TRAINING_OPERATOR_KINDS = ("PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob")
#: KubeRay: a head group and worker groups, under ``spec`` (RayCluster) or a nested cluster spec.
RAY_CLUSTER_SPEC = {"RayCluster": (), "RayJob": ("rayClusterSpec",), "RayService": ("rayClusterConfig",)}
WORKLOAD_KINDS = {
    "Pod", "PodTemplate", "CronJob", *SPEC_TEMPLATE_KINDS, *TRAINING_OPERATOR_KINDS, "JobSet", "LeaderWorkerSet",
    *RAY_CLUSTER_SPEC, "TrainJob", "TrainingRuntime", "ClusterTrainingRuntime",
}
#: Pod-spec fields a TrainJob cannot patch (Trainer v1alpha1 PodSpecPatch has no such field): the
#: effective pod takes them from the referenced runtime, whose template the same rules check.
TRAINJOB_INHERITED_FIELDS = frozenset({
    "automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC", "dnsPolicy", "enableServiceLinks",
    "priorityClassName", "runtimeClassName", "shareProcessNamespace",
})
#: Kinds that serve traffic (Deployments and StatefulSets behind Services).
SERVING_KINDS = {"Deployment", "StatefulSet"}
#: Kinds whose pods run until stopped (controllers restart them), so they must carry probes. Pods and
#: PodTemplates join them unless their restartPolicy says they run to completion (see :func:`long_running`).
LONG_RUNNING_KINDS = {
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "DeploymentConfig", "Rollout",
    "LeaderWorkerSet",
}



@dataclass(frozen=True)
class PodView:
    """One pod template: where it is, its metadata and its spec."""

    where: str  # e.g. "spec.template.spec" or "spec.pytorchReplicaSpecs.Worker.template.spec"
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    #: Pod-spec fields this view cannot set and takes from elsewhere (a TrainJob from its runtime).
    inherits: frozenset = frozenset()
    #: True when a container field this view leaves unset is filled in from elsewhere (a TrainJob's
    #: ``node`` container from its runtime's), so rules must not read absence as the default.
    partial_containers: bool = False

    def containers(self, init: bool = True) -> list[Mapping[str, Any]]:
        def listed(key: str) -> list[Mapping[str, Any]]:
            value = self.spec.get(key)
            return [c for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []

        return listed("containers") + (listed("initContainers") if init else [])


def kind_of(resource_type: str, props: Mapping[str, Any]) -> str:
    """Kubernetes kind from a Pulumi type token (``kubernetes:apps/v1:Deployment``) or the object."""
    if resource_type.startswith("kubernetes:") and resource_type.count(":") == 2:
        kind = resource_type.rsplit(":", 1)[-1]
        if kind != "CustomResource":
            return kind
    return str(props.get("kind") or "")


def _get(obj: Any, *path: Any) -> Any:
    cur = obj
    for key in path:
        if isinstance(cur, Mapping):
            cur = cur.get(key)
        elif isinstance(cur, list) and isinstance(key, int) and key < len(cur):
            cur = cur[key]
        else:
            return None
        if cur is None:
            return None
    return cur


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list field; anything else (a malformed field) holds none."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _template(tpl: Any, where: str) -> Optional[PodView]:
    if not isinstance(tpl, Mapping) or not isinstance(tpl.get("spec"), Mapping):
        return None
    return PodView(where + ".spec", _mapping(tpl.get("metadata")), tpl["spec"])


def trainjob_pod(props: Mapping[str, Any]) -> PodView:
    """The effective trainer pod of a TrainJob: trainer fields plus every runtime patch for the node job."""
    trainer = _mapping(_get(props, "spec", "trainer"))
    pod_spec: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    containers: dict[str, dict] = {}
    for patch in _items(_get(props, "spec", "runtimePatches")):
        for rj in _items(_get(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs")):
            pod = _mapping(_get(rj, "template", "spec", "template"))
            meta = _mapping(pod.get("metadata"))
            for key in ("labels", "annotations"):
                metadata.setdefault(key, {}).update(_mapping(meta.get(key)))
            for key, value in _mapping(pod.get("spec")).items():
                if key == "containers":
                    for c in _items(value):
                        containers.setdefault(str(c.get("name", "")), {}).update(c)
                else:
                    pod_spec[key] = value
    node = containers.setdefault(TRAINER_CONTAINER, {"name": TRAINER_CONTAINER})
    for key, dst in (("image", "image"), ("command", "command"), ("args", "args"), ("env", "env"),
                     ("resourcesPerNode", "resources")):
        if key in trainer:
            node[dst] = trainer[key]
    pod_spec["containers"] = list(containers.values())
    return PodView("spec.trainer+spec.runtimePatches", metadata, pod_spec, TRAINJOB_INHERITED_FIELDS,
                   partial_containers=True)


def _ray_groups(cluster: Any, where: str) -> Iterator[PodView]:
    view = _template(_get(cluster, "headGroupSpec", "template"), f"{where}.headGroupSpec.template")
    if view:
        yield view
    for i, group in enumerate(_items(_get(cluster, "workerGroupSpecs"))):
        view = _template(_get(group, "template"), f"{where}.workerGroupSpecs[{i}].template")
        if view:
            yield view


def pod_templates(resource_type: str, props: Mapping[str, Any]) -> Iterator[PodView]:
    """Yield every pod template of the object described by ``props``."""
    kind = kind_of(resource_type, props)
    if kind == "Pod":
        if isinstance(props.get("spec"), Mapping):
            yield PodView("spec", _mapping(props.get("metadata")), props["spec"])
    elif kind == "PodTemplate":
        view = _template(props.get("template"), "template")
        if view:
            yield view
    elif kind in SPEC_TEMPLATE_KINDS:
        view = _template(_get(props, "spec", "template"), "spec.template")
        if view:
            yield view
    elif kind == "CronJob":
        view = _template(_get(props, "spec", "jobTemplate", "spec", "template"), "spec.jobTemplate.spec.template")
        if view:
            yield view
    elif kind in TRAINING_OPERATOR_KINDS:
        for field, replicas in _mapping(props.get("spec")).items():
            if not str(field).endswith("ReplicaSpecs"):
                continue
            for role, replica in _mapping(replicas).items():
                view = _template(_get(replica, "template"), f"spec.{field}.{role}.template")
                if view:
                    yield view
    elif kind == "JobSet":
        for i, rj in enumerate(_items(_get(props, "spec", "replicatedJobs"))):
            view = _template(_get(rj, "template", "spec", "template"),
                             f"spec.replicatedJobs[{i}].template.spec.template")
            if view:
                yield view
    elif kind == "LeaderWorkerSet":
        for part in ("leaderTemplate", "workerTemplate"):
            view = _template(_get(props, "spec", "leaderWorkerTemplate", part), f"spec.leaderWorkerTemplate.{part}")
            if view:
                yield view
    elif kind in RAY_CLUSTER_SPEC:
        path = ("spec",) + RAY_CLUSTER_SPEC[kind]
        yield from _ray_groups(_get(props, *path), ".".join(path))
    elif kind in ("TrainingRuntime", "ClusterTrainingRuntime"):
        for i, rj in enumerate(_items(_get(props, "spec", "template", "spec", "replicatedJobs"))):
            where = f"spec.template.spec.replicatedJobs[{i}].template.spec.template"
            view = _template(_get(rj, "template", "spec", "template"), where)
            if view:
                yield view
    elif kind == "TrainJob":
        yield trainjob_pod(props)


def long_running(kind: str, pod: PodView) -> bool:
    """Does this pod run until stopped? Controllers' pods do; a Pod or PodTemplate unless its restartPolicy is
    Never or OnFailure (a run-to-completion pod has nothing to route traffic to or restart)."""
    if kind in LONG_RUNNING_KINDS:
        return True
    if kind in ("Pod", "PodTemplate"):
        return str(pod.spec.get("restartPolicy") or "Always") == "Always"
    return False


def namespace_of(props: Mapping[str, Any]) -> Optional[str]:
    return _get(props, "metadata", "namespace")
