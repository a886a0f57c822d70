"""The offline plan: run a stack under mocks and check it with the real policy pack, no cloud needed.

    python -m automation plan --stack NAME [--program FILE] [--json FILE] [--previous FILE]
                              [--manifests DIR] [--policy-config FILE] [--debug]

``--previous`` takes the JSON of an earlier plan of the stack (or the output of
``pulumi stack output --json``): its outputs are what the program reads back
from its own state (e.g. the Kubernetes minor the cluster runs), and its
resources give the list of changes in the order they would apply.

Exit codes (a contract CI relies on): 0 no mandatory violation, 1 at least one
mandatory violation, 2 the program, its config or the pack failed (one line on
stderr naming the key or resource; a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TextIO

import yaml

from automation.offline.analyzer import Diagnostic, PolicyPackClient, PolicyPackError
from automation.offline.changes import Change, compare
from automation.offline.monitor import Registration, mask_secrets, plain, secret_paths
from automation.offline.runner import PROJECT_DIR, ProgramConfigError, ProgramRun, run_program

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2
SCHEMA_VERSION = 1
#: base64 of "offline-plan-secret": a valid placeholder for Secret data in written manifests.
SECRET_MANIFEST_PLACEHOLDER = "b2ZmbGluZS1wbGFuLXNlY3JldA=="
_NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


class PlanError(Exception):
    """A failure the plan reports as one line and exit code 2."""


@dataclass
class PlanResult:
    """Everything one offline plan produced."""

    stack: str
    project: str
    program: str
    run: ProgramRun
    diagnostics: list[Diagnostic]
    pack: dict
    timings: dict = field(default_factory=dict)
    #: Changes against ``--previous`` (None without a previous plan's resources).
    changes: Optional[list[Change]] = None

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "advisory"]

    @property
    def warnings(self) -> list[str]:
        """Warnings the program printed (e.g. capacity that does not add up); they never fail the plan."""
        return [msg for level, msg in self.run.logs if level == "warning"]

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATION if self.mandatory else EXIT_OK

    def counts_by_type(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(r.type for r in self.run.registrations).items()))

    def as_json(self) -> dict:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "stack": self.stack,
            "project": self.project,
            "program": self.program,
            "policyPack": self.pack,
            "resources": [resource_json(r) for r in self.run.registrations],
            "diagnostics": [d.as_json() for d in self.diagnostics],
            "notExpanded": [{"urn": u, "reason": why} for u, why in self.run.not_expanded],
            "warnings": self.warnings,
            "changes": [c.as_json() for c in self.changes] if self.changes is not None else None,
            "summary": {
                "resources": len(self.run.registrations),
                "byType": self.counts_by_type(),
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "warnings": len(self.warnings),
            },
            "outputs": mask_secrets(self.run.stack_outputs),
            "timings": self.timings,
        }


def resource_json(r: Registration) -> dict:
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "provider": r.provider,
        "custom": r.custom,
        "id": r.id,
        "dependencies": r.dependencies,
        "propertyDependencies": r.property_dependencies,
        "inputs": mask_secrets(r.wire_inputs),
        "secretInputs": secret_paths(r.wire_inputs),
        "options": r.options,
        "origin": r.origin,
    }


def default_policy_config(stack: str, pack_dir: Path) -> Optional[Path]:
    path = pack_dir / "config" / f"{stack}.json"
    return path if path.exists() else None


def load_policy_config(path: Optional[Path]) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PlanError(f"policy config {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"policy config {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"policy config {path} must be a JSON object")
    return data


@dataclass(frozen=True)
class Previous:
    """What ``--previous`` provides: the stack's last outputs and, from a plan JSON, its resources."""

    outputs: dict
    resources: Optional[list[dict]] = None


