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
import contextlib
import dataclasses
import difflib
import functools
import json
import math
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
from components.planning import regions
from components.planning.quantity import check_quantity, format_quantity, parse_quantity

PROJECT = "mlplatform"

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


class ConfigError(pulumi.RunError):
    """Invalid config. ``str()`` is one line per error: ``invalid config <key>: <reason>``.

    ``key``/``reason`` are the (first) error's; ``errors`` holds every error found in one run, in
    order (a single error holds just itself). ``pulumi up`` prints the lines and no traceback; the
    offline plan prints each line and exits 2.
    """

    def __init__(self, key: str, reason: str, *, errors: Optional[typing.Sequence["ConfigError"]] = None) -> None:
        self.key = key
        self.reason = reason
        self.errors: tuple[ConfigError, ...] = tuple(errors) if errors else (self,)
        super().__init__("\n".join(f"invalid config {e.key}: {e.reason}" for e in self.errors))

    @classmethod
    def combine(cls, errors: typing.Iterable["ConfigError"]) -> "ConfigError":
        """One ConfigError for ``errors`` (flattened, duplicates dropped, order kept)."""
        flat: dict[tuple[str, str], ConfigError] = {}
        for e in errors:
            for one in e.errors:
                flat.setdefault((one.key, one.reason), one)
        items = list(flat.values())
        if not items:
            raise ValueError("no errors to combine")
        if len(items) == 1:
            return items[0]
        return cls(items[0].key, items[0].reason, errors=items)


# --------------------------------------------------------------------------- limits
# Real limits the checks below use, each with its source. Declared once; the config reference
# (``make docs``) shows them beside each key.

#: Kubernetes "Considerations for large clusters" (kubernetes.io/docs/setup/best-practices/cluster-large):
#: at most 5,000 nodes and 150,000 pods per cluster.
MAX_CLUSTER_NODES = 5_000
MAX_CLUSTER_PODS = 150_000
#: EKS service quotas (docs.aws.amazon.com/eks/latest/userguide/service-quotas.html): managed node
#: groups per cluster, nodes per managed node group, Fargate profiles per cluster, selectors per
#: profile, label pairs per selector, public endpoint CIDR ranges per cluster.
MAX_MANAGED_NODE_GROUPS = 30
MAX_MANAGED_GROUP_NODES = 450
MAX_FARGATE_PROFILES = 10
MAX_FARGATE_SELECTORS = 5
MAX_FARGATE_SELECTOR_LABELS = 5
MAX_PUBLIC_ACCESS_CIDRS = 40
#: EKS CreateNodegroup (botocore's EKS model; tests/test_config_limits.py reads it): instanceTypes
#: 0-20, label keys/values 1-63 characters, taint keys 1-63 and values 0-63, at most 50 taints.
MAX_INSTANCE_TYPES_PER_GROUP = 20
EKS_LABEL_KEY_MAX = 63
EKS_LABEL_VALUE_MAX = 63
EKS_TAINT_KEY_MAX = 63
EKS_TAINT_VALUE_MAX = 63
MAX_TAINTS_PER_GROUP = 50
#: Amazon EBS volume types (docs.aws.amazon.com/ebs/latest/userguide/ebs-volume-types.html):
#: gp3 volumes are 1 GiB to 16 TiB.
EBS_GP3_MAX_GIB = 16_384
#: The largest EC2 instances (u7in-32tb.224xlarge: 896 vCPUs, 32 TiB): one pod can never ask for more.
MAX_INSTANCE_VCPUS = 896
MAX_INSTANCE_MEMORY = Decimal(32 * 2**40)
#: NVIDIA GPUs on the largest GPU instance in the instance table (p5/p6 and g6e.48xlarge: 8).
MAX_GPUS_PER_NODE = max(n for t, n in instances.ACCELERATOR_COUNT.items() if instances.is_gpu(t))
#: AWS tagging (docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html): 50 tags per resource,
#: keys 1-128 and values 0-256 Unicode letters, digits, whitespace and ``_ . : / = + - @``; ``aws:`` is
#: reserved. The platform adds up to 10 of its own (base tags, Name, cluster and autoscaler discovery).
MAX_USER_TAGS = 40
#: Kubernetes ``int32`` fields (replicas, ports, HPA bounds).
INT32_MAX = 2**31 - 1
#: Go's time.Duration (what Karpenter parses expireAfter into) tops out at about 2,562,047 hours.
MAX_GO_DURATION_HOURS = 2_562_047
#: FSx for Lustre PERSISTENT_2: 1,200 GiB or multiples of 2,400 GiB; the cap is a sanity bound (~1 PiB).
FSX_MAX_GIB = 2_400 * 437


# --------------------------------------------------------------------------- checks


