"""Container registry rules (CIS 5.1), through the analyzer: ECR scans images and stays read-only for the cluster."""

from __future__ import annotations

import json

import pytest

from tests.policy_helpers import TAGS, Case, case_id, res, run_case

REPO = "aws:ecr/repository:Repository"
NODE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]})


def repo(name="models", scan=True, **kw):
    inputs = {"name": name, "imageTagMutability": "IMMUTABLE", "tags": TAGS, **kw}
    if scan is not None:
        inputs["imageScanningConfiguration"] = {"scanOnPush": scan}
    return res(REPO, name, inputs)


def scanning(filter_="*", frequency="CONTINUOUS_SCAN"):
    return res("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scan", {
        "scanType": "ENHANCED", "rules": [{"scanFrequency": frequency,
                                           "repositoryFilters": [{"filter": filter_, "filterType": "WILDCARD"}]}]})


def attach(name, policy):
    return res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", name,
               {"role": "nodes", "policyArn": f"arn:aws:iam::aws:policy/{policy}"})


def policy(name, *statements):
    return res("aws:iam/policy:Policy", name, {"policy": json.dumps({"Version": "2012-10-17",
                                                                      "Statement": list(statements)}), "tags": TAGS})


def repo_policy(*statements):
    return res("aws:ecr/repositoryPolicy:RepositoryPolicy", "models-policy", {
        "repository": "models", "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})})


PULL = {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}

CASES = [
    Case("ecr-image-scanning", True, [repo(scan=False)], contains="does not scan", label="no-scan-on-push",
         covers=("CIS 5.1.1",)),
    Case("ecr-image-scanning", True, [repo(scan=None), scanning("team-*")], label="filter-misses"),
    Case("ecr-image-scanning", False, [repo()], label="scan-on-push", covers=("CIS 5.1.1",)),
    Case("ecr-image-scanning", False, [repo(scan=None), scanning("mod*", "SCAN_ON_PUSH")], label="registry-scanning"),

    Case("ecr-access-minimized", True, attach("nodes-ecr", "AmazonEC2ContainerRegistryPowerUser"),
         contains="AmazonEC2ContainerRegistryPowerUser", label="power-user-on-nodes", covers=("CIS 5.1.3",)),
    Case("ecr-access-minimized", True,
         res("aws:iam/role:Role", "ci", {"assumeRolePolicy": NODE_TRUST, "tags": TAGS, "managedPolicyArns": [
             "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess"]}), label="role-managed-arns",
         covers=("CIS 5.1.2",)),
    Case("ecr-access-minimized", True,
         policy("push-anywhere", {"Effect": "Allow", "Action": ["ecr:PutImage", "ecr:UploadLayerPart"],
                                  "Resource": "*"}), contains="ecr:PutImage", label="push-on-star",
         covers=("CIS 5.1.2", "CIS 5.1.3")),
    Case("ecr-access-minimized", True, policy("ecr-star", {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}),
         label="ecr-star"),
    Case("ecr-access-minimized", True, repo_policy({**PULL, "Principal": "*"}), contains="any principal",
         label="public-repository-policy", covers=("CIS 5.1.2",)),
    Case("ecr-access-minimized", False, attach("nodes-pull", "AmazonEC2ContainerRegistryPullOnly"),
         label="pull-only-nodes", covers=("CIS 5.1.2", "CIS 5.1.3")),
    Case("ecr-access-minimized", False,
         policy("ci-push", {"Effect": "Allow", "Action": ["ecr:PutImage", "ecr:UploadLayerPart"],
                            "Resource": "arn:aws:ecr:us-west-2:123456789012:repository/models"}),
         label="push-scoped-to-a-repository"),
    Case("ecr-access-minimized", False,
         repo_policy({**PULL, "Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}),
         label="org-scoped-repository-policy"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_registry_rules(case: Case) -> None:
    run_case(case)
