"""Typed failures of the automation library.

Every exception here renders as ONE line (``str(exc)``), so the CLI can print it
as is and callers embedding the library can show it to a human without a
traceback. ``exit_code`` is what ``python -m automation`` returns for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from automation.results import OperationResult, PolicyViolation

#: How the official installer pins a CLI version; the version comes from the pinned ``pulumi`` package.
INSTALL_COMMAND = "curl -fsSL https://get.pulumi.com | sh -s -- --version {version}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class AutomationError(Exception):
    """Base class: a failure the caller can report as one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class PulumiCliNotFound(AutomationError):
    """The ``pulumi`` executable is neither on PATH nor in ``$PULUMI_HOME/bin`` (default ``~/.pulumi/bin``)."""

    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__(
            f"Pulumi CLI not found (looked on PATH and in $PULUMI_HOME/bin): install it with "
            f"`{INSTALL_COMMAND.format(version=version)}` (the version of the pinned pulumi package) "
            f"and add ~/.pulumi/bin to PATH"
        )


class CloudCredentialsMissing(AutomationError):
    """No AWS credential source was found (up front), or the provider reported none (from the engine)."""


class StackLocked(AutomationError):
    """Another update holds the stack's lock (the engine's concurrent-update conflict)."""

    def __init__(self, stack: str, detail: str = "") -> None:
        self.stack = stack
        hint = ("wait for it to finish; if no update is running, clear the lock with `pulumi cancel` "
                "(Pulumi Cloud) or by deleting the lock file under .pulumi/locks/ (self-managed backend)")
        super().__init__(f"stack {stack} is locked by another update{f' ({detail})' if detail else ''}: {hint}")


class StackNotFound(AutomationError):
    """The stack does not exist in the backend and the caller asked not to create it."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        super().__init__(f"stack {stack} does not exist in the current backend (create it with `pulumi stack init {stack}` "
                         f"or let the library create it)")


class PolicyViolationError(AutomationError):
    """The policy pack reported at least one mandatory violation; the operation did not proceed."""

    exit_code = 1

    def __init__(self, stack: str, operation: str, violations: Sequence["PolicyViolation"],
                 result: "OperationResult | None" = None) -> None:
        self.stack = stack
        self.operation = operation
        self.violations = tuple(violations)
        self.result = result
        mandatory = [v for v in self.violations if v.mandatory]
        names = sorted({v.policy for v in mandatory})
        super().__init__(f"{operation} of stack {stack} blocked by {len(mandatory)} mandatory policy "
                         f"violation{'s' if len(mandatory) != 1 else ''} ({', '.join(names)})")


class OperationFailed(AutomationError):
    """The engine failed for another reason; the message is its first error line."""


class ConfigMappingError(AutomationError, ValueError):
    """A Python value cannot be stored as Pulumi config."""


class PolicyPackInstallError(AutomationError):
    """Creating the policy pack's virtualenv or installing its requirements failed."""


class ConfirmationRequired(AutomationError):
    """A destructive command was run without ``--yes`` and without a terminal to ask on."""
