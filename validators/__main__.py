"""Outside validators: tools nobody here wrote check what the stacks would apply.

    python -m validators --stack dev [--stack prod]            # runs the offline plan into a temp dir first
    python -m validators --stack dev --manifests DIR --plan FILE   # reuse a plan's output

For each stack: kubernetes-validate (strict, the stack's Kubernetes version) on
every built-in object and on the pod templates inside CRD workloads; Kubeflow's
published models on TrainJob/TrainingRuntime/ClusterTrainingRuntime/PyTorchJob;
every custom resource against its vendored upstream CRD (schema, defaults,
CEL) and the Trainer/Kueue/KEDA admission checks; every KEDA trigger against
what its scaler reads at the pinned release; every Helm release's values
against the pinned chart's vendored facts; checkov on the manifests plus
the CRD pod templates wrapped as Pods; parliament on every IAM document; AWS
facts (managed policy ARNs, IAM actions, size limits, controllers' upstream
policies: validators/aws_facts.py).

Exit codes: 0 everything passed, 1 at least one failure, 2 the plan or a
validator could not run (the message says which).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence, TextIO

from validators import (
    admission, aws_facts, checkov_runner, crds, helm_values, k8s_schemas, kubeflow_models, parliament_runner, pods,
    scalers,
)
from validators.manifests import ManifestError, load_manifests
from validators.report import Finding, Report, Section, Subject, dump_json

PROJECT_DIR = Path(__file__).resolve().parent.parent
VALIDATORS = ("kubernetes", "kubeflow", "crds", "admission", "scalers", "helm", "checkov", "parliament",
              "aws-facts")
EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def kubernetes_version(stack: str) -> str:
    """The stack's ``kubernetesVersion``, read and validated by components.config (defaults included)."""
    from automation.offline.runner import read_stack_files
    from components.config import load_config

    files = read_stack_files(PROJECT_DIR, stack)
    prefix = f"{files.project}:"
    values = {k[len(prefix):]: v for k, v in files.config.items() if k.startswith(prefix)}
    return load_config(values, stack=stack, project=files.project, project_dir=str(PROJECT_DIR)).kubernetesVersion


