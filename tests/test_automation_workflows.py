"""The GitHub workflows: valid, pinned, and wired to the right stacks, pack, roles and gates."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from automation import ci_summary

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
STACKS = ("dev", "prod")
# A version tag: v6, v6.2 or v6.2.3 (never a branch such as @main or @master).
VERSION_TAG = re.compile(r"^v\d+(\.\d+){0,2}$")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(wf: dict) -> dict:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads the bare key `on` as True


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if s.get("uses", "").split("@")[0] == action]


def expand(text: str, matrix: dict, env: dict) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), text)
    return re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: str(env[m.group(1)]), text)


def matrix_rows(job: dict) -> list[dict]:
    m = (job.get("strategy") or {}).get("matrix")
    if not m:
        return [{}]
    if "include" in m:
        return list(m["include"])
    (key, values), = m.items()
    return [{key: v} for v in values]


def pulumi_runs(wf: dict) -> list[tuple[str, dict, dict]]:
    """(job id, expanded `with:` of pulumi/actions, job) for every matrix row."""
    out = []
    for job_id, job in wf["jobs"].items():
        for row in matrix_rows(job):
            for step in steps_using(job, "pulumi/actions"):
                expanded = {k: expand(str(v), row, {**wf.get("env", {}), **job.get("env", {})})
                            for k, v in step["with"].items()}
                out.append((job_id, expanded, job))
    return out


@pytest.fixture(scope="module")
def pr() -> dict:
    return load("pull-request.yml")


@pytest.fixture(scope="module")
def deploy() -> dict:
    return load("deploy.yml")


def test_workflows_validate_against_the_github_workflow_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files, "no workflow files"
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_every_action_is_pinned_to_a_version_tag(name):
    wf = load(name)
    uses = [s["uses"] for job in wf["jobs"].values() for s in job.get("steps", []) if "uses" in s]
    assert uses
    for ref in uses:
        action, _, version = ref.partition("@")
        assert VERSION_TAG.match(version), f"{ref} is not pinned to a version tag"
    assert any(u.startswith("pulumi/actions@v") for u in uses)


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_the_cli_version_matches_the_pinned_sdk(name):
    assert load(name)["env"]["PULUMI_VERSION"] == importlib.metadata.version("pulumi")
    for _, with_, _ in pulumi_runs(load(name)):
        assert with_["pulumi-version"] == importlib.metadata.version("pulumi")


def test_pull_requests_run_the_tests_and_the_offline_plan_of_both_stacks(pr):
    assert list(triggers(pr)) == ["pull_request"]
    assert any(s.get("run") == "make test" for s in pr["jobs"]["test"]["steps"])
    plan = pr["jobs"]["plan"]
    stacks = [row["stack"] for row in matrix_rows(plan)]
    assert stacks == list(STACKS)
    runs = [expand(s["run"], {}, {}) for s in plan["steps"] if "run" in s]
    assert '.venv/bin/python -m automation plan --stack "$STACK" --json "plan-$STACK.json"' in runs
    # ... and as its first preview, whose blind count the summary reports next to the verdicts.
    assert '.venv/bin/python -m automation plan --stack "$STACK" --fresh --json "plan-$STACK-fresh.json"' in runs
    assert plan["env"]["STACK"] == "${{ matrix.stack }}"
    summary = [s for s in plan["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert summary and "automation.ci_summary" in summary[0]["run"] and "plan-$STACK.json" in summary[0]["run"]
    assert "plan-$STACK-fresh.json" in summary[0]["run"]
    assert summary[0]["if"] == "${{ !cancelled() }}"  # summarise failing plans too


def test_pull_requests_preview_each_stack_with_the_pack_and_its_config(pr):
    runs = pulumi_runs(pr)
    assert sorted(w["stack-name"] for _, w, _ in runs) == sorted(STACKS)
    for job_id, with_, job in runs:
        stack = with_["stack-name"]
        assert with_["command"] == "preview"
        assert with_["policyPacks"] == "policies"
        assert with_["policyPackConfigs"] == f"policies/config/{stack}.json"
        assert (ROOT / with_["policyPackConfigs"]).is_file() and (ROOT / "policies" / "PulumiPolicy.yaml").is_file()
        assert job["permissions"]["id-token"] == "write"
        # Fork PRs have no OIDC token or secrets.
        assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]


def test_every_cloud_job_assumes_a_role_over_oidc_before_pulumi_runs(pr, deploy):
    for wf in (pr, deploy):
        for job_id, job in wf["jobs"].items():
            if not steps_using(job, "pulumi/actions"):
                assert "id-token" not in (job.get("permissions") or {}), job_id  # least privilege
                continue
            steps = [s.get("uses", "").split("@")[0] for s in job["steps"]]
            aws = steps_using(job, "aws-actions/configure-aws-credentials")
            assert len(aws) == 1, job_id
            assert steps.index("aws-actions/configure-aws-credentials") < steps.index("pulumi/actions")
            assert aws[0]["with"]["role-to-assume"].startswith("${{ vars")
            assert "aws-access-key-id" not in aws[0]["with"]  # no long-lived keys
            assert job["permissions"]["id-token"] == "write"
            assert any("install_policy_pack()" in s.get("run", "") for s in job["steps"]), job_id
            # The token reaches the pulumi step only.
            pulumi_step = steps_using(job, "pulumi/actions")[0]
            assert pulumi_step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
        assert wf["permissions"] == {"contents": "read"}


def test_preview_roles_are_per_stack(pr):
    rows = matrix_rows(pr["jobs"]["preview"])
    assert {r["stack"]: r["role_var"] for r in rows} == {"dev": "AWS_PREVIEW_ROLE_ARN_DEV",
                                                          "prod": "AWS_PREVIEW_ROLE_ARN_PROD"}
    (aws,) = steps_using(pr["jobs"]["preview"], "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars[matrix.role_var] }}"


def test_merges_to_main_deploy_dev_then_prod_behind_an_approval(deploy):
    on = triggers(deploy)
    assert on["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    assert dev["needs"] == "test" and prod["needs"] == "deploy-dev"
    assert prod["environment"] == "production" and dev["environment"] == "dev"
    assert dev["if"] == prod["if"] == "github.ref == 'refs/heads/main'"  # also for runs started by hand
    runs = {w["stack-name"]: w for _, w, _ in pulumi_runs(deploy)}
    assert set(runs) == set(STACKS)
    for stack, with_ in runs.items():
        assert with_["command"] == "up"
        assert with_["policyPacks"] == "policies"
        assert with_["policyPackConfigs"] == f"policies/config/{stack}.json"


def test_deploys_of_one_stack_never_overlap_and_are_never_cancelled(deploy):
    groups = {}
    for job_id, job in deploy["jobs"].items():
        if not steps_using(job, "pulumi/actions"):
            continue
        (_, with_, _), = pulumi_runs({"jobs": {job_id: job}, "env": deploy["env"]})
        assert job["concurrency"]["cancel-in-progress"] is False
        groups[with_["stack-name"]] = job["concurrency"]["group"]
    assert set(groups) == set(STACKS)
    assert len(set(groups.values())) == len(groups)  # one group per stack
    for stack, group in groups.items():
        assert stack in group and "${{" not in group  # fixed, not per run or per ref


def test_docs_cover_every_secret_and_variable_the_workflows_read(pr, deploy):
    doc = (ROOT / "docs" / "ci-cd.md").read_text()
    text = (WORKFLOWS / "pull-request.yml").read_text() + (WORKFLOWS / "deploy.yml").read_text()
    names = set(re.findall(r"\b(?:secrets|vars)\.([A-Z_]+)", text))
    names |= {r["role_var"] for r in matrix_rows(pr["jobs"]["preview"])}
    assert {"PULUMI_ACCESS_TOKEN", "AWS_DEPLOY_ROLE_ARN", "PULUMI_BACKEND_URL"} <= names
    for name in names:
        assert f"`{name}`" in doc, f"docs/ci-cd.md does not document {name}"
    for needle in ("token.actions.githubusercontent.com:sub", "environment:production", "pull_request",
                   "sts:AssumeRoleWithWebIdentity", "token.actions.githubusercontent.com:aud"):
        assert needle in doc


# --------------------------------------------------------------------------- the plan summary


def test_ci_summary_renders_a_plan_file(tmp_path):
    plan = {
        "schemaVersion": 1, "stack": "prod",
        "policyPack": {"name": "mlplatform-guardrails", "version": "0.1.0", "policies": 42,
                       "config": "policies/config/prod.json"},
        "summary": {"resources": 3, "byType": {"aws:ec2/vpc:Vpc": 1, "aws:ec2/subnet:Subnet": 2},
                    "mandatory": 1, "advisory": 0},
        "diagnostics": [{"policy": "imdsv2-required", "level": "mandatory",
                         "urn": "urn:pulumi:prod::mlplatform::aws:ec2/launchTemplate:LaunchTemplate::lt",
                         "message": "IMDSv2 | hop limit 1\nsecond line"}],
    }
    (tmp_path / "plan-prod.json").write_text(json.dumps(plan))
    out = io.StringIO()
    assert ci_summary.main([str(tmp_path / "plan-prod.json"), str(tmp_path / "plan-dev.json")], out) == 0
    md = out.getvalue()
    assert "### Offline plan: stack `prod` ❌ blocked" in md
    assert "**1 mandatory**, 0 advisory" in md and "config `policies/config/prod.json`" in md
    assert "| mandatory | `imdsv2-required` | `urn:pulumi:prod::mlplatform::aws:ec2/launchTemplate:" \
           "LaunchTemplate::lt` | IMDSv2 \\| hop limit 1 |" in md
    assert md.index("aws:ec2/subnet:Subnet") < md.index("aws:ec2/vpc:Vpc")  # most numerous first
    assert "### Offline plan: plan-dev.json" in md and "No plan file was written" in md


def test_ci_summary_reports_blind_rules_next_to_the_verdicts(tmp_path):
    base = {"schemaVersion": 1, "stack": "dev", "policyPack": {"name": "p", "version": "1", "policies": 2},
            "diagnostics": [], "resources": []}
    existing = {**base, "mode": "existing", "blind": [],
                "summary": {"resources": 5, "byType": {}, "mandatory": 0, "advisory": 1, "blind": 0}}
    fresh = {**base, "mode": "fresh", "summary": {"resources": 5, "byType": {}, "mandatory": 0, "advisory": 1,
                                                   "blind": 2},
             "blind": [{"policy": "irsa-trust-scoped", "urn": "urn:pulumi:dev::p::aws:iam/role:Role::cni",
                        "message": "can't run policy ...", "reason": "names the OIDC issuer | checked at up"},
                       {"policy": "iam-trust-no-wildcard-principal", "urn": "urn:pulumi:dev::p::aws:iam/role:Role::cni",
                        "message": "can't run policy ..."}]}
    (tmp_path / "e.json").write_text(json.dumps(existing))
    (tmp_path / "f.json").write_text(json.dumps(fresh))
    out = io.StringIO()
    assert ci_summary.main([str(tmp_path / "e.json"), str(tmp_path / "f.json")], out) == 0
    md = out.getvalue()
    assert "| `dev` | existing stack | ✅ passes | 0 | 1 | — |" in md
    assert "| `dev` | first preview | ✅ passes | 0 | 1 | 2 |" in md
    assert "### Offline plan: stack `dev` (first preview) ✅ passes" in md and ", 2 blind" in md
    assert "| `irsa-trust-scoped` | `urn:pulumi:dev::p::aws:iam/role:Role::cni` | names the OIDC issuer \\| " \
           "checked at up |" in md


def test_readme_section_installs_the_pinned_cli_and_links_the_ci_docs():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Automation API and CI/CD", 1)[1].split("\n## ", 1)[0]
    assert readme.index("## Automation API and CI/CD") < readme.index("## Policy pack")
    assert f"sh -s -- --version {importlib.metadata.version('pulumi')}`" in section
    assert "(docs/ci-cd.md)" in section
    for command in ("plan", "preview", "up", "destroy", "outputs"):
        assert f"python -m automation {command}" in section


# --------------------------------------------------------------------------- the plan diff on pull requests


def step_named(job: dict, prefix: str) -> dict:
    (step,) = [s for s in job["steps"] if s.get("name", "").startswith(prefix)]
    return step


def test_pull_requests_plan_the_base_branch_and_post_the_diff_per_stack(pr):
    plan = pr["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    names = [s.get("name", "") for s in plan["steps"]]
    base = step_named(plan, "Offline plan of the base branch")
    assert base["env"]["BASE_REF"] == "${{ github.base_ref }}" and base["if"] == "${{ !cancelled() }}"
    assert 'worktree add --detach "$RUNNER_TEMP/base" "origin/$BASE_REF"' in base["run"]
    assert '-m automation plan --stack "$STACK" --json "$GITHUB_WORKSPACE/plan-base-$STACK.json"' in base["run"]
    diff = step_named(plan, "Plan diff against the base branch")
    assert '-m automation diff "plan-base-$STACK.json" "plan-$STACK.json" --markdown' in diff["run"]
    (comment,) = steps_using(plan, "marocchino/sticky-pull-request-comment")
    assert comment["with"] == {"header": "plan-diff-${{ matrix.stack }}", "path": "plan-diff-${{ matrix.stack }}.md"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert names.index("Offline plan") < names.index(base["name"]) < names.index(diff["name"]) \
        < names.index(comment["name"])


@pytest.mark.parametrize("with_base", [True, False])
def test_the_plan_diff_step_runs_as_written(pr, tmp_path, with_base):
    """Run the workflow's own shell step against two small plan files (and without the base plan)."""
    step = step_named(pr["jobs"]["plan"], "Plan diff against the base branch")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)

    def plan_doc(version: str) -> dict:
        return {"schemaVersion": 1, "stack": "dev", "outputs": {}, "diagnostics": [], "resources": [
            {"urn": "urn:pulumi:dev::mlplatform::eks:index:Cluster::cluster-eks", "type": "eks:index:Cluster",
             "name": "cluster-eks", "inputs": {"version": version}, "secretInputs": [], "options": {}}]}

    if with_base:
        (tmp_path / "plan-base-dev.json").write_text(json.dumps(plan_doc("1.35")))
    (tmp_path / "plan-dev.json").write_text(json.dumps(plan_doc("1.36")))
    env = {**os.environ, "STACK": "dev", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "plan-diff-dev.md").read_text()
    assert (tmp_path / "summary.md").read_text() == md and md.startswith("### Plan diff: stack `dev`")
    if with_base:
        assert '| `eks:index:Cluster cluster-eks` | `version` | `"1.35"` | `"1.36"` |' in md
        assert json.loads((tmp_path / "plan-diff-dev.json").read_text())["summary"]["changed"] == 1
    else:
        assert "No comparison" in md
