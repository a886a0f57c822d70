"""PlatformStack: how options map onto the Automation API, event wiring, error translation, preflight.

The Automation API is replaced through the library's seam (``stack_factory``)
by :class:`FakeStack`, which checks every call against the real
``pulumi.automation.Stack`` signature, replays recorded engine events to the
``on_event`` callback and returns the SDK's own result classes.
"""

from __future__ import annotations

import inspect
import json
import os
import stat
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import pulumi.automation as auto
import pytest
from pulumi.automation import errors as auto_errors
from pulumi.automation._cmd import CommandResult

from automation import errors
from automation.config_map import Secret
from automation.policy_pack import install_policy_pack, pack_virtualenv, policy_pack_for
from automation.preflight import aws_credentials_source, find_pulumi_cli
from automation.results import events_from_json
from automation.stack import PlatformStack, StackRequest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "events"
CREDS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}


def recorded(name: str) -> list[Any]:
    return events_from_json(json.loads((EVENTS / name).read_text()))


def _summary(changes: dict) -> auto.UpdateSummary:
    return auto.UpdateSummary(kind="update", start_time=datetime(2026, 11, 29), message="", environment={},
                              config={}, result="succeeded", resource_changes=changes)


class FakeStack:
    """Stands in for ``pulumi.automation.Stack``; faithful to its method signatures."""

    def __init__(self, name: str = "dev", *, events: Optional[str] = None, fail: Optional[BaseException] = None,
                 outputs: Optional[dict] = None, config: Optional[dict] = None,
                 sdk_changes: Optional[dict] = None) -> None:
        self.name = name
        self.events = events
        self.fail = fail
        self._outputs = outputs or {}
        self.config: dict[str, Any] = dict(config or {})
        self.sdk_changes = sdk_changes if sdk_changes is not None else {"create": 99}
        self.calls: list[tuple[str, dict]] = []

    def _call(self, op: str, kwargs: dict) -> None:
        # TypeError here means the library passed an option the real SDK does not have.
        inspect.signature(getattr(auto.Stack, op)).bind(self, **kwargs)
        self.calls.append((op, kwargs))
        if self.events and kwargs.get("on_event"):
            for event in recorded(self.events):
                kwargs["on_event"](event)
        if self.fail is not None:
            raise self.fail

    def preview(self, **kwargs: Any) -> auto.PreviewResult:
        self._call("preview", kwargs)
        return auto.PreviewResult(stdout="", stderr="", change_summary=self.sdk_changes)

    def up(self, **kwargs: Any) -> auto.UpResult:
        self._call("up", kwargs)
        outs = {k: auto.OutputValue(v, secret=(k == "kubeconfig")) for k, v in self._outputs.items()}
        return auto.UpResult(stdout="", stderr="", summary=_summary(self.sdk_changes), outputs=outs)

    def refresh(self, **kwargs: Any) -> auto.RefreshResult:
        self._call("refresh", kwargs)
        return auto.RefreshResult(stdout="", stderr="", summary=_summary(self.sdk_changes))

    def destroy(self, **kwargs: Any) -> auto.DestroyResult:
        self._call("destroy", kwargs)
        return auto.DestroyResult(stdout="", stderr="", summary=_summary(self.sdk_changes))

    def outputs(self) -> dict:
        self.calls.append(("outputs", {}))
        if self.fail is not None:
            raise self.fail
        return {k: auto.OutputValue(v, secret=(k == "kubeconfig")) for k, v in self._outputs.items()}

    def get_all_config(self) -> dict:
        return dict(self.config)

    def set_all_config(self, config: dict, *, path: bool = False) -> None:
        inspect.signature(auto.Stack.set_all_config).bind(self, config, path=path)
        self.calls.append(("set_all_config", {"config": dict(config), "path": path}))
        self.config.update(config)

    def remove_all_config(self, keys: list, *, path: bool = False) -> None:
        self.calls.append(("remove_all_config", {"keys": list(keys), "path": path}))
        for k in keys:
            self.config.pop(k, None)


