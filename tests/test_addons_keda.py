"""KEDA under mocks: the pinned chart (values checked against the chart's own values.yaml at that version), and
for CloudWatch triggers a read-only operator identity in both identity modes plus the trigger authentication."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.addons.keda import KEDA_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, Keda, KedaArgs, keda_values
from components.workloads import inference_scaling as scaling
from tests import keda_helpers as keda
from tests.addon_helpers import deps, release, run_addon, statements
from tests.helpers import of_type, policy_doc



def build(cloudwatch: bool, mode: str = "pod-identity"):
    return run_addon(lambda t, cfg: Keda("keda", KedaArgs(target=t, cloudwatch=cloudwatch)), mode=mode)


@pytest.fixture(scope="module")
def cw():
    return build(True)


def test_the_pin_is_the_version_the_facts_were_read_at():
    pin = versions.HELM_CHARTS["keda"]
    prov = keda.fact("PROVENANCE")
    assert (prov["chart"]["name"], prov["chart"]["version"], prov["chart"]["appVersion"]) == (
        pin.chart, pin.version, pin.app_version)
    assert {f["tag"] for f in prov["files"]} == {f"v{pin.version}"}


def chart_value_problems(values: dict, chart: dict, prefix: str = "") -> list[str]:
    """Keys the chart does not have, or whose default has another type. Maps the chart leaves empty
    (PodDisruptionBudget specs, annotations) are passed through by its templates and not looked into."""
    problems = []
    for k, v in values.items():
        path = f"{prefix}.{k}" if prefix else k
        if path not in chart:
            problems.append(f"{path}: not a value of the chart")
            continue
        got = {dict: "object", bool: "boolean", int: "integer", str: "string", list: "array"}[type(v)]
        if chart[path] not in (got, "null"):
            problems.append(f"{path}: the chart's default is {chart[path]}, we set {got}")
        if isinstance(v, dict) and any(c.startswith(path + ".") for c in chart):
            problems += chart_value_problems(v, chart, path)
    return problems


def test_every_value_we_set_is_a_key_the_chart_reads():
    ours = keda_values(operator_sa_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"})
    assert chart_value_problems(ours, keda.fact("values")) == []


def test_the_value_check_can_fail():
    chart = keda.fact("values")
    assert chart_value_problems({"operator": {"replicas": 2, "replicaCount": "2"}}, chart) == [
        "operator.replicas: not a value of the chart", "operator.replicaCount: the chart's default is integer, we set "
        "string"]


def test_release_is_pinned_on_the_system_pool_in_its_own_namespace(cw):
    rel = release(cw, "keda-release")
    pin = versions.HELM_CHARTS["keda"]
    assert (rel.inputs["chart"], rel.inputs["version"], rel.inputs["repositoryOpts"]["repo"]) == (
        pin.chart, pin.version, pin.repository)
    assert rel.inputs["namespace"] == KEDA_NAMESPACE and rel.inputs["createNamespace"] is True
    v = rel.inputs["values"]
    for part in ("operator", "metricsServer", "webhooks"):
        assert v[part]["nodeSelector"] == {"mlplatform.io/role": "system"} and v[part]["replicaCount"] >= 2


def test_cloudwatch_identity_only_reads_metrics(cw):
    (pol,) = [p for p in of_type(cw, "aws:iam/policy:Policy") if p.name.startswith("keda-")]
    doc = statements(pol.inputs["policy"])
    assert list(doc) == ["ReadMetricsForScaling"]
    assert doc["ReadMetricsForScaling"]["Action"] in ("cloudwatch:GetMetricData", ["cloudwatch:GetMetricData"])
    (assoc,) = of_type(cw, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == (KEDA_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
    # Pod Identity: no annotation on the chart's service account; the release waits for the association.
    rel = release(cw, "keda-release")
    assert rel.inputs["values"]["serviceAccount"]["operator"]["annotations"] == {}
    assert {"keda-identity-association", "keda-identity-policy-attachment"} <= deps(cw, rel)


def test_irsa_mode_annotates_the_operator_account_and_trusts_only_it():
    run = build(True, mode="irsa")
    assert not of_type(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    (role,) = [r for r in of_type(run, "aws:iam/role:Role") if r.name.startswith("keda-")]
    ann = release(run, "keda-release").inputs["values"]["serviceAccount"]["operator"]["annotations"]
    assert ann == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    issuer = [k for k in cond if k.endswith(":sub")][0]
    assert cond[issuer] == f"system:serviceaccount:{KEDA_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"


def test_trigger_authentication_matches_kedas_crd_and_what_triggers_reference(cw):
    (ta,) = [r for r in cw.registrations if r.type.endswith(":ClusterTriggerAuthentication")]
    obj = {k: ta.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    assert keda.crd_problems(obj, "clustertriggerauthentications") == []
    assert obj["metadata"]["name"] == scaling.AWS_TRIGGER_AUTH and "namespace" not in obj["metadata"]
    assert release(cw, "keda-release").urn in ta.dependencies


def test_prometheus_backend_needs_no_aws_identity():
    run = build(False)
    assert not [r for r in of_type(run, "aws:iam/role:Role") if r.name.startswith("keda-")]
    assert not [r for r in run.registrations if r.type.endswith(":ClusterTriggerAuthentication")]
    assert json.dumps(release(run, "keda-release").inputs["values"]["serviceAccount"]) == \
        '{"operator": {"annotations": {}}}'