class Check:
    """A constraint on one config value: ``apply`` returns the (normalized) value or raises ValueError
    with the reason; ``describe`` is what the generated config reference shows."""

    def apply(self, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class IntRange(Check):
    """An integer between ``lo`` and ``hi`` (inclusive); ``why`` cites the limit."""

    lo: int
    hi: int
    why: str = ""

    def apply(self, value: Any) -> Any:
        if not self.lo <= value <= self.hi:
            raise ValueError(f"must be between {self.lo:,} and {self.hi:,}{f' ({self.why})' if self.why else ''}; "
                             f"got {value:,}" if abs(value) < 10**30 else f"must be between {self.lo:,} and "
                             f"{self.hi:,}; got a {len(str(abs(value)))}-digit number")
        return value

    def describe(self) -> str:
        return f"{self.lo:,}..{self.hi:,}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class OneOf(Check):
    """One of a fixed set of values (``why`` cites where the set comes from)."""

    values: tuple
    why: str = ""

    def apply(self, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"must be one of {', '.join(map(str, self.values))}; got {value}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.values)) + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class QuantityCheck(Check):
    """A positive Kubernetes quantity of ``kind`` (cpu: millicore precision; bytes: whole bytes)."""

    kind: str
    maximum: Optional[Decimal] = None
    why: str = ""

    def apply(self, value: Any) -> Any:
        return check_quantity(value, self.kind, maximum=self.maximum)  # type: ignore[arg-type]

    def describe(self) -> str:
        what = {"cpu": "CPU quantity (e.g. 500m, 2)", "bytes": "byte quantity (e.g. 512Mi, 16Gi), whole bytes",
                "number": "quantity"}[self.kind]
        top = f", at most {format_quantity(self.maximum, self.kind)}" if self.maximum is not None else ""  # type: ignore[arg-type]
        return f"{what} > 0{top}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Text(Check):
    """A string checked by ``fn`` (returns the normalized text or raises ValueError); ``what`` documents it."""

    fn: typing.Callable[[str], str]
    what: str

    def apply(self, value: Any) -> Any:
        return self.fn(value)

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class Items(Check):
    """A list: ``min``..``max`` entries, no duplicates (unless ``unique`` is False), each checked by ``each``."""

    each: Optional[Check] = None
    min: int = 0
    max: Optional[int] = None
    unique: bool = True
    why: str = ""

    def describe(self) -> str:
        parts = []
        if self.min:
            parts.append(f"at least {self.min}")
        if self.max is not None:
            parts.append(f"at most {self.max}" + (f" ({self.why})" if self.why else ""))
        if self.unique:
            parts.append("no duplicates")
        if self.each is not None:
            parts.append(f"each {self.each.describe()}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Entries(Check):
    """A map: at most ``max`` entries, keys checked by ``keys`` and values by ``values``."""

    keys: Optional[Check] = None
    values: Optional[Check] = None
    max: Optional[int] = None
    why: str = ""

    def describe(self) -> str:
        parts = []
        if self.max is not None:
            parts.append(f"at most {self.max} entries" + (f" ({self.why})" if self.why else ""))
        if self.keys is not None:
            parts.append(f"names: {self.keys.describe()}")
        if self.values is not None:
            parts.append(f"values: {self.values.describe()}")
        return "; ".join(parts)


def _text(pattern: str, what: str, *, max_len: Optional[int] = None, strip: bool = True) -> Text:
    rx = re.compile(pattern)

    def fn(value: str) -> str:
        v = value.strip() if strip else value
        if not v:
            raise ValueError(f"must not be empty ({what})")
        if max_len is not None and len(v) > max_len:
            raise ValueError(f"is {len(v)} characters; at most {max_len} ({what})")
        if not rx.fullmatch(v):
            raise ValueError(f"{value!r} is not a valid {what}")
        return v

    return Text(fn, what + (f", at most {max_len} characters" if max_len else ""))


def _raise(reason: str) -> typing.NoReturn:
    raise ValueError(reason)


def _dns_label(max_len: int = 63) -> Text:
    return _text(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "DNS-1123 label: lowercase letters, digits and '-', "
                 "starting and ending with a letter or digit", max_len=max_len)


DNS_LABEL = _dns_label()
#: Node group, endpoint, job, workload and profile names become parts of longer resource names.
SHORT_NAME = _text(r"[a-z]([-a-z0-9]*[a-z0-9])?", "lowercase letters, digits and '-', starting with a letter",
                   max_len=32)
DNS_SUBDOMAIN = _text(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                      "DNS-1123 subdomain (lowercase, digits, '-' and '.')", max_len=253)
ROLE_ARN = _text(r"arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}", "IAM role ARN")
ACM_ARN = _text(r"arn:(aws|aws-cn|aws-us-gov):acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}",
                "ACM certificate ARN")
AMI_ID = _text(r"ami-[0-9a-f]{8}([0-9a-f]{9})?", "AMI ID (ami-xxxxxxxx or ami-xxxxxxxxxxxxxxxxx)")
IMAGE = _text(r"[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})",
              "registry/repository:tag or @sha256 digest")
CPU = QuantityCheck("cpu", Decimal(MAX_INSTANCE_VCPUS), "the largest EC2 instance")
MEMORY = QuantityCheck("bytes", MAX_INSTANCE_MEMORY, "the largest EC2 instance")
CPU_QUOTA = QuantityCheck("cpu", Decimal(MAX_CLUSTER_NODES * MAX_INSTANCE_VCPUS), "5,000 nodes of the largest instance")
MEMORY_QUOTA = QuantityCheck("bytes", MAX_CLUSTER_NODES * MAX_INSTANCE_MEMORY, "5,000 nodes of the largest instance")
STORAGE_QUOTA = QuantityCheck("bytes", None, "int64 bytes")
GPU_COUNT = IntRange(0, MAX_CLUSTER_NODES * MAX_GPUS_PER_NODE, "5,000 nodes x 8 GPUs")


def _go_duration(allow_never: bool) -> Text:
    rx = re.compile(r"(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?")

    def fn(value: str) -> str:
        v = value.strip()
        if allow_never and v == "Never":
            return v
        m = rx.fullmatch(v)
        if not v or not m:
            raise ValueError(f"must be a duration like 720h or 1h30m{' or Never' if allow_never else ''}; got {value!r}")
        h, mi, se = (int(m.group(i) or 0) for i in (2, 4, 6))
        hours = h + mi / 60 + se / 3600
        if hours <= 0:
            raise ValueError("must be longer than zero (a zero lifetime replaces nodes as soon as they join)")
        if hours > MAX_GO_DURATION_HOURS:
            raise ValueError(f"is longer than Go's maximum duration (~{MAX_GO_DURATION_HOURS:,}h)")
        return v

    return Text(fn, "duration in h/m/s, > 0" + (", or Never" if allow_never else ""))


def _prom_duration(value: str) -> str:
    v = value.strip()
    m = re.fullmatch(r"([0-9]+)(ms|s|m|h|d|w|y)", v)
    if not m:
        raise ValueError(f"must be a Prometheus duration like 15d; got {value!r}")
    if int(m.group(1)) == 0:
        raise ValueError("must be longer than zero")
    if int(m.group(1)) > 10**9:
        raise ValueError(f"{value!r} is out of range")
    return v


#: IPv4 ranges that are never a network a VPC, a client or the internet can use (RFC 6890 registry).
_NON_ROUTABLE = tuple(cidr_plan.parse_ipv4_cidr(c) for c in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
))
#: Ranges that are not public: private (RFC 1918), shared/CGNAT (RFC 6598), benchmarking (RFC 2544).
_NON_PUBLIC = _NON_ROUTABLE + tuple(cidr_plan.parse_ipv4_cidr(c) for c in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15", "192.0.0.0/24",
))


def _cidr(value: str, *, public: bool) -> str:
    v = value.strip()
    net = cidr_plan.parse_ipv4_cidr(v)
    if public and net.prefixlen == 0:
        raise ValueError("0.0.0.0/0 opens the API server to the whole internet")
    bad = _NON_PUBLIC if public else _NON_ROUTABLE
    for r in bad:
        if net.overlaps(r):
            what = "loopback" if r.is_loopback else "link-local" if r.is_link_local else "multicast" if r.is_multicast \
                else "reserved" if (r.is_reserved or str(r).startswith(("0.", "255."))) else "private or shared"
            raise ValueError(f"{v} overlaps {r} ({what}){' and is not a public range' if public else ''}")
    return v


VPC_CIDR = Text(lambda v: _cidr(v, public=False),
                "IPv4 CIDR, no 0.0.0.0/8, loopback, link-local, multicast or reserved space")
PUBLIC_CIDR = Text(lambda v: _cidr(v, public=True),
                   "public IPv4 CIDR (no private, shared 100.64/10, loopback, link-local, multicast or reserved space)")


def _path_text(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() or ord(c) < 32 for c in value) or len(value) > 1024:
        raise ValueError(f"must be a URL path starting with / without spaces, at most 1,024 characters; got {value!r}")
    return value


def _s3_prefix(value: str) -> str:
    v = value.strip()
    if not v:
        return v
    if v.startswith("/") or not v.endswith("/") or any(ord(c) < 32 for c in v) or len(v.encode()) > 1024 \
            or "//" in v:
        raise ValueError(f"must be an S3 key prefix like models/name/ (no leading /, ends with /); got {value!r}")
    return v


def _optional(check: Check, what: str = "") -> Text:
    """Empty (the default applies), or else ``check``: the shape of every optional text setting."""
    return Text(lambda v: check.apply(v) if v.strip() else "", f"empty or {what or check.describe()}")


def _nonblank(what: str) -> Text:
    def fn(value: str) -> str:
        if not value.strip():
            raise ValueError(f"must not be empty or blank ({what})")
        if any(ord(c) < 32 and c not in "\t" for c in value):
            raise ValueError(f"holds control characters ({what})")
        return value

    return Text(fn, f"non-empty {what}")


_AWS_TAG_PUNCT = set("_.:/=+-@ ")


def _aws_tag_text(value: str, *, key: bool) -> str:
    import unicodedata

    limit = 128 if key else 256
    if key and not value:
        raise ValueError("AWS tag keys are 1-128 characters")
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters; AWS tag {'keys' if key else 'values'} take at most {limit}")
    for c in value:
        if c in _AWS_TAG_PUNCT or unicodedata.category(c)[0] in "LNZ":
            continue
        raise ValueError(f"{value!r} holds {c!r}; AWS tags take letters, digits, spaces and _ . : / = + - @")
    if key and value.lower().startswith("aws:"):
        raise ValueError("AWS tag keys may not start with aws: (reserved for AWS)")
    return value


TAG_KEY = Text(lambda v: _aws_tag_text(v, key=True), "AWS tag key: 1-128 letters, digits, spaces, _ . : / = + - @; not aws:")
TAG_VALUE = Text(lambda v: _aws_tag_text(v, key=False), "AWS tag value: 0-256 of the same characters")

#: Label prefixes the kubelet lets a node set on itself (--node-labels); every other kubernetes.io or
#: k8s.io label is refused at registration (kubernetes/kubernetes pkg/kubelet/apis: IsKubeletLabel).
_KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/arch",
    "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type",
})
_LABEL_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _label_key(value: str, *, node: bool = False, max_len: Optional[int] = None) -> str:
    """Kubernetes qualified name (``prefix/name``); ``node``: also refuse what the kubelet refuses."""
    prefix, _, name = value.rpartition("/")
    if "/" in value and (not prefix or len(prefix) > 253 or not _LABEL_PREFIX_RE.fullmatch(prefix)):
        raise ValueError(f"{value!r} is not a valid label key (prefix must be a DNS subdomain)")
    if not _LABEL_NAME_RE.fullmatch(name):
        raise ValueError(f"{value!r} is not a valid label key (name: 1-63 letters, digits, '-', '_', '.', "
                         f"starting and ending alphanumeric)")
    if max_len is not None and len(value) > max_len:
        raise ValueError(f"{value!r} is {len(value)} characters; EKS takes at most {max_len}")
    if node and prefix and (prefix in ("kubernetes.io", "k8s.io") or prefix.endswith((".kubernetes.io", ".k8s.io"))):
        if value not in _KUBELET_LABELS and not any(prefix == ns or prefix.endswith("." + ns)
                                                    for ns in _KUBELET_LABEL_NAMESPACES):
            raise ValueError(f"{value!r} uses a reserved kubernetes.io/k8s.io prefix the kubelet refuses to set; "
                             f"use your own prefix or node.kubernetes.io/")
    return value


def _label_value(value: str, *, allow_empty: bool = True, max_len: int = 63) -> str:
    if value == "" and allow_empty:
        return value
    if len(value) > max_len or not _LABEL_NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid label value (1-63 letters, digits, '-', '_', '.', "
                         f"starting and ending alphanumeric)")
    return value


LABEL_KEY = Text(_label_key, "Kubernetes label key ([prefix/]name)")
LABEL_VALUE = Text(_label_value, "Kubernetes label value (0-63 characters)")
NODE_LABEL_KEY = Text(lambda v: _label_key(v, node=True, max_len=EKS_LABEL_KEY_MAX),
                      f"label key of at most {EKS_LABEL_KEY_MAX} characters; no kubernetes.io/k8s.io prefix the kubelet refuses")
NODE_LABEL_VALUE = Text(lambda v: _label_value(v, allow_empty=False, max_len=EKS_LABEL_VALUE_MAX),
                        f"label value of 1-{EKS_LABEL_VALUE_MAX} characters")
INSTANCE_TYPE = Text(instances.check_instance_type, "an EC2 instance type in botocore's EC2 model")
CUSTOM_METRIC = _text(r"[a-zA-Z_:][a-zA-Z0-9_:]*", "Prometheus metric name", max_len=200)
CHART_NAME = _text(r"[a-z0-9]([-a-z0-9._]*[a-z0-9])?", "Helm chart name", max_len=253)
CHART_VERSION = _text(r"v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", "exact SemVer version (no ranges)")
REPO_URL = _text(r"(https|oci)://[^\s]+", "https:// or oci:// URL")
K8S_GROUP = _text(r"[^\s]+", "Kubernetes group name without spaces", max_len=255)


def setting(key: str, doc: str, default: Any = dataclasses.MISSING, *, secret: bool = False,
            check: Optional[Check] = None) -> Any:
    """A dataclass field bound to a config key, with its documentation and its ``check``.

    ``check`` is declared here, beside the key, once: decoding applies it (the value the program uses is
    the one it returns, e.g. stripped) and the generated config reference shows ``check.describe()``.
    """
    md = {"key": key, "doc": doc, "secret": secret, "check": check}
    if isinstance(default, (dict, list)):
        frozen = types.MappingProxyType(dict(default)) if isinstance(default, dict) else tuple(default)
        return field(default_factory=lambda: frozen, metadata=md)
    # Secrets stay out of repr() so a logged config never leaks them.
    return field(default=default, metadata=md, repr=not secret)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class TaintConfig:
    """An extra Kubernetes taint for a node group (the GPU taint is added automatically)."""

    key: str = setting("key", "Taint key.", check=Text(lambda v: _label_key(v.strip(), max_len=EKS_TAINT_KEY_MAX),
                       f"Kubernetes qualified name, at most {EKS_TAINT_KEY_MAX} characters (EKS)"))
    value: str = setting("value", "Taint value.", "", check=Text(lambda v: _label_value(v.strip(), max_len=EKS_TAINT_VALUE_MAX),
                         f"empty or a label value, at most {EKS_TAINT_VALUE_MAX} characters (EKS)"))
    effect: Literal["NoSchedule", "NoExecute", "PreferNoSchedule"] = setting(
        "effect", "Taint effect.", "NoSchedule"
    )


