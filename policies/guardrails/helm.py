"""Helm rules: the values of a release that reach pod security.

A ``kubernetes:helm.sh/v3:Release`` is one resource to the engine and to the
pack: the objects its chart renders exist only in the cluster, in a real
preview as much as offline. What the pack does see is the release's
``values``, and that is where a change makes an add-on privileged. So the
values tree is read generically, whatever the chart: every key that means a
pod-security setting (``privileged``, ``hostNetwork``/``hostPID``/``hostIPC``,
``hostPort``, ``capabilities.add``, ``allowPrivilegeEscalation``,
``runAsUser: 0``, ``runAsNonRoot: false``, ``hostPath`` volumes, an
``Unconfined`` seccomp profile) and every image reference (``image: repo:tag``
or ``{registry, repository, tag}``) is judged where it appears, at any depth
(sub-charts included). An add-on that needs host access by design gets a
per-chart exception with its reason in the rule's config. The chart's own
defaults are not values and stay out of sight: they are reviewed when a chart
version is pinned (README "Helm-rendered objects").
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Iterator, Mapping

from guardrails._meta import Ctx, is_unknown, resource_rule
from guardrails.common import flag, helm_chart_name, obj, to_int
from guardrails.workloads import APPROVED_REGISTRIES, parse_image, registry_approved

RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")

#: Add-ons that need host access by design, and why. Paths are dotted key paths in the release's values
#: (fnmatch patterns); an entry only matters when the stack's values set such a key.
DEFAULT_EXCEPTIONS = [
    {"chart": "kube-prometheus-stack", "path": "prometheus-node-exporter.host*",
     "reason": "node-exporter reports the node's own metrics: it reads the host's /proc, /sys and network "
               "namespace"},
    {"chart": "prometheus-node-exporter", "path": "host*",
     "reason": "node-exporter reports the node's own metrics: it reads the host's /proc, /sys and network "
               "namespace"},
    {"chart": "dcgm-exporter", "path": "securityContext.*",
     "reason": "DCGM reads GPU profiling counters, which needs SYS_ADMIN on the GPU node"},
    {"chart": "nvidia-device-plugin", "path": "*hostPath*",
     "reason": "device plugins register with the kubelet through its socket directory on the host"},
    {"chart": "aws-efa-k8s-device-plugin", "path": "*hostPath*",
     "reason": "device plugins register with the kubelet through its socket directory on the host"},
]


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every ``(path, value)`` in a values tree, without reading unknown (preview) values into an error."""
    if isinstance(value, Mapping):
        for key in list(dict.keys(value)) if isinstance(value, dict) else list(value):
            child = dict.__getitem__(value, key) if isinstance(value, dict) else value[key]
            if is_unknown(child):
                continue
            yield path + (str(key),), child
            yield from _walk(child, path + (str(key),))
    elif isinstance(value, list):
        for i, child in enumerate(list.__iter__(value)):
            if is_unknown(child):
                continue
            yield path + (f"[{i}]",), child
            yield from _walk(child, path + (f"[{i}]",))


