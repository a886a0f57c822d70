"""Read the vendored upstream facts under ``upstream/`` (see tools/vendor_upstream).

Nothing here knows a CRD or a chart by name: CRDs are indexed by the
(group, version, kind) they declare, charts by the folder they were vendored
to, and every fact carries its provenance from ``upstream/MANIFEST.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "upstream"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    with path.open() as f:
        return yaml.load(f, Loader=_Loader)


@lru_cache(maxsize=1)
def manifest() -> dict[str, dict]:
    """file (relative to upstream/) -> manifest entry."""
    data = json.loads((UPSTREAM / "MANIFEST.json").read_text())
    return {e["file"]: e for e in data["files"]}


def provenance(file: str) -> str:
    """``repo@ref:path`` of a vendored file, for messages."""
    e = manifest().get(file)
    return f"{e['repo']}@{e['ref']}:{e['path']}" if e else f"upstream/{file}"


# --------------------------------------------------------------------------- CRDs


@dataclass(frozen=True)
class CrdVersion:
    """One served version of a vendored CRD."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    file: str  # relative to upstream/

    @property
    def source(self) -> str:
        return provenance(self.file)

    def schema(self) -> dict:
        return _schemas(self.file)[self.version]


_SCHEMAS: dict[str, dict[str, dict]] = {}


def _schemas(file: str) -> dict[str, dict]:
    if file not in _SCHEMAS:
        crd = load_yaml(UPSTREAM / file)
        _SCHEMAS[file] = {v["name"]: v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]}
    return _SCHEMAS[file]


@lru_cache(maxsize=1)
def crd_index() -> dict[tuple[str, str, str], CrdVersion]:
    """(group, version, kind) -> the vendored CRD version that serves it.

    Loads every vendored CRD once (schemas are kept for :meth:`CrdVersion.schema`).
    """
    out: dict[tuple[str, str, str], CrdVersion] = {}
    for path in sorted((UPSTREAM / "crds").rglob("*.yaml")):
        rel = path.relative_to(UPSTREAM).as_posix()
        crd = load_yaml(path)
        spec = crd["spec"]
        _SCHEMAS[rel] = {v["name"]: v["schema"]["openAPIV3Schema"] for v in spec["versions"]}
        for v in spec["versions"]:
            if not v.get("served", True):
                continue
            key = (spec["group"], v["name"], spec["names"]["kind"])
            out[key] = CrdVersion(group=spec["group"], version=v["name"], kind=spec["names"]["kind"],
                                  plural=spec["names"]["plural"], namespaced=spec.get("scope") == "Namespaced",
                                  file=rel)
    return out


def crd_for(group: str, version: str, kind: str) -> Optional[CrdVersion]:
    return crd_index().get((group, version, kind))


def kinds_in_group(group: str) -> list[str]:
    return sorted({f"{g}/{v} {k}" for g, v, k in crd_index() if g == group})


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class ChartFacts:
    """A vendored chart: Chart.yaml facts, default values, template-read paths, subcharts."""

    folder: str  # relative to upstream/, e.g. charts/kube-prometheus-stack
    meta: Mapping[str, Any]
    defaults: Mapping[str, Any]
    reads: frozenset[tuple[str, ...]]
    whole: frozenset[tuple[str, ...]]
    schema: Optional[Mapping[str, Any]]
    subcharts: Mapping[str, "ChartFacts"]  # values key (alias or name) -> facts

    @property
    def name(self) -> str:
        return str(self.meta.get("name"))

    @property
    def version(self) -> str:
        return str(self.meta.get("version"))

    @property
    def source(self) -> str:
        return provenance(f"{self.folder}/chart.yaml").rsplit("/Chart.yaml", 1)[0]

    def dependency(self, key: str) -> Optional[Mapping[str, Any]]:
        for d in self.meta.get("dependencies") or []:
            if (d.get("alias") or d.get("name")) == key:
                return d
        return None


def _load_chart(folder: Path) -> ChartFacts:
    rel = folder.relative_to(UPSTREAM).as_posix()
    templates = load_yaml(folder / "templates.yaml") or {}
    schema_file = folder / "values.schema.json"
    subs: dict[str, ChartFacts] = {}
    meta = load_yaml(folder / "chart.yaml") or {}
    if (folder / "charts").is_dir():
        for sub in sorted((folder / "charts").iterdir()):
            if (sub / "chart.yaml").exists():
                facts = _load_chart(sub)
                key = facts.name
                for d in meta.get("dependencies") or []:
                    if d.get("name") == facts.name and d.get("alias"):
                        key = d["alias"]
                subs[key] = facts
    return ChartFacts(
        folder=rel,
        meta=meta,
        defaults=load_yaml(folder / "values.yaml") or {},
        reads=frozenset(tuple(p) for p in templates.get("reads") or []),
        whole=frozenset(tuple(p) for p in templates.get("whole") or []),
        schema=json.loads(schema_file.read_text()) if schema_file.exists() else None,
        subcharts=subs,
    )


@lru_cache(maxsize=1)
def charts() -> dict[str, ChartFacts]:
    """Chart name -> facts, for every top-level chart vendored under upstream/charts/."""
    out = {}
    base = UPSTREAM / "charts"
    if base.is_dir():
        for folder in sorted(base.iterdir()):
            if (folder / "chart.yaml").exists():
                facts = _load_chart(folder)
                out[facts.name] = facts
    return out


# --------------------------------------------------------------------------- KEDA scalers

SCALERS_FILE = "keda/scalers.yaml"


@lru_cache(maxsize=1)
def keda_scalers() -> dict[str, dict]:
    """KEDA trigger type -> what its scaler reads from the trigger (tools/vendor_upstream/sources_keda.py)."""
    path = UPSTREAM / SCALERS_FILE
    return dict((load_yaml(path) or {}).get("scalers") or {}) if path.exists() else {}
