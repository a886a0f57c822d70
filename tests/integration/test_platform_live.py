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
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml

from automation.progress import RichProgress
from automation.stack import PlatformStack
from components import stack_outputs
from components.conventions import GPU_RESOURCE, GPU_TAINT_KEY, ROLE_LABEL

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = float(os.environ.get("MLPLATFORM_IT_TIMEOUT_MINUTES", "45")) * 60


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT, every: float = 20) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and the last state."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - transient API errors while things come up
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout / 60:.0f} min waiting for {what}; last: {last!r}")


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


def smoke_check(kubernetes: Any, kubeconfig: str, cfg: Any) -> None:
    api_client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    core = kubernetes.client.CoreV1Api(api_client)
    custom = kubernetes.client.CustomObjectsApi(api_client)

    def ready_nodes():
        nodes = core.list_node().items
        ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
        return nodes if nodes and len(ready) == len(nodes) else None

    nodes = wait_for("every node Ready", ready_nodes, every=15)
    assert nodes

    gpu_nodes_seen: dict[str, int] = {}

    def record_gpu_nodes() -> None:
        for n in core.list_node().items:
            is_gpu = (n.metadata.labels or {}).get(ROLE_LABEL) == "gpu" or any(
                t.key == GPU_TAINT_KEY for t in (n.spec.taints or []))
            if is_gpu:
                gpu_nodes_seen[n.metadata.name] = max(gpu_nodes_seen.get(n.metadata.name, 0),
                                                      int((n.status.allocatable or {}).get(GPU_RESOURCE, "0")))

    for endpoint_name, ep in sorted(cfg.inferenceEndpoints.items()):
        if not ep.enabled:
            continue
        wait_for(f"inference endpoint {endpoint_name} answering {ep.healthPath}",
                 lambda: endpoint_healthy(core, ep.team, endpoint_name, ep.healthPath), every=20)

    for job_name, job in sorted(cfg.trainingJobs.items()):
        if not job.enabled:
            continue

        def done() -> Optional[str]:
            record_gpu_nodes()
            return training_state(custom, job.kind, job.team, job_name)

        state = wait_for(f"training job {job_name} to finish", done, every=30)
        assert state == "Complete", f"training job {job_name} ended {state}"

    record_gpu_nodes()
    if cfg.has_gpu_capacity and any(j.enabled and j.gpusPerNode for j in cfg.trainingJobs.values()):
        # GPU pools scale to zero; the GPU training job is what brings a GPU node up.
        assert gpu_nodes_seen, "a GPU job ran but no GPU node (role label or nvidia.com/gpu taint) was seen"
    for node, gpus in gpu_nodes_seen.items():
        assert gpus > 0, f"GPU node {node} advertises no {GPU_RESOURCE} (device plugin not working)"


def endpoint_healthy(core: Any, namespace: str, name: str, health_path: str) -> bool:
    """GET the endpoint's health path through the API server's service proxy (works for internal endpoints)."""
    services = [s for s in core.list_namespaced_service(namespace).items
                if s.metadata.name == name or (s.metadata.labels or {}).get("app.kubernetes.io/name") == name
                or s.metadata.name.startswith(f"{name}-")]
    for svc in services:
        port = svc.spec.ports[0]
        body = core.connect_get_namespaced_service_proxy_with_path(
            f"{svc.metadata.name}:{port.name or port.port}", namespace, health_path.lstrip("/"))
        if body is not None:
            return True
    return False


TRAINING_KINDS = {
    # kind: (group, version, plural, success condition, failure condition)
    "TrainJob": ("trainer.kubeflow.org", "v1alpha1", "trainjobs", "Complete", "Failed"),
    "PyTorchJob": ("kubeflow.org", "v1", "pytorchjobs", "Succeeded", "Failed"),
}


def training_state(custom: Any, kind: str, namespace: str, name: str) -> Optional[str]:
    group, version, plural, ok, failed = TRAINING_KINDS[kind]
    items = custom.list_namespaced_custom_object(group, version, namespace, plural)["items"]
    for obj in items:
        if obj["metadata"]["name"] == name or obj["metadata"]["name"].startswith(f"{name}-"):
            conditions = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}
            if conditions.get(ok) == "True":
                return "Complete"
            if conditions.get(failed) == "True":
                return "Failed"
    return None