def run_plan(stack: str, directory: Path) -> tuple[Path, Path, Section]:
    """``python -m automation plan`` into ``directory``; the section records what the plan said."""
    manifests, plan = directory / stack, directory / f"{stack}.json"
    section = Section("offline-plan")
    proc = subprocess.run([sys.executable, "-m", "automation", "plan", "--stack", stack, "--manifests", str(manifests),
                           "--json", str(plan)], cwd=PROJECT_DIR, capture_output=True, text=True)
    if proc.returncode == 2 or not plan.exists():
        section.error = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[-1]
    elif proc.returncode == 1:
        section.findings.append(Finding(
            "offline-plan", "mandatory-policy-violations", Subject(kind="stack", name=stack),
            f"the policy pack reports mandatory violations; run `make plan STACK={stack}` for details"))
    section.checked = 1
    section.notes.append(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")
    return manifests, plan, section


def validate_stack(stack: str, manifests_dir: Path, plan_file: Path, only: Sequence[str], report: Report,
                   k8s_version: Optional[str] = None) -> Report:
    report.kubernetes_version = k8s_version or kubernetes_version(stack)
    version = report.kubernetes_version
    manifests = load_manifests(manifests_dir)
    plan = json.loads(plan_file.read_text()) if plan_file else {}

    custom = [m for m in manifests if not k8s_schemas.has_schema(version, m.api_version, m.kind)]
    if "kubernetes" in only:
        section, custom = k8s_schemas.check(manifests, version)
        for m in custom:  # pod templates inside CRD workloads, validated as v1 Pods
            for where, meta, spec in pods.embedded_templates(m):
                section.checked += 1
                for path, message in k8s_schemas.pod_errors(meta, spec, version, prefix=where.rsplit(".spec", 1)[0]):
                    section.findings.append(Finding(k8s_schemas.VALIDATOR, "strict-schema/embedded-pod-template",
                                                    m.subject, message, path=path))
        report.add(section)
    if "kubeflow" in only:
        section = report.add(Section(kubeflow_models.VALIDATOR))
        for m in custom:
            if kubeflow_models.handles(m):
                section.checked += 1
                section.findings += kubeflow_models.check(m)
    if "crds" in only:
        section = report.add(Section(crds.VALIDATOR))
        for m in custom:
            if crds.handles(m):
                section.checked += 1
                section.findings += crds.check(m, version)
            else:
                section.findings.append(crds.unsupported(m))
        section.notes += crds.notes(custom)
        section.notes.append(f"{crds.rules_evaluated(custom)} CEL rule evaluations")
    if "admission" in only:
        report.add(admission.check(manifests))  # built-ins too: batch Jobs, HPAs and scale targets
    if "scalers" in only:
        report.add(scalers.check(custom))
    if "helm" in only:
        report.add(helm_values.check(plan))
    if "checkov" in only:
        report.add(checkov_runner.check(manifests))
    if "parliament" in only:
        report.add(parliament_runner.check(plan))
    if "aws-facts" in only:
        report.add(aws_facts.check(plan, partition=aws_facts.stack_partition(PROJECT_DIR, stack)))
    return report


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    ap = argparse.ArgumentParser(prog="python -m validators", description=__doc__.split("\n\n")[0])
    ap.add_argument("--stack", action="append", required=True, help="stack name (repeatable)")
    ap.add_argument("--manifests", type=Path, help="manifests written by `automation plan --manifests` (one stack)")
    ap.add_argument("--plan", type=Path, help="plan JSON written by `automation plan --json` (one stack)")
    ap.add_argument("--kubernetes-version", help="override the stack's kubernetesVersion")
    ap.add_argument("--only", default=",".join(VALIDATORS), help=f"comma-separated subset of {','.join(VALIDATORS)}")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the findings as JSON")
    ap.add_argument("--verbose", action="store_true", help="print notes (accepted exceptions, skips) on success too")
    args = ap.parse_args(argv)
    only = [v.strip() for v in args.only.split(",") if v.strip()]
    bad = [v for v in only if v not in VALIDATORS]
    if bad:
        ap.error(f"unknown validator(s) {', '.join(bad)}; choose from {', '.join(VALIDATORS)}")
    if (args.manifests or args.plan) and len(args.stack) != 1:
        ap.error("--manifests/--plan describe one stack; pass a single --stack")
    if bool(args.manifests) != bool(args.plan):
        ap.error("--manifests and --plan go together")

    reports: list[Report] = []
    code = EXIT_OK
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="validate-") as tmp:
        for stack in args.stack:
            report = Report(stack)
            try:
                if args.manifests:
                    manifests_dir, plan_file = args.manifests, args.plan
                else:
                    manifests_dir, plan_file, plan_section = run_plan(stack, Path(tmp))
                    report.add(plan_section)
                    if plan_section.error:
                        raise RuntimeError(f"offline plan failed: {plan_section.error}")
                validate_stack(stack, manifests_dir, plan_file, only, report, args.kubernetes_version)
            except (ManifestError, RuntimeError, ValueError, OSError) as exc:
                report.add(Section("validators", error=f"{type(exc).__name__}: {exc}"))
            except Exception as exc:  # noqa: BLE001 - config errors and the like: one line, exit 2
                report.add(Section("validators", error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
            report.print(out, verbose=args.verbose)
            reports.append(report)
            if any(s.error for s in report.sections):
                code = EXIT_ERROR
            elif not report.ok and code == EXIT_OK:
                code = EXIT_FAIL
    if args.json:
        args.json.write_text(dump_json(reports))
    verdict = {EXIT_OK: "PASS", EXIT_FAIL: "FAIL", EXIT_ERROR: "ERROR"}[code]
    out.write(f"== Outside validators: {verdict} for {', '.join(args.stack)} in {time.monotonic() - start:.0f}s ==\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
