"""Typed stack configuration: every key, its default and its validation, in one place.

The program reads Pulumi config exactly once, through :func:`load_stack_config`,
and gets back a frozen :class:`StackConfig`. Nothing else in the program reads
``pulumi.Config`` and no other module holds a default.

Validation runs completely before a single resource is registered. A bad value
raises :class:`ConfigError`, a ``pulumi.RunError`` subclass, so ``pulumi up``
prints one line naming the key (``nodeGroups.gpu.maxSize: ...``) and no
traceback; the offline plan prints the same line and exits 2.

Keys are flat camelCase scalars where Pulumi's project schema can declare them
(``Pulumi.yaml`` supports string/integer/boolean/array). Collections keyed by
name (node groups, teams, endpoints, ...) are objects, so renaming a list
position never changes a URN.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Mapping, Optional

import pulumi

from components import versions
from components.planning import capacity
from components.planning import cidr as cidr_plan
from components.planning import instances
from components.planning.quantity import parse_quantity

PROJECT = "mlplatform"

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


class ConfigError(pulumi.RunError):
    """A config value is invalid. ``str()`` is one line: ``<key>: <reason>``."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid config {key}: {reason}")


def setting(key: str, doc: str, default: Any = dataclasses.MISSING, *, secret: bool = False) -> Any:
    """A dataclass field bound to a config key, with its documentation."""
    md = {"key": key, "doc": doc, "secret": secret}
    if isinstance(default, (dict, list)):
        frozen = types.MappingProxyType(dict(default)) if isinstance(default, dict) else tuple(default)
        return field(default_factory=lambda: frozen, metadata=md)
    # Secrets stay out of repr() so a logged config never leaks them.
    return field(default=default, metadata=md, repr=not secret)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class TaintConfig:
    """An extra Kubernetes taint for a node group (the GPU taint is added automatically)."""

    key: str = setting("key", "Taint key.")
    value: str = setting("value", "Taint value.", "")
    effect: Literal["NoSchedule", "NoExecute", "PreferNoSchedule"] = setting(
        "effect", "Taint effect.", "NoSchedule"
    )


@dataclass(frozen=True)
class NodeGroupConfig:
    """One node pool. Keyed by name in ``nodeGroups`` so its URN never depends on list order."""

    instanceTypes: tuple[str, ...] = setting("instanceTypes", "EC2 instance types; one family class per pool.")
    maxSize: int = setting("maxSize", "Maximum node count.")
    minSize: int = setting("minSize", "Minimum node count; 0 lets GPU pools scale to zero.", 0)
    desiredSize: Optional[int] = setting(
        "desiredSize", "Initial node count (defaults to minSize; ignored after creation).", None
    )
    kind: Literal["managed", "self-managed"] = setting(
        "kind", "EKS managed node group, or a self-managed group for bring-your-own AMIs.", "managed"
    )
    role: Literal["system", "cpu", "gpu", ""] = setting(
        "role", "system (critical add-ons, on-demand), cpu or gpu; derived from the instance type when empty.", ""
    )
    amiType: str = setting("amiType", "EKS AMI type (AL2023_*/BOTTLEROCKET_*); chosen per instance family when empty.", "")
    amiId: str = setting("amiId", "AMI ID for a self-managed group (required there, refused for managed ones).", "")
    capacityType: Literal["ON_DEMAND", "SPOT"] = setting("capacityType", "ON_DEMAND or SPOT.", "ON_DEMAND")
    diskSizeGiB: int = setting("diskSizeGiB", "Root volume size; 0 picks 50 GiB (CPU) or 200 GiB (GPU).", 0)
    labels: Mapping[str, str] = setting("labels", "Extra Kubernetes node labels.", {})
    taints: tuple[TaintConfig, ...] = setting("taints", "Extra taints.", [])
    efa: bool = setting("efa", "Attach EFA interfaces and a cluster placement group (single AZ).", False)


@dataclass(frozen=True)
class FargateSelectorConfig:
    """A Fargate profile selector: pods in ``namespace`` (with all ``labels``) run on Fargate."""

    namespace: str = setting("namespace", "Namespace whose pods run on Fargate.")
    labels: Mapping[str, str] = setting("labels", "Pod labels that must also match.", {})


@dataclass(frozen=True)
class FargateProfileConfig:
    """A Fargate profile (up to five selectors, as EKS allows)."""

    selectors: tuple[FargateSelectorConfig, ...] = setting("selectors", "Namespace/label selectors.")


@dataclass(frozen=True)
class TeamConfig:
    """A tenant: a namespace with quota, limits, network isolation, RBAC and a Kueue queue."""

    group: str = setting("group", "Kubernetes group bound to the team Role (default <team>-developers).", "")
    iamRoleArn: str = setting("iamRoleArn", "IAM role mapped to the group through an EKS access entry.", "")
    cpu: str = setting("cpu", "ResourceQuota for CPU requests and limits.", "16")
    memory: str = setting("memory", "ResourceQuota for memory requests and limits.", "64Gi")
    gpu: int = setting("gpu", "ResourceQuota for requests.nvidia.com/gpu.", 0)
    pvcs: int = setting("pvcs", "Maximum PersistentVolumeClaims.", 10)
    storage: str = setting("storage", "Maximum requested storage across PVCs.", "500Gi")
    podSecurity: Literal["restricted", "baseline"] = setting(
        "podSecurity", "Pod Security Admission level; baseline only for EFA/IPC_LOCK workloads.", "restricted"
    )
    defaultCpuRequest: str = setting("defaultCpuRequest", "LimitRange default CPU request.", "250m")
    defaultMemoryRequest: str = setting("defaultMemoryRequest", "LimitRange default memory request.", "512Mi")
    defaultCpuLimit: str = setting("defaultCpuLimit", "LimitRange default CPU limit.", "1")
    defaultMemoryLimit: str = setting("defaultMemoryLimit", "LimitRange default memory limit.", "1Gi")


