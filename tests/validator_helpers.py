"""Run the outside validators (validators/, what `make validate` runs) on a mock run or on plain objects.

Tests use these instead of their own copies of upstream rules: a program run is
written out exactly as ``python -m automation plan --manifests/--json`` writes
it and handed to :func:`validators.__main__.validate_stack`.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from automation.offline.plan import resource_json, write_manifests
from automation.offline.runner import ProgramRun
from validators.__main__ import validate_stack
from validators.manifests import Manifest
from validators.report import Finding, Report

K8S = "1.35"
#: The validators that need neither checkov nor parliament (fast enough for unit tests).
OFFLINE = ("crds", "admission", "scalers", "helm")


def validate_run(run: ProgramRun, only: Sequence[str] = OFFLINE, k8s_version: str = K8S,
                 extra: Sequence[dict] = ()) -> Report:
    """The run's Kubernetes objects and Helm releases through the outside validators; ``extra`` objects are
    added as if the run created them (what another component of the stack would)."""
    with tempfile.TemporaryDirectory(prefix="validate-run-") as tmp:
        mdir, plan = Path(tmp) / "manifests", Path(tmp) / "plan.json"
        write_manifests(run, mdir)
        for i, obj in enumerate(extra):
            (mdir / f"zz-extra-{i}.yaml").write_text(f"# urn: urn:pulumi:test::mlplatform::extra::{i}\n"
                                                     + yaml.safe_dump(obj))
        plan.write_text(json.dumps({"resources": [resource_json(r) for r in run.registrations]}, default=str))
        return validate_stack("test", mdir, plan, list(only), Report("test"), k8s_version=k8s_version)


def validate_objects(objs: Iterable[dict], only: Sequence[str] = OFFLINE, k8s_version: str = K8S,
                     releases: Sequence[dict] = ()) -> Report:
    """Plain objects (one manifest each) and plan resources (Helm releases) through the outside validators."""
    with tempfile.TemporaryDirectory(prefix="validate-objs-") as tmp:
        mdir, plan = Path(tmp) / "manifests", Path(tmp) / "plan.json"
        mdir.mkdir()
        for i, obj in enumerate(objs):
            (mdir / f"{i:03d}.yaml").write_text(f"# urn: urn:pulumi:test::mlplatform::x::{i}\n" + yaml.safe_dump(obj))
        plan.write_text(json.dumps({"resources": list(releases)}))
        return validate_stack("test", mdir, plan, list(only), Report("test"), k8s_version=k8s_version)


def manifest(obj: dict) -> Manifest:
    """One object as a plan manifest (a unique path: validators cache per-object results by path and URN)."""
    key = uuid.uuid4().hex[:12]
    return Manifest(path=Path(f"{key}.yaml"), urn=f"urn:pulumi:test::mlplatform::x::{key}", obj=obj)


def findings(report: Report, validator: str | None = None) -> list[Finding]:
    return [f for f in report.findings if validator is None or f.validator == validator]


def rendered(report: Report) -> list[str]:
    return [f.render() for f in report.findings]
