"""Workload rules, through the analyzer, on every kind that holds pods (Deployments to TrainJobs)."""

from __future__ import annotations

import copy

import pytest

from tests.policy_helpers import (
    GPU_TOLERATION,
    Case,
    case_id,
    container,
    deployment,
    gpu_container,
    k8s,
    pod_spec,
    pytorchjob,
    res,
    run_case,
    trainjob,
)


def with_sc(**sc):
    c = container()
    c["securityContext"] = {**c["securityContext"], **sc}
    return c


def without_sc(*keys):
    c = container()
    c["securityContext"] = {k: v for k, v in c["securityContext"].items() if k not in keys}
    return c


def cronjob(name="nightly", spec=None):
    return k8s("batch/v1", "CronJob", name, spec={"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
        "spec": spec or pod_spec(container(readinessProbe=None, livenessProbe=None), restartPolicy="Never")}}}})


def runtime(name="torch-distributed", spec=None, kind="ClusterTrainingRuntime"):
    return k8s("trainer.kubeflow.org/v1alpha1", kind, name, namespace=None if kind.startswith("Cluster") else "research",
               spec={"mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
                     "template": {"spec": {"replicatedJobs": [{"name": "node", "template": {"spec": {"template": {
                         "spec": spec or pod_spec(gpu_container("node"), tolerations=[GPU_TOLERATION])}}}}]}}})


def pod(name="p", spec=None, **kw):
    return k8s("v1", "Pod", name, spec=spec or pod_spec(), **kw)


GPU_POD = pod_spec(gpu_container(), tolerations=[GPU_TOLERATION])

