"""Findings from the outside validators and how they are printed.

Every finding names the object (manifest file, kind, namespace/name, URN), the
validator and check that failed, the field when one is known, and why, so the
owner of the component can fix it without re-running anything.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional, TextIO


@dataclass(frozen=True)
class Subject:
    """What a finding is about: a Kubernetes object (manifest) or a Pulumi resource (IAM document)."""

    urn: str = ""
    file: str = ""  # manifest file name (plan --manifests output), if any
    kind: str = ""  # Kubernetes kind or Pulumi type token
    namespace: str = ""
    name: str = ""

    def label(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}".strip()


@dataclass(frozen=True)
class Finding:
    """One failed check."""

    validator: str  # kubernetes-validate, kubeflow-models, crd-schema, checkov, parliament, coverage
    check: str  # e.g. "strict-schema", "CKV_K8S_16", "UNKNOWN_ACTION"
    subject: Subject
    message: str
    path: str = ""  # field path inside the object/document, when known
    severity: str = ""  # parliament's severity, checkov's when set

    def render(self) -> str:
        s = self.subject
        head = f"FAIL [{self.validator}] {self.check}"
        if self.severity:
            head += f" ({self.severity})"
        lines = [head, f"    object: {s.label()}" + (f"  [{s.file}]" if s.file else "")]
        if s.urn:
            lines.append(f"    urn:    {s.urn}")
        if self.path:
            lines.append(f"    field:  {self.path}")
        for i, text in enumerate(self.message.splitlines() or [""]):
            lines.append(("    why:    " if i == 0 else "            ") + text)
        return "\n".join(lines)

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Section:
    """The outcome of one validator on one stack."""

    validator: str
    checked: int = 0  # objects/documents examined
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # accepted exceptions, skips, coverage remarks
    error: Optional[str] = None  # the validator itself could not run

    @property
    def ok(self) -> bool:
        return not self.findings and self.error is None


@dataclass
class Report:
    """Everything the validators found for one stack."""

    stack: str
    kubernetes_version: str = ""
    sections: list[Section] = field(default_factory=list)

    def add(self, section: Section) -> Section:
        self.sections.append(section)
        return section

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sections for f in s.findings]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections)

    def print(self, out: TextIO = sys.stdout, verbose: bool = False) -> None:
        w = out.write
        w(f"== Outside validators: stack {self.stack} (Kubernetes {self.kubernetes_version or '?'}) ==\n")
        for s in self.sections:
            status = "ok" if s.ok else ("ERROR" if s.error else f"{len(s.findings)} failed")
            w(f"-- {s.validator}: {s.checked} checked, {status}\n")
            if s.error:
                w(f"ERROR [{s.validator}] {s.error}\n")
            for f in s.findings:
                w(f.render() + "\n")
            for note in s.notes if (verbose or not s.ok) else s.notes[:0]:
                w(f"    note: {note}\n")
        by = Counter(f.validator for f in self.findings)
        summary = ", ".join(f"{v} {n}" for v, n in sorted(by.items())) or "none"
        errors = [s.validator for s in self.sections if s.error]
        w(f"Result for {self.stack}: {'PASS' if self.ok else 'FAIL'} ({len(self.findings)} failures: {summary}"
          + (f"; validators that could not run: {', '.join(errors)}" if errors else "") + ")\n")

    def as_json(self) -> dict:
        return {
            "stack": self.stack,
            "kubernetesVersion": self.kubernetes_version,
            "ok": self.ok,
            "sections": [
                {"validator": s.validator, "checked": s.checked, "ok": s.ok, "error": s.error,
                 "notes": s.notes, "findings": [f.as_json() for f in s.findings]}
                for s in self.sections
            ],
        }


def dump_json(reports: Iterable[Report]) -> str:
    return json.dumps([r.as_json() for r in reports], indent=2) + "\n"
