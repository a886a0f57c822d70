"""KEDA under mocks: the pinned chart (values checked against the vendored chart facts at that version), and
for CloudWatch triggers a read-only operator identity in both identity modes plus the trigger authentication."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.addons.keda import KEDA_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, Keda, KedaArgs, keda_values
from components.workloads import inference_scaling as scaling
from tests.addon_helpers import deps, release, run_addon, statements
from tests.helpers import of_type, policy_doc
from tests.validator_helpers import validate_objects
from validators import helm_values, upstream



def build(cloudwatch: bool, mode: str = "pod-identity"):
    return run_addon(lambda t, cfg: Keda("keda", KedaArgs(target=t, cloudwatch=cloudwatch)), mode=mode)


@pytest.fixture(scope="module")
def cw():
    return build(True)


def test_the_pin_is_the_version_the_facts_were_read_at():
    """Chart facts, CRDs and scaler facts are all vendored at the pinned release (upstream/MANIFEST.json)."""
    pin = versions.HELM_CHARTS["keda"]
    chart = upstream.charts()["keda"]
    assert (chart.name, chart.version, str(chart.meta["appVersion"])) == (pin.chart, pin.version, pin.app_version)
    refs = {f: e["ref"] for f, e in upstream.manifest().items()
            if f.startswith(("crds/keda/", "charts/keda/")) or f == upstream.SCALERS_FILE}
    assert len(refs) >= 8 and set(refs.values()) == {f"v{pin.version}"}


def _release(values: dict) -> dict:
    pin = versions.HELM_CHARTS["keda"]
    return {"type": "kubernetes:helm.sh/v3:Release", "urn": "urn:x::keda", "name": "keda",
            "inputs": {"chart": pin.chart, "version": pin.version, "values": values}}


def scalar_type_problems(values: dict, defaults: dict, prefix: str = "") -> list[str]:
    """Values whose scalar type differs from the chart's default (helm_values leaves scalar types to the templates;
    we hold our own values to the defaults' types)."""
    out = []
    for k, v in values.items():
        path, default = f"{prefix}{k}", defaults.get(k) if isinstance(defaults, dict) else None
        if isinstance(v, dict) and isinstance(default, dict):
            out += scalar_type_problems(v, default, f"{path}.")
        elif default is not None and not isinstance(v, (dict, list)) and type(v) is not type(default):
            out.append(f"{path}: the chart's default is {type(default).__name__}, we set {type(v).__name__}")
    return out


def test_every_value_we_set_is_a_key_the_chart_reads():
    ours = keda_values(operator_sa_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"})
    assert helm_values.check_release(_release(ours)) == []
    assert scalar_type_problems(ours, upstream.charts()["keda"].defaults) == []


def test_the_value_check_can_fail():
    (f,) = helm_values.check_release(_release({"operator": {"replicas": 2}}))
    assert f.path == "values.operator.replicas" and "is not a value of chart keda" in f.message
    assert scalar_type_problems({"operator": {"replicaCount": "2"}}, upstream.charts()["keda"].defaults) == [
        "operator.replicaCount: the chart's default is int, we set str"]


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
    report = validate_objects([obj])  # KEDA's CRD (schema, CEL) and its triggerauthentication webhook
    assert report.ok and {s.validator: s.checked for s in report.sections}["admission"] == 1, report.findings
    assert obj["metadata"]["name"] == scaling.AWS_TRIGGER_AUTH and "namespace" not in obj["metadata"]
    assert release(cw, "keda-release").urn in ta.dependencies


def test_prometheus_backend_needs_no_aws_identity():
    run = build(False)
    assert not [r for r in of_type(run, "aws:iam/role:Role") if r.name.startswith("keda-")]
    assert not [r for r in run.registrations if r.type.endswith(":ClusterTriggerAuthentication")]
    assert json.dumps(release(run, "keda-release").inputs["values"]["serviceAccount"]) == \
        '{"operator": {"annotations": {}}}'
