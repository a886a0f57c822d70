"""Manage one environment (stack) of the platform from Python code.

    from automation import PlatformStack, Secret

    dev = PlatformStack.open("dev")                       # select, or create, stack "dev" in the project dir
    dev.set_config({"azCount": 2, "grafanaAdminPassword": Secret("...")})
    dev.install_policy_pack()                             # policies/venv + policies/requirements.txt
    result = dev.preview(on_event=print)                  # policy pack attached; typed OperationResult
    if not result.mandatory:
        dev.up()
    kubeconfig = dev.outputs()["kubeconfig"].value

The seam for tests and other drivers is ``stack_factory``: a callable that gets
a :class:`StackRequest` and returns any object with the Automation API
``Stack`` methods used here (:class:`StackLike`). By default it is
:func:`local_workspace_stack`, which finds the Pulumi CLI first and only then
imports ``pulumi.automation`` (nothing here imports it at module load).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Sequence

from .config_map import Structured, to_config_entries
from .errors import (
    AutomationError,
    OperationFailed,
    PolicyViolationError,
    PulumiCliNotFound,
    StackLocked,
    StackNotFound,
    CloudCredentialsMissing,
)
from .policy_pack import PROJECT_DIR, PolicyPack, install_policy_pack, policy_pack_for, short_stack_name
from .preflight import (
    find_pulumi_cli,
    looks_like_missing_credentials,
    pulumi_home,
    pulumi_sdk_version,
    require_aws_credentials,
)
from .results import EventCollector, OperationResult, OutputValue, outputs_from_sdk

OnEvent = Callable[[Any], None]

_STACK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*){0,2}$")


class StackLike(Protocol):
    """The subset of ``pulumi.automation.Stack`` the library uses."""

    name: str

    def preview(self, **kwargs: Any) -> Any: ...
    def up(self, **kwargs: Any) -> Any: ...
    def refresh(self, **kwargs: Any) -> Any: ...
    def destroy(self, **kwargs: Any) -> Any: ...
    def outputs(self) -> Mapping[str, Any]: ...
    def get_all_config(self) -> Mapping[str, Any]: ...
    def set_all_config(self, config: Mapping[str, Any], *, path: bool = False) -> None: ...
    def remove_all_config(self, keys: list[str], *, path: bool = False) -> None: ...


@dataclass(frozen=True)
class StackRequest:
    """What a stack factory is asked for."""

    name: str
    project_dir: Path
    create: bool  # create the stack if it does not exist (else select only)
    env: Mapping[str, str]  # extra environment for every CLI call
    pulumi_cli: Optional[Path] = None  # where preflight found the CLI


StackFactory = Callable[[StackRequest], StackLike]


def local_workspace_stack(request: StackRequest) -> StackLike:
    """A real ``pulumi.automation`` stack over a LocalWorkspace rooted at the project directory."""
    cli = request.pulumi_cli or find_pulumi_cli({**os.environ, **request.env})
    import pulumi.automation as auto

    # On PATH -> let the SDK run "pulumi"; found only under $PULUMI_HOME -> point the SDK at that install.
    home_bin = pulumi_home({**os.environ, **request.env}) / "bin"
    command = auto.PulumiCommand(root=str(home_bin.parent)) if cli.parent == home_bin else auto.PulumiCommand()
    opts = auto.LocalWorkspaceOptions(work_dir=str(request.project_dir), pulumi_command=command,
                                      env_vars=dict(request.env))
    try:
        if request.create:
            return auto.create_or_select_stack(request.name, work_dir=str(request.project_dir), opts=opts)
        return auto.select_stack(request.name, work_dir=str(request.project_dir), opts=opts)
    except auto.StackNotFoundError:
        raise StackNotFound(request.name) from None


def _secret_schema_keys() -> tuple[str, ...]:
    """Config keys the platform's schema marks secret (components/config.py), if it can be imported."""
    try:
        from components.config import secret_keys
    except Exception:  # noqa: BLE001 - the library also drives other programs without this module
        return ()
    return tuple(secret_keys())


