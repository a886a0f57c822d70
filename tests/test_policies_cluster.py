"""Cluster rules, through the analyzer: encryption, logs, versions, KMS, deletion protection, access mode."""

from __future__ import annotations

import json

import pytest

from tests.policy_helpers import TAGS, Case, case_id, res, run_case

EKS = "eks:index:Cluster"
AWS_EKS = "aws:eks/cluster:Cluster"
LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/1234"


def eks(name="c", **kw):
    inputs = {"version": "1.35", "endpointPrivateAccess": True, "endpointPublicAccess": False,
              "skipDefaultNodeGroup": True, "encryptionConfigKeyArn": KEY_ARN, "enabledClusterLogTypes": LOGS,
              "deletionProtection": True, "authenticationMode": "API", "tags": TAGS}
    inputs.update(kw)
    return res(EKS, name, {k: v for k, v in inputs.items() if v is not None})


def aws(name="c", **kw):
    inputs = {"version": "1.35", "roleArn": "arn:aws:iam::1:role/r", "vpcConfig": {"endpointPrivateAccess": True},
              "encryptionConfig": {"provider": {"keyArn": KEY_ARN}, "resources": ["secrets"]},
              "enabledClusterLogTypes": LOGS, "deletionProtection": True,
              "accessConfig": {"authenticationMode": "API"}, "tags": TAGS}
    inputs.update(kw)
    return res(AWS_EKS, name, {k: v for k, v in inputs.items() if v is not None})


def key(name="k", policy=None, **kw):
    inputs = {"enableKeyRotation": True, "tags": TAGS}
    if policy is not None:
        inputs["policy"] = json.dumps(policy)
    inputs.update(kw)
    return res("aws:kms/key:Key", name, inputs)


def stmt(principal, condition=None):
    s = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Principal": principal}
    if condition:
        s["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [s]}


CASES = [
    Case("eks-secrets-encryption", True, eks(encryptionConfigKeyArn=None), label="eks",
         covers=('CKV_AWS_58', 'CIS 5.3.1')),
    Case("eks-secrets-encryption", True, aws(encryptionConfig={"provider": {"keyArn": KEY_ARN}, "resources": []}),
         label="aws-not-secrets"),
    Case("eks-secrets-encryption", False, eks(), label="eks"),
    Case("eks-secrets-encryption", False, aws(), label="aws", covers=('CKV_AWS_58', 'CIS 5.3.1')),

    Case("eks-control-plane-logging", True, eks(enabledClusterLogTypes=["api", "audit"]),
         contains="authenticator, controllerManager, scheduler", label="eks-partial",
              covers=('CKV_AWS_37', 'CIS 2.1.1')),
    Case("eks-control-plane-logging", True, aws(enabledClusterLogTypes=None), label="aws-none"),
    Case("eks-control-plane-logging", False, eks(), label="eks-all", covers=('CKV_AWS_37', 'CIS 2.1.1')),
    Case("eks-control-plane-logging", False, eks(enabledClusterLogTypes=["api"]),
         config={"eks-control-plane-logging": {"requiredLogTypes": ["api"]}}, label="tunable"),

    Case("eks-supported-version", True, eks(version="1.29"), contains="1.29", label="old", covers=('CKV_AWS_339',)),
    Case("eks-supported-version", True, eks(version=None), contains="no version pinned", label="unpinned"),
    Case("eks-supported-version", True,
         res("aws:eks/nodeGroup:NodeGroup", "ng", {"version": "1.30", "clusterName": "c", "tags": TAGS}),
         label="node-group-own-version"),
    Case("eks-supported-version", False, eks(version="1.36"), label="eks"),
    Case("eks-supported-version", False, aws(version="1.34"), label="aws", covers=('CKV_AWS_339',)),
    Case("eks-supported-version", False,
         res("eks:index:ManagedNodeGroup", "ng", {"cluster": "c", "tags": TAGS}), label="node-group-inherits"),

    Case("kms-key-rotation", True, key(enableKeyRotation=False), label="rotation-off"),
    Case("kms-key-rotation", True, key("wild", stmt("*")), contains="without a condition", label="wildcard-principal"),
    Case("kms-key-rotation", True, key("wild-aws", stmt({"AWS": ["arn:aws:iam::1:root", "*"]})),
         label="wildcard-in-list"),
    Case("kms-key-rotation", True,
         res("aws:kms/keyPolicy:KeyPolicy", "kp", {"keyId": "k", "policy": json.dumps(stmt({"AWS": "*"}))}),
         label="key-policy-resource"),
    Case("kms-key-rotation", False, key("root", stmt({"AWS": "arn:aws:iam::123456789012:root"})), label="root"),
    Case("kms-key-rotation", False,
         key("wild-cond", stmt("*", {"StringEquals": {"kms:CallerAccount": "123456789012"}})),
         label="wildcard-with-condition"),
    Case("kms-key-rotation", False, key("asym", keySpec="RSA_2048", keyUsage="SIGN_VERIFY", enableKeyRotation=False),
         label="asymmetric-cannot-rotate"),

    Case("eks-deletion-protection", True, eks(deletionProtection=False), label="eks"),
    Case("eks-deletion-protection", True, aws(deletionProtection=None), label="aws-default"),
    Case("eks-deletion-protection", False, eks(), label="eks"),
    Case("eks-deletion-protection", True, eks(deletionProtection=False),
         config={"eks-deletion-protection": "advisory"}, level="advisory", label="advisory-when-lowered"),

    Case("eks-access-entries-only", True, eks(authenticationMode=None), contains="CONFIG_MAP", label="eks-default",
         covers=('CIS 4.1.7', 'CIS 5.5.1')),
    Case("eks-access-entries-only", True, aws(accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}),
         label="aws-mixed"),
    Case("eks-access-entries-only", False, eks(), label="eks-api", covers=('CIS 4.1.7', 'CIS 5.5.1')),
    Case("eks-access-entries-only", False, aws(accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}),
         config={"eks-access-entries-only": {"allowedModes": ["API", "API_AND_CONFIG_MAP"]}}, label="migration"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cluster_rules(case: Case) -> None:
    run_case(case)


def test_supported_versions_match_the_program_versions_table() -> None:
    """The pack copies components/versions.py (it cannot import the program); the copy must not drift."""
    from components.versions import SUPPORTED_KUBERNETES_VERSIONS
    from guardrails.cluster import SUPPORTED_KUBERNETES_VERSIONS as PACK_VERSIONS

    assert list(SUPPORTED_KUBERNETES_VERSIONS) == PACK_VERSIONS
