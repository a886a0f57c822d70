"""The outside validators (validators/): breaking an object makes them fail, naming object, check and field.

Each test pairs a broken object with a clean one in the same run, so it also
proves the validator passes what it should. checkov and parliament run from
their own virtualenvs; the tests build them when missing (as `make validate`
does) and skip, saying why, only if that build is impossible here.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
import yaml

from validators import checkov_runner, crds, envs, k8s_schemas, kubeflow_models, parliament_runner, pods
from validators.__main__ import kubernetes_version, main, validate_stack
from validators.manifests import Manifest, load_manifests
from validators.report import Report

K8S = "1.35"
URN = "urn:pulumi:test::mlplatform::mlplatform:test:Thing$kubernetes:{kind}::{name}"
IMAGE = "docker.io/pytorch/pytorch:2.12.1-cuda12.6-cudnn9-runtime"
HARDENED = {
    "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
    "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def write(directory: Path, obj: dict) -> Path:
    """A manifest the way `automation plan --manifests` writes it."""
    meta = obj["metadata"]
    path = directory / f"{meta.get('namespace', '_cluster')}__{obj['kind'].lower()}__{meta['name']}.yaml"
    path.write_text(f"# urn: {URN.format(kind=obj['kind'], name=meta['name'])}\n" + yaml.safe_dump(obj))
    return path


def deployment(name: str = "web") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "serving"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"automountServiceAccountToken": False, "containers": [{
                "name": "server", "image": IMAGE, "securityContext": HARDENED, "resources": copy.deepcopy(RESOURCES),
            }]}}},
    }


def runtime() -> dict:
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "torch-distributed"},
        "spec": {"mlPolicy": {"numNodes": 1, "torch": {}}, "template": {"spec": {"replicatedJobs": [{
            "name": "node",
            "template": {"spec": {"template": {"spec": {
                "automountServiceAccountToken": False, "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "node", "image": IMAGE, "imagePullPolicy": "Always",
                                "securityContext": HARDENED, "resources": copy.deepcopy(RESOURCES)}],
            }}}},
        }]}}},
    }


def trainjob(name: str, container_patch: dict | None = None) -> dict:
    patch = {"name": "node", **(container_patch or {})}
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
        "metadata": {"name": name, "namespace": "research"},
        "spec": {
            "runtimeRef": {"name": "torch-distributed", "kind": "ClusterTrainingRuntime",
                           "apiGroup": "trainer.kubeflow.org"},
            "trainer": {"image": IMAGE, "numNodes": 1, "resourcesPerNode": copy.deepcopy(RESOURCES)},
            "runtimePatches": [{"manager": "mlplatform.io/platform", "trainingRuntimeSpec": {"template": {"spec": {
                "replicatedJobs": [{"name": "node", "template": {"spec": {"template": {"spec": {
                    "containers": [patch]}}}}}]}}}}],
        },
    }


def pytorchjob(name: str, worker_security: dict) -> dict:
    def replica(sc: dict) -> dict:
        return {"replicas": 1, "restartPolicy": "OnFailure", "template": {"spec": {
            "automountServiceAccountToken": False,
            "containers": [{"name": "pytorch", "image": IMAGE, "imagePullPolicy": "Always", "securityContext": sc,
                            "resources": copy.deepcopy(RESOURCES)}]}}}

    return {
        "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name, "namespace": "research"},
        "spec": {"runPolicy": {}, "pytorchReplicaSpecs": {"Master": replica(HARDENED), "Worker": replica(worker_security)}},
    }


def manifest(tmp_path: Path, obj: dict) -> Manifest:
    return load_manifests_one(write(tmp_path, obj))


def load_manifests_one(path: Path) -> Manifest:
    from validators.manifests import load_manifest

    return load_manifest(path)


# --------------------------------------------------------------------------- (a) kubernetes-validate strict


def test_cpu_limit_two_fails_strict_schema_naming_object_and_field(tmp_path):
    broken = deployment("web")
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "two"
    write(tmp_path, broken)
    write(tmp_path, deployment("api"))  # control: identical but valid

    report = validate_stack("test", tmp_path, None, ["kubernetes"], Report("test"), k8s_version=K8S)

    findings = report.findings
    assert [(f.subject.kind, f.subject.namespace, f.subject.name) for f in findings] == [("Deployment", "serving", "web")]
    f = findings[0]
    assert f.validator == "kubernetes-validate" and f.check == "strict-schema/apps/v1/Deployment"
    assert f.path == "spec.template.spec.containers[0].resources.limits.cpu"
    assert "'two' is not a Kubernetes quantity" in f.message
    assert f.subject.urn.endswith("::web") and f.subject.file == "serving__deployment__web.yaml"
    text = f.render()
    for expected in ("serving__deployment__web.yaml", "Deployment serving/web", f.subject.urn, f.path):
        assert expected in text


def test_cli_prints_the_failure_and_exits_1(tmp_path):
    broken = deployment("web")
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "two"
    write(tmp_path, broken)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resources": []}))
    out = io.StringIO()
    code = main(["--stack", "dev", "--manifests", str(tmp_path), "--plan", str(plan), "--only", "kubernetes",
                 "--kubernetes-version", K8S], out=out)
    assert code == 1
    assert "FAIL [kubernetes-validate]" in out.getvalue()
    assert "field:  spec.template.spec.containers[0].resources.limits.cpu" in out.getvalue()


def test_strict_mode_rejects_unknown_fields_and_follows_the_version():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    errors = k8s_schemas.validate_object(obj, K8S)
    assert [p for p, _ in errors] == ["spec.template.spec.containers[0].securityContxt"]
    assert k8s_schemas.schema_version("1.35") == "1.35.0"
    assert k8s_schemas.schema_version("v1.34.2") == "1.34.0"
    with pytest.raises(ValueError):
        k8s_schemas.schema_version("1.99")


@pytest.mark.parametrize("value,ok", [("500m", True), ("2", True), ("1.5Gi", True), ("64Mi", True), ("1e3", True),
                                      (4, True), ("two", False), ("1.5 Gi", False), ("", False), ("Gi", False)])
def test_quantity_grammar(value, ok):
    assert k8s_schemas.is_quantity(value) is ok


def test_stack_kubernetes_version_comes_from_components_config():
    from automation.offline.runner import PROJECT_DIR, read_stack_files
    from components import versions

    files = read_stack_files(PROJECT_DIR, "dev")
    expected = files.config.get("mlplatform:kubernetesVersion", versions.DEFAULT_KUBERNETES_VERSION)
    assert kubernetes_version("dev") == expected


# --------------------------------------------------------------------------- (c) Kubeflow models


def test_unknown_field_in_trainjob_spec_fails_the_kubeflow_model_check(tmp_path):
    broken = trainjob("typo")
    broken["spec"]["trainerr"] = {"numNodes": 2}
    bad, good = manifest(tmp_path, broken), manifest(tmp_path, trainjob("clean"))

    assert kubeflow_models.check(good) == []
    findings = kubeflow_models.check(bad)
    assert len(findings) == 1
    f = findings[0]
    assert f.validator == "kubeflow-models" and "TrainerV1alpha1TrainJob" in f.check
    assert f.path == "spec.trainerr" and "unknown field 'trainerr'" in f.message
    assert (f.subject.kind, f.subject.namespace, f.subject.name) == ("TrainJob", "research", "typo")


def test_kubeflow_models_check_types_and_nested_unknown_fields():
    job = trainjob("x", {"securityContext": {"privileged": "yes"}})
    job["spec"]["trainer"]["numNodes"] = "2"
    assert kubeflow_models.check_trainer(job, "TrainJob") == [
        ("spec.trainer.numNodes", "Input should be a valid integer (got '2')")]
    job["spec"]["trainer"]["numNodes"] = 2
    errors = kubeflow_models.check_trainer(job, "TrainJob")
    assert len(errors) == 1 and errors[0][0].endswith("containers[0].securityContext.privileged")

    ctr = runtime()
    ctr["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0][
        "resources"]["limits"]["cpu"] = "two"
    assert kubeflow_models.check_trainer(runtime(), "ClusterTrainingRuntime") == []
    (path, message), = kubeflow_models.check_trainer(ctr, "ClusterTrainingRuntime")
    assert path.endswith("containers[0].resources.limits.cpu") and "quantity" in message


def test_pytorchjob_against_kubeflow_training_models():
    assert kubeflow_models.check_pytorchjob(pytorchjob("ok", HARDENED)) == []
    job = pytorchjob("bad", HARDENED)
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = "1"
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["privilegd"] = True
    paths = sorted(p for p, _ in kubeflow_models.check_pytorchjob(job))
    assert paths == ["spec.pytorchReplicaSpecs.Master.template.spec.containers[0].privilegd",
                     "spec.pytorchReplicaSpecs.Worker.replicas"]


def test_pod_templates_inside_crds_are_validated_as_pods(tmp_path):
    ctr = runtime()
    ctr["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["hostNetwrk"] = True
    write(tmp_path, ctr)
    report = validate_stack("test", tmp_path, None, ["kubernetes"], Report("test"), k8s_version=K8S)
    (f,) = report.findings
    assert f.check == "strict-schema/embedded-pod-template"
    assert f.path == "spec.template.spec.replicatedJobs[0].template.spec.template.spec.hostNetwrk"


# --------------------------------------------------------------------------- other CRDs


def nodepool() -> dict:
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"}, "spec": {
        "template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                              "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In",
                                                "values": ["on-demand"]}],
                              "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                              "expireAfter": "720h"}},
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
        "limits": {"nvidia.com/gpu": "8"}}}


def test_upstream_crds_catch_enum_unknown_field_and_cel_rules(tmp_path):
    """Schemas and CEL rules come from the vendored upstream CRDs (upstream/crds/), not from this repo."""
    assert crds.check(manifest(tmp_path, nodepool()), K8S) == []
    bad = nodepool()
    bad["spec"]["disruption"]["consolidationPolicy"] = "Sometimes"
    bad["spec"]["limitz"] = {}
    msgs = {f.path: f.message for f in crds.check(manifest(tmp_path, bad), K8S)}
    assert msgs["spec.disruption.consolidationPolicy"].startswith('Unsupported value: "Sometimes": supported values:')
    assert msgs["spec.limitz"] == 'unknown field "spec.limitz"'

    # Karpenter's CEL rule on Gt/Lt requirements: a non-integer value makes int() fail, which the API server
    # reports as an invalid object.
    rule = nodepool()
    rule["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Gt"
    (f,) = crds.check(manifest(tmp_path, rule), K8S)
    assert f.path == "spec.template.spec.requirements" and "failed to evaluate" in f.message
    rule["spec"]["template"]["spec"]["requirements"][0]["values"] = ["-1"]
    (f,) = crds.check(manifest(tmp_path, rule), K8S)
    assert f.path == "spec.template.spec.requirements" and "Gt" in f.message

    nodeclass = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "gpu"}, "spec": {
        "role": "node-role", "instanceProfile": "profile", "amiSelectorTerms": [{"alias": "al2023@v20260903"}],
        "subnetSelectorTerms": [{"tags": {"k": "v"}}], "securityGroupSelectorTerms": [{"tags": {"k": "v"}}],
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}}
    (f,) = crds.check(manifest(tmp_path, nodeclass), K8S)
    assert f.path == "spec" and "exactly one of ['role', 'instanceProfile']" in f.message

    queue = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "q"}, "spec": {
        "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
        "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
            {"name": "default", "resources": [{"name": "cpu", "nominalQuota": "8"}]}]}]}}
    (f,) = crds.check(manifest(tmp_path, queue), K8S)
    assert f.path == "spec.resourceGroups[0]" and "coveredResources" in f.message


def test_servicemonitor_against_the_upstream_crd(tmp_path):
    sm = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
          "metadata": {"name": "dcgm", "namespace": "monitoring"},
          "spec": {"selector": {"matchLabels": {"app": "dcgm"}}, "endpoints": [
              {"port": "metrics", "interval": "15s", "relabelings": [
                  {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}]}]}}
    assert crds.check(manifest(tmp_path, sm), K8S) == []
    sm["spec"]["endpoints"][0]["scheme"] = "htp"
    sm["spec"]["endpoints"][0]["intervall"] = "15s"
    sm["spec"]["endpoints"][0]["relabelings"][0]["action"] = "rename"
    assert sorted(f.path for f in crds.check(manifest(tmp_path, sm), K8S)) == [
        "spec.endpoints[0].intervall", "spec.endpoints[0].relabelings[0].action", "spec.endpoints[0].scheme"]


def test_a_custom_resource_nobody_can_check_fails_loudly(tmp_path):
    write(tmp_path, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}})
    report = validate_stack("test", tmp_path, None, ["kubernetes", "kubeflow", "crds"], Report("test"),
                            k8s_version=K8S)
    (f,) = report.findings
    assert f.validator == "coverage" and "example.com/v1 Widget" in f.message


# --------------------------------------------------------------------------- CRD pod wrapping


def test_trainjob_effective_pod_starts_from_its_runtime(tmp_path):
    write(tmp_path, runtime())
    write(tmp_path, trainjob("job", {"securityContext": {**HARDENED, "privileged": True}}))
    wrapped = {w.source.kind: w for w in pods.wrap(load_manifests(tmp_path))}
    pod = wrapped["TrainJob"].pod
    assert pod["metadata"]["namespace"] == "research" and pod["metadata"]["name"] == "job-trainer"
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"]["privileged"] is True  # from the TrainJob's patch
    assert container["imagePullPolicy"] == "Always"  # from the runtime's template
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert wrapped["ClusterTrainingRuntime"].pod["metadata"]["namespace"] == pods.RUNTIME_NAMESPACE


# --------------------------------------------------------------------------- (b) checkov, through the CRD wrapping


def _tool(name: str) -> envs.Tool:
    try:
        return envs.ensure(name)
    except envs.EnvError as exc:  # pragma: no cover - only without a package registry
        pytest.skip(f"the isolated {name} environment could not be built here ({exc}); `make validate` builds it")


def test_privileged_container_in_training_jobs_fails_checkov_ck_k8s_16(tmp_path):
    checkov = _tool("checkov")
    write(tmp_path, runtime())
    write(tmp_path, trainjob("privileged-job", {"securityContext": {**HARDENED, "privileged": True}}))
    write(tmp_path, trainjob("clean-job"))
    write(tmp_path, pytorchjob("privileged-pt", {**HARDENED, "privileged": True}))

    section = checkov_runner.check(load_manifests(tmp_path), executable=checkov.exe)

    assert section.error is None
    privileged = [f for f in section.findings if f.check == "CKV_K8S_16"]
    assert sorted((f.subject.kind, f.subject.name) for f in privileged) == [
        ("PyTorchJob", "privileged-pt"), ("TrainJob", "privileged-job")]
    job = next(f for f in privileged if f.subject.kind == "TrainJob")
    assert job.subject.namespace == "research" and job.subject.urn.endswith("::privileged-job")
    assert "privileged" in job.message.lower() and "spec.trainer+spec.runtimePatches" in job.message
    pt = next(f for f in privileged if f.subject.kind == "PyTorchJob")
    assert "spec.pytorchReplicaSpecs.Worker.template" in pt.message
    # The wrapped training pods are batch pods: the probe checks are skipped there, per checkov-skips.yaml.
    assert not [f for f in section.findings if f.check in ("CKV_K8S_8", "CKV_K8S_9")]


def test_checkov_skip_list_is_reasoned_and_inline_suppressions_are_refused(tmp_path):
    skips = checkov_runner.load_skips()
    for s in skips.everywhere + skips.wrapped_batch_pods:
        assert s.id.startswith("CKV") and len(s.reason) > 30
    bad = tmp_path / "skips.yaml"
    bad.write_text("skips:\n  - id: CKV_K8S_16\n")
    with pytest.raises(checkov_runner.CheckovError, match="needs a reason"):
        checkov_runner.load_skips(bad)
    finding = checkov_runner._finding({"check_id": "CKV_K8S_20", "check_name": "no escalation",
                                       "file_path": "/x.yaml", "resource": "Pod.a.b"}, {}, skipped=True)
    assert "inline suppressions are not allowed" in finding.message


# --------------------------------------------------------------------------- (d) parliament


def _policy_resource(name: str, policy: dict, type_: str = "aws:iam/policy:Policy", field: str = "policy") -> dict:
    return {"urn": f"urn:pulumi:test::mlplatform::{type_}::{name}", "type": type_, "name": name,
            "inputs": {field: json.dumps(policy)}}


def test_parliament_reports_star_and_typod_actions_but_passes_scoped_policies():
    parliament = _tool("parliament")
    plan = {"resources": [
        _policy_resource("admin", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        _policy_resource("typo", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::bucket/*"}]}),
        _policy_resource("reader", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket/datasets/*"}]}),
        _policy_resource("role", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"]}]}, "aws:iam/role:Role", "assumeRolePolicy"),
    ]}

    section = parliament_runner.check(plan, python=parliament.python)

    assert section.error is None and section.checked == 4
    by_name: dict[str, set] = {}
    for f in section.findings:
        by_name.setdefault(f.subject.name, set()).add(f.check)
    assert "PRIVILEGE_ESCALATION" in by_name["admin"]
    assert by_name["typo"] == {"UNKNOWN_ACTION"}
    assert "reader" not in by_name and "role" not in by_name  # the trust policy is fed with its role as Resource
    typo = next(f for f in section.findings if f.subject.name == "typo")
    assert "s3:GetObjekt" in typo.message and typo.severity == "MEDIUM" and typo.path.startswith("policy")


def test_trust_policies_get_their_role_as_resource_and_config_files_load():
    trust = parliament_runner.Document(
        resource={"urn": "u", "type": "aws:iam/role:Role", "name": "r", "inputs": {"name": "ml-role"}},
        path="assumeRolePolicy", kind="trust",
        text=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    prepared = json.loads(parliament_runner.prepare(trust, "aws-cn", "111122223333"))
    assert prepared["Statement"][0]["Resource"] == "arn:aws-cn:iam::111122223333:role/ml-role"
    # An EFS file-system policy leaves Resource to the file system it is attached to (known at a first preview).
    efs = parliament_runner.Document(
        resource={"urn": "u", "type": "aws:efs/fileSystemPolicy:FileSystemPolicy", "name": "p",
                  "inputs": {"fileSystemId": "fs-0123456789abcdef0"}},
        path="policy", kind="resource",
        text=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*",
                                                                 "Principal": {"AWS": "*"}}]}))
    prepared = json.loads(parliament_runner.prepare(efs, "aws", "111122223333", "eu-west-1"))
    assert prepared["Statement"][0]["Resource"] == \
        "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123456789abcdef0"
    cfg = parliament_runner.load_config()
    assert cfg.severity_overrides["UNKNOWN_ACTION"] == "MEDIUM"
    assert all(e.reason for e in cfg.exceptions)
