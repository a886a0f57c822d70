"""The shipped stacks with inference switched on: prod's vLLM example and a dev endpoint that scales to zero."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from automation.offline.runner import PROJECT_DIR, run_program
from components import versions
from components.workloads import inference_model
from tests.helpers import of_type, stack_run
from tests.validator_helpers import validate_run
from tests.workload_helpers import by_suffix, depends_on, verdicts


def stack_endpoints(stack: str) -> dict:
    raw = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return copy.deepcopy(raw["mlplatform:inferenceEndpoints"])


def policy_config(stack: str) -> dict:
    return json.loads((PROJECT_DIR / "policies" / "config" / f"{stack}.json").read_text())


@pytest.fixture(scope="module")
def prod_llm():
    endpoints = stack_endpoints("prod")
    endpoints["llm"]["enabled"] = True
    return run_program("prod", overrides={"inferenceEndpoints": endpoints})


@pytest.fixture(scope="module")
def dev_gpu_cloudwatch():
    endpoints = stack_endpoints("dev")
    endpoints["chat"] = {"team": "research", "placement": "gpu", "gpus": 1, "cpu": "4", "memory": "16Gi",
                         "exposure": "none", "replicas": 1, "maxReplicas": 2,
                         "autoscaling": {"metric": "gpu-utilization", "target": 60}}
    return run_program("dev", overrides={"inferenceEndpoints": endpoints})


@pytest.fixture(scope="module")
def dev_zero():
    endpoints = stack_endpoints("dev")
    endpoints["batch-llm"] = {
        "team": "research", "placement": "gpu", "gpus": 1, "cpu": "4", "memory": "16Gi", "port": 8000,
        "healthPath": "/health", "exposure": "none", "args": ["--model", "$(MODEL_PATH)"],
        "model": {"source": "hf:Qwen/Qwen2.5-0.5B-Instruct", "cache": "efs", "sizeGiB": 1},
        "autoscaling": {"metric": "SELECT MAX(ApproximateNumberOfMessagesVisible) FROM SCHEMA(\"AWS/SQS\", QueueName)"
                                  " WHERE QueueName = 'batch-prompts'", "target": 8, "minReplicas": 0,
                        "maxReplicas": 2, "cooldown": 900}}
    return run_program("dev", overrides={"inferenceEndpoints": endpoints})


def deployment(run, name):
    (dep,) = [d for d in by_suffix(run, "apps/v1:Deployment") if d.inputs["metadata"]["name"] == name]
    return dep


def test_prod_plans_clean_with_the_vllm_example_switched_on(prod_llm):
    diags = verdicts(prod_llm, policy_config("prod"))
    assert diags == [], [(d.policy, d.urn, d.message) for d in diags]


def test_prod_vllm_example_scales_on_queue_depth_with_a_model_cache_and_zone_spread(prod_llm):
    dep = deployment(prod_llm, "llm")
    spec = dep.inputs["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["image"] == versions.IMAGES["gpu-inference"] and c["image"].startswith("docker.io/vllm/vllm-openai:")
    assert c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # ScaledObject on the vLLM Deployment, vLLM's queue, and no HPA of ours for it.
    (so,) = by_suffix(prod_llm, ":ScaledObject")
    assert so.inputs["spec"]["scaleTargetRef"]["name"] == "llm"
    assert "vllm:num_requests_waiting" in so.inputs["spec"]["triggers"][0]["metadata"]["query"]
    assert not [h for h in by_suffix(prod_llm, ":HorizontalPodAutoscaler")
                if h.inputs["spec"]["scaleTargetRef"]["name"] == "llm"]
    # KEDA is installed (pinned) and the ScaledObject waits for it; Prometheus backend, so no KEDA AWS role.
    (keda_rel,) = [r for r in by_suffix(prod_llm, "helm.sh/v3:Release") if r.inputs["chart"] == "keda"]
    assert keda_rel.inputs["version"] == versions.HELM_CHARTS["keda"].version
    assert depends_on(prod_llm, so, keda_rel)
    assert not [r for r in prod_llm.registrations if r.type.endswith(":ClusterTriggerAuthentication")]
    # Model cache: FSx, read-only; the args point vLLM at it.
    claims = {v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"shared-fsx"}
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["MODEL_PATH"].startswith(inference_model.FSX_PATH) and "$(MODEL_PATH)" in c["args"]
    # Zone spread, startup budget sized for the declared 16 GiB.
    assert "topology.kubernetes.io/zone" in {t["topologyKey"] for t in spec["topologySpreadConstraints"]}
    budget = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
    assert budget == inference_model.startup_seconds("fsx", inference_model.parse_source("", "models/llm/"), 16)
    # The quota rule checked it: maxReplicaCount + surge fits the serving team.
    assert so.inputs["spec"]["maxReplicaCount"] == 4


def test_prod_example_is_off_by_default_and_installs_no_keda():
    run = stack_run("prod")
    assert not by_suffix(run, ":ScaledObject")
    assert "keda" not in {r.inputs["chart"] for r in by_suffix(run, "helm.sh/v3:Release")}


def test_dev_declares_a_scale_to_zero_endpoint_on_cloudwatch(dev_zero):
    diags = verdicts(dev_zero, policy_config("dev"))
    # Dev keeps its known advisories (unprotected data, deletion protection off); nothing about inference.
    ours = [d for d in diags if d.level == "mandatory" or "batch-llm" in d.urn or "Keda" in d.urn
            or d.policy.startswith(("gpu-endpoints", "scaledobjects"))]
    assert ours == [], [(d.policy, d.urn, d.message) for d in ours]
    (so,) = by_suffix(dev_zero, ":ScaledObject")
    assert so.inputs["spec"]["minReplicaCount"] == 0
    (trig,) = so.inputs["spec"]["triggers"]
    assert trig["type"] == "aws-cloudwatch" and trig["authenticationRef"]["kind"] == "ClusterTriggerAuthentication"
    assert deployment(dev_zero, "batch-llm").inputs["spec"]["replicas"] == 0
    # The Service stays, so the endpoint keeps its address while at zero.
    assert [s for s in by_suffix(dev_zero, "core/v1:Service") if s.inputs["metadata"]["name"] == "batch-llm"]
    # KEDA reads CloudWatch with its own, read-only identity (dev uses Pod Identity).
    (ta,) = [r for r in dev_zero.registrations if r.type.endswith(":ClusterTriggerAuthentication")]
    assert depends_on(dev_zero, so, ta)
    assoc = [a for a in of_type(dev_zero, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
             if a.inputs["namespace"] == "keda"]
    assert [a.inputs["serviceAccount"] for a in assoc] == ["keda-operator"]


def test_dev_gpu_preset_on_cloudwatch_names_the_real_cluster_namespace_and_service(dev_gpu_cloudwatch):
    (so,) = by_suffix(dev_gpu_cloudwatch, ":ScaledObject")
    meta = so.inputs["spec"]["triggers"][0]["metadata"]
    assert dict(zip(meta["dimensionName"].split(";"), meta["dimensionValue"].split(";"))) == {
        "ClusterName": "ml-dev", "Namespace": "research", "Service": "chat"}
    assert meta["awsRegion"] == "us-west-2"


@pytest.mark.parametrize("fixture", ["prod_llm", "dev_zero", "dev_gpu_cloudwatch"])
def test_the_stacks_keda_objects_and_releases_pass_the_outside_validators(fixture, request):
    """KEDA's CRDs with CEL, its admission webhooks, its scalers' metadata facts and the pinned charts' values,
    through the validators `make validate` runs (tests/test_validators_keda.py runs the same from the CLI)."""
    run = request.getfixturevalue(fixture)
    report = validate_run(run)
    assert report.ok, [f.render() for f in report.findings]
    checked = {s.validator: s.checked for s in report.sections}
    assert checked["keda-scalers"] == len(by_suffix(run, ":ScaledObject")) == 1
