"""Least-privilege S3 access for workloads, as plain statements (no Pulumi resources).

Each statement is a dict in the shape of ``aws.iam.GetPolicyDocumentStatementArgs``
keywords; :func:`policy_document` renders them through
``aws.iam.get_policy_document_output`` (never hand-built JSON). Object ARNs are
derived from the bucket ARN the storage layer returns, so they carry the right
partition (``aws``, ``aws-cn``, ``aws-us-gov``) without this module knowing it.

Listing is allowed only under the same prefixes (``s3:prefix`` condition), so a
workload cannot even enumerate keys it may not read.
"""

from __future__ import annotations

from typing import Any, Sequence

import pulumi

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")


def _join(arn: pulumi.Input[str], suffix: str) -> pulumi.Input[str]:
    return f"{arn}{suffix}" if isinstance(arn, str) else pulumi.Output.concat(arn, suffix)


def _prefix(p: str) -> str:
    p = p.strip("/")
    if not p or "*" in p or "?" in p:
        raise ValueError(f"S3 prefix {p!r} must be a non-empty literal key prefix")
    return p + "/"


def s3_prefix_statements(bucket_arn: pulumi.Input[str], *, read: Sequence[str] = (),
                         read_write: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Statements granting GetObject under ``read`` prefixes and Get/Put/Delete under ``read_write`` prefixes."""
    read_p = [_prefix(p) for p in read]
    rw_p = [_prefix(p) for p in read_write]
    statements: list[dict[str, Any]] = []
    if read_p or rw_p:
        statements.append({
            "sid": "ListOwnPrefixes",
            "actions": ["s3:ListBucket"],
            "resources": [bucket_arn],
            "conditions": [{"test": "StringLike", "variable": "s3:prefix",
                            "values": sorted({v for p in read_p + rw_p for v in (p, f"{p}*")})}],
        })
        statements.append({
            "sid": "ReadObjects",
            "actions": list(READ_ACTIONS),
            "resources": [_join(bucket_arn, f"/{p}*") for p in read_p + rw_p],
        })
    if rw_p:
        statements.append({
            "sid": "WriteObjects",
            "actions": list(WRITE_ACTIONS),
            "resources": [_join(bucket_arn, f"/{p}*") for p in rw_p],
        })
    return statements


def policy_document(statements: Sequence[dict[str, Any]]) -> pulumi.Output[str]:
    """Render statements with ``aws.iam.get_policy_document_output`` (the provider's own JSON)."""
    import pulumi_aws as aws

    return aws.iam.get_policy_document_output(statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            sid=s["sid"],
            effect="Allow",
            actions=s["actions"],
            resources=s["resources"],
            conditions=[aws.iam.GetPolicyDocumentStatementConditionArgs(**c) for c in s.get("conditions", [])],
        )
        for s in statements
    ]).json
