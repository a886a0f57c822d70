"""Observability: CloudWatch add-on with its identity, kube-prometheus-stack on gp3 with a secret Grafana password,
DCGM exporter with its own ServiceMonitor and GPU dashboard."""

from __future__ import annotations

import json

import pytest

from automation.offline.monitor import mask_secrets, secret_paths
from components import versions
from components.cluster import Cluster, ClusterArgs
from components.conventions import ACCELERATOR_LABEL, GPU_TAINT_KEY
from components.workloads import observability_values as values
from components.workloads.observability import Observability, ObservabilityArgs
from tests.helpers import aws_managed_arn, of_type, policy_doc, run_component
from tests.workload_helpers import TAGS, by_suffix, depends_on, one

PASSWORD = "correct-horse-battery-staple"


def build(mode="pod-identity", **kw):
    def body(env):
        cluster = Cluster("cl", ClusterArgs(
            cluster_name="ml-test", kubernetes_version="1.35", vpc_id="vpc-123", private_subnet_ids=["subnet-a"],
            endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[], read_only_role_arns=[],
            log_retention_days=90, deletion_protection=True, identity_mode=mode, env=env, tags=TAGS))
        Observability("observability", ObservabilityArgs(cluster=cluster, kubernetes_version="1.35", **kw))
    return run_component(body)


@pytest.fixture(scope="module")
def full():
    return build(prometheus=True, dcgm_exporter=True, storage_class="gp3", prometheus_retention="30d",
                 prometheus_storage_gib=200, grafana_admin_password=PASSWORD)


def addon(run):
    return [a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "amazon-cloudwatch-observability"]


