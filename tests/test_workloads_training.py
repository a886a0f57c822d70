"""Training: the hardened runtime, TrainJob/PyTorchJob shapes (validated by the Kubeflow models), Kueue, and the
TrainingPlatform / TrainingJob components under mocks."""

from __future__ import annotations

import pytest
import yaml

from components import versions
from components.conventions import ACCELERATOR_LABEL, GPU_RESOURCE, GPU_TAINT_KEY
from components.workloads import training_specs as specs
from components.workloads.training import (TrainingJob, TrainingJobArgs, TrainingPlatform, TrainingPlatformArgs)
from tests.helpers import minimal_config, policy_doc, run_component
from validators import admission, helm_values
from tests.workload_helpers import (BUCKET, bucket_arn, by_suffix, depends_on, identity, names, one, pods_of,
                                    provider, validate_pytorchjob, validate_trainer, verdicts)


def pod(**overrides) -> specs.TrainingPod:
    values = dict(name="mnist", namespace="research", image=versions.IMAGES["pytorch-train"],
                  command=["torchrun", "/workspace/train.py"], nodes=2, gpus_per_node=4, cpu="16", memory="64Gi",
                  service_account="mnist-trainer", queue="training", claim="shared-efs",
                  env=[{"name": "DATASETS_URI", "value": "s3://b/datasets/"}])
    values.update(overrides)
    return specs.TrainingPod(**values)


