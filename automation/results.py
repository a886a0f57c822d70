"""Typed results of stack operations, folded from the engine's event stream.

The engine streams ``EngineEvent`` objects (``pulumi.automation.events``); an
:class:`EventCollector` is the ``on_event`` callback that turns them into a
:class:`ChangeSummary`, :class:`PolicyViolation` records and error
diagnostics. It only reads attributes, so it works on the SDK's event objects
and on events replayed from recorded JSON (:func:`events_from_json`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from .diagnostics import Diagnostic

SECRET_MASK = "[secret]"

# The engine counts these step kinds in a summary; anything else lands in ChangeSummary.other.
_COUNTED = ("create", "update", "delete", "replace", "same")
# Colour directives (<{%fg 1%}>) and ANSI escapes the CLI may leave in messages.
_COLOR = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;]*[A-Za-z]")


def clean_message(text: Optional[str]) -> str:
    return _COLOR.sub("", text or "").strip()


def _op_name(op: Any) -> str:
    return str(getattr(op, "value", op))


@dataclass(frozen=True)
class ChangeSummary:
    """Resource counts by operation, as in the engine's summary event."""

    create: int = 0
    update: int = 0
    delete: int = 0
    replace: int = 0
    same: int = 0
    #: Other step kinds the engine reported (read, refresh, import, discard...), by name.
    other: Mapping[str, int] = field(default_factory=dict, hash=False)

    @classmethod
    def from_op_map(cls, changes: Optional[Mapping[Any, int]]) -> "ChangeSummary":
        counts = {_op_name(k): int(v) for k, v in (changes or {}).items()}
        return cls(**{k: counts.pop(k, 0) for k in _COUNTED}, other=dict(sorted(counts.items())))

    @property
    def changes(self) -> int:
        """Resources that would be (or were) created, updated, deleted or replaced."""
        return self.create + self.update + self.delete + self.replace

    def as_json(self) -> dict:
        return {"create": self.create, "update": self.update, "delete": self.delete, "replace": self.replace,
                "same": self.same, "other": dict(self.other)}

    def describe(self) -> str:
        parts = [f"{n} to {k}" for k, n in (("create", self.create), ("update", self.update),
                                             ("delete", self.delete), ("replace", self.replace)) if n]
        return ", ".join(parts + [f"{self.same} unchanged"])


#: A policy verdict from the engine: the one :class:`~automation.diagnostics.Diagnostic` type (kept under this
#: name for existing callers).
PolicyViolation = Diagnostic


@dataclass(frozen=True)
class OutputValue:
    """One stack output and whether it is secret."""

    value: Any
    secret: bool = False

    def shown(self, show_secrets: bool = False) -> Any:
        return self.value if (show_secrets or not self.secret) else SECRET_MASK


def outputs_from_sdk(outputs: Optional[Mapping[str, Any]]) -> dict[str, OutputValue]:
    """Stack outputs from the SDK's ``OutputMap`` (objects with ``.value``/``.secret``) or plain values."""
    out = {}
    for k, v in (outputs or {}).items():
        out[k] = v if isinstance(v, OutputValue) else OutputValue(getattr(v, "value", v), bool(getattr(v, "secret", False)))
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class OperationResult:
    """What a preview, up, refresh or destroy did (or would do)."""

    operation: str  # "preview" | "up" | "refresh" | "destroy"
    stack: str
    summary: ChangeSummary
    outputs: Mapping[str, OutputValue] = field(default_factory=dict, hash=False)
    #: Policy verdicts (``Diagnostic`` with ``policy`` set).
    violations: tuple[PolicyViolation, ...] = ()
    #: The engine's own errors and warnings (``Diagnostic`` with ``policy == ""``).
    diagnostics: tuple[Diagnostic, ...] = ()
    #: Policy packs that ran, name -> version (from the summary event).
    policy_packs: Mapping[str, str] = field(default_factory=dict, hash=False)
    duration_seconds: Optional[int] = None

    @property
    def mandatory(self) -> tuple[PolicyViolation, ...]:
        return tuple(v for v in self.violations if v.mandatory)

    @property
    def advisory(self) -> tuple[PolicyViolation, ...]:
        return tuple(v for v in self.violations if not v.mandatory)

    def as_json(self, show_secrets: bool = False) -> dict:
        return {
            "operation": self.operation,
            "stack": self.stack,
            "summary": self.summary.as_json(),
            "outputs": {k: v.shown(show_secrets) for k, v in self.outputs.items()},
            "secretOutputs": sorted(k for k, v in self.outputs.items() if v.secret),
            "violations": [v.as_json() for v in self.violations],
            "diagnostics": [d.as_json() for d in self.diagnostics],
            "policyPacks": dict(self.policy_packs),
            "durationSeconds": self.duration_seconds,
        }


