"""Account, partition and region, looked up once per program and shared by every component.

ARNs are built from the partition (``aws``, ``aws-cn``, ``aws-us-gov``) rather
than a hard-coded ``arn:aws:``, so the same program deploys to GovCloud and
China regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import managed_policies


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
