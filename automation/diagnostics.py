"""One verdict type for the offline plan and the engine alike (``mlplatform.Diagnostic``).

The offline plan reads verdicts from the policy pack over gRPC; ``preview`` and
``up`` read them from the engine's policy events; the engine also reports
errors and warnings of its own. All three are a :class:`Diagnostic`:

* a **policy verdict** has ``policy`` set and ``level`` one of ``mandatory``,
  ``advisory``, ``remediate`` or ``disabled``;
* an **engine or program message** has ``policy == ""`` and ``level`` ``error``
  or ``warning``.

``urn`` is the resource's URN, or empty (``""`` offline, ``None`` from the
engine) for stack-level policies and messages about no resource: test it for
truth. Only this module imports nothing but the standard library, so the
offline analyzer and the event collector can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

#: Levels a policy verdict can have (pulumi-policy's EnforcementLevel).
POLICY_LEVELS = ("mandatory", "advisory", "remediate", "disabled")
#: Levels of the engine's own messages.
MESSAGE_LEVELS = ("error", "warning")


@dataclass(frozen=True)
class Diagnostic:
    """One policy verdict, or one engine/program error or warning (``policy`` empty)."""

    #: The policy's name; empty for an engine or program message.
    policy: str
    #: ``mandatory`` | ``advisory`` | ``remediate`` | ``disabled`` for verdicts; ``error`` | ``warning`` otherwise.
    level: str
    #: The resource's URN; empty or None for the stack and for messages about no resource.
    urn: Optional[str]
    #: The violation text (the policy's description line is in ``description``), or the message.
    message: str
    #: The policy's one-line description (offline verdicts carry it; the engine folds it into ``message``).
    description: str = ""
    #: The policy pack's name and version.
    pack: str = ""
    pack_version: str = ""
    #: Blind rules only (a first preview, ``plan --fresh``): the unknown value the rule read (``.assumeRolePolicy``),
    #: the resources that value is computed from, and why it is unknown / when the rule runs.
    path: str = ""
    depends_on: tuple[str, ...] = ()
    reason: str = ""

    @property
    def mandatory(self) -> bool:
        """A mandatory policy verdict: the engine would stop the update."""
        return self.level == "mandatory"

    @property
    def is_policy(self) -> bool:
        """A policy verdict (rather than an engine or program message)."""
        return bool(self.policy)

    @property
    def severity(self) -> str:
        """``error`` or ``warning``, the way the engine shows it (mandatory verdicts are errors)."""
        return "error" if self.level in ("error", "mandatory") else "warning"

    def as_json(self) -> dict[str, Any]:
        """Every field, plus ``severity``. A superset of the keys both older JSON shapes had."""
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message,
                "description": self.description, "pack": self.pack, "pack_version": self.pack_version,
                "severity": self.severity}

    @classmethod
    def message_of(cls, severity: str, message: str, urn: Optional[str] = None) -> "Diagnostic":
        """An engine or program message (no policy)."""
        return cls(policy="", level=severity, urn=urn, message=message)