def test_cloudwatch_addon_is_pinned_with_its_own_identity(full):
    (cw,) = addon(full)
    assert cw.inputs["addonVersion"] == versions.addon_version("amazon-cloudwatch-observability", "1.35")
    attached = {a.inputs["policyArn"] for a in of_type(full, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("observability-cloudwatch")}
    assert attached == {aws_managed_arn("CloudWatchAgentServerPolicy"), aws_managed_arn("AWSXrayWriteOnlyAccess")}
    (assoc,) = [a for a in of_type(full, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.inputs["namespace"] == "amazon-cloudwatch"]
    assert assoc.inputs["serviceAccount"] == "cloudwatch-agent"
    assert "serviceAccountRoleArn" not in cw.inputs


def test_cloudwatch_addon_uses_irsa_role_in_irsa_mode():
    run = build(mode="irsa")
    (cw,) = addon(run)
    role = next(r for r in of_type(run, "aws:iam/role:Role") if r.name == "observability-cloudwatch-role")
    assert cw.inputs["serviceAccountRoleArn"] == role.outputs["arn"]
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert any(v == "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent" for v in cond.values())


def test_prometheus_stack_on_gp3_with_retention_on_the_system_pool(full):
    rel = one(full, ":Release", "observability-kube-prometheus-stack")
    pin = versions.HELM_CHARTS["kube-prometheus-stack"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == (pin.chart, pin.version)
    assert rel.inputs["repositoryOpts"]["repo"] == pin.repository and rel.inputs["namespace"] == "monitoring"
    v = rel.inputs["values"]
    ps = v["prometheus"]["prometheusSpec"]
    assert ps["retention"] == "30d" and ps["nodeSelector"] == {"mlplatform.io/role": "system"}
    claim = ps["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == "200Gi"
    am = v["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"]
    assert am["storageClassName"] == "gp3"
    assert v["grafana"]["persistence"]["storageClassName"] == "gp3"
    assert v["grafana"]["nodeSelector"] == {"mlplatform.io/role": "system"}


def test_grafana_password_is_a_secret_and_never_in_values(full):
    secret = one(full, "core/v1:Secret")
    assert secret.inputs["metadata"] == {"name": "grafana-admin", "namespace": "monitoring"}
    # The recorded inputs carry the password only inside a secret-marked value (here the whole stringData).
    assert set(secret_paths(secret.wire_inputs)) & {"stringData", "stringData.admin-password"}
    assert PASSWORD in json.dumps(secret.inputs) and PASSWORD not in json.dumps(mask_secrets(secret.wire_inputs))
    rel = one(full, ":Release", "observability-kube-prometheus-stack")
    assert rel.inputs["values"]["grafana"]["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                                        "passwordKey": "admin-password"}
    assert PASSWORD not in json.dumps(rel.inputs)
    assert depends_on(full, rel, secret)


def test_without_a_password_grafana_generates_one_in_cluster():
    run = build(prometheus=True, storage_class="gp3")
    assert not by_suffix(run, "core/v1:Secret")
    grafana = one(run, ":Release", "observability-kube-prometheus-stack").inputs["values"]["grafana"]
    # kube-prometheus-stack's own default is a well-known string; "" makes the Grafana chart generate one.
    assert grafana["adminPassword"] == "" and "admin" not in grafana


def test_dcgm_exporter_on_gpu_nodes_with_servicemonitor_and_dashboard(full):
    dcgm = one(full, ":Release", "observability-dcgm-exporter")
    prom = one(full, ":Release", "observability-kube-prometheus-stack")
    assert dcgm.inputs["version"] == versions.HELM_CHARTS["dcgm-exporter"].version
    v = dcgm.inputs["values"]
    assert v["nodeSelector"] == {ACCELERATOR_LABEL: "nvidia"}
    assert v["tolerations"] == [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    assert v["serviceMonitor"] == {"enabled": False}
    # Add-ons do not chain: the exporter installs without waiting for Prometheus...
    assert not depends_on(full, dcgm, prom)
    # ...only the ServiceMonitor (a Prometheus Operator CRD object) waits for it.
    sm = one(full, ":ServiceMonitor")
    assert depends_on(full, sm, prom)
    assert sm.inputs["metadata"]["namespace"] == "monitoring"
    assert sm.inputs["spec"]["endpoints"][0]["port"] == "metrics"
    cm = one(full, "core/v1:ConfigMap")
    assert cm.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm.inputs["data"]["gpu-dashboard.json"])
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP"):
        assert metric in exprs
    assert all("by (node, gpu)" in t["expr"] for p in dash["panels"] for t in p["targets"])


def test_switches():
    run = build(cloudwatch=False)
    assert not addon(run) and not by_suffix(run, ":Release")
    with pytest.raises(Exception, match="need prometheus"):
        build(dcgm_exporter=True)


def test_values_without_storage_class_keep_data_off_persistent_volumes():
    v = values.kube_prometheus_stack_values(retention="15d", storage_gib=50, storage_class=None, grafana_secret=None)
    assert "storageSpec" not in v["prometheus"]["prometheusSpec"] and "persistence" not in v["grafana"]


def _tolerates(tolerations, taint) -> bool:
    """Kubernetes' toleration matching (core/v1 Toleration.ToleratesTaint)."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") != taint["key"]:
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


#: Taints nodes may carry: ours, and ones other teams or controllers add.
TAINTS = [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"},
          {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"},
          {"key": "team.example.com/dedicated", "value": "x", "effect": "NoSchedule"},
          {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
          {"key": "example.com/maintenance", "effect": "NoExecute"},
          {"key": "example.com/soft", "effect": "PreferNoSchedule"}]


@pytest.mark.parametrize("storage_class", [None, "gp3"])
def test_node_exporter_tolerates_at_least_what_the_charts_default_tolerates(storage_class):
    """Issue 14 finding 6: a ``tolerations`` value replaces the chart's list, it does not add to it."""
    from validators import upstream

    kps = upstream.charts()["kube-prometheus-stack"]
    default = kps.subcharts["prometheus-node-exporter"].defaults["tolerations"]
    ours = values.kube_prometheus_stack_values(retention="15d", storage_gib=50, storage_class=storage_class,
                                               grafana_secret=None)["prometheus-node-exporter"].get("tolerations",
                                                                                                     default)
    for taint in TAINTS:
        if _tolerates(default, taint):
            assert _tolerates(ours, taint), taint
    assert all(_tolerates(ours, t) for t in TAINTS)  # every node is monitored, whatever its taints
