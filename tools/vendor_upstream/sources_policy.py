"""Public rule sets the policy pack is measured against (README "Coverage").

What is kept (facts, not prose: ids, kinds and resource types, never check titles or benchmark text):

* ``policy/checkov-3.3.30.json``: every checkov 3.3.30 Kubernetes check (resource checks and graph checks) with
  the module it lives in, its base class and the kinds it declares, and every Terraform AWS check whose
  supported resources are EKS resources. Read from the wheel: the source is the wheel's ``RECORD``, whose
  sha256 pins every file listed, and each check file read is verified against it.
* ``policy/cis-eks-1.8.0-<section>.json``: the recommendation ids of the CIS Amazon EKS Benchmark 1.8.0 as
  kube-bench encodes them (``cfg/eks-1.8.0``), with kube-bench's ``type`` (manual or automated) and
  ``scored`` flags.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from typing import Any

import yaml

from tools import vendor_upstream as vu
from tools.vendor_upstream import Source, transform

CHECKOV = "checkov==3.3.30"
KUBE_BENCH = "aquasecurity/kube-bench"
KUBE_BENCH_TAG = "v0.15.6"
CIS_SECTIONS = ("controlplane", "node", "policies", "managedservices")

SOURCES = [
    Source("policy/checkov-3.3.30.json", f"pypi:{CHECKOV}", "3.3.30", "checkov-3.3.30.dist-info/RECORD",
           transform="checkov-check-ids", kind="policy-checks"),
] + [
    Source(f"policy/cis-eks-1.8.0-{section}.json", KUBE_BENCH, KUBE_BENCH_TAG, f"cfg/eks-1.8.0/{section}.yaml",
           transform="kube-bench-ids", kind="policy-checks")
    for section in CIS_SECTIONS
]

_K8S_RESOURCE = re.compile(r"^checkov/kubernetes/checks/resource/k8s/[A-Za-z0-9_]+\.py$")
_K8S_GRAPH = re.compile(r"^checkov/kubernetes/checks/graph_checks/[A-Za-z0-9_]+\.json$")
_AWS_RESOURCE = re.compile(r"^checkov/terraform/checks/resource/aws/[A-Za-z0-9_]+\.py$")
_ID = re.compile(r"""\bid\s*=\s*["'](CKV2?_[A-Z0-9]+_\d+)["']""")
_BASE = re.compile(r"^class\s+\w+\(([\w.]+)\)", re.M)
_KINDS = re.compile(r"supported_(?:kind|kinds|entities|resources)\s*=\s*[\(\[]([^\)\]]*)[\)\]]", re.S)
_QUOTED = re.compile(r"""["']([^"']+)["']""")
_LITERAL = re.compile(r"""^(\s*["'][^"']+["']\s*,?)*\s*$""")


def _record(raw: bytes) -> dict[str, str]:
    """``{path: sha256 hex}`` from a wheel RECORD."""
    out = {}
    for line in raw.decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            digest = base64.urlsafe_b64decode(parts[1][len("sha256="):] + "==").hex()
            out[parts[0]] = digest
    return out


def _number(check_id: str) -> tuple[str, int]:
    prefix, _, num = check_id.rpartition("_")
    return prefix, int(num)


@transform("checkov-check-ids")
def _checkov_check_ids(raw: bytes, src: Source) -> str:
    record = _record(raw)
    spec = src.repo[len("pypi:"):]
    wheel = vu._WHEELS.get(spec)
    if wheel is None:  # read_source fetched RECORD through read_wheel, which caches the wheel
        raise SystemExit(f"{spec}: wheel not downloaded")
    kubernetes: list[dict[str, Any]] = []
    eks: list[dict[str, Any]] = []
    with zipfile.ZipFile(wheel) as zf:
        for path in sorted(record):
            if not (_K8S_RESOURCE.match(path) or _K8S_GRAPH.match(path) or _AWS_RESOURCE.match(path)):
                continue
            data = zf.read(path)
            if hashlib.sha256(data).hexdigest() != record[path]:
                raise SystemExit(f"{path}: sha256 differs from the wheel's RECORD")
            module = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            if _K8S_GRAPH.match(path):
                doc = json.loads(data)
                definition = doc.get("definition") or {}
                filters = [c for c in definition.get("and", []) if c.get("cond_type") == "filter"]
                kinds = sorted({str(v) for f in filters for v in (f.get("value") or [])})
                kubernetes.append({"id": doc["metadata"]["id"], "module": module, "base": "graph", "kinds": kinds})
                continue
            text = data.decode()
            m = _ID.search(text)
            if not m:
                continue  # helpers such as k8s_check_utils.py
            base = _BASE.search(text)
            kinds_m = _KINDS.search(text)
            # Only a literal list of names is a fact we can keep; a computed one (a comprehension over the
            # base class's kinds) or none at all means the base class's default kinds.
            literal = kinds_m is not None and _LITERAL.match(kinds_m.group(1)) is not None
            kinds = sorted(set(_QUOTED.findall(kinds_m.group(1)))) if literal else None
            entry = {"id": m.group(1), "module": module, "base": base.group(1) if base else "", "kinds": kinds}
            if _AWS_RESOURCE.match(path):
                if any(k.startswith("aws_eks_") for k in kinds or []):
                    eks.append({"id": entry["id"], "module": module, "resources": kinds})
            else:
                kubernetes.append(entry)
        # The kinds whose pod templates checkov's container checks read (``BaseK8sContainerCheck``).
        base_path = "checkov/kubernetes/checks/resource/base_container_check.py"
        base_data = zf.read(base_path)
        if hashlib.sha256(base_data).hexdigest() != record.get(base_path):
            raise SystemExit(f"{base_path}: sha256 differs from the wheel's RECORD")
        pod_kinds: set[str] = set()
        for name in ("TEMPLATE_ENTITIES", "SUPPORTED_ENTITIES"):
            m = re.search(name + r"\s*=\s*\(([^)]*)\)", base_data.decode(), re.S)
            if m:
                pod_kinds.update(_QUOTED.findall(m.group(1)))
    kubernetes.sort(key=lambda e: _number(e["id"]))
    eks.sort(key=lambda e: _number(e["id"]))
    return json.dumps({"version": src.ref, "containerCheckKinds": sorted(pod_kinds), "kubernetes": kubernetes,
                       "eks": eks}, indent=1) + "\n"


@transform("kube-bench-ids")
def _kube_bench_ids(raw: bytes, src: Source) -> str:
    doc = yaml.safe_load(raw)
    items = []
    for group in doc.get("groups") or []:
        for check in group.get("checks") or []:
            items.append({"id": str(check["id"]), "group": str(group["id"]),
                          "type": str(check.get("type") or "automated"), "scored": bool(check.get("scored"))})
    return json.dumps({"benchmark": str(doc.get("version")), "section": str(doc.get("id")), "items": items},
                      indent=1) + "\n"
