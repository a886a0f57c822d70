"""AWS managed IAM policies the program attaches, with the path AWS keeps each under. One table.

A managed policy's ARN is ``arn:<partition>:iam::aws:policy<path><name>``, and
the path is not always ``/``: AWS keeps the EBS and EFS CSI driver policies
under ``/service-role/``, so ``arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicy``
does not exist and ``AttachRolePolicy`` answers NoSuchEntity. Every component
builds managed ARNs through :func:`managed_policy_arn`, so a name missing from
this table stops the program instead of reaching AWS.

The table is checked against AWS's own list (``upstream/aws/managed-policies-index.json``,
vendored from moto's snapshot of the IAM API) by ``tests/test_aws_facts.py``,
and every managed ARN in a plan is checked again by ``python -m validators``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

#: name -> path (with its leading and trailing ``/``).
MANAGED_POLICY_PATHS: Mapping[str, str] = MappingProxyType({
    # nodes (managed, self-managed and Karpenter's)
    "AmazonEKSWorkerNodePolicy": "/",
    "AmazonEC2ContainerRegistryPullOnly": "/",
    "AmazonSSMManagedInstanceCore": "/",
    # aws-node (VPC CNI), Fargate
    "AmazonEKS_CNI_Policy": "/",
    "AmazonEKSFargatePodExecutionRolePolicy": "/",
    # storage drivers
    "AmazonEBSCSIDriverPolicy": "/service-role/",
    "AmazonEFSCSIDriverPolicy": "/service-role/",
    # CloudWatch agent (Container Insights, X-Ray)
    "CloudWatchAgentServerPolicy": "/",
    "AWSXrayWriteOnlyAccess": "/",
})


def managed_policy_path(name: str) -> str:
    try:
        return MANAGED_POLICY_PATHS[name]
    except KeyError:
        raise KeyError(
            f"AWS managed policy {name!r} is not in components/managed_policies.py: add it with the path AWS "
            "keeps it under (upstream/aws/managed-policies-index.json lists every managed policy's path)"
        ) from None


def managed_policy_arn(partition: str, name: str) -> str:
    """``arn:<partition>:iam::aws:policy<path><name>``, e.g. ``arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy``."""
    return f"arn:{partition}:iam::aws:policy{managed_policy_path(name)}{name}"
