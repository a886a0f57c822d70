"""Offline expansion of provider-side Kubernetes components.

``kubernetes:yaml/v2:ConfigGroup`` and ``kubernetes:kustomize/v2:Directory``
are expanded by the Kubernetes provider, which does not run offline, so under
mocks they register nothing below themselves and their objects would escape
the policy pack. The offline plan expands them itself and registers each object
as a child with ``origin="expanded"``:

* ConfigGroup: ``objs``, ``yaml`` and ``files`` are parsed exactly as written
  (this is what the provider does, short of server-side defaulting).
* kustomize Directory: the common subset (``resources`` files and bases,
  ``namespace``, ``namePrefix``/``nameSuffix``, ``labels``/``commonLabels``,
  ``commonAnnotations``). Anything else (patches, generators, helmCharts,
  remote bases) cannot be reproduced without kustomize; such a directory is
  reported as not expanded rather than half-checked.
* Helm charts (``helm.sh/v4:Chart``) need ``helm template`` and are reported
  as not expanded; ``helm.sh/v3:Release`` values are checked as inputs.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Iterable, Optional

import yaml

from .mocks import fake_id
from .monitor import Registration, holds_unknown

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
KUSTOMIZE = "kubernetes:kustomize/v2:Directory"
HELM_CHART_V4 = "kubernetes:helm.sh/v4:Chart"
_SUPPORTED_KUSTOMIZE = {"apiVersion", "kind", "resources", "namespace", "namePrefix", "nameSuffix", "labels",
                        "commonLabels", "commonAnnotations", "bases"}


class NotExpandable(Exception):
    """The component's contents cannot be reproduced offline; the message says why."""


def type_token(obj: dict) -> str:
    """Pulumi type token for a Kubernetes object: ``apps/v1`` + ``Deployment`` -> ``kubernetes:apps/v1:Deployment``."""
    api = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    if not api or not kind:
        raise NotExpandable(f"object without apiVersion/kind: {str(obj)[:80]}")
    group_version = api if "/" in api else f"core/{api}"
    return f"kubernetes:{group_version}:{kind}"


def _docs(text: str, source: str) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise NotExpandable(f"{source} is not valid YAML: {str(exc).splitlines()[0]}") from None
    out: list[dict] = []
    for d in docs:
        if isinstance(d, dict) and str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            out.extend(d["items"])
        elif isinstance(d, dict):
            out.append(d)
        else:
            raise NotExpandable(f"{source} holds a YAML document that is not an object")
    return out


def config_group_objects(inputs: dict, cwd: Path) -> list[dict]:
    objs: list[dict] = [o for o in inputs.get("objs") or [] if isinstance(o, dict)]
    raw = inputs.get("yaml")
    if isinstance(raw, str):
        objs += _docs(raw, "yaml")
    elif isinstance(raw, list):
        for i, text in enumerate(raw):
            objs += _docs(text, f"yaml[{i}]")
    for pattern in inputs.get("files") or []:
        if "://" in pattern:
            raise NotExpandable(f"remote file {pattern} cannot be read offline")
        matches = sorted(glob.glob(str(cwd / pattern))) or ([str(cwd / pattern)] if (cwd / pattern).exists() else [])
        if not matches:
            raise NotExpandable(f"file {pattern} does not exist")
        for path in matches:
            objs += _docs(Path(path).read_text(), path)
    return objs


def kustomize_objects(directory: Path, namespace: Optional[str] = None, _depth: int = 0) -> list[dict]:
    if _depth > 10:
        raise NotExpandable("kustomization bases nest too deep")
    for fname in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        kfile = directory / fname
        if kfile.exists():
            break
    else:
        raise NotExpandable(f"{directory} has no kustomization.yaml")
    k = yaml.safe_load(kfile.read_text()) or {}
    unsupported = sorted(set(k) - _SUPPORTED_KUSTOMIZE)
    if unsupported:
        raise NotExpandable(f"{kfile} uses {', '.join(unsupported)}, which only kustomize itself can apply")
    objs: list[dict] = []
    for res in list(k.get("resources") or []) + list(k.get("bases") or []):
        if "://" in res or res.startswith("github.com/"):
            raise NotExpandable(f"remote base {res} cannot be fetched offline")
        path = directory / res
        objs += kustomize_objects(path, None, _depth + 1) if path.is_dir() else _docs(path.read_text(), str(path))
    labels = dict(k.get("commonLabels") or {})
    for entry in k.get("labels") or []:
        labels.update(entry.get("pairs") or {})
    annotations = dict(k.get("commonAnnotations") or {})
    ns = k.get("namespace") or namespace
    for o in objs:
        meta = o.setdefault("metadata", {})
        if k.get("namePrefix") or k.get("nameSuffix"):
            meta["name"] = f"{k.get('namePrefix', '')}{meta.get('name', '')}{k.get('nameSuffix', '')}"
        if ns and o.get("kind") not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"):
            meta["namespace"] = ns
        if labels:
            meta["labels"] = {**(meta.get("labels") or {}), **labels}
        if annotations:
            meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return objs


def expand(reg: Registration, cwd: Path) -> list[Registration]:
    """Children the provider would register for ``reg`` (raises NotExpandable when it cannot be reproduced)."""
    inputs = reg.inputs
    if reg.type in (CONFIG_GROUP, KUSTOMIZE):
        unknown = sorted(k for k, v in inputs.items() if holds_unknown(v))
        if unknown:
            # The provider cannot expand what it cannot read either: in a preview it registers nothing for it.
            raise NotExpandable(f"{', '.join(unknown)} is unknown until the resources it depends on exist")
    if reg.type == CONFIG_GROUP:
        objs = config_group_objects(inputs, cwd)
        prefix = inputs.get("resourcePrefix")
    elif reg.type == KUSTOMIZE:
        directory = inputs.get("directory") or ""
        if "://" in directory:
            raise NotExpandable(f"remote kustomization {directory} cannot be fetched offline")
        objs = kustomize_objects(cwd / directory, inputs.get("namespace"))
        prefix = inputs.get("resourcePrefix")
    elif reg.type == HELM_CHART_V4:
        raise NotExpandable("Helm charts need `helm template`, which the offline plan does not run")
    else:
        return []
    children = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))
        if prefix:
            name = f"{prefix}:{name}"
        type_ = type_token(obj)
        parent_type = reg.urn.split("::")[2]
        urn = "::".join(reg.urn.split("::")[:2] + [f"{parent_type}${type_}", name])
        children.append(Registration(
            urn=urn, type=type_, name=name, parent=reg.urn, custom=True, remote=False, provider=reg.provider,
            dependencies=[], property_dependencies={}, wire_inputs=obj,
            id="" if reg.pending else fake_id(type_, name, obj),
            wire_outputs=obj, options={}, origin="expanded", pending=reg.pending,
        ))
    return children


def expand_all(regs: Iterable[Registration], cwd: Path) -> tuple[list[Registration], list[tuple[str, str]]]:
    """(expanded children, [(urn, why not expanded)])."""
    children: list[Registration] = []
    skipped: list[tuple[str, str]] = []
    for reg in regs:
        try:
            children += expand(reg, cwd)
        except NotExpandable as exc:
            skipped.append((reg.urn, str(exc)))
        except OSError as exc:
            skipped.append((reg.urn, f"{exc.strerror}: {exc.filename}"))
    return children, skipped