def factory_for(stack: FakeStack, seen: Optional[list] = None):
    def factory(request: StackRequest) -> FakeStack:
        if seen is not None:
            seen.append(request)
        stack.name = request.name
        return stack

    return factory


def open_fake(stack: FakeStack, name: str = "dev", **kwargs: Any) -> PlatformStack:
    kwargs.setdefault("env", CREDS)
    return PlatformStack.open(name, project_dir=ROOT, stack_factory=factory_for(stack), **kwargs)


def only_call(stack: FakeStack, op: str) -> dict:
    calls = [kw for name, kw in stack.calls if name == op]
    assert len(calls) == 1, stack.calls
    return calls[0]


# --------------------------------------------------------------------------- options -> Automation API


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_preview_and_up_attach_the_pack_and_the_stacks_pack_config(stack_name):
    fake = FakeStack(events="preview_dev_advisory.json")
    ps = open_fake(fake, stack_name)
    ps.preview()
    ps.up()
    for op in ("preview", "up"):
        kw = only_call(fake, op)
        assert kw["policy_packs"] == [str(ROOT / "policies")]
        assert kw["policy_pack_configs"] == [str(ROOT / "policies" / "config" / f"{stack_name}.json")]
        assert Path(kw["policy_pack_configs"][0]).is_file()


def test_stack_without_a_pack_config_gets_the_pack_alone(tmp_path):
    fake = FakeStack(events="preview_dev_advisory.json")
    ps = open_fake(fake, "staging")
    ps.preview()
    kw = only_call(fake, "preview")
    assert kw["policy_packs"] == [str(ROOT / "policies")]
    assert "policy_pack_configs" not in kw  # a config list must pair with the packs; none exists for staging


