"""Storage: the S3 data bucket, EBS (default gp3 class), EFS (shared RWX class) and FSx for Lustre.

Decisions worth knowing:

* **One customer KMS key per store** (EBS volumes, EFS, Lustre), rotation on.
  The EBS key's policy names the EBS CSI role, limited to use through EC2,
  because the driver creates volumes with that key; EFS and FSx use their keys
  through grants the service creates at file-system creation. The cluster's
  secrets key stays reserved for envelope encryption.
* **The data bucket uses SSE-S3**, not SSE-KMS: training and serving roles
  (workload layer) and the FSx data repository association then need S3
  permissions only; a customer key would have to be granted to every one of
  them. Versioning, a public access block, bucket-owner-enforced ownership and
  a TLS-only bucket policy complete it.
* **gp2 is not patched.** EKS stopped marking the ``gp2`` class default on
  clusters created at Kubernetes 1.30 and later; every supported version here
  is newer and the cluster is always created by this program, so ``gp3`` is
  the only default class. A patch would fail on a cluster without ``gp2``.
* **Data survives ``pulumi destroy`` in prod**: with ``protectData`` the file
  systems and the bucket are ``protect``-ed and ``retain_on_delete``; dev
  (``protectData: false``) deletes them, bucket contents included.
* **FSx for Lustre is single-AZ**: the file system lives in one private
  subnet (the first AZ). Pods in other AZs still mount it (cross-AZ traffic);
  training that needs it should prefer that AZ. It has no FSx backups
  (unsupported with a data repository association): the durable copy is the
  versioned S3 bucket, kept current by auto-export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.addons import iam, manifests, values
from components.addons.common import (
    AddonTarget, addon_identity, helm_release, managed_addon, policy_json, scope_output,
)
from components.aws_env import AwsEnv
from components.contracts import FsxLustreVolume
from components.conventions import PLATFORM_NAMESPACE, child, name_tags

#: Key prefixes of the data bucket: workloads read ``datasets/``, write ``checkpoints/``, serve ``models/``.
DATA_PREFIXES = ("datasets/", "checkpoints/", "models/")
#: Prefixes linked into the Lustre file system (``/datasets``, ``/checkpoints``, ``/models``).
LUSTRE_LINKED_PREFIXES = ("datasets/", "checkpoints/", "models/")
#: Linked for reading only: models are published to S3, and Lustre serves them to endpoints (a model
#: cache, ``model.cache: fsx``); a pod writing under /models must never overwrite a served model in S3.
LUSTRE_IMPORT_ONLY_PREFIXES = ("models/",)
LUSTRE_PORTS = ((988, 988), (1018, 1023))
NFS_PORT = 2049
DRA_EVENTS = ["NEW", "CHANGED", "DELETED"]


def _data_opts(parent: pulumi.Resource, protect: bool, **kwargs) -> pulumi.ResourceOptions:
    return child(parent, protect=protect, retain_on_delete=protect, **kwargs)


def _key(parent: pulumi.Resource, name: str, description: str, policy: pulumi.Input[str], tags: dict,
         protect: bool = False, depends_on: Sequence[pulumi.Resource] = ()) -> aws.kms.Key:
    return aws.kms.Key(
        f"{name}-key", description=description, enable_key_rotation=True, deletion_window_in_days=30,
        policy=policy, tags=tags,
        # A retained file system is unreadable without its key: keep the key as long as the data.
        opts=_data_opts(parent, protect, depends_on=list(depends_on)))


# --------------------------------------------------------------------------- S3 data bucket


@dataclass(frozen=True)
class DataBucketArgs:
    """Arguments for :class:`DataBucket`."""

    #: The bucket's S3 name: deterministic (``AwsEnv.bucket_name``) or configured (``dataBucketName``), so its
    #: ARN, and every document naming it, is known at the first preview. S3 names are global.
    bucket_name: pulumi.Input[str]
    #: Protect and retain the bucket on destroy; when False, destroy also empties it.
    protect: bool
    #: Partition for the bucket's ARN.
    env: AwsEnv
    #: Days a replaced or deleted object version is kept (recovery window for overwritten checkpoints).
    noncurrent_version_days: int = 30
    #: Tags for the bucket.
    tags: Mapping[str, str] = field(default_factory=dict)


class DataBucket(pulumi.ComponentResource):
    """Versioned, encrypted, private, TLS-only bucket for datasets, checkpoints and models."""

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:DataBucket", name, None, opts)
        tags = dict(args.tags)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket_name, force_destroy=not args.protect, tags=tags,
            # A fixed name cannot be created while the old bucket exists: a replacement deletes first. In prod
            # (protectData) the bucket is protected, so Pulumi refuses the replacement instead of emptying it.
            opts=_data_opts(self, args.protect, delete_before_replace=True))
        bucket = self.bucket.id
        bucket_arn = args.env.bucket_arn(args.bucket_name)  # from parts: known at the first preview
        # The configuration is kept with a retained bucket (deleting it would e.g. suspend versioning).
        keep = lambda **kw: _data_opts(self, args.protect, **kw)  # noqa: E731
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=keep())
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=keep())
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256"),
            )], opts=keep())
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=keep())
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-and-abandoned-uploads", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.noncurrent_version_days),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7),
            )], opts=keep())
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket,
            policy=policy_json(bucket_arn.apply(iam.deny_insecure_transport)),
            # S3 rejects policy writes racing the public access block on a new bucket.
            opts=keep(depends_on=[public_block]))
        self.bucket_name = self.bucket.bucket
        #: Built from parts, for documents (workload roles); depend on :attr:`bucket` for ordering.
        self.bucket_arn = bucket_arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


# --------------------------------------------------------------------------- EBS


@dataclass(frozen=True)
class EbsStorageArgs:
    """Arguments for :class:`EbsStorage`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget
    #: Tags for the key, the role and the add-on.
    tags: Mapping[str, str] = field(default_factory=dict)


