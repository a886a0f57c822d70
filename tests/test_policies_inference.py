"""Inference rules, through the analyzer: GPU endpoints run Guaranteed on GPU nodes; ScaledObjects are sound."""

from __future__ import annotations

import copy

import pytest

from tests.policy_helpers import (
    GPU_TOLERATION, Case, analyze, case_id, container, deployment, gpu_container, hits, k8s, pod_spec, run_case,
)


def gpu_endpoint(name="llm", *, tolerations=(GPU_TOLERATION,), gpus=1, resources=None, init=None,
                 namespace="serving", replicas=2, strategy=None):
    c = gpu_container("server", gpus=gpus)
    c["readinessProbe"] = c["livenessProbe"] = {"httpGet": {"path": "/health", "port": 8000}}
    if resources is not None:
        c["resources"] = resources
    extra = {"tolerations": list(tolerations)} if tolerations else {}
    if init is not None:
        extra["initContainers"] = [init]
    reg = deployment(name, pod_spec(c, **extra), namespace=namespace)
    reg.wire_inputs["spec"]["replicas"] = replicas
    if strategy is not None:
        reg.wire_inputs["spec"]["strategy"] = strategy
    return reg


def scaled_object(name="llm", *, target="llm", namespace="serving", max_replicas=4, kind=None, api=None,
                  omit_max=False):
    ref = {"name": target}
    if kind:
        ref["kind"] = kind
    if api:
        ref["apiVersion"] = api
    spec = {"scaleTargetRef": ref, "minReplicaCount": 1, "maxReplicaCount": max_replicas,
            "triggers": [{"type": "prometheus", "metadata": {"serverAddress": "http://p:9090", "query": "up",
                                                             "threshold": "4"}}]}
    if omit_max:
        del spec["maxReplicaCount"]
    return k8s("keda.sh/v1alpha1", "ScaledObject", name, namespace=namespace, spec=spec,
               resource_name=f"so-{name}-{namespace}")


def quota(namespace="serving", **hard):
    hard = hard or {"requests.cpu": "64", "limits.cpu": "64", "requests.memory": "256Gi", "limits.memory": "256Gi",
                    "requests.nvidia.com/gpu": "8"}
    return k8s("v1", "ResourceQuota", "team-quota", namespace=namespace, spec={"hard": hard},
               resource_name=f"quota-{namespace}")