def test_pack_config_uses_the_short_name_of_a_qualified_stack():
    pack = policy_pack_for("acme/mlplatform/prod", ROOT)
    assert pack.config == ROOT / "policies" / "config" / "prod.json"
    assert pack.cli_args == ["--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(pack.config)]


def test_refresh_and_destroy_take_no_policy_options_because_the_sdk_has_none():
    for op in ("refresh", "destroy"):
        params = inspect.signature(getattr(auto.Stack, op)).parameters
        assert "policy_packs" not in params and "policy_pack_configs" not in params
    for op in ("preview", "up"):
        params = inspect.signature(getattr(auto.Stack, op)).parameters
        assert {"policy_packs", "policy_pack_configs", "on_event"} <= set(params)
    fake = FakeStack(events="up_dev.json")
    ps = open_fake(fake)
    ps.refresh()
    ps.destroy()
    for op in ("refresh", "destroy"):
        kw = only_call(fake, op)
        assert "policy_packs" not in kw and callable(kw["on_event"])


def test_caller_options_pass_through_and_colour_is_off_by_default():
    fake = FakeStack(events="up_dev.json")
    open_fake(fake).up(message="release 42", parallel=8, color="always")
    kw = only_call(fake, "up")
    assert kw["message"] == "release 42" and kw["parallel"] == 8 and kw["color"] == "always"
    fake2 = FakeStack(events="up_dev.json")
    open_fake(fake2).preview()
    assert only_call(fake2, "preview")["color"] == "never"


def test_an_option_the_sdk_does_not_have_is_rejected_not_silently_dropped():
    with pytest.raises(TypeError, match="no_such_option"):
        open_fake(FakeStack()).preview(no_such_option=True)


# --------------------------------------------------------------------------- events


def test_on_event_and_progress_receive_every_engine_event_and_the_result_is_folded_from_them():
    received, shown = [], []

    class Progress:
        closed = False

        def __call__(self, event):
            shown.append(event)

        def close(self):
            Progress.closed = True

    fake = FakeStack(events="up_dev.json", outputs={"clusterName": "ml-dev", "kubeconfig": "apiVersion: v1"},
                     sdk_changes={"create": 1000})
    result = open_fake(fake).up(on_event=received.append, progress=Progress())
    assert len(received) == len(shown) == len(recorded("up_dev.json"))
    assert Progress.closed
    # Counts come from the engine's summary event, not the SDK's fallback numbers.
    assert (result.summary.create, result.summary.update, result.summary.replace, result.summary.delete,
            result.summary.same) == (1, 1, 1, 1, 52)
    assert result.outputs["clusterName"].value == "ml-dev" and not result.outputs["clusterName"].secret
    assert result.outputs["kubeconfig"].secret
    assert result.as_json()["outputs"]["kubeconfig"] == "[secret]"
    assert [v.policy for v in result.advisory] == ["eks-private-endpoint"]
    assert result.policy_packs == {"mlplatform-guardrails": "v0.1.0"}


def test_sdk_summary_is_the_fallback_when_no_summary_event_arrives():
    result = open_fake(FakeStack(events=None, sdk_changes={"update": 2, "same": 7})).refresh()
    assert (result.summary.update, result.summary.same, result.summary.create) == (2, 7, 0)


def test_a_failing_event_callback_does_not_stop_the_stream_and_is_raised_afterwards():
    seen = []

    def bad(event):
        seen.append(event)
        raise ValueError("callback bug")

    fake = FakeStack(events="preview_dev_advisory.json")
    with pytest.raises(ValueError, match="callback bug"):
        open_fake(fake).preview(on_event=bad)
    assert len(seen) == len(recorded("preview_dev_advisory.json"))


# --------------------------------------------------------------------------- failures


def _command_error(cls, stderr: str = "", stdout: str = ""):
    return cls(CommandResult(stdout=stdout, stderr=stderr, code=255))


def test_mandatory_violations_become_a_policy_violation_error_carrying_them():
    fake = FakeStack(events="preview_prod_mandatory.json",
                     fail=_command_error(auto_errors.CommandError, stderr="error: preview failed"))
    with pytest.raises(errors.PolicyViolationError) as info:
        open_fake(fake, "prod").preview()
    exc = info.value
    assert exc.exit_code == 1
    assert sorted(v.policy for v in exc.violations if v.mandatory) == ["eks-deletion-protection", "imdsv2-required"]
    assert "2 mandatory policy violations" in str(exc) and "\n" not in str(exc)
    assert exc.result is not None and exc.result.summary.replace == 1


def test_concurrent_update_becomes_stack_locked():
    fake = FakeStack(fail=_command_error(auto_errors.ConcurrentUpdateError,
                                         stderr="error: [409] Conflict: Another update is currently in progress."))
    with pytest.raises(errors.StackLocked, match="stack dev is locked by another update"):
        open_fake(fake).up()


def test_provider_without_credentials_becomes_cloud_credentials_missing():
    fake = FakeStack(events="up_no_credentials.json",
                     fail=_command_error(auto_errors.CommandError, stderr="error: update failed"))
    with pytest.raises(errors.CloudCredentialsMissing, match="found no credentials") as info:
        open_fake(fake).up()
    assert "\n" not in str(info.value)


def test_other_engine_failures_report_the_first_error_line():
    fake = FakeStack(fail=_command_error(auto_errors.CommandError,
                                         stderr="warning: x\nerror: the Python program exited unexpectedly"))
    with pytest.raises(errors.OperationFailed,
                       match="up of stack dev failed: error: the Python program exited unexpectedly"):
        open_fake(fake).up()


def test_missing_stack_on_select():
    def factory(request):
        assert request.create is False
        raise errors.StackNotFound(request.name)

    with pytest.raises(errors.StackNotFound, match="stack qa does not exist"):
        PlatformStack.open("qa", create=False, stack_factory=factory)


def test_no_credentials_is_detected_before_the_engine_runs(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("AWS_") or var == "MLPLATFORM_SKIP_CREDENTIALS_CHECK":
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path))
    fake = FakeStack()
    ps = PlatformStack.open("staging", project_dir=ROOT, stack_factory=factory_for(fake), env={})
    with pytest.raises(errors.CloudCredentialsMissing, match="no AWS credentials found"):
        ps.preview()
    assert fake.calls == []


