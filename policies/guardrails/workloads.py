"""Workload rules: every pod template (Deployments to TrainJobs) is held to the same bar.

Pods are found by :func:`guardrails.podspecs.pod_templates`, which also rebuilds
the effective trainer pod of a TrainJob and walks PyTorchJob replica specs and
Trainer runtimes, so a rule written once covers all of them.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Mapping, Optional

from guardrails._meta import Ctx, resource_rule
from guardrails.common import annotations, as_list, flag, obj, quantity, to_int
from guardrails.podspecs import SERVING_KINDS, PodView, kind_of, pod_templates

K8S = ("kubernetes:",)
GPU_RESOURCE = "nvidia.com/gpu"
NEEDS_API_ANNOTATION = "mlplatform.io/needs-kubernetes-api"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
APPROVED_REGISTRIES = [
    "docker.io", "ghcr.io", "nvcr.io", "public.ecr.aws", "registry.k8s.io", "quay.io",
    "*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn",
]
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")

#: Kinds that live outside namespaces (plus the ``extraClusterScopedKinds`` setting).
CLUSTER_SCOPED_KINDS = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "IngressClass", "PersistentVolume",
    "CustomResourceDefinition", "PriorityClass", "ClusterTrainingRuntime", "ClusterQueue", "ResourceFlavor",
    "NodePool", "EC2NodeClass", "ENIConfig", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "APIService", "Node", "NodeClaim", "CSIDriver", "CSINode", "RuntimeClass", "VolumeSnapshotClass",
    "VolumeAttachment", "Cohort", "WorkloadPriorityClass", "AdmissionCheck", "Topology",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "FlowSchema", "PriorityLevelConfiguration",
    "ClusterIssuer", "CertificateSigningRequest", "ClusterTriggerAuthentication",
}
#: Provider-side or client-side groupings: their objects are checked one by one.
_GROUPINGS = ("kubernetes:yaml", "kubernetes:kustomize", "kubernetes:helm.sh/v3:Chart")


def _name(c: Mapping[str, Any]) -> str:
    return str(c.get("name") or "?")


def _sc(item: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj(item.get("securityContext"))


def _where(pod: PodView, c: Mapping[str, Any]) -> str:
    return f"container {_name(c)!r} in {pod.where}"


@resource_rule(
    name="no-privileged-containers",
    description="Containers must not run privileged.",
    remediation="Remove securityContext.privileged (or set it to false); grant a specific capability instead.",
    type_prefixes=K8S,
)
def no_privileged_containers(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            if flag(_sc(c).get("privileged")) is True:
                yield f"{_where(pod, c)} is privileged"


@resource_rule(
    name="no-host-namespaces",
    description="Pods must not share the node's network, PID or IPC namespaces or bind host ports.",
    remediation="Remove hostNetwork/hostPID/hostIPC and containers[].ports[].hostPort; expose the pod through a "
                "Service instead.",
    type_prefixes=K8S,
)
def no_host_namespaces(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if flag(pod.spec.get(field)) is True:
                yield f"{pod.where} sets {field}: true"
        for c in pod.containers():
            for p in as_list(c.get("ports")):
                if isinstance(p, Mapping) and p.get("hostPort"):
                    yield f"{_where(pod, c)} binds hostPort {p.get('hostPort')}"


@resource_rule(
    name="no-host-path-volumes",
    description="Pods must not mount directories of the node (hostPath), such as the container runtime socket.",
    remediation="Use an emptyDir, a PersistentVolumeClaim, a ConfigMap/Secret or a CSI volume instead of hostPath.",
    type_prefixes=K8S,
)
def no_host_path_volumes(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for v in as_list(pod.spec.get("volumes")):
            if isinstance(v, Mapping) and v.get("hostPath") is not None:
                path = obj(v.get("hostPath")).get("path")
                yield f"{pod.where} mounts hostPath {path!r} as volume {v.get('name')!r}"


@resource_rule(
    name="no-privilege-escalation",
    description="Every container sets allowPrivilegeEscalation: false.",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container and init container.",
    type_prefixes=K8S,
)
def no_privilege_escalation(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            if flag(_sc(c).get("allowPrivilegeEscalation")) is not False:
                yield f"{_where(pod, c)} does not set allowPrivilegeEscalation: false"


@resource_rule(
    name="run-as-non-root",
    description="Containers run as a non-root user: runAsNonRoot true (pod or container) and never runAsUser 0.",
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser at pod level (containers may "
                "override, never with 0 or runAsNonRoot: false).",
    type_prefixes=K8S,
)
def run_as_non_root(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        pod_sc = _sc(pod.spec)
        for c in pod.containers():
            c_sc = _sc(c)
            non_root = c_sc.get("runAsNonRoot") if c_sc.get("runAsNonRoot") is not None else pod_sc.get("runAsNonRoot")
            user = c_sc.get("runAsUser") if c_sc.get("runAsUser") is not None else pod_sc.get("runAsUser")
            if flag(non_root) is not True:
                yield f"{_where(pod, c)} may run as root (runAsNonRoot is not true)"
            if to_int(user) == 0:
                yield f"{_where(pod, c)} runs as UID 0 (runAsUser: 0)"


def _cap(name: Any) -> str:
    n = str(name).upper()
    return n[4:] if n.startswith("CAP_") else n


@resource_rule(
    name="drop-all-capabilities",
    description="Containers drop ALL Linux capabilities and add back only allowed ones.",
    remediation="Set securityContext.capabilities.drop: [\"ALL\"]; add only what allowedCapabilities lists "
                "(NET_BIND_SERVICE to bind ports below 1024).",
    type_prefixes=K8S,
    config={
        "allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": ["NET_BIND_SERVICE"],
                                "description": "Capabilities containers may add back."},
    },
)
def drop_all_capabilities(props: dict, ctx: Ctx) -> Iterable[str]:
    allowed = {_cap(c) for c in ctx.config.get("allowedCapabilities") or []}
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            caps = obj(_sc(c).get("capabilities"))
            if "ALL" not in {_cap(x) for x in as_list(caps.get("drop"))}:
                yield f"{_where(pod, c)} does not drop ALL capabilities"
            extra = sorted({_cap(x) for x in as_list(caps.get("add"))} - allowed)
            if extra:
                yield f"{_where(pod, c)} adds capabilities {', '.join(extra)}"


@resource_rule(
    name="seccomp-runtime-default",
    description="Containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault at pod level.",
    type_prefixes=K8S,
)
def seccomp_runtime_default(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        pod_type = obj(_sc(pod.spec).get("seccompProfile")).get("type")
        for c in pod.containers():
            c_type = obj(_sc(c).get("seccompProfile")).get("type")
            effective = c_type if c_type is not None else pod_type
            if effective not in ("RuntimeDefault", "Localhost"):
                yield f"{_where(pod, c)} runs with seccomp profile {effective or 'unset (Unconfined)'}"


@resource_rule(
    name="read-only-root-filesystem",
    description="Containers mount their root filesystem read-only.",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the process "
                "writes (/tmp, caches).",
    type_prefixes=K8S,
)
def read_only_root_filesystem(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            if flag(_sc(c).get("readOnlyRootFilesystem")) is not True:
                yield f"{_where(pod, c)} has a writable root filesystem"


@resource_rule(
    name="resource-requests-and-limits",
    description="Every container requests and limits CPU and memory; GPU requests equal GPU limits.",
    remediation="Set resources.requests and resources.limits for cpu and memory on every container (TrainJob: "
                "spec.trainer.resourcesPerNode); set nvidia.com/gpu in both, to the same count.",
    type_prefixes=K8S,
)
def resource_requests_and_limits(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            res = obj(c.get("resources"))
            req, lim = obj(res.get("requests")), obj(res.get("limits"))
            missing = [f"{kind}.{r}" for kind, block in (("requests", req), ("limits", lim))
                       for r in ("cpu", "memory") if block.get(r) in (None, "")]
            if missing:
                yield f"{_where(pod, c)} has no {', '.join(missing)}"
            if GPU_RESOURCE in req or GPU_RESOURCE in lim:
                r, l = quantity(req.get(GPU_RESOURCE)), quantity(lim.get(GPU_RESOURCE))
                if r is None or l is None or r != l:
                    yield (f"{_where(pod, c)} has {GPU_RESOURCE} requests {req.get(GPU_RESOURCE)} and limits "
                           f"{lim.get(GPU_RESOURCE)}; they must be set and equal")


def parse_image(image: str) -> tuple[str, str, Optional[str], Optional[str]]:
    """``(registry, repository, tag, digest)``; Docker Hub short names (``nginx:1.2``) are ``docker.io``."""
    ref = image.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = "docker.io", ref
    if registry in _DOCKER_HUB_ALIASES:
        registry = "docker.io"
    last = path.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if tag is not None:
        path = path[: len(path) - len(tag) - 1]
    return registry, path, tag, digest


def registry_approved(registry: str, repository: str, patterns: Iterable[str]) -> bool:
    for p in patterns:
        p = str(p).lower().rstrip("/")
        if "/" in p:  # a registry path prefix, e.g. public.ecr.aws/karpenter
            if f"{registry}/{repository}".startswith(p + "/") or fnmatch.fnmatchcase(f"{registry}/{repository}", p):
                return True
        elif fnmatch.fnmatchcase(registry, p):
            return True
    return False


@resource_rule(
    name="approved-registries-and-pinned-tags",
    description="Images come from approved registries and are pinned to a tag other than latest, or a digest.",
    remediation="Use an image from an approved registry (see approvedRegistries; your own ECR is always fine) "
                "with an immutable version tag or @sha256 digest; mirror anything else into ECR.",
    type_prefixes=K8S,
    config={
        "approvedRegistries": {
            "type": "array", "items": {"type": "string"}, "default": APPROVED_REGISTRIES,
            "description": "Registry host patterns (fnmatch), or host/path prefixes, images may come from.",
        },
    },
)
def approved_registries_and_pinned_tags(props: dict, ctx: Ctx) -> Iterable[str]:
    patterns = [str(p) for p in ctx.config.get("approvedRegistries") or []]
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            image = c.get("image")
            if not isinstance(image, str) or not image:
                continue  # a TrainJob may take its image from the runtime
            registry, repo, tag, digest = parse_image(image)
            if not digest and (tag is None or tag == "latest"):
                yield f"{_where(pod, c)} uses {image!r}, which is not pinned (no tag, or latest)"
            if not registry_approved(registry, repo, patterns):
                yield f"{_where(pod, c)} pulls {image!r} from {registry}, which is not an approved registry"


def _uses_gpu(pod: PodView) -> bool:
    for c in pod.containers():
        res = obj(c.get("resources"))
        for block in (obj(res.get("requests")), obj(res.get("limits"))):
            q = quantity(block.get(GPU_RESOURCE))
            if q:
                return True
    return False


def tolerates(tolerations: Any, key: str, value: str, effect: str = "NoSchedule") -> bool:
    for t in as_list(tolerations):
        if not isinstance(t, Mapping):
            continue
        op = str(t.get("operator") or "Equal")
        t_key = t.get("key")
        if t_key and t_key != key:
            continue
        if not t_key and op != "Exists":
            continue
        if t.get("effect") and t.get("effect") != effect:
            continue
        if op == "Exists" or str(t.get("value") or "") == value:
            return True
    return False


@resource_rule(
    name="gpu-pods-tolerate-gpu-taint",
    description="Pods that request GPUs tolerate the nvidia.com/gpu NoSchedule taint, or they never schedule on GPU nodes.",
    remediation="Add the toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to pods that "
                "request nvidia.com/gpu.",
    type_prefixes=K8S,
    config={
        "taintKey": {"type": "string", "default": "nvidia.com/gpu", "description": "The GPU taint's key."},
        "taintValue": {"type": "string", "default": "true", "description": "The GPU taint's value."},
    },
)
def gpu_pods_tolerate_gpu_taint(props: dict, ctx: Ctx) -> Iterable[str]:
    key, value = str(ctx.config.get("taintKey")), str(ctx.config.get("taintValue"))
    for pod in pod_templates(ctx.type, props):
        if _uses_gpu(pod) and not tolerates(pod.spec.get("tolerations"), key, value):
            yield f"{pod.where} requests {GPU_RESOURCE} but does not tolerate the {key}:NoSchedule taint"


@resource_rule(
    name="serving-workloads-have-probes",
    description="Deployments and StatefulSets define readiness and liveness probes on every container.",
    remediation="Add readinessProbe (traffic only when ready) and livenessProbe (restart when wedged) to every "
                "non-init container.",
    type_prefixes=K8S,
)
def serving_workloads_have_probes(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) not in SERVING_KINDS:
        return
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers(init=False):
            missing = [p for p in ("readinessProbe", "livenessProbe") if not c.get(p)]
            if missing:
                yield f"{_where(pod, c)} has no {' or '.join(missing)}"


def _scope_kind(resource_type: str, props: Mapping[str, Any]) -> str:
    kind = kind_of(resource_type, props)
    return kind[: -len("Patch")] if kind.endswith("Patch") else kind


@resource_rule(
    name="no-default-namespace",
    description="Namespaced Kubernetes objects and Helm releases name a namespace, and it is not `default`.",
    remediation="Set metadata.namespace (Helm: namespace) to the owning team's or add-on's namespace.",
    type_prefixes=K8S,
    config={
        "extraClusterScopedKinds": {"type": "array", "items": {"type": "string"}, "default": [],
                                    "description": "More cluster-scoped kinds (custom resources) to exempt."},
    },
)
def no_default_namespace(props: dict, ctx: Ctx) -> Iterable[str]:
    t = ctx.type
    if t.startswith(_GROUPINGS):
        return
    if t.startswith(("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")):
        ns = props.get("namespace")
        if not ns or ns == "default":
            yield f"the Helm release installs into {ns or 'the default namespace (none set)'}"
        return
    kind = _scope_kind(t, props)
    if not kind or kind.endswith("List"):
        return
    if kind in CLUSTER_SCOPED_KINDS or kind in set(ctx.config.get("extraClusterScopedKinds") or []):
        return
    ns = obj(props.get("metadata")).get("namespace")
    if not ns:
        yield f"{kind} has no metadata.namespace, so it lands in the provider's default namespace"
    elif ns == "default":
        yield f"{kind} is in the default namespace"


@resource_rule(
    name="no-service-account-token-automount",
    description="Pods do not mount a Kubernetes API token unless they declare that they need the API.",
    remediation="Set automountServiceAccountToken: false in the pod spec; pods that call the Kubernetes API "
                f"annotate their template {NEEDS_API_ANNOTATION}: \"true\".",
    type_prefixes=K8S,
)
def no_service_account_token_automount(props: dict, ctx: Ctx) -> Iterable[str]:
    obj_ann = annotations(props.get("metadata"))
    for pod in pod_templates(ctx.type, props):
        needs = annotations(pod.metadata).get(NEEDS_API_ANNOTATION, obj_ann.get(NEEDS_API_ANNOTATION))
        if str(needs).lower() == "true" or "automountServiceAccountToken" in pod.inherits:
            continue  # a TrainJob cannot set the field; its runtime's template is checked instead
        if flag(pod.spec.get("automountServiceAccountToken")) is not False:
            yield f"{pod.where} mounts a service-account token (automountServiceAccountToken is not false)"


@resource_rule(
    name="training-pods-do-not-disrupt",
    description="Training pods (TrainJob, PyTorchJob) carry karpenter.sh/do-not-disrupt, so consolidation never "
                "kills a running job.",
    remediation=f"Annotate the training pod templates {DO_NOT_DISRUPT}: \"true\" (TrainJob: through a "
                "runtimePatches pod template patch).",
    type_prefixes=K8S,
)
def training_pods_do_not_disrupt(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) not in ("TrainJob", "PyTorchJob"):
        return
    for pod in pod_templates(ctx.type, props):
        if str(annotations(pod.metadata).get(DO_NOT_DISRUPT, "")).lower() != "true":
            yield f"{pod.where} is not annotated {DO_NOT_DISRUPT}: \"true\""
