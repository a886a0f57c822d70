"""Extract the KEDA facts the inference tests check against, from fetched upstream mirrors.

    python -m tools.keda_facts [--mirrors /work/.mirror]

Writes ``tests/fixtures/keda/`` (facts, not prose; every ``description`` dropped):

* ``scaledobjects.json`` / ``clustertriggerauthentications.json``: the v1alpha1
  ``openAPIV3Schema`` of each CRD (kedacore/keda ``config/crd/bases/``), CEL
  rules (``x-kubernetes-validations``) kept in place;
* ``triggers.json``: per scaler we use (``prometheus``, ``aws-cloudwatch``), the
  trigger ``metadata`` keys the scaler reads from ``triggerMetadata`` and whether
  each is optional (the ``keda:"name=...,order=...,optional|default="`` struct tags
  in ``pkg/scalers/<scaler>_scaler.go``);
* ``values.json``: every key path of the chart's ``values.yaml`` (kedacore/charts
  ``keda/``) with the type of its default, so a test can prove each value we set
  is one the chart reads;
* ``PROVENANCE.json``: repository, tag, commit, path and sha256 of every upstream file read.

The version is :data:`components.versions.HELM_CHARTS` ``["keda"]`` (chart and
app share it). Tests read only the written files, so CI needs no mirror. This
is a stop-gap next to the general ``upstream/`` vendoring (tools/vendor_upstream):
once KEDA's CRDs are vendored there, point the tests at them and drop this.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "keda"
SCALERS = {"prometheus": "pkg/scalers/prometheus_scaler.go", "aws-cloudwatch": "pkg/scalers/aws_cloudwatch_scaler.go"}
CRDS = {"scaledobjects": "config/crd/bases/keda.sh_scaledobjects.yaml",
        "clustertriggerauthentications": "config/crd/bases/keda.sh_clustertriggerauthentications.yaml"}
_TAG_RE = re.compile(r'keda:"([^"]+)"')


def _git(mirrors: Path, repo: str, *args: str) -> bytes:
    git = mirrors / repo.replace("/", "+") / "repo"
    return subprocess.run(["git", f"--git-dir={git}", *args], check=True, capture_output=True).stdout


def _read(mirrors: Path, repo: str, tag: str, path: str, prov: list) -> bytes:
    commit = _git(mirrors, repo, "rev-parse", f"{tag}^{{commit}}").decode().strip()
    raw = _git(mirrors, repo, "show", f"{commit}:{path}")
    prov.append({"repo": repo, "tag": tag, "commit": commit, "path": path,
                 "sha256": hashlib.sha256(raw).hexdigest()})
    return raw


def strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def crd_schema(raw: bytes, version: str = "v1alpha1") -> dict:
    doc = yaml.safe_load(raw)
    (ver,) = [v for v in doc["spec"]["versions"] if v["name"] == version]
    return {"group": doc["spec"]["group"], "kind": doc["spec"]["names"]["kind"], "version": version,
            "scope": doc["spec"]["scope"], "schema": strip_descriptions(ver["schema"]["openAPIV3Schema"])}


def trigger_keys(source: str) -> dict[str, dict]:
    """{metadata key: {"optional": bool}} for the fields read from triggerMetadata."""
    keys: dict[str, dict] = {}
    for tag in _TAG_RE.findall(source):
        parts = [p.strip() for p in tag.split(",")]
        opts = dict(p.split("=", 1) if "=" in p else (p, "") for p in parts)
        if "triggerMetadata" not in opts.get("order", "").split(";"):
            continue
        keys[opts["name"]] = {"optional": "optional" in opts or "default" in opts}
    return keys


def value_paths(node: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            out[path] = _type(v)
            out.update(value_paths(v, path))
    return out


def _type(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}[type(v)]


def main() -> None:
    from components import versions

    ap = argparse.ArgumentParser()
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = ap.parse_args()
    pin = versions.HELM_CHARTS["keda"]
    tag = f"v{pin.version}"
    prov: list = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in CRDS.items():
        schema = crd_schema(_read(args.mirrors, "kedacore/keda", tag, path, prov))
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    triggers = {t: trigger_keys(_read(args.mirrors, "kedacore/keda", tag, p, prov).decode())
                for t, p in SCALERS.items()}
    (OUT / "triggers.json").write_text(json.dumps(triggers, indent=1, sort_keys=True) + "\n")
    values = yaml.safe_load(_read(args.mirrors, "kedacore/charts", tag, "keda/values.yaml", prov))
    (OUT / "values.json").write_text(json.dumps(value_paths(values), indent=1, sort_keys=True) + "\n")
    chart = yaml.safe_load(_read(args.mirrors, "kedacore/charts", tag, "keda/Chart.yaml", prov))
    (OUT / "PROVENANCE.json").write_text(json.dumps({
        "chart": {"name": chart["name"], "version": chart["version"], "appVersion": chart["appVersion"]},
        "fetched": _dt.date.today().isoformat(), "files": prov}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