class EventCollector:
    """``on_event`` callback that accumulates what a result needs. Thread-safe (events arrive on a watcher thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.summary_changes: Optional[dict[str, int]] = None
        self.policy_packs: dict[str, str] = {}
        self.duration_seconds: Optional[int] = None
        self.violations: list[PolicyViolation] = []
        self.diagnostics: list[Diagnostic] = []
        self.steps: dict[str, str] = {}  # urn -> op, for steps the engine finished
        self.failed: list[str] = []  # urns whose operation failed
        self.cancelled = False
        self.events = 0

    def __call__(self, event: Any) -> None:
        with self._lock:
            self.events += 1
            if getattr(event, "summary_event", None) is not None:
                s = event.summary_event
                self.summary_changes = {_op_name(k): int(v) for k, v in (s.resource_changes or {}).items()}
                self.policy_packs = dict(s.policy_packs or {})
                self.duration_seconds = s.duration_seconds
            if getattr(event, "policy_event", None) is not None:
                v = violation_from_event(event.policy_event)
                if v not in self.violations:  # the engine may repeat a violation (preview + update phases)
                    self.violations.append(v)
            if getattr(event, "diagnostic_event", None) is not None:
                d = event.diagnostic_event
                if d.severity in ("error", "warning") and not d.ephemeral:
                    diag = Diagnostic.message_of(d.severity, clean_message(d.message), d.urn or None)
                    if diag.message and diag not in self.diagnostics:
                        self.diagnostics.append(diag)
            if getattr(event, "res_outputs_event", None) is not None:
                md = event.res_outputs_event.metadata
                self.steps[md.urn] = _op_name(md.op)
            if getattr(event, "res_op_failed_event", None) is not None:
                self.failed.append(event.res_op_failed_event.metadata.urn)
            if getattr(event, "cancel_event", None) is not None:
                self.cancelled = True

    @property
    def mandatory(self) -> list[PolicyViolation]:
        return [v for v in self.violations if v.mandatory]

    def first_error(self) -> Optional[str]:
        for d in self.diagnostics:
            if d.severity == "error":
                return d.message.splitlines()[0] if d.message else None
        return None

    def result(self, operation: str, stack: str, *, outputs: Optional[Mapping[str, Any]] = None,
               fallback_changes: Optional[Mapping[Any, int]] = None) -> OperationResult:
        """The typed result; ``fallback_changes`` (the SDK's summary) is used if no summary event arrived."""
        with self._lock:
            changes = self.summary_changes if self.summary_changes is not None else fallback_changes
            return OperationResult(
                operation=operation,
                stack=stack,
                summary=ChangeSummary.from_op_map(changes),
                outputs=outputs_from_sdk(outputs),
                violations=tuple(self.violations),
                diagnostics=tuple(self.diagnostics),
                policy_packs=dict(self.policy_packs),
                duration_seconds=self.duration_seconds,
            )


def normalize_level(level: str) -> str:
    # Older engines and the SDK's docs call advisory "warning".
    level = (level or "").lower()
    return "advisory" if level == "warning" else level


def violation_from_event(p: Any) -> PolicyViolation:
    return PolicyViolation(
        policy=p.policy_name,
        pack=p.policy_pack_name,
        pack_version=p.policy_pack_version,
        level=normalize_level(p.enforcement_level),
        urn=p.resource_urn or None,
        message=clean_message(p.message),
    )


def events_from_json(lines: Iterable[str | Mapping[str, Any]]) -> list[Any]:
    """``EngineEvent`` objects from recorded JSON (one event per line, as the engine's event log writes them)."""
    from pulumi.automation.events import EngineEvent

    out = []
    for item in lines:
        if isinstance(item, str):
            if not item.strip():
                continue
            item = json.loads(item)
        out.append(EngineEvent.from_json(dict(item)))
    return out


def replay(path: Path | str, collector: Optional[EventCollector] = None) -> EventCollector:
    """Feed a recorded event log (JSON lines, or a JSON array) through a collector."""
    text = Path(path).read_text()
    items = json.loads(text) if text.lstrip().startswith("[") else text.splitlines()
    collector = collector or EventCollector()
    for event in events_from_json(items):
        collector(event)
    return collector
