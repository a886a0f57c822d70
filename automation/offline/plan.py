"""The offline plan: run a stack under mocks and check it with the real policy pack, no cloud needed.

    python -m automation plan --stack NAME [--fresh] [--config FILE] [--program FILE] [--json FILE]
                              [--previous FILE]
                              [--manifests DIR] [--policy-config FILE] [--compare OLD.json]
                              [--verbose] [--debug]

Two modes (the text and the JSON say which ran):

* ``existing`` (default): every resource already exists and its outputs are
  known, as in a ``pulumi preview`` of a deployed stack that the change leaves alone.
* ``fresh`` (``--fresh``): the first preview of a new stack. The program runs as
  a dry run and every resource is about to be created, so IDs and computed
  outputs are unknown (config, invoke results and the program's own inputs stay
  known), and unknowns reach the pack as the engine sends them. A rule that
  reads an unknown value cannot run; pulumi-policy reports that as an advisory
  "can't run policy ... during preview", which the plan lists separately as
  **blind**, with what the unknown depends on.

``--previous`` takes the JSON of an earlier plan of the stack (or the output of
``pulumi stack output --json``): its outputs are what the program reads back
from its own state (e.g. the Kubernetes minor the cluster runs), and its
resources give the list of changes in the order they would apply.

Exit codes (a contract CI relies on): 0 no mandatory violation, 1 at least one
mandatory violation, 2 the program, its config or the pack failed (one line on
stderr naming the key or resource; a traceback only with ``--debug``). Blind
rules do not change the exit code: they are not verdicts.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, TextIO, Union

import yaml

from ..errors import PlanError  # noqa: F401 - defined with the other errors; raised and re-exported here
from .analyzer import Diagnostic, PolicyPackClient, PolicyPackError
from .changes import Change, compare
from .monitor import Registration, mask_secrets, plain, secret_paths
from .runner import PROJECT_DIR, ProgramConfigError, ProgramRun, run_program

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2
SCHEMA_VERSION = 1
#: base64 of "offline-plan-secret": a valid placeholder for Secret data in written manifests.
SECRET_MANIFEST_PLACEHOLDER = "b2ZmbGluZS1wbGFuLXNlY3JldA=="
_NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


#: pulumi-policy's text for a rule that read an unknown value (pulumi_policy/policy.py, Analyze and AnalyzeStack).
_BLIND = re.compile(r"^can't run policy '(?P<policy>[^']+)' from policy pack '[^']*' during preview: "
                    r"(?P<what>.*) value at (?P<path>\S*) can't be known during preview")


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
    #: Rules that could not run because they read a value unknown at preview (only a fresh plan has any),
    #: each with ``path``, ``depends_on`` and ``reason`` filled in. Not verdicts: they are advisory in
    #: pulumi-policy, listed apart from :attr:`diagnostics`, and never change the exit code.
    blind: list[Diagnostic] = field(default_factory=list)
    #: The first preview of a new stack was modelled (``--fresh``).
    fresh: bool = False

    @property
    def mode(self) -> str:
        return "fresh" if self.fresh else "existing"
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

    @staticmethod
    def blind_json(d: Diagnostic) -> dict:
        return {"policy": d.policy, "urn": d.urn, "message": d.message, "path": d.path,
                "dependsOn": list(d.depends_on), "reason": d.reason}

    def as_json(self) -> dict:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "mode": self.mode,
            "stack": self.stack,
            "project": self.project,
            "program": self.program,
            "policyPack": self.pack,
            "resources": [resource_json(r) for r in self.run.registrations],
            "diagnostics": [d.as_json() for d in self.diagnostics],
            "blind": [self.blind_json(d) for d in self.blind],
            "notExpanded": [{"urn": u, "reason": why} for u, why in self.run.not_expanded],
            "warnings": self.warnings,
            "changes": [c.as_json() for c in self.changes] if self.changes is not None else None,
            "summary": {
                "resources": len(self.run.registrations),
                "byType": self.counts_by_type(),
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "blind": len(self.blind),
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


def _json_object(path: Path, what: str) -> dict:
    """A JSON file holding an object; PlanError (one line naming ``what`` and the file) otherwise."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PlanError(f"{what} {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"{what} {path} must be a JSON object")
    return data