@dataclass(frozen=True)
class NodeGroupConfig:
    """One node pool. Keyed by name in ``nodeGroups`` so its URN never depends on list order."""

    instanceTypes: tuple[str, ...] = setting(
        "instanceTypes", "EC2 instance types; one family class per pool.",
        check=Items(INSTANCE_TYPE, min=1, max=MAX_INSTANCE_TYPES_PER_GROUP, why="EKS CreateNodegroup"),
    )
    maxSize: int = setting("maxSize", "Maximum node count.", check=IntRange(
        1, MAX_CLUSTER_NODES, f"nodes per cluster; managed groups: {MAX_MANAGED_GROUP_NODES}, the EKS quota"))
    minSize: int = setting("minSize", "Minimum node count; 0 lets GPU pools scale to zero.", 0,
                           check=IntRange(0, MAX_CLUSTER_NODES))
    desiredSize: Optional[int] = setting(
        "desiredSize", "Initial node count (defaults to minSize; ignored after creation).", None,
        check=IntRange(0, MAX_CLUSTER_NODES),
    )
    kind: Literal["managed", "self-managed"] = setting(
        "kind", "EKS managed node group, or a self-managed group for bring-your-own AMIs.", "managed"
    )
    role: Literal["system", "cpu", "gpu", ""] = setting(
        "role", "system (critical add-ons, on-demand), cpu or gpu; derived from the instance type when empty.", ""
    )
    amiType: str = setting("amiType", "EKS AMI type (AL2023_*/BOTTLEROCKET_*); chosen per instance family when empty.", "")
    amiId: str = setting("amiId", "AMI ID for a self-managed group (required there, refused for managed ones).", "",
                         check=AMI_ID)
    capacityType: Literal["ON_DEMAND", "SPOT"] = setting("capacityType", "ON_DEMAND or SPOT.", "ON_DEMAND")
    diskSizeGiB: int = setting("diskSizeGiB", "Root volume size; 0 picks 50 GiB (CPU) or 200 GiB (GPU).", 0,
                               check=IntRange(0, EBS_GP3_MAX_GIB, "0 = default; 20 GiB minimum; gp3 volumes are at most 16 TiB"))
    labels: Mapping[str, str] = setting("labels", "Extra Kubernetes node labels.", {},
                                        check=Entries(NODE_LABEL_KEY, NODE_LABEL_VALUE))
    taints: tuple[TaintConfig, ...] = setting("taints", "Extra taints.", [],
                                              check=Items(max=MAX_TAINTS_PER_GROUP, why="EKS", unique=False))
    efa: bool = setting("efa", "Attach EFA interfaces and a cluster placement group (single AZ).", False)


@dataclass(frozen=True)
class FargateSelectorConfig:
    """A Fargate profile selector: pods in ``namespace`` (with all ``labels``) run on Fargate."""

    namespace: str = setting("namespace", "Namespace whose pods run on Fargate.", check=DNS_LABEL)
    labels: Mapping[str, str] = setting("labels", "Pod labels that must also match.", {}, check=Entries(
        LABEL_KEY, LABEL_VALUE, max=MAX_FARGATE_SELECTOR_LABELS, why="EKS quota"))


@dataclass(frozen=True)
class FargateProfileConfig:
    """A Fargate profile (up to five selectors, as EKS allows)."""

    selectors: tuple[FargateSelectorConfig, ...] = setting("selectors", "Namespace/label selectors.", check=Items(
        min=1, max=MAX_FARGATE_SELECTORS, why="EKS quota", unique=False))


@dataclass(frozen=True)
class TeamConfig:
    """A tenant: a namespace with quota, limits, network isolation, RBAC and a Kueue queue."""

    group: str = setting("group", "Kubernetes group bound to the team Role (default <team>-developers).", "",
                         check=_optional(K8S_GROUP))
    iamRoleArn: str = setting("iamRoleArn", "IAM role mapped to the group through an EKS access entry.", "",
                              check=_optional(ROLE_ARN, "an IAM role ARN"))
    cpu: str = setting("cpu", "ResourceQuota for CPU requests and limits.", "16", check=CPU_QUOTA)
    memory: str = setting("memory", "ResourceQuota for memory requests and limits.", "64Gi", check=MEMORY_QUOTA)
    gpu: int = setting("gpu", "ResourceQuota for requests.nvidia.com/gpu.", 0, check=GPU_COUNT)
    pvcs: int = setting("pvcs", "Maximum PersistentVolumeClaims.", 10, check=IntRange(0, MAX_CLUSTER_PODS, "pods per cluster"))
    storage: str = setting("storage", "Maximum requested storage across PVCs.", "500Gi", check=STORAGE_QUOTA)
    podSecurity: Literal["restricted", "baseline"] = setting(
        "podSecurity", "Pod Security Admission level; baseline only for EFA/IPC_LOCK workloads.", "restricted"
    )
    defaultCpuRequest: str = setting("defaultCpuRequest", "LimitRange default CPU request.", "250m", check=CPU)
    defaultMemoryRequest: str = setting("defaultMemoryRequest", "LimitRange default memory request.", "512Mi",
                                        check=MEMORY)
    defaultCpuLimit: str = setting("defaultCpuLimit", "LimitRange default CPU limit.", "1", check=CPU)
    defaultMemoryLimit: str = setting("defaultMemoryLimit", "LimitRange default memory limit.", "1Gi", check=MEMORY)


@dataclass(frozen=True)
class AutoscalingConfig:
    """Metric-driven autoscaling through a KEDA ScaledObject (it replaces the endpoint's HPA).

    The trigger reads Prometheus (kube-prometheus-stack) when ``prometheus`` is
    on, otherwise CloudWatch. ``metric`` is a preset (``vllm-queue-depth``,
    ``gpu-utilization``) or a query: PromQL, or a CloudWatch Metrics Insights
    ``SELECT`` when Prometheus is off.
    """

    metric: str = setting("metric", "Preset (vllm-queue-depth, gpu-utilization) or a PromQL / Metrics Insights query.",
                          check=_nonblank("preset name or query"))
    target: int = setting(
        "target", "Target per replica (queries and vllm-queue-depth) or per-GPU percent (gpu-utilization).",
        check=IntRange(1, 2**31 - 1, "KEDA thresholds are positive"))
    minReplicas: Optional[int] = setting(
        "minReplicas", "Replica floor (default: the endpoint's replicas); 0 = scale to zero, development stacks only.",
        None, check=IntRange(0, MAX_CLUSTER_PODS, "pods per cluster"))
    maxReplicas: Optional[int] = setting("maxReplicas", "Replica ceiling (default: the endpoint's maxReplicas).", None,
                                         check=IntRange(1, MAX_CLUSTER_PODS, "pods per cluster"))
    cooldown: int = setting(
        "cooldown", "Seconds a lower metric must hold before scaling down (and before scaling to zero).", 300,
        check=IntRange(0, 86400, "one day"))


@dataclass(frozen=True)
class ModelConfig:
    """Where an endpoint's model comes from and where replicas keep it."""

    source: str = setting(
        "source", "s3://bucket/prefix/ or hf:<org>/<name>[@revision]; empty = modelPrefix in the data bucket.", "")
    cache: Literal["none", "efs", "fsx", "node"] = setting(
        "cache", "none (the server fetches it), efs or fsx (shared by all replicas), node (pod-local disk).", "none")
    sizeGiB: int = setting("sizeGiB", "Declared model size: sizes the startup budget and the node cache (0 = unknown).",
                           0, check=IntRange(0, 4096, "4 TiB"))


@dataclass(frozen=True)
class InferenceEndpointConfig:
    """A model-serving Deployment with Service, HPA or KEDA ScaledObject, PDB and optional load balancer."""

    team: str = setting("team", "Team namespace the endpoint runs in.", check=DNS_LABEL)
    enabled: bool = setting("enabled", "Create the endpoint (examples can ship switched off).", True)
    image: str = setting("image", "Pinned image; defaults to the versions table's CPU/GPU server.", "",
                         check=_optional(IMAGE))
    args: tuple[str, ...] = setting("args", "Container arguments.", [], check=Items(unique=False, max=1000))
    port: int = setting("port", "Container port serving HTTP.", 8080, check=IntRange(1, 65535, "TCP port"))
    healthPath: str = setting("healthPath", "HTTP path for probes and the load balancer health check.", "/healthz",
                              check=Text(_path_text, "URL path starting with /, at most 1,024 characters"))
    replicas: int = setting("replicas", "Minimum replicas (autoscaler floor).", 2,
                            check=IntRange(1, MAX_CLUSTER_PODS, "pods per cluster"))
    maxReplicas: int = setting("maxReplicas", "Autoscaler ceiling (with autoscaling: its maxReplicas).", 4,
                               check=IntRange(1, MAX_CLUSTER_PODS, "pods per cluster"))
    cpu: str = setting("cpu", "CPU request = limit.", "1", check=CPU)
    memory: str = setting("memory", "Memory request = limit.", "2Gi", check=MEMORY)
    gpus: int = setting("gpus", "NVIDIA GPUs per replica (requests = limits).", 0,
                        check=IntRange(0, MAX_GPUS_PER_NODE, "GPUs on the largest GPU instance"))
    placement: Literal["cpu", "gpu", "fargate"] = setting(
        "placement", "cpu nodes, gpu nodes, or Fargate (CPU only, namespace must match a profile).", "cpu"
    )
    exposure: Literal["alb", "nlb", "none"] = setting("exposure", "ALB Ingress, NLB Service, or cluster-only.", "alb")
    internal: bool = setting("internal", "Internal load balancer (external needs certificateArn).", True)
    certificateArn: str = setting("certificateArn", "ACM certificate ARN for HTTPS on external endpoints.", "",
                                  check=_optional(ACM_ARN, "an ACM certificate ARN"))
    hpaMetric: Literal["cpu", "memory", ""] = setting(
        "hpaMetric", "Resource metric the HPA scales on (cpu when unset); not with autoscaling.", "")
    targetUtilization: int = setting(
        "targetUtilization", "HPA target utilisation in percent (0 = 70); not with autoscaling.", 0,
        check=IntRange(0, 100, "percent"))
    customMetric: str = setting("customMetric", "Removed: use autoscaling (KEDA); kept to explain the move.", "")
    customMetricTarget: str = setting("customMetricTarget", "Removed with customMetric.", "")
    modelPrefix: str = setting("modelPrefix", "Key prefix in the model bucket (default models/<name>/).", "",
                               check=Text(_s3_prefix, "S3 key prefix ending in /, no leading /"))
    autoscaling: Optional[AutoscalingConfig] = setting(
        "autoscaling", "Scale on a model-server or GPU metric through KEDA instead of CPU/memory.", None)
    model: Optional[ModelConfig] = setting("model", "Model source, cache and declared size.", None)
    drainSeconds: int = setting(
        "drainSeconds", "Longest in-flight request to drain at shutdown (0 = 120 on GPU endpoints, 30 otherwise).", 0,
        check=IntRange(0, 3600, "one hour"))


