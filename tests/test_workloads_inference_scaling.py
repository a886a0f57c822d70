"""Inference at scale: KEDA ScaledObjects (through the outside validators: KEDA's CRD and CEL, its webhooks, its
scalers' metadata facts), model
loading and caches, startup budgets, spread, disruption budgets and graceful drain."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components import versions
from components.addons import keda as keda_addon
from components.workloads import inference_model, inference_scaling as scaling, observability_values
from components.workloads.inference import InferenceService, InferenceServiceArgs
from components.workloads.observability import PROMETHEUS_RELEASE
from tests.helpers import minimal_config, of_type, policy_doc, run_component
from tests.validator_helpers import manifest, validate_run
from tests.workload_helpers import (BUCKET, bucket_arn, by_suffix, depends_on, identity, lb_controller_release, one,
                                    provider, verdicts)

GPU = {"placement": "gpu", "gpus": 1, "cpu": "8", "memory": "48Gi", "port": 8000, "healthPath": "/health"}
ENDPOINTS = {
    "llm": {"team": "serving", **GPU, "model": {"cache": "fsx", "sizeGiB": 16},
            "autoscaling": {"metric": "vllm-queue-depth", "target": 4, "minReplicas": 2, "maxReplicas": 4}},
    "llm-efs": {"team": "serving", **GPU, "exposure": "nlb",
                "model": {"source": "s3://acme-models/qwen/2.5-7b/", "cache": "efs", "sizeGiB": 16},
                "autoscaling": {"metric": "gpu-utilization", "target": 70, "maxReplicas": 3, "cooldown": 120}},
    "llm-hub": {"team": "serving", **GPU, "exposure": "none", "model": {"source": "hf:Qwen/Qwen2.5-7B-Instruct@main",
                                                                        "cache": "node", "sizeGiB": 16}},
    "big": {"team": "serving", **GPU, "gpus": 4, "model": {"cache": "node", "sizeGiB": 140}, "drainSeconds": 600},
    "scale-to-zero": {"team": "serving", "exposure": "alb",
                      "autoscaling": {"metric": 'sum(rate(nginx_ingress_requests{service="gate"}[2m]))', "target": 10,
                                      "minReplicas": 0, "maxReplicas": 2}},
    "single": {"team": "serving", "replicas": 1, "maxReplicas": 1, "exposure": "none"},
}
COMMON = dict(teams={"serving": {"gpu": 32, "cpu": "512", "memory": "2Ti"}}, prometheus=True, dcgmExporter=True,
              fsxCsi=True, fsxLustre=True, environmentType="development", inferenceEndpoints=ENDPOINTS)
CFG = minimal_config(**COMMON)
CW_CFG = minimal_config(**{**COMMON, "prometheus": False, "dcgmExporter": False, "inferenceEndpoints": {
    "llm-efs": ENDPOINTS["llm-efs"],
    "custom": {"team": "serving", "exposure": "none", "autoscaling": {
        "metric": "SELECT SUM(ApproximateNumberOfMessagesVisible) FROM SCHEMA(\"AWS/SQS\", QueueName) "
                  "WHERE QueueName = 'prompts'", "target": 20, "minReplicas": 0, "maxReplicas": 3}}}})
EFS_CLAIM, FSX_CLAIM = "shared-efs", "shared-fsx"


def build(endpoint: str, cfg=CFG, *, mode="pod-identity", keda_ready=True):
    ep = cfg.inferenceEndpoints[endpoint]
    backend = scaling.backend(cfg.prometheus)

    def body(env):
        p = provider()
        lb = lb_controller_release(p)
        ready = [k8s.helm.v3.Release("keda", name="keda", chart="keda", version="2.20.2", namespace="keda",
                                     repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                                         repo="https://kedacore.github.io/charts"),
                                     opts=pulumi.ResourceOptions(provider=p))] if keda_ready else None
        prom = [k8s.helm.v3.Release("kps", name=PROMETHEUS_RELEASE, chart="kube-prometheus-stack", version="89.2.2",
                                    namespace="monitoring", repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                                        repo="https://prometheus-community.github.io/helm-charts"),
                                    opts=pulumi.ResourceOptions(provider=p))] if backend == "prometheus" else []
        InferenceService(f"endpoint-{endpoint}", InferenceServiceArgs(
            endpoint=endpoint, config=ep, namespace=ep.team, provider=p, identity=identity(env, p, mode),
            data_bucket_name=BUCKET, data_bucket_arn=bucket_arn(env), lb_controller=lb,
            metrics_backend=backend, keda_ready=ready, prometheus_ready=prom, efs_claim=EFS_CLAIM,
            fsx_claim=FSX_CLAIM))
    return run_component(body)


_RUNS: dict = {}


def run_of(endpoint: str, cfg=CFG):
    key = (endpoint, id(cfg))
    if key not in _RUNS:
        _RUNS[key] = build(endpoint, cfg)
    return _RUNS[key]


def pod(run):
    return one(run, "apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def server(run):
    (c,) = pod(run)["containers"]
    return c


def env_of(c):
    return {e["name"]: e["value"] for e in c["env"]}


# --------------------------------------------------------------------------- autoscaling


@pytest.mark.parametrize("endpoint,cfg", [("llm", CFG), ("llm-efs", CFG), ("scale-to-zero", CFG),
                                          ("llm-efs", CW_CFG), ("custom", CW_CFG)],
                         ids=["vllm-prometheus", "gpu-prometheus", "promql-zero", "gpu-cloudwatch", "cw-query-zero"])
def test_scaled_object_passes_kedas_crd_cel_webhook_and_scaler_facts(endpoint, cfg):
    run = run_of(endpoint, cfg)
    # The component alone: its KEDA/Prometheus releases are stand-ins here (the stack tests check real releases);
    # the KEDA add-on's ClusterTriggerAuthentication is what CloudWatch triggers reference.
    report = validate_run(run, only=("crds", "admission", "scalers"), extra=[keda_addon.trigger_authentication()])
    assert report.ok, [f.render() for f in report.findings]
    checked = {s.validator: s.checked for s in report.sections}
    # The ScaledObject (and, on CloudWatch, the trigger authentication it references) went through every check.
    assert checked["keda-scalers"] == 1 and checked["crd-schema"] >= 1 and checked["admission"] >= 1
    so = one(run, ":ScaledObject").inputs
    a = cfg.inferenceEndpoints[endpoint].autoscaling
    assert (so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) == (a.minReplicas, a.maxReplicas)


def test_the_keda_checks_can_fail():
    """The general validators reject what KEDA would: CEL bounds, unknown fields, unknown scaler keys, webhooks."""
    from validators import admission, crds, scalers

    so = one(run_of("llm"), ":ScaledObject").inputs
    bad = {**so, "spec": {**so["spec"], "minReplicaCount": 9, "maxReplicaCount": 3, "scaleTargetref": {}}}
    problems = crds.check(manifest(bad), "1.35")
    assert any(f.path == "spec" and "minReplicaCount must be less than or equal" in f.message for f in problems)
    assert any(f.path == "spec.scaleTargetref" and "unknown field" in f.message for f in problems)
    trig = {**so["spec"]["triggers"][0], "metadata": {"serverAddres": "x", "query": "up", "threshold": "1"}}
    section = scalers.check([manifest({**so, "spec": {**so["spec"], "triggers": [trig]}})])
    assert sorted(f.message.split(" (")[0] for f in section.findings) == [
        "prometheus scaler does not read metadata key 'serverAddres'",
        "prometheus scaler: missing required parameter 'serverAddress' in ['triggerMetadata']"]
    cpu_only = {**so, "spec": {**so["spec"], "triggers": [{"type": "cpu", "metricType": "Utilization",
                                                           "metadata": {"value": "60"}}]}}
    section = admission.check([manifest(cpu_only)])
    assert [f.path for f in section.findings] == ["spec.fallback"]


def test_scaled_object_replaces_the_hpa_and_waits_for_keda_and_its_deployment():
    run = run_of("llm")
    assert not by_suffix(run, ":HorizontalPodAutoscaler")
    so = one(run, ":ScaledObject")
    assert so.inputs["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm"}
    assert depends_on(run, so, one(run, ":Release", "keda"))
    assert depends_on(run, so, one(run, "apps/v1:Deployment"))


def test_autoscaling_without_keda_is_refused():
    with pytest.raises(Exception, match="autoscaling needs KEDA"):
        build("llm", keda_ready=False)


def test_vllm_preset_reads_the_waiting_queue_of_this_deployments_pods():
    (trig,) = one(run_of("llm"), ":ScaledObject").inputs["spec"]["triggers"]
    meta = trig["metadata"]
    assert trig["type"] == "prometheus" and trig["metricType"] == "AverageValue" and meta["threshold"] == "4"
    assert meta["query"].startswith("sum(vllm:num_requests_waiting{") and 'namespace="serving"' in meta["query"]
    # The server address is the kube-prometheus-stack release's Service in the monitoring namespace.
    assert meta["serverAddress"].startswith(
        f"http://{PROMETHEUS_RELEASE}-prometheus.{observability_values.MONITORING_NAMESPACE}.svc")


def test_pod_regex_matches_this_deployments_pods_only():
    import re

    rx = re.compile(scaling.pod_regex("llm"))
    assert rx.fullmatch("llm-7d9c8b6f5d-x2x9q")
    for other in ("llm-efs-7d9c8b6f5d-x2x9q", "xllm-7d9c8b6f5d-x2x9q", "llm-7d9c8b6f5d"):
        assert not rx.fullmatch(other), other


def test_gpu_preset_uses_the_labels_our_dcgm_scrape_produces():
    """Our DCGM ServiceMonitor does not honour the exporter's pod/namespace labels, so Prometheus renames them
    exported_pod/exported_namespace: the preset must filter on those, per GPU of the endpoint."""
    sm = observability_values.dcgm_service_monitor("monitoring", "dcgm-exporter")
    assert not any(e.get("honorLabels") for e in sm["spec"]["endpoints"])
    (trig,) = one(run_of("llm-efs"), ":ScaledObject").inputs["spec"]["triggers"]
    q = trig["metadata"]["query"]
    assert "DCGM_FI_DEV_GPU_UTIL{" in q and 'exported_namespace="serving"' in q and "exported_pod=~" in q
    assert q.endswith(" / 1") and trig["metadata"]["threshold"] == "70"
    # "big" has 4 GPUs per replica: the total is divided by 4 so the target stays per-GPU percent.
    t = scaling.Target(name="big", namespace="serving", deployment="big", gpus_per_replica=4, backend="prometheus")
    assert scaling.trigger(t, scaling.GPU_UTILIZATION, 70)["metadata"]["query"].endswith(" / 4")


def test_cloudwatch_triggers_use_the_operator_identity_and_container_insights():
    (gpu,) = one(run_of("llm-efs", CW_CFG), ":ScaledObject").inputs["spec"]["triggers"]
    assert gpu["type"] == "aws-cloudwatch"
    assert gpu["authenticationRef"] == {"name": scaling.AWS_TRIGGER_AUTH, "kind": "ClusterTriggerAuthentication"}
    m = gpu["metadata"]
    assert (m["namespace"], m["metricName"]) == ("ContainerInsights", "pod_gpu_utilization")
    assert dict(zip(m["dimensionName"].split(";"), m["dimensionValue"].split(";"))) == {
        "ClusterName": "ml-test", "Namespace": "serving", "Service": "llm-efs"}
    assert m["awsRegion"] == "us-west-2"
    (query,) = one(run_of("custom", CW_CFG), ":ScaledObject").inputs["spec"]["triggers"]
    assert query["metadata"]["expression"].startswith("SELECT SUM(")
    # Nothing to scrape with CloudWatch.
    assert not by_suffix(run_of("custom", CW_CFG), ":ServiceMonitor")


def test_prometheus_scrapes_the_server_through_its_service_and_the_team_default_deny():
    run = run_of("llm")
    svc = one(run, "core/v1:Service").inputs
    sm = one(run, ":ServiceMonitor").inputs
    labels = svc["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
    assert sm["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["serving"]}
    (np,) = [n for n in by_suffix(run, ":NetworkPolicy")]
    rule = np.inputs["spec"]["ingress"][0]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": observability_values.MONITORING_NAMESPACE}
    dep = one(run, "apps/v1:Deployment").inputs
    assert np.inputs["spec"]["podSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


def test_scale_to_zero_keeps_service_and_load_balancer_and_starts_at_zero():
    run = run_of("scale-to-zero")
    dep = one(run, "apps/v1:Deployment")
    assert dep.inputs["spec"]["replicas"] == 0
    assert "spec.replicas" in dep.options["ignoreChanges"]
    so = one(run, ":ScaledObject").inputs["spec"]
    assert so["minReplicaCount"] == 0 and so["fallback"]["replicas"] == 0
    assert one(run, "core/v1:Service").inputs["spec"]["selector"] == dep.inputs["spec"]["selector"]["matchLabels"]
    assert one(run, ":Ingress")


# --------------------------------------------------------------------------- model loading


def test_fsx_cache_reads_the_linked_models_prefix_read_only_and_needs_no_aws_access():
    from components.addons import storage

    assert inference_model.FSX_LINKED_PREFIX in storage.LUSTRE_LINKED_PREFIXES
    assert inference_model.FSX_LINKED_PREFIX in storage.LUSTRE_IMPORT_ONLY_PREFIXES
    run = run_of("llm")
    spec, c = pod(run), server(run)
    vols = {v["name"]: v for v in spec["volumes"]}
    fsx = next(m for m in c["volumeMounts"] if m["mountPath"] == inference_model.FSX_PATH)
    assert fsx["readOnly"] is True and vols[fsx["name"]]["persistentVolumeClaim"] == {
        "claimName": FSX_CLAIM, "readOnly": True}
    assert env_of(c)["MODEL_PATH"] == f"{inference_model.FSX_PATH}/models/llm"
    assert "initContainers" not in spec
    assert not by_suffix(run, "iam/policy:Policy")


def test_efs_cache_is_filled_once_by_an_init_container_with_read_only_access_to_that_prefix():
    run = run_of("llm-efs")
    spec, c = pod(run), server(run)
    (init,) = spec["initContainers"]
    assert init["image"] == versions.IMAGES["model-loader"]
    assert init["resources"]["requests"] == init["resources"]["limits"] == {"cpu": "8", "memory": "48Gi"}
    ienv, senv = env_of(init), env_of(c)
    assert ienv["MODEL_URI"] == "s3://acme-models/qwen/2.5-7b/"
    assert senv["MODEL_PATH"] == f"{inference_model.CACHE_PATH}/{ienv['MODEL_CACHE_KEY']}"
    efs = {v["name"]: v for v in spec["volumes"]}[inference_model.CACHE_VOLUME]
    assert efs["persistentVolumeClaim"] == {"claimName": EFS_CLAIM}
    # The server and the loader see the same directory of the shared claim.
    shared = [m for m in init["volumeMounts"] if m["name"] == inference_model.CACHE_VOLUME]
    assert shared == [m for m in c["volumeMounts"] if m["name"] == inference_model.CACHE_VOLUME]
    (pol,) = by_suffix(run, "iam/policy:Policy")
    doc = policy_doc(pol.inputs["policy"])
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion"}
    read = next(s for s in doc["Statement"] if s["Sid"] == "ReadObjects")
    assert read["Resource"] == "arn:aws:s3:::acme-models/qwen/2.5-7b/*"


def test_hub_source_is_loaded_by_the_server_and_needs_no_s3_access():
    run = run_of("llm-hub")
    spec, c = pod(run), server(run)
    assert "initContainers" not in spec and not by_suffix(run, "iam/policy:Policy")
    e = env_of(c)
    assert (e["MODEL_PATH"], e["MODEL_REVISION"]) == ("Qwen/Qwen2.5-7B-Instruct", "main")
    # HF_HOME is on the (node-local, sized) cache the server downloads into.
    cache = {v["name"]: v for v in spec["volumes"]}[inference_model.CACHE_VOLUME]
    assert e["HF_HOME"].startswith(inference_model.CACHE_PATH) and cache["emptyDir"]["sizeLimit"] == "20Gi"


def test_node_cache_requests_the_disk_it_fills():
    c = server(run_of("big"))
    cache = {v["name"]: v for v in pod(run_of("big"))["volumes"]}[inference_model.CACHE_VOLUME]
    size = int(cache["emptyDir"]["sizeLimit"].removesuffix("Gi"))
    assert size >= 140
    req = c["resources"]["requests"]["ephemeral-storage"]
    assert req == c["resources"]["limits"]["ephemeral-storage"] and int(req.removesuffix("Gi")) > size


def test_startup_budget_grows_with_the_declared_model_and_pulumi_waits_for_it():
    def budget(run):
        p = server(run)["startupProbe"]
        return p["periodSeconds"] * p["failureThreshold"]

    small, large = budget(run_of("llm-hub")), budget(run_of("big"))
    assert large > small >= inference_model.BASE_STARTUP_SECONDS
    # Unknown size keeps the old 15-minute budget.
    assert budget(run_of("scale-to-zero")) == inference_model.DEFAULT_STARTUP_SECONDS
    # The rollout timeout covers the copy and the startup budget.
    run = run_of("llm-efs")
    timeouts = one(run, "apps/v1:Deployment").options["customTimeouts"]
    minutes = int(timeouts["create"].removesuffix("m"))
    plan_seconds = inference_model.fetch_seconds("efs", inference_model.parse_source(
        "s3://acme-models/qwen/2.5-7b/", ""), 16) + budget(run)
    assert minutes * 60 >= plan_seconds and timeouts["update"] == timeouts["create"]


def test_readiness_stays_on_the_health_path_after_the_model_loads():
    c = server(run_of("llm"))
    assert c["readinessProbe"]["httpGet"] == c["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}


def _run_loader(tmp_path: Path, cache: Path, fake_aws: str) -> subprocess.CompletedProcess:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    aws = bindir / "aws"
    aws.write_text("#!/bin/sh\n" + fake_aws)
    aws.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "MODEL_CACHE_DIR": str(cache),
           "MODEL_CACHE_KEY": "llm/abc", "MODEL_URI": "s3://b/models/llm/", "HOSTNAME": "pod-1"}
    return subprocess.run(["/bin/sh", "-c", inference_model.LOADER_SCRIPT], env=env, capture_output=True, text=True)


def test_loader_publishes_a_complete_copy_atomically_and_only_once(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    log = tmp_path / "calls"
    # Fake `aws s3 sync SRC DEST`: writes the weights into DEST and logs the call.
    fake = f'echo "$@" >> {log}\nmkdir -p "$6"\necho weights > "$6/model.safetensors"\n'
    first = _run_loader(tmp_path, cache, fake)
    assert first.returncode == 0, first.stderr
    assert (cache / "llm/abc/model.safetensors").read_text() == "weights\n"
    assert (cache / "llm/abc/.complete").exists() and not list((cache / "llm").glob("*.partial-*"))
    second = _run_loader(tmp_path, cache, fake)
    assert second.returncode == 0 and "already cached" in second.stdout
    assert len(log.read_text().splitlines()) == 1


def test_loader_that_loses_the_race_keeps_the_winners_copy(tmp_path):
    cache = tmp_path / "cache"
    # Another replica publishes while this one is still syncing.
    fake = ('mkdir -p "$6"; echo mine > "$6/model.safetensors"\n'
            f'mkdir -p {cache}/llm/abc; echo theirs > {cache}/llm/abc/model.safetensors; '
            f'touch {cache}/llm/abc/.complete\n')
    res = _run_loader(tmp_path, cache, fake)
    assert res.returncode == 0, res.stderr
    assert (cache / "llm/abc/model.safetensors").read_text() == "theirs\n"
    assert not list((cache / "llm").glob("*.partial-*"))


def test_loader_fails_when_the_copy_fails(tmp_path):
    res = _run_loader(tmp_path, tmp_path / "cache", "exit 1\n")
    assert res.returncode != 0 and not (tmp_path / "cache/llm/abc").exists()


# --------------------------------------------------------------------------- availability


def test_replicas_spread_over_zones_and_nodes_only_when_there_can_be_two():
    spread = pod(run_of("llm"))["topologySpreadConstraints"]
    by_key = {t["topologyKey"]: t for t in spread}
    assert by_key["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"
    node = by_key["kubernetes.io/hostname"]
    assert node["whenUnsatisfiable"] == "DoNotSchedule" and node["nodeTaintsPolicy"] == "Honor"
    sel = one(run_of("llm"), "apps/v1:Deployment").inputs["spec"]["selector"]["matchLabels"]
    assert all(t["labelSelector"]["matchLabels"] == sel for t in spread)
    assert "topologySpreadConstraints" not in pod(run_of("single"))


def test_a_single_replica_never_blocks_a_drain():
    run = run_of("single")
    pdb = one(run, ":PodDisruptionBudget").inputs["spec"]
    assert one(run, "apps/v1:Deployment").inputs["spec"]["replicas"] == 1
    # Allowed disruptions with one healthy pod: maxUnavailable - 0 unavailable >= 1 (minAvailable would give 0).
    assert "minAvailable" not in pdb and pdb["maxUnavailable"] >= 1


def test_shutdown_drains_longer_than_the_load_balancer_needs_and_the_longest_request():
    for name, drain in (("big", 600), ("llm", 120), ("single", 30)):
        run = run_of(name)
        spec, c = pod(run), server(run)
        pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre > 0 and spec["terminationGracePeriodSeconds"] >= pre + drain, name
    a = one(run_of("llm"), ":Ingress").inputs["metadata"]["annotations"]
    grace = pod(run_of("llm"))["terminationGracePeriodSeconds"]
    assert a["alb.ingress.kubernetes.io/target-group-attributes"] == f"deregistration_delay.timeout_seconds={grace}"
    nlb = one(run_of("llm-efs"), "core/v1:Service").inputs["metadata"]["annotations"]
    assert nlb["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"].startswith(
        "deregistration_delay.timeout_seconds=")


@pytest.mark.parametrize("endpoint", ["llm", "llm-efs", "llm-hub", "scale-to-zero"])
def test_endpoints_pass_the_policy_pack(endpoint):
    diags = verdicts(run_of(endpoint))
    assert diags == [], [(d.policy, d.urn, d.message) for d in diags]


def test_irsa_mode_endpoint_identity_trusts_only_its_service_account():
    from tests.workload_helpers import ISSUER

    run = build("llm-efs", mode="irsa")
    assert not of_type(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    (role,) = by_suffix(run, "iam/role:Role")
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert cond[f"{ISSUER}:sub"] == "system:serviceaccount:serving:llm-efs-server"
