"""Both shipped stacks under mocks: the workload layer's stack-level facts and its policy verdicts."""

from __future__ import annotations

import json

import pytest

from automation.offline.monitor import mask_secrets, secret_paths
from automation.offline.runner import run_program
from components import stack_outputs as out
from components.config import load_config
from tests.helpers import of_type, policy_doc, stack_run
from tests.workload_helpers import by_suffix, depends_on, pods_of, validate_pytorchjob, validate_trainer, verdicts

WORKLOAD_TYPES = "mlplatform:workloads:"


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request):
    return stack_run(request.param)


def stack_cfg(stack):
    import yaml

    from automation.offline.runner import PROJECT_DIR
    raw = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return load_config({k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("mlplatform:")}, stack=stack,
                       project_dir=str(PROJECT_DIR))


def lb_release(run):
    (rel,) = [r for r in by_suffix(run, "helm.sh/v3:Release") if r.inputs["chart"] == "aws-load-balancer-controller"]
    return rel


def test_every_team_gets_its_namespace_guardrails_and_queue(run):
    cfg = stack_cfg(run.stack)
    namespaces = {r.inputs["metadata"]["name"]: r for r in by_suffix(run, "core/v1:Namespace")
                  if "mlplatform.io/team" in r.inputs["metadata"].get("labels", {})}
    assert set(namespaces) == set(cfg.teams)
    for team in cfg.teams:
        in_ns = [r for r in run.registrations if (r.inputs.get("metadata") or {}).get("namespace") == team]
        kinds = {r.type.rsplit(":", 1)[-1] for r in in_ns}
        assert {"ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding", "LocalQueue"} <= kinds, team
    assert run.outputs[out.TEAM_NAMESPACES] == sorted(cfg.teams)


