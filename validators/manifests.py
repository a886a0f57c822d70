"""Read the manifests written by ``python -m automation plan --manifests DIR``.

Each file holds one object and starts with a ``# urn: ...`` comment naming the
Pulumi resource that would apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from validators.report import Subject

_URN_RE = re.compile(r"^#\s*urn:\s*(\S+)\s*$", re.MULTILINE)


class ManifestError(Exception):
    """A manifest file cannot be read as one Kubernetes object."""


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object from the plan."""

    path: Path
    urn: str
    obj: Mapping[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def group(self) -> str:
        """API group ("" for core); ``kueue.x-k8s.io`` for ``kueue.x-k8s.io/v1beta2``."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def subject(self) -> Subject:
        return Subject(urn=self.urn, file=self.path.name, kind=self.kind, namespace=self.namespace, name=self.name)


def load_manifest(path: Path) -> Manifest:
    text = path.read_text()
    m = _URN_RE.search(text.split("\n", 1)[0])
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ManifestError(f"{path.name}: expected exactly one object, found {len(docs)} documents")
    return Manifest(path=path, urn=m.group(1) if m else "", obj=docs[0])


def load_manifests(directory: Path) -> list[Manifest]:
    """Every ``*.yaml`` in ``directory``, sorted by file name (the plan's order is by URN)."""
    if not directory.is_dir():
        raise ManifestError(f"{directory} is not a directory")
    return [load_manifest(p) for p in sorted(directory.glob("*.yaml"))]


def find(manifests: list[Manifest], kind: str, name: str, namespace: Optional[str] = None) -> Optional[Manifest]:
    for m in manifests:
        if m.kind == kind and m.name == name and (namespace is None or m.namespace == namespace):
            return m
    return None
