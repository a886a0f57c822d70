"""Fargate profiles: serverless pods for light, bursty (CPU-only) inference namespaces.

Profiles run pods in the private subnets only. The pod execution role trusts
``eks-fargate-pods.amazonaws.com`` only for this cluster's profiles
(``aws:SourceArn``), so another cluster in the account cannot use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.aws_env import AwsEnv
from components.config import FargateProfileConfig
from components.conventions import child


@dataclass(frozen=True)
class FargateProfilesArgs:
    """Arguments for :class:`FargateProfiles`."""

    #: The cluster's name as an Output of the cluster (profiles need the cluster to exist).
    cluster_name: pulumi.Input[str]
    #: Profiles keyed by name.
    profiles: Mapping[str, FargateProfileConfig]
    #: Private subnets (Fargate refuses public ones).
    subnet_ids: Sequence[pulumi.Input[str]]
    env: AwsEnv
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The cluster name as configured: the trust's aws:SourceArn uses it, so the trust is known at the first
    #: preview. Defaults to ``cluster_name`` when that is a plain string.
    configured_cluster_name: str = ""


class FargateProfiles(pulumi.ComponentResource):
    """A pod execution role and one Fargate profile per configured entry."""

    pod_execution_role_arn: pulumi.Output[str]
    profiles: dict[str, aws.eks.FargateProfile]

    def __init__(self, name: str, args: FargateProfilesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:fargate:FargateProfiles", name, None, opts)
        env = args.env
        configured = args.configured_cluster_name or args.cluster_name
        if not isinstance(configured, str):
            raise TypeError("FargateProfilesArgs needs configured_cluster_name when cluster_name is an Output")
        source_arn = env.arn("eks", f"fargateprofile/{configured}/*")
        trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                type="Service", identifiers=["eks-fargate-pods.amazonaws.com"])],
            conditions=[aws.iam.GetPolicyDocumentStatementConditionArgs(
                test="ArnLike", variable="aws:SourceArn", values=[source_arn])],
        )])
        role = aws.iam.Role(f"{name}-pod-execution-role", assume_role_policy=trust.json, tags=dict(args.tags),
                            opts=child(self))
        attach = aws.iam.RolePolicyAttachment(
            f"{name}-pod-execution-policy", role=role.name,
            policy_arn=env.managed_policy_arn("AmazonEKSFargatePodExecutionRolePolicy"), opts=child(self))
        self.pod_execution_role_arn = role.arn
        self.profiles = {}
        for profile, cfg in args.profiles.items():
            self.profiles[profile] = aws.eks.FargateProfile(
                f"{name}-{profile}",
                cluster_name=args.cluster_name,
                fargate_profile_name=profile,
                pod_execution_role_arn=role.arn,
                subnet_ids=list(args.subnet_ids),
                selectors=[aws.eks.FargateProfileSelectorArgs(namespace=s.namespace, labels=dict(s.labels) or None)
                           for s in cfg.selectors],
                tags=dict(args.tags),
                opts=child(self, depends_on=[attach]),
            )
        self.register_outputs({"podExecutionRoleArn": self.pod_execution_role_arn, "profiles": list(self.profiles)})
