"""Workload rules: every pod template (Deployments to TrainJobs) is held to the same bar.

Pods are found by :func:`guardrails.podspecs.pod_templates`, which also rebuilds
the effective trainer pod of a TrainJob and walks PyTorchJob replica specs and
Trainer runtimes, so a rule written once covers all of them.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Mapping, Optional

from guardrails._meta import Ctx, resource_rule
from guardrails.common import annotations, as_list, flag, helm_chart_name, labels, obj, quantity, to_int
from guardrails.podspecs import PodView, kind_of, long_running, pod_templates

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
    checkov=("CKV_K8S_16",),
    cis=("4.2.1",),
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
    checkov=("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "CKV_K8S_26"),
    cis=("4.2.2", "4.2.3", "4.2.4"),
)
def no_host_namespaces(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if flag(pod.spec.get(field)) is True:
                yield f"{pod.where} sets {field}: true"
        for c in pod.containers():
            for p in as_list(c.get("ports")):
                # A hostPort key at all (even 0) asks for a node port binding, as checkov reads it.
                if isinstance(p, Mapping) and p.get("hostPort") is not None:
                    yield f"{_where(pod, c)} binds hostPort {p.get('hostPort')}"


@resource_rule(
    name="no-host-path-volumes",
    description="Pods must not mount directories of the node (hostPath), such as the container runtime socket.",
    remediation="Use an emptyDir, a PersistentVolumeClaim, a ConfigMap/Secret or a CSI volume instead of hostPath.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_27",),
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
    checkov=("CKV_K8S_20",),
    cis=("4.2.5",),
)
def no_privilege_escalation(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            if flag(_sc(c).get("allowPrivilegeEscalation")) is not False:
                yield f"{_where(pod, c)} does not set allowPrivilegeEscalation: false"


@resource_rule(
    name="run-as-non-root",
    description="Containers run as a non-root user: runAsNonRoot true (pod or container) and an explicit runAsUser "
                "of at least minUid (10000), so no container UID collides with a user of the node.",
    remediation="Set securityContext.runAsNonRoot: true and runAsUser: 10001 (any UID >= minUid) at pod level; "
                "containers may override, never with runAsNonRoot: false or a lower UID.",
    type_prefixes=K8S,
    config={
        "minUid": {"type": "integer", "default": 10000,
                   "description": "Lowest runAsUser accepted (1 only forbids root; pods with hostUsers: false are "
                                  "exempt, their UIDs are remapped)."},
    },
    checkov=("CKV_K8S_23", "CKV_K8S_40"),
)
def run_as_non_root(props: dict, ctx: Ctx) -> Iterable[str]:
    min_uid = int(ctx.config.get("minUid", 10000))
    for pod in pod_templates(ctx.type, props):
        pod_sc = _sc(pod.spec)
        # A user namespace (hostUsers: false) maps every container UID to an unprivileged host UID.
        own_userns = flag(pod.spec.get("hostUsers")) is False
        for c in pod.containers():
            c_sc = _sc(c)
            non_root = c_sc.get("runAsNonRoot") if c_sc.get("runAsNonRoot") is not None else pod_sc.get("runAsNonRoot")
            user = c_sc.get("runAsUser") if c_sc.get("runAsUser") is not None else pod_sc.get("runAsUser")
            uid = to_int(user)
            if flag(non_root) is not True:
                yield f"{_where(pod, c)} may run as root (runAsNonRoot is not true)"
            if uid == 0:
                yield f"{_where(pod, c)} runs as UID 0 (runAsUser: 0)"
            elif own_userns:
                continue
            elif uid is None:
                if not (pod.partial_containers and "runAsUser" not in c_sc and "runAsUser" not in pod_sc):
                    yield f"{_where(pod, c)} sets no runAsUser (the image picks the UID); set one >= {min_uid}"
            elif uid < min_uid:
                yield f"{_where(pod, c)} runs as UID {uid}, below {min_uid} (it may collide with a node user)"


def _cap(name: Any) -> str:
    n = str(name).upper()
    return n[4:] if n.startswith("CAP_") else n


@resource_rule(
    name="drop-all-capabilities",
    description="Containers drop ALL Linux capabilities and add back only allowed ones.",
    remediation="Set securityContext.capabilities.drop: [\"ALL\"] and add nothing back; listen on a port above "
                "1024 instead of adding NET_BIND_SERVICE (a stack that must allow one lists it in "
                "allowedCapabilities).",
    type_prefixes=K8S,
    config={
        "allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "Capabilities containers may add back (e.g. NET_BIND_SERVICE, or "
                                               "IPC_LOCK for EFA)."},
    },
    checkov=("CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_39"),
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
    config={
        "allowLocalhostProfiles": {
            "type": "boolean", "default": True,
            "description": "Accept Localhost profiles (written and reviewed by the platform team); false accepts "
                           "RuntimeDefault only, as checkov does."},
    },
    checkov=("CKV_K8S_31",),
)
def seccomp_runtime_default(props: dict, ctx: Ctx) -> Iterable[str]:
    allowed = ("RuntimeDefault", "Localhost") if ctx.config.get("allowLocalhostProfiles", True) else ("RuntimeDefault",)
    for pod in pod_templates(ctx.type, props):
        pod_type = obj(_sc(pod.spec).get("seccompProfile")).get("type")
        for c in pod.containers():
            c_type = obj(_sc(c).get("seccompProfile")).get("type")
            effective = c_type if c_type is not None else pod_type
            if effective not in allowed:
                yield f"{_where(pod, c)} runs with seccomp profile {effective or 'unset (Unconfined)'}"


@resource_rule(
    name="read-only-root-filesystem",
    description="Containers mount their root filesystem read-only.",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the process "
                "writes (/tmp, caches).",
    type_prefixes=K8S,
    checkov=("CKV_K8S_22",),
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
    checkov=("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"),
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
        "requireDigest": {
            "type": "boolean", "default": False,
            "description": "Require @sha256 digests (checkov CKV_K8S_43); a version tag is enough by default.",
        },
    },
    checkov=("CKV_K8S_14",),
    cis=("5.1.4",),
)
def approved_registries_and_pinned_tags(props: dict, ctx: Ctx) -> Iterable[str]:
    patterns = [str(p) for p in ctx.config.get("approvedRegistries") or []]
    require_digest = bool(ctx.config.get("requireDigest"))
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            image = c.get("image")
            if not isinstance(image, str) or not image:
                continue  # a TrainJob may take its image from the runtime
            registry, repo, tag, digest = parse_image(image)
            if not digest and (tag is None or tag == "latest"):
                yield f"{_where(pod, c)} uses {image!r}, which is not pinned (no tag, or latest)"
            elif require_digest and not digest:
                yield f"{_where(pod, c)} uses {image!r}, which is not pinned to a digest (@sha256:...)"
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
    description="Long-running workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, "
                "LeaderWorkerSets, and Pods or PodTemplates that restart Always) define readiness and liveness "
                "probes on every container.",
    remediation="Add readinessProbe (traffic only when ready) and livenessProbe (restart when wedged) to every "
                "non-init container. Jobs, CronJobs, training jobs and Pods with restartPolicy Never/OnFailure "
                "run to completion and are exempt.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_8", "CKV_K8S_9"),
)
def serving_workloads_have_probes(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = kind_of(ctx.type, props)
    for pod in pod_templates(ctx.type, props):
        if not long_running(kind, pod):
            continue
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
    checkov=("CKV_K8S_21",),
    cis=("4.5.2",),
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
    config={
        "allowDeclaredNeed": {
            "type": "boolean", "default": True,
            "description": f"Accept a token on pods annotated {NEEDS_API_ANNOTATION}: \"true\" (controllers "
                           "that call the API); false requires automountServiceAccountToken: false everywhere, as "
                           "checkov does.",
        },
    },
    checkov=("CKV_K8S_38",),
    cis=("4.1.6",),
)
def no_service_account_token_automount(props: dict, ctx: Ctx) -> Iterable[str]:
    obj_ann = annotations(props.get("metadata"))
    for pod in pod_templates(ctx.type, props):
        needs = annotations(pod.metadata).get(NEEDS_API_ANNOTATION, obj_ann.get(NEEDS_API_ANNOTATION))
        declared = str(needs).lower() == "true" and ctx.config.get("allowDeclaredNeed", True)
        if declared or "automountServiceAccountToken" in pod.inherits:
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


@resource_rule(
    name="image-pull-policy-always",
    description="Containers pull their image on every start (imagePullPolicy: Always) unless it is pinned to a "
                "digest, so a node never runs a stale or tampered local copy and registry credentials are checked.",
    remediation="Set imagePullPolicy: Always on every container (or pin the image to an @sha256 digest).",
    type_prefixes=K8S,
    checkov=("CKV_K8S_15",),
)
def image_pull_policy_always(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            image = c.get("image")
            if "imagePullPolicy" not in c and pod.partial_containers:
                continue  # a TrainJob's node container keeps its runtime's pull policy
            if not isinstance(image, str) or not image.strip():
                continue
            registry, repo, tag, digest = parse_image(image)
            if digest:
                continue
            policy = c.get("imagePullPolicy")
            if policy is None:
                # Kubernetes defaults to Always only for :latest or untagged images (which the registry rule refuses).
                if tag not in (None, "latest"):
                    yield f"{_where(pod, c)} sets no imagePullPolicy, so {image!r} defaults to IfNotPresent"
            elif policy != "Always":
                yield f"{_where(pod, c)} has imagePullPolicy {policy}, not Always"


@resource_rule(
    name="secrets-not-in-env",
    description="Containers read Secrets as mounted files, never as environment variables (env valueFrom."
                "secretKeyRef, envFrom secretRef), which leak into logs, crash dumps and child processes.",
    remediation="Mount the Secret as a volume (or use the Secrets Store CSI driver) and read the file; drop the "
                "secretKeyRef/secretRef from env and envFrom.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_35",),
    cis=("4.4.1",),
)
def secrets_not_in_env(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            for e in as_list(c.get("env")):
                ref = obj(obj(e).get("valueFrom")).get("secretKeyRef")
                if ref is not None:
                    yield (f"{_where(pod, c)} puts Secret {obj(ref).get('name')!r} into environment variable "
                           f"{obj(e).get('name')!r}")
            for e in as_list(c.get("envFrom")):
                ref = obj(e).get("secretRef")
                if ref is not None:
                    yield f"{_where(pod, c)} loads every key of Secret {obj(ref).get('name')!r} into its environment"


@resource_rule(
    name="pod-security-context-set",
    description="Every pod template sets a pod-level securityContext and every container its own, so no pod runs "
                "on the runtime's defaults.",
    remediation="Set spec.securityContext (runAsNonRoot, runAsUser, fsGroup, seccompProfile) on the pod and "
                "securityContext (allowPrivilegeEscalation, capabilities, readOnlyRootFilesystem) on each container.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_29", "CKV_K8S_30"),
)
def pod_security_context_set(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        # A TrainJob that patches no securityContext keeps its runtime's (checked on the runtime).
        if not _sc(pod.spec) and not (pod.partial_containers and "securityContext" not in pod.spec):
            yield f"{pod.where} has no pod-level securityContext"
        for c in pod.containers():
            if not _sc(c) and not (pod.partial_containers and "securityContext" not in c):
                yield f"{_where(pod, c)} has no securityContext"


#: Repository paths (registry host removed) of images that are the Kubernetes dashboard or Helm 2's Tiller.
FORBIDDEN_IMAGES = ["tiller", "*/tiller", "kubernetesui/*", "*/kubernetesui/*", "*kubernetes-dashboard*"]
FORBIDDEN_CHARTS = ["kubernetes-dashboard", "tiller"]
#: Pod labels checkov reads as the dashboard or Tiller.
_FORBIDDEN_LABELS = {("app", "kubernetes-dashboard"), ("k8s-app", "kubernetes-dashboard"), ("app", "helm"),
                     ("name", "tiller")}


def _tiller_word(value: Any) -> bool:
    return "tiller" in str(value).lower().replace("_", "-").split("-")


@resource_rule(
    name="no-dashboard-or-tiller",
    description="Neither the Kubernetes dashboard nor Helm 2's Tiller is deployed (by image, pod labels, Service or "
                "Helm chart): both expose cluster-wide control behind a weak or absent login.",
    remediation="Remove the dashboard (use the EKS console or kubectl through access entries) and Tiller (Helm 3 "
                "has no server side).",
    type_prefixes=K8S,
    config={
        "forbiddenImages": {"type": "array", "items": {"type": "string"}, "default": FORBIDDEN_IMAGES,
                            "description": "Image repository patterns (fnmatch, registry host removed)."},
        "forbiddenCharts": {"type": "array", "items": {"type": "string"}, "default": FORBIDDEN_CHARTS,
                            "description": "Helm chart names that must not be installed."},
    },
    checkov=("CKV_K8S_33", "CKV_K8S_34", "CKV_K8S_44", "CKV_K8S_45"),
)
def no_dashboard_or_tiller(props: dict, ctx: Ctx) -> Iterable[str]:
    if ctx.type.startswith(("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")):
        chart = helm_chart_name(props.get("chart"))
        if chart in set(ctx.config.get("forbiddenCharts") or []):
            yield f"the Helm release installs chart {chart}"
        return
    kind = kind_of(ctx.type, props)
    if kind == "Service":
        meta = obj(props.get("metadata"))
        named = _tiller_word(meta.get("name"))
        labelled = any(_tiller_word(v) for v in labels(meta).values())
        selects = any(_tiller_word(v) for v in obj(obj(props.get("spec")).get("selector")).values())
        if named or labelled or selects:
            yield "the Service exposes Tiller (Helm 2's in-cluster server)"
        return
    patterns = [str(p) for p in ctx.config.get("forbiddenImages") or []]
    for pod in pod_templates(ctx.type, props):
        hit = sorted(f"{k}={v}" for k, v in labels(pod.metadata).items() if (k, v) in _FORBIDDEN_LABELS)
        if hit:
            yield f"{pod.where} is labelled {', '.join(hit)} (the dashboard or Tiller)"
        for c in pod.containers():
            image = c.get("image")
            if not isinstance(image, str) or not image:
                continue
            _, repo, _, _ = parse_image(image)
            if any(fnmatch.fnmatchcase(repo.lower(), p) for p in patterns):
                yield f"{_where(pod, c)} runs {image!r} (the dashboard or Tiller)"


GIT_SYNC_COMMAND_ENV = ["GITSYNC_GIT", "GIT_SYNC_GIT"]


@resource_rule(
    name="git-sync-no-command-override",
    description="No container overrides git-sync's git command (GITSYNC_GIT, or GIT_SYNC_GIT in git-sync v3): "
                "whoever can edit the pod spec could run any binary through it.",
    remediation="Remove the GITSYNC_GIT/GIT_SYNC_GIT variable (and --git argument); git-sync uses the git binary "
                "of its image.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_159",),
)
def git_sync_no_command_override(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            for e in as_list(c.get("env")):
                if obj(e).get("name") in GIT_SYNC_COMMAND_ENV:
                    yield f"{_where(pod, c)} sets {obj(e).get('name')}, which replaces the git command git-sync runs"
            image = c.get("image")
            if isinstance(image, str) and parse_image(image)[1].rsplit("/", 1)[-1] == "git-sync":
                for a in as_list(c.get("args")) + as_list(c.get("command")):
                    if str(a) == "--git" or str(a).startswith("--git="):
                        yield f"{_where(pod, c)} passes {a} to git-sync, which replaces the git command it runs"


@resource_rule(
    name="kubernetes-secrets-external",
    description="Where the stack's config requires it (allowInlineSecrets: false), no Kubernetes Secret carries "
                "inline data: secrets come from an external store (Secrets Manager through the Secrets Store CSI "
                "driver or External Secrets).",
    remediation="Keep the secret in AWS Secrets Manager and mount it with the Secrets Store CSI driver (or sync it "
                "with External Secrets) instead of putting data/stringData into a Secret the stack manages.",
    type_prefixes=K8S,
    config={
        "allowInlineSecrets": {
            "type": "boolean", "default": True,
            "description": "Accept Secrets with data/stringData (the platform passes Pulumi secrets, encrypted in "
                           "state, this way); false enforces external secret storage (CIS 4.4.2).",
        },
    },
)
def kubernetes_secrets_external(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) != "Secret" or ctx.config.get("allowInlineSecrets", True):
        return
    # Presence only: the values are secret (and may be unknown in a preview).
    inline = [k for k in ("data", "stringData") if k in props]
    if inline:
        yield f"the Secret carries inline {' and '.join(inline)} instead of referencing an external secret store"
