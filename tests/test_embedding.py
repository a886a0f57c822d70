"""The public API (`import mlplatform`): plans from a config mapping, typed results, typed errors.

These run the checkout's package in this process; tests/test_packaging.py installs it into a fresh
virtualenv and runs the README's example from outside the repository.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest
import yaml

import mlplatform
from automation import results
from automation.offline import analyzer

ROOT = Path(__file__).resolve().parents[1]
DEV = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
DEV_PACK_CONFIG = ROOT / "policies" / "config" / "dev.json"


def unprefixed(config: dict) -> dict:
    """Half the keys without the project prefix: both spellings must mean the same key."""
    out = {}
    for i, (k, v) in enumerate(config.items()):
        out[k.split(":", 1)[1] if k.startswith("mlplatform:") and i % 2 else k] = v
    return out


def new_stack_config(**extra) -> dict:
    """A small new stack: the settings a team would pass, with the tags the pack requires."""
    return {"aws:region": "eu-west-1", "azCount": 3, "endpointPublicAccess": False,
            "adminRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"],
            "tags": {"owner": "team-a", "cost-center": "ml-team-a"},
            "nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3}},
            **extra}


def fresh_name() -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    assert not (ROOT / f"Pulumi.{name}.yaml").exists()
    return name


# --------------------------------------------------------------------------- plans from a mapping


@pytest.fixture(scope="module")
def dev_from_file() -> mlplatform.PlanResult:
    return mlplatform.plan("dev")


def test_a_mapping_is_the_stack_file(dev_from_file):
    """The dev stack file's config as a mapping (prefix or not) plans exactly what the file plans."""
    from_mapping = mlplatform.plan("dev", config=unprefixed(DEV))
    assert mlplatform.diff_plans(dev_from_file.to_json(), from_mapping.to_json()).empty
    assert from_mapping.diagnostics == dev_from_file.diagnostics