def hpa(name="llm", target="llm", namespace="serving"):
    return k8s("autoscaling/v2", "HorizontalPodAutoscaler", name, namespace=namespace, spec={
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": 1, "maxReplicas": 3,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                "averageUtilization": 70}}}]})


def big_endpoint(**kw):
    """8 CPU / 48Gi / 1 GPU per replica, like prod's llm example."""
    res = {"requests": {"cpu": "8", "memory": "48Gi", "nvidia.com/gpu": "1"},
           "limits": {"cpu": "8", "memory": "48Gi", "nvidia.com/gpu": "1"}}
    return gpu_endpoint(resources=res, **kw)


UNEQUAL_CPU = {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
               "limits": {"cpu": "8", "memory": "16Gi", "nvidia.com/gpu": 1}}
UNEQUAL_GPU = {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
               "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2}}
LOADER = container("fetch-model", resources={"requests": {"cpu": "8", "memory": "48Gi"},
                                             "limits": {"cpu": "8", "memory": "48Gi"}})

CASES = [
    # gpu-endpoints-guaranteed
    Case("gpu-endpoints-guaranteed", True, gpu_endpoint(tolerations=()), contains="does not tolerate",
         label="no-toleration"),
    Case("gpu-endpoints-guaranteed", True,
         gpu_endpoint(tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"},)),
         contains="does not tolerate", label="wrong-effect"),
    Case("gpu-endpoints-guaranteed", True, gpu_endpoint(resources=UNEQUAL_GPU), contains="nvidia.com/gpu requests",
         label="gpu-limit-differs"),
    Case("gpu-endpoints-guaranteed", True, gpu_endpoint(resources=UNEQUAL_CPU), contains="cpu requests 4",
         label="burstable-cpu"),
    Case("gpu-endpoints-guaranteed", True,
         gpu_endpoint(init=container("fetch-model", resources={"requests": {"cpu": "1", "memory": "1Gi"}})),
         contains="'fetch-model'", label="init-container-without-limits"),
    Case("gpu-endpoints-guaranteed", False, gpu_endpoint(init=LOADER), label="compliant-with-loader"),
    Case("gpu-endpoints-guaranteed", False,
         gpu_endpoint(tolerations=({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true",
                                    "effect": "NoSchedule"},)), label="equal-toleration"),
    # Not an endpoint: a CPU Deployment, and a GPU Job (training rules cover those).
    Case("gpu-endpoints-guaranteed", False, deployment("web"), label="cpu-deployment"),
    Case("gpu-endpoints-guaranteed", False,
         k8s("batch/v1", "Job", "gpu-batch", spec={"template": {"spec": pod_spec(gpu_container(), restartPolicy="Never")}}),
         label="gpu-job-not-serving"),

    # scaledobjects-target-own-deployments-within-quota
    Case("scaledobjects-target-own-deployments-within-quota", True, [big_endpoint(), quota(), scaled_object(max_replicas=8)],
         contains="need requests.memory 480Gi", label="exceeds-memory-quota"),
    Case("scaledobjects-target-own-deployments-within-quota", True, [big_endpoint(), quota(), scaled_object(omit_max=True)],
         contains="100 at maxReplicaCount", label="keda-default-max"),
    # 5 replicas fit 256Gi exactly; the one-pod rollout surge does not.
    Case("scaledobjects-target-own-deployments-within-quota", True,
         [big_endpoint(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
          quota(), scaled_object(max_replicas=5)], contains="1 rollout surge", label="surge-breaks-quota"),
    Case("scaledobjects-target-own-deployments-within-quota", False,
         [big_endpoint(strategy={"type": "Recreate"}), quota(), scaled_object(max_replicas=5)], label="recreate-fits"),
    Case("scaledobjects-target-own-deployments-within-quota", True,
         [big_endpoint(), quota(**{"requests.nvidia.com/gpu": "2"}), scaled_object(max_replicas=2)],
         contains="requests.nvidia.com/gpu 3", label="gpu-quota-default-surge"),
    Case("scaledobjects-target-own-deployments-within-quota", True, [big_endpoint(), scaled_object(target="other")],
         contains="which this stack does not create", label="foreign-target"),
    Case("scaledobjects-target-own-deployments-within-quota", True,
         [big_endpoint(namespace="research"), scaled_object()], contains="does not create", label="other-namespace"),
    Case("scaledobjects-target-own-deployments-within-quota", True,
         [big_endpoint(), scaled_object(kind="StatefulSet")], contains="apps/v1 StatefulSet", label="not-a-deployment"),
    Case("scaledobjects-target-own-deployments-within-quota", True, [big_endpoint(), hpa(), scaled_object()],
         contains="both scale Deployment llm", label="hpa-coexists"),
    Case("scaledobjects-target-own-deployments-within-quota", False,
         [big_endpoint(), quota(), hpa(name="other", target="other"), scaled_object(max_replicas=4)],
         label="fits-with-unrelated-hpa"),
    # The loader init container costs no quota: a pod counts the larger of init and app containers.
    Case("scaledobjects-target-own-deployments-within-quota", False,
         [big_endpoint(init=LOADER), quota(), scaled_object(max_replicas=4)], label="init-container-not-added"),
    Case("scaledobjects-target-own-deployments-within-quota", False, [big_endpoint(), scaled_object(max_replicas=50)],
         label="no-quota-in-namespace"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_inference_rules(case: Case) -> None:
    run_case(case)


def test_quota_check_uses_the_scaled_objects_own_namespace() -> None:
    """A generous quota elsewhere does not excuse the target namespace's tight one (and vice versa)."""
    tight = quota(**{"requests.memory": "100Gi"})
    generous_elsewhere = quota("research", **{"requests.memory": "10Ti"})
    found = hits(analyze([big_endpoint(), tight, generous_elsewhere, scaled_object(max_replicas=2)]),
                 "scaledobjects-target-own-deployments-within-quota")
    assert len(found) == 1 and "serving/team-quota" in found[0].message, [d.message for d in found]


def test_each_violating_scaled_object_is_reported_on_itself() -> None:
    bad, good = scaled_object("bad", target="missing"), scaled_object("good")
    found = hits(analyze([big_endpoint(), quota(), bad, good]), "scaledobjects-target-own-deployments-within-quota")
    assert [d.urn for d in found] == [bad.urn]


def test_the_generic_gpu_rules_and_the_endpoint_rule_agree_on_a_compliant_endpoint() -> None:
    diags = analyze(copy.deepcopy(big_endpoint()))
    assert not [d for d in diags if d.policy in ("gpu-endpoints-guaranteed", "gpu-pods-tolerate-gpu-taint",
                                                 "resource-requests-and-limits")], [d.message for d in diags]
