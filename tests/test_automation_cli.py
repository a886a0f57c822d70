"""``python -m automation``: commands, confirmation, JSON output and exit codes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pulumi.automation import errors as auto_errors
from pulumi.automation._cmd import CommandResult

from automation.cli import main
from tests.test_automation_stack import FakeStack, factory_for

ROOT = Path(__file__).resolve().parents[1]


class Terminal(io.StringIO):
    """stdin that is a terminal, with the user's answers queued."""

    def isatty(self) -> bool:
        return True


def run(argv, fake=None, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stack_factory=factory_for(fake) if fake else None, stdin=stdin or io.StringIO(),
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")


def ops(fake):
    return [name for name, _ in fake.calls]


def without_pulumi_env(tmp_path):
    """The environment minus any PATH entry holding a pulumi executable, with an empty HOME."""
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_HOME"}
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep)
                                  if d and not (Path(d) / "pulumi").exists())
    env["HOME"] = str(tmp_path)
    return env


# --------------------------------------------------------------------------- help and preflight (subprocesses)


@pytest.mark.parametrize("module", ["automation", "mlplatform"])
def test_help_lists_the_six_commands(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    listed = [m.group(1) for ln in proc.stdout.splitlines() if (m := re.match(r"^    (\S+)", ln))]
    assert listed == ["plan", "preview", "up", "destroy", "outputs", "diff"]


def test_plan_keeps_its_own_arguments():
    proc = subprocess.run([sys.executable, "-m", "automation", "plan", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for flag in ("--stack", "--program", "--json FILE", "--manifests DIR", "--policy-config FILE", "--debug"):
        assert flag in proc.stdout


def test_preview_without_the_pulumi_cli_fails_at_once_with_one_line(tmp_path):
    env = without_pulumi_env(tmp_path)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "automation", "preview", "--stack", "dev"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    (line,) = lines
    import importlib.metadata

    assert line.startswith("error: Pulumi CLI not found")
    assert f"curl -fsSL https://get.pulumi.com | sh -s -- --version {importlib.metadata.version('pulumi')}" in line
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert elapsed < 20  # nothing heavy ran before the check


def test_debug_adds_the_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "automation", "preview", "--stack", "dev", "--debug"], cwd=ROOT,
                          env=without_pulumi_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and proc.stderr.rstrip().splitlines()[-1].startswith("error: Pulumi CLI")


def test_up_without_yes_and_without_a_terminal_refuses_before_anything_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "automation", "up", "--stack", "dev"], cwd=ROOT,
                          env=without_pulumi_env(tmp_path), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: refusing to up stack dev without --yes: stdin is not a terminal "
                                        "to confirm on"]


# --------------------------------------------------------------------------- commands against a fake stack


@pytest.mark.parametrize("command", ["up", "destroy"])
def test_destructive_commands_need_yes_without_a_terminal(command):
    fake = FakeStack(events="up_dev.json")
    code, out, err = run([command, "--stack", "dev"], fake)
    assert code == 2 and fake.calls == []
    assert err == f"error: refusing to {command} stack dev without --yes: stdin is not a terminal to confirm on\n"
    code, out, err = run([command, "--stack", "dev", "--yes"], fake)
    assert code == 0, err
    assert ops(fake) == [command]


def test_up_yes_attaches_the_pack_and_prints_the_summary():
    fake = FakeStack(events="up_dev.json", outputs={"clusterName": "ml-dev", "kubeconfig": "secret-yaml"})
    code, out, err = run(["up", "--stack", "dev", "--yes"], fake)
    assert code == 0, err
    kw = dict(fake.calls)["up"]
    assert kw["policy_packs"] == [str(ROOT / "policies")]
    assert kw["policy_pack_configs"] == [str(ROOT / "policies" / "config" / "dev.json")]
    assert out.splitlines()[0] == "up of stack dev: 1 to create, 1 to update, 1 to delete, 1 to replace, 52 unchanged"
    assert "  kubeconfig: [secret]" in out and "secret-yaml" not in out
    assert "Advisory policy violations (1):" in out
    assert "+ create   aws:eks/nodeGroup:NodeGroup  nodes-gpu" in err  # progress goes to stderr


def test_json_prints_the_typed_result():
    fake = FakeStack(events="preview_dev_advisory.json")
    code, out, err = run(["preview", "--stack", "dev", "--json"], fake)
    assert code == 0, err
    data = json.loads(out)
    assert data["operation"] == "preview" and data["stack"] == "dev"
    assert data["summary"] == {"create": 3, "update": 0, "delete": 0, "replace": 0, "same": 1, "other": {}}
    assert [v["policy"] for v in data["violations"]] == ["eks-private-endpoint"]
    assert data["violations"][0]["level"] == "advisory"