def load_policy_config(path: Optional[Path]) -> dict:
    return {} if path is None else _json_object(path, "policy config")


@dataclass(frozen=True)
class Previous:
    """What ``--previous`` provides: the stack's last outputs and, from a plan JSON, its resources."""

    outputs: dict
    resources: Optional[list[dict]] = None


def load_previous(path: Optional[Path]) -> Optional[Previous]:
    """Read a previous plan's JSON (``schemaVersion``, ``outputs``, ``resources``) or a plain outputs object."""
    if path is None:
        return None
    data = _json_object(path, "previous plan")
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
    policy_config: Union[Path, Mapping[str, Any], None] = None,
    config: Optional[Mapping[str, Any]] = None,
    work_dir: Optional[Path] = None,
    fresh: bool = False,
    previous: Optional["Previous"] = None,
) -> PlanResult:
    """Run and check ``stack`` (``fresh``: as the first preview of a new stack).

    Raises ConfigError/ProgramConfigError/PlanError/PolicyPackError on failure.

    ``config`` replaces ``Pulumi.<stack>.yaml`` (see ``runner.stack_files_from_config``); relative
    paths in it resolve against ``work_dir`` (default ``project_dir``). ``policy_config`` is a
    pack config file or the mapping such a file holds.
    """
    pack_dir = pack_dir or project_dir / "policies"
    if isinstance(policy_config, Mapping):
        cfg_path, user_cfg = None, dict(policy_config)
    else:
        cfg_path = policy_config if policy_config is not None else default_policy_config(stack, pack_dir)
        user_cfg = load_policy_config(cfg_path)
    t0 = time.perf_counter()
    run = run_program(stack, program=program, project_dir=project_dir, config=config, work_dir=work_dir,
                      fresh=fresh, previous_outputs=previous.outputs if previous else None)
    t1 = time.perf_counter()
    # Where the pack config does not list the cluster admins, the stack's own adminRoleArns are they,
    # exactly as preview/up attach it (automation/policy_pack.py, with_stack_admins).
    from ..policy_pack import with_stack_admins

    merged_cfg = with_stack_admins(user_cfg, run.config, run.project)
    derived = merged_cfg != user_cfg
    user_cfg = merged_cfg
    diagnostics, pack = check_policies(run, pack_dir, user_cfg)
    t2 = time.perf_counter()
    pack["config"] = str(cfg_path.relative_to(project_dir)) if cfg_path and cfg_path.is_relative_to(project_dir) \
        else (str(cfg_path) if cfg_path else ("(mapping)" if policy_config is not None else
                                              ("(derived)" if derived else None)))
    if derived:
        pack["derivedAllowedPrincipals"] = True
    order = lambda d: (d.level != "mandatory", d.policy, d.urn)  # noqa: E731
    verdicts = sorted((d for d in diagnostics if not blind_match(d)), key=order)
    blind = sorted((explain_blind(d, run) for d in diagnostics if blind_match(d)), key=order)
    changes = None
    if previous is not None and previous.resources is not None:
        changes = compare(previous.resources, [resource_json(r) for r in run.registrations])
    return PlanResult(
        stack=stack,
        project=run.project,
        program=str(program or "__main__.py"),
        run=run,
        diagnostics=verdicts,
        pack=pack,
        timings={"programSeconds": round(t1 - t0, 3), "policySeconds": round(t2 - t1, 3),
                 "analyzedResources": len(run.registrations) + 1},
        blind=blind,
        fresh=fresh,
        changes=changes,
    )


def blind_match(d: Diagnostic) -> Optional[re.Match]:
    """The parts of pulumi-policy's "can't run policy ... during preview" advisory, or None for a verdict."""
    return _BLIND.match(d.message) if d.level == "advisory" else None


