"""IAM rules: no admin, no escalation paths, and trust policies that name who may assume a role.

Identity policies are read wherever they live: aws:iam/policy, rolePolicy,
userPolicy, groupPolicy and the inline policies of aws:iam/role. Documents
arrive as JSON strings (what ``get_policy_document`` renders) or objects.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from guardrails._meta import Ctx, resource_rule
from guardrails.common import (
    action_matches,
    actions,
    allows,
    as_list,
    conditions,
    parse_doc,
    principals,
    resources,
    statements,
)

ROLE = "aws:iam/role:Role"
POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy")
IDENTITY_POLICY_TYPES = POLICY_TYPES + (ROLE,)
ATTACHMENT_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                    "aws:iam/policyAttachment:PolicyAttachment",
                    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")

ESCALATION_ACTIONS = [
    "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
    "iam:AttachUserPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:CreateAccessKey",
    "iam:UpdateAssumeRolePolicy", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:*", "sts:AssumeRole",
]
ADMIN_POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"]


def identity_documents(resource_type: str, props: dict) -> Iterator[tuple[str, dict]]:
    """``(where, document)`` for every identity policy the resource carries."""
    if resource_type in POLICY_TYPES:
        doc = parse_doc(props.get("policy"))
        if doc:
            yield "policy", doc
    elif resource_type == ROLE:
        for i, p in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(p, dict):
                doc = parse_doc(p.get("policy"))
                if doc:
                    yield f"inlinePolicies[{i}] ({p.get('name') or 'unnamed'})", doc


def _sid(stmt: dict, i: int) -> str:
    return f"statement {stmt.get('Sid') or i}"


@resource_rule(
    name="iam-no-wildcard-admin",
    description="No identity policy allows every action on every resource.",
    remediation="List the actions the workload needs and scope Resource to the ARNs it touches.",
    types=IDENTITY_POLICY_TYPES,
)
def iam_no_wildcard_admin(props: dict, ctx: Ctx) -> Iterable[str]:
    for where, doc in identity_documents(ctx.type, props):
        for i, stmt in enumerate(statements(doc)):
            if not allows(stmt) or "*" not in resources(stmt):
                continue
            if any(a in ("*", "*:*") for a in actions(stmt)):
                yield f"{where} {_sid(stmt, i)} allows \"*\" on \"*\" (full administrator)"
            elif "NotAction" in stmt:
                yield f"{where} {_sid(stmt, i)} allows NotAction on \"*\", which grants nearly every action"


def _managed_name(arn: Any) -> str:
    m = re.match(r"^arn:[^:]+:iam::aws:policy/(?:.*/)?([^/]+)$", str(arn or ""))
    return m.group(1) if m else ""


@resource_rule(
    name="iam-no-admin-policies-on-workloads",
    description="No role, user or group gets AWS's administrator-class managed policies.",
    remediation="Replace AdministratorAccess/PowerUserAccess/IAMFullAccess with a least-privilege policy; "
                "humans get admin through EKS access entries and SSO, not attached policies.",
    types=ATTACHMENT_TYPES + (ROLE,),
    config={
        "deniedPolicies": {"type": "array", "items": {"type": "string"}, "default": ADMIN_POLICIES,
                           "description": "AWS managed policy names that must never be attached."},
    },
)
def iam_no_admin_policies_on_workloads(props: dict, ctx: Ctx) -> Iterable[str]:
    denied = set(ctx.config.get("deniedPolicies") or [])
    arns = as_list(props.get("managedPolicyArns")) if ctx.type == ROLE \
        else as_list(props.get("policyArn")) + as_list(props.get("policyArns"))
    for arn in arns:
        if _managed_name(arn) in denied:
            yield f"attaches the AWS managed policy {_managed_name(arn)} ({arn})"


def _trust(props: dict) -> list[dict]:
    return statements(parse_doc(props.get("assumeRolePolicy")))


@resource_rule(
    name="irsa-trust-scoped",
    description="A role trusted by an EKS OIDC provider (IRSA) is limited to one service account: StringEquals on "
                "<issuer>:sub (exact, no wildcard) and on <issuer>:aud = sts.amazonaws.com. The document names the "
                "cluster's OIDC issuer, which exists only once EKS has created the cluster: at a first preview the "
                "rule cannot run, checks the rendered trust at `up`, and workload-identity-intent judges the intent "
                "(namespace, service account, audience) at preview.",
    remediation="In the trust policy's condition use StringEquals {\"<issuer>:sub\": "
                "\"system:serviceaccount:<namespace>:<name>\", \"<issuer>:aud\": \"sts.amazonaws.com\"}. Put both "
                "keys in ONE StringEquals block (a Python dict with two \"StringEquals\" keys keeps only the last).",
    types=(ROLE,),
    cis=("5.2.1",),
)
def irsa_trust_scoped(props: dict, ctx: Ctx) -> Iterable[str]:
    for i, stmt in enumerate(_trust(props)):
        if not allows(stmt):
            continue
        oidc = [f for f in principals(stmt).get("Federated", []) if "oidc-provider/" in f]
        if not oidc or not any(action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions(stmt)):
            continue
        conds = conditions(stmt)
        equals = conds.get("StringEquals", {})
        like = conds.get("StringLike", {})
        for fed in oidc:
            issuer = fed.split("oidc-provider/", 1)[1]
            sub, aud = f"{issuer}:sub".lower(), f"{issuer}:aud".lower()  # condition keys are case-insensitive
            subs = equals.get(sub, [])
            if not subs:
                how = "only with StringLike" if sub in like else "not at all"
                yield (f"{_sid(stmt, i)}: {issuer}:sub is checked {how}; any service account in the cluster "
                       f"can assume this role")
            elif any("*" in s or "?" in s for s in subs):
                yield f"{_sid(stmt, i)}: {issuer}:sub uses a wildcard ({', '.join(subs)})"
            auds = equals.get(aud, [])
            if not auds or any(a != "sts.amazonaws.com" for a in auds):
                yield (f"{_sid(stmt, i)}: {issuer}:aud is not StringEquals sts.amazonaws.com "
                       f"({', '.join(auds) or 'missing'})")


@resource_rule(
    name="iam-no-privilege-escalation",
    description="No identity policy grants privilege-escalation or credential actions (iam:PassRole, "
                "iam:CreatePolicyVersion, iam:Attach*/Put* policies, iam:CreateAccessKey, sts:AssumeRole, ...) "
                "on Resource \"*\".",
    remediation="Scope these actions to specific ARNs (e.g. iam:PassRole only on the node role Karpenter hands "
                "to instances), or drop them.",
    types=IDENTITY_POLICY_TYPES,
    config={
        "escalationActions": {"type": "array", "items": {"type": "string"}, "default": ESCALATION_ACTIONS,
                              "description": "Actions that must not be allowed on Resource \"*\"."},
    },
)
def iam_no_privilege_escalation(props: dict, ctx: Ctx) -> Iterable[str]:
    risky = [str(a) for a in ctx.config.get("escalationActions") or []]
    for where, doc in identity_documents(ctx.type, props):
        for i, stmt in enumerate(statements(doc)):
            if not allows(stmt) or "*" not in resources(stmt):
                continue
            if "NotAction" in stmt:
                excluded = [str(a) for a in as_list(stmt.get("NotAction"))]
                hits = [r for r in risky if not any(action_matches(p, r) for p in excluded)]
            else:
                hits = [r for r in risky if any(action_matches(p, r) for p in actions(stmt))]
            if hits:
                yield f"{where} {_sid(stmt, i)} allows {', '.join(hits)} on \"*\""


@resource_rule(
    name="iam-trust-no-wildcard-principal",
    description="No role trust policy lets any principal (\"*\") assume the role. A trust that is unknown at "
                "preview (an IRSA trust names the cluster's OIDC issuer) is checked at `up`.",
    remediation="Name the trusted principal (a service, an account root, a role ARN, an OIDC provider); a \"*\" "
                "principal is accepted only with an organisation/account condition from allowedConditionKeys.",
    types=(ROLE,),
    config={
        "allowedConditionKeys": {
            "type": "array", "items": {"type": "string"},
            "default": ["aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:PrincipalArn"],
            "description": "Condition keys that make a wildcard principal acceptable.",
        },
    },
)
def iam_trust_no_wildcard_principal(props: dict, ctx: Ctx) -> Iterable[str]:
    allowed = {str(k).lower() for k in ctx.config.get("allowedConditionKeys") or []}
    for i, stmt in enumerate(_trust(props)):
        if not allows(stmt):
            continue
        wild = sorted({v for vs in principals(stmt).values() for v in vs if "*" in v})
        if not wild:
            continue
        keys = {k for block in conditions(stmt).values() for k in block}
        if not keys & allowed:
            yield f"{_sid(stmt, i)} trusts principal {', '.join(wild)} without an account/organisation condition"


WORKLOAD_IDENTITY = "mlplatform:identity:WorkloadIdentity"
#: Kubernetes names: a namespace is a DNS-1123 label, a service account a DNS-1123 subdomain.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IRSA_AUDIENCE = "sts.amazonaws.com"


@resource_rule(
    name="workload-identity-intent",
    description="A workload identity binds exactly one Kubernetes service account: a literal namespace and "
                "service account name (no wildcard), and with IRSA the token audience sts.amazonaws.com. Judged on "
                "the identity component's inputs, which are known at a first preview even when the IRSA trust "
                "document is not (it names the cluster's OIDC issuer; irsa-trust-scoped checks it at `up`).",
    remediation="Give WorkloadIdentity the exact namespace and service account the workload runs as; one role per "
                "service account. Keep the IRSA audience sts.amazonaws.com.",
    types=(WORKLOAD_IDENTITY,),
)
def workload_identity_intent(props: dict, ctx: Ctx) -> Iterable[str]:
    mode = props.get("identityMode")
    if mode not in ("irsa", "pod-identity"):
        yield f"identityMode is {mode!r}, neither irsa nor pod-identity"
    for key, pattern, kind in (("namespace", _DNS_LABEL, "namespace (DNS-1123 label)"),
                               ("serviceAccount", _DNS_SUBDOMAIN, "service account name (DNS-1123 subdomain)")):
        value = props.get(key)
        if not isinstance(value, str) or not value:
            yield f"{key} is missing: the identity would not be bound to one service account"
        elif any(c in value for c in "*?"):
            yield f"{key} {value!r} is a wildcard: every matching service account could assume the role"
        elif not pattern.match(value):
            yield f"{key} {value!r} is not a literal {kind}"
    if mode == "irsa":
        audience = props.get("audience")
        if audience != IRSA_AUDIENCE:
            yield f"audience is {audience!r}: the IRSA trust must require <issuer>:aud = {IRSA_AUDIENCE}"
