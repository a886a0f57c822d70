"""mlplatform: a production ML platform on Amazon EKS, as a Pulumi program you can embed.

    import mlplatform

    result = mlplatform.plan("team-a", config={"aws:region": "eu-west-1", "azCount": 3})
    if result.mandatory:
        raise SystemExit("\\n".join(f"{d.policy}: {d.message}" for d in result.mandatory))
    mlplatform.preview("team-a", config={...})        # needs the Pulumi CLI and AWS credentials

* :func:`plan` runs the program under Pulumi's mocks and checks it with the
  real policy pack: no cloud account, no Pulumi CLI. It returns a frozen
  :class:`PlanResult` (``resources``, ``diagnostics``, ``mandatory``,
  ``blind``, ``outputs``, ``exit_code``, ``to_json()``).
* :func:`preview`, :func:`up`, :func:`destroy`, :func:`outputs` drive the real
  thing through the Pulumi Automation API, with the policy pack attached.
* :func:`diff_plans` compares two plans (``mlplatform diff OLD.json NEW.json``).
* Every failure is an :class:`Error`: :class:`ConfigError` (``.key``) for a bad
  config value, :class:`PulumiCliNotFound` when the CLI is missing, ...
* :class:`Diagnostic` is the one verdict type, offline and from the engine.

The command line is ``mlplatform`` (``plan``, ``preview``, ``up``,
``destroy``, ``outputs``, ``diff``). The program itself ships inside this
package (``PROGRAM_DIR``) and is only put on ``sys.path`` while it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

# Installed, the library is ``mlplatform.automation``. In a checkout of the repository it is the
# top-level ``automation`` package next to this one (the same files; nothing is imported twice).
if TYPE_CHECKING or (Path(__file__).resolve().parent / "automation").is_dir():
    from mlplatform.automation.api import (
        PlanResult,
        Resource,
        destroy,
        load_config_file,
        outputs,
        plan,
        prepare_workspace,
        preview,
        up,
    )
    from mlplatform.automation.config_map import Secret
    from mlplatform.automation.diagnostics import Diagnostic
    from mlplatform.automation.errors import (
        AutomationError,
        CloudCredentialsMissing,
        ConfigError,
        ConfigMappingError,
        ConfirmationRequired,
        Error,
        OperationFailed,
        PlanError,
        PolicyPackError,
        PolicyPackInstallError,
        PolicyViolationError,
        ProgramConfigError,
        ProgramError,
        PulumiCliNotFound,
        StackLocked,
        StackNotFound,
        WorkspaceError,
    )
    from mlplatform.automation.paths import PROGRAM_DIR
    from mlplatform.automation.plandiff import Change, PlanDiff, ResourceChange, diff_plans, load_plan
    from mlplatform.automation.results import ChangeSummary, OperationResult, OutputValue
else:  # pragma: no cover - exercised by the checkout's tests; the branch above by the installed package
    from automation.api import (  # type: ignore[no-redef]
        PlanResult,
        Resource,
        destroy,
        load_config_file,
        outputs,
        plan,
        prepare_workspace,
        preview,
        up,
    )
    from automation.config_map import Secret  # type: ignore[no-redef]
    from automation.diagnostics import Diagnostic  # type: ignore[no-redef]
    from automation.errors import (  # type: ignore[no-redef]
        AutomationError,
        CloudCredentialsMissing,
        ConfigError,
        ConfigMappingError,
        ConfirmationRequired,
        Error,
        OperationFailed,
        PlanError,
        PolicyPackError,
        PolicyPackInstallError,
        PolicyViolationError,
        ProgramConfigError,
        ProgramError,
        PulumiCliNotFound,
        StackLocked,
        StackNotFound,
        WorkspaceError,
    )
    from automation.paths import PROGRAM_DIR  # type: ignore[no-redef]
    from automation.plandiff import Change, PlanDiff, ResourceChange, diff_plans, load_plan  # type: ignore[no-redef]
    from automation.results import ChangeSummary, OperationResult, OutputValue  # type: ignore[no-redef]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlplatform")
    except PackageNotFoundError:  # a checkout that is not installed
        return "0+checkout"


__version__: str = _version()

__all__ = [
    "PROGRAM_DIR", "AutomationError", "Change", "ChangeSummary", "CloudCredentialsMissing", "ConfigError",
    "ConfigMappingError", "ConfirmationRequired", "Diagnostic", "Error", "OperationFailed", "OperationResult",
    "OutputValue", "PlanDiff", "PlanError", "PlanResult", "PolicyPackError", "PolicyPackInstallError",
    "PolicyViolationError", "ProgramConfigError", "ProgramError", "PulumiCliNotFound", "Resource", "ResourceChange",
    "Secret", "StackLocked", "StackNotFound", "WorkspaceError", "__version__", "destroy", "diff_plans",
    "load_config_file", "load_plan", "outputs", "plan", "prepare_workspace", "preview", "up",
]
