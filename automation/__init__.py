"""Manage the ML platform per environment: ``python -m automation`` and a small typed library.

The public face of this library is the ``mlplatform`` package (``import mlplatform``); installed, this
package is ``mlplatform.automation``.

The public names are resolved lazily, so ``import automation`` (and therefore
``python -m automation --help`` and the offline plan) never imports
``pulumi.automation`` or anything else heavy, and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PlatformStack": ".stack",
    "StackLike": ".stack",
    "StackRequest": ".stack",
    "local_workspace_stack": ".stack",
    "open_stack": ".stack",
    "Secret": ".config_map",
    "ConfigEntry": ".config_map",
    "to_config_entries": ".config_map",
    "ChangeSummary": ".results",
    "PolicyViolation": ".results",
    "OperationResult": ".results",
    "OutputValue": ".results",
    "Diagnostic": ".diagnostics",
    "EventCollector": ".results",
    "RichProgress": ".progress",
    "PolicyPack": ".policy_pack",
    "install_policy_pack": ".policy_pack",
    "policy_pack_for": ".policy_pack",
    "find_pulumi_cli": ".preflight",
    "plan": ".api",
    "preview": ".api",
    "up": ".api",
    "destroy": ".api",
    "outputs": ".api",
    "PlanResult": ".api",
    "Resource": ".api",
    "prepare_workspace": ".api",
    "diff_plans": ".plandiff",
    "Error": ".errors",
    "ConfigError": ".errors",
    "ProgramError": ".errors",
    "AutomationError": ".errors",
    "PulumiCliNotFound": ".errors",
    "CloudCredentialsMissing": ".errors",
    "PolicyViolationError": ".errors",
    "StackLocked": ".errors",
    "StackNotFound": ".errors",
    "OperationFailed": ".errors",
    "ConfigMappingError": ".errors",
    "PolicyPackInstallError": ".errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'automation' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