@pytest.mark.parametrize("env,expected", [
    ({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "AWS_ACCESS_KEY_ID"),
    ({"AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/x"}, "web identity"),
    ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"}, "container"),
    ({"AWS_PROFILE": "ml"}, "profile ml"),
    ({"MLPLATFORM_SKIP_CREDENTIALS_CHECK": "1"}, "MLPLATFORM_SKIP_CREDENTIALS_CHECK"),
    ({"AWS_ACCESS_KEY_ID": "only-half"}, None),
    ({}, None),
])
def test_credential_sources(tmp_path, env, expected):
    found = aws_credentials_source({"HOME": str(tmp_path), **env})
    assert (found is None) if expected is None else (expected in found)


def test_credentials_from_shared_files_and_stack_config(tmp_path):
    assert aws_credentials_source({"HOME": str(tmp_path)}, {"aws:profile": "ml-dev"}) == "stack config aws:profile"
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = us-west-2\n")
    assert "shared file" in aws_credentials_source({"HOME": str(tmp_path)})


# --------------------------------------------------------------------------- preflight: the CLI


def test_cli_is_looked_up_on_path_then_in_pulumi_home(tmp_path):
    with pytest.raises(errors.PulumiCliNotFound) as info:
        find_pulumi_cli({"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)})
    import importlib.metadata

    version = importlib.metadata.version("pulumi")
    assert f"curl -fsSL https://get.pulumi.com | sh -s -- --version {version}" in str(info.value)
    home_bin = tmp_path / "ph" / "bin"
    home_bin.mkdir(parents=True)
    exe = home_bin / "pulumi"
    exe.write_text("")  # never executed: only its presence and mode are checked
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    assert find_pulumi_cli({"PATH": "", "PULUMI_HOME": str(tmp_path / "ph")}) == exe
    on_path = tmp_path / "onpath"
    on_path.mkdir()
    (on_path / "pulumi").write_text("")
    (on_path / "pulumi").chmod(0o755)
    assert find_pulumi_cli({"PATH": str(on_path), "PULUMI_HOME": str(tmp_path / "ph")}) == on_path / "pulumi"


def test_open_without_a_factory_checks_the_cli_before_importing_the_automation_api(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    with pytest.raises(errors.PulumiCliNotFound):
        PlatformStack.open("dev", project_dir=ROOT)


def test_stack_request_carries_name_dir_and_create_flag():
    seen: list[StackRequest] = []
    PlatformStack.open("prod", project_dir=ROOT, create=False, stack_factory=factory_for(FakeStack(), seen),
                       env={"PULUMI_BACKEND_URL": "s3://state"})
    (req,) = seen
    assert (req.name, req.project_dir, req.create, dict(req.env)) == ("prod", ROOT, False,
                                                                       {"PULUMI_BACKEND_URL": "s3://state"})


@pytest.mark.parametrize("bad", ["", "dev prod", "../dev", "a/b/c/d"])
def test_invalid_stack_names_are_refused(bad):
    with pytest.raises(errors.AutomationError, match="invalid stack name"):
        PlatformStack.open(bad, stack_factory=factory_for(FakeStack()))


# --------------------------------------------------------------------------- outputs and config


def test_outputs_are_typed_and_secrets_flagged():
    fake = FakeStack(outputs={"clusterName": "ml-dev", "kubeconfig": "apiVersion: v1", "nodeGroups": ["gpu"]})
    outs = open_fake(fake).outputs()
    assert list(outs) == ["clusterName", "kubeconfig", "nodeGroups"]
    assert outs["kubeconfig"].secret and outs["kubeconfig"].shown() == "[secret]"
    assert outs["kubeconfig"].shown(show_secrets=True) == "apiVersion: v1"
    assert outs["nodeGroups"].value == ["gpu"]


def test_set_config_marks_schema_secrets_and_sends_one_batch_per_style():
    fake = FakeStack()
    ps = open_fake(fake)
    ps.set_config({"azCount": 2, "grafanaAdminPassword": "hunter2", "aws:region": "eu-west-1",
                   "teams": {"research": {"cpu": "32", "gpu": 4}}})
    ((_, call),) = [c for c in fake.calls if c[0] == "set_all_config"]
    cfg = call["config"]
    assert call["path"] is False
    assert isinstance(cfg["mlplatform:azCount"], auto.ConfigValue) and cfg["mlplatform:azCount"].value == "2"
    assert cfg["mlplatform:grafanaAdminPassword"].secret  # declared secret in components/config.py
    assert not cfg["aws:region"].secret and cfg["aws:region"].value == "eu-west-1"
    assert json.loads(cfg["mlplatform:teams"].value) == {"research": {"cpu": "32", "gpu": 4}}


def test_set_config_path_style_replaces_the_old_map_first():
    fake = FakeStack(config={"mlplatform:teams": auto.ConfigValue("{}"), "aws:region": auto.ConfigValue("x")})
    ps = open_fake(fake)
    ps.set_config({"teams": {"research": {"gpu": 4, "token": Secret("s3cr3t")}}, "azCount": 3}, structured="path")
    ops = [c[0] for c in fake.calls]
    assert ops == ["remove_all_config", "set_all_config", "set_all_config"]
    assert fake.calls[0][1]["keys"] == ["mlplatform:teams"]
    plain_batch, path_batch = fake.calls[1][1], fake.calls[2][1]
    assert plain_batch["path"] is False and set(plain_batch["config"]) == {"mlplatform:azCount"}
    assert path_batch["path"] is True
    assert path_batch["config"]["mlplatform:teams.research.gpu"].value == "4"
    assert path_batch["config"]["mlplatform:teams.research.token"].secret
    assert not path_batch["config"]["mlplatform:teams.research.gpu"].secret


# --------------------------------------------------------------------------- policy pack dependencies


def test_pack_virtualenv_is_the_one_pulumipolicy_yaml_declares():
    assert pack_virtualenv(ROOT / "policies") == ROOT / "policies" / "venv"


def test_install_policy_pack_creates_the_venv_and_installs_requirements(tmp_path):
    pack = tmp_path / "policies"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime:\n  name: python\n  options:\n    virtualenv: .env\n")
    (pack / "requirements.txt").write_text("pulumi-policy==1.21.0\n")
    (tmp_path / "constraints.txt").write_text("pulumi==3.272.0\n")
    ran = []

    def run(cmd, **kwargs):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    venv = install_policy_pack(pack, python="/usr/bin/python3.11", run=run)
    assert venv == pack / ".env"
    assert ran[0] == ["/usr/bin/python3.11", "-m", "venv", str(pack / ".env")]
    assert ran[1][:3] == [str(pack / ".env" / "bin" / "python"), "-m", "pip"]
    assert ran[1][ran[1].index("-r") + 1] == str(pack / "requirements.txt")
    assert ran[1][ran[1].index("-c") + 1] == str(tmp_path / "constraints.txt")
    # Same requirements again: nothing to do (the stamp matches).
    ran.clear()
    install_policy_pack(pack, python="/usr/bin/python3.11", run=run)
    assert ran == []
    # Changed requirements: pip runs again.
    (pack / "requirements.txt").write_text("pulumi-policy==1.21.0\nPyYAML==6.0.4\n")
    install_policy_pack(pack, python="/usr/bin/python3.11", run=run)
    assert any("pip" in c for c in ran)


def test_install_policy_pack_failure_is_one_line(tmp_path):
    pack = tmp_path / "policies"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (pack / "requirements.txt").write_text("no-such-package==0\n")

    def run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "Collecting x\nERROR: No matching distribution found for no-such-package==0\n")

    with pytest.raises(errors.PolicyPackInstallError, match="No matching distribution") as info:
        install_policy_pack(pack, run=run)
    assert "\n" not in str(info.value)


def test_backend_failures_while_selecting_the_stack_are_one_line():
    def factory(request):
        raise auto_errors.CommandError(CommandResult(
            stdout="", code=255,
            stderr="error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"))

    with pytest.raises(errors.OperationFailed) as info:
        PlatformStack.open("dev", stack_factory=factory)
    assert str(info.value) == ("cannot select or create stack dev: error: PULUMI_ACCESS_TOKEN must be set for login "
                               "during non-interactive CLI sessions")