def load_previous(path: Optional[Path]) -> Optional[Previous]:
    """Read a previous plan's JSON (``schemaVersion``, ``outputs``, ``resources``) or a plain outputs object."""
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PlanError(f"previous plan {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"previous plan {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"previous plan {path} must be a JSON object")
    if "schemaVersion" in data and "resources" in data:
        return Previous(outputs=dict(data.get("outputs") or {}), resources=list(data["resources"]))
    return Previous(outputs=data)


def _pack_version(pack_dir: Path) -> str:
    try:
        return str((yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}).get("version", ""))
    except (OSError, yaml.YAMLError):
        return ""


def check_policies(run: ProgramRun, pack_dir: Path, policy_config: dict) -> tuple[list[Diagnostic], dict]:
    """Analyze every registration and then the stack, over gRPC, in the engine's order."""
    regs = run.registrations
    providers = {r.urn: r for r in regs if r.type.startswith("pulumi:providers:")}
    with PolicyPackClient(pack_dir) as client:
        info = client.get_info()
        merged = client.configure(policy_config)
        diags: list[Diagnostic] = []
        for reg in regs:
            diags += client.analyze(reg, providers)
        stack = Registration(
            urn=run.monitor.stack_urn if run.monitor else "", type="pulumi:pulumi:Stack",
            name=f"{run.project}-{run.stack}", parent="", custom=False, remote=False, provider="",
            dependencies=[], property_dependencies={}, wire_inputs={}, wire_outputs=run.stack_outputs,
        )
        diags += client.analyze_stack([stack, *regs], providers)
    pack = {
        "name": info.name,
        "version": _pack_version(pack_dir) or info.version,
        "policies": len(info.policies),
        "levels": {name: cfg["enforcementLevel"] for name, cfg in sorted(merged.items())},
    }
    return diags, pack


def plan(
    stack: str,
    *,
    program: Optional[Path] = None,
    project_dir: Path = PROJECT_DIR,
    pack_dir: Optional[Path] = None,
    policy_config: Optional[Path] = None,
    previous: Optional[Previous] = None,
) -> PlanResult:
    """Run and check ``stack``. Raises ConfigError/ProgramConfigError/PlanError/PolicyPackError on failure."""
    pack_dir = pack_dir or project_dir / "policies"
    cfg_path = policy_config if policy_config is not None else default_policy_config(stack, pack_dir)
    user_cfg = load_policy_config(cfg_path)
    t0 = time.perf_counter()
    run = run_program(stack, program=program, project_dir=project_dir,
                      previous_outputs=previous.outputs if previous else None)
    t1 = time.perf_counter()
    diagnostics, pack = check_policies(run, pack_dir, user_cfg)
    t2 = time.perf_counter()
    pack["config"] = str(cfg_path.relative_to(project_dir)) if cfg_path and cfg_path.is_relative_to(project_dir) \
        else (str(cfg_path) if cfg_path else None)
    diagnostics.sort(key=lambda d: (d.level != "mandatory", d.policy, d.urn))
    changes = None
    if previous is not None and previous.resources is not None:
        changes = compare(previous.resources, [resource_json(r) for r in run.registrations])
    return PlanResult(
        stack=stack,
        project=run.project,
        program=str(program or "__main__.py"),
        run=run,
        diagnostics=diagnostics,
        pack=pack,
        timings={"programSeconds": round(t1 - t0, 3), "policySeconds": round(t2 - t1, 3),
                 "analyzedResources": len(run.registrations) + 1},
        changes=changes,
    )


# --------------------------------------------------------------------------- manifests


def kubernetes_objects(run: ProgramRun) -> list[tuple[Registration, dict]]:
    """Every Kubernetes object the program would apply (expanded components included), as manifests."""
    out = []
    for r in run.registrations:
        if not r.type.startswith("kubernetes:") or r.type.startswith(_NOT_MANIFESTS):
            continue
        obj = mask_secrets(r.wire_inputs, SECRET_MANIFEST_PLACEHOLDER)
        obj = {k: v for k, v in obj.items() if v is not None}
        meta = dict(obj.get("metadata") or {})
        if not meta.get("name"):
            meta["name"] = (plain(r.wire_outputs).get("metadata") or {}).get("name") or r.name
        obj["metadata"] = meta
        out.append((r, obj))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-") or "x"