def test_mandatory_violations_exit_1_with_the_violations_and_one_error_line():
    fail = auto_errors.CommandError(CommandResult(stdout="", stderr="error: preview failed", code=255))
    fake = FakeStack(events="preview_prod_mandatory.json", fail=fail)
    code, out, err = run(["preview", "--stack", "prod"], fake)
    assert code == 1
    assert "Mandatory policy violations (2):" in out and "[imdsv2-required]" in out
    assert err.splitlines()[-1] == ("error: preview of stack prod blocked by 2 mandatory policy violations "
                                    "(eks-deletion-protection, imdsv2-required)")
    code, out, err = run(["preview", "--stack", "prod", "--json"], FakeStack(events="preview_prod_mandatory.json",
                                                                          fail=fail))
    assert code == 1
    assert sorted(v["policy"] for v in json.loads(out)["violations"] if v["level"] == "mandatory") == [
        "eks-deletion-protection", "imdsv2-required"]


def test_stack_locked_is_one_line_exit_2():
    fail = auto_errors.ConcurrentUpdateError(
        CommandResult(stdout="", stderr="error: [409] Conflict: Another update is currently in progress.", code=255))
    code, out, err = run(["up", "--stack", "dev", "--yes"], FakeStack(fail=fail))
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: stack dev is locked by another update")


def test_unexpected_errors_are_one_line_too():
    class Broken(FakeStack):
        def preview(self, **kwargs):
            raise KeyError("boom")

    code, out, err = run(["preview", "--stack", "dev"], Broken())
    assert code == 2 and err == "error: KeyError: 'boom'\n"


def test_interactive_up_previews_then_asks():
    fake = FakeStack(events="up_dev.json")
    code, out, err = run(["up", "--stack", "dev"], fake, stdin=Terminal("n\n"))
    assert code == 2 and ops(fake) == ["preview"]
    assert "Apply these changes to stack dev? [y/N]" in err and "cancelled at the prompt" in err
    fake = FakeStack(events="up_dev.json")
    code, out, err = run(["up", "--stack", "dev"], fake, stdin=Terminal("y\n"))
    assert code == 0 and ops(fake) == ["preview", "up"]


def test_interactive_up_with_nothing_to_change_does_not_ask():
    fake = FakeStack(events=None, sdk_changes={"same": 40})
    code, out, err = run(["up", "--stack", "dev"], fake, stdin=Terminal(""))
    assert code == 0 and ops(fake) == ["preview"]
    assert "nothing to do" in err and "[y/N]" not in err


def test_interactive_destroy_needs_the_stack_name_typed():
    fake = FakeStack(events="up_dev.json")
    code, out, err = run(["destroy", "--stack", "dev"], fake, stdin=Terminal("yes\n"))
    assert code == 2 and fake.calls == []
    code, out, err = run(["destroy", "--stack", "dev"], fake, stdin=Terminal("dev\n"))
    assert code == 0 and ops(fake) == ["destroy"]
    assert "policy_packs" not in dict(fake.calls)["destroy"]


def test_outputs_mask_secrets_unless_asked():
    fake = FakeStack(outputs={"clusterName": "ml-dev", "kubeconfig": "apiVersion: v1", "nodeGroups": ["gpu"]})
    code, out, err = run(["outputs", "--stack", "dev"], fake)
    assert code == 0
    assert out.splitlines() == ["clusterName: ml-dev", "kubeconfig: [secret]", 'nodeGroups: ["gpu"]']
    code, out, err = run(["outputs", "--stack", "dev", "--json", "--show-secrets"], fake)
    assert json.loads(out) == {"clusterName": "ml-dev", "kubeconfig": "apiVersion: v1", "nodeGroups": ["gpu"]}


def test_outputs_and_destroy_select_but_never_create_the_stack():
    seen = []
    fake = FakeStack()
    for argv in (["outputs", "--stack", "dev"], ["destroy", "--stack", "dev", "--yes"],
                 ["preview", "--stack", "dev"], ["up", "--stack", "dev", "--yes"]):
        main(argv, stack_factory=factory_for(fake, seen), stdin=io.StringIO(), stdout=io.StringIO(),
             stderr=io.StringIO())
    assert [r.create for r in seen] == [False, False, True, True]


def test_importing_the_library_and_cli_has_no_heavy_imports_or_side_effects(tmp_path):
    code = ("import sys, automation, automation.cli, automation.stack, automation.results, automation.config_map, "
            "automation.preflight, automation.policy_pack, automation.progress, automation.errors, "
            "automation.ci_summary; "
            "print(sorted(m for m in ('pulumi', 'pulumi.automation', 'rich', 'grpc', 'automation.offline') "
            "if m in sys.modules))")
    before = set(os.listdir(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert set(os.listdir(ROOT)) == before  # nothing written
