"""parliament over every IAM policy document the stack would create.

Documents come from the offline plan's JSON: any input of any resource that is
a JSON string with a ``Statement`` (identity policies, role trust policies,
bucket/queue/key/file-system policies, inline role policies, ...), so a new
resource type is covered without touching this file.

How documents are fed to parliament (it lints one document at a time):

* identity policies as they are;
* resource policies (S3, SQS, KMS, EFS, ... with a ``Principal``) as they are:
  they carry ``Resource`` and parliament checks their principals;
* role TRUST policies are resource policies attached to the role itself and,
  as IAM allows, have no ``Resource``. parliament has no trust-policy mode and
  would only report "MALFORMED: neither Resource nor NotResource". We make the
  implicit resource explicit (the role's ARN) on statements that have neither,
  so parliament runs its real checks (principal shapes, condition keys and
  operators for ``sts:AssumeRole*``/``sts:TagSession``, action/resource match).
* other resource policies whose statements leave Resource out (an EFS
  file-system policy applies to the file system it is attached to; the program
  writes it that way because the file system's ID is unknown at a first
  preview) get the same treatment: the attached resource's ARN is filled in.

parliament runs with its community auditors (privilege escalation, credentials
exposure, permissions management, NotPrincipal/NotResource with Allow, ...) in
its own virtualenv. The gate: no finding at MEDIUM or above, after the severity
overrides and the narrow, reasoned exceptions in ``validators/parliament.yaml``.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml

from validators import envs
from validators.report import Finding, Section, Subject

VALIDATOR = "parliament"
CONFIG_FILE = Path(__file__).resolve().parent / "parliament.yaml"
DRIVER = Path(__file__).resolve().parent / "_parliament_driver.py"
SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
GATE = "MEDIUM"
_ARN_ACCOUNT = re.compile(r"arn:(aws[a-z-]*):[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+):\d{12}:")
#: Resource policies attached to one resource, and the ARN of that resource (partition, account, region, inputs).
_ATTACHED_TO = {
    "aws:efs/fileSystemPolicy:FileSystemPolicy": lambda p, a, r, i:
        f"arn:{p}:elasticfilesystem:{r}:{a}:file-system/{i.get('fileSystemId') or '*'}",
}


class ParliamentError(Exception):
    """parliament could not run, or its config file is invalid."""


@dataclass(frozen=True)
class Document:
    """One IAM policy document found in the plan."""

    resource: dict  # the plan's resource entry
    path: str  # input field holding the document, e.g. "assumeRolePolicy", "inlinePolicies[0].policy"
    text: str
    kind: str  # identity | resource | trust

    @property
    def id(self) -> str:
        return f"{self.resource.get('urn')}#{self.path}"

    @property
    def subject(self) -> Subject:
        r = self.resource
        return Subject(urn=str(r.get("urn") or ""), kind=str(r.get("type") or ""), name=str(r.get("name") or ""))


def strings_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its dotted path (where IAM documents hide in plan inputs)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_in(v, f"{path}[{i}]")


def _policy(text: str) -> Optional[dict]:
    s = text.strip()
    if not (s.startswith("{") and '"Statement"' in s):
        return None
    try:
        doc = json.loads(s)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) and "Statement" in doc else None


def _statements(doc: dict) -> list:
    st = doc.get("Statement")
    return st if isinstance(st, list) else [st]


def extract(plan: dict) -> list[Document]:
    """Every IAM policy document in the plan's resource inputs."""
    out = []
    for r in plan.get("resources") or []:
        if not str(r.get("type", "")).startswith("aws"):
            continue
        for path, text in strings_in(r.get("inputs") or {}):
            doc = _policy(text)
            if doc is None:
                continue
            if r.get("type") == "aws:iam/role:Role" and path == "assumeRolePolicy":
                kind = "trust"
            elif any(isinstance(s, dict) and ("Principal" in s or "NotPrincipal" in s) for s in _statements(doc)):
                kind = "resource"
            else:
                kind = "identity"
            out.append(Document(resource=r, path=path, text=text, kind=kind))
    return out


def _partition_account(plan_text: str) -> tuple[str, str]:
    m = _ARN_ACCOUNT.search(plan_text)
    return (m.group(1), m.group(2)) if m else ("aws", "123456789012")


