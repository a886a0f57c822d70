"""Existing workloads: manifests forced into the team namespace and visible to the policy pack, kustomize
directories checked and expanded offline, Helm charts reported as not expandable; the shipped examples comply and
the same rules fire on a non-compliant import."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from automation.offline.runner import PROJECT_DIR, run_program
from components.config import ConfigError, ExistingWorkloadConfig, load_config
from components.workloads import sources
from components.workloads.imports import ExistingWorkloads, ExistingWorkloadsArgs
from tests.helpers import run_component
from tests.workload_helpers import names, one, provider, verdicts

NODES = {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2}}

PRIVILEGED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: old-app, namespace: default}
spec:
  selector: {matchLabels: {app: old-app}}
  template:
    metadata: {labels: {app: old-app}}
    spec:
      hostNetwork: true
      containers:
        - name: app
          image: nginx:latest
          securityContext: {privileged: true}
"""


def write(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)
    return tmp


def build(source: str, path: str, **extra):
    cfg = ExistingWorkloadConfig(team="research", source=source, path=path, **extra)
    return run_component(lambda env: ExistingWorkloads("import-x", ExistingWorkloadsArgs(
        workload="x", config=cfg, namespace="research", provider=provider(), base_dir=PROJECT_DIR)))


# --------------------------------------------------------------------------- pure source handling


def test_manifests_are_forced_into_the_team_namespace(tmp_path):
    write(tmp_path, {"a.yaml": PRIVILEGED, "nested/b.yml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                     "kustomization.yaml": "resources: []\n", "notes.txt": "ignored"})
    objs = sources.load_manifests(tmp_path, "research")
    assert [(o["kind"], o["metadata"]["namespace"]) for o in objs] == [("Deployment", "research"),
                                                                        ("ConfigMap", "research")]


def test_cluster_scoped_objects_are_refused(tmp_path):
    write(tmp_path, {"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n"})
    with pytest.raises(sources.SourceError, match="Namespace 'other' is cluster-scoped"):
        sources.load_manifests(tmp_path, "research")


def test_bad_yaml_and_empty_directories_are_refused(tmp_path):
    write(tmp_path, {"bad.yaml": "kind: [unclosed\n"})
    with pytest.raises(sources.SourceError, match="not valid YAML"):
        sources.load_manifests(tmp_path, "research")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sources.SourceError, match="no .yaml"):
        sources.load_manifests(empty, "research")


def test_kustomization_may_not_escape_the_team_namespace(tmp_path):
    write(tmp_path, {"pinned/kustomization.yaml": "namespace: prod\nresources: []\n",
                     "foreign/kustomization.yaml": "resources: [cm.yaml]\n",
                     "foreign/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kube-system}\n",
                     "remote/kustomization.yaml": "resources: ['github.com/org/repo//deploy?ref=v1']\n",
                     "crd/kustomization.yaml": "resources: [crd.yaml]\n",
                     "crd/crd.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
                     "ok/kustomization.yaml": "namespace: research\nresources: [../foreign/cm.yaml]\n"})
    for bad, why in (("pinned", "sets namespace 'prod'"), ("foreign", "names namespace 'kube-system'"),
                     ("remote", "remote resource"), ("crd", "cluster-scoped")):
        with pytest.raises(sources.SourceError, match=why):
            sources.check_kustomization(tmp_path / bad, "research")
    # Pinning the team's own namespace is fine: kustomize rewrites every object into it.
    assert sources.check_kustomization(tmp_path / "ok", "research")["namespace"] == "research"


def test_config_validation_names_the_key_before_anything_is_registered(tmp_path):
    write(tmp_path, {"imp/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"})
    with pytest.raises(ConfigError) as err:
        load_config({"nodeGroups": NODES, "teams": {"research": {}},
                     "existingWorkloads": {"old": {"team": "research", "source": "manifests", "path": "imp"}}},
                    stack="test", project_dir=str(tmp_path))
    assert err.value.key == "existingWorkloads.old.path" and "cluster-scoped" in err.value.reason


# --------------------------------------------------------------------------- components under mocks


def test_manifests_go_through_a_config_group_whose_objects_the_plan_expands():
    run = build("manifests", "examples/legacy-serving")
    group = one(run, "yaml/v2:ConfigGroup")
    assert {o["metadata"]["namespace"] for o in group.inputs["objs"]} == {"research"}
    expanded = [r for r in run.registrations if r.origin == "expanded"]
    assert sorted(r.type for r in expanded) == ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
                                                "kubernetes:policy/v1:PodDisruptionBudget"]
    assert all(r.parent == group.urn and r.inputs["metadata"]["namespace"] == "research" for r in expanded)