@dataclass(frozen=True)
class TrainingJobConfig:
    """A distributed training job (Trainer v2 TrainJob, or legacy PyTorchJob)."""

    team: str = setting("team", "Team namespace (and Kueue LocalQueue) the job runs in.", check=DNS_LABEL)
    enabled: bool = setting("enabled", "Create the job.", True)
    kind: Literal["TrainJob", "PyTorchJob"] = setting("kind", "TrainJob (Trainer v2) or PyTorchJob (legacy).", "TrainJob")
    image: str = setting("image", "Pinned training image; defaults to the versions table.", "",
                         check=_optional(IMAGE))
    command: tuple[str, ...] = setting(
        "command",
        "Container command.",
        ["torchrun", "--nproc-per-node=auto", "/workspace/train.py"],
        check=Items(_nonblank("string"), min=1, max=1000, unique=False),
    )
    nodes: int = setting("nodes", "Number of nodes (pods).", 1, check=IntRange(1, MAX_CLUSTER_NODES, "nodes per cluster"))
    gpusPerNode: int = setting("gpusPerNode", "GPUs per node; requests = limits.", 1,
                               check=IntRange(0, MAX_GPUS_PER_NODE, "GPUs on the largest GPU instance"))
    cpu: str = setting("cpu", "CPU request = limit per node.", "4", check=CPU)
    memory: str = setting("memory", "Memory request = limit per node.", "16Gi", check=MEMORY)
    volume: Literal["efs", "fsx", "none"] = setting("volume", "Shared dataset/checkpoint volume.", "efs")
    runtime: str = setting("runtime", "ClusterTrainingRuntime name for TrainJobs.", "torch-distributed",
                           check=DNS_SUBDOMAIN)
    script: str = setting(
        "script", "Local Python file mounted as /workspace/train.py (via a ConfigMap); empty = the image has it.", ""
    )


@dataclass(frozen=True)
class ExistingWorkloadConfig:
    """Kubernetes workloads brought over as they are (manifests, kustomize or Helm)."""

    team: str = setting("team", "Team namespace the objects are applied into.", check=DNS_LABEL)
    source: Literal["manifests", "kustomize", "helm"] = setting("source", "Kind of source.")
    path: str = setting("path", "Directory (manifests/kustomize) or local chart path, relative to the project.", "",
                        check=Text(str.strip, "relative directory"))
    chart: str = setting("chart", "Remote chart name (helm, instead of path).", "",
                         check=_optional(CHART_NAME))
    repository: str = setting("repository", "Chart repository URL (remote charts).", "",
                              check=_optional(REPO_URL))
    version: str = setting("version", "Chart version (required for remote charts).", "",
                           check=_optional(CHART_VERSION))
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
    clusterName: str = setting("clusterName", "EKS cluster name (default ml-<stack>).", "", check=_optional(
        _text(r"[A-Za-z][A-Za-z0-9_-]*", "EKS cluster name: a letter, then letters, digits, '-' or '_'", max_len=100),
        "an EKS cluster name (empty: ml-<stack>): a letter, then letters, digits, '-' or '_', at most 100"))
    kubernetesVersion: str = setting(
        "kubernetesVersion", "Kubernetes minor version; must be in the supported list.", versions.DEFAULT_KUBERNETES_VERSION,
        check=Text(lambda v: v.strip() if v.strip() in versions.SUPPORTED_KUBERNETES_VERSIONS else _raise(
            f"{v!r} is not supported; use one of {', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)}"),
            "one of " + ", ".join(versions.SUPPORTED_KUBERNETES_VERSIONS)),
    )
    endpointPublicAccess: bool = setting(
        "endpointPublicAccess", "Expose the API server publicly (private endpoint is always on).", False
    )
    publicAccessCidrs: tuple[str, ...] = setting(
        "publicAccessCidrs", "CIDRs allowed to reach a public endpoint; required when it is on, never 0.0.0.0/0.", [],
        check=Items(PUBLIC_CIDR, max=MAX_PUBLIC_ACCESS_CIDRS, why="EKS quota"),
    )
    adminRoleArns: tuple[str, ...] = setting(
        "adminRoleArns", "IAM roles given AmazonEKSClusterAdminPolicy through access entries.", [],
        check=Items(ROLE_ARN),
    )
    readOnlyRoleArns: tuple[str, ...] = setting(
        "readOnlyRoleArns", "IAM roles given AmazonEKSViewPolicy through access entries.", [],
        check=Items(ROLE_ARN),
    )
    logRetentionDays: int = setting("logRetentionDays", "CloudWatch retention for control-plane and flow logs.", 90,
                                    check=OneOf(LOG_RETENTION_DAYS, "CloudWatch Logs PutRetentionPolicy"))
    deletionProtection: bool = setting("deletionProtection", "EKS deletion protection.", True)
    protectData: bool = setting(
        "protectData", "Protect EFS/FSx and the data bucket from deletion and retain them on destroy.", True
    )
    environmentType: Literal["production", "development"] = setting(
        "environmentType", "development relaxes what only a throwaway stack may do (endpoints scaling to zero).",
        "production"
    )
    dataBucketName: str = setting(
        "dataBucketName", "S3 name of the data bucket (default <cluster>-data-<account>-<region>); set it to keep "
        "an existing bucket.", ""
    )

    # network
    vpcCidr: str = setting("vpcCidr", "VPC CIDR.", "10.0.0.0/16", check=VPC_CIDR)
    azCount: int = setting("azCount", "Availability zones to span (2..6).", 3,
                           check=IntRange(2, 6, "and no more than aws:region has"))
    natStrategy: Literal["single", "one-per-az"] = setting(
        "natStrategy", "One shared NAT gateway (cheap) or one per AZ (zonal resilience).", "one-per-az"
    )
    privateSubnetPrefix: int = setting("privateSubnetPrefix", "Private subnet prefix length (0 = auto).", 0,
                                       check=IntRange(0, cidr_plan.SMALLEST_SUBNET_PREFIX, "0 = auto; longer than vpcCidr's"))
    publicSubnetPrefix: int = setting("publicSubnetPrefix", "Public subnet prefix length (0 = auto).", 0,
                                      check=IntRange(0, cidr_plan.SMALLEST_SUBNET_PREFIX, "0 = auto; longer than vpcCidr's"))
    podCidr: str = setting(
        "podCidr", "Secondary CIDR for pod subnets (EKS custom networking), e.g. 100.64.0.0/16; empty = off.", "",
        check=Text(lambda v: _cidr(v, public=False) if v.strip() else "",
                   "empty or a /16../22 inside RFC 1918 or 100.64.0.0/10, not overlapping vpcCidr"),
    )
    vpcEndpoints: bool = setting(
        "vpcEndpoints", "S3 gateway plus ECR, STS, EC2 and CloudWatch Logs interface endpoints.", True
    )

    # compute
    nodeGroups: Mapping[str, NodeGroupConfig] = setting("nodeGroups", "Node pools keyed by name.", {}, check=Entries(
        SHORT_NAME, max=MAX_MANAGED_NODE_GROUPS, why="EKS quota"))
    fargateProfiles: Mapping[str, FargateProfileConfig] = setting(
        "fargateProfiles", "Fargate profiles keyed by name.", {},
        check=Entries(SHORT_NAME, max=MAX_FARGATE_PROFILES, why="EKS quota"),
    )

    # identity and add-ons
    identityMode: Literal["pod-identity", "irsa"] = setting(
        "identityMode", "How service accounts get AWS roles: EKS Pod Identity or IRSA.", "pod-identity"
    )
    ebsCsi: bool = setting("ebsCsi", "EBS CSI add-on and the default encrypted gp3 StorageClass.", True)
    efsCsi: bool = setting("efsCsi", "EFS CSI add-on, an encrypted file system and an access-point StorageClass.", True)
    fsxCsi: bool = setting("fsxCsi", "FSx for Lustre CSI driver.", False)
    fsxLustre: bool = setting("fsxLustre", "Create a PERSISTENT_2 FSx for Lustre file system linked to S3.", False)
    fsxLustreCapacityGiB: int = setting("fsxLustreCapacityGiB", "Lustre capacity: 1200 or a multiple of 2400.", 1200,
                                        check=IntRange(1200, FSX_MAX_GIB, "PERSISTENT_2; the top is a ~1 PiB sanity cap"))
    fsxLustreThroughputPerTiB: int = setting(
        "fsxLustreThroughputPerTiB", "Lustre MB/s per TiB: 125, 250, 500 or 1000.", 250,
        check=OneOf(FSX_THROUGHPUT_PER_TIB, "FSx PERSISTENT_2"),
    )
    lbController: bool = setting("lbController", "AWS Load Balancer Controller (alb IngressClass).", True)
    karpenter: bool = setting("karpenter", "Karpenter with cpu and gpu NodePools.", True)
    karpenterGpuInstanceFamilies: tuple[str, ...] = setting(
        "karpenterGpuInstanceFamilies", "NVIDIA instance families the gpu NodePool may launch.", ["g5", "g6", "g6e"],
        check=Items(Text(str.strip, "NVIDIA GPU family in the instance table")),
    )
    karpenterGpuLimit: int = setting("karpenterGpuLimit", "Total GPUs the gpu NodePool may hold.", 8, check=GPU_COUNT)
    karpenterCpuLimit: int = setting("karpenterCpuLimit", "Total vCPUs the cpu NodePool may hold.", 256, check=IntRange(
        0, MAX_CLUSTER_NODES * MAX_INSTANCE_VCPUS, "5,000 nodes of the largest instance"))
    karpenterGpuCapacityTypes: tuple[str, ...] = setting(
        "karpenterGpuCapacityTypes", "Capacity types for GPU nodes (on-demand, spot, reserved).", ["on-demand"],
        check=Items(Text(lambda v: OneOf(("on-demand", "spot", "reserved")).apply(v.strip()), "on-demand, spot or reserved"),
                    min=1),
    )
    karpenterExpireAfter: str = setting("karpenterExpireAfter", "Node lifetime before replacement (e.g. 720h).", "720h",
                                        check=_go_duration(allow_never=True))
    spotServiceLinkedRole: Literal["karpenter", "stack", "existing"] = setting(
        "spotServiceLinkedRole",
        "Who creates the account's EC2 Spot service-linked role: karpenter (its controller, at the first Spot "
        "launch), stack (this stack; fails if the account has it), existing (created beforehand).", "karpenter"
    )
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
        check=IntRange(1, 5, "more adds nothing but cost: leader election runs one active replica"),
    )

    # ML workloads
    trainer: bool = setting("trainer", "Kubeflow Trainer v2 (with JobSet) and the torch-distributed runtime.", True)
    legacyTrainingOperator: bool = setting(
        "legacyTrainingOperator", "Kubeflow training-operator v1 for PyTorchJob migrations.", False
    )
    kueue: bool = setting("kueue", "Kueue gang admission: one ClusterQueue, one LocalQueue per team.", True)
    kueueCpuQuota: str = setting("kueueCpuQuota", "ClusterQueue CPU nominal quota.", "64", check=CPU_QUOTA)
    kueueMemoryQuota: str = setting("kueueMemoryQuota", "ClusterQueue memory nominal quota.", "256Gi", check=MEMORY_QUOTA)
    kueueGpuQuota: int = setting("kueueGpuQuota", "ClusterQueue nvidia.com/gpu nominal quota.", 8, check=GPU_COUNT)
    teams: Mapping[str, TeamConfig] = setting("teams", "Tenant teams keyed by name (= namespace).", {}, check=Entries(
        DNS_LABEL))
    inferenceEndpoints: Mapping[str, InferenceEndpointConfig] = setting(
        "inferenceEndpoints", "Model-serving endpoints keyed by name.", {}, check=Entries(SHORT_NAME),
    )
    trainingJobs: Mapping[str, TrainingJobConfig] = setting("trainingJobs", "Training jobs keyed by name.", {},
                                                            check=Entries(SHORT_NAME))
    existingWorkloads: Mapping[str, ExistingWorkloadConfig] = setting(
        "existingWorkloads", "Existing Kubernetes workloads to bring over, keyed by name.", {}, check=Entries(SHORT_NAME),
    )

    # observability
    cloudwatchObservability: bool = setting(
        "cloudwatchObservability", "amazon-cloudwatch-observability add-on (Container Insights, logs).", True
    )
    prometheus: bool = setting("prometheus", "kube-prometheus-stack (Prometheus, Grafana, Alertmanager).", False)
    prometheusRetention: str = setting("prometheusRetention", "Prometheus retention period.", "15d",
                                       check=Text(_prom_duration, "Prometheus duration (e.g. 15d), > 0"))
    prometheusStorageGiB: int = setting("prometheusStorageGiB", "Prometheus gp3 volume size.", 50,
                                        check=IntRange(1, EBS_GP3_MAX_GIB, "gp3 volume size"))
    grafanaAdminPassword: Optional[str] = setting(
        "grafanaAdminPassword", "Grafana admin password (set with --secret); Grafana generates one when unset.", None,
        secret=True, check=Text(lambda v: v if v else _raise("must not be empty; remove the key to let Grafana generate one"),
                                "non-empty"),
    )
    dcgmExporter: bool = setting("dcgmExporter", "NVIDIA DCGM exporter, ServiceMonitor and GPU dashboard.", False)

    tags: Mapping[str, str] = setting("tags", "Tags applied to every AWS resource (merged over the defaults).", {},
                                      check=Entries(TAG_KEY, TAG_VALUE, max=MAX_USER_TAGS,
                                                    why="50 per AWS resource, 10 kept for the platform's own"))

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
    if isinstance(v, str) and len(v) > 60:
        return json.dumps(v[:57] + "...")
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**30:
        return f"a {len(str(abs(v)))}-digit number"
    return json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__