def _region(plan_text: str) -> str:
    m = _ARN_REGION.search(plan_text)
    return m.group(1) if m else "*"


def prepare(doc: Document, partition: str, account: str, region: str = "*") -> str:
    """The text parliament sees: trust policies (and resource policies that leave Resource to the resource they
    are attached to) get that implicit Resource made explicit."""
    inputs = doc.resource.get("inputs") or {}
    attached = _ATTACHED_TO.get(str(doc.resource.get("type")))
    if doc.kind == "trust":
        role = inputs.get("name") or doc.resource.get("name")
        path = inputs.get("path") or "/"
        arn = f"arn:{partition}:iam::{account}:role{path}{role}"
    elif doc.kind == "resource" and attached is not None:
        arn = attached(partition, account, region, inputs)
    else:
        return doc.text
    policy = json.loads(doc.text)
    stmts = _statements(policy)
    for s in stmts:
        if isinstance(s, dict) and "Resource" not in s and "NotResource" not in s:
            s["Resource"] = arn
    policy["Statement"] = stmts
    return json.dumps(policy)


# --------------------------------------------------------------------------- config: overrides + exceptions


@dataclass(frozen=True)
class Exception_:
    """A finding we accept, matched narrowly. All given matchers must match."""

    issue: str
    reason: str
    resource_type: Optional[str] = None
    urn: Optional[str] = None  # regex, searched in the resource URN
    detail: Optional[str] = None  # regex, full match against the finding's detail (when a string)
    actions: Optional[frozenset[str]] = None  # the finding's actions must all be in this set (lowercase)
    type: Optional[str] = None  # community PRIVILEGE_ESCALATION "type"
    document: Optional[str] = None  # identity | resource | trust

    def matches(self, doc: Document, finding: dict) -> bool:
        if finding.get("issue") != self.issue:
            return False
        if self.document and doc.kind != self.document:
            return False
        if self.resource_type and doc.resource.get("type") != self.resource_type:
            return False
        if self.urn and not re.search(self.urn, str(doc.resource.get("urn") or "")):
            return False
        if self.detail is not None:
            detail = finding.get("detail")
            if not isinstance(detail, str) or not re.fullmatch(self.detail, detail):
                return False
        if self.actions is not None:
            acts = finding_actions(finding)
            if not acts or not acts <= self.actions:
                return False
        if self.type is not None and (finding.get("location") or {}).get("type") != self.type:
            return False
        return True


@dataclass
class Config:
    severity_overrides: dict[str, str] = field(default_factory=dict)
    exceptions: list[Exception_] = field(default_factory=list)


def load_config(path: Path = CONFIG_FILE) -> Config:
    data = yaml.safe_load(path.read_text()) or {}
    cfg = Config()
    for issue, entry in (data.get("severity_overrides") or {}).items():
        sev = str((entry or {}).get("severity", "")).upper()
        if sev not in SEVERITIES or not str((entry or {}).get("reason") or "").strip():
            raise ParliamentError(f"{path.name}: severity_overrides.{issue} needs a severity "
                                  f"({'/'.join(SEVERITIES)}) and a reason")
        cfg.severity_overrides[issue] = sev
    for i, e in enumerate(data.get("exceptions") or []):
        if not isinstance(e, dict) or not e.get("issue") or not str(e.get("reason") or "").strip():
            raise ParliamentError(f"{path.name}: exceptions[{i}] needs an issue and a reason")
        unknown = set(e) - {"issue", "reason", "resourceType", "urn", "detail", "actions", "type", "document"}
        if unknown:
            raise ParliamentError(f"{path.name}: exceptions[{i}] has unknown key(s) {', '.join(sorted(unknown))}")
        if not any(k in e for k in ("resourceType", "urn", "detail", "actions", "type")):
            raise ParliamentError(f"{path.name}: exceptions[{i}] ({e['issue']}) must be narrowed by at least one "
                                  "of resourceType, urn, detail, actions, type")
        if e.get("document") not in (None, "identity", "resource", "trust"):
            raise ParliamentError(f"{path.name}: exceptions[{i}].document must be identity, resource or trust")
        cfg.exceptions.append(Exception_(
            issue=str(e["issue"]), reason=" ".join(str(e["reason"]).split()),
            resource_type=e.get("resourceType"), urn=e.get("urn"), detail=e.get("detail"),
            actions=frozenset(a.lower() for a in e["actions"]) if e.get("actions") else None,
            type=e.get("type"), document=e.get("document")))
    return cfg


