"""The policy pack inside the offline plan: a violating program fails the plan and names the rule;
the shipped stacks meet their per-stack levels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

IRSA_AUD_ONLY = '''
import pulumi_aws as aws

issuer = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
    effect="Allow",
    actions=["sts:AssumeRoleWithWebIdentity"],
    principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
        type="Federated", identifiers=[f"arn:aws:iam::123456789012:oidc-provider/{issuer}"])],
    # Only the audience is checked: any service account in the cluster could assume the role.
    conditions=[aws.iam.GetPolicyDocumentStatementConditionArgs(
        test="StringEquals", variable=f"{issuer}:aud", values=["sts.amazonaws.com"])],
)])
aws.iam.Role("app-irsa", assume_role_policy=trust.json,
             tags={"owner": "ml-platform", "cost-center": "ml-dev", "environment": "dev"})
'''


def plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "automation", "plan", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_irsa_role_without_sub_condition_fails_the_plan(tmp_path: Path) -> None:
    prog = tmp_path / "irsa.py"
    prog.write_text(IRSA_AUD_ONLY)
    proc = plan("--stack", "dev", "--program", str(prog), "--json", str(tmp_path / "p.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[irsa-trust-scoped]" in proc.stdout
    data = json.loads((tmp_path / "p.json").read_text())
    hits = [d for d in data["diagnostics"] if d["policy"] == "irsa-trust-scoped"]
    assert len(hits) == 1 and hits[0]["level"] == "mandatory" and hits[0]["urn"].endswith("::app-irsa")
    assert ":sub is checked not at all" in hits[0]["message"]
    # The rest of the role is fine: the trust condition is the only finding.
    assert {d["policy"] for d in data["diagnostics"]} == {"irsa-trust-scoped"}


def test_fixed_irsa_role_passes(tmp_path: Path) -> None:
    fixed = IRSA_AUD_ONLY.replace(
        'test="StringEquals", variable=f"{issuer}:aud", values=["sts.amazonaws.com"])],',
        'test="StringEquals", variable=f"{issuer}:aud", values=["sts.amazonaws.com"]),\n'
        '        aws.iam.GetPolicyDocumentStatementConditionArgs(test="StringEquals", variable=f"{issuer}:sub",\n'
        '            values=["system:serviceaccount:research:trainer"])],')
    assert fixed != IRSA_AUD_ONLY
    prog = tmp_path / "irsa_fixed.py"
    prog.write_text(fixed)
    proc = plan("--stack", "dev", "--program", str(prog))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 mandatory, 0 advisory" in proc.stdout


def test_shipped_stacks_meet_their_levels(tmp_path: Path) -> None:
    """dev: no mandatory violation (advisories allowed, they are dev's documented trade-offs); prod: nothing."""
    for stack in ("dev", "prod"):
        out = tmp_path / f"{stack}.json"
        proc = plan("--stack", stack, "--json", str(out))
        assert proc.returncode in (0, 1), proc.stderr
        diags = json.loads(out.read_text())["diagnostics"]
        mandatory = [(d["policy"], d["urn"], d["message"]) for d in diags if d["level"] == "mandatory"]
        assert not mandatory, f"{stack}: {mandatory}"
        if stack == "prod":
            assert not diags, [(d["policy"], d["urn"], d["message"]) for d in diags]
        else:
            lowered = {k for k, v in json.loads((ROOT / "policies/config/dev.json").read_text()).items()
                       if v == "advisory"}
            assert {d["policy"] for d in diags} <= lowered
