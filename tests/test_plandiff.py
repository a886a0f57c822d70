"""Plan comparison: `diff OLD.json NEW.json`, `plan --compare`, and what a Kubernetes upgrade moves."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from automation import plandiff
from automation.plandiff import diff_plans, render_markdown, render_text

ROOT = Path(__file__).resolve().parents[1]


def res(name: str, inputs: dict, *, stack: str = "dev", type_: str = "aws:ec2/vpc:Vpc", secret: tuple = (),
        options: dict | None = None) -> dict:
    return {"urn": f"urn:pulumi:{stack}::mlplatform::{type_}::{name}", "type": type_, "name": name, "parent": "",
            "provider": "", "inputs": inputs, "secretInputs": list(secret), "options": options or {}}


def doc(*resources: dict, stack: str = "dev", outputs: dict | None = None, diagnostics: list | None = None) -> dict:
    return {"schemaVersion": 1, "stack": stack, "resources": list(resources), "outputs": outputs or {},
            "diagnostics": diagnostics or []}


# --------------------------------------------------------------------------- the comparison itself


def test_added_removed_and_changed_resources_with_every_input_path():
    old = doc(res("a", {"cidr": "10.0.0.0/16", "tags": {"owner": "x"}}), res("gone", {}),
              res("b", {"list": [1, 2, 3], "deep": {"x": {"y": 1}}}))
    new = doc(res("a", {"cidr": "10.1.0.0/16", "tags": {"owner": "x", "team": "t"}}), res("new", {"k": 1}),
              res("b", {"list": [1, 5], "deep": {"x": {"y": 1}}}))
    d = diff_plans(old, new)
    assert [r.name for r in d.added] == ["new"] and [r.name for r in d.removed] == ["gone"]
    changes = {rc.name: [(c.path, c.kind, c.old, c.new) for c in rc.changes] for rc in d.changed}
    assert changes == {
        "a": [("cidr", "changed", "10.0.0.0/16", "10.1.0.0/16"), ("tags.team", "added", None, "t")],
        "b": [("list[1]", "changed", 2, 5), ("list[2]", "removed", 3, None)],
    }
    assert d.unchanged == 0 and not d.empty
    text = render_text(d)
    assert 'cidr: "10.0.0.0/16" → "10.1.0.0/16"' in text and "tags.team: + \"t\"" in text
    assert "+ aws:ec2/vpc:Vpc new" in text and "- aws:ec2/vpc:Vpc gone" in text


def test_identical_plans_have_no_changes():
    p = doc(res("a", {"x": [1, {"y": 2}]}), outputs={"o": 1})
    d = diff_plans(p, json.loads(json.dumps(p)))
    assert d.empty and d.unchanged == 1
    assert "No changes." in render_text(d)


def test_secrets_are_masked_on_both_sides_even_when_one_plan_is_not_secret():
    old = doc(res("s", {"password": "[secret]", "user": "admin"}, secret=("password",)))
    new = doc(res("s", {"password": "hunter2", "user": "root"}))  # a program that forgot to mark it secret
    (rc,) = diff_plans(old, new).changed
    assert [(c.path, c.old, c.new) for c in rc.changes] == [("password", "[secret]", "[secret]"),
                                                             ("user", "admin", "root")]
    assert "hunter2" not in render_text(diff_plans(old, new))
    assert "hunter2" not in json.dumps(diff_plans(old, new).to_json())


def test_a_change_inside_a_secret_structure_stays_masked():
    old = doc(res("s", {"data": {"a": "[secret]"}}, secret=("data.a",)))
    new = doc(res("s", {"data": {"a": "[secret]", "b": "plain"}}, secret=("data.a",)))
    (rc,) = diff_plans(old, new).changed
    assert [(c.path, c.new) for c in rc.changes] == [("data.b", "plain")]


def test_options_parent_and_provider_changes_are_reported():
    old = doc(res("db", {}, options={"protect": False, "retainOnDelete": False}))
    new = doc(res("db", {}, options={"protect": True, "retainOnDelete": False}))
    (rc,) = diff_plans(old, new).changed
    assert [(c.path, c.old, c.new) for c in rc.changes] == [("options.protect", False, True)]


def test_resources_match_across_stacks_and_outputs_and_verdicts_are_compared():
    urn = "urn:pulumi:{}::mlplatform::aws:ec2/vpc:Vpc::a"
    old = doc(res("a", {"x": 1}, stack="dev"), stack="dev", outputs={"clusterName": "ml-dev"},
              diagnostics=[{"policy": "p1", "level": "advisory", "urn": urn.format("dev"), "message": "m"}])
    new = doc(res("a", {"x": 1}, stack="prod"), stack="prod", outputs={"clusterName": "ml-prod"},
              diagnostics=[{"policy": "p2", "level": "mandatory", "urn": urn.format("prod"), "message": "n"}])
    d = diff_plans(old, new)
    assert not d.added and not d.removed and d.unchanged == 1
    assert [(c.path, c.old, c.new) for c in d.outputs] == [("clusterName", "ml-dev", "ml-prod")]
    assert [(v.kind, v.policy, v.level) for v in d.verdicts] == [("added", "p2", "mandatory"),
                                                               ("removed", "p1", "advisory")]
    js = d.to_json()
    assert js["summary"] == {"added": 0, "removed": 0, "changed": 0, "unchanged": 1, "outputsChanged": 1,
                             "verdictsAdded": 1, "verdictsRemoved": 1}
    assert "(stack dev → prod)" in render_text(d)


def test_version_moves_put_the_cluster_first_and_ignore_non_version_keys():
    old = doc(res("addon", {"addonVersion": "v1", "name": "a"}, type_="aws:eks/addon:Addon"),
              res("cl", {"version": "1.35", "name": "c"}, type_="eks:index:Cluster"),
              res("rel", {"values": {"image": {"tag": "v1.35.1"}}, "chart": "x"}, type_="kubernetes:helm.sh/v3:Release"))
    new = doc(res("addon", {"addonVersion": "v2", "name": "b"}, type_="aws:eks/addon:Addon"),
              res("cl", {"version": "1.36", "name": "c"}, type_="eks:index:Cluster"),
              res("rel", {"values": {"image": {"tag": "v1.36.1"}}, "chart": "x"}, type_="kubernetes:helm.sh/v3:Release"))
    moves = [(rc.name, c.path) for rc, c in diff_plans(old, new).version_moves()]
    assert moves == [("cl", "version"), ("addon", "addonVersion"), ("rel", "values.image.tag")]
    md = render_markdown(diff_plans(old, new))
    assert "| `eks:index:Cluster cl` | `version` | `\"1.35\"` | `\"1.36\"` |" in md


def test_unreadable_plan_files_exit_2_with_one_line(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc()))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for old, new, needle in ((tmp_path / "missing.json", good, "does not exist"), (bad, good, "not valid JSON"),
                             (good, tmp_path / "good.json", None)):
        out, err = io.StringIO(), io.StringIO()
        args = type("A", (), {"old": old, "new": new, "json": None, "markdown": False, "debug": False})()
        code = plandiff.run_cli(args, out=out, err=err)
        if needle is None:
            assert code == 0 and "No changes." in out.getvalue()
        else:
            assert code == 2 and needle in err.getvalue() and len(err.getvalue().splitlines()) == 1
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(plandiff.PlanError, match="not an offline plan file"):
        plandiff.load_plan(tmp_path / "list.json")


# --------------------------------------------------------------------------- a real Kubernetes upgrade


def test_plan_compare_shows_the_kubernetes_bump_on_the_cluster_and_every_addon_that_moves(tmp_path):
    """`plan --config` (a stack file from elsewhere) and `--compare`, then `diff` on the two files."""
    from automation.cli import main
    from components import versions

    old_minor = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["mlplatform:kubernetesVersion"]
    supported = list(versions.SUPPORTED_KUBERNETES_VERSIONS)
    assert old_minor in supported[:-1], "dev must run a minor with a newer supported one to upgrade to"
    new_minor = supported[supported.index(old_minor) + 1]
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    stack["config"]["mlplatform:kubernetesVersion"] = new_minor
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "upgrade.yaml").write_text(yaml.safe_dump(stack))
    shutil.copytree(ROOT / "examples", work / "examples")  # the stack's relative paths resolve next to the file

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    code, _, err = run("plan", "--stack", "dev", "--json", str(tmp_path / "old.json"))
    assert code == 0, err
    code, stdout, err = run("plan", "--stack", "dev", "--config", str(work / "upgrade.yaml"),
                            "--json", str(tmp_path / "new.json"), "--compare", str(tmp_path / "old.json"))
    assert code == 0, err
    old, new = json.loads((tmp_path / "old.json").read_text()), json.loads((tmp_path / "new.json").read_text())
    cluster = next(r for r in new["resources"] if r["type"] == "eks:index:Cluster")
    assert f'{cluster["name"]}  version: "{old_minor}" → "{new_minor}"' in stdout

    # Every EKS add-on the stack installs whose pinned version differs between the two minors moves, with
    # exactly the pinned versions; the others do not show up at all.
    addons = [r for r in old["resources"] if r["type"] == "aws:eks/addon:Addon"]
    assert addons
    moving = {r["name"]: (versions.addon_version(r["inputs"]["addonName"], old_minor),
                          versions.addon_version(r["inputs"]["addonName"], new_minor)) for r in addons}
    moving = {k: v for k, v in moving.items() if v[0] != v[1]}
    assert moving, "the versions table moves no add-on between these minors: the test proves nothing"
    d = diff_plans(old, new)
    moves = {(rc.name, c.path): (c.old, c.new) for rc, c in d.version_moves()}
    assert {k: v for k, v in moves.items() if k[1] == "addonVersion"} == \
        {(name, "addonVersion"): pair for name, pair in moving.items()}
    for name, (a, b) in moving.items():
        assert f'{name}  addonVersion: "{a}" → "{b}"' in stdout
    assert stdout.index("Version changes") > stdout.index("Result: ")  # the plan's own text comes first

    code, stdout, err = run("diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--json", "-")
    assert code == 0, err
    assert json.loads(stdout)["versions"] == d.to_json()["versions"]