def finding_actions(finding: dict) -> frozenset[str]:
    """Actions a finding is about: community auditors list them in location, core ones in detail."""
    acts: set[str] = set()
    loc = finding.get("location") or {}
    if isinstance(loc, dict):
        acts |= {str(a).lower() for a in loc.get("actions") or []}
    detail = finding.get("detail")
    if isinstance(detail, list):
        for d in detail:
            if isinstance(d, dict) and d.get("action"):
                acts.add(str(d["action"]).lower())
            elif isinstance(d, str):
                acts.add(d.lower())
    return frozenset(acts)


# --------------------------------------------------------------------------- running


def run_parliament(texts: dict[str, str], python: Optional[Path] = None) -> dict[str, list[dict]]:
    """Findings per document id, from parliament's own interpreter."""
    py = python or envs.ensure("parliament").python
    request = {"documents": [{"id": k, "policy": v} for k, v in texts.items()], "communityAuditors": True}
    proc = subprocess.run([str(py), str(DRIVER)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise ParliamentError(f"parliament driver exited {proc.returncode}:\n{tail}")
    data = json.loads(proc.stdout)
    return {r["id"]: r["findings"] for r in data["results"]}


def _describe(finding: dict) -> str:
    title = finding.get("title") or finding.get("issue")
    detail = finding.get("detail")
    acts = sorted(finding_actions(finding))
    parts = [str(title).strip()]
    if isinstance(detail, str) and detail:
        parts.append(detail)
    elif isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        parts.append("; ".join(f"{d.get('action')} needs a resource like {d.get('required_format')}"
                               for d in detail[:6]))
    if acts and not (isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail)):
        parts.append("actions: " + ", ".join(acts[:12]) + (" ..." if len(acts) > 12 else ""))
    loc = finding.get("location") or {}
    if isinstance(loc, dict) and loc.get("type"):
        parts.append(f"escalation path: {loc['type']}")
    if finding.get("description"):
        parts.append(str(finding["description"]).strip())
    return "\n".join(parts)


def check(plan: dict, config: Optional[Config] = None, python: Optional[Path] = None) -> Section:
    section = Section(VALIDATOR)
    try:
        config = load_config() if config is None else config
        docs = extract(plan)
        plan_text = json.dumps(plan.get("resources") or [])
        partition, account = _partition_account(plan_text)
        region = _region(plan_text)
        results = run_parliament({d.id: prepare(d, partition, account, region) for d in docs}, python) if docs else {}
    except (ParliamentError, envs.EnvError, subprocess.TimeoutExpired, OSError, json.JSONDecodeError) as exc:
        section.error = str(exc)
        return section
    section.checked = len(docs)
    below = 0
    accepted: dict[str, int] = {}
    for doc in docs:
        for f in results.get(doc.id, []):
            severity = config.severity_overrides.get(f["issue"], f.get("severity") or "LOW")
            if SEVERITIES.index(severity) < SEVERITIES.index(GATE):
                below += 1
                continue
            exc = next((e for e in config.exceptions if e.matches(doc, f)), None)
            if exc is not None:
                accepted[f"{exc.issue}: {exc.reason}"] = accepted.get(f"{exc.issue}: {exc.reason}", 0) + 1
                continue
            section.findings.append(Finding(VALIDATOR, f["issue"], doc.subject, _describe(f),
                                            path=f"{doc.path} ({doc.kind} policy)", severity=severity))
    kinds = {k: sum(1 for d in docs if d.kind == k) for k in ("identity", "resource", "trust")}
    section.notes.append(f"{len(docs)} documents ({kinds['identity']} identity, {kinds['resource']} resource, "
                         f"{kinds['trust']} trust); {below} finding(s) below {GATE} not gated; "
                         f"{sum(accepted.values())} accepted by validators/parliament.yaml")
    section.notes += [f"accepted x{n} {why}" for why, n in accepted.items()]
    return section
