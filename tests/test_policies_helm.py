"""Helm release values that reach pod security, through the analyzer: the pack sees a chart value that makes an
add-on privileged, whatever the chart, at any depth of the values."""

from __future__ import annotations

import pytest

from tests.policy_helpers import Case, analyze, case_id, hits, load_config, res, run_case

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(name, chart, values, namespace="kube-system", version="1.0.0"):
    return res(RELEASE, name, {"chart": chart, "version": version, "namespace": namespace, "values": values})


CASES = [
    Case("helm-values-pod-security", True,
         release("lbc", "aws-load-balancer-controller", {"securityContext": {"privileged": True}}),
         contains="values.securityContext.privileged runs a privileged container", label="privileged"),
    Case("helm-values-pod-security", True,
         release("metrics", "metrics-server", {"podSecurityContext": {"runAsUser": 0}}),
         contains="runAsUser: 0", label="root"),
    Case("helm-values-pod-security", True,
         release("ingress", "ingress-nginx", {"controller": {"hostNetwork": True, "hostPort": {"enabled": True},
                                                             "image": {"tag": "latest"}}}),
         contains="values.controller.hostNetwork", label="host-network-and-port"),
    Case("helm-values-pod-security", True,
         release("kps", "oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack",
                 {"grafana": {"containerSecurityContext": {"capabilities": {"add": ["NET_ADMIN"]},
                                                           "allowPrivilegeEscalation": True}}},
                 namespace="monitoring"),
         contains="adds capabilities NET_ADMIN", label="subchart-capabilities"),
    Case("helm-values-pod-security", True,
         release("agent", "my-agent", {"extraVolumes": [{"name": "docker", "hostPath": {
             "path": "/var/run/docker.sock"}}], "seccompProfile": {"type": "Unconfined"}}),
         contains="/var/run/docker.sock", label="host-path-in-a-list"),
    Case("helm-values-pod-security", True,
         release("ca", "cluster-autoscaler", {"image": {"repository": "evil.example.com/autoscaler", "tag": "v1"}}),
         contains="not an approved registry", label="unapproved-image"),
    Case("helm-values-pod-security", True,
         release("tool", "tool", {"sidecar": {"image": "busybox"}}), contains="not pinned", label="unpinned-image"),
    Case("helm-values-pod-security", True,
         release("kps", "kube-prometheus-stack", {"prometheus-node-exporter": {"hostNetwork": True}}),
         config={"helm-values-pod-security": {"exceptions": [
             {"chart": "kube-prometheus-stack", "path": "prometheus-node-exporter.host*", "reason": ""}]}},
         label="exception-without-reason-does-not-count"),
    Case("helm-values-pod-security", False,
         release("kps", "kube-prometheus-stack", {"prometheus-node-exporter": {"hostNetwork": True, "hostPID": True},
                                                  "grafana": {"persistence": {"enabled": True}}},
                 namespace="monitoring"), label="node-exporter-exception"),
    Case("helm-values-pod-security", False,
         release("ca", "cluster-autoscaler", {"image": {"tag": "v1.35.1"}, "replicaCount": 1,
                                              "securityContext": {"runAsNonRoot": True, "runAsUser": 65534,
                                                                  "privileged": False,
                                                                  "capabilities": {"drop": ["ALL"]}}}),
         label="hardened-values"),
    Case("helm-values-pod-security", False,
         release("karpenter", "oci://public.ecr.aws/karpenter/karpenter",
                 {"image": {"repository": "public.ecr.aws/karpenter/controller", "tag": "1.15.0"}}),
         label="approved-image"),
    Case("helm-values-pod-security", False,
         release("agent", "my-agent", {"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}),
         config={"helm-values-pod-security": {"allowedCapabilities": ["NET_BIND_SERVICE"]}},
         label="tunable-capability"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_helm_rules(case: Case) -> None:
    run_case(case)


def test_every_default_exception_carries_a_reason() -> None:
    from guardrails.helm import DEFAULT_EXCEPTIONS

    assert DEFAULT_EXCEPTIONS and all(e["chart"] and e["path"] and len(e["reason"]) > 20 for e in DEFAULT_EXCEPTIONS)


def test_unknown_values_in_preview_do_not_silence_the_rule() -> None:
    """A value not known yet (the cluster endpoint) is skipped; a privileged flag next to it is still seen."""
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    rel = release("karpenter", "karpenter", {"settings": {"clusterEndpoint": unknown},
                                             "controller": {"securityContext": {"privileged": True}}})
    found = hits(analyze(rel, load_config("prod")), "helm-values-pod-security")
    assert [d.level for d in found] == ["mandatory"] and "privileged" in found[0].message
