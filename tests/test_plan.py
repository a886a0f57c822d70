"""The offline plan's contract: command line, exit codes, JSON and manifests."""

from __future__ import annotations

import contextlib
import json
import uuid
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def plan(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "automation", "plan", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory):
    d = tmp_path_factory.mktemp("plan")
    proc = plan("--stack", "dev", "--json", str(d / "plan.json"), "--manifests", str(d / "manifests"))
    return proc, json.loads((d / "plan.json").read_text()), d / "manifests"


def test_dev_plan_exits_zero_and_prints_totals(dev_plan):
    proc, data, _ = dev_plan
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("Result: ") and "0 mandatory" in last
    assert "Mode: existing" in proc.stdout and "blind" not in last  # a first preview is --fresh


def test_json_contract(dev_plan):
    _, data, _ = dev_plan
    assert data["stack"] == "dev"
    assert {"urn", "type", "name", "parent", "dependencies", "inputs"} <= set(data["resources"][0])
    for d in data["diagnostics"]:
        assert set(d) >= {"policy", "level", "urn", "message"} and d["level"] in ("mandatory", "advisory")
    types = {r["type"] for r in data["resources"]}
    assert "eks:index:Cluster" in types and "aws:ec2/vpc:Vpc" in types
    cluster = next(r for r in data["resources"] if r["type"] == "eks:index:Cluster")
    assert cluster["parent"].endswith("mlplatform:cluster:Cluster::cluster")
    assert data["summary"]["resources"] == len(data["resources"])
    # Fields added for the first preview (--fresh): an existing stack has nothing blind.
    assert data["mode"] == "existing" and data["blind"] == [] and data["summary"]["blind"] == 0
    # Secrets never reach the plan file.
    assert data["outputs"]["kubeconfig"] == "[secret]"


def test_dev_plan_passes_the_upstream_crd_admission_and_helm_checks(dev_plan):
    """The plan's custom resources against the vendored CRDs and webhook ports, its releases against the charts."""
    from validators.__main__ import validate_stack
    from validators.report import Report

    _, _, mdir = dev_plan
    report = validate_stack("dev", mdir, mdir.parent / "plan.json", ["crds", "admission", "helm"], Report("dev"),
                            k8s_version="1.35")
    assert report.ok, [f.render() for f in report.findings]
    assert {s.validator: s.checked > 0 for s in report.sections} == {"crd-schema": True, "admission": True,
                                                                     "helm-values": True}


def test_manifests_are_kubernetes_objects(dev_plan):
    _, data, mdir = dev_plan
    files = sorted(mdir.glob("*.yaml"))
    k8s = [r for r in data["resources"] if r["type"].startswith("kubernetes:")
           and not r["type"].startswith(("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/"))]
    assert len(files) == len(k8s)
    for f in files:
        obj = yaml.safe_load(f.read_text())
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"]


@contextlib.contextmanager
def temp_stack(text: str):
    """A throw-away Pulumi.<stack>.yaml next to the project (the plan reads stack files from the project)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    path = ROOT / f"Pulumi.{name}.yaml"
    path.write_text(text)
    try:
        yield name
    finally:
        path.unlink()


@pytest.mark.parametrize("old,new,key", [
    ("minSize: 0\n      maxSize: 2", "minSize: 3\n      maxSize: 2", "nodeGroups.gpu.maxSize"),
    ("mlplatform:azCount: 2", "mlplatform:azCount: 2\n  mlplatform:vpcCidr: 10.0.0.0/33", "vpcCidr"),
    ('"1.35"', "1.35", "kubernetesVersion"),
    ("capacityType: SPOT", "capacityType: spot", "nodeGroups.gpu.capacityType"),
])
def test_broken_config_exits_2_with_one_line_naming_the_key(old, new, key):
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert old in text
    with temp_stack(text.replace(old, new, 1)) as stack:
        proc = plan("--stack", stack)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: invalid config {key}: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_duplicate_yaml_keys_are_refused():
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace("    gpu:\n", "    gpu:\n      maxSize: 1\n", 1)
    text = text.replace("      maxSize: 1\n", "      maxSize: 1\n      maxSize: 2\n", 1)
    with temp_stack(text) as stack:
        proc = plan("--stack", stack)
    assert proc.returncode == 2 and "duplicate key 'maxSize'" in proc.stderr


PRIVILEGED = '''
import pulumi_kubernetes as k8s
k8s.core.v1.Pod("bad", metadata={"name": "bad", "namespace": "research"},
    spec={"containers": [{"name": "c", "image": "public.ecr.aws/docker/library/busybox:1.37.0",
          "securityContext": {"privileged": True}}]})
'''


def test_violating_program_exits_1_and_names_the_rule(tmp_path):
    prog = tmp_path / "privileged.py"
    prog.write_text(PRIVILEGED)
    proc = plan("--stack", "dev", "--program", str(prog), "--json", str(tmp_path / "p.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[no-privileged-containers]" in proc.stdout
    data = json.loads((tmp_path / "p.json").read_text())
    hits = [d for d in data["diagnostics"] if d["policy"] == "no-privileged-containers"]
    assert hits and hits[0]["level"] == "mandatory" and hits[0]["urn"].endswith("::bad")


def test_program_exception_exits_2(tmp_path):
    prog = tmp_path / "boom.py"
    prog.write_text("raise ValueError('kaboom')\n")
    proc = plan("--stack", "dev", "--program", str(prog))
    assert proc.returncode == 2 and proc.stderr.strip() == "error: program failed: ValueError: kaboom"


def test_every_config_error_is_one_line_in_one_run():
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    text = text.replace("mlplatform:azCount: 2", "mlplatform:azCount: 5\n  aws:regoin: us-west-2", 1)
    text = text.replace("maxSize: 2", "maxSize: 99999999999999999999", 1).replace("memory: 16Gi", "memory: 16m", 1)
    with temp_stack(text) as stack:
        proc = plan("--stack", stack)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert all(ln.startswith("error: invalid config ") for ln in lines), lines
    keys = {ln.removeprefix("error: invalid config ").split(": ", 1)[0] for ln in lines}
    assert keys == {"aws:regoin", "azCount", "nodeGroups.gpu.maxSize", "teams.inference.memory"}, lines
