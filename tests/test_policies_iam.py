"""IAM rules, through the analyzer: admin, admin managed policies, IRSA trust, escalation, wildcard trust."""

from __future__ import annotations

import json

import pytest

from tests.policy_helpers import TAGS, Case, case_id, res, run_case

ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def policy(name, *statements):
    return res("aws:iam/policy:Policy", name, {"policy": doc(*statements), "tags": TAGS})


def role(name, trust, **kw):
    return res("aws:iam/role:Role", name, {"assumeRolePolicy": doc(trust), "tags": TAGS, **kw})


def irsa(condition, action="sts:AssumeRoleWithWebIdentity", federated=OIDC_ARN):
    s = {"Effect": "Allow", "Action": action, "Principal": {"Federated": federated}}
    if condition is not None:
        s["Condition"] = condition
    return s


SERVICE_TRUST = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
SCOPED = {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:kube-system:aws-node",
                           f"{ISSUER}:aud": "sts.amazonaws.com"}}

CASES = [
    # iam-no-wildcard-admin
    Case("iam-no-wildcard-admin", True, policy("admin", allow("*")), label="policy"),
    Case("iam-no-wildcard-admin", True,
         res("aws:iam/rolePolicy:RolePolicy", "rp", {"role": "r", "policy": doc(allow(["s3:GetObject", "*:*"]))}),
         label="role-policy"),
    Case("iam-no-wildcard-admin", True,
         role("inline", SERVICE_TRUST, inlinePolicies=[{"name": "all", "policy": doc(allow("*"))}]),
         contains="inlinePolicies[0]", label="role-inline"),
    Case("iam-no-wildcard-admin", True, policy("notaction", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
         contains="NotAction", label="not-action"),
    Case("iam-no-wildcard-admin", False, policy("scoped", allow("*", "arn:aws:s3:::bucket/*")), label="scoped-resource"),
    Case("iam-no-wildcard-admin", False, policy("deny", {"Effect": "Deny", "Action": "*", "Resource": "*"}),
         label="deny"),

    # iam-no-admin-policies-on-workloads
    Case("iam-no-admin-policies-on-workloads", True,
         res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a",
             {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), label="attachment"),
    Case("iam-no-admin-policies-on-workloads", True,
         role("mp", SERVICE_TRUST, managedPolicyArns=["arn:aws-cn:iam::aws:policy/PowerUserAccess"]),
         label="role-managed-arns-cn"),
    Case("iam-no-admin-policies-on-workloads", True,
         res("aws:iam/policyAttachment:PolicyAttachment", "pa",
             {"roles": ["r"], "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}), label="policy-attachment"),
    Case("iam-no-admin-policies-on-workloads", False,
         res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "cni",
             {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}), label="cni"),
    Case("iam-no-admin-policies-on-workloads", False,
         res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "custom",
             {"role": "r", "policyArn": "arn:aws:iam::123456789012:policy/AdministratorAccess"}),
         label="customer-policy-same-name"),

    # irsa-trust-scoped
    Case("irsa-trust-scoped", True, role("aud-only", irsa({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}})),
         contains=":sub is checked not at all", label="aud-only (the duplicate-key bug)"),
    Case("irsa-trust-scoped", True,
         role("like", irsa({"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:ns:sa"},
                            "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}})),
         contains="only with StringLike", label="stringlike-only"),
    Case("irsa-trust-scoped", True,
         role("wild", irsa({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ns:*",
                                             f"{ISSUER}:aud": "sts.amazonaws.com"}})),
         contains="wildcard", label="wildcard-sub", covers=('CIS 5.2.1',)),
    Case("irsa-trust-scoped", True,
         role("no-aud", irsa({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ns:sa"}})),
         contains=":aud", label="no-aud"),
    Case("irsa-trust-scoped", True, role("no-cond", irsa(None, action=["sts:AssumeRoleWithWebIdentity"])),
         label="no-condition"),
    Case("irsa-trust-scoped", False, role("scoped", irsa(SCOPED)), label="scoped", covers=('CIS 5.2.1',)),
    Case("irsa-trust-scoped", False,
         role("case", irsa({"StringEquals": {f"{ISSUER.upper()}:SUB": "system:serviceaccount:ns:sa",
                                             f"{ISSUER}:aud": ["sts.amazonaws.com"]}})),
         label="condition-keys-case-insensitive"),
    Case("irsa-trust-scoped", False, role("svc", SERVICE_TRUST), label="service-trust"),

    # iam-no-privilege-escalation
    Case("iam-no-privilege-escalation", True, policy("pass", allow(["ec2:RunInstances", "iam:PassRole"])),
         contains="iam:PassRole", label="passrole-star"),
    Case("iam-no-privilege-escalation", True, policy("put", allow("iam:Put*")), contains="iam:PutRolePolicy",
         label="wildcard-action"),
    Case("iam-no-privilege-escalation", True, policy("sts", allow("sts:AssumeRole")), label="assume-any-role"),
    Case("iam-no-privilege-escalation", True,
         res("aws:iam/userPolicy:UserPolicy", "up", {"user": "u", "policy": doc(allow("iam:CreateAccessKey"))}),
         label="user-policy"),
    Case("iam-no-privilege-escalation", False,
         policy("scoped-pass", allow("iam:PassRole", "arn:aws:iam::123456789012:role/karpenter-node")),
         label="passrole-scoped"),
    Case("iam-no-privilege-escalation", False, policy("read", allow(["ec2:Describe*", "iam:GetInstanceProfile"])),
         label="read-only"),

    # iam-trust-no-wildcard-principal
    Case("iam-trust-no-wildcard-principal", True,
         role("anyone", {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}), label="aws-star"),
    Case("iam-trust-no-wildcard-principal", True,
         role("bare", {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}), label="bare-star"),
    Case("iam-trust-no-wildcard-principal", False,
         role("org", {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"},
                      "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}), label="org-condition"),
    Case("iam-trust-no-wildcard-principal", False, role("svc", SERVICE_TRUST), label="service"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_iam_rules(case: Case) -> None:
    run_case(case)
