"""Container registry rules (CIS EKS 5.1): ECR repositories scan images, and nobody but CI writes to them.

The approved-registries rule (``workloads.py``) decides where images may come
from; these rules apply when the stack creates or grants access to ECR.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Mapping, Optional

from guardrails._meta import Ctx, StackResource, resource_rule, stack_rule
from guardrails.common import action_matches, actions, allows, as_list, conditions, flag, obj, parse_doc, \
    principals, resources, statements
from guardrails.iam import ATTACHMENT_TYPES, IDENTITY_POLICY_TYPES, ROLE, identity_documents

REPOSITORY = "aws:ecr/repository:Repository"
SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
REGISTRY_POLICIES = ("aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:ecr/registryPolicy:RegistryPolicy")
#: AWS managed policies that can push or delete images (ECR API reference; nodes need only PullOnly/ReadOnly).
ECR_WRITE_POLICIES = ["AmazonEC2ContainerRegistryFullAccess", "AmazonEC2ContainerRegistryPowerUser",
                      "AmazonElasticContainerRegistryPublicFullAccess"]
#: ECR actions that change what a repository serves or who may use it (ECR API operations).
ECR_WRITE_ACTIONS = ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                     "ecr:BatchDeleteImage", "ecr:DeleteRepository", "ecr:SetRepositoryPolicy",
                     "ecr:DeleteRepositoryPolicy", "ecr:PutRegistryPolicy", "ecr:PutLifecyclePolicy",
                     "ecr:PutImageTagMutability"]


def _managed_name(arn: Any) -> str:
    return str(arn or "").rsplit("/", 1)[-1]


def _scan_filters_cover(rule: Mapping[str, Any], repo_name: Any) -> bool:
    if str(rule.get("scanFrequency") or "") not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
        return False
    for f in as_list(rule.get("repositoryFilters")):
        pattern = str(obj(f).get("filter") or "")
        if pattern and (pattern == "*" or (isinstance(repo_name, str) and fnmatch.fnmatchcase(repo_name, pattern))):
            return True
    return False


@stack_rule(
    name="ecr-image-scanning",
    description="Every ECR repository the stack creates scans images: scanOnPush, or a registry scanning "
                "configuration whose rules cover the repository.",
    remediation="Set imageScanningConfiguration.scanOnPush=true on the repository, or create an "
                "aws.ecr.RegistryScanningConfiguration (ENHANCED, SCAN_ON_PUSH or CONTINUOUS_SCAN) whose filter "
                "matches it.",
    cis=("5.1.1",),
)
def ecr_image_scanning(resources_: list[StackResource], ctx: Ctx) -> Iterable[tuple[str, Optional[str]]]:
    rules = [obj(rule) for r in resources_ if r.type == SCANNING for rule in as_list(r.props.get("rules"))]
    for r in resources_:
        if r.type != REPOSITORY:
            continue
        if flag(obj(r.props.get("imageScanningConfiguration")).get("scanOnPush")) is True:
            continue
        if any(_scan_filters_cover(rule, r.props.get("name")) for rule in rules):
            continue
        yield (f"ECR repository {r.name} does not scan images (no scanOnPush, no registry scanning rule for it)",
               r.urn)


@resource_rule(
    name="ecr-access-minimized",
    description="ECR stays read-only for the cluster and closed to the world: no role, user or group gets ECR "
                "write-capable managed policies or ECR write actions on Resource \"*\", and no repository or "
                "registry policy lets any principal (\"*\") in without a condition.",
    remediation="Give nodes AmazonEC2ContainerRegistryPullOnly (or ReadOnly); give CI push rights on its own "
                "repositories' ARNs; name principals (accounts, roles) in repository policies or add an "
                "aws:PrincipalOrgID condition.",
    types=IDENTITY_POLICY_TYPES + ATTACHMENT_TYPES + REGISTRY_POLICIES,
    config={
        "deniedPolicies": {"type": "array", "items": {"type": "string"}, "default": ECR_WRITE_POLICIES,
                           "description": "AWS managed policies that give ECR write access."},
        "writeActions": {"type": "array", "items": {"type": "string"}, "default": ECR_WRITE_ACTIONS,
                         "description": "ECR actions no identity may hold on Resource \"*\"."},
    },
    cis=("5.1.2", "5.1.3"),
)
def ecr_access_minimized(props: dict, ctx: Ctx) -> Iterable[str]:
    if ctx.type in REGISTRY_POLICIES:
        for i, stmt in enumerate(statements(parse_doc(props.get("policy")))):
            if not allows(stmt):
                continue
            wild = any("*" in v for vs in principals(stmt).values() for v in vs)
            if wild and not conditions(stmt):
                yield f"statement {stmt.get('Sid') or i} lets any principal (\"*\") use the registry"
        return
    denied = set(ctx.config.get("deniedPolicies") or [])
    if ctx.type in ATTACHMENT_TYPES or ctx.type == ROLE:
        arns = as_list(props.get("managedPolicyArns")) if ctx.type == ROLE \
            else as_list(props.get("policyArn")) + as_list(props.get("policyArns"))
        for arn in arns:
            if _managed_name(arn) in denied:
                yield f"attaches {_managed_name(arn)}, which can push and delete images"
    if ctx.type in IDENTITY_POLICY_TYPES:
        risky = [str(a) for a in ctx.config.get("writeActions") or []]
        for where, doc in identity_documents(ctx.type, props):
            for i, stmt in enumerate(statements(doc)):
                if not allows(stmt) or "*" not in resources(stmt):
                    continue
                hits = [a for a in risky if any(action_matches(p, a) for p in actions(stmt))]
                if hits:
                    yield f"{where} statement {stmt.get('Sid') or i} allows {', '.join(hits)} on every repository"