#: Resource types whose outputs in a trust policy mean "the cluster's OIDC issuer" (IRSA).
_OIDC_SOURCES = ("eks:index:Cluster", "aws:eks/cluster:Cluster", "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
#: Components that register the intent of the role they create as inputs (judged at preview by a component rule).
_INTENT_COMPONENTS = ("mlplatform:identity:WorkloadIdentity",)


def explain_blind(d: Diagnostic, run: ProgramRun) -> Diagnostic:
    """``d`` with where the unknown value the blind rule read comes from: the property's dependencies, named.

    An invoke that cannot run at preview (``getPolicyDocument`` over an unknown ARN) hands back an unknown
    with no dependencies, so for trust policies the role's parent is consulted too: an identity component
    that registered an IRSA intent means the document names the cluster's OIDC issuer.
    """
    m = blind_match(d)
    path = m.group("path") if m else ""
    by_urn = {r.urn: r for r in run.registrations}
    reg = by_urn.get(d.urn)
    if reg is None:
        why = f"{path or 'a value'} is unknown until the resources it is computed from exist; {d.policy} runs at `up`"
        return dataclasses.replace(d, path=path, reason=why)
    top = path.lstrip(".").split(".", 1)[0]
    deps = tuple(reg.property_dependencies.get(top) or ())
    named = [by_urn[u] for u in deps if u in by_urn]
    parent = by_urn.get(reg.parent)
    intent = parent.inputs if parent is not None and parent.type in _INTENT_COMPONENTS else {}
    if top == "assumeRolePolicy" and (intent.get("identityMode") == "irsa"
                                      or any(r.type in _OIDC_SOURCES for r in named)):
        cluster = next((r.name for r in named if r.type in _OIDC_SOURCES), "the cluster")
        judged = (f"; its intent (namespace {intent.get('namespace')}, service account "
                  f"{intent.get('serviceAccount')}, audience {intent.get('audience')}) is judged at preview by "
                  f"workload-identity-intent on {parent.name}" if intent else "")
        why = (f"the IRSA trust policy names the OIDC issuer EKS assigns to {cluster} when it creates it{judged}; "
               f"{d.policy} checks the document at `up`")
    elif named:
        names = ", ".join(f"{r.name} ({r.type})" for r in named)
        why = f"{path} is computed from outputs of {names}, created in this deploy; {d.policy} runs at `up`"
    else:
        why = f"{path} is computed from values only known once resources are created; {d.policy} runs at `up`"
    return dataclasses.replace(d, path=path, depends_on=deps, reason=why)


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


def print_summary(result: Union[PlanResult, Mapping[str, Any]], out: TextIO = sys.stdout, *,
                  verbose: bool = False) -> None:
    """The plan as text: verdicts first, then the stack outputs; resource counts by type only with ``verbose``.

    Works from the JSON document (a :class:`PlanResult` is converted), so any plan file prints the same way.
    """
    doc = result if isinstance(result, Mapping) else result.as_json()
    w = out.write
    summary = doc.get("summary") or {}
    diags = doc.get("diagnostics") or []
    mandatory = [d for d in diags if d.get("level") == "mandatory"]
    advisory = [d for d in diags if d.get("level") == "advisory"]
    verdict = "BLOCKED" if mandatory else "passes"
    program = doc.get("program")
    where = f"project {doc.get('project')}" + (f", program {program}" if program and program != "__main__.py" else "")
    w(f"Offline plan of stack {doc.get('stack')} ({where}): {verdict}: {len(mandatory)} mandatory, "
      f"{len(advisory)} advisory violations\n")
    blind = doc.get("blind") or []
    if doc.get("mode") == "fresh":
        w("Mode: fresh (first preview of a new stack: IDs and computed outputs unknown)\n")
    elif doc.get("mode"):
        w("Mode: existing (every resource exists; outputs known). --fresh models a first preview\n")
    for title, chosen in (("Mandatory violations", mandatory), ("Advisory violations", advisory),
                          ("Blind at first preview", blind)):
        if not chosen:
            continue
        w(f"{title} ({len(chosen)}):\n")
        for d in chosen:
            w(f"  [{d.get('policy')}] {d.get('urn') or '(stack)'}\n")
            text = (f"{d.get('path')} unknown: {d.get('reason') or d.get('message')}" if chosen is blind
                    else str(d.get("message") or ""))
            for line in text.splitlines():
                w(f"      {line}\n")
    warnings = doc.get("warnings") or []
    for msg in warnings:
        w(f"Warning: {msg}\n")
    if doc.get("changes") is not None:
        print_changes(doc["changes"], out)
    outputs = doc.get("outputs") or {}
    if outputs:
        w(f"Outputs ({len(outputs)}):\n")
        for key in sorted(outputs):
            value = outputs[key]
            w(f"  {key}: {value if isinstance(value, str) else json.dumps(value, separators=(', ', ': '))}\n")
    by_type = summary.get("byType") or {}
    resources = summary.get("resources", len(doc.get("resources") or []))
    if verbose:
        w(f"Resources: {resources}\n")
        for t, n in by_type.items():
            w(f"  {n:4d}  {t}\n")
    else:
        w(f"Resources: {resources} of {len(by_type)} types (--verbose lists them)\n")
    for item in doc.get("notExpanded") or []:
        w(f"Not expanded offline: {item.get('urn')}: {item.get('reason')}\n")
    p = doc.get("policyPack") or {}
    w(f"Policy pack {p.get('name')} {p.get('version')}: {p.get('policies')} policies, "
      f"config {p.get('config') or 'built-in defaults'}\n")
    shown_blind = f", {len(blind)} blind" if doc.get("mode") == "fresh" else ""
    warned = f", {len(warnings)} warning(s)" if warnings else ""
    w(f"Result: {resources} resources, {len(mandatory)} mandatory, {len(advisory)} advisory violations"
      f"{shown_blind}{warned}\n")


def print_changes(changes: list, out: TextIO = sys.stdout) -> None:
    """Changes against ``--previous`` (:class:`Change` objects or their JSON), step by step."""
    w = out.write
    if not changes:
        w("Changes against the previous plan: none\n")
        return
    w(f"Changes against the previous plan ({len(changes)}), step by step (a step waits for the one before):\n")
    last = None
    for c in changes:
        c = c.as_json() if isinstance(c, Change) else c
        step = c.get("step")
        label = f"{step:3d}." if step and step != last else ("   -" if not step else "    ")
        last = step
        detail = f": {', '.join(c.get('paths') or ())}" if c.get("paths") else ""
        w(f"  {label} {c.get('action'):<6} {c.get('type')} {c.get('name')}{detail}\n")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml unless --config")
    ap.add_argument("--fresh", action="store_true",
                    help="model the first preview of a new stack: IDs and computed outputs unknown; "
                         "rules that cannot run are listed as blind")
    ap.add_argument("--config", type=Path, metavar="FILE",
                    help="stack config from this file (a stack file's shape, from anywhere) instead of "
                         "Pulumi.<stack>.yaml; relative paths in it resolve against its directory")
    ap.add_argument("--program", type=Path, help="run this program file instead of __main__.py")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the plan as JSON")
    ap.add_argument("--manifests", type=Path, metavar="DIR", help="write every Kubernetes object as YAML")
    ap.add_argument("--previous", type=Path, metavar="FILE",
                    help="a previous plan's JSON (or `pulumi stack output --json`): the stack's last outputs, "
                         "and the changes against it in apply order")
    ap.add_argument("--policy-config", type=Path, metavar="FILE",
                    help="policy pack config (default: policies/config/<stack>.json if present)")
    ap.add_argument("--compare", type=Path, metavar="OLD.json",
                    help="also print what changed against an earlier plan file (mlplatform diff OLD.json NEW)")
    ap.add_argument("--verbose", "-v", action="store_true", help="list the resources by type")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")


def run_cli(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``plan`` on the command line (``automation.api.plan_command`` does the work)."""
    from ..api import plan_command

    return plan_command(args, out=out, err=err)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _fail(err: TextIO, message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc(file=err)
    err.write(f"error: {message}\n")
    return EXIT_ERROR
