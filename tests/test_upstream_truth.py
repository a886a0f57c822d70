"""Kubernetes upstream truth: vendored CRDs and charts, and the checks built on them.

Every expectation about the outside world here is read from the vendored
upstream files (upstream/, provenance in upstream/MANIFEST.json), never
restated: the tests break objects and show each check failing, and compare
the project's pins and values with what upstream ships.
"""

from __future__ import annotations

import re

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import versions
from components.workloads import observability_values, training_specs
from tools import vendor_upstream as vu
from tools.vendor_upstream import sources_k8s
from tools.vendor_upstream.helm_templates import scan
from validators import admission, crds, helm_values, k8s_cel, structural, upstream

ROOT = Path(__file__).resolve().parents[1]
K8S = "1.35"


# --------------------------------------------------------------------------- the vendored files


def test_vendored_files_match_the_manifest():
    proc = subprocess.run([sys.executable, "-m", "tools.vendor_upstream", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_check_catches_an_edited_a_missing_and_an_unlisted_file(tmp_path, monkeypatch):
    copy_dir = tmp_path / "upstream"
    shutil.copytree(vu.UPSTREAM, copy_dir)
    monkeypatch.setattr(vu, "UPSTREAM", copy_dir)
    monkeypatch.setattr(vu, "MANIFEST", copy_dir / "MANIFEST.json")
    assert vu.check() == []
    edited = copy_dir / "crds/karpenter/karpenter.sh_nodepools.yaml"
    edited.write_text(edited.read_text().replace("WhenEmpty", "WhenIdle"))
    (copy_dir / "charts/karpenter/values.yaml").unlink()
    (copy_dir / "crds/extra.yaml").write_text("{}\n")
    problems = "\n".join(vu.check())
    assert "karpenter.sh_nodepools.yaml: edited by hand" in problems
    assert "charts/karpenter/values.yaml: listed in the manifest but missing" in problems
    assert "crds/extra.yaml: not in the manifest" in problems


def test_every_source_is_vendored_with_provenance():
    entries = vu.load_manifest()["files"]
    by_file = {e["file"]: e for e in entries}
    for src in vu.all_sources():
        e = by_file[src.dest]
        assert (e["repo"], e["ref"], e["path"], e["transform"]) == (src.repo, src.ref, src.path, src.transform)
        # A git source records the commit its tag names; a PyPI source the wheel it was read from.
        if src.repo.startswith("pypi:"):
            dist, version = src.repo[len("pypi:"):].split("==")
            assert e["commit"].endswith(".whl") and e["commit"].startswith(f"{dist}-{version}-")
        else:
            assert re.fullmatch(r"[0-9a-f]{40}", e["commit"])
        assert len(e["upstreamSha256"]) == 64 and e["fetched"]


def test_vendored_crds_keep_facts_not_prose():
    for path in (vu.UPSTREAM / "crds").rglob("*.yaml"):
        def walk(node, in_props=False):
            if isinstance(node, dict):
                for k, v in node.items():
                    assert in_props or k != "description", f"{path}: description kept"
                    walk(v, in_props=(k == "properties"))
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(upstream.load_yaml(path))


def test_every_kind_the_program_emits_is_served_by_a_vendored_crd():
    emitted = [
        *(m for m in (training_specs.torch_runtime("torch-distributed", "img:1"),
                      training_specs.resource_flavor(), training_specs.cluster_queue("8", "32Gi", 1),
                      training_specs.local_queue("team"),
                      observability_values.dcgm_service_monitor("monitoring", "dcgm-exporter"))),
    ]
    for obj in emitted:
        group, _, version = obj["apiVersion"].rpartition("/")
        assert upstream.crd_for(group, version, obj["kind"]), obj["kind"]
    for kind in ("NodePool", "EC2NodeClass", "TrainJob", "PyTorchJob", "ENIConfig", "ServiceMonitor",
                 "ScaledObject", "ScaledJob", "TriggerAuthentication", "JobSet"):
        assert any(k == kind for _, _, k in upstream.crd_index()), kind


# --------------------------------------------------------------------------- pins vs vendored Chart.yaml


def _chart_for_pin(pin):
    return upstream.charts().get(pin.chart)


@pytest.mark.parametrize("key", sorted(versions.HELM_CHARTS))
def test_every_chart_pin_is_the_vendored_version_and_app_version(key):
    pin = versions.HELM_CHARTS[key]
    if key in sources_k8s.NO_CHART:
        assert _chart_for_pin(pin) is None
        assert "no published helm chart" in pin.source.lower() or "no upstream helm chart" in pin.source.lower()
        return
    facts = _chart_for_pin(pin)
    assert facts is not None, f"{key}: no vendored chart facts (add a recipe to sources_k8s.RECIPES)"
    assert facts.version == pin.version, f"{key}: pinned {pin.version}, vendored {facts.version}"
    if facts.meta.get("appVersion"):
        assert str(facts.meta["appVersion"]) == pin.app_version, key
    else:
        # The chart declares no appVersion: its templates derive the image tag from the chart version.
        assert pin.app_version in (pin.version, f"v{pin.version}"), key
    assert pin.checked >= "2026-11-30"
    entry = upstream.manifest()[f"{facts.folder}/chart.yaml"]
    assert entry["ref"] in pin.source, f"{key}: source must name the vendored tag {entry['ref']}"


def test_subchart_versions_are_the_parents_dependencies():
    for parent, subs in sources_k8s.SUBCHARTS.items():
        facts = upstream.charts()[parent]
        deps = {d["name"]: str(d["version"]) for d in facts.meta["dependencies"]}
        for name, version in subs:
            assert deps[name] == version, f"{parent} depends on {name} {deps[name]}, vendored {version}"
            assert facts.subcharts[name].version == version


def test_values_schema_is_vendored_exactly_where_a_chart_ships_one():
    for path in (vu.UPSTREAM / "charts").rglob("templates.yaml"):
        ships = upstream.load_yaml(path)["shipsValuesSchema"]
        assert ships == (path.parent / "values.schema.json").exists(), path.parent


def test_keda_crds_scaler_facts_and_chart_are_vendored_at_the_same_release():
    keda = upstream.charts()["keda"]
    refs = {e["ref"] for f, e in upstream.manifest().items()
            if f.startswith("crds/keda/") or f == upstream.SCALERS_FILE}
    assert refs == {f"v{keda.version}"} and str(keda.meta["appVersion"]) == keda.version
    assert keda.version == versions.HELM_CHARTS["keda"].version


# --------------------------------------------------------------------------- CRDs as the API server checks them


def nodepool() -> dict:
    return copy.deepcopy(training_free_nodepool)


training_free_nodepool = {
    "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "cpu"},
    "spec": {"template": {"spec": {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
        "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]}}},
}


def test_defaults_are_applied_as_the_api_server_does():
    errors, result = crds.check_object(nodepool(), K8S)
    assert errors == []
    schema = upstream.crd_for("karpenter.sh", "v1", "NodePool").schema()
    disruption = schema["properties"]["spec"]["properties"]["disruption"]
    # The object sets no disruption: the CRD's default object is applied, then the defaults inside it.
    assert result.defaulted["spec"]["disruption"]["consolidateAfter"] == disruption["default"]["consolidateAfter"]
    assert result.defaulted["spec"]["disruption"]["budgets"] == disruption["properties"]["budgets"]["default"]
    assert "disruption" not in nodepool()["spec"]  # the input is not changed


def test_unknown_field_is_rejected_like_strict_field_validation():
    obj = nodepool()
    obj["spec"]["template"]["spec"]["nodeClasRef"] = obj["spec"]["template"]["spec"].pop("nodeClassRef")
    errors, _ = crds.check_object(obj, K8S)
    paths = {p for p, _ in errors}
    assert "spec.template.spec.nodeClasRef" in paths  # unknown field
    assert "spec.template.spec.nodeClassRef" in paths  # and the required one is missing


def test_cel_violation_is_reported_with_the_rules_message():
    obj = nodepool()
    obj["spec"]["template"]["spec"]["requirements"].append({"key": "node.kubernetes.io/instance-type",
                                                            "operator": "In", "values": []})
    errors, result = crds.check_object(obj, K8S)
    assert result.rules_evaluated > 0
    (path, message), = errors
    assert path == "spec.template.spec.requirements" and "must have a value defined" in message


def test_transition_rules_are_skipped_on_create_and_said_so():
    _, result = crds.check_object(nodepool(), K8S)
    assert any("oldSelf" in rule and "update only" in why for _, rule, why in result.skipped)


def test_preserve_unknown_fields_int_or_string_and_list_map_keys():
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string"}, "v": {"type": "integer", "default": 1}}}},
            "res": {"type": "object", "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True},
        }}}}
    ok = {"spec": {"free": {"anything": {"x": 1}}, "port": "http", "items": [{"name": "a"}],
                   "res": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}}
    result = structural.validate(ok, schema)
    assert result.errors == [] and result.defaulted["spec"]["items"] == [{"name": "a", "v": 1}]
    bad = {"spec": {"port": 1.5, "items": [{"name": "a"}, {"name": "a"}]}}
    assert sorted(p for p, _ in structural.validate(bad, schema).errors) == ["spec.items[1]", "spec.port"]


def test_kubernetes_cel_library_functions():
    assert k8s_cel.evaluate("self.find('[0-9]+') == '12'", "ab12c")
    assert k8s_cel.evaluate("self.split('/').size() == 2", "a/b")
    assert k8s_cel.evaluate("isURL(self) && url(self).getHost() == 'example.com'", "https://example.com/x")
    assert not k8s_cel.evaluate("isURL(self)", "not a url")
    assert k8s_cel.evaluate("quantity(self).isGreaterThan(quantity('1Gi'))", "2Gi")
    assert k8s_cel.evaluate("isQuantity(self)", "500m") and not k8s_cel.evaluate("isQuantity(self)", "five")
    assert k8s_cel.evaluate("isIP(self) && !isCIDR(self)", "10.0.0.1")
    assert k8s_cel.evaluate("cidr(self).containsIP('10.0.1.2')", "10.0.0.0/16")
    assert k8s_cel.evaluate("!format.dns1123Label().validate(self).hasValue()", "ok-name")
    assert k8s_cel.evaluate("format.dns1123Label().validate(self).hasValue()", "Not_OK")
    assert k8s_cel.evaluate("self.lowerAscii().replace('-', '') == 'ab'", "A-B")


# --------------------------------------------------------------------------- admission ports


def _runtime() -> dict:
    return training_specs.torch_runtime("torch-distributed", "img:1")


def _trainjob(**changes) -> dict:
    p = training_specs.TrainingPod(name="job", namespace="research", image="img:1", command=["torchrun", "x.py"],
                                   nodes=2, gpus_per_node=1, cpu="4", memory="16Gi", service_account="sa",
                                   queue="training")
    tj = training_specs.trainjob(p, "torch-distributed")
    for fn in changes.values():
        fn(tj)
    return tj


def _trainjob_errors(tj: dict, runtime: dict | None = None) -> list:
    runtime = runtime or _runtime()
    return list(admission.trainjob_errors(crds.check_object(tj, K8S)[1].defaulted,
                                          crds.check_object(runtime, K8S)[1].defaulted, True))


def test_trainer_admission_accepts_our_trainjob_and_runtime():
    assert _trainjob_errors(_trainjob()) == []
    assert list(admission.runtime_errors(_runtime())) == []


@pytest.mark.parametrize("manager,ok", [("mlplatform", False), ("mlplatform.io/platform", True),
                                        ("Example.io/x", False), ("acme.io/", False), ("acme.io/a b", False)])
def test_runtime_patch_manager_must_be_a_domain_prefixed_path(manager, ok):
    tj = _trainjob(m=lambda t: t["spec"]["runtimePatches"][0].update(manager=manager))
    errs = [e for e in _trainjob_errors(tj) if e[0] == "spec.runtimePatches[0].manager"]
    assert (errs == []) == ok, errs


def _patch_pod(tj: dict) -> dict:
    return tj["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0][
        "template"]["spec"]["template"]["spec"]


def test_trainer_admission_rejects_patches_the_runtime_cannot_take():
    tj = _trainjob(c=lambda t: _patch_pod(t)["containers"].append({"name": "sidecar"}))
    assert any("container that doesn't exist" in m for _, m in _trainjob_errors(tj))
    tj = _trainjob(e=lambda t: _patch_pod(t)["containers"][0].update(env=[{"name": "A", "value": "1"}]))
    assert any("must not have envs" in m for _, m in _trainjob_errors(tj))
    tj = _trainjob(r=lambda t: t["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"][
        "replicatedJobs"][0].update(name="launcher"))
    assert any("replicated job that doesn't exist" in m for _, m in _trainjob_errors(tj))
    tj = _trainjob(p=lambda t: t["spec"]["trainer"]["env"].append({"name": "PET_NNODES", "value": "3"}))
    assert ("spec.trainer.env", "Invalid value: must not have reserved envs, invalid envs configured: "
            "['PET_NNODES']") in _trainjob_errors(tj)
    assert list(admission.trainjob_errors(_trainjob(), None, False))[0][0] == "spec.runtimeRef"


def test_trainer_runtime_admission_requires_the_ancestor_container_and_one_replica():
    rt = _runtime()
    rt["spec"]["template"]["spec"]["replicatedJobs"][0]["replicas"] = 2
    rt["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0][
        "name"] = "trainer"
    msgs = [m for _, m in admission.runtime_errors(rt)]
    assert any("always must be 1" in m for m in msgs) and any("ancestor: trainer" in m for m in msgs)


def test_kueue_admission_rejects_what_the_clusterqueue_webhook_rejects():
    cq = training_specs.cluster_queue("8", "32Gi", 2)
    assert list(admission.clusterqueue_errors(cq)) == []
    bad = copy.deepcopy(cq)
    group = bad["spec"]["resourceGroups"][0]
    group["flavors"].append(copy.deepcopy(group["flavors"][0]))
    group["flavors"][0]["resources"][0]["borrowingLimit"] = "2"
    group["flavors"][0]["resources"][1]["lendingLimit"] = "64Gi"
    group["coveredResources"].append("bad key!")
    msgs = {p: m for p, m in admission.clusterqueue_errors(bad)}
    assert msgs["spec.resourceGroups[0].flavors[1].name"].startswith("Duplicate value")
    assert "cohort" in msgs["spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit"]
    assert "nominalQuota" in msgs["spec.resourceGroups[0].flavors[0].resources[1].lendingLimit"]
    assert "spec.resourceGroups[0].coveredResources[3]" in msgs


def test_kueue_job_webhook_and_local_queue_reference(tmp_path):
    from validators.manifests import load_manifests

    tj = _trainjob()
    tj["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = "Training_Q"
    assert list(admission.kueue_job_errors(tj))[0][0] == "metadata.labels[kueue.x-k8s.io/queue-name]"
    for i, obj in enumerate((_runtime(), _trainjob())):
        (tmp_path / f"{i}.yaml").write_text(f"# urn: urn:x::{i}\n" + yaml.safe_dump(obj))
    section = admission.check(load_manifests(tmp_path))
    (f,) = section.findings
    assert f.check == "kueue-local-queue-reference" and "no LocalQueue" in f.message
    (tmp_path / "2.yaml").write_text("# urn: urn:x::2\n" + yaml.safe_dump(training_specs.local_queue("research")))
    assert admission.check(load_manifests(tmp_path)).findings == []


# --------------------------------------------------------------------------- Helm values


def _release(chart: str, values: dict, version: str | None = None) -> dict:
    facts = upstream.charts()[chart]
    return {"type": "kubernetes:helm.sh/v3:Release", "urn": f"urn:x::{chart}", "name": chart,
            "inputs": {"chart": chart, "version": version or facts.version, "values": values}}


def test_misspelled_helm_keys_fail_and_pass_through_maps_take_any_key():
    assert helm_values.check_release(_release("karpenter", {"settings": {"clusterName": "c"},
                                                            "nodeSelector": {"any.key/x": "y"},
                                                            "podAnnotations": {"whatever": "1"}})) == []
    (f,) = helm_values.check_release(_release("karpenter", {"settings": {"clusterNam": "c"}}))
    assert f.path == "values.settings.clusterNam" and "did you mean clusterName" in f.message
    (f,) = helm_values.check_release(_release("cluster-autoscaler", {"nodeSelectr": {}}))
    assert f.path == "values.nodeSelectr"
    assert helm_values.check_release(_release("cluster-autoscaler", {"extraArgs": {"any-flag": "1"}})) == []


def test_subchart_values_are_checked_against_the_subchart():
    ok = {"grafana": {"sidecar": {"dashboards": {"enabled": True}}},
          "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]}}
    assert helm_values.check_release(_release("kube-prometheus-stack", ok)) == []
    (f,) = helm_values.check_release(_release("kube-prometheus-stack", {"grafana": {"sidecar": {"dashbords": {}}}}))
    assert f.path == "values.grafana.sidecar.dashbords"
    (f,) = helm_values.check_release(_release("kubeflow-trainer", {"jobset": {"controler": {}}}))
    assert f.path == "values.jobset.controler"


def test_a_subcharts_values_schema_is_applied_as_helm_does():
    # The GPU Operator bundles node-feature-discovery, which ships a values.schema.json.
    values = {"node-feature-discovery": {"master": {"nodeSelector": {"a.io/b": "c"}}}}
    assert helm_values.check_release(_release("gpu-operator", values)) == []
    values["node-feature-discovery"]["master"]["replicaCount"] = "two"
    (f,) = helm_values.check_release(_release("gpu-operator", values))
    assert f.path == "values.node-feature-discovery.master.replicaCount" and "values.schema.json" in f.message


def test_shape_and_version_mismatches_and_unvendored_charts():
    (f,) = helm_values.check_release(_release("metrics-server", {"nodeSelector": "system"}))
    assert "default is a map" in f.message
    (f,) = helm_values.check_release(_release("metrics-server", {}, version="9.9.9"))
    assert f.path == "version"
    (f,) = helm_values.check_release({"type": "kubernetes:helm.sh/v3:Release", "inputs": {"chart": "nope",
                                                                                        "values": {}}})
    assert f.validator == "coverage"


@pytest.mark.parametrize("key", sorted(k for k in versions.HELM_CHARTS if k not in sources_k8s.NO_CHART))
def test_values_the_program_builds_are_values_of_the_pinned_charts(key):
    """Every values function of the program against its chart (`make validate` checks each plan's releases too)."""
    from components.addons import values as addon_values
    from components.addons.keda import keda_values

    pin = versions.HELM_CHARTS[key]
    built = {
        "kube-prometheus-stack": lambda: observability_values.kube_prometheus_stack_values(
            retention="15d", storage_gib=50, storage_class="gp3", grafana_secret="s"),
        "dcgm-exporter": observability_values.dcgm_exporter_values,
        "kubeflow-trainer": training_specs.trainer_values,
        "kueue": training_specs.kueue_values,
        "aws-fsx-csi-driver": lambda: addon_values.fsx_chart_values(region="us-west-2", sa_annotations={}),
        "aws-efa-k8s-device-plugin": addon_values.efa_device_plugin_values,
        "gpu-operator": addon_values.gpu_operator_values,
        "nvidia-device-plugin": lambda: addon_values.device_plugin_values(["gpu-a10g"]),
        "metrics-server": addon_values.metrics_server_values,
        "cluster-autoscaler": lambda: addon_values.cluster_autoscaler_values(
            cluster_name="c", region="us-west-2", image_tag="v1.35.1", sa_annotations={}),
        "karpenter": lambda: addon_values.karpenter_values(
            cluster_name="c", cluster_endpoint="https://x", region="us-west-2", queue_name="q", sa_annotations={}),
        "aws-load-balancer-controller": lambda: addon_values.lb_controller_values(
            cluster_name="c", region="us-west-2", vpc_id="vpc-1", sa_annotations={}, default_tags={"a": "b"}),
        "keda": lambda: keda_values(operator_sa_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/k"}),
    }.get(key)
    if built is None:  # a chart pinned by another layer: its release is checked on every plan by `make validate`
        pytest.skip(f"{key}: no values function listed here")
    assert helm_values.check_release(_release(pin.chart, built())) == []


# --------------------------------------------------------------------------- template scanner


def test_template_scanner_finds_reads_and_pass_through_values():
    files = {"templates/d.yaml": """
{{- $root := . }}
spec:
  replicas: {{ .Values.replicas }}
  {{- with .Values.nodeSelector }}
  nodeSelector: {{- toYaml . | nindent 4 }}
  {{- end }}
  args:
  {{- range $k, $v := .Values.extraArgs }}
  - --{{ $k }}={{ $v }}
  {{- end }}
  image: {{ index .Values "image-cfg" "tag" }}
  {{- if $root.Values.controller.enabled }}{{ end }}
  labels: {{ include "x.labels" . }}
""", "templates/_h.tpl": '{{- define "x.labels" -}}app: {{ .Values.app.name }}{{- end }}'}
    facts = scan(files)
    assert {("replicas",), ("nodeSelector",), ("extraArgs",), ("image-cfg", "tag"), ("controller", "enabled"),
            ("app", "name")} <= facts.reads
    assert ("nodeSelector",) in facts.whole and ("extraArgs",) in facts.whole
    assert ("replicas",) not in facts.whole and ("controller", "enabled") not in facts.whole
    assert () not in facts.whole


def test_make_validate_covers_every_stack_file():
    proc = subprocess.run(["make", "-n", "validate"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = next(l for l in proc.stdout.splitlines() if "-m validators " in l)
    for f in ROOT.glob("Pulumi.*.yaml"):
        assert f"--stack {f.name[len('Pulumi.'):-len('.yaml')]}" in line


def test_validate_cli_fails_on_each_broken_object(tmp_path):
    """`python -m validators` (what `make validate` runs) exits 1 and names every broken object."""
    import io

    from validators.__main__ import main

    mdir = tmp_path / "manifests"
    mdir.mkdir()
    unknown = nodepool()
    unknown["spec"]["limitz"] = {}
    cel = nodepool()
    cel["metadata"]["name"] = "gpu"
    cel["spec"]["template"]["spec"]["requirements"].append({"key": "k.io/x", "operator": "In", "values": []})
    job = _trainjob(m=lambda t: t["spec"]["runtimePatches"][0].update(manager="mlplatform"))
    for i, obj in enumerate((unknown, cel, _runtime(), job, training_specs.local_queue("research"))):
        (mdir / f"{i}.yaml").write_text(f"# urn: urn:pulumi:t::p::x::{i}\n" + yaml.safe_dump(obj))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resources": [_release("karpenter", {"settings": {"clusterNam": "c"}})]}))
    out = io.StringIO()
    code = main(["--stack", "t", "--manifests", str(mdir), "--plan", str(plan), "--kubernetes-version", K8S,
                 "--only", "crds,admission,helm"], out=out)
    text = out.getvalue()
    assert code == 1, text
    for expected in ('unknown field "spec.limitz"', "must have a value defined",
                     'Invalid value: "mlplatform": must be a domain-prefixed path', "settings.clusterNam"):
        assert expected in text
