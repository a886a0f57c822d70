"""Reading existing workloads (a directory of manifests, or a kustomization) for import into a team namespace.

Pure Python (PyYAML only, no Pulumi), so config validation can call it before
any resource is registered and the offline plan sees exactly the objects that
will be applied.

Tenancy rules for imported objects:

* every namespaced object lands in the team's namespace (``metadata.namespace``
  is forced, whatever the file says);
* cluster-scoped objects (Namespaces, ClusterRoles, CRDs, StorageClasses...)
  are refused: a team import must not change the cluster for everyone;
* a kustomization may not set a ``namespace:`` other than the team's (kustomize's
  own namespace transformer would win over the one Pulumi passes).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import yaml

#: Kinds that have no namespace. Imports may not create them.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService", "PriorityClass",
    "RuntimeClass", "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest",
    "ClusterTrainingRuntime", "ClusterQueue", "ResourceFlavor", "Cohort", "WorkloadPriorityClass",
    "NodePool", "EC2NodeClass", "ENIConfig", "ClusterIssuer",
})
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class SourceError(ValueError):
    """An import source is unusable; the message names the file and the problem."""


def _documents(text: str, source: str) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SourceError(f"{source} is not valid YAML: {str(exc).splitlines()[0]}") from None
    out: list[dict] = []
    for d in docs:
        if not isinstance(d, dict):
            raise SourceError(f"{source} holds a document that is not a Kubernetes object")
        if str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            out.extend(d["items"])
        else:
            out.append(d)
    for o in out:
        if not o.get("apiVersion") or not o.get("kind") or not (o.get("metadata") or {}).get("name"):
            raise SourceError(f"{source} has an object without apiVersion, kind or metadata.name")
    return out


def manifest_files(directory: Path) -> list[Path]:
    """Manifest files under ``directory`` (recursively, sorted), kustomization files excluded."""
    if not directory.is_dir():
        raise SourceError(f"{directory} is not a directory")
    files = sorted(p for p in directory.rglob("*")
                   if p.is_file() and p.suffix in MANIFEST_SUFFIXES and p.name not in KUSTOMIZATION_FILES)
    if not files:
        raise SourceError(f"{directory} holds no .yaml, .yml or .json manifests")
    return files


def read_objects(directory: Path) -> list[dict]:
    objs: list[dict] = []
    for path in manifest_files(directory):
        objs += _documents(path.read_text(encoding="utf-8"), str(path))
    return objs


def into_namespace(objs: Iterable[dict], namespace: str, source: str = "") -> list[dict]:
    """Copies of ``objs`` with ``metadata.namespace`` forced to ``namespace``; cluster-scoped kinds refused."""
    out = []
    for o in objs:
        kind = str(o.get("kind"))
        if kind in CLUSTER_SCOPED_KINDS:
            name = (o.get("metadata") or {}).get("name")
            raise SourceError(f"{source or 'import'}: {kind} {name!r} is cluster-scoped; a team import may only "
                              f"create objects in namespace {namespace!r}")
        c = copy.deepcopy(o)
        c.setdefault("metadata", {})["namespace"] = namespace
        out.append(c)
    return out


def load_manifests(directory: Path, namespace: str) -> list[dict]:
    """Every object in the directory, ready to apply into ``namespace``."""
    return into_namespace(read_objects(directory), namespace, str(directory))


def _kustomization(directory: Path) -> tuple[Path, dict[str, Any]]:
    if not directory.is_dir():
        raise SourceError(f"{directory} is not a directory")
    for name in KUSTOMIZATION_FILES:
        path = directory / name
        if path.exists():
            break
    else:
        raise SourceError(f"{directory} has no kustomization.yaml")
    try:
        k = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(k, dict):
        raise SourceError(f"{path} is not a kustomization")
    return path, k


def check_kustomization(directory: Path, namespace: str, _depth: int = 0) -> dict[str, Any]:
    """The parsed kustomization, after checking it can only land in ``namespace``.

    Pulumi passes the team namespace as the *default*; kustomize's own
    ``namespace:`` and an object's explicit namespace would override it. So a
    kustomization (or any base it includes) may not pin another namespace, its
    local resources may not name another namespace or be cluster-scoped, and
    remote bases are refused: they cannot be checked before they are applied
    (vendor them into the directory instead).
    """
    if _depth > 10:
        raise SourceError(f"{directory}: kustomization bases nest too deep")
    path, k = _kustomization(directory)
    pinned = k.get("namespace")
    if pinned and pinned != namespace:
        raise SourceError(f"{path} sets namespace {pinned!r}; imports into team {namespace!r} must not pin another")
    for res in list(k.get("resources") or []) + list(k.get("bases") or []):
        if "://" in str(res) or str(res).startswith(("github.com/", "git@")):
            raise SourceError(f"{path}: remote resource {res} cannot be checked before it is applied; vendor it")
        target = (directory / res).resolve()
        if target.is_dir():
            check_kustomization(target, namespace, _depth + 1)
            continue
        if not target.is_file():
            raise SourceError(f"{path}: resource {res} does not exist")
        for o in _documents(target.read_text(encoding="utf-8"), str(target)):
            kind, meta = str(o.get("kind")), o.get("metadata") or {}
            if kind in CLUSTER_SCOPED_KINDS:
                raise SourceError(f"{target}: {kind} {meta.get('name')!r} is cluster-scoped; a team import may only "
                                  f"create objects in namespace {namespace!r}")
            if meta.get("namespace") not in (None, namespace) and not pinned:
                raise SourceError(f"{target}: {kind} {meta.get('name')!r} names namespace {meta['namespace']!r}, "
                                  f"not the team's {namespace!r}")
    return k
