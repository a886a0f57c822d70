"""Workload identity: the exact trust documents for Pod Identity and IRSA."""

from __future__ import annotations

import pytest

from components.identity import ClusterIdentity, WorkloadIdentity, WorkloadIdentityArgs
from tests.helpers import of_type, policy_doc, run_component

ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


def build(mode, create_sa=True, region="us-west-2"):
    def body(env):
        cluster = ClusterIdentity(cluster_name="ml-test", oidc_provider_arn=OIDC_ARN, oidc_issuer=ISSUER, mode=mode,
                                  env=env)
        WorkloadIdentity("wi", WorkloadIdentityArgs(
            cluster=cluster, namespace="team-a", service_account="trainer",
            policy_json='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}',
            create_service_account=create_sa))
    return run_component(body, region=region)


def test_pod_identity_trust_document_exactly():
    run = build("pod-identity")
    role = run.one("aws:iam/role:Role", "wi-role")
    assert policy_doc(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EksPodIdentity",
            "Effect": "Allow",
            "Action": ["sts:TagSession", "sts:AssumeRole"],
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnEquals": {"aws:SourceArn": "arn:aws:eks:us-west-2:123456789012:cluster/ml-test"},
            },
        }],
    }
    (assoc,) = of_type(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert assoc.inputs == {"clusterName": "ml-test", "namespace": "team-a", "serviceAccount": "trainer",
                            "roleArn": role.outputs["arn"], "tags": {}}
    (sa,) = of_type(run, "kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"].get("annotations", {}) == {}
    assert sa.inputs["automountServiceAccountToken"] is False


def test_irsa_trust_document_exactly():
    run = build("irsa")
    role = run.one("aws:iam/role:Role", "wi-role")
    assert policy_doc(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Irsa",
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": OIDC_ARN},
            "Condition": {"StringEquals": {
                f"{ISSUER}:sub": "system:serviceaccount:team-a:trainer",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }},
        }],
    }
    assert not of_type(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    (sa,) = of_type(run, "kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}


@pytest.mark.parametrize("mode", ["pod-identity", "irsa"])
def test_inline_policy_attached_and_no_sa_for_chart_managed_accounts(mode):
    run = build(mode, create_sa=False)
    assert not of_type(run, "kubernetes:core/v1:ServiceAccount")
    (pol,) = of_type(run, "aws:iam/policy:Policy")
    (att,) = of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert att.inputs["policyArn"] == pol.outputs["arn"]


def test_pod_identity_source_arn_is_partition_aware():
    run = build("pod-identity", region="cn-north-1")
    doc = policy_doc(run.one("aws:iam/role:Role", "wi-role").inputs["assumeRolePolicy"])
    assert doc["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"].startswith("arn:aws-cn:eks:cn-north-1:")