class EbsStorage(pulumi.ComponentResource):
    """The EBS CSI managed add-on and the cluster's default StorageClass (gp3, customer-key encrypted)."""

    key: aws.kms.Key
    addon: aws.eks.Addon
    storage_class: k8s.storage.v1.StorageClass
    storage_class_name: str = manifests.GP3_CLASS

    def __init__(self, name: str, args: EbsStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:EbsStorage", name, None, opts)
        t = args.target
        tags = dict(args.tags)
        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.EBS_CSI_SERVICE_ACCOUNT,
                                  managed_policies=("AmazonEBSCSIDriverPolicy",))
        scope = scope_output(t.env, t.cluster.configured_name)
        # The role's ARN from parts keeps the key policy known at the first preview. KMS refuses a policy whose
        # principal does not exist yet, so the key waits for the identity explicitly.
        key_policy = pulumi.Output.all(scope, identity.static_role_arn).apply(
            lambda a: iam.storage_key_policy(a[0], [a[1]], via_service="ec2"))
        self.key = _key(self, name, f"EBS volumes of {t.cluster.configured_name} (gp3 class)",
                        policy_json(key_policy), tags, depends_on=[identity])
        self.addon = managed_addon(self, name, "aws-ebs-csi-driver", t, identity=identity,
                                   configuration=values.csi_addon_configuration())
        sc = manifests.gp3_storage_class(self.key.arn)
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3", **manifests.storage_class_args(sc),
            opts=child(self, provider=t.cluster.provider, depends_on=[self.addon]))
        self.register_outputs({"storageClass": self.storage_class_name, "kmsKeyArn": self.key.arn})


# --------------------------------------------------------------------------- EFS