def test_cluster_queue_quota_comes_from_stack_config(run):
    cfg = stack_cfg(run.stack)
    (cq,) = by_suffix(run, ":ClusterQueue")
    quotas = {r["name"]: r["nominalQuota"] for r in cq.inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    assert quotas == {"cpu": cfg.kueueCpuQuota, "memory": cfg.kueueMemoryQuota, "nvidia.com/gpu": str(cfg.kueueGpuQuota)}


def test_every_load_balancer_object_waits_for_the_controller(run):
    lb = lb_release(run)
    exposed = by_suffix(run, "networking.k8s.io/v1:Ingress") + [
        s for s in by_suffix(run, "core/v1:Service") if s.inputs.get("spec", {}).get("type") == "LoadBalancer"]
    for obj in exposed:
        assert depends_on(run, obj, lb), obj.name
        assert obj.inputs["metadata"]["annotations"].get("alb.ingress.kubernetes.io/scheme", "internal") == "internal"


def test_workload_layer_has_no_policy_violations(run):
    from automation.offline.runner import PROJECT_DIR
    config = json.loads((PROJECT_DIR / "policies" / "config" / f"{run.stack}.json").read_text())
    ours = {r.urn for r in run.registrations if WORKLOAD_TYPES in r.urn or r.origin == "expanded"}
    diags = [d for d in verdicts(run, config) if d.urn in ours or d.urn == ""]
    assert [d for d in diags if d.urn] == [], [(d.policy, d.urn, d.message) for d in diags]
    # Stack rules that concern the layer (no urn) must not fire either.
    assert not [d for d in diags if d.policy in ("team-namespace-guardrails", "load-balancers-depend-on-controller")]


def test_dev_runs_the_sample_job_endpoint_and_imports():
    run = stack_run("dev")
    (tj,) = by_suffix(run, ":TrainJob")
    assert validate_trainer(tj.inputs) == []
    assert tj.inputs["metadata"]["namespace"] == "research" and tj.inputs["spec"]["trainer"]["numNodes"] == 2
    (view,) = pods_of(tj)
    assert {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-efs"}} in view.spec["volumes"]
    assert any(t["key"] == "nvidia.com/gpu" for t in view.spec["tolerations"])
    # The sample job brings its own entry point (examples/training/mnist_ddp.py) through a ConfigMap.
    (script,) = [c for c in by_suffix(run, "core/v1:ConfigMap") if c.inputs["metadata"]["name"] == "mnist-ddp-script"]
    assert "DistributedDataParallel" in script.inputs["data"]["train.py"]
    assert depends_on(run, tj, script)
    (dep,) = [d for d in by_suffix(run, "apps/v1:Deployment") if d.inputs["metadata"]["name"] == "embeddings"]
    assert dep.inputs["metadata"]["namespace"] == "inference"  # the namespace the Fargate profile selects
    # The legacy training operator is off in dev; the only kustomize directory is the imported batch job.
    assert [d.inputs["directory"] for d in by_suffix(run, "kustomize/v2:Directory")] == ["examples/legacy-batch"]
    imported = {r.name for r in run.registrations if r.origin == "expanded"}
    assert {"inference/reranker", "research/feature-refresh"} <= imported
    assert not [r for r in by_suffix(run, "helm.sh/v3:Release") if r.inputs["chart"] == "kube-prometheus-stack"]
    assert [a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "amazon-cloudwatch-observability"]
    assert set(run.outputs[out.TRAINING_JOBS]) == {"mnist-ddp"}
    assert run.outputs[out.INFERENCE_ENDPOINTS]["embeddings"]["hostname"].startswith("internal-")


def test_prod_ships_no_jobs_a_switched_off_llm_full_monitoring_and_fsx():
    run = stack_run("prod")
    assert not by_suffix(run, ":TrainJob") and not by_suffix(run, ":PyTorchJob")
    assert "llm" not in {d.inputs["metadata"]["name"] for d in by_suffix(run, "apps/v1:Deployment")}
    assert "llm" not in run.outputs[out.INFERENCE_ENDPOINTS]
    charts = {r.inputs["chart"] for r in by_suffix(run, "helm.sh/v3:Release")}
    assert {"kube-prometheus-stack", "dcgm-exporter"} <= charts
    assert by_suffix(run, ":ServiceMonitor")
    (legacy,) = [d for d in by_suffix(run, "kustomize/v2:Directory") if "standalone" in d.inputs["directory"]]
    pvs = {r.inputs["metadata"]["name"] for r in by_suffix(run, "core/v1:PersistentVolume")}
    assert pvs == {"serving-fsx", "research-fsx"}
    entries = {e.inputs["principalArn"]: e.inputs["kubernetesGroups"] for e in of_type(run, "aws:eks/accessEntry:AccessEntry")
               if e.inputs.get("kubernetesGroups")}
    assert entries["arn:aws:iam::444455556666:role/ServingTeam"] == ["serving-developers"]
    assert entries["arn:aws:iam::444455556666:role/ResearchTeam"] == ["research-developers"]


def test_prod_gpu_endpoint_switched_on_is_placed_on_gpus_and_compliant():
    run = run_program("prod", overrides={"inferenceEndpoints": {"llm": {
        "team": "serving", "placement": "gpu", "gpus": 1, "cpu": "8", "memory": "48Gi", "port": 8000,
        "healthPath": "/health", "args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--port", "8000"]}}})
    (dep,) = [d for d in by_suffix(run, "apps/v1:Deployment") if d.inputs["metadata"]["name"] == "llm"]
    spec = dep.inputs["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == c["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    ours = {r.urn for r in run.registrations if WORKLOAD_TYPES in r.urn}
    from automation.offline.runner import PROJECT_DIR
    # Judged at prod's levels and tunables (policies/config/prod.json), as the plan judges prod.
    config = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    assert [d.policy for d in verdicts(run, config) if d.urn in ours] == []


def test_prod_pytorchjob_through_the_legacy_operator_validates():
    run = run_program("prod", overrides={"trainingJobs": {"bert": {
        "team": "research", "kind": "PyTorchJob", "nodes": 2, "gpusPerNode": 8, "cpu": "90", "memory": "900Gi",
        "volume": "fsx"}}})
    (job,) = by_suffix(run, ":PyTorchJob")
    assert validate_pytorchjob(job.inputs) == []
    for view in pods_of(job):
        assert {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-fsx"}} in view.spec["volumes"]


def test_grafana_password_from_config_is_secret_in_the_stack():
    run = run_program("prod", overrides={"grafanaAdminPassword": "s3cret-from-config"})
    (secret,) = [s for s in by_suffix(run, "core/v1:Secret") if s.inputs["metadata"]["name"] == "grafana-admin"]
    assert secret_paths(secret.wire_inputs)
    text = json.dumps([mask_secrets(r.wire_inputs) for r in run.registrations])
    assert "s3cret-from-config" not in text
    assert run.outputs[out.GRAFANA_ADMIN_SECRET] == "monitoring/grafana-admin"


def test_irsa_variant_scopes_every_workload_role_to_its_service_account():
    run = run_program("dev", overrides={"identityMode": "irsa"})
    roles = [r for r in of_type(run, "aws:iam/role:Role") if WORKLOAD_TYPES in r.urn]
    assert roles
    for role in roles:
        (st,) = policy_doc(role.inputs["assumeRolePolicy"])["Statement"]
        cond = st["Condition"]["StringEquals"]
        subs = [v for k, v in cond.items() if k.endswith(":sub")]
        auds = [v for k, v in cond.items() if k.endswith(":aud")]
        assert len(subs) == 1 and subs[0].startswith("system:serviceaccount:") and "*" not in subs[0]
        assert auds == ["sts.amazonaws.com"]
    # No Pod Identity agent egress when pods use IRSA.
    assert not [n for n in by_suffix(run, ":NetworkPolicy") if n.inputs["metadata"]["name"] == "allow-pod-identity-agent"]


def test_fargate_endpoints_wait_for_their_fargate_profile():
    # A pod created before its profile is ACTIVE is scheduled onto EC2 nodes and stays there.
    run = stack_run("dev")
    profile = run.one("aws:eks/fargateProfile:FargateProfile", "fargate-serverless-inference")
    deployment = next(r for r in run.registrations
                      if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["namespace"] == "inference"
                      and "endpoint-embeddings" in r.urn)
    assert profile.urn in deployment.dependencies
