"""cluster-autoscaler under mocks: pinned chart, minor-matched image, identity, scoped policy, system pool."""

from __future__ import annotations

import pytest

from components import versions
from components.addons.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from tests.addon_helpers import CLUSTER, attached_policy, deps, release, run_addon, statements


def build(minor="1.35", mode="pod-identity"):
    return run_addon(lambda t, cfg: ClusterAutoscaler("ca", ClusterAutoscalerArgs(target=t)),
                     kubernetes_version=minor, mode=mode)


@pytest.mark.parametrize("minor", ["1.34", "1.35", "1.36"])
def test_image_tag_matches_the_cluster_minor(minor):
    v = release(build(minor), "ca-release").inputs["values"]
    assert v["image"]["tag"] == versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor]
    assert v["image"]["tag"].startswith(f"v{minor}.")


def test_discovers_this_clusters_groups_on_the_system_pool():
    run = build()
    rel = release(run, "ca-release")
    pin = versions.HELM_CHARTS["cluster-autoscaler"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == (pin.chart, pin.version)
    v = rel.inputs["values"]
    assert v["autoDiscovery"] == {"clusterName": CLUSTER, "tags": [
        "k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{CLUSTER}"]}
    assert v["nodeSelector"] == {"mlplatform.io/role": "system"} and v["awsRegion"] == "us-west-2"
    assert {"ca-identity-association", "ng-system"} <= deps(run, rel)


def test_policy_scales_only_groups_tagged_for_this_cluster():
    doc = statements(attached_policy(build(), "ca-identity"))
    cond = doc["ScaleOwnGroups"]["Condition"]["StringEquals"]
    assert cond[f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"
    assert "autoscaling:SetDesiredCapacity" in doc["ScaleOwnGroups"]["Action"]


def test_irsa_mode_annotates_the_charts_service_account():
    run = build(mode="irsa")
    role = run.one("aws:iam/role:Role", "ca-identity-role")
    sa = release(run, "ca-release").inputs["values"]["rbac"]["serviceAccount"]
    assert sa == {"create": True, "name": "cluster-autoscaler",
                  "annotations": {"eks.amazonaws.com/role-arn": role.outputs["arn"]}}
