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

HOST = ("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "CKV_K8S_26", "CIS 4.2.2", "CIS 4.2.3", "CIS 4.2.4")
CAPS = ("CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_39")
RESOURCES = ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13")
PROBES = ("CKV_K8S_8", "CKV_K8S_9")
TILLER = ("CKV_K8S_33", "CKV_K8S_34", "CKV_K8S_44", "CKV_K8S_45")


def replication_controller(name="legacy", spec=None):
    return k8s("v1", "ReplicationController", name, spec={"replicas": 2, "selector": {"app": name}, "template": {
        "metadata": {"labels": {"app": name}}, "spec": spec or pod_spec()}})


def pod_template(name="tpl", spec=None):
    return k8s("v1", "PodTemplate", name, extra={"template": {"metadata": {"labels": {"app": name}},
                                                              "spec": spec or pod_spec()}})


def daemonset(name="agent", spec=None):
    return k8s("apps/v1", "DaemonSet", name, spec={"selector": {"matchLabels": {"app": name}}, "template": {
        "metadata": {"labels": {"app": name}}, "spec": spec or pod_spec()}})


def jobset(name="js", spec=None):
    return k8s("jobset.x-k8s.io/v1alpha2", "JobSet", name, namespace="research", spec={"replicatedJobs": [
        {"name": "workers", "replicas": 1, "template": {"spec": {"template": {"spec": spec or pod_spec(
            container(readinessProbe=None, livenessProbe=None), restartPolicy="Never")}}}}]})


def mpijob(name="mpi", spec=None):
    return k8s("kubeflow.org/v2beta1", "MPIJob", name, namespace="research", spec={"mpiReplicaSpecs": {
        "Launcher": {"replicas": 1, "template": {"spec": spec or pod_spec(container(readinessProbe=None,
                                                                                    livenessProbe=None))}}}})


def trainjob_without_security_context():
    """A TrainJob whose runtime patch sets no securityContext at all: the runtime's applies."""
    reg = trainjob("inherits")
    pod_tpl = reg.wire_inputs["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"][
        "replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    pod_tpl.pop("securityContext")
    for c in pod_tpl["containers"]:
        c.pop("securityContext")
    return reg


def secret_env(**extra):
    return container(env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}], **extra)