@dataclass(frozen=True)
class EfsStorageArgs:
    """Arguments for :class:`EfsStorage`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget
    #: VPC of the mount targets' security group.
    vpc_id: pulumi.Input[str]
    #: One mount target per subnet: every private subnet, so pods in any AZ mount locally.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: Security groups allowed to reach NFS (the cluster and node groups); never a CIDR.
    client_security_group_ids: Sequence[pulumi.Input[str]]
    #: Protect and retain the file system (and its key) on destroy; keep access points when claims go.
    protect: bool
    #: Tags for every AWS resource created here.
    tags: Mapping[str, str] = field(default_factory=dict)


class EfsStorage(pulumi.ComponentResource):
    """The EFS CSI managed add-on, an encrypted file system with mount targets, and the ``efs-sc`` class."""

    file_system: aws.efs.FileSystem
    file_system_id: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup
    addon: aws.eks.Addon
    storage_class: k8s.storage.v1.StorageClass
    storage_class_name: str = manifests.EFS_CLASS

    def __init__(self, name: str, args: EfsStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:EfsStorage", name, None, opts)
        t = args.target
        tags = dict(args.tags)
        scope = scope_output(t.env, t.cluster.configured_name)
        key = _key(self, name, f"EFS file system of {t.cluster.configured_name}",
                   policy_json(scope.apply(iam.storage_key_policy)), tags, args.protect)
        self.file_system = aws.efs.FileSystem(
            f"{name}-fs", encrypted=True, kms_key_id=key.arn, performance_mode="generalPurpose",
            throughput_mode="elastic", tags=name_tags(tags, f"{t.cluster.configured_name}-shared"),
            opts=_data_opts(self, args.protect))
        self.file_system_id = self.file_system.id
        aws.efs.FileSystemPolicy(
            f"{name}-fs-policy", file_system_id=self.file_system.id,
            # Statements without Resource apply to the file system the policy is attached to (as the EFS console
            # writes them): the file system's ID, which AWS assigns, never has to be known at preview.
            policy=policy_json(iam.efs_file_system_policy()),
            opts=_data_opts(self, args.protect))
        aws.efs.BackupPolicy(
            f"{name}-backup", file_system_id=self.file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED" if args.protect else "DISABLED"),
            opts=_data_opts(self, args.protect))

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="EFS mount targets: NFS from the cluster only",
            tags=name_tags(tags, f"{t.cluster.configured_name}-efs"), opts=child(self))
        for i, source in enumerate(args.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nfs-from-{i}", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=NFS_PORT, to_port=NFS_PORT, referenced_security_group_id=source,
                description="NFS from cluster/node security group", tags=tags, opts=child(self))
        mounts = [
            aws.efs.MountTarget(f"{name}-mount-{i}", file_system_id=self.file_system.id, subnet_id=subnet,
                                security_groups=[self.security_group.id], opts=child(self))
            for i, subnet in enumerate(args.subnet_ids)
        ]

        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.EFS_CSI_SERVICE_ACCOUNT,
                                  managed_policies=("AmazonEFSCSIDriverPolicy",))
        self.addon = managed_addon(self, name, "aws-efs-csi-driver", t, identity=identity,
                                   configuration=values.csi_addon_configuration())
        sc = manifests.efs_storage_class(self.file_system.id, retain=args.protect)
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-efs-sc", **manifests.storage_class_args(sc),
            opts=child(self, provider=t.cluster.provider, depends_on=[self.addon, *mounts]))
        self.register_outputs({"fileSystemId": self.file_system_id, "storageClass": self.storage_class_name})


# --------------------------------------------------------------------------- FSx for Lustre


@dataclass(frozen=True)
class FsxCsiDriverArgs:
    """Arguments for :class:`FsxCsiDriver`."""

    #: The cluster to install into; its Kubernetes minor picks add-on or chart.
    target: AddonTarget
    #: Tags for the role and policy.
    tags: Mapping[str, str] = field(default_factory=dict)


class FsxCsiDriver(pulumi.ComponentResource):
    """The FSx for Lustre CSI driver: the EKS managed add-on where offered for the minor, else the pinned chart."""

    driver: pulumi.Resource
    managed: bool

    def __init__(self, name: str, args: FsxCsiDriverArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:FsxCsiDriver", name, None, opts)
        t = args.target
        scope = scope_output(t.env, t.cluster.configured_name)
        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.FSX_CSI_SERVICE_ACCOUNT,
                                  policy=policy_json(scope.apply(iam.fsx_csi_policy)))
        self.managed = fsx_addon_offered(t.kubernetes_version)
        if self.managed:
            # Default configuration: the add-on's configuration schema for controller placement could not be
            # verified, and a key it rejects fails the install. Its node plugin tolerates every taint by default.
            # Controller on the system pool, as the chart fallback does (the add-on takes the chart's values).
            self.driver = managed_addon(self, name, "aws-fsx-csi-driver", t, identity=identity,
                                        configuration=values.csi_addon_configuration())
        else:
            self.driver = helm_release(
                self, name, "aws-fsx-csi-driver", t, namespace=PLATFORM_NAMESPACE,
                values=values.fsx_chart_values(region=t.env.region,
                                               sa_annotations=identity.service_account_annotations),
                depends_on=[identity])
        self.register_outputs({"managedAddon": self.managed})


def fsx_addon_offered(kubernetes_version: str) -> bool:
    return kubernetes_version in versions.EKS_ADDONS["aws-fsx-csi-driver"].versions


@dataclass(frozen=True)
class FsxLustreArgs:
    """Arguments for :class:`FsxLustre`."""

    #: Partition, region and account for the key policy.
    env: AwsEnv
    #: Cluster name, for names, tags and the key policy scope.
    cluster_name: str
    #: VPC of the file system's security group.
    vpc_id: pulumi.Input[str]
    #: The one private subnet the file system lives in (Lustre is single-AZ).
    subnet_id: pulumi.Input[str]
    #: Security groups of the clients (cluster and nodes): the only sources of Lustre traffic.
    client_security_group_ids: Sequence[pulumi.Input[str]]
    #: Storage capacity: 1200 or a multiple of 2400 GiB (validated by the config module).
    capacity_gib: int
    #: MB/s per TiB: 125, 250, 500 or 1000.
    throughput_per_tib: int
    #: Data bucket to link (``datasets/`` and ``checkpoints/``).
    bucket_name: pulumi.Input[str]
    #: Protect and retain the file system (and its key) on destroy.
    protect: bool
    #: Tags for every AWS resource created here.
    tags: Mapping[str, str] = field(default_factory=dict)


class FsxLustre(pulumi.ComponentResource):
    """A PERSISTENT_2 Lustre file system, KMS-encrypted, linked to the data bucket both ways."""

    file_system: aws.fsx.LustreFileSystem
    security_group: aws.ec2.SecurityGroup
    volume: FsxLustreVolume

    def __init__(self, name: str, args: FsxLustreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:FsxLustre", name, None, opts)
        tags = dict(args.tags)
        env = args.env
        scope = scope_output(env, args.cluster_name)
        key = _key(self, name, f"FSx for Lustre file system of {args.cluster_name}",
                   policy_json(scope.apply(iam.storage_key_policy)), tags, args.protect)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="FSx for Lustre: LNet from the cluster and itself",
            tags=name_tags(tags, f"{args.cluster_name}-lustre"), opts=child(self))
        sg = self.security_group.id
        sources: list[tuple[str, pulumi.Input[str]]] = [("self", sg)]
        sources += [(str(i), s) for i, s in enumerate(args.client_security_group_ids)]
        for label, source in sources:
            for low, high in LUSTRE_PORTS:
                suffix = f"{label}-{low}" if low == high else f"{label}-{low}-{high}"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-in-{suffix}", security_group_id=sg, ip_protocol="tcp", from_port=low, to_port=high,
                    referenced_security_group_id=source, description="Lustre (LNet) from clients and peers",
                    tags=tags, opts=child(self))
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-out-{suffix}", security_group_id=sg, ip_protocol="tcp", from_port=low, to_port=high,
                    referenced_security_group_id=source, description="Lustre (LNet) to clients and peers",
                    tags=tags, opts=child(self))

        # LNet connections go both ways, so the clients' groups must admit the file system too (a
        # missing client-side rule is the classic "mount hangs" failure).
        for i, client in enumerate(args.client_security_group_ids):
            for low, high in LUSTRE_PORTS:
                suffix = f"{low}" if low == high else f"{low}-{high}"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-client-{i}-in-{suffix}", security_group_id=client, ip_protocol="tcp", from_port=low,
                    to_port=high, referenced_security_group_id=sg, description="Lustre (LNet) from FSx for Lustre",
                    tags=tags, opts=child(self))

        self.file_system = aws.fsx.LustreFileSystem(
            f"{name}-fs",
            deployment_type="PERSISTENT_2",
            storage_type="SSD",
            storage_capacity=args.capacity_gib,
            per_unit_storage_throughput=args.throughput_per_tib,
            subnet_ids=args.subnet_id,
            security_group_ids=[sg],
            kms_key_id=key.arn,
            file_system_type_version="2.15",
            data_compression_type="LZ4",
            metadata_configuration=aws.fsx.LustreFileSystemMetadataConfigurationArgs(mode="AUTOMATIC"),
            log_configuration=aws.fsx.LustreFileSystemLogConfigurationArgs(level="WARN_ERROR"),
            # FSx backups are unsupported with a data repository association; S3 (versioned) is the copy.
            automatic_backup_retention_days=0,
            skip_final_backup=True,
            tags=name_tags(tags, f"{args.cluster_name}-lustre"),
            opts=_data_opts(self, args.protect))
        for prefix in LUSTRE_LINKED_PREFIXES:
            slug = prefix.strip("/")
            aws.fsx.DataRepositoryAssociation(
                f"{name}-{slug}",
                file_system_id=self.file_system.id,
                file_system_path=f"/{slug}",
                data_repository_path=pulumi.Output.concat("s3://", args.bucket_name, "/", prefix),
                batch_import_meta_data_on_create=True,
                # Unlinking must never delete data from the file system.
                delete_data_in_filesystem=False,
                s3=aws.fsx.DataRepositoryAssociationS3Args(
                    auto_import_policy=aws.fsx.DataRepositoryAssociationS3AutoImportPolicyArgs(events=DRA_EVENTS),
                    auto_export_policy=None if prefix in LUSTRE_IMPORT_ONLY_PREFIXES
                    else aws.fsx.DataRepositoryAssociationS3AutoExportPolicyArgs(events=DRA_EVENTS),
                ),
                tags=tags,
                opts=child(self))
        self.volume = FsxLustreVolume(
            file_system_id=self.file_system.id,
            dns_name=self.file_system.dns_name,
            mount_name=self.file_system.mount_name,
            capacity_gib=args.capacity_gib,
        )
        self.register_outputs({"fileSystemId": self.file_system.id, "dnsName": self.file_system.dns_name})
