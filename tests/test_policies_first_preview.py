"""Rules at a first preview, through the analyzer: values unknown until deploy, and the identity intent rule.

Unknowns are sent the way the engine sends them to an analyzer: the unknown sentinel string in place of the
value (``plugin.MarshalProperties`` with ``KeepUnknowns``), here :data:`automation.offline.mocks.UNKNOWN`.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import proxy

from automation.offline.mocks import UNKNOWN
from tests.policy_helpers import TAGS, Case, analyze, case_id, hits, res, run_case

WI = "mlplatform:identity:WorkloadIdentity"
EFS = "aws:efs/fileSystem:FileSystem"
LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"


def identity(name, **intent):
    base = {"identityMode": "irsa", "namespace": "research", "serviceAccount": "trainer",
            "audience": "sts.amazonaws.com"}
    base.update(intent)
    return res(WI, name, {k: v for k, v in base.items() if v is not None})


CASES = [
    # workload-identity-intent: judged on the component's inputs, known at preview
    Case("workload-identity-intent", True, identity("wild-sa", serviceAccount="*"), contains="wildcard",
         label="wildcard-service-account"),
    Case("workload-identity-intent", True, identity("wild-prefix", serviceAccount="trainer-*"), contains="wildcard",
         label="prefix-wildcard"),
    Case("workload-identity-intent", True, identity("wild-ns", namespace="team-?"), contains="namespace",
         label="wildcard-namespace"),
    Case("workload-identity-intent", True, identity("no-sa", serviceAccount=None), contains="serviceAccount is missing",
         label="missing-service-account"),
    Case("workload-identity-intent", True, identity("aud", audience="my-app"), contains="sts.amazonaws.com",
         label="wrong-audience"),
    Case("workload-identity-intent", True, identity("no-aud", audience=None), contains="audience", label="no-audience"),
    Case("workload-identity-intent", True, identity("upper", serviceAccount="Trainer"), contains="not a literal",
         label="not-a-kubernetes-name"),
    Case("workload-identity-intent", True, identity("mode", identityMode="kiam"), contains="kiam", label="unknown-mode"),
    Case("workload-identity-intent", True,
         identity("pi-wild", identityMode="pod-identity", serviceAccount="*", audience=None), contains="wildcard",
         label="pod-identity-wildcard"),
    Case("workload-identity-intent", False, identity("exact"), label="irsa-exact"),
    Case("workload-identity-intent", False,
         identity("pi", identityMode="pod-identity", serviceAccount="aws-load-balancer-controller",
                  namespace="kube-system", audience=None), label="pod-identity-exact"),

    # Rules that need only presence run on a key created in the same deploy (its ARN unknown at preview).
    Case("efs-encrypted", False, res(EFS, "fresh-key", {"encrypted": True, "kmsKeyId": UNKNOWN, "tags": TAGS}),
         label="unknown-customer-key"),
    Case("efs-encrypted", True, res(EFS, "no-key", {"encrypted": True, "creationToken": UNKNOWN, "tags": TAGS}),
         contains="kmsKeyId",
         label="no-key-with-unknowns-elsewhere"),
    Case("fsx-customer-kms-key", False,
         res(LUSTRE, "fresh-key", {"deploymentType": "PERSISTENT_2", "kmsKeyId": UNKNOWN, "subnetIds": UNKNOWN}),
         label="unknown-customer-key"),
    Case("eks-secrets-encryption", False,
         res("eks:index:Cluster", "fresh-key", {"encryptionConfigKeyArn": UNKNOWN, "vpcId": UNKNOWN}),
         label="unknown-key-arn"),
    Case("eks-secrets-encryption", True, res("eks:index:Cluster", "empty-key", {"encryptionConfigKeyArn": ""}),
         label="empty-key-arn"),
    Case("eks-secrets-encryption", False,
         res("aws:eks/cluster:Cluster", "aws-fresh-key",
             {"encryptionConfig": {"provider": {"keyArn": UNKNOWN}, "resources": ["secrets"]}}),
         label="aws-cluster-unknown-key-arn"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_first_preview_rules(case: Case) -> None:
    run_case(case)


def test_a_rule_that_reads_an_unknown_document_is_blind_not_a_verdict() -> None:
    """What pulumi-policy does (PR #218): no verdict, an advisory "can't run ... during preview" diagnostic."""
    role = res("aws:iam/role:Role", "irsa", {"assumeRolePolicy": UNKNOWN, "tags": TAGS})
    found = hits(analyze(role), "irsa-trust-scoped")
    assert [d.level for d in found] == ["advisory"]
    assert found[0].message.startswith("can't run policy 'irsa-trust-scoped' from policy pack")
    assert "string value at .assumeRolePolicy can't be known during preview" in found[0].message
    # The description the engine prints with it says what is checked at `up` and what judges the intent.
    assert "`up`" in found[0].description and "workload-identity-intent" in found[0].description


def test_an_unknown_elsewhere_does_not_silence_a_rule() -> None:
    """Only the rule that reads the unknown is blind: the others still judge the resource."""
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    pol = res("aws:iam/policy:Policy", "admin", {"policy": json.dumps(doc), "name": UNKNOWN, "tags": TAGS})
    found = hits(analyze(pol), "iam-no-wildcard-admin")
    assert [d.level for d in found] == ["mandatory"]


def test_membership_on_the_installed_pulumi_policy_proxy_reads_the_value() -> None:
    """The fact `is_set` is built on, checked against the installed pulumi-policy: `key in proxy` calls
    __getitem__ (Mapping.__contains__) and raises on an unknown; iterating the keys reads no value."""
    props = proxy.unknown_checking_proxy({"kmsKeyId": UNKNOWN, "encrypted": True})
    with pytest.raises(proxy.UnknownValueError):
        _ = "kmsKeyId" in props
    assert "kmsKeyId" in list(props)


def test_the_intent_rule_reads_what_the_identity_component_registers():
    """The pack cannot import the program: its copies of the type token and the audience must match."""
    from guardrails import iam as rules

    from components import identity

    assert rules.WORKLOAD_IDENTITY == identity.WORKLOAD_IDENTITY_TYPE
    assert rules.IRSA_AUDIENCE == identity.IRSA_AUDIENCE