CASES = [
    # no-privileged-containers: in a PyTorchJob replica, a TrainJob patch, a runtime, and the kinds checkov reads
    Case("no-privileged-containers", True, pytorchjob(worker_spec=pod_spec(with_sc(privileged=True))),
         contains="pytorchReplicaSpecs.Worker", label="pytorchjob", covers=("CKV_K8S_16", "CIS 4.2.1")),
    Case("no-privileged-containers", True, trainjob(node_patch={"securityContext": {"privileged": True}}),
         label="trainjob-patch"),
    Case("no-privileged-containers", True, runtime(spec=pod_spec(with_sc(privileged=True))), label="runtime"),
    Case("no-privileged-containers", True, replication_controller(spec=pod_spec(with_sc(privileged=True))),
         contains="spec.template.spec", label="replication-controller", covers=("CKV_K8S_16",)),
    Case("no-privileged-containers", True, pod_template(spec=pod_spec(with_sc(privileged=True))),
         contains="template.spec", label="pod-template", covers=("CKV_K8S_16",)),
    Case("no-privileged-containers", True, jobset(spec=pod_spec(with_sc(privileged=True))),
         contains="replicatedJobs[0]", label="jobset"),
    Case("no-privileged-containers", True, mpijob(spec=pod_spec(with_sc(privileged=True))),
         contains="mpiReplicaSpecs.Launcher", label="mpijob"),
    Case("no-privileged-containers", False, deployment(), label="deployment", covers=("CKV_K8S_16", "CIS 4.2.1")),
    Case("no-privileged-containers", False, replication_controller(), label="replication-controller"),

    Case("no-host-namespaces", True, deployment(spec=pod_spec(hostNetwork=True)), label="host-network",
         covers=("CKV_K8S_19", "CIS 4.2.4")),
    Case("no-host-namespaces", True, pod(spec=pod_spec(hostPID=True, hostIPC=True)), label="host-pid-ipc",
         covers=("CKV_K8S_17", "CKV_K8S_18", "CIS 4.2.2", "CIS 4.2.3")),
    Case("no-host-namespaces", True,
         deployment(spec=pod_spec(container(ports=[{"containerPort": 80, "hostPort": 80}]))), label="host-port",
         covers=("CKV_K8S_26",)),
    Case("no-host-namespaces", True,
         pod_template(spec=pod_spec(container(ports=[{"containerPort": 80, "hostPort": 0}]))),
         label="host-port-key-on-pod-template", covers=("CKV_K8S_26",)),
    Case("no-host-namespaces", False,
         deployment(spec=pod_spec(container(ports=[{"containerPort": 8080}]))), label="container-port", covers=HOST),

    Case("no-host-path-volumes", True,
         cronjob(spec=pod_spec(container(), volumes=[{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}])),
         contains="docker.sock", label="cronjob", covers=("CKV_K8S_27",)),
    Case("no-host-path-volumes", True,
         trainjob(pod_patch={"volumes": [{"name": "h", "hostPath": {"path": "/data"}}]}), label="trainjob"),
    Case("no-host-path-volumes", False,
         deployment(spec=pod_spec(container(), volumes=[{"name": "tmp", "emptyDir": {}}])), label="emptydir",
         covers=("CKV_K8S_27",)),

    Case("no-privilege-escalation", True, deployment(spec=pod_spec(without_sc("allowPrivilegeEscalation"))),
         label="unset", covers=("CKV_K8S_20", "CIS 4.2.5")),
    Case("no-privilege-escalation", True,
         deployment(spec=pod_spec(container(), initContainers=[
             {**with_sc(allowPrivilegeEscalation=True), "name": "init"}])),
         contains="'init'", label="init-container"),
    Case("no-privilege-escalation", False, deployment(), label="false", covers=("CKV_K8S_20", "CIS 4.2.5")),

    Case("run-as-non-root", True,
         deployment(spec=pod_spec(without_sc("runAsNonRoot"), securityContext={"seccompProfile": {"type": "RuntimeDefault"}})),
         label="unset", covers=("CKV_K8S_23",)),
    Case("run-as-non-root", True, deployment(spec=pod_spec(with_sc(runAsUser=0))), contains="UID 0",
         label="uid-0", covers=("CKV_K8S_23",)),
    Case("run-as-non-root", True, deployment(spec=pod_spec(with_sc(runAsNonRoot=False))),
         label="container-overrides-pod"),
    Case("run-as-non-root", True, deployment(spec=pod_spec(with_sc(runAsUser=1000))), contains="below 10000",
         label="low-uid", covers=("CKV_K8S_40",)),
    Case("run-as-non-root", True,
         replication_controller(spec=pod_spec(securityContext={"runAsNonRoot": True,
                                                               "seccompProfile": {"type": "RuntimeDefault"}})),
         contains="sets no runAsUser", label="no-uid", covers=("CKV_K8S_40",)),
    Case("run-as-non-root", False,
         deployment(spec=pod_spec(without_sc("runAsNonRoot"))), label="pod-level", covers=("CKV_K8S_23", "CKV_K8S_40")),
    Case("run-as-non-root", False,
         deployment(spec=pod_spec(with_sc(runAsUser=1000), hostUsers=False)), label="user-namespace"),
    Case("run-as-non-root", False, deployment(spec=pod_spec(with_sc(runAsUser=1000))),
         config={"run-as-non-root": {"minUid": 1}}, label="tunable-min-uid"),

    Case("drop-all-capabilities", True, deployment(spec=pod_spec(with_sc(capabilities={"drop": ["NET_RAW"]}))),
         label="no-drop-all", covers=("CKV_K8S_37",)),
    Case("drop-all-capabilities", True, deployment(spec=pod_spec(with_sc(capabilities={"add": ["SYS_ADMIN"]}))),
         label="no-drop-at-all", covers=("CKV_K8S_28",)),
    Case("drop-all-capabilities", True,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}))),
         contains="SYS_ADMIN", label="add-sys-admin", covers=("CKV_K8S_39", "CKV_K8S_25")),
    Case("drop-all-capabilities", True,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["all"], "add": ["NET_BIND_SERVICE"]}))),
         contains="NET_BIND_SERVICE", label="any-add", covers=("CKV_K8S_25",)),
    Case("drop-all-capabilities", False,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["all"], "add": ["NET_BIND_SERVICE"]}))),
         config={"drop-all-capabilities": {"allowedCapabilities": ["NET_BIND_SERVICE"]}}, label="tunable-bind"),
    Case("drop-all-capabilities", False,
         deployment(spec=pod_spec(with_sc(capabilities={"drop": ["ALL"], "add": ["IPC_LOCK"]}))),
         config={"drop-all-capabilities": {"allowedCapabilities": ["IPC_LOCK"]}}, label="tunable-efa"),
    Case("drop-all-capabilities", False, deployment(), label="drop-all", covers=CAPS),

    Case("seccomp-runtime-default", True,
         deployment(spec=pod_spec(securityContext={"runAsNonRoot": True})), label="unset", covers=("CKV_K8S_31",)),
    Case("seccomp-runtime-default", True,
         deployment(spec=pod_spec(with_sc(seccompProfile={"type": "Unconfined"}))), label="container-unconfined"),
    Case("seccomp-runtime-default", True,
         deployment(spec=pod_spec(with_sc(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}))),
         config={"seccomp-runtime-default": {"allowLocalhostProfiles": False}}, label="tunable-runtime-default-only"),
    Case("seccomp-runtime-default", False, deployment(), label="pod-runtime-default", covers=("CKV_K8S_31",)),
    Case("seccomp-runtime-default", False,
         deployment(spec=pod_spec(with_sc(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
                                  securityContext={"runAsNonRoot": True})), label="container-localhost"),

    Case("read-only-root-filesystem", True, deployment(spec=pod_spec(without_sc("readOnlyRootFilesystem"))),
         label="unset", covers=("CKV_K8S_22",)),
    Case("read-only-root-filesystem", True, deployment(spec=pod_spec(without_sc("readOnlyRootFilesystem"))),
         config={"read-only-root-filesystem": "advisory"}, level="advisory", label="advisory-in-dev"),
    Case("read-only-root-filesystem", False, deployment(), label="read-only", covers=("CKV_K8S_22",)),

    Case("resource-requests-and-limits", True, deployment(spec=pod_spec(container(resources={}))),
         contains="requests.cpu", label="none", covers=RESOURCES),
    Case("resource-requests-and-limits", True,
         pytorchjob(worker_spec=pod_spec(gpu_container(resources={
             "requests": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": 1},
             "limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": 2}}), tolerations=[GPU_TOLERATION])),
         contains="must be set and equal", label="gpu-requests-ne-limits"),
    Case("resource-requests-and-limits", True,
         trainjob(resources={"limits": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"}}),
         label="trainjob-resources-per-node"),
    Case("resource-requests-and-limits", False, pytorchjob(), label="pytorchjob", covers=RESOURCES),
    Case("resource-requests-and-limits", False, trainjob(), label="trainjob"),

    Case("approved-registries-and-pinned-tags", True, deployment(spec=pod_spec(container(image="nginx"))),
         contains="not pinned", label="docker-hub-untagged", covers=("CKV_K8S_14",)),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="ghcr.io/org/app:latest"))), label="latest", covers=("CKV_K8S_14",)),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="evil.example.com/app:1.0"))), contains="evil.example.com",
         label="unapproved-registry", covers=("CIS 5.1.4",)),
    Case("approved-registries-and-pinned-tags", True,
         trainjob(image="registry.example.com:5000/train:2.1"), label="trainjob-image"),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="ghcr.io/org/app:1.0"))),
         config={"approved-registries-and-pinned-tags": {"approvedRegistries": ["*.dkr.ecr.*.amazonaws.com"]}},
         label="tunable-ecr-only"),
    Case("approved-registries-and-pinned-tags", True,
         deployment(spec=pod_spec(container(image="ghcr.io/org/app:1.0"))),
         config={"approved-registries-and-pinned-tags": {"requireDigest": True}}, contains="digest",
         label="tunable-require-digest", covers=("CKV_K8S_43",)),
    Case("approved-registries-and-pinned-tags", False, deployment(spec=pod_spec(container(image="nginx:1.27.3"))),
         label="docker-hub-short-name", covers=("CKV_K8S_14", "CIS 5.1.4")),
    Case("approved-registries-and-pinned-tags", False,
         deployment(spec=pod_spec(container(image="123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app:2024.11.1"))),
         label="own-ecr"),
    Case("approved-registries-and-pinned-tags", False,
         deployment(spec=pod_spec(container(image="123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app@sha256:"
                                                  + "a" * 64))),
         config={"approved-registries-and-pinned-tags": {"requireDigest": True}}, label="ecr-china-digest"),
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
         contains="livenessProbe", label="no-liveness", covers=("CKV_K8S_8",)),
    Case("serving-workloads-have-probes", True,
         k8s("apps/v1", "StatefulSet", "db", spec={"serviceName": "db", "selector": {}, "template": {
             "spec": pod_spec(container(readinessProbe=None, livenessProbe=None))}}), label="statefulset",
         covers=PROBES),
    Case("serving-workloads-have-probes", True, daemonset(spec=pod_spec(container(readinessProbe=None))),
         contains="readinessProbe", label="daemonset", covers=("CKV_K8S_9",)),
    Case("serving-workloads-have-probes", True,
         replication_controller(spec=pod_spec(container(readinessProbe=None, livenessProbe=None))),
         label="replication-controller", covers=PROBES),
    Case("serving-workloads-have-probes", True, pod(spec=pod_spec(container(livenessProbe=None))),
         label="pod-restart-always", covers=("CKV_K8S_8",)),
    Case("serving-workloads-have-probes", True, pod_template(spec=pod_spec(container(readinessProbe=None))),
         label="pod-template"),
    Case("serving-workloads-have-probes", False, deployment(), label="deployment", covers=PROBES),
    Case("serving-workloads-have-probes", False, cronjob(), label="batch-exempt"),
    Case("serving-workloads-have-probes", False,
         pod(spec=pod_spec(container(readinessProbe=None, livenessProbe=None), restartPolicy="Never")),
         label="run-to-completion-pod"),

    Case("no-default-namespace", True, deployment(namespace="default"), contains="default namespace",
         label="default", covers=("CKV_K8S_21", "CIS 4.5.2")),
    Case("no-default-namespace", True, k8s("v1", "ConfigMap", "cfg", namespace=None), contains="no metadata.namespace",
         label="unset", covers=("CKV_K8S_21",)),
    Case("no-default-namespace", True,
         k8s("kueue.x-k8s.io/v1beta1", "LocalQueue", "q", namespace=None, spec={"clusterQueue": "cq"}),
         label="custom-resource"),
    Case("no-default-namespace", True,
         res("kubernetes:helm.sh/v3:Release", "rel", {"chart": "metrics-server", "version": "3.12.2"}),
         contains="Helm release", label="helm-release-no-namespace"),
    Case("no-default-namespace", False,
         res("kubernetes:helm.sh/v3:Release", "rel-ns", {"chart": "metrics-server", "namespace": "kube-system"}),
         label="helm-release-namespaced"),
    Case("no-default-namespace", False, deployment(), label="team-namespace", covers=("CKV_K8S_21", "CIS 4.5.2")),
    Case("no-default-namespace", False, runtime(), label="cluster-training-runtime"),
    Case("no-default-namespace", False, k8s("v1", "Namespace", "team-a", namespace=None), label="namespace"),
    Case("no-default-namespace", False,
         k8s("example.com/v1", "Widget", "w", namespace=None),
         config={"no-default-namespace": {"extraClusterScopedKinds": ["Widget"]}}, label="tunable-kind"),

    Case("no-service-account-token-automount", True, deployment(spec=pod_spec(automountServiceAccountToken=None)),
         label="unset", covers=("CKV_K8S_38", "CIS 4.1.6")),
    Case("no-service-account-token-automount", True, runtime(spec=pod_spec(gpu_container("node"),
                                                                           automountServiceAccountToken=True)),
         label="runtime"),
    Case("no-service-account-token-automount", True,
         deployment("controller", spec=pod_spec(automountServiceAccountToken=True, serviceAccountName="ctl"),
                    template_annotations={"mlplatform.io/needs-kubernetes-api": "true"}),
         config={"no-service-account-token-automount": {"allowDeclaredNeed": False}}, label="tunable-no-opt-in"),
    Case("no-service-account-token-automount", False, deployment(), label="false",
         covers=("CKV_K8S_38", "CIS 4.1.6")),
    Case("no-service-account-token-automount", False,
         deployment("controller", spec=pod_spec(automountServiceAccountToken=True, serviceAccountName="ctl"),
                    template_annotations={"mlplatform.io/needs-kubernetes-api": "true"}), label="annotated"),
    Case("no-service-account-token-automount", False, trainjob(),
         label="trainjob-inherits-from-runtime (PodSpecPatch has no such field)"),

    Case("training-pods-do-not-disrupt", True, pytorchjob(annotations={}), label="pytorchjob"),
    Case("training-pods-do-not-disrupt", True, trainjob(annotations={"karpenter.sh/do-not-disrupt": "false"}),
         label="trainjob"),
    Case("training-pods-do-not-disrupt", False, pytorchjob(), label="pytorchjob"),
    Case("training-pods-do-not-disrupt", False, trainjob(), label="trainjob"),
    Case("training-pods-do-not-disrupt", False, deployment(), label="not-training"),

    Case("image-pull-policy-always", True,
         deployment(spec=pod_spec(container(imagePullPolicy="IfNotPresent"))), contains="IfNotPresent",
         label="if-not-present", covers=("CKV_K8S_15",)),
    Case("image-pull-policy-always", True,
         replication_controller(spec=pod_spec({k: v for k, v in container().items() if k != "imagePullPolicy"})),
         contains="defaults to IfNotPresent", label="unset-with-tag", covers=("CKV_K8S_15",)),
    Case("image-pull-policy-always", False, deployment(), label="always", covers=("CKV_K8S_15",)),
    Case("image-pull-policy-always", False,
         deployment(spec=pod_spec(container(image="public.ecr.aws/x/app@sha256:" + "b" * 64,
                                            imagePullPolicy="IfNotPresent"))), label="digest"),
    Case("image-pull-policy-always", False, trainjob(), label="trainjob-keeps-runtime-policy"),

    Case("secrets-not-in-env", True, deployment(spec=pod_spec(secret_env())), contains="'hf'",
         label="secret-key-ref", covers=("CKV_K8S_35", "CIS 4.4.1")),
    Case("secrets-not-in-env", True,
         cronjob(spec=pod_spec(container(envFrom=[{"secretRef": {"name": "db"}}], readinessProbe=None,
                                         livenessProbe=None), restartPolicy="Never")),
         contains="every key", label="env-from", covers=("CKV_K8S_35",)),
    Case("secrets-not-in-env", True, trainjob(node_patch={"env": [{"name": "T", "valueFrom": {
        "secretKeyRef": {"name": "wandb", "key": "k"}}}]}), label="trainjob-patch"),
    Case("secrets-not-in-env", False,
         deployment(spec=pod_spec(container(env=[{"name": "MODE", "value": "x"}, {
             "name": "CFG", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]),
             volumes=[{"name": "s", "secret": {"secretName": "hf"}}])), label="secret-as-volume",
         covers=("CKV_K8S_35", "CIS 4.4.1")),

    Case("pod-security-context-set", True, deployment(spec=pod_spec(securityContext={})),
         contains="no pod-level securityContext", label="no-pod-context", covers=("CKV_K8S_29",)),
    Case("pod-security-context-set", True,
         pod_template(spec=pod_spec({k: v for k, v in container().items() if k != "securityContext"})),
         contains="has no securityContext", label="no-container-context", covers=("CKV_K8S_30",)),
    Case("pod-security-context-set", False, deployment(), label="both-set", covers=("CKV_K8S_29", "CKV_K8S_30")),
    Case("pod-security-context-set", False, trainjob_without_security_context(),
         label="trainjob-without-patch-inherits"),

    Case("no-dashboard-or-tiller", True,
         deployment("dashboard", spec=pod_spec(container(image="docker.io/kubernetesui/dashboard:v2.7.0"))),
         contains="kubernetesui/dashboard", label="dashboard-image", covers=("CKV_K8S_33",)),
    Case("no-dashboard-or-tiller", True,
         deployment("tiller-deploy", spec=pod_spec(container(image="gcr.io/kubernetes-helm/tiller:v2.16.12",
                                                             args=["--listen=localhost:44134"]))),
         label="tiller-image", covers=("CKV_K8S_34", "CKV_K8S_45")),
    Case("no-dashboard-or-tiller", True,
         k8s("v1", "Service", "tiller-deploy", spec={"selector": {"app": "helm", "name": "tiller"},
                                                     "ports": [{"port": 44134}]}),
         contains="Tiller", label="tiller-service", covers=("CKV_K8S_44",)),
    Case("no-dashboard-or-tiller", True,
         res("kubernetes:helm.sh/v3:Release", "dash", {"chart": "kubernetes-dashboard", "namespace": "ops",
                                                       "version": "7.10.0"}),
         contains="kubernetes-dashboard", label="dashboard-chart", covers=("CKV_K8S_33",)),
    Case("no-dashboard-or-tiller", False, deployment(), label="ordinary-deployment", covers=TILLER),
    Case("no-dashboard-or-tiller", False,
         k8s("v1", "Service", "distiller", spec={"selector": {"app": "distiller"}, "ports": [{"port": 80}]}),
         label="word-containing-tiller", covers=("CKV_K8S_44",)),

    Case("git-sync-no-command-override", True,
         deployment(spec=pod_spec(container(), container("sync", image="registry.k8s.io/git-sync/git-sync:v4.4.0",
                                                          env=[{"name": "GITSYNC_GIT", "value": "/tmp/x"}]))),
         contains="GITSYNC_GIT", label="env", covers=("CKV_K8S_159",)),
    Case("git-sync-no-command-override", True,
         deployment(spec=pod_spec(container(), container("sync", image="registry.k8s.io/git-sync/git-sync:v4.4.0",
                                                          args=["--repo=https://example.com/r", "--git=/tmp/x"]))),
         contains="--git=", label="arg"),
    Case("git-sync-no-command-override", False,
         deployment(spec=pod_spec(container(), container("sync", image="registry.k8s.io/git-sync/git-sync:v4.4.0",
                                                          env=[{"name": "GITSYNC_REPO", "value": "https://x"}]))),
         label="plain-git-sync", covers=("CKV_K8S_159",)),

    Case("kubernetes-secrets-external", True,
         k8s("v1", "Secret", "grafana-admin", extra={"type": "Opaque", "stringData": {"password": "x"}}),
         config={"kubernetes-secrets-external": {"allowInlineSecrets": False}}, contains="stringData",
         label="tunable-inline-data", covers=("CIS 4.4.2",)),
    Case("kubernetes-secrets-external", False,
         k8s("v1", "Secret", "grafana-admin", extra={"type": "Opaque", "stringData": {"password": "x"}}),
         label="inline-allowed-by-default"),
    Case("kubernetes-secrets-external", False,
         k8s("v1", "Secret", "sa-token", extra={"type": "kubernetes.io/service-account-token"},
             annotations={"kubernetes.io/service-account.name": "ci"}),
         config={"kubernetes-secrets-external": {"allowInlineSecrets": False}}, label="no-inline-data"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_workload_rules(case: Case) -> None:
    run_case(case)


def test_compliant_objects_of_every_pod_kind_pass_every_workload_rule() -> None:
    """One compliant object of each kind that holds pods draws no workload diagnostic at all."""
    from guardrails import METADATA
    from tests.policy_helpers import analyze

    objects = [deployment(), pytorchjob(), trainjob(), runtime(),
               runtime("team", kind="TrainingRuntime"), replication_controller(), pod_template(), daemonset(),
               jobset(), mpijob(), pod(),
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
