"""Small pure helpers shared by the rule modules: booleans as the providers spell them,
IAM documents, instance families, CIDRs, tags, Kubernetes metadata and quantities."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from typing import Any, Iterable, Iterator, Mapping, Optional

from guardrails._meta import _raw, is_unknown
from guardrails.podspecs import kind_of

# --------------------------------------------------------------------------- plain values


def obj(value: Any) -> Mapping[str, Any]:
    """``value`` when it is an object, else ``{}``: rules read odd shapes as absent instead of crashing."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list:
    """``None`` -> ``[]``, a scalar -> ``[scalar]``, a list -> itself."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """Is ``key`` set: to a non-empty value, or to one unknown until deploy? Never reads an unknown value.

    A KMS key created in the same deploy has an ARN nobody knows at a first preview, and reading it makes
    pulumi-policy report the rule as unable to run. A rule that only needs to know a key is *set* asks this:
    presence comes from the keys (iterating a mapping reads no value; ``key in proxy`` on pulumi-policy's
    own proxy would), and only a known value is looked at (empty counts as not set).
    """
    if key not in list(props):
        return False
    target = props if isinstance(props, dict) else _raw(props)
    raw = dict.get(target, key) if isinstance(target, dict) else None
    return is_unknown(raw) or bool(raw)


def flag(value: Any) -> Optional[bool]:
    """A boolean as providers spell it: ``True``/``"true"`` (launch templates use strings), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def to_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


# --------------------------------------------------------------------------- IAM documents


def parse_doc(value: Any) -> Optional[dict]:
    """An IAM policy document from a JSON string or an object; None when absent or not a document."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            doc = json.loads(value)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None
    return None


def statements(doc: Optional[Mapping]) -> list[dict]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def allows(stmt: Mapping) -> bool:
    return str(stmt.get("Effect", "")).lower() == "allow"


def actions(stmt: Mapping) -> list[str]:
    return [str(a) for a in as_list(stmt.get("Action"))]


def resources(stmt: Mapping) -> list[str]:
    return [str(r) for r in as_list(stmt.get("Resource"))]


def action_matches(pattern: str, action: str) -> bool:
    """Does the statement's action ``pattern`` (may hold ``*``/``?``) grant ``action``? Case-insensitive."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def principals(stmt: Mapping) -> dict[str, list[str]]:
    """Principal as ``{type: [values]}``; a bare ``"*"`` becomes ``{"*": ["*"]}``."""
    p = stmt.get("Principal")
    if isinstance(p, str):
        return {"*": [p]}
    if isinstance(p, Mapping):
        return {str(k): [str(v) for v in as_list(val)] for k, val in p.items()}
    return {}


def conditions(stmt: Mapping) -> dict[str, dict[str, list[str]]]:
    """Condition as ``{operator: {key (lower-case): [values]}}``: IAM condition keys are case-insensitive."""
    out: dict[str, dict[str, list[str]]] = {}
    cond = stmt.get("Condition")
    if not isinstance(cond, Mapping):
        return out
    for op, block in cond.items():
        if isinstance(block, Mapping):
            out[str(op)] = {str(k).lower(): [str(v) for v in as_list(val)] for k, val in block.items()}
    return out


# --------------------------------------------------------------------------- instances and GPUs

#: NVIDIA GPU instance families the platform supports (G and P lines, Graviton g5g included).
DEFAULT_GPU_FAMILIES = ["g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en"]
_GPU_FAMILY_RE = re.compile(r"^(g|gr|p)\d")


def instance_family(instance_type: str) -> str:
    """``"p5.48xlarge"`` -> ``"p5"``; ``"p6-b200.48xlarge"`` -> ``"p6-b200"``."""
    return str(instance_type).split(".", 1)[0].lower()


def is_gpu_family(family: str) -> bool:
    """G and P families carry GPUs (``g4ad`` is AMD and still a GPU; allow-lists decide what is accepted)."""
    return bool(_GPU_FAMILY_RE.match(family.lower()))


def is_gpu_instance(instance_type: Any) -> bool:
    return isinstance(instance_type, str) and is_gpu_family(instance_family(instance_type))


