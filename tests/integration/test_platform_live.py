"""Live tests through the automation library: the real Pulumi CLI, AWS and (for the smoke check) Kubernetes.

Skipped with a reason unless the prerequisites are met (see conftest.py).

* ``test_preview_dev_with_the_policy_pack``: ``preview`` of stack ``dev`` with
  ``policies/`` and ``policies/config/dev.json``; no mandatory violation.
* ``test_ephemeral_stack_up_smoke_destroy`` (opt-in, ``MLPLATFORM_INTEGRATION_UP=1``):
  a new stack ``t-<random>`` with dev's config, ``up``, a Kubernetes-level smoke
  check, then ``destroy`` and stack removal, always (``finally``). Needs the AWS
  CLI (the kubeconfig runs ``aws eks get-token``) and the ``kubernetes`` package.
  Environment:

  - ``MLPLATFORM_IT_PUBLIC_CIDRS``: comma-separated CIDRs of this machine's egress,
    so the smoke check can reach the API endpoint (dev's endpoint is public but
    restricted; the shipped CIDR is a documentation range).
  - ``MLPLATFORM_IT_OVERRIDES``: optional YAML file of config overrides
    (``mlplatform:key: value``) merged over dev's config.
  - ``MLPLATFORM_IT_TIMEOUT_MINUTES``: per-phase wait (default 45).

  The caller's role is made the cluster admin (``adminRoleArns``), replacing the
  example account's ARN in Pulumi.dev.yaml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from automation.progress import RichProgress
from automation.stack import PlatformStack
from components import stack_outputs
from tests.integration.k8s_smoke import smoke_check

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
def test_preview_dev_with_the_policy_pack():
    ps = PlatformStack.open("dev", project_dir=ROOT, create=True)
    ps.install_policy_pack()
    result = ps.preview(progress=RichProgress(title="preview dev"))
    assert result.mandatory == ()
    assert "mlplatform-guardrails" in result.policy_packs, result.policy_packs  # the pack really ran
    assert result.summary.changes + result.summary.same > 0


# --------------------------------------------------------------------------- ephemeral stack


def caller_role_arn() -> str:
    proc = subprocess.run(["aws", "sts", "get-caller-identity", "--output", "json"], capture_output=True, text=True,
                          timeout=60, check=True)
    arn = json.loads(proc.stdout)["Arn"]
    # arn:aws:sts::123456789012:assumed-role/Name/session -> arn:aws:iam::123456789012:role/Name
    parts = arn.split(":")
    if parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        pytest.skip(f"the smoke check maps the caller to a cluster-admin role; run as an assumed IAM role, not {arn}")
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"


def ephemeral_config() -> dict[str, Any]:
    cidrs = [c.strip() for c in os.environ.get("MLPLATFORM_IT_PUBLIC_CIDRS", "").split(",") if c.strip()]
    if not cidrs:
        pytest.skip("set MLPLATFORM_IT_PUBLIC_CIDRS to this machine's egress CIDR(s) so the smoke check can reach "
                    "the cluster's API endpoint")
    config = dict(yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"])
    config.update({"mlplatform:endpointPublicAccess": True, "mlplatform:publicAccessCidrs": cidrs,
                   "mlplatform:adminRoleArns": [caller_role_arn()], "mlplatform:deletionProtection": False,
                   "mlplatform:protectData": False})
    overrides = os.environ.get("MLPLATFORM_IT_OVERRIDES")
    if overrides:
        config.update(yaml.safe_load(Path(overrides).read_text()) or {})
    return config


def typed_config(config: dict[str, Any], stack: str):
    from components.config import load_config

    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("mlplatform:")}
    return load_config(values, stack=stack, project_dir=str(ROOT))


@pytest.mark.creates_infrastructure
def test_ephemeral_stack_up_smoke_destroy(tmp_path):
    kubernetes = pytest.importorskip("kubernetes", reason="the smoke check needs the `kubernetes` package "
                                                          "(pip install kubernetes); not a runtime dependency")
    if shutil.which("aws") is None:
        pytest.skip("the kubeconfig authenticates with `aws eks get-token`: install the AWS CLI")
    config = ephemeral_config()
    name = f"t-{uuid.uuid4().hex[:8]}"  # Pulumi.t-*.yaml is git-ignored
    ps = PlatformStack.open(name, project_dir=ROOT, create=True)
    try:
        ps.set_config(config)
        ps.install_policy_pack()
        result = ps.up(progress=RichProgress(title=f"up {name}"))
        assert result.mandatory == ()
        kubeconfig = ps.outputs()[stack_outputs.KUBECONFIG].value
        path = tmp_path / "kubeconfig"
        path.write_text(kubeconfig if isinstance(kubeconfig, str) else yaml.safe_dump(kubeconfig))
        smoke_check(kubernetes, str(path), typed_config(config, name))
    finally:
        try:
            ps.destroy(progress=RichProgress(title=f"destroy {name}"), remove=True)
        finally:
            (ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
