"""Kubernetes minor upgrades as a config change: order through dependencies, one minor at a time."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.offline.changes import compare, steps, waits_for
from automation.offline.mocks import OfflineInvokeError, PlatformMocks
from automation.offline.plan import check_policies, load_policy_config, resource_json
from automation.offline.runner import run_program
from components import versions
from components.planning.upgrade import minor_step_error, parse_minor
from components.stack_outputs import KUBERNETES_VERSION
from tests.test_plan import ROOT, plan, temp_stack

OLD, NEW = "1.35", "1.36"
CLUSTER = "eks:index:Cluster"
ADDON = "aws:eks/addon:Addon"
MNG = "eks:index:ManagedNodeGroup"


# --------------------------------------------------------------------------- one minor at a time


@pytest.mark.parametrize("running,target,ok", [
    (None, "1.36", True), ("1.35", "1.35", True), ("1.35", "1.36", True), ("v1.35.4-eks-1a2b3c", "1.36", True),
    ("1.34", "1.36", False), ("1.36", "1.35", False), ("1.35", "2.0", False), ("garbage", "1.36", True),
])
def test_minor_step(running, target, ok):
    assert (minor_step_error(running, target) is None) == ok


@given(a=st.integers(20, 40), b=st.integers(20, 40))
def test_only_the_same_or_the_next_minor_is_allowed(a, b):
    err = minor_step_error(f"1.{a}", f"1.{b}")
    assert (err is None) == (b - a in (0, 1))
    if err and b > a:
        assert f"set 1.{a + 1}" in err


def test_supported_minors_parse_and_step_one_by_one():
    minors = [parse_minor(v) for v in versions.SUPPORTED_KUBERNETES_VERSIONS]
    assert all(minors) and all(minor_step_error(a, b) is None for a, b in
                               zip(versions.SUPPORTED_KUBERNETES_VERSIONS, versions.SUPPORTED_KUBERNETES_VERSIONS[1:]))


# --------------------------------------------------------------------------- the stack reads its own state


def _read(m: PlatformMocks, name: str) -> dict:
    from automation.offline.mocks import INVOKES

    return INVOKES["pulumi:pulumi:readStackOutputs"]({"name": name}, m)


def test_mock_answers_the_stack_read_like_the_engine():
    own = "organization/mlplatform/prod"
    # Never deployed: the state has no root resource, so the engine returns no outputs (not an error).
    assert _read(PlatformMocks(own_stack=own), own)["outputs"] == {}
    # Deployed: exactly the recorded outputs.
    m = PlatformMocks(own_stack=own, stacks={own: {KUBERNETES_VERSION: "1.35", "vpcId": "vpc-1"}})
    assert _read(m, own) == {"name": own, "outputs": {KUBERNETES_VERSION: "1.35", "vpcId": "vpc-1"},
                             "secretOutputNames": []}
    # A stack the backend does not know fails, as the engine's "unknown stack" does.
    with pytest.raises(OfflineInvokeError):
        _read(m, "organization/mlplatform/nope")


def test_a_stack_reference_to_the_stack_itself_reads_the_same_state():
    import pulumi

    from automation.offline.runner import run_under_mocks

    seen = {}

    def body():
        ref = pulumi.StackReference(f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}")
        ref.get_output(KUBERNETES_VERSION).apply(lambda v: seen.setdefault("v", v))

    run_under_mocks(body, project="mlplatform", stack="prod", previous_outputs={KUBERNETES_VERSION: "1.35"})
    assert seen == {"v": "1.35"}
    seen.clear()
    run_under_mocks(body, project="mlplatform", stack="prod")  # never deployed: no such output
    assert seen == {"v": None}


@pytest.fixture(scope="module")
def bump():
    """prod planned at 1.35 (a stack never deployed), then at 1.36 over the first plan's outputs."""
    before = run_program("prod")
    after = run_program("prod", overrides={"kubernetesVersion": NEW}, previous_outputs=before.outputs)
    return before, after


def test_stack_records_the_minor_the_control_plane_reports(bump):
    before, after = bump
    assert before.outputs[KUBERNETES_VERSION] == OLD and after.outputs[KUBERNETES_VERSION] == NEW


def test_a_jump_of_two_minors_is_refused_before_anything_is_registered(tmp_path):
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert f'kubernetesVersion: "{OLD}"' in text
    prev = tmp_path / "prev.json"
    prev.write_text(json.dumps({KUBERNETES_VERSION: "1.34"}))
    with temp_stack(text.replace(f'kubernetesVersion: "{OLD}"', f'kubernetesVersion: "{NEW}"')) as stack:
        proc = plan("--stack", stack, "--previous", str(prev))
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: invalid config kubernetesVersion: ") and "set 1.35" in line


# --------------------------------------------------------------------------- order through dependencies


def _changes(bump):
    before, after = bump
    return compare([resource_json(r) for r in before.registrations], [resource_json(r) for r in after.registrations])


