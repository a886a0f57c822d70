"""Account, partition and region, looked up once per program and shared by every component.

ARNs are built from the partition (``aws``, ``aws-cn``, ``aws-us-gov``) rather
than a hard-coded ``arn:aws:``, so the same program deploys to GovCloud and
China regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import managed_policies, naming


@dataclass(frozen=True)
class AwsEnv:
    """Where the stack deploys."""

    partition: pulumi.Output[str]
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    #: ``com.amazonaws`` (or ``cn.com.amazonaws``): the prefix of VPC endpoint service names.
    reverse_dns_prefix: pulumi.Output[str]

    @classmethod
    def lookup(cls, opts: pulumi.InvokeOptions | None = None) -> "AwsEnv":
        part = aws.get_partition_output(opts=opts)
        ident = aws.get_caller_identity_output(opts=opts)
        region = aws.get_region_output(opts=opts)
        return cls(
            partition=part.partition,
            account_id=ident.account_id,
            region=region.region,
            dns_suffix=part.dns_suffix,
            reverse_dns_prefix=part.reverse_dns_prefix,
        )

    def managed_policy_arn(self, name: str) -> pulumi.Output[str]:
        """ARN of an AWS-managed IAM policy, path included (see :mod:`components.managed_policies`)."""
        path = managed_policies.managed_policy_path(name)  # an unknown name fails here, before any resource
        return pulumi.Output.concat("arn:", self.partition, ":iam::aws:policy", path, name)

    def arn(self, service: str, resource: pulumi.Input[str], *, regional: bool = True) -> pulumi.Output[str]:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        return pulumi.Output.concat(
            "arn:", self.partition, ":", service, ":", self.region if regional else "", ":", self.account_id, ":", resource
        )

    def eks_cluster_arn(self, cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
        return self.arn("eks", pulumi.Output.concat("cluster/", cluster_name))

    def endpoint_service(self, service: str) -> pulumi.Output[str]:
        """VPC endpoint service name for ``service`` in this region."""
        return pulumi.Output.concat(self.reverse_dns_prefix, ".", self.region, ".", service)

    # -- names and ARNs known before anything is created (README, "What a first preview can see")

    def iam_name(self, cluster_name: str, purpose: str, limit: int = naming.IAM_ROLE_MAX) -> pulumi.Output[str]:
        """Deterministic IAM role/policy name for this cluster and region (:func:`components.naming.iam_name`)."""
        return self.region.apply(lambda region: naming.iam_name(cluster_name, region, purpose, limit))

    def bucket_name(self, cluster_name: str, purpose: str) -> pulumi.Output[str]:
        """Deterministic S3 bucket name for this cluster, account and region."""
        return pulumi.Output.all(self.account_id, self.region).apply(
            lambda a: naming.bucket_name(cluster_name, purpose, a[0], a[1]))

    def role_arn(self, role_name: pulumi.Input[str]) -> pulumi.Output[str]:
        """``arn:<partition>:iam::<account>:role/<name>``, from parts (the role need not exist yet)."""
        return self.arn("iam", pulumi.Output.concat("role/", role_name), regional=False)

    def policy_arn(self, policy_name: pulumi.Input[str]) -> pulumi.Output[str]:
        """``arn:<partition>:iam::<account>:policy/<name>`` of a customer-managed policy, from parts."""
        return self.arn("iam", pulumi.Output.concat("policy/", policy_name), regional=False)

    def queue_arn(self, queue_name: pulumi.Input[str]) -> pulumi.Output[str]:
        """``arn:<partition>:sqs:<region>:<account>:<name>``, from parts."""
        return self.arn("sqs", queue_name)

    def log_group_arn(self, log_group_name: pulumi.Input[str]) -> pulumi.Output[str]:
        """``arn:<partition>:logs:<region>:<account>:log-group:<name>``, from parts."""
        return self.arn("logs", pulumi.Output.concat("log-group:", log_group_name))

    def bucket_arn(self, bucket_name: pulumi.Input[str]) -> pulumi.Output[str]:
        """``arn:<partition>:s3:::<name>`` (S3 ARNs carry neither region nor account)."""
        return pulumi.Output.concat("arn:", self.partition, ":s3:::", bucket_name)
