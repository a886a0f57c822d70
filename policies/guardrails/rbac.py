"""RBAC rules: explicit grants, no cluster-admin for people, no verbs that escalate or open a shell."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from guardrails._meta import Ctx, resource_rule
from guardrails.common import as_list, obj
from guardrails.podspecs import kind_of

K8S = ("kubernetes:",)
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
ESCALATION_VERBS = ("escalate", "bind", "impersonate")
SHELL_RESOURCES = ["pods/exec", "pods/attach", "nodes/proxy"]


def _rbac_kind(ctx: Ctx, props: Mapping[str, Any]) -> str:
    if not ctx.type.startswith("kubernetes:rbac.authorization.k8s.io/"):
        return ""
    return kind_of(ctx.type, props)


def _rules(props: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, r) for i, r in enumerate(as_list(props.get("rules"))) if isinstance(r, Mapping)]


@resource_rule(
    name="rbac-no-wildcards",
    description="Roles and ClusterRoles list their verbs, resources and API groups explicitly (no \"*\").",
    remediation="Replace \"*\" with the exact verbs, resources and API groups the subject needs.",
    type_prefixes=K8S,
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
    description="Only system identities are bound to cluster-admin; people and workloads get scoped roles.",
    remediation="Bind a namespaced Role (or a narrow ClusterRole) instead; platform admins get cluster access "
                "through EKS access policies.",
    type_prefixes=K8S,
    config={"adminRoles": {"type": "array", "items": {"type": "string"}, "default": ["cluster-admin"],
                           "description": "ClusterRoles that count as cluster-admin."}},
)
def rbac_no_cluster_admin_binding(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in BINDING_KINDS:
        return
    ref = obj(props.get("roleRef"))
    if ref.get("kind", "ClusterRole") != "ClusterRole" or ref.get("name") not in set(ctx.config.get("adminRoles") or []):
        return
    for s in as_list(props.get("subjects")):
        if not isinstance(s, Mapping):
            continue
        s_kind, name = str(s.get("kind") or ""), str(s.get("name") or "")
        if s_kind in ("User", "Group") and name.startswith("system:"):
            continue
        if s_kind == "ServiceAccount" and s.get("namespace") == "kube-system":
            continue
        yield f"{kind} grants {ref.get('name')} to {s_kind} {name!r}"


@resource_rule(
    name="rbac-no-escalation-verbs",
    description="No role grants escalate, bind or impersonate, a shell into pods or nodes (pods/exec, "
                "pods/attach, nodes/proxy), or cluster-wide read of Secrets.",
    remediation="Drop these verbs and subresources; read Secrets only by resourceNames in a namespaced Role.",
    type_prefixes=K8S,
    config={"forbiddenResources": {"type": "array", "items": {"type": "string"}, "default": SHELL_RESOURCES,
                                   "description": "Resources/subresources no role may grant."}},
)
def rbac_no_escalation_verbs(props: dict, ctx: Ctx) -> Iterable[str]:
    kind = _rbac_kind(ctx, props)
    if kind not in ROLE_KINDS:
        return
    forbidden = set(ctx.config.get("forbiddenResources") or [])
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
        if kind == "ClusterRole" and "secrets" in res and groups & {"", "*"} \
                and verbs & {"get", "list", "watch", "*"} and not as_list(rule.get("resourceNames")):
            yield f"ClusterRole rules[{i}] reads every Secret in the cluster ({', '.join(sorted(verbs))})"
