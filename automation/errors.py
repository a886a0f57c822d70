"""Typed failures of the automation library (``mlplatform.Error`` and its subclasses).

Every failure the library reports derives from :class:`Error`, so an embedding
tool needs one ``except mlplatform.Error``. Each renders as ONE line
(``str(exc)``) that the CLI prints as is and a tool can show to a human without
a traceback; the only exception is a :class:`ConfigError` that gathers several
problems, which has one line per problem. ``exit_code`` is what the command
line returns for it.

The hierarchy::

    Error
    ├── ConfigError            a config value is invalid (.key, .reason, .errors)
    ├── ProgramError           the Pulumi program raised something that is not a config error
    ├── WorkspaceError         a directory cannot serve as the program's workspace
    ├── ProgramConfigError, PlanError, PolicyPackError   the offline plan: stack files, plan files, the pack
    └── AutomationError        live operations through the Automation API
        ├── PulumiCliNotFound, CloudCredentialsMissing, StackLocked, StackNotFound,
        ├── PolicyViolationError (exit code 1), OperationFailed, ConfigMappingError,
        └── PolicyPackInstallError, ConfirmationRequired
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .results import OperationResult, PolicyViolation

#: How the official installer pins a CLI version; the version comes from the pinned ``pulumi`` package.
INSTALL_COMMAND = "curl -fsSL https://get.pulumi.com | sh -s -- --version {version}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Error(Exception):
    """Base class of every failure the library reports (``mlplatform.Error``)."""

    exit_code: int = 2


class ConfigError(Error, ValueError):
    """The stack config is invalid, found before any resource is registered.

    ``key`` names the setting (``nodeGroups.gpu.maxSize``, ``aws:region``...) and
    ``reason`` says what is wrong with it. When the program found several
    problems in one run, ``errors`` holds one ConfigError per problem (the first
    one's key and reason are also this error's) and ``str()`` has one line each.
    """

    def __init__(self, key: str, reason: str, *, errors: Sequence["ConfigError"] = ()) -> None:
        self.key = key
        self.reason = reason
        self.errors: tuple[ConfigError, ...] = tuple(errors) or (self,)
        lines = [f"invalid config {e.key}: {_one_line(e.reason)}" for e in self.errors]
        super().__init__("\n".join(lines))

    @classmethod
    def from_program(cls, exc: BaseException) -> "ConfigError":
        """The program's ``components.config.ConfigError`` (one, or several in ``.errors``) as this type."""
        found = [e for e in (getattr(exc, "errors", None) or (exc,)) if getattr(e, "key", None) is not None]
        if not found:
            return cls(str(getattr(exc, "key", "") or "config"), str(exc))
        parts = [cls(str(getattr(e, "key")), str(getattr(e, "reason", None) or e)) for e in found]
        return cls(parts[0].key, parts[0].reason, errors=parts if len(parts) > 1 else ())


def is_program_config_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the program's config error (``components.config.ConfigError``).

    Recognised by shape (a ``pulumi.RunError`` with a ``key``) rather than by
    import: the program's ``components`` package is only importable while the
    program's directory is on ``sys.path``.
    """
    try:
        from pulumi import RunError
    except ImportError:  # pragma: no cover - pulumi is a runtime requirement
        return False
    return isinstance(exc, RunError) and getattr(exc, "key", None) is not None


class ProgramError(Error):
    """The Pulumi program failed for a reason other than its config (a bug, a missing file...)."""

    def __init__(self, message: str, *, cause: Optional[BaseException] = None) -> None:
        self.cause = cause
        super().__init__(_one_line(message))


class WorkspaceError(Error):
    """A directory cannot hold the program's workspace (it holds unrelated files of the same names)."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class ProgramConfigError(Error):
    """The stack files cannot be read: one line naming the file and why (offline plan)."""


class PlanError(Error):
    """The offline plan failed (a policy config or plan file it cannot use): one line."""


class PolicyPackError(Error):
    """The policy pack could not be started, configured or queried (offline plan): one line, no traceback."""


class AutomationError(Error):
    """A live operation (Automation API) failed; the caller can report it as one line."""

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