@dataclass(frozen=True)
class InferenceEndpointConfig:
    """A model-serving Deployment with Service, HPA, PDB and optional load balancer."""

    team: str = setting("team", "Team namespace the endpoint runs in.")
    enabled: bool = setting("enabled", "Create the endpoint (examples can ship switched off).", True)
    image: str = setting("image", "Pinned image; defaults to the versions table's CPU/GPU server.", "")
    args: tuple[str, ...] = setting("args", "Container arguments.", [])
    port: int = setting("port", "Container port serving HTTP.", 8080)
    healthPath: str = setting("healthPath", "HTTP path for probes and the load balancer health check.", "/healthz")
    replicas: int = setting("replicas", "Minimum replicas (HPA floor).", 2)
    maxReplicas: int = setting("maxReplicas", "HPA ceiling.", 4)
    cpu: str = setting("cpu", "CPU request = limit.", "1")
    memory: str = setting("memory", "Memory request = limit.", "2Gi")
    gpus: int = setting("gpus", "NVIDIA GPUs per replica (requests = limits).", 0)
    placement: Literal["cpu", "gpu", "fargate"] = setting(
        "placement", "cpu nodes, gpu nodes, or Fargate (CPU only, namespace must match a profile).", "cpu"
    )
    exposure: Literal["alb", "nlb", "none"] = setting("exposure", "ALB Ingress, NLB Service, or cluster-only.", "alb")
    internal: bool = setting("internal", "Internal load balancer (external needs certificateArn).", True)
    certificateArn: str = setting("certificateArn", "ACM certificate ARN for HTTPS on external endpoints.", "")
    hpaMetric: Literal["cpu", "memory"] = setting("hpaMetric", "Resource metric the HPA scales on.", "cpu")
    targetUtilization: int = setting("targetUtilization", "HPA target utilisation in percent.", 70)
    customMetric: str = setting("customMetric", "Optional per-pod custom metric name (needs an adapter).", "")
    customMetricTarget: str = setting("customMetricTarget", "Average value target for customMetric.", "")
    modelPrefix: str = setting("modelPrefix", "Key prefix in the model bucket (default models/<name>/).", "")


@dataclass(frozen=True)
class TrainingJobConfig:
    """A distributed training job (Trainer v2 TrainJob, or legacy PyTorchJob)."""

    team: str = setting("team", "Team namespace (and Kueue LocalQueue) the job runs in.")
    enabled: bool = setting("enabled", "Create the job.", True)
    kind: Literal["TrainJob", "PyTorchJob"] = setting("kind", "TrainJob (Trainer v2) or PyTorchJob (legacy).", "TrainJob")
    image: str = setting("image", "Pinned training image; defaults to the versions table.", "")
    command: tuple[str, ...] = setting(
        "command",
        "Container command.",
        ["torchrun", "--nproc-per-node=auto", "/workspace/train.py"],
    )
    nodes: int = setting("nodes", "Number of nodes (pods).", 1)
    gpusPerNode: int = setting("gpusPerNode", "GPUs per node; requests = limits.", 1)
    cpu: str = setting("cpu", "CPU request = limit per node.", "4")
    memory: str = setting("memory", "Memory request = limit per node.", "16Gi")
    volume: Literal["efs", "fsx", "none"] = setting("volume", "Shared dataset/checkpoint volume.", "efs")
    runtime: str = setting("runtime", "ClusterTrainingRuntime name for TrainJobs.", "torch-distributed")
    script: str = setting(
        "script", "Local Python file mounted as /workspace/train.py (via a ConfigMap); empty = the image has it.", ""
    )


@dataclass(frozen=True)
class ExistingWorkloadConfig:
    """Kubernetes workloads brought over as they are (manifests, kustomize or Helm)."""

    team: str = setting("team", "Team namespace the objects are applied into.")
    source: Literal["manifests", "kustomize", "helm"] = setting("source", "Kind of source.")
    path: str = setting("path", "Directory (manifests/kustomize) or local chart path, relative to the project.", "")
    chart: str = setting("chart", "Remote chart name (helm, instead of path).", "")
    repository: str = setting("repository", "Chart repository URL (remote charts).", "")
    version: str = setting("version", "Chart version (required for remote charts).", "")
    values: Mapping[str, Any] = setting("values", "Helm values.", {})


# --------------------------------------------------------------------------- stack config

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
FSX_THROUGHPUT_PER_TIB = (125, 250, 500, 1000)


