"""RBAC rules, through the analyzer."""

from __future__ import annotations

import pytest

from tests.policy_helpers import Case, case_id, k8s, run_case

RBAC = "rbac.authorization.k8s.io/v1"


def role(name, *rules, cluster=False):
    return k8s(RBAC, "ClusterRole" if cluster else "Role", name, namespace=None if cluster else "team-a",
               extra={"rules": list(rules)})


def rule(verbs, resources, groups=("",), **extra):
    return {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs), **extra}


def binding(name, *subjects, role_name="cluster-admin", cluster=True):
    return k8s(RBAC, "ClusterRoleBinding" if cluster else "RoleBinding", name, namespace=None if cluster else "team-a",
               extra={"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
                      "subjects": list(subjects)})


TEAM_RULES = [rule(["get", "list", "watch", "create", "update", "patch", "delete"], ["pods", "services", "configmaps"]),
              rule(["get", "list", "watch"], ["pods/log"]),
              rule(["get", "list", "watch", "create", "delete"], ["trainjobs"], groups=("trainer.kubeflow.org",))]

CASES = [
    Case("rbac-no-wildcards", True, role("all", rule(["*"], ["pods"])), contains="verbs", label="verbs"),
    Case("rbac-no-wildcards", True, role("res", rule(["get"], ["*"], groups=("apps",)), cluster=True),
         label="resources"),
    Case("rbac-no-wildcards", True, role("sub", rule(["get"], ["pods/*"])), label="subresource-wildcard"),
    Case("rbac-no-wildcards", True, role("grp", rule(["get"], ["deployments"], groups=("*",))), label="api-groups"),
    Case("rbac-no-wildcards", False, role("team", *TEAM_RULES), label="team-role"),

    Case("rbac-no-cluster-admin-binding", True,
         binding("devs", {"kind": "Group", "name": "team-a-developers", "apiGroup": "rbac.authorization.k8s.io"}),
         contains="team-a-developers", label="group"),
    Case("rbac-no-cluster-admin-binding", True,
         binding("sa", {"kind": "ServiceAccount", "name": "ci", "namespace": "team-a"}, cluster=False),
         label="rolebinding-serviceaccount"),
    Case("rbac-no-cluster-admin-binding", False,
         binding("system", {"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"},
                 {"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}),
         label="system-subjects"),
    Case("rbac-no-cluster-admin-binding", False,
         binding("edit", {"kind": "Group", "name": "team-a-developers"}, role_name="edit", cluster=False),
         label="other-role"),

    Case("rbac-no-escalation-verbs", True, role("esc", rule(["bind", "escalate"], ["roles"],
                                                            groups=("rbac.authorization.k8s.io",))),
         contains="bind, escalate", label="bind-escalate"),
    Case("rbac-no-escalation-verbs", True, role("imp", rule(["impersonate"], ["users"]), cluster=True),
         label="impersonate"),
    Case("rbac-no-escalation-verbs", True, role("exec", rule(["create"], ["pods/exec"])), contains="pods/exec",
         label="exec"),
    Case("rbac-no-escalation-verbs", True, role("proxy", rule(["get"], ["nodes/proxy"]), cluster=True),
         label="nodes-proxy"),
    Case("rbac-no-escalation-verbs", True, role("secrets", rule(["list"], ["secrets"]), cluster=True),
         contains="every Secret", label="cluster-secrets"),
    Case("rbac-no-escalation-verbs", False, role("team", *TEAM_RULES), label="team-role"),
    Case("rbac-no-escalation-verbs", False, role("ns-secrets", rule(["get"], ["secrets"])),
         label="namespaced-secret-read"),
    Case("rbac-no-escalation-verbs", False,
         role("named", rule(["get"], ["secrets"], resourceNames=["webhook-cert"]), cluster=True),
         label="cluster-named-secret"),
    Case("rbac-no-escalation-verbs", False, role("exec-ok", rule(["create"], ["pods/exec"])),
         config={"rbac-no-escalation-verbs": {"forbiddenResources": ["nodes/proxy"]}}, label="tunable"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rbac_rules(case: Case) -> None:
    run_case(case)
