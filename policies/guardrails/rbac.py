"""RBAC rules: explicit grants, no escalation paths, and who may be bound to what.

Role rules read what a Role or ClusterRole grants, whoever it is bound to;
binding rules read who a RoleBinding or ClusterRoleBinding names: nobody
anonymous, never the default service account, and cluster-admin only for the
subjects the stack's policy config lists. Who gets into the cluster through
EKS access entries is checked in ``access.py``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from guardrails._meta import Ctx, resource_rule
from guardrails.common import annotations, as_list, flag, obj
from guardrails.podspecs import kind_of, pod_templates

K8S = ("kubernetes:",)
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
ESCALATION_VERBS = ("escalate", "bind", "impersonate")
SHELL_RESOURCES = ["pods/exec", "pods/attach", "nodes/proxy"]
SECRET_READ_VERBS = {"get", "list", "watch", "*"}
#: Pod-template annotation by which a pod declares it calls the Kubernetes API (see workloads.py).
NEEDS_API_ANNOTATION = "mlplatform.io/needs-kubernetes-api"

#: Subjects that stand for "anyone who reaches the API server" (the anonymous user is in system:unauthenticated).
ANONYMOUS_SUBJECTS = {("User", "system:anonymous"), ("Group", "system:unauthenticated"),
                      ("Group", "system:authenticated")}
#: ``<ClusterRole>=<group>`` pairs Kubernetes itself creates for these groups (RBAC bootstrap policy,
#: kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-role-bindings.yaml).
BUILTIN_DISCOVERY_BINDINGS = [
    "system:basic-user=system:authenticated",
    "system:discovery=system:authenticated",
    "system:public-info-viewer=system:authenticated",
    "system:public-info-viewer=system:unauthenticated",
]
#: Grants that hand over the cluster, or a piece of it, even without wildcards. Each names the API group, the
#: resource and the verbs; a rule matches when it grants one of the verbs (or "*") on the resource (or "*")
#: in the group (or "*").
SENSITIVE_GRANTS = [
    # CIS 4.1.4: whoever creates pods directly can mount any service account's token and any volume in the namespace.
    {"apiGroup": "", "resource": "pods", "verbs": ["create"], "why": "create pods directly"},
    # A debug container is a shell in a running pod.
    {"apiGroup": "", "resource": "pods/ephemeralcontainers", "verbs": ["update", "patch"],
     "why": "add ephemeral (debug) containers to running pods"},
    # CIS 4.1.9: a PersistentVolume can point at any hostPath or storage backend.
    {"apiGroup": "", "resource": "persistentvolumes", "verbs": ["create"], "why": "create PersistentVolumes"},
    # CIS 4.1.12: a token for any service account is that account's access.
    {"apiGroup": "", "resource": "serviceaccounts/token", "verbs": ["create"],
     "why": "mint service-account tokens"},
    # CIS 4.1.11, checkov CKV_K8S_155: webhooks see (and may rewrite) every object admitted.
    {"apiGroup": "admissionregistration.k8s.io", "resource": "mutatingwebhookconfigurations",
     "verbs": ["create", "update", "patch", "delete"], "why": "change admission webhooks"},
    {"apiGroup": "admissionregistration.k8s.io", "resource": "validatingwebhookconfigurations",
     "verbs": ["create", "update", "patch", "delete"], "why": "change admission webhooks"},
    # checkov CKV_K8S_156: approving CSRs issues client certificates, e.g. for system:masters.
    {"apiGroup": "certificates.k8s.io", "resource": "certificatesigningrequests/approval",
     "verbs": ["update", "patch"], "why": "approve certificate signing requests"},
    {"apiGroup": "certificates.k8s.io", "resource": "signers", "verbs": ["approve"],
     "why": "approve certificate signing requests"},
    # checkov CKV2_K8S_4: status.loadBalancer.ingress.ip redirects traffic (CVE-2020-8554).
    {"apiGroup": "", "resource": "services/status", "verbs": ["update", "patch"],
     "why": "rewrite Service status (CVE-2020-8554 traffic redirection)"},
]


def _rbac_kind(ctx: Ctx, props: Mapping[str, Any]) -> str:
    if not ctx.type.startswith("kubernetes:rbac.authorization.k8s.io/"):
        return ""
    return kind_of(ctx.type, props)


def _rules(props: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, r) for i, r in enumerate(as_list(props.get("rules"))) if isinstance(r, Mapping)]


def _subjects(props: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(kind, name, namespace)`` of every subject of a binding."""
    out = []
    for s in as_list(props.get("subjects")):
        if isinstance(s, Mapping):
            out.append((str(s.get("kind") or ""), str(s.get("name") or ""), str(s.get("namespace") or "")))
    return out


