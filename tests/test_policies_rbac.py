"""RBAC rules, through the analyzer."""

from __future__ import annotations

import pytest

from tests.policy_helpers import Case, case_id, deployment, k8s, pod_spec, run_case

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


# Teams create workloads through controllers, not pods directly (CIS 4.1.4), like TeamNamespace's role.
TEAM_RULES = [rule(["get", "list", "watch", "create", "update", "patch", "delete"], ["deployments", "statefulsets"],
                   groups=("apps",)),
              rule(["get", "list", "watch", "delete"], ["pods"]),
              rule(["get", "list", "watch", "create", "update", "patch", "delete"], ["services", "configmaps"]),
              rule(["get", "list", "watch"], ["pods/log"]),
              rule(["get", "list", "watch", "create", "delete"], ["trainjobs"], groups=("trainer.kubeflow.org",))]

ESCALATION = ("CKV_K8S_157", "CKV_K8S_158", "CKV2_K8S_1", "CKV2_K8S_2", "CKV2_K8S_3", "CKV2_K8S_5",
              "CIS 4.1.2", "CIS 4.1.8", "CIS 4.1.10")
SENSITIVE = ("CKV_K8S_155", "CKV_K8S_156", "CKV2_K8S_4", "CIS 4.1.4", "CIS 4.1.9", "CIS 4.1.11", "CIS 4.1.12")
UNAUTHENTICATED = {"kind": "Group", "name": "system:unauthenticated", "apiGroup": "rbac.authorization.k8s.io"}
AUTHENTICATED = {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}
DEVS = {"kind": "Group", "name": "team-a-developers", "apiGroup": "rbac.authorization.k8s.io"}


def service_account(name, automount=None, namespace="team-a"):
    extra = {} if automount is None else {"automountServiceAccountToken": automount}
    return k8s("v1", "ServiceAccount", name, namespace=namespace, extra=extra)