CASES = [
    # no-privileged-containers: in a PyTorchJob replica, a TrainJob patch and a runtime
    Case("no-privileged-containers", True, pytorchjob(worker_spec=pod_spec(with_sc(privileged=True))),
         contains="pytorchReplicaSpecs.Worker", label="pytorchjob"),
    Case("no-privileged-containers", True, trainjob(node_patch={"securityContext": {"privileged": True}}),
         label="trainjob-patch"),
    Case("no-privileged-containers", True, runtime(spec=pod_spec(with_sc(privileged=True))), label="runtime"),
    Case("no-privileged-containers", False, deployment(), label="deployment"),

    Case("no-host-namespaces", True, deployment(spec=pod_spec(hostNetwork=True)), label="host-network"),
    Case("no-host-namespaces", True, pod(spec=pod_spec(hostPID=True, hostIPC=True)), label="host-pid-ipc"),
    Case("no-host-namespaces", True,
         deployment(spec=pod_spec(container(ports=[{"containerPort": 80, "hostPort": 80}]))), label="host-port"),
    Case("no-host-namespaces", False,
         deployment(spec=pod_spec(container(ports=[{"containerPort": 8080}]))), label="container-port"),

    Case("no-host-path-volumes", True,
         cronjob(spec=pod_spec(container(), volumes=[{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}])),
         contains="docker.sock", label="cronjob"),
    Case("no-host-path-volumes", True,
         trainjob(pod_patch={"volumes": [{"name": "h", "hostPath": {"path": "/data"}}]}), label="trainjob"),
    Case("no-host-path-volumes", False,
         deployment(spec=pod_spec(container(), volumes=[{"name": "tmp", "emptyDir": {}}])), label="emptydir"),

    Case("no-privilege-escalation", True, deployment(spec=pod_spec(without_sc("allowPrivilegeEscalation"))),
         label="unset"),
    Case("no-privilege-escalation", True,
         deployment(spec=pod_spec(container(), initContainers=[
             {**with_sc(allowPrivilegeEscalation=True), "name": "init"}])),
         contains="'init'", label="init-container"),
    Case("no-privilege-escalation", False, deployment(), label="false"),

    Case("run-as-non-root", True,
         deployment(spec=pod_spec(without_sc("runAsNonRoot"), securityContext={"seccompProfile": {"type": "RuntimeDefault"}})),
         label="unset"),
    Case("run-as-non-root", True, deployment(spec=pod_spec(with_sc(runAsUser=0))), contains="UID 0",
         label="uid-0"),
    Case("run-as-non-root", True, deployment(spec=pod_spec(with_sc(runAsNonRoot=False))),
         label="container-overrides-pod"),
    Case("run-as-non-root", False,
         deployment(spec=pod_spec(without_sc("runAsNonRoot"))), label="pod-level"),

    Case("drop-all-capabilities", True, deployment(spec=pod_spec(with_sc(capabilities={"drop": ["NET_RAW"]}))),
         label="no-drop-all"),
    Case("drop-all-capabilities", True,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}))),
         contains="SYS_ADMIN", label="add-sys-admin"),
    Case("drop-all-capabilities", False,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["all"], "add": ["NET_BIND_SERVICE"]}))),
         label="allowed-add"),
    Case("drop-all-capabilities", False,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["ALL"], "add": ["IPC_LOCK"]}))),
         config={"drop-all-capabilities": {"allowedCapabilities": ["IPC_LOCK"]}}, label="tunable-efa"),

    Case("seccomp-runtime-default", True,
         deployment(spec=pod_spec(securityContext={"runAsNonRoot": True})), label="unset"),
    Case("seccomp-runtime-default", True,
         deployment(spec=pod_spec(with_sc(seccompProfile={"type": "Unconfined"}))), label="container-unconfined"),
    Case("seccomp-runtime-default", False, deployment(), label="pod-runtime-default"),
    Case("seccomp-runtime-default", False,
         deployment(spec=pod_spec(with_sc(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
                                  securityContext={"runAsNonRoot": True})), label="container-localhost"),

    Case("read-only-root-filesystem", True, deployment(spec=pod_spec(without_sc("readOnlyRootFilesystem"))),
         label="unset"),
    Case("read-only-root-filesystem", True, deployment(spec=pod_spec(without_sc("readOnlyRootFilesystem"))),
         config={"read-only-root-filesystem": "advisory"}, level="advisory", label="advisory-in-dev"),
    Case("read-only-root-filesystem", False, deployment(), label="read-only"),

    Case("resource-requests-and-limits", True, deployment(spec=pod_spec(container(resources={}))),
         contains="requests.cpu", label="none"),
    Case("resource-requests-and-limits", True,
         pytorchjob(worker_spec=pod_spec(gpu_container(resources={
             "requests": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": 1},
             "limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": 2}}), tolerations=[GPU_TOLERATION])),
         contains="must be set and equal", label="gpu-requests-ne-limits"),
    Case("resource-requests-and-limits", True,
         trainjob(resources={"limits": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"}}),
         label="trainjob-resources-per-node"),
    Case("resource-requests-and-limits", False, pytorchjob(), label="pytorchjob"),
    Case("resource-requests-and-limits", False, trainjob(), label="trainjob"),

    Case("approved-registries-and-pinned-tags", True, deployment(spec=pod_spec(container(image="nginx"))),
         contains="not pinned", label="docker-hub-untagged"),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="ghcr.io/org/app:latest"))), label="latest"),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="evil.example.com/app:1.0"))), contains="evil.example.com",
         label="unapproved-registry"),
    Case("approved-registries-and-pinned-tags", True,
         trainjob(image="registry.example.com:5000/train:2.1"), label="trainjob-image"),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="ghcr.io/org/app:1.0"))),
         config={"approved-registries-and-pinned-tags": {"approvedRegistries": ["*.dkr.ecr.*.amazonaws.com"]}},
         label="tunable-ecr-only"),
    Case("approved-registries-and-pinned-tags", False, deployment(spec=pod_spec(container(image="nginx:1.27.3"))),
         label="docker-hub-short-name"),
    Case("approved-registries-and-pinned-tags", False,
         deployment(spec=pod_spec(container(image="123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app:2024.11.1"))),
         label="own-ecr"),
    Case("approved-registries-and-pinned-tags", False,
         deployment(spec=pod_spec(container(image="123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app@sha256:"
                                                  + "a" * 64))), label="ecr-china-digest"),
    Case("approved-registries-and-pinned-tags", False,
         deployment(spec=pod_spec(container(image="registry.k8s.io/pause:3.10"))), label="registry-k8s-io"),

    Case("gpu-pods-tolerate-gpu-taint", True, pytorchjob(worker_spec=pod_spec(gpu_container())), label="pytorchjob"),
    Case("gpu-pods-tolerate-gpu-taint", True,
         trainjob(pod_patch={"tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "false",
                                              "effect": "NoSchedule"}]}), label="trainjob-wrong-value"),
    Case("gpu-pods-tolerate-gpu-taint", True,
         deployment(spec=pod_spec(container(resources={"requests": {"cpu": "1", "memory": "1Gi"},
                                                       "limits": {"cpu": "1", "memory": "1Gi",
                                                                  "nvidia.com/gpu": "1"}}),
                                  tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists",
                                                "effect": "NoExecute"}])), label="wrong-effect"),
    Case("gpu-pods-tolerate-gpu-taint", False, pytorchjob(), label="pytorchjob"),
    Case("gpu-pods-tolerate-gpu-taint", False, trainjob(), label="trainjob"),
    Case("gpu-pods-tolerate-gpu-taint", False, deployment(), label="cpu-pod"),
    Case("gpu-pods-tolerate-gpu-taint", False,
         pytorchjob(worker_spec=pod_spec(gpu_container(), tolerations=[{"operator": "Exists"}])),
         label="tolerate-everything"),

    Case("serving-workloads-have-probes", True, deployment(spec=pod_spec(container(livenessProbe=None))),
         contains="livenessProbe", label="no-liveness"),
    Case("serving-workloads-have-probes", True,
         k8s("apps/v1", "StatefulSet", "db", spec={"serviceName": "db", "selector": {}, "template": {
             "spec": pod_spec(container(readinessProbe=None, livenessProbe=None))}}), label="statefulset"),
    Case("serving-workloads-have-probes", False, deployment(), label="deployment"),
    Case("serving-workloads-have-probes", False, cronjob(), label="batch-exempt"),

    Case("no-default-namespace", True, deployment(namespace="default"), contains="default namespace",
         label="default"),
    Case("no-default-namespace", True, k8s("v1", "ConfigMap", "cfg", namespace=None), contains="no metadata.namespace",
         label="unset"),
    Case("no-default-namespace", True,
         k8s("kueue.x-k8s.io/v1beta1", "LocalQueue", "q", namespace=None, spec={"clusterQueue": "cq"}),
         label="custom-resource"),
    Case("no-default-namespace", True,
         res("kubernetes:helm.sh/v3:Release", "rel", {"chart": "metrics-server", "version": "3.12.2"}),
         contains="Helm release", label="helm-release-no-namespace"),
    Case("no-default-namespace", False,
         res("kubernetes:helm.sh/v3:Release", "rel-ns", {"chart": "metrics-server", "namespace": "kube-system"}),
         label="helm-release-namespaced"),
    Case("no-default-namespace", False, deployment(), label="team-namespace"),
    Case("no-default-namespace", False, runtime(), label="cluster-training-runtime"),
    Case("no-default-namespace", False, k8s("v1", "Namespace", "team-a", namespace=None), label="namespace"),
    Case("no-default-namespace", False,
         k8s("example.com/v1", "Widget", "w", namespace=None),
         config={"no-default-namespace": {"extraClusterScopedKinds": ["Widget"]}}, label="tunable-kind"),

    Case("no-service-account-token-automount", True, deployment(spec=pod_spec(automountServiceAccountToken=None)),
         label="unset"),
    Case("no-service-account-token-automount", True, runtime(spec=pod_spec(gpu_container("node"),
                                                                           automountServiceAccountToken=True)),
         label="runtime"),
    Case("no-service-account-token-automount", False, deployment(), label="false"),
    Case("no-service-account-token-automount", False,
         deployment("controller", spec=pod_spec(automountServiceAccountToken=True),
                    template_annotations={"mlplatform.io/needs-kubernetes-api": "true"}), label="annotated"),
    Case("no-service-account-token-automount", False, trainjob(),
         label="trainjob-inherits-from-runtime (PodSpecPatch has no such field)"),

    Case("training-pods-do-not-disrupt", True, pytorchjob(annotations={}), label="pytorchjob"),
    Case("training-pods-do-not-disrupt", True, trainjob(annotations={"karpenter.sh/do-not-disrupt": "false"}),
         label="trainjob"),
    Case("training-pods-do-not-disrupt", False, pytorchjob(), label="pytorchjob"),
    Case("training-pods-do-not-disrupt", False, trainjob(), label="trainjob"),
    Case("training-pods-do-not-disrupt", False, deployment(), label="not-training"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_workload_rules(case: Case) -> None:
    run_case(case)


def test_compliant_objects_of_every_pod_kind_pass_every_workload_rule() -> None:
    """One compliant object of each kind that holds pods draws no workload diagnostic at all."""
    from guardrails import METADATA
    from tests.policy_helpers import analyze

    objects = [deployment(), pytorchjob(), trainjob(), runtime(),
               runtime("team", kind="TrainingRuntime"),
               k8s("batch/v1", "Job", "once", spec={"template": {"spec": pod_spec(
                   container(readinessProbe=None, livenessProbe=None), restartPolicy="Never")}})]
    rules = {n for n, m in METADATA.items() if m.area == "workloads"}
    for obj in objects:
        found = [(d.policy, d.message) for d in analyze(obj) if d.policy in rules]
        assert not found, (obj.type, found)


def test_a_violation_is_reported_once_per_pod_template() -> None:
    """A PyTorchJob with privileged Master and Worker templates is reported at both places."""
    from tests.policy_helpers import analyze, hits

    job = pytorchjob(worker_spec=pod_spec(with_sc(privileged=True)))
    msgs = sorted(d.message for d in hits(analyze(job), "no-privileged-containers"))
    assert len(msgs) == 2 and "Master" in msgs[0] and "Worker" in msgs[1]


def test_unknown_values_stay_lazy_in_preview() -> None:
    """An unknown input (preview) only silences the rules that read it; the others still judge the object."""
    from tests.policy_helpers import analyze, hits

    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
    spec = pod_spec(container(image=unknown, securityContext={"privileged": True}))
    diags = analyze(deployment("preview", spec=copy.deepcopy(spec)))
    assert [d.level for d in hits(diags, "no-privileged-containers")] == ["mandatory"]
    registry = hits(diags, "approved-registries-and-pinned-tags")
    assert registry and all(d.level == "advisory" and "can't run" in d.message for d in registry)