@dataclass(frozen=True)
class StackConfig:
    """The whole stack's configuration, validated. Field names are the config keys."""

    project: str
    stack: str

    # cluster
    clusterName: str = setting("clusterName", "EKS cluster name (default ml-<stack>).", "")
    kubernetesVersion: str = setting(
        "kubernetesVersion", "Kubernetes minor version; must be in the supported list.", versions.DEFAULT_KUBERNETES_VERSION
    )
    endpointPublicAccess: bool = setting(
        "endpointPublicAccess", "Expose the API server publicly (private endpoint is always on).", False
    )
    publicAccessCidrs: tuple[str, ...] = setting(
        "publicAccessCidrs", "CIDRs allowed to reach a public endpoint; required when it is on, never 0.0.0.0/0.", []
    )
    adminRoleArns: tuple[str, ...] = setting(
        "adminRoleArns", "IAM roles given AmazonEKSClusterAdminPolicy through access entries.", []
    )
    readOnlyRoleArns: tuple[str, ...] = setting(
        "readOnlyRoleArns", "IAM roles given AmazonEKSViewPolicy through access entries.", []
    )
    logRetentionDays: int = setting("logRetentionDays", "CloudWatch retention for control-plane and flow logs.", 90)
    deletionProtection: bool = setting("deletionProtection", "EKS deletion protection.", True)
    protectData: bool = setting(
        "protectData", "Protect EFS/FSx and the data bucket from deletion and retain them on destroy.", True
    )

    # network
    vpcCidr: str = setting("vpcCidr", "VPC CIDR.", "10.0.0.0/16")
    azCount: int = setting("azCount", "Availability zones to span (2..6).", 3)
    natStrategy: Literal["single", "one-per-az"] = setting(
        "natStrategy", "One shared NAT gateway (cheap) or one per AZ (zonal resilience).", "one-per-az"
    )
    privateSubnetPrefix: int = setting("privateSubnetPrefix", "Private subnet prefix length (0 = auto).", 0)
    publicSubnetPrefix: int = setting("publicSubnetPrefix", "Public subnet prefix length (0 = auto).", 0)
    podCidr: str = setting(
        "podCidr", "Secondary CIDR for pod subnets (EKS custom networking), e.g. 100.64.0.0/16; empty = off.", ""
    )
    vpcEndpoints: bool = setting(
        "vpcEndpoints", "S3 gateway plus ECR, STS, EC2 and CloudWatch Logs interface endpoints.", True
    )

    # compute
    nodeGroups: Mapping[str, NodeGroupConfig] = setting("nodeGroups", "Node pools keyed by name.", {})
    fargateProfiles: Mapping[str, FargateProfileConfig] = setting(
        "fargateProfiles", "Fargate profiles keyed by name.", {}
    )

    # identity and add-ons
    identityMode: Literal["pod-identity", "irsa"] = setting(
        "identityMode", "How service accounts get AWS roles: EKS Pod Identity or IRSA.", "pod-identity"
    )
    ebsCsi: bool = setting("ebsCsi", "EBS CSI add-on and the default encrypted gp3 StorageClass.", True)
    efsCsi: bool = setting("efsCsi", "EFS CSI add-on, an encrypted file system and an access-point StorageClass.", True)
    fsxCsi: bool = setting("fsxCsi", "FSx for Lustre CSI driver.", False)
    fsxLustre: bool = setting("fsxLustre", "Create a PERSISTENT_2 FSx for Lustre file system linked to S3.", False)
    fsxLustreCapacityGiB: int = setting("fsxLustreCapacityGiB", "Lustre capacity: 1200 or a multiple of 2400.", 1200)
    fsxLustreThroughputPerTiB: int = setting(
        "fsxLustreThroughputPerTiB", "Lustre MB/s per TiB: 125, 250, 500 or 1000.", 250
    )
    lbController: bool = setting("lbController", "AWS Load Balancer Controller (alb IngressClass).", True)
    karpenter: bool = setting("karpenter", "Karpenter with cpu and gpu NodePools.", True)
    karpenterGpuInstanceFamilies: tuple[str, ...] = setting(
        "karpenterGpuInstanceFamilies", "NVIDIA instance families the gpu NodePool may launch.", ["g5", "g6", "g6e"]
    )
    karpenterGpuLimit: int = setting("karpenterGpuLimit", "Total GPUs the gpu NodePool may hold.", 8)
    karpenterCpuLimit: int = setting("karpenterCpuLimit", "Total vCPUs the cpu NodePool may hold.", 256)
    karpenterGpuCapacityTypes: tuple[str, ...] = setting(
        "karpenterGpuCapacityTypes", "Capacity types for GPU nodes (on-demand, spot, reserved).", ["on-demand"]
    )
    karpenterExpireAfter: str = setting("karpenterExpireAfter", "Node lifetime before replacement (e.g. 720h).", "720h")
    clusterAutoscaler: bool = setting(
        "clusterAutoscaler", "cluster-autoscaler for managed node groups (scale-from-zero tags included).", False
    )
    gpuStack: Literal["device-plugin", "gpu-operator", "none"] = setting(
        "gpuStack", "NVIDIA device plugin, or GPU Operator with driver/toolkit off.", "device-plugin"
    )
    metricsServer: bool = setting("metricsServer", "metrics-server (HPA resource metrics).", True)
    controllerReplicas: int = setting(
        "controllerReplicas",
        "Replicas of each platform controller (LB controller, Karpenter, cluster-autoscaler, metrics-server, Kueue, "
        "Trainer, JobSet); 2+ keeps them serving through node rolls, each with a PodDisruptionBudget.", 2,
    )

    # ML workloads
    trainer: bool = setting("trainer", "Kubeflow Trainer v2 (with JobSet) and the torch-distributed runtime.", True)
    legacyTrainingOperator: bool = setting(
        "legacyTrainingOperator", "Kubeflow training-operator v1 for PyTorchJob migrations.", False
    )
    kueue: bool = setting("kueue", "Kueue gang admission: one ClusterQueue, one LocalQueue per team.", True)
    kueueCpuQuota: str = setting("kueueCpuQuota", "ClusterQueue CPU nominal quota.", "64")
    kueueMemoryQuota: str = setting("kueueMemoryQuota", "ClusterQueue memory nominal quota.", "256Gi")
    kueueGpuQuota: int = setting("kueueGpuQuota", "ClusterQueue nvidia.com/gpu nominal quota.", 8)
    teams: Mapping[str, TeamConfig] = setting("teams", "Tenant teams keyed by name (= namespace).", {})
    inferenceEndpoints: Mapping[str, InferenceEndpointConfig] = setting(
        "inferenceEndpoints", "Model-serving endpoints keyed by name.", {}
    )
    trainingJobs: Mapping[str, TrainingJobConfig] = setting("trainingJobs", "Training jobs keyed by name.", {})
    existingWorkloads: Mapping[str, ExistingWorkloadConfig] = setting(
        "existingWorkloads", "Existing Kubernetes workloads to bring over, keyed by name.", {}
    )

    # observability
    cloudwatchObservability: bool = setting(
        "cloudwatchObservability", "amazon-cloudwatch-observability add-on (Container Insights, logs).", True
    )
    prometheus: bool = setting("prometheus", "kube-prometheus-stack (Prometheus, Grafana, Alertmanager).", False)
    prometheusRetention: str = setting("prometheusRetention", "Prometheus retention period.", "15d")
    prometheusStorageGiB: int = setting("prometheusStorageGiB", "Prometheus gp3 volume size.", 50)
    grafanaAdminPassword: Optional[str] = setting(
        "grafanaAdminPassword", "Grafana admin password (set with --secret); Grafana generates one when unset.", None,
        secret=True,
    )
    dcgmExporter: bool = setting("dcgmExporter", "NVIDIA DCGM exporter, ServiceMonitor and GPU dashboard.", False)

    tags: Mapping[str, str] = setting("tags", "Tags applied to every AWS resource (merged over the defaults).", {})

    # ------------------------------------------------------------------ derived values

    @property
    def cluster_name(self) -> str:
        return self.clusterName or f"ml-{self.stack}"

    @property
    def subnet_plan(self) -> cidr_plan.SubnetPlan:
        return _plan_subnets(self)

    @property
    def common_tags(self) -> Mapping[str, str]:
        base = {"platform": self.project, "environment": self.stack, "managed-by": "pulumi"}
        return types.MappingProxyType({**base, **dict(self.tags)})

    @property
    def gpu_node_groups(self) -> Mapping[str, NodeGroupConfig]:
        return types.MappingProxyType({n: g for n, g in self.nodeGroups.items() if g.role == "gpu"})

    @property
    def has_gpu_capacity(self) -> bool:
        return bool(self.gpu_node_groups) or (self.karpenter and self.karpenterGpuLimit > 0)

    def fargate_namespaces(self) -> frozenset[str]:
        return frozenset(s.namespace for p in self.fargateProfiles.values() for s in p.selectors)