CASES = [
    Case("rbac-no-wildcards", True, role("all", rule(["*"], ["pods"])), contains="verbs", label="verbs",
         covers=("CKV_K8S_49", "CIS 4.1.3")),
    Case("rbac-no-wildcards", True, role("res", rule(["get"], ["*"], groups=("apps",)), cluster=True),
         label="resources", covers=("CKV_K8S_49",)),
    Case("rbac-no-wildcards", True, role("sub", rule(["get"], ["pods/*"])), label="subresource-wildcard"),
    Case("rbac-no-wildcards", True, role("grp", rule(["get"], ["deployments"], groups=("*",))), label="api-groups"),
    Case("rbac-no-wildcards", True, role("later", rule(["get"], ["pods"]), rule(["*"], ["configmaps"])),
         contains="rules[1]", label="not-only-the-first-rule", covers=("CKV_K8S_49", "CIS 4.1.3")),
    Case("rbac-no-wildcards", False, role("team", *TEAM_RULES), label="team-role", covers=("CKV_K8S_49", "CIS 4.1.3")),

    Case("rbac-no-cluster-admin-binding", True, binding("devs", DEVS), contains="Group:team-a-developers",
         label="group", covers=("CIS 4.1.1",)),
    Case("rbac-no-cluster-admin-binding", True,
         binding("sa", {"kind": "ServiceAccount", "name": "ci", "namespace": "team-a"}, cluster=False),
         label="rolebinding-serviceaccount"),
    Case("rbac-no-cluster-admin-binding", True,
         binding("kube-system-sa", {"kind": "ServiceAccount", "name": "tool", "namespace": "kube-system"}),
         label="kube-system-serviceaccount", covers=("CIS 4.1.1",)),
    Case("rbac-no-cluster-admin-binding", True, binding("everyone", AUTHENTICATED),
         label="system-authenticated-is-not-a-system-identity"),
    Case("rbac-no-cluster-admin-binding", False,
         binding("system", {"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}),
         label="system-masters", covers=("CIS 4.1.1",)),
    Case("rbac-no-cluster-admin-binding", False,
         binding("ca", {"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}),
         config={"rbac-no-cluster-admin-binding": {"allowedSubjects": [
             "Group:system:masters", "ServiceAccount:kube-system:cluster-autoscaler"]}}, label="tunable-listed"),
    Case("rbac-no-cluster-admin-binding", False,
         binding("edit", DEVS, role_name="edit", cluster=False), label="other-role"),

    Case("rbac-no-anonymous-subjects", True, binding("public-view", UNAUTHENTICATED, role_name="view"),
         contains="'view' to Group system:unauthenticated", label="view-to-unauthenticated"),
    Case("rbac-no-anonymous-subjects", True,
         binding("anon", {"kind": "User", "name": "system:anonymous", "apiGroup": "rbac.authorization.k8s.io"},
                 role_name="system:public-info-viewer"), label="anonymous-user"),
    Case("rbac-no-anonymous-subjects", True,
         binding("all-devs", DEVS, AUTHENTICATED, role_name="edit", cluster=False), label="rolebinding-authenticated"),
    Case("rbac-no-anonymous-subjects", True, binding("discovery-anon", UNAUTHENTICATED, role_name="system:discovery"),
         label="discovery-is-not-for-unauthenticated"),
    Case("rbac-no-anonymous-subjects", False,
         binding("discovery", AUTHENTICATED, role_name="system:discovery"), label="builtin-discovery"),
    Case("rbac-no-anonymous-subjects", False,
         binding("info", AUTHENTICATED, UNAUTHENTICATED, role_name="system:public-info-viewer"),
         label="builtin-public-info"),
    Case("rbac-no-anonymous-subjects", False, binding("devs-view", DEVS, role_name="view"), label="named-group"),

    Case("rbac-no-escalation-verbs", True, role("esc", rule(["bind", "escalate"], ["roles"],
                                                            groups=("rbac.authorization.k8s.io",))),
         contains="bind, escalate", label="bind-escalate", covers=("CKV_K8S_158", "CKV2_K8S_1", "CIS 4.1.8")),
    Case("rbac-no-escalation-verbs", True,
         role("binder", rule(["bind"], ["rolebindings"], groups=("rbac.authorization.k8s.io",)), cluster=True),
         label="bind-rolebindings", covers=("CKV_K8S_157", "CKV2_K8S_1")),
    Case("rbac-no-escalation-verbs", True, role("imp", rule(["impersonate"], ["users"]), cluster=True),
         label="impersonate", covers=("CKV2_K8S_3", "CIS 4.1.8")),
    Case("rbac-no-escalation-verbs", True, role("exec", rule(["create"], ["pods/exec"])), contains="pods/exec",
         label="exec", covers=("CKV2_K8S_2",)),
    Case("rbac-no-escalation-verbs", True, role("proxy", rule(["get"], ["nodes/proxy"]), cluster=True),
         label="nodes-proxy", covers=("CKV2_K8S_2", "CIS 4.1.10")),
    Case("rbac-no-escalation-verbs", True, role("secrets", rule(["list"], ["secrets"]), cluster=True),
         contains="every Secret in the cluster", label="cluster-secrets", covers=("CKV2_K8S_5", "CIS 4.1.2")),
    Case("rbac-no-escalation-verbs", True, role("ns-secrets", rule(["get"], ["secrets"])),
         contains="every Secret in its namespace", label="namespaced-secret-read", covers=("CKV2_K8S_5", "CIS 4.1.2")),
    Case("rbac-no-escalation-verbs", True,
         role("named", rule(["get"], ["secrets"], resourceNames=["webhook-cert"]), cluster=True),
         config={"rbac-no-escalation-verbs": {"allowNamedSecretRead": False}}, label="tunable-no-named-read"),
    Case("rbac-no-escalation-verbs", False, role("team", *TEAM_RULES), label="team-role", covers=ESCALATION),
    Case("rbac-no-escalation-verbs", False,
         role("named", rule(["get"], ["secrets"], resourceNames=["webhook-cert"]), cluster=True),
         label="cluster-named-secret", covers=("CKV2_K8S_5", "CIS 4.1.2")),
    Case("rbac-no-escalation-verbs", False, role("exec-ok", rule(["create"], ["pods/exec"])),
         config={"rbac-no-escalation-verbs": {"forbiddenResources": ["nodes/proxy"]}}, label="tunable"),

    Case("rbac-no-sensitive-grants", True, role("pods", rule(["get", "create"], ["pods"])),
         contains="create pods directly", label="create-pods", covers=("CIS 4.1.4",)),
    Case("rbac-no-sensitive-grants", True, role("pv", rule(["create"], ["persistentvolumes"]), cluster=True),
         label="create-pv", covers=("CIS 4.1.9",)),
    Case("rbac-no-sensitive-grants", True, role("tokens", rule(["create"], ["serviceaccounts/token"])),
         label="mint-tokens", covers=("CIS 4.1.12",)),
    Case("rbac-no-sensitive-grants", True,
         role("hooks", rule(["patch"], ["validatingwebhookconfigurations"],
                            groups=("admissionregistration.k8s.io",)), cluster=True),
         contains="admission webhooks", label="webhooks", covers=("CKV_K8S_155", "CIS 4.1.11")),
    Case("rbac-no-sensitive-grants", True,
         role("csr", rule(["update"], ["certificatesigningrequests/approval"], groups=("certificates.k8s.io",)),
              cluster=True), label="csr-approval", covers=("CKV_K8S_156",)),
    Case("rbac-no-sensitive-grants", True,
         role("signer", rule(["approve"], ["signers"], groups=("certificates.k8s.io",),
                             resourceNames=["kubernetes.io/kube-apiserver-client"]), cluster=True),
         label="signer-approve", covers=("CKV_K8S_156",)),
    Case("rbac-no-sensitive-grants", True,
         role("lb-status", rule(["patch"], ["services/status"])), contains="CVE-2020-8554",
         label="services-status", covers=("CKV2_K8S_4",)),
    Case("rbac-no-sensitive-grants", True, role("debug", rule(["patch"], ["pods/ephemeralcontainers"])),
         label="ephemeral-containers"),
    Case("rbac-no-sensitive-grants", True, role("any", rule(["*"], ["*"], groups=("*",)), cluster=True),
         label="wildcard-matches-everything", covers=SENSITIVE),
    Case("rbac-no-sensitive-grants", False, role("team", *TEAM_RULES), label="team-role", covers=SENSITIVE),
    Case("rbac-no-sensitive-grants", False,
         role("csi-provisioner", rule(["create", "delete", "get", "list", "watch"], ["persistentvolumes"]),
              cluster=True),
         config={"rbac-no-sensitive-grants": {"allowedRoles": ["csi-provisioner"]}}, label="tunable-allowed-role"),
    Case("rbac-no-sensitive-grants", False,
         role("status-reader", rule(["get"], ["services/status", "pods"])), label="read-only"),

    Case("default-service-account-unused", True, service_account("default"), contains="mounts its token",
         label="default-sa-automounts", covers=("CKV_K8S_41", "CIS 4.1.5")),
    Case("default-service-account-unused", True,
         binding("default-edit", {"kind": "ServiceAccount", "name": "default", "namespace": "team-a"},
                 role_name="edit", cluster=False), contains="default service account of team-a",
         label="binding-to-default", covers=("CKV_K8S_42", "CIS 4.1.5")),
    Case("default-service-account-unused", True,
         deployment(spec=pod_spec(serviceAccountName="default")), contains="names the default service account",
         label="pod-names-default", covers=("CIS 4.1.5",)),
    Case("default-service-account-unused", True,
         deployment("controller", spec=pod_spec(automountServiceAccountToken=True),
                    template_annotations={"mlplatform.io/needs-kubernetes-api": "true"}),
         contains="calls the API as the default service account", label="api-caller-without-own-sa"),
    Case("default-service-account-unused", False, service_account("default", automount=False),
         label="default-sa-no-token", covers=("CKV_K8S_41", "CIS 4.1.5")),
    Case("default-service-account-unused", False, service_account("trainer"), label="own-sa"),
    Case("default-service-account-unused", False,
         binding("ci-edit", {"kind": "ServiceAccount", "name": "ci", "namespace": "team-a"}, role_name="edit",
                 cluster=False), label="binding-to-own-sa", covers=("CKV_K8S_42",)),
    Case("default-service-account-unused", False, deployment(), label="pod-without-token"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rbac_rules(case: Case) -> None:
    run_case(case)