def test_the_result_is_typed_frozen_and_its_json_is_the_plan_file(dev_from_file):
    r = dev_from_file
    assert isinstance(r, mlplatform.PlanResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.stack = "prod"  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.outputs["clusterName"] = "x"  # type: ignore[index]
    assert all(isinstance(x, mlplatform.Resource) for x in r.resources)
    assert all(isinstance(d, mlplatform.Diagnostic) for d in r.diagnostics)
    cluster = next(x for x in r.resources if x.type == "eks:index:Cluster")
    assert cluster.inputs["version"] == DEV["mlplatform:kubernetesVersion"]
    assert r.outputs["clusterName"] == "ml-dev" and r.outputs["kubeconfig"] == "[secret]"
    assert r.exit_code == 0 and not r.mandatory and r.blind == ()
    # dev's pack config turns these rules advisory; they still report.
    assert {d.policy for d in r.diagnostics} and all(d.level == "advisory" for d in r.diagnostics)
    doc = r.to_json()
    assert doc["schemaVersion"] == 1 and doc["stack"] == "dev"
    assert [x["urn"] for x in doc["resources"]] == [x.urn for x in r.resources]
    assert doc["summary"]["mandatory"] == 0 and doc["summary"]["advisory"] == len(r.advisory)
    doc["stack"] = "changed"
    assert r.to_json()["stack"] == "dev"  # a copy every time


def test_a_new_stack_needs_no_file_and_the_pack_still_decides():
    name = fresh_name()
    ok = mlplatform.plan(name, config=new_stack_config())
    assert ok.exit_code == 0 and ok.mandatory == () and ok.outputs["clusterName"] == f"ml-{name}"
    assert {x.type for x in ok.resources} >= {"eks:index:Cluster", "aws:ec2/vpc:Vpc"}
    assert not (ROOT / f"Pulumi.{name}.yaml").exists()
    # No pack config for a new stack means the strict levels: untagged resources fail closed...
    untagged = new_stack_config()
    del untagged["tags"]
    blocked = mlplatform.plan(name, config=untagged)
    assert blocked.exit_code == 1 and {d.policy for d in blocked.mandatory} == {"required-tags"}
    assert all(d.urn and d.urn.startswith(f"urn:pulumi:{name}::") for d in blocked.mandatory)
    # ...and a pack config given as a mapping sets the levels.
    relaxed = mlplatform.plan(name, config=untagged, policy_config={"required-tags": "advisory"})
    assert relaxed.exit_code == 0 and {d.policy for d in relaxed.advisory} == {"required-tags"}
    assert relaxed.policy_pack["levels"]["required-tags"] == "advisory"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("change,key", [
    ({"azCount": 9}, "azCount"),
    ({"nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 3, "maxSize": 2}}},
     "nodeGroups.system.maxSize"),
    ({"kubernetesVersion": "1.20"}, "kubernetesVersion"),
])
def test_a_bad_value_raises_config_error_naming_the_key(change, key):
    with pytest.raises(mlplatform.ConfigError) as info:
        mlplatform.plan(fresh_name(), config=new_stack_config(**change))
    exc = info.value
    assert exc.key == key and isinstance(exc, mlplatform.Error) and exc.reason
    assert str(exc).startswith(f"invalid config {key}: ") and "\n" not in str(exc)
    assert exc.errors == (exc,)
    assert exc.__cause__ is None and exc.__suppress_context__  # no program traceback to wade through


def test_mapping_problems_are_all_reported_at_once_with_their_keys():
    bad = new_stack_config(kubernetesVersion=1.35, azCount="3", vpcCidr=None)
    bad["mlplatform:azCount"] = 3
    with pytest.raises(mlplatform.ConfigError) as info:
        mlplatform.plan(fresh_name(), config=bad)
    keys = [e.key for e in info.value.errors]
    assert keys == ["azCount", "kubernetesVersion", "vpcCidr", "azCount"]
    lines = str(info.value).splitlines()
    assert len(lines) == 4 and all(ln.startswith("invalid config ") for ln in lines)
    assert "declares it string but the config has float 1.35" in lines[1]
    assert "given twice" in lines[3]


def test_program_config_errors_with_several_problems_keep_them_all():
    import pulumi

    class ProgramConfigError(pulumi.RunError):  # the shape of components.config.ConfigError
        def __init__(self, key: str, reason: str, errors: tuple = ()):
            self.key, self.reason = key, reason
            if errors:
                self.errors = errors
            super().__init__(f"invalid config {key}: {reason}")

    one = ProgramConfigError("teams.reserch", "unknown team (did you mean research?)")
    two = ProgramConfigError("azCount", "must be between 2 and 6; got 9")
    exc = mlplatform.ConfigError.from_program(ProgramConfigError("teams.reserch", "x", errors=(one, two)))
    assert exc.key == "teams.reserch" and [e.key for e in exc.errors] == ["teams.reserch", "azCount"]
    assert str(exc).splitlines() == ["invalid config teams.reserch: unknown team (did you mean research?)",
                                     "invalid config azCount: must be between 2 and 6; got 9"]


def test_every_exported_error_is_an_mlplatform_error():
    errors = [v for v in vars(mlplatform).values() if inspect.isclass(v) and issubclass(v, BaseException)]
    assert len(errors) >= 15
    assert all(issubclass(e, mlplatform.Error) for e in errors), [e for e in errors if not issubclass(e, mlplatform.Error)]
    assert issubclass(mlplatform.PulumiCliNotFound, mlplatform.Error)
    from automation.offline.plan import PlanError, PolicyPackError, ProgramConfigError
    assert (PlanError, PolicyPackError, ProgramConfigError) == (mlplatform.PlanError, mlplatform.PolicyPackError,
                                                                mlplatform.ProgramConfigError)


def test_a_program_crash_is_a_program_error(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text("raise ZeroDivisionError('boom')\n")
    with pytest.raises(mlplatform.ProgramError, match="program failed: ZeroDivisionError: boom"):
        mlplatform.plan("x", config={}, project_dir=tmp_path)


@pytest.mark.parametrize("operation", ["preview", "up", "destroy", "outputs"])
def test_live_operations_without_the_cli_raise_pulumi_cli_not_found_and_write_nothing(operation, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    with pytest.raises(mlplatform.PulumiCliNotFound) as info:
        getattr(mlplatform, operation)("team-a", config=new_stack_config(), project_dir=workspace)
    assert "--version" in str(info.value) and isinstance(info.value, mlplatform.Error)
    assert list(workspace.iterdir()) == [] and not (tmp_path / "home").exists()


# --------------------------------------------------------------------------- paths and project directories


def test_relative_paths_resolve_against_project_dir(tmp_path):
    marker = f"# {uuid.uuid4().hex}\n"
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "train.py").write_text(marker + "print('train')\n")
    config = new_stack_config(teams={"research": {"cpu": "8", "memory": "32Gi"}},
                              trainingJobs={"demo": {"team": "research", "gpusPerNode": 0, "nodes": 1,
                                                     "volume": "none", "script": "jobs/train.py"}})
    r = mlplatform.plan(fresh_name(), config=config, project_dir=tmp_path)
    scripts = [x for x in r.resources if x.type == "kubernetes:core/v1:ConfigMap" and marker.strip() in json.dumps(x.inputs)]
    assert len(scripts) == 1
    # The same config against the bundled program's directory has no such file: refused, naming the key.
    with pytest.raises(mlplatform.ConfigError) as info:
        mlplatform.plan(fresh_name(), config=config)
    assert info.value.key == "trainingJobs.demo.script"


def test_a_stack_file_in_project_dir_is_read_when_no_mapping_is_given(tmp_path):
    name = fresh_name()
    (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": new_stack_config(azCount=2)}))
    r = mlplatform.plan(name, project_dir=tmp_path)
    assert len({x.inputs.get("availabilityZone") for x in r.resources if x.type == "aws:ec2/subnet:Subnet"}) == 2
    with pytest.raises(mlplatform.ProgramConfigError, match=f"no Pulumi.{name}-other.yaml in"):
        mlplatform.plan(f"{name}-other", project_dir=tmp_path)


def test_the_program_modules_do_not_leak_into_the_callers_process():
    mine = types.ModuleType("components")
    sys.modules["components"] = mine
    saved = {m: sys.modules.pop(m) for m in list(sys.modules) if m.startswith("components.")}
    try:
        with pytest.raises(mlplatform.ConfigError):  # fails in the program's own components.config
            mlplatform.plan(fresh_name(), config=new_stack_config(azCount=9))
        assert sys.modules["components"] is mine
        assert not [m for m in sys.modules if m.startswith("components.")]
    finally:
        del sys.modules["components"]
        sys.modules.update(saved)
        import components  # noqa: F401 - the checkout's, for the tests that follow
        sys.modules.setdefault("components", components)


def test_importing_mlplatform_is_light():
    code = "import sys, mlplatform; print(sorted(m for m in ('pulumi', 'grpc', 'components') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --------------------------------------------------------------------------- one Diagnostic type


def test_offline_and_engine_verdicts_are_one_type_and_keep_their_json_keys():
    assert analyzer.Diagnostic is results.PolicyViolation is results.Diagnostic is mlplatform.Diagnostic
    collector = results.replay(ROOT / "tests" / "fixtures" / "events" / "preview_prod_mandatory.json")
    result = collector.result("preview", "prod")
    assert result.violations and result.diagnostics
    for v in result.violations:
        assert v.is_policy and v.policy and v.level in ("mandatory", "advisory")
        # The keys OperationResult JSON had for violations stay; new ones are only added.
        assert {"policy", "pack", "pack_version", "level", "urn", "message"} <= set(v.as_json())
    for d in result.diagnostics:
        assert not d.is_policy and d.level == d.severity and d.level in ("error", "warning")
        assert {"severity", "message", "urn"} <= set(d.as_json())
    offline = mlplatform.Diagnostic(policy="p", level="advisory", urn="", message="m", description="d", pack="x")
    assert {"policy", "level", "urn", "message", "description", "pack"} <= set(offline.as_json())


# --------------------------------------------------------------------------- the command line


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlplatform", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_cli_plan_takes_a_config_file_from_anywhere(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "train.py").write_text("print('train')\n")
    cfg = new_stack_config(teams={"research": {"cpu": "8", "memory": "32Gi"}},
                           trainingJobs={"demo": {"team": "research", "gpusPerNode": 0, "volume": "none",
                                                  "script": "jobs/train.py"}})
    (tmp_path / "team-a.yaml").write_text(yaml.safe_dump({"config": cfg}))
    name = fresh_name()
    proc = run_cli("plan", "--stack", name, "--config", str(tmp_path / "team-a.yaml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"Offline plan of stack {name} ") and "0 mandatory" in lines[0]
    assert lines.index(next(ln for ln in lines if ln.startswith("Outputs ("))) < \
        lines.index(next(ln for ln in lines if ln.startswith("Resources: ")))
    assert f"  clusterName: ml-{name}" in lines and "  kubeconfig: [secret]" in lines
    assert not any(ln.endswith("  eks:index:Cluster") for ln in lines)


def test_plan_text_leads_with_verdicts_and_outputs_and_lists_types_only_when_verbose(dev_from_file):
    import io

    from automation.offline.plan import print_summary

    doc = dev_from_file.to_json()
    short, verbose = io.StringIO(), io.StringIO()
    print_summary(doc, short)
    print_summary(doc, verbose, verbose=True)
    s, v = short.getvalue().splitlines(), verbose.getvalue().splitlines()
    assert s[0] == f"Offline plan of stack dev (project mlplatform): passes: 0 mandatory, {len(dev_from_file.advisory)} " \
                   f"advisory violations"
    assert s.index(f"Advisory violations ({len(dev_from_file.advisory)}):") < s.index(f"Outputs ({len(doc['outputs'])}):") \
        < s.index(f"Resources: {len(doc['resources'])} of {len(doc['summary']['byType'])} types (--verbose lists them)")
    assert s[-1] == v[-1] == f"Result: {len(doc['resources'])} resources, 0 mandatory, {len(dev_from_file.advisory)} " \
                             f"advisory violations"
    typed = [f"  {n:4d}  {t}" for t, n in doc["summary"]["byType"].items()]
    assert not set(typed) & set(s) and [ln for ln in v if ln in typed] == typed


def test_cli_reports_every_mapping_problem_on_its_own_line_and_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("config:\n  mlplatform:kubernetesVersion: 1.35\n  mlplatform:azCount: three\n")
    proc = run_cli("plan", "--stack", fresh_name(), "--config", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: invalid config kubernetesVersion: Pulumi.yaml declares it string but the config has float 1.35 "
        "(give it as a string)",
        "error: invalid config azCount: Pulumi.yaml declares it integer but the config has str 'three'",
    ]


# --------------------------------------------------------------------------- live operations' workspace and config


def test_a_workspace_is_a_complete_copy_of_the_program_run_by_this_environment(tmp_path, dev_from_file):
    from automation.api import prepare_workspace

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Pulumi.prod.yaml").write_text("config: {}\n")  # the user's own stack settings are never overwritten
    assert prepare_workspace(ws) == ws.resolve()
    for entry in ("__main__.py", "Pulumi.yaml", "components/config.py", "policies/guardrails/__init__.py",
                  "policies/config/prod.json", "examples/training/mnist_ddp.py", "Pulumi.dev.yaml"):
        assert (ws / entry).is_file(), entry
    assert (ws / "Pulumi.prod.yaml").read_text() == "config: {}\n"
    for spec in (ws / "Pulumi.yaml", ws / "policies" / "PulumiPolicy.yaml"):
        assert yaml.safe_load(spec.read_text())["runtime"]["options"]["virtualenv"] == sys.prefix
    assert yaml.safe_load((ws / "Pulumi.yaml").read_text())["config"] == \
        yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    stamp = (ws / "components" / "config.py").stat().st_mtime_ns
    assert prepare_workspace(ws) == ws.resolve() and (ws / "components" / "config.py").stat().st_mtime_ns == stamp
    # The copy is a working project: its own program plans the dev stack exactly as the checkout does.
    copy_plan = mlplatform.plan("dev", project_dir=ws)
    assert mlplatform.diff_plans(dev_from_file.to_json(), copy_plan.to_json()).empty


def test_a_workspace_is_never_written_over_unrelated_files(tmp_path):
    from automation.api import prepare_workspace

    clash = tmp_path / "clash"
    (clash / "components").mkdir(parents=True)
    with pytest.raises(mlplatform.WorkspaceError, match="components"):
        prepare_workspace(clash)
    assert sorted(p.name for p in clash.iterdir()) == ["components"]
    own = tmp_path / "own"
    own.mkdir()
    (own / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    assert prepare_workspace(own) == own.resolve() and sorted(p.name for p in own.iterdir()) == ["Pulumi.yaml"]
    assert prepare_workspace(None) == ROOT  # a checkout runs in place


def test_config_from_a_file_replaces_the_stack_config_for_live_commands(tmp_path, monkeypatch):
    import io

    from automation.cli import main
    from tests.test_automation_stack import FakeStack, factory_for

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    fake = FakeStack(config={"mlplatform:azCount": "2", "mlplatform:vpcCidr": "10.9.0.0/16"})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"config": {"azCount": 3, "aws:region": "eu-west-1"}}))
    out, err = io.StringIO(), io.StringIO()
    code = main(["preview", "--stack", "team-a", "--config", str(tmp_path / "cfg.yaml")],
                stack_factory=factory_for(fake), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert fake.config.keys() == {"mlplatform:azCount", "aws:region"}
    assert fake.config["mlplatform:azCount"].value == "3" and fake.config["aws:region"].value == "eu-west-1"
    names = [name for name, _ in fake.calls]
    assert names.index("remove_all_config") < names.index("set_all_config") < names.index("preview")


@pytest.mark.parametrize("config,needle", [
    ({"grafanaAdminPassword": {"secure": "v1:abc"}}, "invalid config grafanaAdminPassword: is encrypted (secure:)"),
    ({"kubernetesVersion": 1.35}, "invalid config kubernetesVersion: Pulumi.yaml declares it string"),
])
def test_live_commands_refuse_a_bad_config_file_before_the_engine_runs(tmp_path, monkeypatch, config, needle):
    import io

    from automation.cli import main
    from tests.test_automation_stack import FakeStack, factory_for

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    fake = FakeStack(config={"mlplatform:azCount": "2"})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"config": config}))
    out, err = io.StringIO(), io.StringIO()
    code = main(["preview", "--stack", "team-a", "--config", str(tmp_path / "cfg.yaml")],
                stack_factory=factory_for(fake), stdout=out, stderr=err)
    assert code == 2 and err.getvalue().startswith(f"error: {needle}") and len(err.getvalue().splitlines()) == 1
    assert fake.calls == [] and fake.config == {"mlplatform:azCount": "2"}
