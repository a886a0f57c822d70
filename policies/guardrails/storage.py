"""Storage rules: encryption of EBS, EFS and FSx, and protection of the data that outlives a stack."""

from __future__ import annotations

from typing import Iterable

from guardrails._meta import Ctx, resource_rule
from guardrails.common import flag, is_set, obj, tag_map
from guardrails.podspecs import kind_of

EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
EFS = "aws:efs/fileSystem:FileSystem"
FSX_TYPES = ("aws:fsx/lustreFileSystem:LustreFileSystem", "aws:fsx/ontapFileSystem:OntapFileSystem",
             "aws:fsx/openZfsFileSystem:OpenZfsFileSystem", "aws:fsx/windowsFileSystem:WindowsFileSystem")
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
DATA_STORE_TAG = "mlplatform.io/data-store"


@resource_rule(
    name="storageclass-ebs-encrypted",
    description="StorageClasses that provision EBS volumes encrypt them.",
    remediation="Set parameters.encrypted: \"true\" (and kmsKeyId for a customer key) on every ebs.csi.aws.com "
                "or kubernetes.io/aws-ebs StorageClass.",
    type_prefixes=("kubernetes:",),
)
def storageclass_ebs_encrypted(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) != "StorageClass":
        return
    if str(props.get("provisioner") or "") not in EBS_PROVISIONERS:
        return
    if flag(obj(props.get("parameters")).get("encrypted")) is not True:
        yield f"{props.get('provisioner')} StorageClass without parameters.encrypted: \"true\""


@resource_rule(
    name="efs-encrypted",
    description="EFS file systems are encrypted at rest (with a customer KMS key when requireCustomerKey is set).",
    remediation="Set encrypted=true and kmsKeyId to a rotating customer-managed key; encryption cannot be turned "
                "on after creation.",
    types=(EFS,),
    config={"requireCustomerKey": {"type": "boolean", "default": True,
                                   "description": "Also require kmsKeyId (a customer-managed key)."}},
)
def efs_encrypted(props: dict, ctx: Ctx) -> Iterable[str]:
    if flag(props.get("encrypted")) is not True:
        yield "the file system is not encrypted at rest (encrypted is not true)"
    elif ctx.config.get("requireCustomerKey") and not is_set(props, "kmsKeyId"):  # presence only: see is_set
        yield "the file system uses the AWS-managed key; set kmsKeyId to a customer-managed key"


@resource_rule(
    name="fsx-customer-kms-key",
    description="FSx file systems encrypt with a customer-managed KMS key.",
    remediation="Set kmsKeyId to a rotating customer-managed key (Lustre: use a PERSISTENT_* deployment type; "
                "SCRATCH types only support the FSx service key).",
    types=FSX_TYPES,
    config={
        "requireCustomerKey": {"type": "boolean", "default": True, "description": "Require kmsKeyId."},
        "allowScratch": {"type": "boolean", "default": False,
                         "description": "Accept SCRATCH Lustre file systems, which cannot use a customer key."},
    },
)
def fsx_customer_kms_key(props: dict, ctx: Ctx) -> Iterable[str]:
    if not ctx.config.get("requireCustomerKey", True):
        return
    deployment = str(props.get("deploymentType") or "")
    if deployment.startswith("SCRATCH"):
        if not ctx.config.get("allowScratch"):
            yield f"{deployment} file systems cannot use a customer KMS key; use PERSISTENT_2 or set allowScratch"
        return
    if not is_set(props, "kmsKeyId"):  # presence only: a key created in this deploy is unknown at preview
        yield "no kmsKeyId: the file system is encrypted with the AWS-managed FSx key"


@resource_rule(
    name="ebs-volumes-encrypted",
    description="Standalone EBS volumes are encrypted.",
    remediation="Set encrypted=true (and kmsKeyId for a customer key) on aws.ebs.Volume.",
    types=("aws:ebs/volume:Volume",),
)
def ebs_volumes_encrypted(props: dict, ctx: Ctx) -> Iterable[str]:
    if flag(props.get("encrypted")) is not True:
        yield "the volume is not encrypted (encrypted is not true)"


@resource_rule(
    name="stateful-data-protected",
    description="Data stores (EFS and FSx file systems, S3 buckets) are protected from deletion by Pulumi.",
    remediation="Create data stores with ResourceOptions(protect=True, retain_on_delete=True); buckets that hold "
                f"nothing worth keeping may opt out with the tag {DATA_STORE_TAG}=\"false\".",
    types=(EFS,) + FSX_TYPES + BUCKETS,
    config={"requireProtect": {"type": "boolean", "default": True,
                               "description": "Require protect=true on data stores."}},
)
def stateful_data_protected(props: dict, ctx: Ctx) -> Iterable[str]:
    if not ctx.config.get("requireProtect", True) or ctx.protect:
        return
    if ctx.type in BUCKETS and str(tag_map(props.get("tags")).get(DATA_STORE_TAG, "")).lower() == "false":
        return
    yield "the data store is not protected (protect=false): a destroy or a replacement deletes its data"