def test_kustomize_directory_gets_the_team_namespace_and_is_expanded_offline():
    run = build("kustomize", "examples/legacy-batch")
    directory = one(run, "kustomize/v2:Directory")
    assert directory.inputs == {"directory": "examples/legacy-batch", "namespace": "research"}
    expanded = {r.type: r for r in run.registrations if r.origin == "expanded"}
    cron = expanded["kubernetes:batch/v1:CronJob"]
    assert cron.inputs["metadata"]["namespace"] == "research"
    assert cron.inputs["metadata"]["labels"]["app.kubernetes.io/part-of"] == "legacy-batch"
    assert not run.not_expanded


def test_helm_chart_is_applied_but_reported_as_not_expandable_offline():
    run = build("helm", "", chart="podinfo", repository="https://stefanprodan.github.io/podinfo", version="6.7.1",
                values={"replicaCount": 2})
    chart = one(run, "helm.sh/v4:Chart")
    assert chart.inputs["chart"] == "podinfo" and chart.inputs["version"] == "6.7.1"
    assert chart.inputs["namespace"] == "research" and chart.inputs["values"] == {"replicaCount": 2}
    assert chart.inputs["repositoryOpts"] == {"repo": "https://stefanprodan.github.io/podinfo"}
    ((urn, why),) = run.not_expanded
    assert urn == chart.urn and "helm template" in why


def test_oci_chart_reference_is_built_from_the_repository():
    run = build("helm", "", chart="podinfo", repository="oci://ghcr.io/stefanprodan/charts", version="6.7.1")
    chart = one(run, "helm.sh/v4:Chart")
    assert chart.inputs["chart"] == "oci://ghcr.io/stefanprodan/charts/podinfo" and "repositoryOpts" not in chart.inputs


@pytest.mark.parametrize("source,path", [("manifests", "examples/legacy-serving"), ("kustomize", "examples/legacy-batch")])
def test_shipped_examples_comply_with_the_policy_pack(source, path):
    diags = verdicts(build(source, path))
    assert diags == [], [(d.policy, d.urn, d.message) for d in diags]


def test_examples_are_plain_kubernetes_yaml():
    for f in sorted((PROJECT_DIR / "examples").rglob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        assert docs and all(isinstance(d, dict) and d.get("apiVersion") for d in docs), f


# --------------------------------------------------------------------------- the offline plan on a bad import


def test_offline_plan_guards_a_non_compliant_import(tmp_path):
    write(tmp_path, {"old-app.yaml": PRIVILEGED})
    run = run_program("dev", overrides={"existingWorkloads": {
        "old-app": {"team": "research", "source": "manifests", "path": str(tmp_path)}}})
    expanded = [r for r in run.registrations if r.origin == "expanded" and r.name == "research/old-app"]
    assert expanded and expanded[0].inputs["metadata"]["namespace"] == "research"  # not "default"
    diags = [d for d in verdicts(run) if d.urn == expanded[0].urn]
    assert {"no-privileged-containers", "no-host-namespaces", "approved-registries-and-pinned-tags",
            "resource-requests-and-limits", "serving-workloads-have-probes", "run-as-non-root",
            "no-service-account-token-automount"} <= names(diags)
    assert all(d.level == "mandatory" for d in diags if d.policy == "no-privileged-containers")
