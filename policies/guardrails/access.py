"""EKS access rules: who becomes a cluster administrator through AWS, not Kubernetes RBAC.

With authentication mode API, an IAM principal gets into the cluster through an
access entry, and its rights come from the EKS access policies associated with
it (or from the Kubernetes groups the entry maps it to). Three ways make a
principal cluster-admin in all but name:

* an ``aws:eks/accessPolicyAssociation`` with ``AmazonEKSClusterAdminPolicy``,
  or ``AmazonEKSAdminPolicy`` scoped to the whole cluster;
* the same policies in a pulumi-eks ``Cluster``'s ``accessEntries`` input
  (pulumi-eks creates the association inside its provider, so offline only
  the input is visible);
* an access entry that maps the principal to ``system:masters``.

Each stack lists its administrators in its policy config
(``policies/config/<stack>.json``, ``allowedPrincipals``); everyone else gets
namespaced or read-only access. Kubernetes-side cluster-admin bindings are
``rbac-no-cluster-admin-binding``'s business.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Mapping

from guardrails._meta import Ctx, resource_rule
from guardrails.common import as_list, flag, obj

ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
EKS_CLUSTER = "eks:index:Cluster"
AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster"
#: EKS access policies (arn:<partition>:eks::aws:cluster-access-policy/<name>) that are cluster-admin at any scope,
#: and those that are at cluster scope (AmazonEKSAdminPolicy: admin of every namespace, kube-system included).
ADMIN_POLICIES = ["AmazonEKSClusterAdminPolicy"]
CLUSTER_SCOPE_ADMIN_POLICIES = ["AmazonEKSAdminPolicy"]
ADMIN_GROUPS = ["system:masters"]


def policy_name(arn: Any) -> str:
    """``AmazonEKSClusterAdminPolicy`` from an EKS access policy ARN (or a bare name)."""
    return str(arn or "").rsplit("/", 1)[-1]


def _admin_grant(policy_arn: Any, scope: Any, ctx: Ctx) -> str:
    """Why an association is cluster-admin-equivalent, or "" when it is not."""
    name = policy_name(policy_arn)
    scope_type = str(obj(scope).get("type") or "")
    if name in set(ctx.config.get("adminPolicies") or []):
        return f"{name} ({scope_type or 'unscoped'} scope)"
    if name in set(ctx.config.get("clusterScopeAdminPolicies") or []) and scope_type != "namespace":
        return f"{name} at {scope_type or 'cluster'} scope"
    return ""


def principal_allowed(principal: Any, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(str(principal), str(p)) for p in patterns)


@resource_rule(
    name="eks-cluster-admin-access",
    description="Only the principals the stack's policy config lists become cluster administrators through EKS: "
                "AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy at cluster scope or the system:masters group, "
                "on access policy associations and entries and pulumi-eks accessEntries.",
    remediation="Give teams AmazonEKSEditPolicy/AmazonEKSViewPolicy scoped to their namespaces (or Kubernetes groups "
                "bound to namespaced Roles); list platform administrators' role ARNs in allowedPrincipals in "
                "policies/config/<stack>.json (the same ARNs as the stack's adminRoleArns).",
    types=(ASSOCIATION, ACCESS_ENTRY, EKS_CLUSTER, AWS_EKS_CLUSTER),
    config={
        "allowedPrincipals": {
            "type": "array", "items": {"type": "string"}, "default": [],
            "description": "IAM principal ARNs (fnmatch patterns) that may be cluster administrators.",
        },
        "adminPolicies": {"type": "array", "items": {"type": "string"}, "default": ADMIN_POLICIES,
                          "description": "EKS access policies that are cluster-admin at any scope."},
        "clusterScopeAdminPolicies": {
            "type": "array", "items": {"type": "string"}, "default": CLUSTER_SCOPE_ADMIN_POLICIES,
            "description": "EKS access policies that are cluster-admin when scoped to the cluster."},
        "adminGroups": {"type": "array", "items": {"type": "string"}, "default": ADMIN_GROUPS,
                        "description": "Kubernetes groups an access entry must not map unlisted principals to."},
        "allowClusterCreatorAdmin": {
            "type": "boolean", "default": True,
            "description": "Accept accessConfig.bootstrapClusterCreatorAdminPermissions (the identity that runs "
                           "`pulumi up` stays cluster-admin; pulumi-eks needs it to create in-cluster resources)."},
    },
)
def eks_cluster_admin_access(props: dict, ctx: Ctx) -> Iterable[str]:
    allowed = [str(p) for p in ctx.config.get("allowedPrincipals") or []]
    groups = set(ctx.config.get("adminGroups") or [])
    if ctx.type == ASSOCIATION:
        # Read the policy first: the principal is only needed (and may be unknown in a preview) for admin grants.
        why = _admin_grant(props.get("policyArn"), props.get("accessScope"), ctx)
        if why and not principal_allowed(props.get("principalArn"), allowed):
            yield f"grants {why} to {props.get('principalArn')}, which allowedPrincipals does not list"
    elif ctx.type == ACCESS_ENTRY:
        admin = sorted(set(str(g) for g in as_list(props.get("kubernetesGroups"))) & groups)
        if admin and not principal_allowed(props.get("principalArn"), allowed):
            yield f"maps {props.get('principalArn')} to {', '.join(admin)}, which allowedPrincipals does not list"
    elif ctx.type == EKS_CLUSTER:
        entries = props.get("accessEntries")
        for key, entry in (entries.items() if isinstance(entries, Mapping) else enumerate(as_list(entries))):
            entry = obj(entry)
            whys = []
            for _, assoc in obj(entry.get("accessPolicies")).items():
                why = _admin_grant(obj(assoc).get("policyArn"), obj(assoc).get("accessScope"), ctx)
                if why:
                    whys.append(why)
            whys += sorted(set(str(g) for g in as_list(entry.get("kubernetesGroups"))) & groups)
            if whys and not principal_allowed(entry.get("principalArn"), allowed):
                yield (f"accessEntries[{key}] grants {', '.join(whys)} to {entry.get('principalArn')}, which "
                       f"allowedPrincipals does not list")
    elif ctx.type == AWS_EKS_CLUSTER:
        access = obj(props.get("accessConfig"))
        # EKS's default is true: the creating identity gets a hidden cluster-admin access entry.
        creator = flag(access.get("bootstrapClusterCreatorAdminPermissions"))
        if creator is not False and not ctx.config.get("allowClusterCreatorAdmin", True):
            yield ("accessConfig.bootstrapClusterCreatorAdminPermissions is not false: the identity that creates "
                   "the cluster becomes cluster-admin outside allowedPrincipals")
