"""Deterministic physical names for the resources security documents name.

A first ``pulumi preview`` cannot know what it has not created: an
auto-named role's name (Pulumi adds a random suffix), any ARN a create
returns. A policy that names such a resource is unknown as a whole at preview,
and every rule that reads it goes blind (README, "What a first preview can
see"). So the resources other documents point at (workload roles and their
policies, the Karpenter node role, the data bucket) get names computed here
from what a preview knows: the configured cluster name, the region and account
(invokes), and a fixed purpose. Their ARNs are then built from the same parts
(:class:`components.aws_env.AwsEnv`), never read back from the resource.

Uniqueness: IAM names are global to the account, so they carry the region
(two stacks may use one cluster name in two regions); S3 names are global to
all of AWS, so the bucket also carries the account. A name longer than the
service allows keeps its head and ends with 8 hex of a digest of the whole
name, so it stays unique and stable.

Replacement: a fixed name means a replacement cannot create the new resource
before deleting the old one ("already exists"). Names here change whenever
what they are made of changes (a renamed cluster, another region), which is
also what replaces these resources, so Pulumi's default create-before-delete
keeps working and a stack moving from auto-names to these names swaps each
resource without a gap. The data bucket is the exception (an S3 replacement
can be forced by properties that leave its name alone), so it is deleted
before it is replaced; see :mod:`components.addons.storage`.
"""

from __future__ import annotations

import hashlib
import re

#: Service limits on names (IAM: roles 64, managed policies 128; S3 buckets 3-63).
IAM_ROLE_MAX = 64
IAM_POLICY_MAX = 128
S3_BUCKET_MAX = 63
SQS_QUEUE_MAX = 80

_IAM_CHARS = re.compile(r"[^\w+=,.@-]+")
_S3_CHARS = re.compile(r"[^a-z0-9-]+")


def bounded(name: str, limit: int) -> str:
    """``name`` when it fits ``limit``; else its head and 8 hex of a digest of the whole name."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:limit - 9].rstrip('-_.')}-{digest}"


def iam_name(cluster: str, region: str, purpose: str, limit: int = IAM_ROLE_MAX) -> str:
    """An IAM role or policy name: ``<cluster>-<region>-<purpose>``, within ``limit`` characters."""
    raw = "-".join(p for p in (cluster, region, purpose) if p)
    return bounded(_IAM_CHARS.sub("-", raw), limit)


def bucket_name(cluster: str, purpose: str, account: str, region: str) -> str:
    """An S3 bucket name: ``<cluster>-<purpose>-<account>-<region>``, lower case, at most 63 characters."""
    raw = _S3_CHARS.sub("-", f"{cluster}-{purpose}-{account}-{region}".lower()).strip("-")
    if raw.startswith("xn--") or raw.startswith("sthree-"):
        raw = f"b-{raw}"  # prefixes S3 reserves
    return bounded(raw, S3_BUCKET_MAX).rstrip("-")