class PlatformStack:
    """One stack of the project: config, policy-checked preview/up, refresh, destroy and outputs."""

    def __init__(
        self,
        stack: StackLike,
        *,
        project_dir: Path = PROJECT_DIR,
        project: str = "mlplatform",
        policy_pack: Optional[PolicyPack] = None,
        env: Optional[Mapping[str, str]] = None,
        check_credentials: bool = True,
    ) -> None:
        self.stack = stack
        self.name: str = getattr(stack, "name", "")
        self.project_dir = Path(project_dir)
        self.project = project
        self.policy_pack = policy_pack or policy_pack_for(self.name, self.project_dir)
        self.env = dict(env or {})
        self.check_credentials = check_credentials

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(
        cls,
        name: str,
        *,
        project_dir: Path | str = PROJECT_DIR,
        create: bool = True,
        env: Optional[Mapping[str, str]] = None,
        stack_factory: Optional[StackFactory] = None,
        project: Optional[str] = None,
        policy_dir: Optional[Path] = None,
        check_credentials: bool = True,
    ) -> "PlatformStack":
        """Select (or, with ``create``, create) stack ``name`` of the project in ``project_dir``.

        Without a ``stack_factory`` the Pulumi CLI is located first and
        :class:`PulumiCliNotFound` raised before ``pulumi.automation`` is imported.
        """
        if not _STACK_NAME.match(name or ""):
            raise AutomationError(f"invalid stack name {name!r}: use letters, digits, '-', '_', '.' "
                                  f"(optionally org/project/stack)")
        project_dir = Path(project_dir).resolve()
        env = dict(env or {})
        cli = None
        if stack_factory is None:
            cli = find_pulumi_cli({**os.environ, **env})
            stack_factory = local_workspace_stack
        try:
            stack = stack_factory(StackRequest(name=name, project_dir=project_dir, create=create, env=env,
                                               pulumi_cli=cli))
        except AutomationError:
            raise
        except Exception as exc:  # noqa: BLE001 - CLI failures (not logged in, bad backend URL...) -> one line
            if type(exc).__name__ == "CommandError" or isinstance(exc, OSError):
                detail = _last_line(_stderr_of(exc) or str(exc)) or type(exc).__name__
                raise OperationFailed(f"cannot {'select or create' if create else 'select'} stack {name}: "
                                      f"{detail}") from exc
            raise
        return cls(stack, project_dir=project_dir, project=project or _project_name(project_dir),
                   policy_pack=policy_pack_for(name, project_dir, policy_dir), env=env,
                   check_credentials=check_credentials)

    # ------------------------------------------------------------------ config

    def set_config(self, values: Mapping[str, Any], *, structured: Structured = "json",
                   secret_keys: Optional[Iterable[str]] = None) -> None:
        """Store ``values`` as this stack's config (mapping documented in :mod:`automation.config_map`).

        ``secret_keys`` defaults to the keys the platform's config schema marks
        secret. Path-style keys are removed first so old map entries never linger.
        """
        from pulumi.automation import ConfigValue

        keys = _secret_schema_keys() if secret_keys is None else tuple(secret_keys)
        entries = to_config_entries(values, project=self.project, structured=structured, secret_keys=keys)
        replaced = sorted({e.top_level_key for e in entries if e.path})
        if replaced:
            existing = set(self.stack.get_all_config())
            stale = [k for k in replaced if k in existing]
            if stale:
                self.stack.remove_all_config(stale)
        for path in (False, True):
            batch = {e.key: ConfigValue(e.value, secret=e.secret) for e in entries if e.path is path}
            if batch:
                self.stack.set_all_config(batch, path=path)

    def install_policy_pack(self, **kwargs: Any) -> Path:
        """Create the pack's virtualenv and install ``policies/requirements.txt`` (see :func:`install_policy_pack`)."""
        return install_policy_pack(self.policy_pack.directory, **kwargs)

    # ------------------------------------------------------------------ operations

    def preview(self, *, on_event: Optional[OnEvent] = None, progress: Optional[OnEvent] = None,
                **options: Any) -> OperationResult:
        """``pulumi preview`` with the policy pack and this stack's pack config attached."""
        return self._run("preview", on_event, progress, options, with_policies=True)

    def up(self, *, on_event: Optional[OnEvent] = None, progress: Optional[OnEvent] = None,
           **options: Any) -> OperationResult:
        """``pulumi up`` (no confirmation: callers decide) with the policy pack and its config attached."""
        return self._run("up", on_event, progress, options, with_policies=True)

    def refresh(self, *, on_event: Optional[OnEvent] = None, progress: Optional[OnEvent] = None,
                **options: Any) -> OperationResult:
        """``pulumi refresh``. The engine does not run policy packs on refresh (the SDK has no such option)."""
        return self._run("refresh", on_event, progress, options, with_policies=False)

    def destroy(self, *, on_event: Optional[OnEvent] = None, progress: Optional[OnEvent] = None,
                **options: Any) -> OperationResult:
        """``pulumi destroy``. The engine does not run policy packs on destroy (the SDK has no such option)."""
        return self._run("destroy", on_event, progress, options, with_policies=False)

    def outputs(self) -> dict[str, OutputValue]:
        """The stack's outputs from its last update (secrets flagged, values in clear)."""
        try:
            return outputs_from_sdk(self.stack.outputs())
        except Exception as exc:  # noqa: BLE001 - translated to a typed one-line error
            raise self._translate("outputs", exc, EventCollector()) from exc

    # ------------------------------------------------------------------ internals

    def _stack_config_for_credentials(self) -> dict:
        import yaml

        path = self.project_dir / f"Pulumi.{short_stack_name(self.name)}.yaml"
        try:
            return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})
        except (OSError, yaml.YAMLError, AttributeError):
            return {}

    def _run(self, operation: str, on_event: Optional[OnEvent], progress: Optional[OnEvent],
             options: Mapping[str, Any], *, with_policies: bool) -> OperationResult:
        if self.check_credentials:
            require_aws_credentials({**os.environ, **self.env}, self._stack_config_for_credentials())
        collector = EventCollector()
        callback_errors: list[BaseException] = []
        listeners = [h for h in (on_event, progress) if h is not None]

        def dispatch(event: Any) -> None:
            collector(event)
            for listener in listeners:
                try:
                    listener(event)
                except Exception as exc:  # noqa: BLE001 - never kill the SDK's event thread; re-raised below
                    if not callback_errors:
                        callback_errors.append(exc)

        kwargs = dict(options)
        if with_policies:
            kwargs["policy_packs"] = [str(self.policy_pack.directory)]
            config_file = self._pack_config_with_admins()
            if config_file is not None:
                kwargs["policy_pack_configs"] = [str(config_file)]
        kwargs["on_event"] = dispatch
        kwargs.setdefault("color", "never")
        try:
            raw = getattr(self.stack, operation)(**kwargs)
        except Exception as exc:  # noqa: BLE001 - translated to a typed one-line error
            raise self._translate(operation, exc, collector) from exc
        finally:
            close = getattr(progress, "close", None)
            if callable(close):
                close()
        if callback_errors:
            raise callback_errors[0]
        outputs = getattr(raw, "outputs", None) if operation == "up" else None
        if operation == "refresh":
            outputs = self._safe_outputs()
        result = collector.result(operation, self.name, outputs=outputs, fallback_changes=_sdk_changes(raw))
        if result.mandatory:
            raise PolicyViolationError(self.name, operation, result.violations, result)
        return result

    def _pack_config_with_admins(self) -> Optional[Path]:
        """The pack config to attach: the stack's file, with the stack's admins filled in where it lists none
        (:func:`automation.policy_pack.with_stack_admins`, as the offline plan judges it)."""
        import json
        import tempfile

        from .policy_pack import with_stack_admins

        given = self.policy_pack.config
        try:
            user = json.loads(Path(given).read_text()) if given is not None else {}
            merged = with_stack_admins(user, self.stack.get_all_config())
        except Exception:  # noqa: BLE001 - unreadable: attach the file as it is and let the engine report it
            return given
        if merged == user:
            return given
        fd, name = tempfile.mkstemp(prefix=f"policy-config-{short_stack_name(self.name)}-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(merged, fh)
        return Path(name)

    def _safe_outputs(self) -> Optional[Mapping[str, Any]]:
        try:
            return self.stack.outputs()
        except Exception:  # noqa: BLE001 - outputs are a convenience on refresh
            return None

    def _translate(self, operation: str, exc: BaseException, collector: EventCollector) -> BaseException:
        """Map an SDK/CLI failure onto the library's typed errors."""
        if isinstance(exc, AutomationError):
            return exc
        if isinstance(exc, FileNotFoundError):
            return PulumiCliNotFound(pulumi_sdk_version())
        from pulumi.automation.errors import CommandError

        # The SDK raises CommandError subclasses for CLI failures, and a bare RuntimeError when the engine
        # ends without a summary; anything else (a TypeError from a bad option...) is a caller bug: keep it.
        if not isinstance(exc, (CommandError, RuntimeError)):
            return exc
        kind = type(exc).__name__
        text = str(exc)
        if kind == "ConcurrentUpdateError":
            return StackLocked(self.name)
        if collector.mandatory:
            result = collector.result(operation, self.name)
            return PolicyViolationError(self.name, operation, result.violations, result)
        errors = " ".join(d.message for d in collector.diagnostics if d.severity == "error")
        if looks_like_missing_credentials(errors) or looks_like_missing_credentials(text):
            return CloudCredentialsMissing(
                f"{operation} of stack {self.name} failed: the AWS provider found no credentials "
                f"({(collector.first_error() or _last_line(text))[:200]})")
        if kind == "StackNotFoundError":
            return StackNotFound(self.name)
        detail = collector.first_error() or _last_line(_stderr_of(exc) or text) or kind
        return OperationFailed(f"{operation} of stack {self.name} failed: {detail}")


def _stderr_of(exc: BaseException) -> str:
    # CommandError's text is "code: N\n stdout: ...\n stderr: ..."; keep the stderr part.
    text = str(exc)
    _, sep, tail = text.partition("stderr:")
    return tail if sep else ""


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith("error:"):
            return ln
    return lines[-1] if lines else ""


def _sdk_changes(raw: Any) -> Optional[Mapping[Any, int]]:
    """Change counts from an SDK result: PreviewResult.change_summary or <X>Result.summary.resource_changes."""
    if raw is None:
        return None
    changes = getattr(raw, "change_summary", None)
    if changes is None:
        changes = getattr(getattr(raw, "summary", None), "resource_changes", None)
    return changes


def _project_name(project_dir: Path) -> str:
    """The ``name:`` of Pulumi.yaml (config keys are namespaced by it)."""
    import yaml

    try:
        return str((yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}).get("name") or "mlplatform")
    except (OSError, yaml.YAMLError):
        return "mlplatform"


def open_stack(name: str, **kwargs: Any) -> PlatformStack:
    """Shorthand for :meth:`PlatformStack.open`."""
    return PlatformStack.open(name, **kwargs)


__all__: Sequence[str] = ("PlatformStack", "StackLike", "StackRequest", "StackFactory", "local_workspace_stack",
                          "open_stack")