def assert_hardened(container: dict, pod_spec: dict) -> None:
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["readOnlyRootFilesystem"] is True and sc.get("privileged") is False
    psc = pod_spec["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] > 0 and psc["seccompProfile"]["type"] == "RuntimeDefault"
    tmp = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"}
    assert tmp and all("emptyDir" in v for v in pod_spec["volumes"] if v["name"] in tmp)


# --------------------------------------------------------------------------- pure shapes


def test_runtime_is_a_valid_hardened_cluster_training_runtime():
    rt = specs.torch_runtime("torch-distributed", versions.IMAGES["pytorch-train"])
    assert validate_trainer(rt) == []
    assert rt["spec"]["mlPolicy"] == {"numNodes": 1, "torch": {}}
    (job,) = rt["spec"]["template"]["spec"]["replicatedJobs"]
    assert job["name"] == "node" and job["template"]["metadata"]["labels"] == {
        "trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
    pod_spec = job["template"]["spec"]["template"]["spec"]
    (node,) = pod_spec["containers"]
    assert node["name"] == "node" and node["image"] == versions.IMAGES["pytorch-train"]
    assert pod_spec["automountServiceAccountToken"] is False
    assert_hardened(node, pod_spec)
    assert node["resources"]["requests"] == node["resources"]["limits"]
    # Kueue does the gang admission: no second scheduler's pod group.
    assert "podGroupPolicy" not in rt["spec"]


def test_trainjob_shape_validates_against_trainer_api_models():
    tj = specs.trainjob(pod(), "torch-distributed")
    assert validate_trainer(tj) == []
    spec = tj["spec"]
    assert spec["runtimeRef"] == {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime",
                                  "name": "torch-distributed"}
    trainer = spec["trainer"]
    assert trainer["numNodes"] == 2 and trainer["numProcPerNode"] == 4
    res = trainer["resourcesPerNode"]
    assert res["requests"] == res["limits"] == {"cpu": "16", "memory": "64Gi", GPU_RESOURCE: "4"}
    assert tj["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "training"
    (patch,) = spec["runtimePatches"]
    # Trainer's admission webhook (ported in validators/admission.py from upstream jobset.go) accepts the
    # patch only with a domain-prefixed manager and containers the runtime has.
    assert admission.is_domain_prefixed_path(patch["manager"]) == []
    assert list(admission.trainjob_errors(tj, specs.torch_runtime("torch-distributed", "img:1"), True)) == []


def test_trainjob_effective_pod_is_placed_on_gpus_hardened_and_undisruptable():
    (view,) = pods_of_obj(specs.trainjob(pod(), "torch-distributed"))
    assert view.metadata["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
    s = view.spec
    assert {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"} in s["tolerations"]
    (term,) = s["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia"]}]
    assert s["serviceAccountName"] == "mnist-trainer"
    assert {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-efs"}} in s["volumes"]
    (node,) = s["containers"]
    assert {"name": "shared", "mountPath": "/mnt/shared"} in node["volumeMounts"]
    assert node["resources"]["limits"][GPU_RESOURCE] == node["resources"]["requests"][GPU_RESOURCE] == "4"
    assert_hardened(node, s)


def test_cpu_only_trainjob_neither_tolerates_gpus_nor_asks_for_them():
    (view,) = pods_of_obj(specs.trainjob(pod(gpus_per_node=0, claim=None), "torch-distributed"))
    assert "tolerations" not in view.spec and "affinity" not in view.spec
    (node,) = view.spec["containers"]
    assert GPU_RESOURCE not in node["resources"]["limits"]
    assert all(v["name"] != "shared" for v in view.spec["volumes"])


def test_pytorchjob_validates_against_training_operator_models():
    job = specs.pytorchjob(pod())
    assert validate_pytorchjob(job) == []
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert replicas["Master"]["replicas"] == 1 and replicas["Worker"]["replicas"] == 1
    assert job["spec"]["nprocPerNode"] == "4"
    tpl = replicas["Worker"]["template"]
    (c,) = tpl["spec"]["containers"]
    assert c["name"] == "pytorch" and tpl["spec"]["automountServiceAccountToken"] is False
    assert tpl["metadata"]["annotations"] == {"karpenter.sh/do-not-disrupt": "true"}
    assert_hardened(c, tpl["spec"])
    assert c["resources"]["requests"] == c["resources"]["limits"]


def test_single_node_pytorchjob_has_no_workers():
    assert set(specs.pytorchjob(pod(nodes=1))["spec"]["pytorchReplicaSpecs"]) == {"Master"}


def test_strict_validation_catches_a_wrong_field():
    tj = specs.trainjob(pod(), "torch-distributed")
    tj["spec"]["trainer"]["resourcesPerNode"]["request"] = {"cpu": "1"}  # typo: not a field
    assert validate_trainer(tj)
    job = specs.pytorchjob(pod())
    job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = "one"
    assert validate_pytorchjob(job)


def test_kueue_admits_whole_jobs_only_and_knows_both_training_apis():
    cfg = specs.kueue_manager_config()
    wait = cfg["waitForPodsReady"]
    assert wait["blockAdmission"] is True and wait["timeout"]
    assert {"trainer.kubeflow.org/trainjob", "kubeflow.org/pytorchjob", "jobset.x-k8s.io/jobset"} <= set(
        cfg["integrations"]["frameworks"])
    assert "deployment" not in cfg["integrations"]["frameworks"]  # serving never queues
    values = specs.kueue_values()
    assert yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"]) == cfg
    assert values["controllerManager"]["nodeSelector"] == {"mlplatform.io/role": "system"}


def test_cluster_queue_quota_and_team_only_selector():
    cq = specs.cluster_queue("256", "2Ti", 32)
    (group,) = cq["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", GPU_RESOURCE]
    (flavor,) = group["flavors"]
    assert {r["name"]: r["nominalQuota"] for r in flavor["resources"]} == {"cpu": "256", "memory": "2Ti",
                                                                          GPU_RESOURCE: "32"}
    assert cq["spec"]["namespaceSelector"] == {"matchExpressions": [{"key": "mlplatform.io/team",
                                                                     "operator": "Exists"}]}


def pods_of_obj(obj: dict) -> list:
    from guardrails.podspecs import pod_templates

    return list(pod_templates(f"kubernetes:{obj['apiVersion']}:{obj['kind']}", obj))


# --------------------------------------------------------------------------- components under mocks


def build_platform(**kw):
    return run_component(lambda env: TrainingPlatform("training", TrainingPlatformArgs(provider=provider(), **kw)))


def test_platform_installs_pinned_trainer_with_jobset_and_kueue_in_parallel():
    run = build_platform(legacy_training_operator=True, kueue_cpu_quota="32", kueue_memory_quota="128Gi",
                         kueue_gpu_quota=4)
    trainer = one(run, ":Release", "training-trainer")
    pin = versions.HELM_CHARTS["kubeflow-trainer"]
    assert pin.version == "2.3.0"
    assert trainer.inputs["chart"] == "oci://ghcr.io/kubeflow/charts/kubeflow-trainer"
    assert trainer.inputs["version"] == pin.version and trainer.inputs["namespace"] == "kubeflow-system"
    # JobSet (a Trainer subchart) is installed and its controller runs on the system pool (issue 14, finding 7);
    # every value set exists in the vendored Trainer chart or its jobset subchart.
    jobset = trainer.inputs["values"]["jobset"]
    assert jobset["install"] is True and jobset["controller"]["nodeSelector"] == {"mlplatform.io/role": "system"}
    assert helm_values.check_release({"type": "kubernetes:helm.sh/v3:Release", "inputs": trainer.inputs}) == []
    kueue = one(run, ":Release", "training-kueue")
    assert kueue.inputs["chart"] == "oci://registry.k8s.io/kueue/charts/kueue"
    assert kueue.inputs["version"] == versions.HELM_CHARTS["kueue"].version
    assert not depends_on(run, trainer, kueue) and not depends_on(run, kueue, trainer)

    runtime = one(run, ":ClusterTrainingRuntime")
    assert depends_on(run, runtime, trainer) and validate_trainer(runtime.inputs) == []
    cq = one(run, ":ClusterQueue")
    assert depends_on(run, cq, kueue) and depends_on(run, cq, one(run, ":ResourceFlavor"))
    assert cq.inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2] == {
        "name": GPU_RESOURCE, "nominalQuota": "4"}

    legacy = one(run, "kustomize/v2:Directory")
    tag = versions.HELM_CHARTS["training-operator"].version
    assert legacy.inputs["directory"] == (
        f"https://github.com/kubeflow/trainer.git/manifests/overlays/standalone?ref={tag}")


def test_platform_parts_switch_off():
    run = build_platform(trainer=False, kueue=False)
    assert not by_suffix(run, ":Release") and not by_suffix(run, "kustomize/v2:Directory")


JOB_CFG = minimal_config(
    # Sized for mnist (2 x 16 CPU, 2 x 64Gi): the config refuses jobs their team's quota cannot hold.
    teams={"research": {"gpu": 8, "cpu": "64", "memory": "256Gi"}},
    trainingJobs={"mnist": {"team": "research", "nodes": 2, "gpusPerNode": 4, "cpu": "16", "memory": "64Gi"},
                  "legacy": {"team": "research", "kind": "PyTorchJob", "nodes": 3, "volume": "none"}},
    legacyTrainingOperator=True,
)


def build_job(job="mnist", region="us-west-2", mode="pod-identity", claim="shared-efs", script=None):
    def body(env):
        p = provider()
        platform = TrainingPlatform("training", TrainingPlatformArgs(provider=p, legacy_training_operator=True))
        TrainingJob(f"job-{job}", TrainingJobArgs(
            job=job, config=JOB_CFG.trainingJobs[job], namespace="research", provider=p,
            identity=identity(env, p, mode), data_bucket_name=BUCKET, data_bucket_arn=bucket_arn(env),
            queue="training", claim=claim, script=script,
            depends_on=platform.trainjob_ready if JOB_CFG.trainingJobs[job].kind == "TrainJob"
            else platform.pytorchjob_ready))
    return run_component(body, region=region)


def test_trainjob_component_emits_a_valid_queued_trainjob_after_its_platform():
    run = build_job()
    tj = one(run, ":TrainJob")
    assert validate_trainer(tj.inputs) == []
    assert tj.inputs["metadata"]["namespace"] == "research"
    assert tj.inputs["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "training"
    env = {e["name"]: e["value"] for e in tj.inputs["spec"]["trainer"]["env"]}
    assert env["DATASETS_URI"] == f"s3://{BUCKET}/datasets/"
    assert env["CHECKPOINTS_URI"] == f"s3://{BUCKET}/checkpoints/research/mnist/"
    for dep in ("training-trainer", "training-kueue"):
        assert depends_on(run, tj, one(run, ":Release", dep)), dep
    assert depends_on(run, tj, one(run, ":ClusterTrainingRuntime"))
    sa = one(run, ":ServiceAccount")
    assert (sa.inputs["metadata"]["name"], sa.inputs["metadata"]["namespace"]) == ("mnist-trainer", "research")
    assert sa.inputs["automountServiceAccountToken"] is False
    (view,) = pods_of(tj)
    assert view.spec["serviceAccountName"] == "mnist-trainer"


def test_training_identity_reads_datasets_and_writes_only_team_checkpoints():
    run = build_job()
    (pol,) = by_suffix(run, "iam/policy:Policy")
    doc = policy_doc(pol.inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    arn = f"arn:aws:s3:::{BUCKET}"
    assert sorted(by_sid["ReadObjects"]["Resource"]) == sorted(
        [f"{arn}/datasets/*", f"{arn}/checkpoints/research/*"])
    assert by_sid["WriteObjects"]["Resource"] == f"{arn}/checkpoints/research/*"
    assert "s3:PutObject" in by_sid["WriteObjects"]["Action"]
    assert by_sid["ListOwnPrefixes"]["Resource"] == arn
    assert set(by_sid["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"]) == {
        "datasets/", "datasets/*", "checkpoints/research/", "checkpoints/research/*"}
    assert all("*" != a and not a.endswith(":*") for s in doc["Statement"] for a in _list(s["Action"]))


def test_training_identity_arns_follow_the_partition():
    run = build_job(region="cn-north-1")
    (pol,) = by_suffix(run, "iam/policy:Policy")
    resources = [r for s in policy_doc(pol.inputs["policy"])["Statement"] for r in _list(s["Resource"])]
    assert resources and all(r.startswith("arn:aws-cn:s3:::") for r in resources)


def test_irsa_trust_is_scoped_to_the_job_service_account():
    run = build_job(mode="irsa")
    (role,) = by_suffix(run, "iam/role:Role")
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert cond[f"oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789:sub"] == \
        "system:serviceaccount:research:mnist-trainer"


def test_pytorchjob_component_validates_and_waits_for_the_legacy_operator():
    run = build_job("legacy", claim=None)
    job = one(run, ":PyTorchJob")
    assert validate_pytorchjob(job.inputs) == []
    assert job.inputs["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2
    assert depends_on(run, job, one(run, "kustomize/v2:Directory"))
    for view in pods_of(job):
        assert all(v["name"] != "shared" for v in view.spec["volumes"])


def test_job_without_the_claim_it_needs_is_refused():
    with pytest.raises(Exception, match="volume efs requested but the team has no such claim"):
        build_job(claim=None)


def test_training_objects_pass_the_policy_pack():
    run = build_job("legacy", claim=None)
    diags = [d for d in verdicts(run) if d.policy != "load-balancers-depend-on-controller"]
    assert diags == [], [(d.policy, d.message) for d in diags]


def test_policy_pack_sees_a_broken_training_pod():
    bad = specs.pytorchjob(pod(nodes=1))
    tpl = bad["spec"]["pytorchReplicaSpecs"]["Master"]["template"]
    del tpl["metadata"]["annotations"]
    tpl["spec"].pop("tolerations")

    def body(env):
        import pulumi_kubernetes as k8s
        k8s.apiextensions.CustomResource("bad", api_version=bad["apiVersion"], kind=bad["kind"],
                                         metadata=bad["metadata"], spec=bad["spec"])
    got = names(verdicts(run_component(body)))
    assert {"training-pods-do-not-disrupt", "gpu-pods-tolerate-gpu-taint"} <= got


def _list(v):
    return v if isinstance(v, list) else [v]



def test_script_ships_as_a_configmap_mounted_read_only_at_workspace():
    run = build_job(script="print('hello from rank', __import__('os').environ.get('RANK'))\n")
    cm = one(run, "core/v1:ConfigMap")
    assert cm.inputs["metadata"]["name"] == "mnist-script" and cm.inputs["metadata"]["namespace"] == "research"
    assert cm.inputs["data"]["train.py"].startswith("print(")
    tj = one(run, ":TrainJob")
    assert depends_on(run, tj, cm)
    (view,) = pods_of(tj)
    assert {"name": "script", "configMap": {"name": "mnist-script"}} in view.spec["volumes"]
    (node,) = view.spec["containers"]
    assert {"name": "script", "mountPath": "/workspace", "readOnly": True} in node["volumeMounts"]
    assert validate_trainer(tj.inputs) == []


def test_script_must_exist_and_stay_small(tmp_path):
    from components.config import ConfigError, load_config

    base = {"nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1,
                                       "maxSize": 2}},
            "teams": {"research": {}}}
    with pytest.raises(ConfigError, match="trainingJobs.j.script"):
        load_config({**base, "trainingJobs": {"j": {"team": "research", "gpusPerNode": 0, "script": "nope.py"}}},
                    stack="test", project_dir=str(tmp_path))
    (tmp_path / "big.py").write_text("#" * (600 * 1024))
    with pytest.raises(ConfigError, match="512 KiB"):
        load_config({**base, "trainingJobs": {"j": {"team": "research", "gpusPerNode": 0, "script": "big.py"}}},
                    stack="test", project_dir=str(tmp_path))