def _get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` read raw, None when absent or not known yet."""
    if not isinstance(mapping, Mapping):
        return None
    value = dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)
    return None if is_unknown(value) else value


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path).replace(".[", "[")


def _pod_security_findings(path: tuple[str, ...], value: Any, allowed_caps: set[str]) -> Iterator[str]:
    key = path[-1] if path else ""
    parent = path[-2] if len(path) > 1 else ""
    if key == "privileged" and flag(value) is True:
        yield "runs a privileged container"
    elif key in ("hostNetwork", "hostPID", "hostIPC") and flag(value) is True:
        yield f"shares the node's {key[4:]} namespace"
    elif key == "hostPort" and (to_int(value) or flag(_get(value, "enabled")) is True):
        yield "binds a port on the node (hostPort)"
    elif key == "allowPrivilegeEscalation" and flag(value) is True:
        yield "allows privilege escalation"
    elif key == "add" and parent == "capabilities" and isinstance(value, list):
        extra = sorted({str(c).upper().removeprefix("CAP_") for c in value} - allowed_caps)
        if extra:
            yield f"adds capabilities {', '.join(extra)}"
    elif key == "runAsUser" and to_int(value) == 0:
        yield "runs as root (runAsUser: 0)"
    elif key == "runAsNonRoot" and flag(value) is False:
        yield "lets the container run as root (runAsNonRoot: false)"
    elif key == "hostPath" and (isinstance(value, Mapping) or (isinstance(value, str) and value.startswith("/"))):
        where = _get(value, "path") if isinstance(value, Mapping) else value
        yield f"mounts the node's {where or 'filesystem'} (hostPath)"
    elif key == "type" and parent == "seccompProfile" and value == "Unconfined":
        yield "turns seccomp off (Unconfined)"


def _image_findings(path: tuple[str, ...], value: Any, patterns: list[str]) -> Iterator[str]:
    key = path[-1] if path else ""
    ref = None
    if key == "image" and isinstance(value, str) and value.strip():
        ref = value.strip()
        registry, repo, tag, digest = parse_image(ref)
        if not digest and (tag is None or tag == "latest"):
            yield f"uses image {ref!r}, which is not pinned (no tag, or latest)"
    elif isinstance(_get(value, "repository"), str) and _get(value, "repository"):
        repo_value = str(_get(value, "repository"))
        reg = _get(value, "registry")
        ref = f"{reg}/{repo_value}" if isinstance(reg, str) and reg else repo_value
        tag = _get(value, "tag")
        if isinstance(tag, str) and tag.strip().lower() == "latest":
            yield f"pins image {ref!r} to the latest tag"
        registry, repo, _, _ = parse_image(ref)
    else:
        return
    if not registry_approved(registry, repo, patterns):
        yield f"pulls image {ref!r} from {registry}, which is not an approved registry"


@resource_rule(
    name="helm-values-pod-security",
    description="Helm release values never switch on what the pod rules forbid (privileged, host namespaces or "
                "ports, added capabilities, privilege escalation, root, hostPath, Unconfined seccomp) nor pull "
                "unpinned or unapproved images, at any depth of the values tree, except the per-chart exceptions "
                "the config lists with a reason.",
    remediation="Remove the value (the chart's hardened default applies), or add {chart, path, reason} to "
                "exceptions in the stack's policy config after review.",
    types=RELEASE_TYPES,
    config={
        "exceptions": {
            "type": "array", "items": {"type": "object"}, "default": DEFAULT_EXCEPTIONS,
            "description": "{chart, path (fnmatch on the dotted values path), reason}: settings an add-on needs.",
        },
        "allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "Capabilities values may add without an exception."},
        "approvedRegistries": {
            "type": "array", "items": {"type": "string"}, "default": APPROVED_REGISTRIES,
            "description": "Registry patterns images set in values may come from (as for workloads).",
        },
    },
)
def helm_values_pod_security(props: dict, ctx: Ctx) -> Iterable[str]:
    values = props.get("values") if "values" in props else None
    if not isinstance(values, Mapping):
        return
    chart = helm_chart_name(props.get("chart"))
    exceptions = [obj(e) for e in ctx.config.get("exceptions") or []]
    mine = [str(e.get("path") or "") for e in exceptions
            if fnmatch.fnmatchcase(chart, str(e.get("chart") or "")) and str(e.get("reason") or "").strip()]
    caps = {str(c).upper().removeprefix("CAP_") for c in ctx.config.get("allowedCapabilities") or []}
    patterns = [str(p) for p in ctx.config.get("approvedRegistries") or []]
    for path, value in _walk(values):
        at = dotted(path)
        findings = list(_pod_security_findings(path, value, caps)) + list(_image_findings(path, value, patterns))
        if findings and any(fnmatch.fnmatchcase(at, p) for p in mine):
            continue
        for f in findings:
            yield f"values.{at} {f} (chart {chart or '?'})"
