"""Tag and cost rules, through the analyzer: required tags, GPU allow-list, GPU pool sizes, log retention."""

from __future__ import annotations

import json

import pytest

from tests.policy_helpers import TAGS, Case, analyze, case_id, hits, k8s, res, run_case
from tests.policy_taggable import LIST_FILE, render, sdk_taggable_types

MNG = "eks:index:ManagedNodeGroup"
GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]


def mng(name, types, max_size, **kw):
    return res(MNG, name, {"cluster": "c", "instanceTypes": types, "taints": GPU_TAINT, "tags": TAGS,
                           "launchTemplate": {"id": "lt-1", "version": "1"},
                           "scalingConfig": {"minSize": 0, "maxSize": max_size, "desiredSize": 0}, **kw})


def nodepool(name, families=None, limits=None, requirements=None):
    reqs = requirements if requirements is not None else \
        [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": families or []}]
    spec = {"template": {"spec": {"requirements": reqs, "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
                                  "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "x"}}}}
    if limits is not None:
        spec["limits"] = limits
    return k8s("karpenter.sh/v1", "NodePool", name, namespace=None, spec=spec)


PROVIDER = res("pulumi:providers:aws", "aws-tagged",
               {"region": "us-west-2", "defaultTags": json.dumps({"tags": TAGS})}, id="p-1")
untagged_with_provider = res("aws:ec2/vpc:Vpc", "vpc-default-tags", {"cidrBlock": "10.0.0.0/16"},
                             provider=PROVIDER.urn)

CASES = [
    Case("required-tags", True, res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}),
         contains="owner, cost-center, environment", label="vpc-untagged"),
    Case("required-tags", True, res("aws:ec2/vpc:Vpc", "vpc-partial",
                                    {"cidrBlock": "10.0.0.0/16", "tags": {"owner": "a", "environment": ""}}),
         contains="cost-center, environment", label="empty-value"),
    Case("required-tags", True,
         res("aws:autoscaling/group:Group", "asg", {"maxSize": 1, "minSize": 0,
                                                    "tags": [{"key": "owner", "value": "a", "propagateAtLaunch": True}]}),
         contains="cost-center, environment", label="asg-list-form"),
    Case("required-tags", True, res("eks:index:Cluster", "c", {"version": "1.35"}), label="pulumi-eks-cluster"),
    Case("required-tags", True, res("aws:newservice/thing:Thing", "t", {"tags": {"owner": "a"}}),
         label="unknown-type-with-tags"),
    Case("required-tags", False, res("aws:ec2/vpc:Vpc", "vpc-ok", {"cidrBlock": "10.0.0.0/16", "tags": TAGS}),
         label="vpc"),
    Case("required-tags", False,
         res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "att",
             {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}), label="untaggable-type"),
    Case("required-tags", False, res("aws:kms/alias:Alias", "alias", {"name": "alias/x", "targetKeyId": "k"}),
         label="kms-alias"),
    Case("required-tags", False, untagged_with_provider, providers={PROVIDER.urn: PROVIDER},
         label="provider-default-tags"),
    Case("required-tags", False, res("aws:ec2/vpc:Vpc", "vpc-tunable", {"tags": {"team": "x"}}),
         config={"required-tags": {"requiredTags": ["team"]}}, label="tunable"),

    Case("gpu-instance-allowlist", True, mng("p3", ["p3.8xlarge"], 2), contains="p3.8xlarge", label="old-family"),
    Case("gpu-instance-allowlist", True,
         res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "g4ad.xlarge", "tags": TAGS}),
         label="launch-template"),
    Case("gpu-instance-allowlist", True, nodepool("np", ["g5", "p6-b200"], {"nvidia.com/gpu": 8}),
         contains="p6-b200", label="nodepool-family"),
    Case("gpu-instance-allowlist", True,
         nodepool("cat", limits={"nvidia.com/gpu": 8},
                  requirements=[{"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["g"]}]),
         contains="without naming their families", label="nodepool-category-only"),
    Case("gpu-instance-allowlist", True, mng("g5-denied", ["g5.xlarge"], 2),
         config={"gpu-instance-allowlist": {"allowedGpuFamilies": ["g6"]}}, label="tunable"),
    Case("gpu-instance-allowlist", False, mng("g5", ["g5.12xlarge", "g6e.xlarge"], 2), label="approved"),
    Case("gpu-instance-allowlist", False, mng("cpu", ["m6i.large"], 2), label="cpu"),
    Case("gpu-instance-allowlist", False, nodepool("np-ok", ["g5", "p5"], {"nvidia.com/gpu": 8}), label="nodepool"),
    Case("gpu-instance-allowlist", False,
         nodepool("types", limits={"nvidia.com/gpu": 8},
                  requirements=[{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                 "values": ["g6.xlarge", "p5en.48xlarge"]}]), label="nodepool-types"),

    Case("gpu-node-limits", True, mng("big", ["p5.48xlarge"], 40), contains="40 nodes", label="pool-too-big"),
    Case("gpu-node-limits", True, nodepool("nolimit", ["g5"]), contains="unbounded", label="nodepool-no-limit"),
    Case("gpu-node-limits", True, nodepool("huge", ["g5"], {"nvidia.com/gpu": "100"}), label="nodepool-above-cap"),
    Case("gpu-node-limits", True, res("eks:index:NodeGroupV2", "self", {"cluster": "c", "instanceType": "g5.xlarge",
                                                                       "maxSize": 20}), label="self-managed"),
    Case("gpu-node-limits", False, mng("ok", ["g5.xlarge"], 4), label="pool"),
    Case("gpu-node-limits", False, mng("cpu-big", ["m6i.large"], 100), label="cpu-pool-unbounded-ok"),
    Case("gpu-node-limits", False, nodepool("np-ok", ["g5"], {"nvidia.com/gpu": 32}), label="nodepool"),
    Case("gpu-node-limits", False, mng("big-ok", ["p5.48xlarge"], 40),
         config={"gpu-node-limits": {"maxGpuNodesPerPool": 64}}, label="tunable"),

    Case("log-groups-retention", True, res("aws:cloudwatch/logGroup:LogGroup", "forever", {"tags": TAGS}),
         contains="forever", label="unset"),
    Case("log-groups-retention", True,
         res("aws:cloudwatch/logGroup:LogGroup", "short", {"retentionInDays": 1, "tags": TAGS}), label="too-short"),
    Case("log-groups-retention", False,
         res("aws:cloudwatch/logGroup:LogGroup", "ok", {"retentionInDays": 30, "tags": TAGS}), label="30-days"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_tagging_rules(case: Case) -> None:
    run_case(case)


def test_taggable_list_matches_the_installed_aws_sdk() -> None:
    """The pack's generated list must be what pulumi-aws says accepts ``tags`` (regenerate: python -m tests.policy_taggable)."""
    assert LIST_FILE.read_text() == render(sdk_taggable_types())


def test_taggable_list_is_precise() -> None:
    from guardrails.tagging import TAGGABLE_AWS_TYPES

    for t in ("aws:ec2/vpc:Vpc", "aws:iam/role:Role", "aws:eks/cluster:Cluster", "aws:s3/bucket:Bucket",
              "aws:autoscaling/group:Group", "aws:kms/key:Key"):
        assert t in TAGGABLE_AWS_TYPES, t
    for t in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy",
              "aws:kms/alias:Alias", "aws:ec2/routeTableAssociation:RouteTableAssociation",
              "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:autoscaling/tag:Tag"):
        assert t not in TAGGABLE_AWS_TYPES, t


def test_provider_default_tags_as_object_count_too() -> None:
    provider = res("pulumi:providers:aws", "aws-obj", {"region": "us-west-2", "defaultTags": {"tags": TAGS}}, id="p-2")
    vpc = res("aws:ec2/vpc:Vpc", "vpc-obj", {"cidrBlock": "10.0.0.0/16"}, provider=provider.urn)
    assert not hits(analyze(vpc, providers={provider.urn: provider}), "required-tags")
    # Without the provider the same resource is missing its tags.
    assert hits(analyze(vpc), "required-tags")
