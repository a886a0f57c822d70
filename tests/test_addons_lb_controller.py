"""AWS Load Balancer Controller under mocks: pinned chart, identity, placement, IngressClass, policy scope."""

from __future__ import annotations

import pytest

from components import versions
from components.addons.lb_controller import LoadBalancerController, LoadBalancerControllerArgs
from tests.addon_helpers import CLUSTER, TAGS, VPC, actions, attached_policy, deps, release, run_addon, statements
from tests.helpers import of_type, policy_doc


def build(mode="pod-identity", region="us-west-2"):
    return run_addon(lambda t, cfg: LoadBalancerController("lbc", LoadBalancerControllerArgs(
        target=t, vpc_id=VPC, default_tags=TAGS)), mode=mode, region=region)


@pytest.fixture(scope="module")
def run():
    return build()


def test_pinned_chart_in_kube_system_waiting_and_atomic(run):
    rel = release(run, "lbc-release")
    pin = versions.HELM_CHARTS["aws-load-balancer-controller"]
    i = rel.inputs
    assert (i["chart"], i["version"], i["repositoryOpts"]) == (pin.chart, pin.version, {"repo": pin.repository})
    assert i["namespace"] == "kube-system" and i["name"] == "aws-load-balancer-controller"
    assert i["atomic"] is True and i["cleanupOnFail"] is True and i["skipAwait"] is False
    assert rel.provider.endswith("cl-k8s")


def test_runs_on_system_pool_with_explicit_region_vpc_and_cluster(run):
    v = release(run, "lbc-release").inputs["values"]
    assert v["nodeSelector"] == {"mlplatform.io/role": "system"}
    assert (v["clusterName"], v["region"], v["vpcId"]) == (CLUSTER, "us-west-2", VPC)
    assert v["defaultTags"] == TAGS


def test_internal_by_default_no_scheme_forced(run):
    v = release(run, "lbc-release").inputs["values"]
    assert v["ingressClassParams"] == {"create": False}
    assert not [r for r in run.registrations if r.type.endswith(":IngressClassParams")]
    (ic,) = of_type(run, "kubernetes:networking.k8s.io/v1:IngressClass")
    assert ic.inputs["metadata"]["name"] == "alb" and ic.inputs["spec"] == {"controller": "ingress.k8s.aws/alb"}
    assert ic.inputs["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "false"


def test_identity_is_pod_identity_bound_to_the_charts_service_account(run):
    rel = release(run, "lbc-release")
    assoc = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "lbc-identity-association")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("kube-system", "aws-load-balancer-controller")
    assert rel.inputs["values"]["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller",
                                                       "annotations": {}}
    assert {"lbc-identity-association", "lbc-identity-policy-attachment", "ng-system"} <= deps(run, rel)
    assert not of_type(run, "kubernetes:core/v1:ServiceAccount")


def test_irsa_mode_annotates_the_chart_service_account():
    run = build("irsa")
    rel = release(run, "lbc-release")
    role = run.one("aws:iam/role:Role", "lbc-identity-role")
    assert rel.inputs["values"]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(v for k, v in cond.items()) == ["sts.amazonaws.com",
                                                   "system:serviceaccount:kube-system:aws-load-balancer-controller"]


def test_policy_is_built_in_code_and_scoped_to_this_cluster(run):
    doc = statements(attached_policy(run, "lbc-identity"))
    assert doc["ModifyOwnLoadBalancers"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": CLUSTER}}
    assert "elasticloadbalancing:DeleteLoadBalancer" in actions(doc["ModifyOwnLoadBalancers"])
    assert doc["TagListenersAndRules"]["Resource"][0].startswith("arn:aws:elasticloadbalancing:us-west-2:123456789012:")


def test_partition_follows_the_region():
    run = build(region="cn-north-1")
    doc = statements(attached_policy(run, "lbc-identity"))
    assert doc["RegisterTargets"]["Resource"].startswith("arn:aws-cn:elasticloadbalancing:cn-north-1:")