def gpu_ami(ami_type: Any) -> bool:
    """EKS AMI types that ship the NVIDIA driver (``AL2023_x86_64_NVIDIA``, ``BOTTLEROCKET_*_NVIDIA``, ``AL2_x86_64_GPU``)."""
    return isinstance(ami_type, str) and ("NVIDIA" in ami_type.upper() or ami_type.upper().endswith("_GPU"))


# --------------------------------------------------------------------------- networks

WORLD = ("0.0.0.0/0", "::/0")


def is_world(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def cidr_within(cidr: str, allowed: Iterable[str]) -> bool:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return False
    for a in allowed:
        try:
            outer = ipaddress.ip_network(str(a).strip(), strict=False)
        except ValueError:
            continue
        if net.version == outer.version and net.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


# --------------------------------------------------------------------------- tags


def tag_map(value: Any) -> dict[str, Any]:
    """Tags as a map, from ``{"k": "v"}`` or the autoscaling-group list form ``[{"key", "value"}]``."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in as_list(value):
        if isinstance(item, Mapping) and "key" in item:
            out[str(item["key"])] = item.get("value")
    return out


# --------------------------------------------------------------------------- Kubernetes


def annotations(meta: Any) -> dict[str, Any]:
    return dict(obj(obj(meta).get("annotations")))


def labels(meta: Any) -> dict[str, Any]:
    return dict(obj(obj(meta).get("labels")))


def helm_chart_name(chart: Any) -> str:
    """``"aws-load-balancer-controller"`` from a chart name, ``repo/name`` or an ``oci://.../name`` reference."""
    return str(chart or "").rstrip("/").rsplit("/", 1)[-1]


def quantity(value: Any) -> Optional[float]:
    """A Kubernetes quantity as a number (``"2"`` -> 2, ``"500m"`` -> 0.5, ``"1Gi"`` -> 1073741824)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not m:
        return None
    num, suffix = float(m.group(1)), m.group(2)
    scale = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
             "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
    return num * scale[suffix] if suffix in scale else None


def iter_requirements(reqs: Any) -> Iterator[tuple[str, str, list[str]]]:
    """Karpenter ``requirements`` as ``(key, operator, values)``."""
    for r in as_list(reqs):
        if isinstance(r, Mapping):
            yield str(r.get("key", "")), str(r.get("operator", "")), [str(v) for v in as_list(r.get("values"))]


def kind_is_patch(kind: str) -> bool:
    return kind.endswith("Patch")


# --------------------------------------------------------------------------- Karpenter

GPU_REQUIREMENT_KEYS = (
    "karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-gpu-manufacturer",
    "karpenter.k8s.aws/instance-gpu-name", "karpenter.k8s.aws/instance-gpu-memory",
)


def k8s_group(resource_type: str, props: Mapping[str, Any]) -> str:
    """API group of a Kubernetes object (``karpenter.sh``), from its apiVersion or its type token."""
    api = props.get("apiVersion") if isinstance(props, Mapping) else None
    if not isinstance(api, str) or not api:
        parts = resource_type.split(":")
        api = parts[1] if len(parts) == 3 else ""
    return api.rsplit("/", 1)[0] if "/" in api else ""


def is_karpenter(resource_type: str, props: Mapping[str, Any], kind: str) -> bool:
    return resource_type.startswith("kubernetes:") and kind_of(resource_type, props) == kind \
        and k8s_group(resource_type, props) in ("karpenter.sh", "karpenter.k8s.aws")


class NodePoolScope:
    """Which instances a Karpenter NodePool's requirements allow."""

    def __init__(self, requirements: Any):
        self.families: Optional[list[str]] = None
        self.types: Optional[list[str]] = None
        self.categories: Optional[list[str]] = None
        self.gpu_requirement = False
        for key, op, values in iter_requirements(requirements):
            if op != "In" and not (key in GPU_REQUIREMENT_KEYS and op in ("Gt", "Exists")):
                continue
            if key == "karpenter.k8s.aws/instance-family":
                self.families = [v.lower() for v in values]
            elif key == "node.kubernetes.io/instance-type":
                self.types = [v.lower() for v in values]
            elif key == "karpenter.k8s.aws/instance-category":
                self.categories = [v.lower() for v in values]
            elif key in GPU_REQUIREMENT_KEYS:
                zero_count = key.endswith("gpu-count") and op == "In" and all(v == "0" for v in values)
                self.gpu_requirement = self.gpu_requirement or not zero_count

    @property
    def allows_gpu(self) -> bool:
        """The most specific requirement decides: families, then types, then categories, then GPU keys."""
        if self.families is not None:
            return any(is_gpu_family(f) for f in self.families)
        if self.types is not None:
            return any(is_gpu_instance(t) for t in self.types)
        if self.categories is not None:
            return any(c in ("g", "p") for c in self.categories)
        return self.gpu_requirement

    def gpu_families(self) -> Optional[list[str]]:
        """The GPU families the pool may launch, or None when its requirements do not name them."""
        if self.families is not None:
            return [f for f in self.families if is_gpu_family(f)]
        if self.types is not None:
            return sorted({instance_family(t) for t in self.types if is_gpu_instance(t)})
        return None


# --------------------------------------------------------------------------- node groups

_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
MANAGED_GROUPS = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
SELF_MANAGED_GROUPS = ("eks:index:NodeGroupV2", "eks:index:NodeGroup")
#: pulumi-eks defaults for self-managed groups (the component's documented defaults).
PULUMI_EKS_DEFAULT_INSTANCE = "t3.medium"
PULUMI_EKS_DEFAULT_MAX_SIZE = 2


def normalize_effect(effect: Any) -> str:
    """EKS spells taint effects ``NO_SCHEDULE``; Kubernetes spells them ``NoSchedule``."""
    e = str(effect or "")
    return _EFFECTS.get(e.upper(), e)


class NodeGroupView:
    """What a node group launches, in one shape for every node-group type (None when not a node group)."""

    def __init__(self, instance_types: list[str], gpu: bool, max_size: Optional[int],
                 taints: list[tuple[str, str]]):
        self.instance_types = instance_types
        self.gpu = gpu
        self.max_size = max_size
        self.taints = taints  # (key, effect) with Kubernetes effect spelling

    @classmethod
    def of(cls, resource_type: str, props: Mapping[str, Any]) -> Optional["NodeGroupView"]:
        if resource_type in MANAGED_GROUPS:
            types = [str(t) for t in as_list(props.get("instanceTypes"))]
            taints = [(str(t.get("key")), normalize_effect(t.get("effect")))
                      for t in as_list(props.get("taints")) if isinstance(t, Mapping)]
            max_size = to_int(obj(props.get("scalingConfig")).get("maxSize"))
        elif resource_type in SELF_MANAGED_GROUPS or resource_type == "eks:index:Cluster":
            opts: Mapping[str, Any] = {}
            if resource_type == "eks:index:Cluster":
                if flag(props.get("skipDefaultNodeGroup")) is True:
                    return None
                # The default node group takes nodeGroupOptions over the cluster's own node arguments.
                opts = obj(props.get("nodeGroupOptions"))

            def get(key: str) -> Any:
                return opts.get(key) if key in opts else props.get(key)

            types = [str(get("instanceType") or PULUMI_EKS_DEFAULT_INSTANCE)]
            raw = obj(get("taints"))
            taints = [(str(k), normalize_effect(obj(v).get("effect"))) for k, v in raw.items()] \
                if isinstance(raw, Mapping) else []
            ms = get("maxSize")
            max_size = to_int(ms) if ms is not None else PULUMI_EKS_DEFAULT_MAX_SIZE
            gpu = any(is_gpu_instance(t) for t in types) or flag(get("gpu")) is True or gpu_ami(get("amiType"))
            return cls(types, gpu, max_size, taints)
        elif resource_type == "aws:autoscaling/group:Group":
            lt = obj(obj(props.get("mixedInstancesPolicy")).get("launchTemplate"))
            types = [str(o.get("instanceType")) for o in as_list(lt.get("overrides"))
                     if isinstance(o, Mapping) and o.get("instanceType")]
            taints = []
            max_size = to_int(props.get("maxSize"))
        else:
            return None
        gpu = any(is_gpu_instance(t) for t in types) or flag(props.get("gpu")) is True or gpu_ami(props.get("amiType"))
        return cls(types, gpu, max_size, taints)

    def has_taint(self, key: str, effect: str = "NoSchedule") -> bool:
        return any(k == key and e == effect for k, e in self.taints)