def test_bump_changes_only_what_carries_the_minor(bump):
    before, after = bump
    changes = _changes(bump)
    assert changes and all(c.action == "update" for c in changes)
    by_urn = {r.urn: r for r in after.registrations}
    changed = {(c.type, c.name): c for c in changes}
    assert changed[(CLUSTER, "cluster-eks")].paths == ("version",)
    # Exactly the add-ons whose pinned build differs between the two minors, moved to the new build.
    moved = {by_urn[c.urn].inputs["addonName"]: by_urn[c.urn].inputs["addonVersion"] for c in changes
             if c.type == ADDON}
    installed = {r.inputs["addonName"] for r in after.registrations if r.type == ADDON}
    assert moved == {a: versions.addon_version(a, NEW) for a in installed
                     if versions.addon_version(a, OLD) != versions.addon_version(a, NEW)}
    # Every managed node group rolls to the new minor.
    pools = {r.name for r in before.registrations if r.type == MNG}
    assert {n for t, n in changed if t == MNG} == pools
    assert all(by_urn[c.urn].inputs["version"] == NEW for c in changes if c.type == MNG)
    # Karpenter's node classes and pools do not change: its nodes roll by drift once the control plane runs
    # the new minor (the AMI alias resolves per cluster version).
    assert not [k for k in changed if k[0].startswith("kubernetes:karpenter")]
    classes = [r for r in after.registrations if r.type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"]
    assert classes and all(c.inputs["spec"]["amiSelectorTerms"] == [{"alias": versions.KARPENTER_AMI_ALIAS}]
                           for c in classes)


def test_bump_applies_control_plane_then_addons_then_node_groups(bump):
    by_name = {c.name: c for c in _changes(bump)}
    cp = by_name["cluster-eks"].step
    kube_proxy = by_name["cluster-kube-proxy"].step
    coredns = by_name["nodes-coredns"].step
    system = by_name["nodes-system"].step
    others = [c.step for c in by_name.values() if c.type == MNG and c.name != "nodes-system"]
    assert cp == 1 and cp < kube_proxy < system < coredns and others and all(coredns < s for s in others)


def test_every_node_group_waits_for_control_plane_and_node_addons_through_dependencies(bump):
    """Independent of what changed: the dependency graph itself orders the upgrade."""
    _, after = bump
    res = [resource_json(r) for r in after.registrations]
    by_name = {(r["type"], r["name"]): r["urn"] for r in res}
    cp = by_name[(CLUSTER, "cluster-eks")]
    # prod runs Pod Identity: pods on a new node get credentials only through the agent.
    node_addons = [by_name[(ADDON, f"cluster-{a}")] for a in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")]
    coredns = by_name[(ADDON, "nodes-coredns")]
    for (t, name), urn in by_name.items():
        if t != MNG:
            continue
        waits = set(_waited_for(res, urn))
        assert cp in waits and set(node_addons) <= waits, name
        assert (coredns in waits) == (name != "nodes-system"), name
    assert cp in _waited_for(res, node_addons[1]) and by_name[(MNG, "nodes-system")] in _waited_for(res, coredns)


def _waited_for(resources, urn):
    return waits_for(resources, urn)


def test_the_bumped_stack_plans_clean(bump):
    _, after = bump
    diags, _ = check_policies(after, ROOT / "policies", load_policy_config(ROOT / "policies/config/prod.json"))
    assert [d for d in diags if d.level == "mandatory"] == []


def test_plan_cli_lists_the_changes_in_order(tmp_path):
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    first, bumped = tmp_path / "first.json", tmp_path / "bumped.json"
    policy = ("--policy-config", str(ROOT / "policies/config/dev.json"))
    with temp_stack(text) as stack:
        assert plan("--stack", stack, "--json", str(first), *policy).returncode == 0
        (ROOT / f"Pulumi.{stack}.yaml").write_text(
            text.replace(f'kubernetesVersion: "{OLD}"', f'kubernetesVersion: "{NEW}"'))
        proc = plan("--stack", stack, "--previous", str(first), "--json", str(bumped), *policy)
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout[proc.stdout.index("Changes against the previous plan"):].splitlines()
    assert "1. update eks:index:Cluster cluster-eks: version" in listed[1]
    data = json.loads(bumped.read_text())
    assert data["outputs"][KUBERNETES_VERSION] == NEW
    steps_by_name = {c["name"]: c["step"] for c in data["changes"]}
    assert set(steps_by_name) >= {"cluster-eks", "cluster-kube-proxy", "nodes-system", "nodes-coredns", "nodes-gpu"}
    assert steps_by_name["cluster-eks"] < steps_by_name["cluster-kube-proxy"] < steps_by_name["nodes-system"] \
        < steps_by_name["nodes-coredns"] < steps_by_name["nodes-gpu"]


def test_steps_follow_components_and_unchanged_resources():
    def r(name, deps=(), parent=""):
        return {"urn": f"urn:pulumi:s::p::t::{name}", "type": "t", "name": name, "parent": parent,
                "dependencies": [f"urn:pulumi:s::p::t::{d}" for d in deps], "propertyDependencies": {}}
    res = [r("a"), r("same", ["a"]), r("b", ["same"]), r("comp"), r("child", ["b"], parent="urn:pulumi:s::p::t::comp"),
           r("c", ["comp"])]
    got = steps(res, {"urn:pulumi:s::p::t::a", "urn:pulumi:s::p::t::b", "urn:pulumi:s::p::t::c"})
    assert [got[f"urn:pulumi:s::p::t::{n}"] for n in ("a", "b", "c")] == [1, 2, 3]


def test_previous_file_must_be_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    proc = plan("--stack", "dev", "--previous", str(bad))
    assert proc.returncode == 2 and proc.stderr.startswith("error: previous plan")