def subject_key(kind: str, name: str, namespace: str = "") -> str:
    """``Group:team-admins``, ``User:alice``, ``ServiceAccount:<namespace>:<name>`` (the form tunables use)."""
    return f"{kind}:{namespace}:{name}" if kind == "ServiceAccount" else f"{kind}:{name}"


@resource_rule(
    name="rbac-no-wildcards",
    description="Roles and ClusterRoles list their verbs, resources and API groups explicitly (no \"*\").",
    remediation="Replace \"*\" with the exact verbs, resources and API groups the subject needs.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_49",),
    cis=("4.1.3",),
)
def rbac_no_wildcards(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in ROLE_KINDS:
        return
    for i, rule in _rules(props):
        wild = [f for f in ("verbs", "resources", "apiGroups", "nonResourceURLs")
                if any(str(v) == "*" or (f == "resources" and str(v).endswith("/*")) for v in as_list(rule.get(f)))]
        if wild:
            yield f"{kind} rules[{i}] uses \"*\" in {', '.join(wild)}"


@resource_rule(
    name="rbac-no-cluster-admin-binding",
    description="cluster-admin is bound only to the subjects the stack's policy config lists (by default only "
                "Kubernetes' own system:masters group); people and workloads get scoped roles.",
    remediation="Bind a namespaced Role (or a narrow ClusterRole) instead. Platform admins get cluster access "
                "through EKS access entries (eks-cluster-admin-access); a Kubernetes group that must hold "
                "cluster-admin is listed in allowedSubjects (\"Group:<name>\").",
    type_prefixes=K8S,
    config={
        "adminRoles": {"type": "array", "items": {"type": "string"}, "default": ["cluster-admin"],
                       "description": "ClusterRoles that count as cluster-admin."},
        "allowedSubjects": {
            "type": "array", "items": {"type": "string"}, "default": ["Group:system:masters"],
            "description": "Subjects that may hold them: \"Group:<name>\", \"User:<name>\" or "
                           "\"ServiceAccount:<namespace>:<name>\".",
        },
    },
    cis=("4.1.1",),
)
def rbac_no_cluster_admin_binding(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in BINDING_KINDS:
        return
    ref = obj(props.get("roleRef"))
    if ref.get("kind", "ClusterRole") != "ClusterRole" or ref.get("name") not in set(ctx.config.get("adminRoles") or []):
        return
    allowed = {str(s) for s in ctx.config.get("allowedSubjects") or []}
    for s_kind, name, ns in _subjects(props):
        if subject_key(s_kind, name, ns) in allowed:
            continue
        yield f"{kind} grants {ref.get('name')} to {subject_key(s_kind, name, ns)}, which allowedSubjects does not list"


@resource_rule(
    name="rbac-no-anonymous-subjects",
    description="No binding grants any role to system:anonymous, system:unauthenticated or system:authenticated "
                "(everyone who reaches the API), except the discovery roles Kubernetes binds to them itself.",
    remediation="Bind the role to the specific groups, users or service accounts that need it. Even a read-only "
                "role such as view exposes every ConfigMap and workload spec to anyone who can reach the endpoint.",
    type_prefixes=K8S,
    config={
        "allowedBindings": {
            "type": "array", "items": {"type": "string"}, "default": BUILTIN_DISCOVERY_BINDINGS,
            "description": "\"<ClusterRole>=<subject name>\" pairs accepted (Kubernetes' own defaults).",
        },
    },
)
def rbac_no_anonymous_subjects(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in BINDING_KINDS:
        return
    ref = obj(props.get("roleRef"))
    role = str(ref.get("name") or "")
    allowed = {str(b) for b in ctx.config.get("allowedBindings") or []}
    for s_kind, name, _ in _subjects(props):
        if (s_kind, name) not in ANONYMOUS_SUBJECTS:
            continue
        if ref.get("kind", "ClusterRole") == "ClusterRole" and f"{role}={name}" in allowed:
            continue
        yield f"{kind} grants {ref.get('kind') or 'ClusterRole'} {role!r} to {s_kind} {name}, i.e. to anyone"


@resource_rule(
    name="rbac-no-escalation-verbs",
    description="No role grants escalate, bind or impersonate, a shell into pods or nodes (pods/exec, "
                "pods/attach, nodes/proxy), or read access to all Secrets of a namespace or the cluster.",
    remediation="Drop these verbs and subresources; read Secrets only by resourceNames (a Role that names the "
                "Secrets it needs).",
    type_prefixes=K8S,
    config={
        "forbiddenResources": {"type": "array", "items": {"type": "string"}, "default": SHELL_RESOURCES,
                               "description": "Resources/subresources no role may grant."},
        "allowNamedSecretRead": {
            "type": "boolean", "default": True,
            "description": "Accept get on Secrets listed by resourceNames; false refuses any Secret read, as the "
                           "CIS audit does.",
        },
    },
    checkov=("CKV_K8S_157", "CKV_K8S_158", "CKV2_K8S_1", "CKV2_K8S_2", "CKV2_K8S_3", "CKV2_K8S_5"),
    cis=("4.1.2", "4.1.8", "4.1.10"),
)
def rbac_no_escalation_verbs(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in ROLE_KINDS:
        return
    forbidden = set(ctx.config.get("forbiddenResources") or [])
    named_ok = bool(ctx.config.get("allowNamedSecretRead", True))
    for i, rule in _rules(props):
        verbs = {str(v) for v in as_list(rule.get("verbs"))}
        res = {str(r) for r in as_list(rule.get("resources"))}
        groups = {str(g) for g in as_list(rule.get("apiGroups"))}
        bad_verbs = sorted(verbs & set(ESCALATION_VERBS))
        if bad_verbs:
            yield f"{kind} rules[{i}] grants {', '.join(bad_verbs)}"
        bad_res = sorted(res & forbidden)
        if bad_res:
            yield f"{kind} rules[{i}] grants {', '.join(sorted(verbs))} on {', '.join(bad_res)}"
        if res & {"secrets", "*"} and groups & {"", "*"} and verbs & SECRET_READ_VERBS:
            names = as_list(rule.get("resourceNames"))
            scope = "the cluster" if kind == "ClusterRole" else "its namespace"
            if not names:
                yield f"{kind} rules[{i}] reads every Secret in {scope} ({', '.join(sorted(verbs))})"
            elif not named_ok:
                yield f"{kind} rules[{i}] reads Secrets {', '.join(map(str, names))} and allowNamedSecretRead is off"


def _grants(rule: Mapping[str, Any], grant: Mapping[str, Any]) -> bool:
    groups = {str(g) for g in as_list(rule.get("apiGroups"))}
    verbs = {str(v) for v in as_list(rule.get("verbs"))}
    resources = {str(r) for r in as_list(rule.get("resources"))}
    resource = str(grant.get("resource") or "")
    sub = resource.split("/", 1)[1] if "/" in resource else None
    return (bool(groups & {str(grant.get("apiGroup") or ""), "*"})
            and bool(verbs & ({str(v) for v in as_list(grant.get("verbs"))} | {"*"}))
            and (bool(resources & {resource, "*"}) or (sub is not None and f"*/{sub}" in resources)))


@resource_rule(
    name="rbac-no-sensitive-grants",
    description="No role grants what hands over the cluster without a wildcard: creating pods directly or "
                "PersistentVolumes, minting service-account tokens, debug containers, changing admission webhooks, "
                "approving CSRs, or rewriting Service status.",
    remediation="Let controllers create pods (teams create Deployments/Jobs); provision volumes through "
                "StorageClasses; drop the grant, or list a reviewed system role (a CSI provisioner) in allowedRoles.",
    type_prefixes=K8S,
    config={
        "forbiddenGrants": {
            "type": "array", "items": {"type": "object"}, "default": SENSITIVE_GRANTS,
            "description": "Grants no role may hold: {apiGroup, resource, verbs, why}.",
        },
        "allowedRoles": {"type": "array", "items": {"type": "string"}, "default": [],
                         "description": "Role/ClusterRole names (metadata.name) exempt after review."},
    },
    checkov=("CKV_K8S_155", "CKV_K8S_156", "CKV2_K8S_4"),
    cis=("4.1.4", "4.1.9", "4.1.11", "4.1.12"),
)
def rbac_no_sensitive_grants(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in ROLE_KINDS:
        return
    if obj(props.get("metadata")).get("name") in set(ctx.config.get("allowedRoles") or []):
        return
    grants = [g for g in as_list(ctx.config.get("forbiddenGrants")) if isinstance(g, Mapping)]
    for i, rule in _rules(props):
        for g in grants:
            if _grants(rule, g):
                group = g.get("apiGroup") or "core"
                yield (f"{kind} rules[{i}] can {g.get('why') or 'use a sensitive grant'} "
                       f"({'/'.join(as_list(g.get('verbs')))} {g.get('resource')} in {group})")


@resource_rule(
    name="default-service-account-unused",
    description="The default service account is not used: it mounts no token, no binding names it, and pods run "
                "as their own service account (a pod without one mounts no token).",
    remediation="Set automountServiceAccountToken: false on each namespace's default ServiceAccount, bind roles to "
                "dedicated service accounts, and give every pod that needs the API its own serviceAccountName.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_41", "CKV_K8S_42"),
    cis=("4.1.5",),
)
def default_service_account_unused(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = kind_of(ctx.type, props)
    if kind == "ServiceAccount":
        named_default = obj(props.get("metadata")).get("name") == "default"
        if named_default and flag(props.get("automountServiceAccountToken")) is not False:
            yield "the default ServiceAccount mounts its token into every pod that names no service account"
        return
    if kind in BINDING_KINDS and ctx.type.startswith("kubernetes:rbac.authorization.k8s.io/"):
        for s_kind, name, ns in _subjects(props):
            if s_kind == "ServiceAccount" and name == "default":
                role = obj(props.get("roleRef")).get("name")
                yield f"{kind} grants {role!r} to the default service account of {ns or 'its namespace'}"
        return
    for pod in pod_templates(ctx.type, props):
        sa = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
        if sa == "default":
            yield f"{pod.where} names the default service account; give the workload its own"
        elif not sa and "automountServiceAccountToken" not in pod.inherits:
            # An unset automount is no-service-account-token-automount's finding; here: a pod that means to call
            # the API (mounts a token on purpose) must do it as its own service account.
            wants_api = flag(pod.spec.get("automountServiceAccountToken")) is True or str(
                annotations(pod.metadata).get(NEEDS_API_ANNOTATION, "")).lower() == "true"
            if wants_api and flag(pod.spec.get("automountServiceAccountToken")) is not False:
                yield f"{pod.where} calls the API as the default service account; give it its own serviceAccountName"