#: Go's ``time.Time.String()``: what the Pulumi CLI hands a program for an unquoted YAML date or timestamp.
_GO_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [+-][0-9]{4} \S+")


class _Ctx:
    """One validation run: every error found (reported together) and the keys that could not be decoded."""

    def __init__(self, project_dir: str, region: Optional[str]) -> None:
        self.project_dir = project_dir
        self.region = region
        self.decode_errors: list[ConfigError] = []
        self.errors: list[ConfigError] = []
        self.failed: set[str] = set()
        #: Every name written under a collection (including entries that failed to decode), for cross references.
        self.names: dict[str, tuple[str, ...]] = {}

    @contextlib.contextmanager
    def guard(self) -> typing.Iterator[None]:
        """Record a ConfigError raised inside and carry on with the next check."""
        try:
            yield
        except ConfigError as exc:
            self.errors.extend(exc.errors)

    def error(self, key: str, reason: str) -> None:
        self.errors.append(ConfigError(key, reason))

    def _related(self, key: str) -> bool:
        for f in self.failed:
            if key == f or key.startswith((f + ".", f + "[")) or f.startswith((key + ".", key + "[")):
                return True
        return False

    def raise_if_any(self) -> None:
        # A check that reads a value which failed to decode would only repeat that error in other words.
        found = self.decode_errors + [e for e in self.errors if not self._related(e.key)]
        if found:
            raise ConfigError.combine(found)


def _number_text(value: Any) -> str:
    """An int or finite float as quantity text (what Kubernetes accepts for ``cpu: 8``)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    return str(value)


def _decode(tp: Any, value: Any, path: str, ctx: "_Ctx", *, numeric_text: bool = False) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        if value is None:
            return None
        return _decode(inner[0], value, path, ctx, numeric_text=numeric_text)
    if origin is Literal:
        if isinstance(value, str) and value.strip() in args and value.strip() != "":
            return value.strip()
        if value not in args or isinstance(value, bool) != isinstance(args[0], bool):
            choices = ", ".join(repr(a) for a in args if a != "")
            close = difflib.get_close_matches(str(value), [a for a in args if a], n=1, cutoff=0.6) \
                if isinstance(value, str) else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(path, f"must be one of {choices}; got {_describe(value)}{hint}")
        return value
    if tp is bool:
        if isinstance(value, str) and value.strip() in ("true", "false"):
            return value.strip() == "true"
        if not isinstance(value, bool):
            _fail(path, f"must be true or false; got {_describe(value) if value != '' else 'an empty value'}")
        return value
    if tp is int:
        if isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value.strip()):
            if len(value.strip()) > 40:
                _fail(path, f"must be an integer within range; got a {len(value.strip())}-digit number")
            return int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"must be an integer; got {_describe(value) if value != '' else 'an empty value'}")
        return value
    if tp is str:
        if numeric_text and isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return _number_text(value)
            except ValueError:
                _fail(path, f"must be a quantity; got {value!r}")
        if not isinstance(value, str):
            _fail(path, f"must be a string; got {_describe(value)}")
        if _GO_TIME_RE.fullmatch(value.strip()):
            _fail(path, f"{value!r} is an unquoted YAML date or time turned into a timestamp by the Pulumi CLI; "
                        f"quote the value")
        if "\x00" in value:
            _fail(path, "holds a NUL character")
        return value
    if tp is Any:
        return _plain_json(value, path)
    if origin is tuple:
        value = _maybe_json(value, path, list)
        if not isinstance(value, list):
            _fail(path, f"must be a list; got {_describe(value)}")
        out, errors = [], []
        for i, v in enumerate(value):
            try:
                item = _decode(args[0], v, f"{path}[{i}]", ctx)
            except ConfigError as exc:
                errors.append(exc)
                continue
            if item is not None:
                out.append(item)
        if errors:
            raise ConfigError.combine(errors)
        return tuple(out)
    if origin is collections.abc.Mapping:
        value = _maybe_json(value, path, dict)
        if not isinstance(value, dict):
            _fail(path, f"must be a map; got {_describe(value)}")
        ctx.names[path] = tuple(str(k) for k in value)
        out, errors = {}, []
        for k, v in value.items():
            if not isinstance(k, str):
                errors.append(ConfigError(path, f"keys must be strings; got {_describe(k)}"))
                continue
            if dataclasses.is_dataclass(args[1]) and v is None:
                v = {}  # `name:` with nothing under it: an entry with every default
            try:
                item = _decode(args[1], v, f"{path}.{k}", ctx)
            except ConfigError as exc:
                errors.append(exc)
                continue
            if item is not None:
                out[k] = item
        if errors:
            raise ConfigError.combine(errors)
        return types.MappingProxyType(out)
    if dataclasses.is_dataclass(tp):
        value = _maybe_json(value, path, dict)
        if not isinstance(value, dict):
            _fail(path, f"must be a map; got {_describe(value)}")
        return _decode_dataclass(tp, value, path, ctx)
    raise TypeError(f"unsupported config type {tp!r} at {path}")  # programming error, not user error


def _plain_json(value: Any, path: str) -> Any:
    """Free-form values (Helm values): JSON types only, strings without unquoted-date timestamps."""
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and _GO_TIME_RE.fullmatch(value.strip()):
            _fail(path, f"{value!r} is an unquoted YAML date or time turned into a timestamp; quote the value")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail(path, f"must be a finite number; got {value}")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                _fail(path, f"keys must be strings; got {_describe(k)}")
            out[k] = _plain_json(v, f"{path}.{k}")
        return out
    _fail(path, f"must be a JSON value; got {type(value).__name__}")


def _maybe_json(value: Any, path: str, want: type) -> Any:
    if isinstance(value, str):
        if not value.strip():
            _fail(path, f"must be a {'list' if want is list else 'map'}; got an empty value")
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            _fail(path, f"must be a {'list' if want is list else 'map'}; got a plain string")
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return dict(value)
    return value


def _apply_check(chk: Optional[Check], value: Any, path: str) -> Any:
    """Run a field's declared check; every failing entry of a list or map is reported."""
    if chk is None or value is None:
        return value
    if isinstance(chk, Items):
        errors: list[ConfigError] = []
        if len(value) < chk.min:
            _fail(path, "must not be empty" if chk.min == 1 else f"must list at least {chk.min} entries")
        if chk.max is not None and len(value) > chk.max:
            _fail(path, f"lists {len(value)} entries; at most {chk.max}" + (f" ({chk.why})" if chk.why else ""))
        out, seen = [], {}
        for i, item in enumerate(value):
            try:
                item = chk.each.apply(item) if chk.each is not None else item
            except ValueError as exc:
                errors.append(ConfigError(f"{path}[{i}]", str(exc)))
                continue
            if chk.unique:
                if item in seen:
                    errors.append(ConfigError(f"{path}[{i}]", f"duplicate entry {_describe(item)} (same as "
                                                              f"{path}[{seen[item]}])"))
                    continue
                seen[item] = i
            out.append(item)
        if errors:
            raise ConfigError.combine(errors)
        return tuple(out)
    if isinstance(chk, Entries):
        errors = []
        if chk.max is not None and len(value) > chk.max:
            _fail(path, f"has {len(value)} entries; at most {chk.max}" + (f" ({chk.why})" if chk.why else ""))
        out = {}
        for k, v in value.items():
            try:
                k2 = chk.keys.apply(k) if chk.keys is not None else k
                if k2 != k:
                    raise ValueError(f"{k!r} is not valid ({chk.keys.describe()})")  # type: ignore[union-attr]
                out[k] = chk.values.apply(v) if chk.values is not None else v
            except ValueError as exc:
                errors.append(ConfigError(f"{path}.{k}", str(exc)))
        if errors:
            raise ConfigError.combine(errors)
        return types.MappingProxyType(out)
    try:
        return chk.apply(value)
    except ValueError as exc:
        _fail(path, str(exc))


