"""KEDA objects through the outside validators: CRD schema and CEL, the admission-webhook ports, scaler facts.

Every rule is read from upstream (the vendored CRDs, ``upstream/keda/scalers.yaml`` extracted from KEDA's Go
sources at the pinned tag, and the webhook ports in validators/admission.py that cite their upstream file).
The objects are the program's own (components/workloads/inference_scaling.py, components/addons/keda.py);
each test breaks one and shows the general validator (what `make validate` runs) failing on it, next to the
clean object passing.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import versions
from components.addons.keda import trigger_authentication
from components.workloads import inference_scaling as scaling
from tools.vendor_upstream import sources_keda
from validators import admission, scalers, upstream
from validators.__main__ import main
from tests.validator_helpers import K8S, findings, manifest, rendered, validate_objects

ROOT = Path(__file__).resolve().parents[1]


def target(backend: str = "prometheus", name: str = "llm") -> scaling.Target:
    return scaling.Target(name=name, namespace="serving", deployment=name, gpus_per_replica=1, backend=backend,
                          cluster_name="ml-dev", region="us-west-2")


def vllm(**spec) -> dict:
    so = scaling.scaled_object(target(), metric=scaling.VLLM_QUEUE, target=4, min_replicas=2, max_replicas=4,
                               cooldown=600)
    so["spec"].update(spec)
    return so


def cloudwatch(metric: str = "SELECT MAX(ApproximateNumberOfMessagesVisible) FROM SCHEMA(\"AWS/SQS\", QueueName)",
               min_replicas: int = 0) -> dict:
    return scaling.scaled_object(target("cloudwatch", "batch"), metric=metric, target=8, min_replicas=min_replicas,
                                 max_replicas=2, cooldown=900)


def deployment(name: str = "llm", resources: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "serving"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "server", "image": "x",
                                         "resources": resources if resources is not None else
                                         {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}}


def scaler_errors(so: dict, *auths: dict) -> list[tuple[str, str]]:
    section = scalers.check([manifest(o) for o in (so, *auths)])
    return [(f.path, f.message) for f in section.findings]


def admission_errors(*objs: dict) -> list[tuple[str, str]]:
    section = admission.check([manifest(o) for o in objs])
    return [(f.path, f.message) for f in section.findings]


# --------------------------------------------------------------------------- the vendored facts


def test_scaler_facts_are_vendored_from_the_pinned_keda_release():
    pin = versions.HELM_CHARTS["keda"]
    entry = upstream.manifest()[upstream.SCALERS_FILE]
    assert (entry["repo"], entry["ref"], entry["transform"]) == ("kedacore/keda", f"v{pin.app_version}",
                                                                 "keda-scalers")
    crd_refs = {e["ref"] for f, e in upstream.manifest().items() if f.startswith("crds/keda/")}
    assert crd_refs == {entry["ref"]}
    facts = upstream.keda_scalers()
    # Every trigger type the program can emit has facts, with the keys its scaler requires.
    for ttype in ("prometheus", "aws-cloudwatch"):
        assert facts[ttype]["file"].startswith("pkg/scalers/") and facts[ttype]["params"]
    required = {n for p in facts["prometheus"]["params"] if not p.get("optional") and "default" not in p
                for n in p["names"]}
    assert {"serverAddress", "query", "threshold"} <= required


GO_TREE = {
    "scaling/scalers_builder.go": '''package scaling
func buildScaler(ctx context.Context, triggerType string, config *scalersconfig.ScalerConfig) (scalers.Scaler, error) {
	// TRIGGERS-START
	switch triggerType {
	case "thing", "thing-alias":
		return scalers.NewThingScaler(config)
	case "mock":
		return scalers.NewMockScaler(config)
	default:
		return nil, fmt.Errorf("no scaler found for type: %s", triggerType)
	}
}''',
    "scalers/thing_scaler.go": '''package scalers
import (
	"time"

	awsutils "github.com/kedacore/keda/v2/pkg/scalers/aws"
	"github.com/kedacore/keda/v2/pkg/scalers/authentication"
)
type thingMetadata struct {
	triggerIndex int
	Auth      *authentication.Config `keda:"optional"`
	Address   string        `keda:"name=address;url, order=triggerMetadata;resolvedEnv"` // a comment: "x"
	Threshold float64       `keda:"name=threshold,   order=triggerMetadata, default=5"`
	Mode      string        `keda:"name=mode,        order=triggerMetadata, enum=a;b, optional"`
	Old       string        `keda:"name=old,         order=triggerMetadata, optional, deprecated=use new"`
	Password  string        `keda:"name=password,    order=authParams"`
	Timeout   time.Duration `keda:"name=timeout,     order=triggerMetadata, optional"`
}
func NewThingScaler(config *scalersconfig.ScalerConfig) (Scaler, error) {
	metricType, err := GetMetricTargetType(config)
	meta := &thingMetadata{}
	if err := config.TypedConfig(meta); err != nil {
		return nil, err
	}
	_, _ = awsutils.GetAwsAuthorization(config.TriggerUniqueKey, config.TriggerMetadata, config.AuthParams)
	return nil, nil
}''',
    "scalers/mock_scaler.go": '''package scalers
func NewMockScaler(_ *scalersconfig.ScalerConfig) (Scaler, error) { return nil, nil }''',
    "scalers/authentication/types.go": '''package authentication
type Config struct {
	Modes []string `keda:"name=authModes, order=triggerMetadata;authParams, optional"`
	BasicAuth `keda:"optional"`
}
type BasicAuth struct {
	Username string `keda:"name=username, order=authParams"`
}''',
    "scalers/aws/common.go": '''package aws
func GetAwsAuthorization(uniqueKey string, triggerMetadata, authParams map[string]string) {
	if triggerMetadata["identityOwner"] == "operator" && authParams["awsRoleArn"] != "" {
	}
}''',
    "scalers/thing_scaler_test.go": "package scalers\nfunc TestX() {}",
}


def test_the_transform_reads_tags_nesting_helpers_and_the_builder():
    facts = sources_keda.scaler_facts(GO_TREE)
    assert set(facts) == {"thing", "thing-alias", "mock"} and facts["thing"] == facts["thing-alias"]
    thing = facts["thing"]
    by_name = {p["names"][0]: p for p in thing["params"]}
    assert thing["config"] == "thingMetadata" and thing["metricTargetType"] == "external"
    assert by_name["address"]["names"] == ["address", "url"] and "optional" not in by_name["address"]
    assert by_name["address"]["order"] == ["triggerMetadata", "resolvedEnv"]
    assert by_name["threshold"]["default"] == "5" and by_name["threshold"]["type"] == "float64"
    assert by_name["mode"]["enum"] == ["a", "b"] and by_name["old"]["deprecated"] is True
    assert by_name["timeout"]["type"] == "time.Duration"
    # Nested structs across packages; optional propagates from the parent field, as TypedConfig does.
    assert by_name["authModes"]["optional"] and by_name["username"]["optional"]
    assert thing["alsoReads"] == ["identityOwner"]  # authParams reads are not metadata reads
    assert facts["mock"]["params"] == [] and "openEnded" not in thing
    # Prose (the deprecation message, comments) is not kept.
    assert "use new" not in json.dumps(facts) and "a comment" not in json.dumps(facts)


# --------------------------------------------------------------------------- trigger metadata (scalers)


def test_the_programs_triggers_pass_the_scaler_facts():
    assert scaler_errors(vllm()) == []
    assert scaler_errors(cloudwatch(), trigger_authentication()) == []
    gpu = scaling.scaled_object(target("cloudwatch"), metric=scaling.GPU_UTILIZATION, target=60, min_replicas=1,
                                max_replicas=2, cooldown=300)
    assert scaler_errors(gpu, trigger_authentication()) == []


def test_a_key_the_scaler_does_not_read_and_a_missing_required_key_fail():
    so = vllm()
    meta = so["spec"]["triggers"][0]["metadata"]
    meta["serverAddres"] = meta.pop("serverAddress")
    errors = scaler_errors(so)
    assert ("spec.triggers[0].metadata.serverAddres",
            "prometheus scaler does not read metadata key 'serverAddres' (pkg/scalers/prometheus_scaler.go); "
            "did you mean serverAddress?") in errors
    assert any(p == "spec.triggers[0].metadata" and "missing required parameter 'serverAddress'" in m
               for p, m in errors)
    assert len(errors) == 2


def test_values_must_parse_as_the_scaler_reads_them():
    so = vllm()
    meta = so["spec"]["triggers"][0]["metadata"]
    meta.update(threshold="four", ignoreNullValues="yes", timeout="5 minutes", authModes="magic")
    by_key = {p.rsplit(".", 1)[1]: m for p, m in scaler_errors(so)}
    assert "'four' is not a number (float64)" in by_key["threshold"]
    assert "unable to parse boolean value 'yes'" in by_key["ignoreNullValues"]
    assert "unable to parse duration value" in by_key["timeout"]
    assert "must be one of ['apiKey', 'basic', 'tls', 'bearer', 'custom', 'oauth']" in by_key["authModes"]
    meta.update(threshold="4.5", ignoreNullValues="False", timeout="30s", authModes="basic")
    assert scaler_errors(so) == []


def test_secrets_and_deprecated_keys_do_not_belong_in_the_metadata():
    so = vllm()
    so["spec"]["triggers"][0]["metadata"]["password"] = "hunter2"
    ((path, message),) = scaler_errors(so)
    assert path.endswith(".password") and "from authParams only" in message
    cpu = vllm(triggers=[{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60", "type": "x"}}])
    ((path, message),) = scaler_errors(cpu)
    assert path.endswith(".type") and "deprecated" in message


def test_from_env_keys_and_unknown_types_and_utilization():
    so = vllm()
    meta = so["spec"]["triggers"][0]["metadata"]
    meta["serverAddressFromEnv"] = meta.pop("serverAddress")  # prometheus reads serverAddress from triggerMetadata only
    assert any("does not read metadata key 'serverAddressFromEnv'" in m for _, m in scaler_errors(so))
    bad = vllm(triggers=[{"type": "prometheous", "metadata": {}}])
    ((path, message),) = scaler_errors(bad)
    assert path == "spec.triggers[0].type" and "no scaler found for type" in message and "prometheus" in message
    util = vllm()
    util["spec"]["triggers"][0]["metricType"] = "Utilization"
    ((path, message),) = scaler_errors(util)
    assert path == "spec.triggers[0].metricType" and "unsupported for external metrics" in message


def test_required_keys_may_come_from_the_referenced_authentication():
    so = cloudwatch()
    del so["spec"]["triggers"][0]["metadata"]["awsRegion"]
    # The operator-identity authentication provides no parameters: awsRegion is missing.
    errors = scaler_errors(so, trigger_authentication())
    assert any("missing required parameter 'awsRegion'" in m for _, m in errors)
    with_region = trigger_authentication()
    with_region["spec"]["secretTargetRef"] = [{"parameter": "awsRegion", "name": "aws", "key": "region"}]
    assert scaler_errors(so, with_region) == []
    # An authentication the plan does not create is reported (its parameters are then unknown).
    errors = scaler_errors(so)
    assert errors == [("spec.triggers[0].authenticationRef", "authenticationRef names ClusterTriggerAuthentication "
                       "'keda-aws-operator-identity', which this plan does not create")]


def test_cloudwatch_needs_an_expression_or_a_full_metric_and_valid_periods():
    so = cloudwatch(metric=scaling.GPU_UTILIZATION)
    meta = so["spec"]["triggers"][0]["metadata"]
    assert scaler_errors(so, trigger_authentication()) == []
    del meta["dimensionValue"]
    ((_, message),) = scaler_errors(so, trigger_authentication())
    assert message.startswith("dimension value not given")
    meta["dimensionValue"] = "ml-dev;serving"
    ((_, message),) = scaler_errors(so, trigger_authentication())
    assert "not matching in size" in message
    ok = cloudwatch()
    ok["spec"]["triggers"][0]["metadata"].update(metricStatPeriod="90")
    ((_, message),) = scaler_errors(ok, trigger_authentication())
    assert "has to be a multiple of 60" in message


def test_cpu_and_memory_triggers_need_a_metric_type_and_a_matching_value():
    def cpu(metric_type, value):
        return vllm(triggers=[{"type": "cpu", **({"metricType": metric_type} if metric_type else {}),
                               "metadata": {"value": value}}])

    assert scaler_errors(cpu("Utilization", "60")) == [] and scaler_errors(cpu("AverageValue", "500m")) == []
    assert [p for p, _ in scaler_errors(cpu(None, "60"))] == ["spec.triggers[0].metricType"]
    assert [p for p, _ in scaler_errors(cpu("Utilization", "60%"))] == ["spec.triggers[0].metadata.value"]
    assert [p for p, _ in scaler_errors(cpu("AverageValue", "lots"))] == ["spec.triggers[0].metadata.value"]


def test_open_ended_scalers_are_not_checked_for_unknown_keys():
    pulsar = vllm(triggers=[{"type": "pulsar", "metadata": {
        "adminURL": "http://p:8080", "topic": "t", "subscription": "s", "oauthTokenURI": "http://idp"}}])
    assert upstream.keda_scalers()["pulsar"]["openEnded"] and scaler_errors(pulsar) == []
    pulsar["spec"]["triggers"][0]["metadata"]["msgBacklogThreshold"] = "many"  # known keys still parse-checked
    assert [p for p, _ in scaler_errors(pulsar)] == ["spec.triggers[0].metadata.msgBacklogThreshold"]


@pytest.mark.parametrize("value,go_type,ok", [
    ("10", "int64", True), ("10.0", "int64", False), ("1e3", "int", False), ("-1", "uint", False),
    ("128", "int8", False), ("1e3", "float64", True), (".5", "float64", False), ("t", "bool", True),
    ("1500", "time.Duration", True), ("1m30s", "time.Duration", True), ("-5s", "time.Duration", False),
    ("a,b", "[]string", True), ("1,x", "[]int", False), ("a=1,b=2", "map[string]string", True),
    ("a=1,b", "map[string]string", False), ("anything", "string", True),
])
def test_go_value_parsing(value, go_type, ok):
    assert (scalers.go_value_error(value, go_type) is None) is ok


# --------------------------------------------------------------------------- admission webhooks


def test_the_programs_objects_pass_keda_admission():
    assert admission_errors(vllm(), deployment(), cloudwatch(), deployment("batch"), trigger_authentication()) == []


def test_replica_bounds_names_and_triggers():
    errors = admission_errors(vllm(minReplicaCount=5, maxReplicaCount=3))
    assert errors == [("spec.minReplicaCount", "MinReplicaCount=5 must be less than MaxReplicaCount=3")]
    # minReplicaCount 0 counts as KEDA's HPA minimum (1): idle 1 is not below it.
    ((path, message),) = admission_errors(cloudwatch() | {"spec": {**cloudwatch()["spec"], "idleReplicaCount": 1}})
    assert path == "spec.idleReplicaCount" and "IdleReplicaCount=1 must be less than MinReplicaCount=1" == message
    long = vllm()
    long["metadata"]["name"] = "x" * 60  # keda-hpa-<name> is 69 characters
    ((path, message),) = admission_errors(long)
    assert path == "spec.advanced.horizontalPodAutoscalerConfig.name" and "derived from scaledobject" in message
    twice = vllm()
    twice["spec"]["triggers"] = [dict(twice["spec"]["triggers"][0], name="q") for _ in range(2)]
    assert any('triggerName "q" is defined multiple times' in m for _, m in admission_errors(twice))
    assert ("spec.triggers", "no triggers defined in the ScaledObject/ScaledJob") in admission_errors(vllm(triggers=[]))


def test_fallback_needs_a_trigger_that_is_not_cpu_or_memory():
    cpu_only = vllm(triggers=[{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}])
    assert ("spec.fallback", "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type "
            "for the fallback to be enabled") in admission_errors(cpu_only, deployment())
    # KEDA 2.20 accepts a fallback on a Value trigger (pkg/fallback divides by the ready replicas).
    value = vllm()
    value["spec"]["triggers"][0]["metricType"] = "Value"
    assert admission_errors(value, deployment()) == []


def test_one_workload_one_scaled_object_and_no_competing_hpa():
    other = vllm()
    other["metadata"]["name"] = "llm-2"
    errors = admission_errors(vllm(), other, deployment())
    assert ("spec.scaleTargetRef", "the workload 'llm' of type 'apps/v1.Deployment' is already managed by the "
            "ScaledObject 'llm-2'") in errors
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "llm", "namespace": "serving"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm"},
                    "minReplicas": 1, "maxReplicas": 2}}
    assert ("spec.scaleTargetRef", "the workload 'llm' of type 'apps/v1.Deployment' is already managed by the hpa "
            "'llm'") in admission_errors(vllm(), hpa, deployment())
    hpa["metadata"]["annotations"] = {"validations.keda.sh/hpa-ownership": "false"}
    assert admission_errors(vllm(), hpa, deployment()) == []


def test_cpu_triggers_need_requests_and_cannot_scale_to_zero_alone():
    cpu = vllm(triggers=[{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}])
    del cpu["spec"]["fallback"]
    assert admission_errors(cpu, deployment()) == []
    bare = deployment(resources={})
    assert admission_errors(cpu, bare) == [("spec.triggers[0]", "the scaledobject has a cpu trigger but the container "
                                                                "server doesn't have the cpu request defined")]
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "d", "namespace": "serving"},
              "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "100m"}}]}}
    assert admission_errors(cpu, bare, limits) == []
    cpu["spec"]["minReplicaCount"] = 0
    assert ("spec.minReplicaCount", "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero "
            "doesn't work in this case)") in admission_errors(cpu, deployment())


def test_trigger_authentication_webhook():
    ta = trigger_authentication()
    ta["spec"]["podIdentity"].update(roleArn="arn:aws:iam::1:role/x", identityOwner="workload")
    assert admission_errors(ta) == [("spec.podIdentity.roleArn",
                                     "roleArn of PodIdentity can't be set if KEDA isn't identityOwner")]
    ta = trigger_authentication()
    ta["spec"]["podIdentity"]["externalID"] = "e"
    assert admission_errors(ta)[0][0] == "spec.podIdentity.externalID"
    ta = trigger_authentication()
    ta["spec"]["oauth2"] = {"type": "clientCredentials", "clientId": "c", "tokenUrl": "ftp://idp/token"}
    assert admission_errors(ta) == [("spec.oauth2.tokenUrl", "oauth2.tokenUrl must be a valid http or https URL")]
    ta["spec"]["podIdentity"]["provider"] = "gcp"  # validateSpec returns before oauth2 for other providers
    assert admission_errors(ta) == []


def test_admission_warnings_become_notes():
    section = admission.check([manifest(vllm()), manifest(deployment())])
    assert section.ok
    assert any("CooldownPeriod is configured but is not relevant" in n for n in section.notes)
    section = admission.check([manifest(cloudwatch()), manifest(deployment("batch"))])
    assert not [n for n in section.notes if "CooldownPeriod" in n]  # relevant when scaling to zero


# --------------------------------------------------------------------------- the CLI, all checks together


def test_validate_cli_fails_on_each_broken_keda_object(tmp_path):
    def named(so: dict, name: str) -> dict:  # one workload per ScaledObject (KEDA refuses two on one)
        so["metadata"]["name"] = so["spec"]["scaleTargetRef"]["name"] = name
        return so

    unknown = named(vllm(scaleTargetref={}), "unknown-field")
    cel = named(vllm(minReplicaCount=9, maxReplicaCount=3), "cel")
    trig = named(vllm(), "trigger")
    trig["spec"]["triggers"][0]["metadata"]["querry"] = "up"
    webhook = named(vllm(triggers=[{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]),
                    "webhook")
    cta = trigger_authentication()
    cta["spec"]["podIdentity"]["provder"] = "aws"
    mdir = tmp_path / "manifests"
    mdir.mkdir()
    for i, obj in enumerate((unknown, cel, trig, webhook, cta, deployment("webhook"))):
        (mdir / f"{i}.yaml").write_text(f"# urn: urn:pulumi:t::p::x::{i}\n" + yaml.safe_dump(obj))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resources": []}))
    out = io.StringIO()
    code = main(["--stack", "t", "--manifests", str(mdir), "--plan", str(plan), "--kubernetes-version", K8S,
                 "--only", "crds,admission,scalers"], out=out)
    text = out.getvalue()
    assert code == 1, text
    for expected in ('unknown field "spec.scaleTargetref"', "minReplicaCount must be less than or equal to "
                     "maxReplicaCount", "MinReplicaCount=9 must be less than MaxReplicaCount=3",
                     "prometheus scaler does not read metadata key 'querry'", "at least one trigger (that is not cpu",
                     'unknown field "spec.podIdentity.provder"'):
        assert expected in text, expected
    assert text.count("FAIL [") == 6, text


# --------------------------------------------------------------------------- stacks with KEDA switched on


def _temp_stack(base: str, edit) -> str:
    import uuid

    doc = yaml.safe_load((ROOT / f"Pulumi.{base}.yaml").read_text())
    edit(doc["config"]["mlplatform:inferenceEndpoints"])
    name = f"t-keda-{uuid.uuid4().hex[:8]}"
    (ROOT / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return name


def _prod_llm(endpoints: dict) -> None:
    endpoints["llm"]["enabled"] = True


def _dev_scale_to_zero(endpoints: dict) -> None:
    endpoints["batch-llm"] = {
        "team": "research", "placement": "gpu", "gpus": 1, "cpu": "4", "memory": "16Gi", "port": 8000,
        "healthPath": "/health", "exposure": "none", "args": ["--model", "$(MODEL_PATH)"],
        "model": {"source": "hf:Qwen/Qwen2.5-0.5B-Instruct", "cache": "efs", "sizeGiB": 1},
        "autoscaling": {"metric": "SELECT MAX(ApproximateNumberOfMessagesVisible) FROM SCHEMA(\"AWS/SQS\", "
                                  "QueueName) WHERE QueueName = 'batch-prompts'",
                        "target": 8, "minReplicas": 0, "maxReplicas": 2, "cooldown": 900}}
    endpoints["chat"] = {"team": "research", "placement": "gpu", "gpus": 1, "cpu": "4", "memory": "16Gi",
                         "exposure": "none", "replicas": 1, "maxReplicas": 2,
                         "autoscaling": {"metric": "gpu-utilization", "target": 60}}


@pytest.mark.parametrize("base,edit,kinds", [
    ("prod", _prod_llm, {"ScaledObject"}),
    ("dev", _dev_scale_to_zero, {"ScaledObject", "ClusterTriggerAuthentication"}),
], ids=["prod-vllm-prometheus", "dev-cloudwatch-scale-to-zero"])
def test_stacks_with_keda_pass_the_outside_validators(tmp_path, base, edit, kinds):
    """The shipped stack with autoscaled endpoints: `automation plan` (with the stack's policy config), then
    `python -m validators` on its output with the CRD, admission, scaler and Helm validators (checkov and
    parliament run on the shipped stacks in `make validate`; they add nothing KEDA-specific and minutes of CI)."""
    stack = _temp_stack(base, edit)
    try:
        plan = subprocess.run([sys.executable, "-m", "automation", "plan", "--stack", stack,
                               "--policy-config", str(ROOT / "policies" / "config" / f"{base}.json"),
                               "--manifests", str(tmp_path / "m"), "--json", str(tmp_path / "plan.json")],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
        # The validators read the stack file too (its kubernetesVersion).
        proc = subprocess.run([sys.executable, "-m", "validators", "--stack", stack, "--manifests",
                               str(tmp_path / "m"), "--plan", str(tmp_path / "plan.json"),
                               "--only", "crds,admission,scalers,helm", "--json", str(tmp_path / "v.json")],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        (ROOT / f"Pulumi.{stack}.yaml").unlink()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    emitted = {yaml.safe_load(p.read_text())["kind"] for p in (tmp_path / "m").glob("*.yaml")}
    assert kinds <= emitted
    (report,) = json.loads((tmp_path / "v.json").read_text())
    checked = {s["validator"]: s["checked"] for s in report["sections"]}
    scaled = sum(1 for p in (tmp_path / "m").glob("*.yaml") if "__scaledobject__" in p.name)
    assert checked["keda-scalers"] == scaled >= 1 and checked["crd-schema"] >= scaled + len(kinds) - 1
    assert "coverage" not in {f["validator"] for s in report["sections"] for f in s["findings"]}