def write_manifests(run: ProgramRun, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    written: list[Path] = []
    seen: set[str] = set()
    for reg, obj in sorted(kubernetes_objects(run), key=lambda x: x[0].urn):
        meta = obj["metadata"]
        base = f"{_slug(meta.get('namespace') or '_cluster')}__{_slug(obj.get('kind', 'object'))}__{_slug(meta['name'])}"
        fname, n = f"{base}.yaml", 1
        while fname in seen:
            n += 1
            fname = f"{base}-{n}.yaml"
        seen.add(fname)
        path = directory / fname
        path.write_text(f"# urn: {reg.urn}\n" + yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    return written


# --------------------------------------------------------------------------- output


def print_summary(result: PlanResult, out: TextIO = sys.stdout) -> None:
    w = out.write
    w(f"Offline plan: stack {result.stack} (project {result.project}), program {result.program}\n")
    w(f"Resources: {len(result.run.registrations)}\n")
    for t, n in result.counts_by_type().items():
        w(f"  {n:4d}  {t}\n")
    for urn, why in result.run.not_expanded:
        w(f"Not expanded offline: {urn}: {why}\n")
    for msg in result.warnings:
        w(f"Warning: {msg}\n")
    if result.changes is not None:
        print_changes(result.changes, out)
    p = result.pack
    w(f"Policy pack {p['name']} {p['version']}: {p['policies']} policies, config {p.get('config') or 'built-in defaults'}\n")
    for level, diags in (("Mandatory", result.mandatory), ("Advisory", result.advisory)):
        if not diags:
            continue
        w(f"{level} violations ({len(diags)}):\n")
        for d in diags:
            w(f"  [{d.policy}] {d.urn or '(stack)'}\n")
            for line in d.message.splitlines():
                w(f"      {line}\n")
    warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
    w(f"Result: {len(result.run.registrations)} resources, {len(result.mandatory)} mandatory, "
      f"{len(result.advisory)} advisory violations{warned}\n")


def print_changes(changes: list[Change], out: TextIO = sys.stdout) -> None:
    w = out.write
    if not changes:
        w("Changes against the previous plan: none\n")
        return
    w(f"Changes against the previous plan ({len(changes)}), step by step (a step waits for the one before):\n")
    last = None
    for c in changes:
        label = f"{c.step:3d}." if c.step and c.step != last else ("   -" if not c.step else "    ")
        last = c.step
        detail = f": {', '.join(c.paths)}" if c.paths else ""
        w(f"  {label} {c.action:<6} {c.type} {c.name}{detail}\n")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml")
    ap.add_argument("--program", type=Path, help="run this program file instead of __main__.py")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the plan as JSON")
    ap.add_argument("--manifests", type=Path, metavar="DIR", help="write every Kubernetes object as YAML")
    ap.add_argument("--previous", type=Path, metavar="FILE",
                    help="a previous plan's JSON (or `pulumi stack output --json`): the stack's last outputs, "
                         "and the changes against it in apply order")
    ap.add_argument("--policy-config", type=Path, metavar="FILE",
                    help="policy pack config (default: policies/config/<stack>.json if present)")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")


def run_cli(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        result = plan(args.stack, program=args.program, policy_config=args.policy_config,
                      previous=load_previous(args.previous))
        if args.manifests:
            write_manifests(result.run, args.manifests)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result.as_json(), indent=2, sort_keys=False) + "\n")
    except (ProgramConfigError, PlanError, PolicyPackError) as exc:
        return _fail(err, str(exc), args.debug)
    except Exception as exc:  # noqa: BLE001 - the CLI's contract is one line and exit 2
        from components.config import ConfigError

        if isinstance(exc, ConfigError):
            return _fail(err, str(exc), args.debug)
        return _fail(err, f"program failed: {_one_line(exc)}", args.debug)
    print_summary(result, out)
    return result.exit_code


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _fail(err: TextIO, message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc(file=err)
    err.write(f"error: {message}\n")
    return EXIT_ERROR
