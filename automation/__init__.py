"""Manage the ML platform per environment: ``python -m automation`` and a small typed library.

The public names are resolved lazily, so ``import automation`` (and therefore
``python -m automation --help`` and the offline plan) never imports
``pulumi.automation`` or anything else heavy, and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PlatformStack": "automation.stack",
    "StackLike": "automation.stack",
    "StackRequest": "automation.stack",
    "local_workspace_stack": "automation.stack",
    "open_stack": "automation.stack",
    "Secret": "automation.config_map",
    "ConfigEntry": "automation.config_map",
    "to_config_entries": "automation.config_map",
    "ChangeSummary": "automation.results",
    "PolicyViolation": "automation.results",
    "OperationResult": "automation.results",
    "OutputValue": "automation.results",
    "Diagnostic": "automation.results",
    "EventCollector": "automation.results",
    "RichProgress": "automation.progress",
    "PolicyPack": "automation.policy_pack",
    "install_policy_pack": "automation.policy_pack",
    "policy_pack_for": "automation.policy_pack",
    "find_pulumi_cli": "automation.preflight",
    "AutomationError": "automation.errors",
    "PulumiCliNotFound": "automation.errors",
    "CloudCredentialsMissing": "automation.errors",
    "PolicyViolationError": "automation.errors",
    "StackLocked": "automation.errors",
    "StackNotFound": "automation.errors",
    "OperationFailed": "automation.errors",
    "ConfigMappingError": "automation.errors",
    "PolicyPackInstallError": "automation.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'automation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
