"""checkov (framework ``kubernetes``) over the planned manifests, CRD pod templates included.

checkov does not look inside custom resources, so every pod template of a
PyTorchJob, TrainJob or Trainer runtime is wrapped as a Pod first
(:mod:`validators.pods`) and scanned next to the original manifests. checkov
runs offline (``--skip-download``) from its own virtualenv
(:mod:`validators.envs`), writes JSON, and we map each failed check back to the
object and field it came from.

Skips: ``validators/checkov-skips.yaml`` is THE list of skipped check IDs, each
with its reason; they are passed as ``--skip-check``. Inline suppressions
(``checkov.io/skip*`` annotations on an object) bypass that list, so any check
checkov reports as skipped is itself a failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from validators import envs, pods
from validators.manifests import Manifest
from validators.report import Finding, Section, Subject

VALIDATOR = "checkov"
SKIPS_FILE = Path(__file__).resolve().parent / "checkov-skips.yaml"
_CHECK_ID = re.compile(r"^CKV2?_K8S_\d+$")
TIMEOUT_SECONDS = 600


class CheckovError(Exception):
    """checkov could not run or its output could not be read."""


@dataclass(frozen=True)
class Skip:
    id: str
    reason: str


def _entries(path: Path, data: dict, key: str) -> list[Skip]:
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise CheckovError(f"{path.name}: '{key}' must be a list")
    out, seen = [], set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not _CHECK_ID.match(str(e.get("id", ""))):
            raise CheckovError(f"{path.name}: {key}[{i}] needs an id like CKV_K8S_123")
        if not str(e.get("reason") or "").strip():
            raise CheckovError(f"{path.name}: {key}[{i}] ({e['id']}) needs a reason")
        if e["id"] in seen:
            raise CheckovError(f"{path.name}: {e['id']} is listed twice under {key}")
        seen.add(e["id"])
        out.append(Skip(str(e["id"]), " ".join(str(e["reason"]).split())))
    return out


@dataclass(frozen=True)
class Skips:
    """``skips``: checks not run at all; ``wrapped_batch_pods``: checks not run on wrapped training pods."""

    everywhere: list[Skip]
    wrapped_batch_pods: list[Skip]


def load_skips(path: Path = SKIPS_FILE) -> Skips:
    """The skip lists; every entry needs a CKV(2)_K8S_ id and a non-empty reason."""
    data = yaml.safe_load(path.read_text()) or {}
    unknown = set(data) - {"skips", "wrapped_batch_pods"}
    if unknown:
        raise CheckovError(f"{path.name}: unknown key(s) {', '.join(sorted(unknown))}")
    return Skips(_entries(path, data, "skips"), _entries(path, data, "wrapped_batch_pods"))


@dataclass(frozen=True)
class Scanned:
    """A file handed to checkov and what it stands for."""

    subject: Subject
    where: str = ""  # pod template path inside the source object, for wrapped pods
    note: str = ""


def stage(manifests: list[Manifest], directory: Path, batch_skips: tuple[Skip, ...] = ()) -> dict[str, Scanned]:
    """Write the manifests and the wrapped CRD pods into ``directory``; map file name -> what it is.

    Wrapped training pods carry checkov's own suppression annotations for ``batch_skips`` only: they stand
    for batch Jobs (Trainer's JobSet Jobs, PyTorchJob replicas), which checkov exempts from some checks,
    but checkov only sees a bare Pod.
    """
    index: dict[str, Scanned] = {}
    for m in manifests:
        (directory / m.path.name).write_text(yaml.safe_dump(dict(m.obj), sort_keys=False))
        index[m.path.name] = Scanned(m.subject)
    for w in pods.wrap(manifests):
        meta = w.pod["metadata"]
        for i, skip in enumerate(batch_skips, start=1):
            meta["annotations"][f"checkov.io/skip{i}"] = f"{skip.id}={skip.reason}"
        name = f"wrapped__{meta['namespace']}__pod__{meta['name']}"
        fname, n = f"{name}.yaml", 1
        while fname in index:
            n += 1
            fname = f"{name}-{n}.yaml"
        (directory / fname).write_text(yaml.safe_dump(w.pod, sort_keys=False))
        index[fname] = Scanned(w.source.subject, where=w.where, note=w.note)
    return index


def run_checkov(directory: Path, skips: list[Skip], executable: Optional[Path] = None) -> list[dict]:
    exe = executable or envs.ensure("checkov").exe
    cmd = [str(exe), "-d", str(directory), "--framework", "kubernetes", "--skip-download", "-o", "json",
           "--skip-results-upload"]
    if skips:
        cmd += ["--skip-check", ",".join(s.id for s in skips)]
    env = {**os.environ, "LOG_LEVEL": "ERROR", "BC_SKIP_MAPPING": "TRUE", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env)
    # Exit 1 means "some check failed"; anything else non-zero is checkov itself failing.
    if proc.returncode not in (0, 1):
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise CheckovError(f"checkov exited {proc.returncode}:\n{tail}")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CheckovError(f"checkov did not print JSON: {proc.stdout[:300]!r} {proc.stderr[-300:]!r}") from None
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict)]


def _dotted(key: str) -> str:
    """checkov's ``spec/template/spec/containers/[0]/image`` as ``spec.template.spec.containers[0].image``."""
    return re.sub(r"/\[", "[", key).replace("/", ".")


def _field_path(result: dict, scanned: Optional[Scanned]) -> str:
    keys = [_dotted(str(k)) for k in (result.get("check_result", {}).get("evaluated_keys") or [])[:3]]
    if scanned and scanned.where:
        # A wrapped Pod's "spec.X" is the template's "X": report it inside the source object.
        keys = [f"{scanned.where} -> {k[len('spec.'):]}" if k.startswith("spec.") else k for k in keys]
    return ", ".join(keys)


def check(manifests: list[Manifest], skips: Optional[Skips] = None,
          executable: Optional[Path] = None) -> Section:
    section = Section(VALIDATOR)
    try:
        skips = load_skips() if skips is None else skips
        with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
            index = stage(manifests, Path(tmp), tuple(skips.wrapped_batch_pods))
            reports = run_checkov(Path(tmp), skips.everywhere, executable)
    except (CheckovError, envs.EnvError, subprocess.TimeoutExpired, OSError) as exc:
        section.error = str(exc)
        return section
    wrapped = sum(1 for s in index.values() if s.where)
    version = "?"
    for rep in reports:
        summary = rep.get("summary") or {}
        version = summary.get("checkov_version", version)
        section.checked += int(summary.get("resource_count") or 0)
        results = rep.get("results") or {}
        for r in results.get("failed_checks") or []:
            section.findings.append(_finding(r, index, skipped=False))
        batch_ids = {s.id for s in skips.wrapped_batch_pods}
        for r in results.get("skipped_checks") or []:
            scanned = index.get(Path(str(r.get("file_path") or "")).name)
            if scanned and scanned.where and r.get("check_id") in batch_ids:
                continue  # our own annotation on a wrapped training pod (see stage())
            section.findings.append(_finding(r, index, skipped=True))
    section.notes.append(
        f"checkov {version}, {len(index)} files ({wrapped} pods wrapped from custom resources); skipped "
        f"everywhere: {', '.join(s.id for s in skips.everywhere) or 'none'}; skipped on wrapped training "
        f"pods: {', '.join(s.id for s in skips.wrapped_batch_pods) or 'none'} (validators/checkov-skips.yaml)")
    return section


def _finding(r: dict[str, Any], index: dict[str, Scanned], skipped: bool) -> Finding:
    fname = str(r.get("file_path") or "").lstrip("/")
    scanned = index.get(Path(fname).name)
    subject = scanned.subject if scanned else Subject(file=fname, kind=str(r.get("resource") or ""))
    check_id = str(r.get("check_id") or "?")
    name = str(r.get("check_name") or "")
    if skipped:
        message = (f"suppressed inline ({r.get('suppress_comment') or 'checkov.io/skip annotation'}): inline "
                   f"suppressions are not allowed; list the check in validators/checkov-skips.yaml with a reason "
                   f"or fix the object ({name})")
    else:
        message = name
        if r.get("guideline"):
            message += f"\nguideline: {r['guideline']}"
    if scanned and scanned.where:
        message += f"\nfound in the pod template at {scanned.where} (checked as Pod {r.get('resource')})"
        if scanned.note:
            message += f"; {scanned.note}"
    return Finding(VALIDATOR, check_id, subject, message, path=_field_path(r, scanned),
                   severity=str(r.get("severity") or "") if r.get("severity") else "")