def _decode_dataclass(cls: type, raw: Mapping[str, Any], path: str, ctx: "_Ctx",
                      extra: Optional[dict] = None) -> Any:
    """Decode one section; every bad field is recorded in ``ctx``. Returns None when a required field is unusable."""
    hints = typing.get_type_hints(cls)
    fields = config_fields(cls)
    known = {f.metadata["key"]: f for f in fields}
    prefix = f"{path}." if path else ""
    for k in raw:
        if not isinstance(k, str):
            ctx.decode_errors.append(ConfigError(path or "config", f"keys must be strings; got {_describe(k)}"))
        elif k not in known:
            close = difflib.get_close_matches(k, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            ctx.decode_errors.append(ConfigError(f"{prefix}{k}", f"unknown setting{hint}"))
    kwargs = dict(extra or {})
    usable = True
    for f in fields:
        key = f.metadata["key"]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if key in raw and raw[key] is not None:
            chk = f.metadata.get("check")
            try:
                value = _decode(hints[f.name], raw[key], f"{prefix}{key}", ctx,
                                numeric_text=isinstance(chk, QuantityCheck))
                kwargs[f.name] = _apply_check(chk, value, f"{prefix}{key}")
            except ConfigError as exc:
                ctx.decode_errors.extend(exc.errors)
                ctx.failed.add(f"{prefix}{key}")
                usable = usable and not required
        elif required:
            ctx.decode_errors.append(ConfigError(f"{prefix}{key}", "is required"))
            ctx.failed.add(f"{prefix}{key}")
            usable = False
    if not usable:
        if path:
            ctx.failed.add(path)
        return None
    return cls(**kwargs)


# --------------------------------------------------------------------------- validation
# One function per section; each records every problem it finds in ``ctx`` and returns the normalized
# values the program will use. New keys get their checks beside the field (``setting(check=...)``) and
# their cross-key rules in the section they belong to.

_SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_POD_RANGES = tuple(
    cidr_plan.parse_ipv4_cidr(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
#: EKS access entries refuse Kubernetes groups in these namespaces.
_RESERVED_GROUP_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


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


def _did_you_mean(word: str, names: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_cluster(cfg: StackConfig, ctx: _Ctx) -> None:
    if cfg.dataBucketName and not (
        re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", cfg.dataBucketName)
        and ".." not in cfg.dataBucketName and not cfg.dataBucketName.startswith(("xn--", "sthree-"))
        and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cfg.dataBucketName)
    ):
        ctx.error("dataBucketName", "is not a valid S3 bucket name (3-63 lower-case letters, digits, '.' or '-', "
                                    "starting and ending with a letter or digit)")
    if cfg.endpointPublicAccess and not cfg.publicAccessCidrs and "publicAccessCidrs" not in ctx.failed:
        ctx.error("publicAccessCidrs", "must list the allowed CIDRs when endpointPublicAccess is true")
    if not cfg.endpointPublicAccess and cfg.publicAccessCidrs:
        ctx.error("publicAccessCidrs", "is set but endpointPublicAccess is false")
    # One access entry per principal: the same role twice would register two entries EKS refuses.
    seen: dict[str, str] = {}
    for key in ("adminRoleArns", "readOnlyRoleArns"):
        for i, arn in enumerate(getattr(cfg, key)):
            where = f"{key}[{i}]"
            if arn in seen:
                ctx.error(where, f"{arn} is already in {seen[arn]}; EKS allows one access entry per role")
            else:
                seen[arn] = where
    for name, team in cfg.teams.items():
        if team.iamRoleArn and team.iamRoleArn in seen:
            ctx.error(f"teams.{name}.iamRoleArn", f"{team.iamRoleArn} is already in {seen[team.iamRoleArn]}; "
                                                 f"EKS allows one access entry per role")
        elif team.iamRoleArn:
            seen[team.iamRoleArn] = f"teams.{name}.iamRoleArn"


def _check_network(cfg: StackConfig, ctx: _Ctx) -> None:
    if ctx.region and cfg.azCount > regions.az_count(ctx.region):
        ctx.error("azCount", f"{ctx.region} has {regions.az_count(ctx.region)} Availability Zones "
                             f"(table of {regions.AZ_TABLE_CHECKED}); got {cfg.azCount}")
    if "vpcCidr" in ctx.failed:
        return
    vpc = cidr_plan.parse_ipv4_cidr(cfg.vpcCidr)
    if not 16 <= vpc.prefixlen <= 24:
        ctx.error("vpcCidr", f"AWS VPCs are /16 to /28 and EKS needs room: use /16 to /24; got /{vpc.prefixlen}")
        return
    for key in ("privateSubnetPrefix", "publicSubnetPrefix"):
        v = getattr(cfg, key)
        if v and not vpc.prefixlen < v <= cidr_plan.SMALLEST_SUBNET_PREFIX:
            return ctx.error(key, f"must be 0 (auto) or between /{vpc.prefixlen + 1} and "
                                  f"/{cidr_plan.SMALLEST_SUBNET_PREFIX}; got /{v}")
    if cfg.podCidr and "podCidr" not in ctx.failed:
        pod = cidr_plan.parse_ipv4_cidr(cfg.podCidr)
        if not any(pod.subnet_of(r) for r in _POD_RANGES):
            return ctx.error("podCidr", f"{pod} must be inside RFC 1918 or 100.64.0.0/10")
        if pod.overlaps(vpc):
            return ctx.error("podCidr", f"{pod} overlaps vpcCidr {vpc}")
        if not 16 <= pod.prefixlen <= 22:
            return ctx.error("podCidr", f"use a /16 to /22 secondary CIDR; got /{pod.prefixlen}")
    if {"podCidr", "azCount", "privateSubnetPrefix", "publicSubnetPrefix"} & ctx.failed:
        return None
    with ctx.guard():
        try:
            _plan_subnets(cfg)
        except cidr_plan.CidrPlanError as exc:
            _fail("vpcCidr", f"subnets do not fit: {exc}")
        except ValueError:
            pass  # a prefix or pod CIDR error reported above


def _normalize_node_group(name: str, ng: NodeGroupConfig, path: str) -> NodeGroupConfig:
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
    if gpu:
        for i, it in enumerate(ng.instanceTypes):
            if it not in instances.ACCELERATOR_COUNT:
                _fail(f"{path}.instanceTypes[{i}]", f"{it}: its GPU count is not in the instance table "
                                                    f"(components/planning/instances.py)")
    if role == "system" and ng.capacityType != "ON_DEMAND":
        _fail(f"{path}.capacityType", "the system pool runs critical add-ons and must be ON_DEMAND")
    if role == "system" and ng.minSize < 1:
        _fail(f"{path}.minSize", "the system pool must keep at least one node (CoreDNS and controllers live there)")

    if ng.kind == "self-managed":
        if not ng.amiId:
            _fail(f"{path}.amiId", "is required for a self-managed node group")
        if ng.amiType and ng.amiType != instances.AmiType.CUSTOM.value:
            _fail(f"{path}.amiType", "self-managed groups use amiId; leave amiType empty or CUSTOM")
        ami_type = instances.AmiType.CUSTOM.value
    else:
        if ng.amiId:
            _fail(f"{path}.amiId", "custom AMIs need kind: self-managed")
        if ng.maxSize > MAX_MANAGED_GROUP_NODES:
            _fail(f"{path}.maxSize", f"managed node groups hold at most {MAX_MANAGED_GROUP_NODES} nodes "
                                     f"(EKS quota); got {ng.maxSize}")
        amitype = ng.amiType.strip()
        if amitype:
            try:
                ami = instances.AmiType(amitype)
            except ValueError:
                allowed = [a.value for a in instances.AmiType if a is not instances.AmiType.CUSTOM]
                _fail(f"{path}.amiType", f"{ng.amiType!r} is not supported; use one of {', '.join(allowed)}"
                                         f"{_did_you_mean(amitype, allowed)}")
            if ami is instances.AmiType.CUSTOM:
                _fail(f"{path}.amiType", "CUSTOM needs kind: self-managed with an amiId")
        else:
            ami = instances.default_ami_type(ng.instanceTypes[0])
        for it in ng.instanceTypes:
            why = instances.ami_mismatch(it, ami)
            if why:
                _fail(f"{path}.amiType", why)
        ami_type = ami.value

    if ng.minSize > ng.maxSize:
        _fail(f"{path}.maxSize", f"must be >= minSize ({ng.minSize}); got {ng.maxSize}")
    desired = ng.minSize if ng.desiredSize is None else ng.desiredSize
    if not ng.minSize <= desired <= ng.maxSize:
        _fail(f"{path}.desiredSize", f"must be between minSize ({ng.minSize}) and maxSize ({ng.maxSize}); got {desired}")

    disk = ng.diskSizeGiB or (200 if gpu else 50)
    if gpu and disk < 100:
        _fail(f"{path}.diskSizeGiB", f"GPU nodes need at least 100 GiB for CUDA images; got {disk}")
    if disk < 20:
        _fail(f"{path}.diskSizeGiB", f"must be 0 (default) or at least 20 GiB; got {disk}")
    if ng.efa:
        for i, it in enumerate(ng.instanceTypes):
            if it not in instances.EFA_CAPABLE:
                _fail(f"{path}.instanceTypes[{i}]", f"{it} has no EFA interface but efa is true")
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(ng.taints):
        if (t.key, t.effect) in seen:
            _fail(f"{path}.taints[{i}]", f"duplicate taint {t.key}:{t.effect} (same as taints[{seen[(t.key, t.effect)]}])")
        seen[(t.key, t.effect)] = i
        if role == "gpu" and t.key == "nvidia.com/gpu":
            _fail(f"{path}.taints[{i}].key", "nvidia.com/gpu is the GPU taint the platform adds to GPU pools itself")
    return dataclasses.replace(ng, role=role, amiType=ami_type, desiredSize=desired, diskSizeGiB=disk)


def _check_compute(cfg: StackConfig, ctx: _Ctx) -> dict[str, NodeGroupConfig]:
    if not cfg.nodeGroups and "nodeGroups" not in ctx.failed and not ctx.names.get("nodeGroups"):
        ctx.error("nodeGroups", "define at least one node group (a system pool)")
        return {}
    groups: dict[str, NodeGroupConfig] = {}
    for name, ng in cfg.nodeGroups.items():
        with ctx.guard():
            groups[name] = _normalize_node_group(name, ng, f"nodeGroups.{name}")
    if len(groups) == len(cfg.nodeGroups) and not any(g.role == "system" for g in groups.values()):
        ctx.error("nodeGroups", "no pool has role system; critical add-ons need an on-demand home")
    total = sum(g.maxSize for g in cfg.nodeGroups.values())
    if total > MAX_CLUSTER_NODES:
        ctx.error("nodeGroups", f"maxSize adds up to {total:,} nodes; a cluster holds at most {MAX_CLUSTER_NODES:,}")
    namespaces: dict[str, str] = {}
    for name, prof in cfg.fargateProfiles.items():
        for i, sel in enumerate(prof.selectors):
            where = f"fargateProfiles.{name}.selectors[{i}]"
            if not sel.labels and sel.namespace in namespaces:
                ctx.error(f"{where}.namespace", f"{sel.namespace!r} is already selected by {namespaces[sel.namespace]}")
            namespaces.setdefault(sel.namespace, where)
            if sel.namespace in ("kube-system",) and not sel.labels:
                ctx.error(f"{where}.namespace", "all of kube-system on Fargate would move the platform's own "
                                                "controllers there; select them with labels")
    return groups


def _check_addons(cfg: StackConfig, ctx: _Ctx) -> None:
    if cfg.fsxLustre and not cfg.fsxCsi:
        ctx.error("fsxLustre", "needs fsxCsi: true so pods can mount the file system")
    if cfg.fsxLustreCapacityGiB != 1200 and cfg.fsxLustreCapacityGiB % 2400:
        ctx.error("fsxLustreCapacityGiB", f"PERSISTENT_2 takes 1200 or a multiple of 2400; got {cfg.fsxLustreCapacityGiB}")
    for i, fam in enumerate(cfg.karpenterGpuInstanceFamilies):
        info = instances.FAMILIES.get(fam)
        if info is None or info.accelerator is not instances.Accelerator.NVIDIA:
            nvidia = [f for f, x in instances.FAMILIES.items() if x.accelerator is instances.Accelerator.NVIDIA]
            ctx.error(f"karpenterGpuInstanceFamilies[{i}]",
                      f"{fam!r} is not an NVIDIA GPU instance family{_did_you_mean(fam, nvidia)}")
    if cfg.karpenter and not cfg.karpenterGpuInstanceFamilies and cfg.karpenterGpuLimit > 0 \
            and "karpenterGpuInstanceFamilies" not in ctx.failed:
        ctx.error("karpenterGpuInstanceFamilies", "must list at least one family when karpenterGpuLimit > 0")
    if cfg.dcgmExporter and not cfg.prometheus:
        ctx.error("dcgmExporter", "needs prometheus: true (its ServiceMonitor and dashboard live there)")


def _team_ref(ctx: _Ctx, path: str, team: str, teams: Mapping[str, TeamConfig]) -> None:
    known = ctx.names.get("teams", tuple(teams))
    if team not in known:
        ctx.error(path, f"{team!r} is not a team in teams{_did_you_mean(team, known)}")


def _check_teams(cfg: StackConfig, ctx: _Ctx) -> dict[str, TeamConfig]:
    teams = {}
    for name, team in cfg.teams.items():
        path = f"teams.{name}"
        with ctx.guard():
            if name in _SYSTEM_NAMESPACES or name.startswith("kube-"):
                _fail(path, "team names become namespaces: not a system namespace (default, kube-*)")
            group = team.group or f"{name}-developers"
            if group.startswith(_RESERVED_GROUP_PREFIXES):
                _fail(f"{path}.group", f"EKS access entries cannot use groups starting with "
                                       f"{', '.join(_RESERVED_GROUP_PREFIXES)} (system: groups and the like)")
            q = parse_quantity
            for req, lim, quota in (("defaultCpuRequest", "defaultCpuLimit", "cpu"),
                                    ("defaultMemoryRequest", "defaultMemoryLimit", "memory")):
                if q(getattr(team, req)) > q(getattr(team, lim)):
                    ctx.error(f"{path}.{req}", f"is larger than {lim}")
                if q(getattr(team, lim)) > q(getattr(team, quota)):
                    ctx.error(f"{path}.{lim}", f"is larger than the team's {quota} quota; no pod using the default "
                                               f"could start")
            teams[name] = dataclasses.replace(team, group=group)
    return teams


def _gpu_capacity(cfg: StackConfig, groups: Mapping[str, NodeGroupConfig]) -> bool:
    return any(g.role == "gpu" for g in groups.values()) or (cfg.karpenter and cfg.karpenterGpuLimit > 0)


_MAX_DRAIN_SECONDS = 3600
_MAX_MODEL_GIB = 4096


def _validate_serving(path: str, ep: InferenceEndpointConfig, cfg: StackConfig) -> InferenceEndpointConfig:
    """Autoscaling, model loading and shutdown of one endpoint; returns it with every default resolved.

    With ``autoscaling``, ``replicas``/``maxReplicas`` become its floor and
    ceiling, so whatever reads the endpoint's ``maxReplicas`` (quota and
    capacity checks) sees what KEDA may actually run.
    """
    from components.workloads import inference_model, inference_scaling as scaling

    if ep.customMetric or ep.customMetricTarget:
        _fail(f"{path}.customMetric", "needs a custom-metrics adapter the platform does not install; scale on "
              "the metric with autoscaling: {metric: <PromQL or a preset>, target: <per replica>} (KEDA) instead")
    a = ep.autoscaling
    if a is None:
        ep = dataclasses.replace(ep, hpaMetric=ep.hpaMetric or "cpu", targetUtilization=ep.targetUtilization or 70)
    else:
        ap = f"{path}.autoscaling"
        for key in ("hpaMetric", "targetUtilization"):
            if getattr(ep, key):
                _fail(f"{path}.{key}", "configures the HPA, which autoscaling replaces (KEDA owns the HPA); remove it")
        lo = ep.replicas if a.minReplicas is None else a.minReplicas
        hi = ep.maxReplicas if a.maxReplicas is None else a.maxReplicas
        if lo < 0:
            _fail(f"{ap}.minReplicas", f"must be >= 0; got {lo}")
        if lo == 0 and cfg.environmentType != "development":
            _fail(f"{ap}.minReplicas", "0 (scale to zero) is allowed only with environmentType: development; a "
                  "production endpoint must answer its first request without a cold start")
        if hi < max(lo, 1):
            _fail(f"{ap}.maxReplicas", f"must be >= 1 and >= minReplicas ({lo}); got {hi}")
        backend = scaling.backend(cfg.prometheus)
        problem = scaling.metric_problem(a.metric, backend)
        if problem:
            _fail(f"{ap}.metric", problem)
        preset = scaling.PRESETS.get(a.metric.strip())
        if preset is not None:
            if backend not in preset.backends:
                _fail(f"{ap}.metric", f"{preset.name} ({preset.doc}) needs prometheus: true")
            if preset.needs_gpu and not ep.gpus:
                _fail(f"{ap}.metric", f"{preset.name} needs an endpoint with gpus")
            if preset.needs_gpu and backend == "prometheus" and not cfg.dcgmExporter:
                _fail(f"{ap}.metric", f"{preset.name} reads the DCGM exporter's metrics; set dcgmExporter: true")
            if preset.needs_gpu and backend == "cloudwatch" and not cfg.cloudwatchObservability:
                _fail(f"{ap}.metric", f"{preset.name} reads Container Insights; set cloudwatchObservability: true")
            if lo == 0 and preset.from_pods:
                _fail(f"{ap}.minReplicas", f"0 with {preset.name}: that metric comes from the endpoint's own pods, "
                      "so at zero replicas nothing reports it and the endpoint never scales back up; use a metric "
                      "that exists without replicas (a queue length, the load balancer's request count)")
        if a.target < 1:
            _fail(f"{ap}.target", f"must be >= 1; got {a.target}")
        if not 0 <= a.cooldown <= 86400:
            _fail(f"{ap}.cooldown", f"must be 0..86400 seconds; got {a.cooldown}")
        ep = dataclasses.replace(ep, replicas=lo, maxReplicas=hi,
                                 autoscaling=dataclasses.replace(a, metric=a.metric.strip(), minReplicas=lo,
                                                                 maxReplicas=hi))

    m = ep.model
    if m is not None:
        mp = f"{path}.model"
        try:
            src = inference_model.parse_source(m.source, ep.modelPrefix)
        except inference_model.ModelSourceError as exc:
            _fail(f"{mp}.source" if m.source else f"{path}.modelPrefix", str(exc))
        if not 0 <= m.sizeGiB <= _MAX_MODEL_GIB:
            _fail(f"{mp}.sizeGiB", f"must be 0..{_MAX_MODEL_GIB}; got {m.sizeGiB}")
        if m.cache == "efs" and not cfg.efsCsi:
            _fail(f"{mp}.cache", "efs needs efsCsi: true (the team's shared EFS claim holds the cache)")
        if m.cache == "fsx":
            if not cfg.fsxLustre:
                _fail(f"{mp}.cache", "fsx needs fsxLustre: true")
            if ep.placement == "fargate":
                _fail(f"{mp}.cache", "Fargate cannot mount FSx for Lustre; use efs or node")
            if src.kind != "bucket" or not src.prefix.startswith(inference_model.FSX_LINKED_PREFIX):
                _fail(f"{mp}.source", f"cache fsx serves the data bucket's {inference_model.FSX_LINKED_PREFIX} "
                      "prefix, which the file system links; leave source empty and keep modelPrefix under "
                      f"{inference_model.FSX_LINKED_PREFIX} (for other sources use efs or node)")
        if m.cache == "node" and m.sizeGiB < 1:
            _fail(f"{mp}.sizeGiB", "cache node needs the model size, to size the pod's local disk")
    elif ep.modelPrefix:
        try:
            inference_model.parse_source("", ep.modelPrefix)
        except inference_model.ModelSourceError as exc:
            _fail(f"{path}.modelPrefix", str(exc))

    if not 0 <= ep.drainSeconds <= _MAX_DRAIN_SECONDS:
        _fail(f"{path}.drainSeconds", f"must be 0..{_MAX_DRAIN_SECONDS}; got {ep.drainSeconds}")
    return dataclasses.replace(ep, drainSeconds=ep.drainSeconds or (120 if ep.gpus else 30))


def _check_endpoints(cfg: StackConfig, ctx: _Ctx, teams: Mapping[str, TeamConfig],
                     groups: Mapping[str, NodeGroupConfig]) -> dict[str, InferenceEndpointConfig]:
    fargate_ns = cfg.fargate_namespaces()
    gpu_capacity = _gpu_capacity(cfg, groups)
    endpoints = {}
    for name, ep in cfg.inferenceEndpoints.items():
        path = f"inferenceEndpoints.{name}"
        _team_ref(ctx, f"{path}.team", ep.team, teams)
        with ctx.guard():
            image = ep.image or versions.IMAGES["gpu-inference" if ep.gpus else "cpu-inference"]
            if image.rsplit(":", 1)[-1] == "latest":
                _fail(f"{path}.image", "the 'latest' tag is not pinned; use a version tag or digest")
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
            if ep.replicas > ep.maxReplicas:
                _fail(f"{path}.maxReplicas", f"must be >= replicas ({ep.replicas}); got {ep.maxReplicas}")
            if ep.exposure != "none" and not cfg.lbController:
                _fail(f"{path}.exposure", "needs lbController: true")
            if not ep.internal and ep.exposure == "none":
                _fail(f"{path}.internal", "is false but exposure is none")
            if not ep.internal and not ep.certificateArn:
                _fail(f"{path}.certificateArn", "external endpoints must terminate TLS; set an ACM certificate ARN")
            endpoints[name] = _validate_serving(
                path, dataclasses.replace(ep, image=image, modelPrefix=ep.modelPrefix or f"models/{name}/"), cfg)
    return endpoints


def _check_training(cfg: StackConfig, ctx: _Ctx, teams: Mapping[str, TeamConfig],
                    groups: Mapping[str, NodeGroupConfig]) -> dict[str, TrainingJobConfig]:
    gpu_capacity = _gpu_capacity(cfg, groups)
    jobs = {}
    for name, job in cfg.trainingJobs.items():
        path = f"trainingJobs.{name}"
        _team_ref(ctx, f"{path}.team", job.team, teams)
        with ctx.guard():
            if job.kind == "TrainJob" and not cfg.trainer:
                _fail(f"{path}.kind", "TrainJob needs trainer: true")
            if job.kind == "PyTorchJob" and not cfg.legacyTrainingOperator:
                _fail(f"{path}.kind", "PyTorchJob needs legacyTrainingOperator: true")
            if job.volume == "fsx" and not cfg.fsxLustre:
                _fail(f"{path}.volume", "fsx needs fsxLustre: true")
            if job.volume == "efs" and not cfg.efsCsi:
                _fail(f"{path}.volume", "efs needs efsCsi: true")
            if job.enabled and job.gpusPerNode and not gpu_capacity:
                _fail(f"{path}.gpusPerNode", "no GPU capacity: add a gpu node group or enable karpenter")
            image = job.image or versions.IMAGES["pytorch-train"]
            if image.rsplit(":", 1)[-1] == "latest":
                _fail(f"{path}.image", "the 'latest' tag is not pinned; use a version tag or digest")
            if job.script:
                script = os.path.join(ctx.project_dir, job.script)
                try:
                    if not os.path.isfile(script):
                        _fail(f"{path}.script", f"file {job.script!r} does not exist")
                    # ConfigMaps hold at most 1 MiB; a training entry point bigger than this belongs in the image.
                    if os.path.getsize(script) > 512 * 1024:
                        _fail(f"{path}.script", "is larger than 512 KiB; bake it into the image instead")
                except (OSError, ValueError):
                    _fail(f"{path}.script", f"file {job.script!r} cannot be read")
            jobs[name] = dataclasses.replace(job, image=image)
    return jobs


def _check_existing_workloads(cfg: StackConfig, ctx: _Ctx, teams: Mapping[str, TeamConfig]) -> None:
    from pathlib import Path

    from components.workloads import sources

    for name, wl in cfg.existingWorkloads.items():
        path = f"existingWorkloads.{name}"
        _team_ref(ctx, f"{path}.team", wl.team, teams)
        with ctx.guard():
            if wl.source == "helm" and bool(wl.path) == bool(wl.chart):
                _fail(f"{path}.chart", "helm sources take either path (local chart) or chart (remote), not both")
            if wl.source != "helm":
                if not wl.path:
                    _fail(f"{path}.path", f"is required for source {wl.source}")
                for key in ("chart", "repository", "version"):
                    if getattr(wl, key):
                        _fail(f"{path}.{key}", f"only applies to source helm; this source is {wl.source}")
                if wl.values:
                    _fail(f"{path}.values", f"only applies to source helm; this source is {wl.source}")
            directory = Path(ctx.project_dir, wl.path) if wl.path else None
            try:
                is_dir = bool(directory) and directory.is_dir()  # type: ignore[union-attr]
            except (OSError, ValueError):
                is_dir = False
            if wl.path and not is_dir:
                _fail(f"{path}.path", f"directory {wl.path!r} does not exist")
            if wl.source == "helm" and wl.path and not (directory / "Chart.yaml").is_file():  # type: ignore[operator]
                _fail(f"{path}.path", f"{wl.path!r} is not a Helm chart (no Chart.yaml); use source manifests "
                                      f"or kustomize for plain YAML")
            if wl.source in ("manifests", "kustomize"):
                # Parsed now, before any resource exists: unreadable YAML, cluster-scoped objects or another
                # pinned namespace stop the program here, naming the key (rules in components/workloads/sources.py).
                try:
                    if wl.source == "manifests":
                        sources.load_manifests(directory, wl.team)  # type: ignore[arg-type]
                    else:
                        sources.check_kustomization(directory, wl.team)  # type: ignore[arg-type]
                except sources.SourceError as exc:
                    _fail(f"{path}.path", str(exc))
                except (OSError, UnicodeDecodeError, RecursionError) as exc:
                    _fail(f"{path}.path", f"cannot be read: {type(exc).__name__}")
            if wl.chart and not (wl.repository and wl.version):
                _fail(f"{path}.version", "remote charts need repository and an exact version")


def _validate(cfg: StackConfig, ctx: _Ctx) -> StackConfig:
    _check_cluster(cfg, ctx)
    _check_network(cfg, ctx)
    groups = _check_compute(cfg, ctx)
    _check_addons(cfg, ctx)
    teams = _check_teams(cfg, ctx)
    endpoints = _check_endpoints(cfg, ctx, teams, groups)
    jobs = _check_training(cfg, ctx, teams, groups)
    _check_existing_workloads(cfg, ctx, teams)
    ctx.raise_if_any()
    resolved = dataclasses.replace(
        cfg,
        nodeGroups=types.MappingProxyType(groups),
        teams=types.MappingProxyType(teams),
        inferenceEndpoints=types.MappingProxyType(endpoints),
        trainingJobs=types.MappingProxyType(jobs),
    )
    # Capacity coherence (components/planning/capacity.py) reads the resolved values, so it runs once the
    # rest is valid: every error found is reported together; warnings print and go on.
    for finding in capacity.findings(resolved):
        if finding.error:
            ctx.error(finding.key, finding.reason)
        else:
            pulumi.log.warn(f"config {finding}")
    ctx.raise_if_any()
    return resolved


# --------------------------------------------------------------------------- loading


def load_config(
    values: Mapping[str, Any],
    *,
    stack: str,
    project: str = PROJECT,
    project_dir: Optional[str] = None,
    region: Optional[str] = None,
) -> StackConfig:
    """Decode and validate raw config ``values`` (keys without the namespace).

    Values may be Python objects or the strings Pulumi stores (JSON for lists and maps). ``region``
    (``aws:region``), when known, bounds ``azCount``. Raises one :class:`ConfigError` carrying every
    problem found (``.errors``).
    """
    ctx = _Ctx(project_dir or os.getcwd(), region)
    if not isinstance(values, Mapping):
        _fail("config", f"must be a map of settings; got {type(values).__name__}")
    cfg = _decode_dataclass(StackConfig, dict(values), "", ctx, extra={"project": project, "stack": stack})
    return _validate(cfg, ctx)


@functools.lru_cache(maxsize=1)
def aws_provider_keys() -> frozenset[str]:
    """The config keys the pinned pulumi-aws provider reads (``aws:<key>``), from its own generated module."""
    import importlib.util

    spec = importlib.util.find_spec("pulumi_aws.config.vars")
    text = open(spec.origin, encoding="utf-8").read() if spec and spec.origin else ""  # type: ignore[arg-type]
    return frozenset(re.findall(r"__config__\.get\w*\('([A-Za-z0-9]+)'", text))


def check_config_keys(keys: typing.Iterable[str], project: str = PROJECT) -> list[ConfigError]:
    """Errors for fully-qualified config keys the program would silently ignore.

    * ``<project>:<key>`` that is not a setting (did-you-mean from the settings);
    * ``aws:<key>`` that the pinned AWS provider does not read;
    * a namespace that is a near miss of ``<project>`` or ``aws`` (``MLPLATFORM:azCount``, ``mlplatfrom:x``).
    Other namespaces (``kubernetes:``, ``pulumi:``, ...) belong to other providers and pass.
    """
    known = {f.metadata["key"] for f in config_fields()}
    errors = []
    for full in keys:
        namespace, _, name = full.partition(":")
        if namespace == project:
            base = re.split(r"[.\[]", name, maxsplit=1)[0]
            if base not in known:
                errors.append(ConfigError(name, f"unknown setting{_did_you_mean(base, known)}"))
        elif namespace == "aws":
            if name not in aws_provider_keys():
                errors.append(ConfigError(full, f"unknown AWS provider setting{_did_you_mean(name, aws_provider_keys())}"))
        else:
            for target, names, cutoff in ((project, known, 0.75), ("aws", aws_provider_keys(), 0.6)):
                if namespace.lower() == target or difflib.get_close_matches(namespace, [target], cutoff=cutoff):
                    close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
                    hint = f"{target}:{close[0] if close else name}"
                    errors.append(ConfigError(full, f"unknown namespace {namespace!r} (did you mean {hint}?)"))
                    break
    return errors


def load_stack_config() -> StackConfig:
    """Read this stack's config from the Pulumi runtime and validate it."""
    project = pulumi.get_project()
    prefix = f"{project}:"
    raw: dict[str, Any] = {}
    known = {f.metadata["key"]: f for f in config_fields()}
    env = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    errors = check_config_keys(sorted(env), project)
    region = env.get("aws:region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if "aws:region" in env:
        try:
            regions.check_region(env["aws:region"])
        except ValueError as exc:
            errors.append(ConfigError("aws:region", str(exc)))
            region = None
    for key in known:
        value = pulumi.runtime.get_config(prefix + key)
        if value is not None:
            raw[key] = value
    try:
        cfg = load_config(raw, stack=pulumi.get_stack(), project=project, region=region)
    except ConfigError as exc:
        raise ConfigError.combine([*errors, exc]) from None
    if errors:
        raise ConfigError.combine(errors)
    return cfg


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
