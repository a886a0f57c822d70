"""Cluster rules: secrets encryption, control-plane logs, supported versions, KMS keys, deletion protection."""

from __future__ import annotations

from typing import Iterable

from guardrails._meta import Ctx, resource_rule
from guardrails.common import as_list, conditions, flag, is_set, obj, parse_doc, principals, statements

EKS_CLUSTER = "eks:index:Cluster"
AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster"
CLUSTERS = (EKS_CLUSTER, AWS_EKS_CLUSTER)
NODE_GROUPS = ("eks:index:ManagedNodeGroup", "eks:index:NodeGroupV2", "eks:index:NodeGroup", "aws:eks/nodeGroup:NodeGroup")

#: Copied from components/versions.py SUPPORTED_KUBERNETES_VERSIONS (the pack cannot import the program);
#: tests/test_policies_cluster.py fails when the two drift apart.
SUPPORTED_KUBERNETES_VERSIONS = ["1.34", "1.35", "1.36"]
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@resource_rule(
    name="eks-secrets-encryption",
    description="Kubernetes Secrets must be envelope-encrypted with a customer KMS key.",
    remediation="Pass encryptionConfigKeyArn (pulumi-eks) or encryptionConfig {provider.keyArn, resources "
                "[\"secrets\"]} (aws.eks.Cluster) with a customer-managed key that rotates.",
    types=CLUSTERS,
    checkov=("CKV_AWS_58",),
    cis=("5.3.1",),
)
def eks_secrets_encryption(props: dict, ctx: Ctx) -> Iterable[str]:
    # Only presence matters here (the key itself is judged by kms-key-rotation), so a key created in the same
    # deploy, whose ARN is unknown at the first preview, does not stop the rule from running.
    if ctx.type == EKS_CLUSTER:
        if not is_set(props, "encryptionConfigKeyArn"):
            yield "no encryptionConfigKeyArn: Secrets are stored with only the default EBS encryption of etcd"
        return
    enc = props.get("encryptionConfig")
    configs = [e for e in as_list(enc) if isinstance(e, dict)]
    if not any(is_set(obj(c.get("provider")), "keyArn") and "secrets" in as_list(c.get("resources"))
               for c in configs):
        yield "encryptionConfig does not encrypt the \"secrets\" resource with a KMS key"


@resource_rule(
    name="eks-control-plane-logging",
    description="All control-plane log types (api, audit, authenticator, controllerManager, scheduler) go to CloudWatch.",
    remediation="Set enabledClusterLogTypes to every type in requiredLogTypes.",
    types=CLUSTERS,
    config={
        "requiredLogTypes": {"type": "array", "items": {"type": "string"}, "default": LOG_TYPES,
                             "description": "Control-plane log types that must be enabled."},
    },
    checkov=("CKV_AWS_37",),
    cis=("2.1.1",),
)
def eks_control_plane_logging(props: dict, ctx: Ctx) -> Iterable[str]:
    enabled = {str(t) for t in as_list(props.get("enabledClusterLogTypes"))}
    missing = [t for t in ctx.config.get("requiredLogTypes") or [] if t not in enabled]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)}"


def _minor(version: str) -> str:
    return ".".join(str(version).lstrip("v").split(".")[:2])


@resource_rule(
    name="eks-supported-version",
    description="Clusters and node groups run a Kubernetes minor version the platform supports.",
    remediation="Pin the cluster's version to one of supportedVersions (node groups inherit it when they do "
                "not set their own).",
    types=CLUSTERS + NODE_GROUPS,
    config={
        "supportedVersions": {"type": "array", "items": {"type": "string"}, "default": SUPPORTED_KUBERNETES_VERSIONS,
                              "description": "Kubernetes minor versions the platform has validated."},
    },
    checkov=("CKV_AWS_339",),
)
def eks_supported_version(props: dict, ctx: Ctx) -> Iterable[str]:
    supported = [str(v) for v in ctx.config.get("supportedVersions") or []]
    version = props.get("version")
    if not version:
        if ctx.type in CLUSTERS:
            yield (f"no version pinned: EKS picks its newest default, which the platform has not validated "
                   f"(supported: {', '.join(supported)})")
        return
    if _minor(str(version)) not in supported:
        yield f"Kubernetes {version} is not supported (supported: {', '.join(supported)})"


def _symmetric_encrypt_decrypt(props: dict) -> bool:
    spec = str(props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT")
    usage = str(props.get("keyUsage") or "ENCRYPT_DECRYPT")
    return spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT"


@resource_rule(
    name="kms-key-rotation",
    description="Symmetric customer KMS keys rotate automatically, and no key policy grants a wildcard "
                "principal without a condition.",
    remediation="Set enableKeyRotation=true on symmetric keys; in the key policy name principals explicitly "
                "(the account root, specific roles) or add a condition that scopes a \"*\" principal.",
    types=("aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy"),
)
def kms_key_rotation(props: dict, ctx: Ctx) -> Iterable[str]:
    if ctx.type == "aws:kms/key:Key" and _symmetric_encrypt_decrypt(props) \
            and flag(props.get("enableKeyRotation")) is not True:
        yield "automatic key rotation is off for a symmetric key (enableKeyRotation is not true)"
    for i, stmt in enumerate(statements(parse_doc(props.get("policy")))):
        if str(stmt.get("Effect", "")).lower() != "allow":
            continue
        wild = any(v == "*" for vs in principals(stmt).values() for v in vs)
        if wild and not conditions(stmt):
            yield f"key policy statement {stmt.get('Sid') or i} allows principal \"*\" without a condition"


@resource_rule(
    name="eks-deletion-protection",
    description="Clusters have deletion protection on, so an accidental destroy cannot take the control plane.",
    remediation="Set deletionProtection=true (turn it off deliberately before a planned teardown).",
    types=CLUSTERS,
)
def eks_deletion_protection(props: dict, ctx: Ctx) -> Iterable[str]:
    if flag(props.get("deletionProtection")) is not True:
        yield "deletion protection is off (deletionProtection is not true)"


@resource_rule(
    name="eks-access-entries-only",
    description="Cluster access is managed by EKS access entries only (authentication mode API), not the "
                "aws-auth ConfigMap.",
    remediation="Set authenticationMode=\"API\" (pulumi-eks) or accessConfig.authenticationMode=\"API\" and map "
                "admins with access entries; the aws-auth ConfigMap is edited in-cluster, outside review, and a "
                "bad edit locks everyone out.",
    types=CLUSTERS,
    config={
        "allowedModes": {"type": "array", "items": {"type": "string"}, "default": ["API"],
                         "description": "Authentication modes accepted (add API_AND_CONFIG_MAP during a migration)."},
    },
    cis=("4.1.7", "5.5.1"),
)
def eks_access_entries_only(props: dict, ctx: Ctx) -> Iterable[str]:
    mode = props.get("authenticationMode") if ctx.type == EKS_CLUSTER \
        else obj(props.get("accessConfig")).get("authenticationMode")
    allowed = [str(m) for m in ctx.config.get("allowedModes") or []]
    if str(mode or "CONFIG_MAP") not in allowed:
        yield f"authentication mode is {mode or 'unset (CONFIG_MAP)'}, not one of {', '.join(allowed)}"