def config_fields(cls: type = StackConfig) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are bound to config keys, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "key" in f.metadata]


# --------------------------------------------------------------------------- decoding


def _fail(path: str, reason: str) -> typing.NoReturn:
    raise ConfigError(path, reason)


def _describe(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__


def _decode(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        if value is None:
            return None
        return _decode(inner[0], value, path)
    if origin is Literal:
        if value not in args:
            _fail(path, f"must be one of {', '.join(repr(a) for a in args if a != '')}; got {_describe(value)}")
        return value
    if tp is bool:
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            _fail(path, f"must be true or false; got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"must be an integer; got {_describe(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            _fail(path, f"must be a string; got {_describe(value)}")
        return value
    if tp is Any:
        return value
    if origin is tuple:
        value = _maybe_json(value, path, list)
        if not isinstance(value, list):
            _fail(path, f"must be a list; got {_describe(value)}")
        return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is collections.abc.Mapping:
        value = _maybe_json(value, path, dict)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            _fail(path, f"must be a map; got {_describe(value)}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                _fail(path, f"keys must be strings; got {_describe(k)}")
            out[k] = _decode(args[1], v, f"{path}.{k}")
        return types.MappingProxyType(out)
    if dataclasses.is_dataclass(tp):
        value = _maybe_json(value, path, dict)
        if not isinstance(value, dict):
            _fail(path, f"must be a map; got {_describe(value)}")
        return _decode_dataclass(tp, value, path)
    raise TypeError(f"unsupported config type {tp!r} at {path}")  # programming error, not user error


def _maybe_json(value: Any, path: str, want: type) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            _fail(path, f"must be a {'list' if want is list else 'map'}; got a plain string")
    return value


def _decode_dataclass(cls: type, raw: Mapping[str, Any], path: str, extra: Optional[dict] = None) -> Any:
    hints = typing.get_type_hints(cls)
    fields = config_fields(cls)
    known = {f.metadata["key"]: f for f in fields}
    prefix = f"{path}." if path else ""
    for k in raw:
        if k not in known:
            close = difflib.get_close_matches(k, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            _fail(f"{prefix}{k}", f"unknown setting{hint}")
    kwargs = dict(extra or {})
    for f in fields:
        key = f.metadata["key"]
        if key in raw and raw[key] is not None:
            kwargs[f.name] = _decode(hints[f.name], raw[key], f"{prefix}{key}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            _fail(f"{prefix}{key}", "is required")
    return cls(**kwargs)


# --------------------------------------------------------------------------- validation

_NAME_RE = re.compile(r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$")
_NS_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ROLE_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
_ACM_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")
_AMI_RE = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")
_DURATION_RE = re.compile(r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$")
_LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_IMAGE_RE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})$")
_ALLOWED_POD_RANGES = tuple(
    cidr_plan.parse_ipv4_cidr(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _plan_subnets(cfg: StackConfig) -> cidr_plan.SubnetPlan:
    vpc = cidr_plan.parse_ipv4_cidr(cfg.vpcCidr)
    auto_private, auto_public = cidr_plan.auto_prefixes(vpc.prefixlen, cfg.azCount)
    return cidr_plan.plan_subnets(
        cfg.vpcCidr,
        cfg.azCount,
        cfg.privateSubnetPrefix or auto_private,
        cfg.publicSubnetPrefix or auto_public,
        cfg.podCidr or None,
    )


def _check_quantity(path: str, value: str, *, positive: bool = True) -> Decimal:
    try:
        q = parse_quantity(value)
    except ValueError as exc:
        _fail(path, str(exc))
    if positive and q <= 0:
        _fail(path, f"must be greater than zero; got {value!r}")
    return q


def _check_labels(path: str, labels: Mapping[str, str]) -> None:
    for k, v in labels.items():
        if not _LABEL_KEY_RE.match(k):
            _fail(f"{path}.{k}", "is not a valid Kubernetes label key")
        if not _LABEL_VALUE_RE.match(v):
            _fail(f"{path}.{k}", f"{v!r} is not a valid Kubernetes label value")


def _check_image(path: str, image: str) -> None:
    if not _IMAGE_RE.match(image):
        _fail(path, f"{image!r} must be registry/repository:tag (a pinned tag or @sha256 digest)")
    if image.rsplit(":", 1)[-1] == "latest":
        _fail(path, "the 'latest' tag is not pinned; use a version tag or digest")


def _normalize_node_group(name: str, ng: NodeGroupConfig, path: str) -> NodeGroupConfig:
    if not _NAME_RE.match(name):
        _fail(path, "node group names must be lowercase letters, digits and '-', at most 32 characters")
    if not ng.instanceTypes:
        _fail(f"{path}.instanceTypes", "must list at least one instance type")
    infos = []
    for i, it in enumerate(ng.instanceTypes):
        try:
            infos.append(instances.family_info(it))
        except ValueError as exc:
            _fail(f"{path}.instanceTypes[{i}]", str(exc))
    if len({(x.arch, x.accelerator) for x in infos}) > 1:
        _fail(f"{path}.instanceTypes", "mixes architectures or accelerators; one AMI cannot serve them all")
    gpu = infos[0].accelerator is instances.Accelerator.NVIDIA
    role = ng.role or ("gpu" if gpu else "cpu")
    if role == "gpu" and not gpu:
        _fail(f"{path}.role", "is gpu but the instance types have no NVIDIA GPU")
    if role != "gpu" and gpu:
        _fail(f"{path}.role", f"is {role} but {ng.instanceTypes[0]} is a GPU instance; use role gpu")
    if role == "system" and ng.capacityType != "ON_DEMAND":
        _fail(f"{path}.capacityType", "the system pool runs critical add-ons and must be ON_DEMAND")
    if role == "system" and ng.minSize < 1:
        _fail(f"{path}.minSize", "the system pool must keep at least one node (CoreDNS and controllers live there)")

    if ng.kind == "self-managed":
        if not ng.amiId:
            _fail(f"{path}.amiId", "is required for a self-managed node group")
        if not _AMI_RE.match(ng.amiId):
            _fail(f"{path}.amiId", f"{ng.amiId!r} is not an AMI ID (ami-xxxxxxxx)")
        if ng.amiType and ng.amiType != instances.AmiType.CUSTOM.value:
            _fail(f"{path}.amiType", "self-managed groups use amiId; leave amiType empty or CUSTOM")
        ami_type = instances.AmiType.CUSTOM.value
    else:
        if ng.amiId:
            _fail(f"{path}.amiId", "custom AMIs need kind: self-managed")
        if ng.amiType:
            try:
                ami = instances.AmiType(ng.amiType)
            except ValueError:
                allowed = ", ".join(a.value for a in instances.AmiType if a is not instances.AmiType.CUSTOM)
                _fail(f"{path}.amiType", f"{ng.amiType!r} is not supported; use one of {allowed}")
            if ami is instances.AmiType.CUSTOM:
                _fail(f"{path}.amiType", "CUSTOM needs kind: self-managed with an amiId")
        else:
            ami = instances.default_ami_type(ng.instanceTypes[0])
        for i, it in enumerate(ng.instanceTypes):
            why = instances.ami_mismatch(it, ami)
            if why:
                _fail(f"{path}.amiType", why)
        ami_type = ami.value

    if ng.minSize < 0:
        _fail(f"{path}.minSize", f"must be >= 0; got {ng.minSize}")
    if ng.maxSize < 1:
        _fail(f"{path}.maxSize", f"must be >= 1; got {ng.maxSize}")
    if ng.minSize > ng.maxSize:
        _fail(f"{path}.maxSize", f"must be >= minSize ({ng.minSize}); got {ng.maxSize}")
    desired = ng.minSize if ng.desiredSize is None else ng.desiredSize
    if not ng.minSize <= desired <= ng.maxSize:
        _fail(f"{path}.desiredSize", f"must be between minSize ({ng.minSize}) and maxSize ({ng.maxSize}); got {desired}")

    disk = ng.diskSizeGiB or (200 if gpu else 50)
    if gpu and disk < 100:
        _fail(f"{path}.diskSizeGiB", f"GPU nodes need at least 100 GiB for CUDA images; got {disk}")
    if disk < 20:
        _fail(f"{path}.diskSizeGiB", f"must be at least 20 GiB; got {disk}")
    if ng.efa:
        for i, it in enumerate(ng.instanceTypes):
            if it not in instances.EFA_CAPABLE:
                _fail(f"{path}.instanceTypes[{i}]", f"{it} has no EFA interface but efa is true")
    _check_labels(f"{path}.labels", ng.labels)
    for i, t in enumerate(ng.taints):
        if not _LABEL_KEY_RE.match(t.key):
            _fail(f"{path}.taints[{i}].key", "is not a valid taint key")
    return dataclasses.replace(ng, role=role, amiType=ami_type, desiredSize=desired, diskSizeGiB=disk)


def _validate(cfg: StackConfig, project_dir: str) -> StackConfig:
    # -- cluster
    if cfg.kubernetesVersion not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        _fail(
            "kubernetesVersion",
            f"{cfg.kubernetesVersion!r} is not supported; use one of {', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)}",
        )
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,99}", cfg.cluster_name):
        _fail("clusterName", "must start with a letter and use letters, digits, '-' or '_' (max 100)")
    for i, c in enumerate(cfg.publicAccessCidrs):
        try:
            net = cidr_plan.parse_ipv4_cidr(c)
        except ValueError as exc:
            _fail(f"publicAccessCidrs[{i}]", str(exc))
        if net.prefixlen == 0:
            _fail(f"publicAccessCidrs[{i}]", "0.0.0.0/0 opens the API server to the whole internet")
    if cfg.endpointPublicAccess and not cfg.publicAccessCidrs:
        _fail("publicAccessCidrs", "must list the allowed CIDRs when endpointPublicAccess is true")
    if not cfg.endpointPublicAccess and cfg.publicAccessCidrs:
        _fail("publicAccessCidrs", "is set but endpointPublicAccess is false")
    for key in ("adminRoleArns", "readOnlyRoleArns"):
        for i, arn in enumerate(getattr(cfg, key)):
            if not _ROLE_ARN_RE.match(arn):
                _fail(f"{key}[{i}]", f"{arn!r} is not an IAM role ARN")
    if cfg.logRetentionDays not in LOG_RETENTION_DAYS:
        _fail("logRetentionDays", f"CloudWatch accepts {', '.join(map(str, LOG_RETENTION_DAYS))}; got {cfg.logRetentionDays}")

    # -- network
    try:
        vpc = cidr_plan.parse_ipv4_cidr(cfg.vpcCidr)
    except ValueError as exc:
        _fail("vpcCidr", str(exc))
    if not 16 <= vpc.prefixlen <= 24:
        _fail("vpcCidr", f"AWS VPCs are /16 to /28 and EKS needs room: use /16 to /24; got /{vpc.prefixlen}")
    if not 2 <= cfg.azCount <= 6:
        _fail("azCount", f"must be between 2 and 6; got {cfg.azCount}")
    for key in ("privateSubnetPrefix", "publicSubnetPrefix"):
        v = getattr(cfg, key)
        if v and not vpc.prefixlen < v <= cidr_plan.SMALLEST_SUBNET_PREFIX:
            _fail(key, f"must be between /{vpc.prefixlen + 1} and /{cidr_plan.SMALLEST_SUBNET_PREFIX}; got /{v}")
    if cfg.podCidr:
        try:
            pod = cidr_plan.parse_ipv4_cidr(cfg.podCidr)
        except ValueError as exc:
            _fail("podCidr", str(exc))
        if not any(pod.subnet_of(r) for r in _ALLOWED_POD_RANGES):
            _fail("podCidr", f"{pod} must be inside RFC 1918 or 100.64.0.0/10")
        if pod.overlaps(vpc):
            _fail("podCidr", f"{pod} overlaps vpcCidr {vpc}")
        if not 16 <= pod.prefixlen <= 22:
            _fail("podCidr", f"use a /16 to /22 secondary CIDR; got /{pod.prefixlen}")
    try:
        _plan_subnets(cfg)
    except cidr_plan.CidrPlanError as exc:
        _fail("vpcCidr", f"subnets do not fit: {exc}")

    # -- compute
    if not cfg.nodeGroups:
        _fail("nodeGroups", "define at least one node group (a system pool)")
    groups = {n: _normalize_node_group(n, g, f"nodeGroups.{n}") for n, g in cfg.nodeGroups.items()}
    if not any(g.role == "system" for g in groups.values()):
        _fail("nodeGroups", "no pool has role system; critical add-ons need an on-demand home")
    for name, prof in cfg.fargateProfiles.items():
        path = f"fargateProfiles.{name}"
        if not _NAME_RE.match(name):
            _fail(path, "profile names must be lowercase letters, digits and '-'")
        if not 1 <= len(prof.selectors) <= 5:
            _fail(f"{path}.selectors", f"EKS allows 1 to 5 selectors; got {len(prof.selectors)}")
        for i, sel in enumerate(prof.selectors):
            if not _NS_RE.match(sel.namespace):
                _fail(f"{path}.selectors[{i}].namespace", f"{sel.namespace!r} is not a namespace name")
            _check_labels(f"{path}.selectors[{i}].labels", sel.labels)

    # -- add-ons
    if cfg.fsxLustre and not cfg.fsxCsi:
        _fail("fsxLustre", "needs fsxCsi: true so pods can mount the file system")
    if cfg.fsxLustreCapacityGiB != 1200 and (cfg.fsxLustreCapacityGiB <= 0 or cfg.fsxLustreCapacityGiB % 2400):
        _fail("fsxLustreCapacityGiB", f"PERSISTENT_2 takes 1200 or a multiple of 2400; got {cfg.fsxLustreCapacityGiB}")
    if cfg.fsxLustreThroughputPerTiB not in FSX_THROUGHPUT_PER_TIB:
        _fail("fsxLustreThroughputPerTiB", f"must be one of {FSX_THROUGHPUT_PER_TIB}; got {cfg.fsxLustreThroughputPerTiB}")
    for i, fam in enumerate(cfg.karpenterGpuInstanceFamilies):
        info = instances.FAMILIES.get(fam)
        if info is None or info.accelerator is not instances.Accelerator.NVIDIA:
            _fail(f"karpenterGpuInstanceFamilies[{i}]", f"{fam!r} is not an NVIDIA GPU instance family")
    if cfg.karpenter and not cfg.karpenterGpuInstanceFamilies and cfg.karpenterGpuLimit > 0:
        _fail("karpenterGpuInstanceFamilies", "must list at least one family when karpenterGpuLimit > 0")
    for i, ct in enumerate(cfg.karpenterGpuCapacityTypes):
        if ct not in ("on-demand", "spot", "reserved"):
            _fail(f"karpenterGpuCapacityTypes[{i}]", f"must be on-demand, spot or reserved; got {ct!r}")
    if not 1 <= cfg.controllerReplicas <= 5:
        _fail("controllerReplicas", f"must be 1..5; got {cfg.controllerReplicas}")
    for key in ("karpenterGpuLimit", "karpenterCpuLimit", "kueueGpuQuota", "prometheusStorageGiB"):
        if getattr(cfg, key) < 0:
            _fail(key, f"must be >= 0; got {getattr(cfg, key)}")
    if cfg.karpenterExpireAfter != "Never" and (
        not cfg.karpenterExpireAfter or not _DURATION_RE.fullmatch(cfg.karpenterExpireAfter)
    ):
        _fail("karpenterExpireAfter", f"must be a duration like 720h or Never; got {cfg.karpenterExpireAfter!r}")
    if cfg.dcgmExporter and not cfg.prometheus:
        _fail("dcgmExporter", "needs prometheus: true (its ServiceMonitor and dashboard live there)")
    if not re.fullmatch(r"[0-9]+[smhdwy]", cfg.prometheusRetention):
        _fail("prometheusRetention", f"must be a Prometheus duration like 15d; got {cfg.prometheusRetention!r}")
    _check_quantity("kueueCpuQuota", cfg.kueueCpuQuota)
    _check_quantity("kueueMemoryQuota", cfg.kueueMemoryQuota)

    # -- teams and workloads
    teams = {}
    for name, team in cfg.teams.items():
        path = f"teams.{name}"
        if not _NS_RE.match(name) or name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            _fail(path, "team names become namespaces: lowercase DNS label, not a system namespace")
        group = team.group or f"{name}-developers"
        if group.startswith("system:"):
            _fail(f"{path}.group", "EKS access entries cannot use system: groups")
        if team.iamRoleArn and not _ROLE_ARN_RE.match(team.iamRoleArn):
            _fail(f"{path}.iamRoleArn", f"{team.iamRoleArn!r} is not an IAM role ARN")
        for key in ("cpu", "memory", "storage", "defaultCpuRequest", "defaultMemoryRequest", "defaultCpuLimit", "defaultMemoryLimit"):
            _check_quantity(f"{path}.{key}", getattr(team, key))
        if parse_quantity(team.defaultCpuRequest) > parse_quantity(team.defaultCpuLimit):
            _fail(f"{path}.defaultCpuRequest", "is larger than defaultCpuLimit")
        if parse_quantity(team.defaultMemoryRequest) > parse_quantity(team.defaultMemoryLimit):
            _fail(f"{path}.defaultMemoryRequest", "is larger than defaultMemoryLimit")
        for key in ("gpu", "pvcs"):
            if getattr(team, key) < 0:
                _fail(f"{path}.{key}", f"must be >= 0; got {getattr(team, key)}")
        teams[name] = dataclasses.replace(team, group=group)

    fargate_ns = cfg.fargate_namespaces()
    gpu_capacity = bool([g for g in groups.values() if g.role == "gpu"]) or (cfg.karpenter and cfg.karpenterGpuLimit > 0)
    endpoints = {}
    for name, ep in cfg.inferenceEndpoints.items():
        path = f"inferenceEndpoints.{name}"
        if not _NAME_RE.match(name):
            _fail(path, "endpoint names must be lowercase letters, digits and '-', at most 32 characters")
        if ep.team not in teams:
            _fail(f"{path}.team", f"{ep.team!r} is not a team in teams")
        image = ep.image or versions.IMAGES["gpu-inference" if ep.gpus else "cpu-inference"]
        _check_image(f"{path}.image", image)
        _check_quantity(f"{path}.cpu", ep.cpu)
        _check_quantity(f"{path}.memory", ep.memory)
        if ep.gpus < 0:
            _fail(f"{path}.gpus", f"must be >= 0; got {ep.gpus}")
        if ep.placement == "fargate":
            if ep.gpus:
                _fail(f"{path}.placement", "Fargate has no GPUs; use placement gpu")
            if ep.team not in fargate_ns:
                _fail(f"{path}.placement", f"namespace {ep.team!r} is not matched by any Fargate profile")
        if ep.placement == "gpu" and ep.gpus < 1:
            _fail(f"{path}.gpus", "placement gpu needs gpus >= 1")
        if ep.placement != "gpu" and ep.gpus:
            _fail(f"{path}.placement", "an endpoint with gpus must use placement gpu")
        if ep.enabled and ep.gpus and not gpu_capacity:
            _fail(f"{path}.gpus", "no GPU capacity: add a gpu node group or enable karpenter")
        if not 1 <= ep.replicas <= ep.maxReplicas:
            _fail(f"{path}.maxReplicas", f"must be >= replicas ({ep.replicas}) and replicas >= 1; got {ep.maxReplicas}")
        if not 1 <= ep.port <= 65535:
            _fail(f"{path}.port", f"must be a TCP port; got {ep.port}")
        if not ep.healthPath.startswith("/"):
            _fail(f"{path}.healthPath", "must start with /")
        if not 1 <= ep.targetUtilization <= 100:
            _fail(f"{path}.targetUtilization", f"must be 1..100; got {ep.targetUtilization}")
        if bool(ep.customMetric) != bool(ep.customMetricTarget):
            _fail(f"{path}.customMetricTarget", "customMetric and customMetricTarget go together")
        if ep.customMetricTarget:
            _check_quantity(f"{path}.customMetricTarget", ep.customMetricTarget)
        if ep.exposure != "none" and not cfg.lbController:
            _fail(f"{path}.exposure", "needs lbController: true")
        if not ep.internal and ep.exposure == "none":
            _fail(f"{path}.internal", "is false but exposure is none")
        if not ep.internal and not ep.certificateArn:
            _fail(f"{path}.certificateArn", "external endpoints must terminate TLS; set an ACM certificate ARN")
        if ep.certificateArn and not _ACM_ARN_RE.match(ep.certificateArn):
            _fail(f"{path}.certificateArn", f"{ep.certificateArn!r} is not an ACM certificate ARN")
        endpoints[name] = dataclasses.replace(ep, image=image, modelPrefix=ep.modelPrefix or f"models/{name}/")

    jobs = {}
    for name, job in cfg.trainingJobs.items():
        path = f"trainingJobs.{name}"
        if not _NAME_RE.match(name):
            _fail(path, "job names must be lowercase letters, digits and '-', at most 32 characters")
        if job.team not in teams:
            _fail(f"{path}.team", f"{job.team!r} is not a team in teams")
        if job.kind == "TrainJob" and not cfg.trainer:
            _fail(f"{path}.kind", "TrainJob needs trainer: true")
        if job.kind == "PyTorchJob" and not cfg.legacyTrainingOperator:
            _fail(f"{path}.kind", "PyTorchJob needs legacyTrainingOperator: true")
        if job.volume == "fsx" and not cfg.fsxLustre:
            _fail(f"{path}.volume", "fsx needs fsxLustre: true")
        if job.volume == "efs" and not cfg.efsCsi:
            _fail(f"{path}.volume", "efs needs efsCsi: true")
        if job.nodes < 1:
            _fail(f"{path}.nodes", f"must be >= 1; got {job.nodes}")
        if job.gpusPerNode < 0:
            _fail(f"{path}.gpusPerNode", f"must be >= 0; got {job.gpusPerNode}")
        if job.enabled and job.gpusPerNode and not gpu_capacity:
            _fail(f"{path}.gpusPerNode", "no GPU capacity: add a gpu node group or enable karpenter")
        if not job.command:
            _fail(f"{path}.command", "must not be empty")
        _check_quantity(f"{path}.cpu", job.cpu)
        _check_quantity(f"{path}.memory", job.memory)
        image = job.image or versions.IMAGES["pytorch-train"]
        _check_image(f"{path}.image", image)
        if job.script:
            script = os.path.join(project_dir, job.script)
            if not os.path.isfile(script):
                _fail(f"{path}.script", f"file {job.script!r} does not exist")
            # ConfigMaps hold at most 1 MiB; a training entry point bigger than this belongs in the image.
            if os.path.getsize(script) > 512 * 1024:
                _fail(f"{path}.script", "is larger than 512 KiB; bake it into the image instead")
        jobs[name] = dataclasses.replace(job, image=image)

    for name, wl in cfg.existingWorkloads.items():
        path = f"existingWorkloads.{name}"
        if not _NAME_RE.match(name):
            _fail(path, "workload names must be lowercase letters, digits and '-'")
        if wl.team not in teams:
            _fail(f"{path}.team", f"{wl.team!r} is not a team in teams")
        if wl.source == "helm" and bool(wl.path) == bool(wl.chart):
            _fail(f"{path}.chart", "helm sources take either path (local chart) or chart (remote), not both")
        if wl.source != "helm" and not wl.path:
            _fail(f"{path}.path", f"is required for source {wl.source}")
        if wl.path and not os.path.isdir(os.path.join(project_dir, wl.path)):
            _fail(f"{path}.path", f"directory {wl.path!r} does not exist")
        if wl.source in ("manifests", "kustomize"):
            # Parsed now, before any resource exists: unreadable YAML, cluster-scoped objects or another
            # pinned namespace stop the program here, naming the key (rules in components/workloads/sources.py).
            from pathlib import Path

            from components.workloads import sources

            try:
                if wl.source == "manifests":
                    sources.load_manifests(Path(project_dir, wl.path), wl.team)
                else:
                    sources.check_kustomization(Path(project_dir, wl.path), wl.team)
            except sources.SourceError as exc:
                _fail(f"{path}.path", str(exc))
        if wl.chart and not (wl.repository and wl.version):
            _fail(f"{path}.version", "remote charts need repository and an exact version")

    for k, v in cfg.tags.items():
        if not 1 <= len(k) <= 128 or k.startswith("aws:"):
            _fail(f"tags.{k}", "AWS tag keys are 1-128 characters and may not start with aws:")
        if len(v) > 256:
            _fail(f"tags.{k}", "AWS tag values are at most 256 characters")

    resolved = dataclasses.replace(
        cfg,
        nodeGroups=types.MappingProxyType(groups),
        teams=types.MappingProxyType(teams),
        inferenceEndpoints=types.MappingProxyType(endpoints),
        trainingJobs=types.MappingProxyType(jobs),
    )
    # Capacity coherence (components/planning/capacity.py): errors stop here, warnings print and go on.
    for finding in capacity.findings(resolved):
        if finding.error:
            _fail(finding.key, finding.reason)
        pulumi.log.warn(f"config {finding}")
    return resolved


# --------------------------------------------------------------------------- loading


def load_config(
    values: Mapping[str, Any],
    *,
    stack: str,
    project: str = PROJECT,
    project_dir: Optional[str] = None,
) -> StackConfig:
    """Decode and validate raw config ``values`` (keys without the namespace).

    Values may be Python objects or the strings Pulumi stores (JSON for lists
    and maps). Raises :class:`ConfigError` on the first problem.
    """
    cfg = _decode_dataclass(StackConfig, dict(values), "", extra={"project": project, "stack": stack})
    return _validate(cfg, project_dir or os.getcwd())


def load_stack_config() -> StackConfig:
    """Read this stack's config from the Pulumi runtime and validate it."""
    project = pulumi.get_project()
    prefix = f"{project}:"
    raw: dict[str, Any] = {}
    known = {f.metadata["key"]: f for f in config_fields()}
    env = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    for full_key in sorted(env):
        if full_key.startswith(prefix) and full_key[len(prefix):] not in known:
            key = full_key[len(prefix):]
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(key, f"unknown setting{hint}")
    for key, f in known.items():
        value = pulumi.runtime.get_config(prefix + key)
        if value is not None:
            raw[key] = value
    return load_config(raw, stack=pulumi.get_stack(), project=project)


def secret_keys() -> tuple[str, ...]:
    """Config keys that must be set with ``--secret``."""
    return tuple(f.metadata["key"] for f in config_fields() if f.metadata.get("secret"))


# --------------------------------------------------------------------------- documentation


def _pulumi_type(tp: Any) -> Optional[dict]:
    """Pulumi project-schema declaration for a field type, or None for objects (the schema has no object type)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
        origin = typing.get_origin(tp)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is str or origin is Literal:
        return {"type": "string"}
    if origin is tuple:
        inner = _pulumi_type(typing.get_args(tp)[0])
        return {"type": "array", "items": inner} if inner else None
    return None


def type_name(tp: Any) -> str:
    """Human-readable type of a config field, for the README."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        return type_name([a for a in args if a is not type(None)][0])
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args if a != "")
    if origin is tuple:
        return f"list of {type_name(args[0])}"
    if origin is collections.abc.Mapping:
        return f"map of name → {type_name(args[1])}"
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    return {bool: "boolean", int: "integer", str: "string"}.get(tp, str(tp))


def project_config_declarations() -> tuple[dict, list[tuple[str, str]]]:
    """(``config:`` block for Pulumi.yaml, [(object key, description)]) from the fields above."""
    hints = typing.get_type_hints(StackConfig)
    declared: dict[str, dict] = {}
    objects: list[tuple[str, str]] = []
    for f in config_fields(StackConfig):
        key, doc = f.metadata["key"], f.metadata["doc"]
        decl = _pulumi_type(hints[f.name])
        if decl is None:
            objects.append((key, f"{type_name(hints[f.name])}. {doc}"))
            continue
        entry = {**decl, "description": doc}
        if f.metadata.get("secret"):
            entry["secret"] = True
        declared[key] = entry
    return declared, objects
