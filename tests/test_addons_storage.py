"""Storage add-ons under mocks: data bucket, EBS default class, EFS, FSx CSI driver and FSx for Lustre."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.addons.storage import (
    DataBucket, DataBucketArgs, EbsStorage, EbsStorageArgs, EfsStorage, EfsStorageArgs, FsxCsiDriver,
    FsxCsiDriverArgs, FsxLustre, FsxLustreArgs,
)
from tests.addon_helpers import (
    EKS_ADDON, HELM_RELEASE, PRIVATE, TAGS, VPC, deps, managed_policy_arns, release, run_addon, statements,
)
from tests.helpers import aws_managed_arn, of_type, policy_doc, run_component
from validators import helm_values, upstream

CLIENT_SGS = ["sg-cluster0000000000", "sg-nodes00000000000"]


# --------------------------------------------------------------------------- data bucket


def bucket_run(protect, region="us-west-2"):
    return run_component(lambda env: DataBucket("data", DataBucketArgs(
        bucket_name=env.bucket_name("ml-test", "data"), protect=protect, env=env, tags=TAGS)), region=region)


@pytest.mark.parametrize("protect", [True, False])
def test_data_bucket_protection_follows_protect_data(protect):
    run = bucket_run(protect)
    (bucket,) = of_type(run, "aws:s3/bucket:Bucket")
    assert bucket.options["protect"] is protect and bucket.options["retainOnDelete"] is protect
    # Dev must be deletable even with objects in it; prod never empties itself.
    assert bucket.inputs["forceDestroy"] is (not protect)
    assert bucket.inputs["tags"] == TAGS and bucket.inputs["bucket"] == "ml-test-data-123456789012-us-west-2"
    # A fixed name cannot coexist with its replacement: the bucket is deleted before it is replaced.
    assert bucket.options["deleteBeforeReplace"] is True


def test_data_bucket_is_private_encrypted_versioned_and_tls_only():
    run = bucket_run(True)
    (bucket,) = of_type(run, "aws:s3/bucket:Bucket")
    pab = of_type(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    sse = of_type(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0]
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    ver = of_type(run, "aws:s3/bucketVersioning:BucketVersioning")[0]
    assert ver.inputs["versioningConfiguration"]["status"] == "Enabled"
    own = of_type(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0]
    assert own.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    pol = of_type(run, "aws:s3/bucketPolicy:BucketPolicy")[0]
    (deny,) = policy_doc(pol.inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"]
    for cfg in (sse, ver, own, pol, *of_type(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")):
        assert cfg.inputs["bucket"] == bucket.id


# --------------------------------------------------------------------------- EBS


def ebs_run(mode="pod-identity"):
    return run_addon(lambda t, cfg: EbsStorage("ebs", EbsStorageArgs(target=t, tags=TAGS)), mode=mode)


@pytest.fixture(scope="module")
def ebs():
    return ebs_run()


def test_gp3_is_the_only_default_class_encrypted_with_the_customer_key(ebs):
    (sc,) = of_type(ebs, "kubernetes:storage.k8s.io/v1:StorageClass")
    (key,) = [k for k in of_type(ebs, "aws:kms/key:Key") if k.name == "ebs-key"]
    assert sc.inputs["metadata"]["name"] == "gp3"
    assert sc.inputs["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert sc.inputs["provisioner"] == "ebs.csi.aws.com"
    assert sc.inputs["parameters"]["encrypted"] == "true" and sc.inputs["parameters"]["type"] == "gp3"
    assert sc.inputs["parameters"]["kmsKeyId"] == key.outputs["arn"]
    assert sc.inputs["volumeBindingMode"] == "WaitForFirstConsumer" and sc.inputs["allowVolumeExpansion"] is True
    # The class needs its driver; gp2 is not touched (EKS >= 1.30 does not mark it default).
    assert "ebs-aws-ebs-csi-driver" in deps(ebs, sc)
    assert not [r for r in ebs.registrations if r.type.endswith("StorageClassPatch")]


def test_ebs_key_rotates_and_its_policy_lets_the_csi_role_use_it(ebs):
    key = ebs.one("aws:kms/key:Key", "ebs-key")
    role = ebs.one("aws:iam/role:Role", "ebs-identity-role")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["tags"] == TAGS
    use = statements(key.inputs["policy"])["RolesUseKey"]
    assert use["Principal"] == {"AWS": role.outputs["arn"]}
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == "ec2.us-west-2.amazonaws.com"


def test_ebs_addon_pinned_with_managed_policy_and_pod_identity(ebs):
    addon = ebs.one(EKS_ADDON, "ebs-aws-ebs-csi-driver")
    assert addon.inputs["addonName"] == "aws-ebs-csi-driver"
    assert addon.inputs["addonVersion"] == versions.addon_version("aws-ebs-csi-driver", "1.35")
    assert json.loads(addon.inputs["configurationValues"]) == {"controller": {"nodeSelector": {"mlplatform.io/role": "system"}}}
    assert "serviceAccountRoleArn" not in addon.inputs  # pod identity binds the role
    assoc = ebs.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "ebs-identity-association")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("kube-system", "ebs-csi-controller-sa")
    # AWS keeps the driver's policy under /service-role/ (the vendored index says where, not the code).
    assert managed_policy_arns(ebs, "ebs-identity") == {aws_managed_arn("AmazonEBSCSIDriverPolicy")}
    assert {"ebs-identity-association", "ng-system"} <= deps(ebs, addon)
    assert not of_type(ebs, "kubernetes:core/v1:ServiceAccount")  # the add-on owns its service account


def test_ebs_addon_in_irsa_mode_gets_the_role_arn():
    run = ebs_run("irsa")
    addon = run.one(EKS_ADDON, "ebs-aws-ebs-csi-driver")
    role = run.one("aws:iam/role:Role", "ebs-identity-role")
    assert addon.inputs["serviceAccountRoleArn"] == role.outputs["arn"]
    assert not of_type(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    (sub,) = [v for k, v in cond.items() if k.endswith(":sub")]
    assert sub == "system:serviceaccount:kube-system:ebs-csi-controller-sa"


# --------------------------------------------------------------------------- EFS


def efs_run(protect=True):
    return run_addon(lambda t, cfg: EfsStorage("efs", EfsStorageArgs(
        target=t, vpc_id=VPC, subnet_ids=PRIVATE, client_security_group_ids=CLIENT_SGS, protect=protect,
        tags=TAGS)))


@pytest.fixture(scope="module")
def efs():
    return efs_run()


def test_efs_encrypted_with_customer_key_and_mounted_in_every_private_subnet(efs):
    fs = efs.one("aws:efs/fileSystem:FileSystem", "efs-fs")
    key = efs.one("aws:kms/key:Key", "efs-key")
    assert fs.inputs["encrypted"] is True and fs.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    mounts = of_type(efs, "aws:efs/mountTarget:MountTarget")
    assert sorted(m.inputs["subnetId"] for m in mounts) == sorted(PRIVATE)
    sg = efs.one("aws:ec2/securityGroup:SecurityGroup", "efs-sg")
    assert all(m.inputs["securityGroups"] == [sg.id] and m.inputs["fileSystemId"] == fs.id for m in mounts)


def test_efs_security_group_allows_nfs_only_from_cluster_and_nodes(efs):
    sg = efs.one("aws:ec2/securityGroup:SecurityGroup", "efs-sg")
    assert "ingress" not in sg.inputs or not sg.inputs["ingress"]
    rules = [r for r in of_type(efs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == sg.id]
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == sorted(CLIENT_SGS)
    for r in rules:
        assert (r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"]) == (2049, 2049, "tcp")
        assert "cidrIpv4" not in r.inputs and "cidrIpv6" not in r.inputs
    # No other rule anywhere opens the EFS group.
    assert not [r for r in efs.registrations if r.inputs.get("securityGroupId") == sg.id and r not in rules]


def test_efs_storage_class_access_points(efs):
    (sc,) = of_type(efs, "kubernetes:storage.k8s.io/v1:StorageClass")
    fs = efs.one("aws:efs/fileSystem:FileSystem", "efs-fs")
    p = sc.inputs["parameters"]
    assert sc.inputs["metadata"]["name"] == "efs-sc" and sc.inputs["provisioner"] == "efs.csi.aws.com"
    assert (p["provisioningMode"], p["fileSystemId"], p["directoryPerms"]) == ("efs-ap", fs.id, "700")
    assert p["uid"] and p["gid"] and p["basePath"] == "/dynamic"
    assert "annotations" not in sc.inputs["metadata"]  # never a second default class
    assert {"efs-aws-efs-csi-driver", "efs-mount-0", "efs-mount-2"} <= deps(efs, sc)
    addon = efs.one(EKS_ADDON, "efs-aws-efs-csi-driver")
    assert addon.inputs["addonVersion"] == versions.addon_version("aws-efs-csi-driver", "1.35")
    assert managed_policy_arns(efs, "efs-identity") == {aws_managed_arn("AmazonEFSCSIDriverPolicy")}


@pytest.mark.parametrize("protect", [True, False])
def test_efs_protection_follows_protect_data(protect):
    run = efs_run(protect)
    fs = run.one("aws:efs/fileSystem:FileSystem", "efs-fs")
    key = run.one("aws:kms/key:Key", "efs-key")
    assert fs.options["protect"] is protect and fs.options["retainOnDelete"] is protect
    assert key.options["retainOnDelete"] is protect  # a retained file system is useless without its key
    (sc,) = of_type(run, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.inputs["reclaimPolicy"] == ("Retain" if protect else "Delete")
    backup = of_type(run, "aws:efs/backupPolicy:BackupPolicy")[0]
    assert backup.inputs["backupPolicy"]["status"] == ("ENABLED" if protect else "DISABLED")


def test_efs_file_system_policy_requires_tls(efs):
    pol = of_type(efs, "aws:efs/fileSystemPolicy:FileSystemPolicy")[0]
    deny = statements(pol.inputs["policy"])["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --------------------------------------------------------------------------- FSx CSI driver


@pytest.mark.parametrize("minor", ["1.35", "1.36"])
def test_fsx_driver_is_the_managed_addon_where_offered(minor):
    run = run_addon(lambda t, cfg: FsxCsiDriver("fsx", FsxCsiDriverArgs(target=t)), kubernetes_version=minor)
    addon = run.one(EKS_ADDON, "fsx-aws-fsx-csi-driver")
    assert addon.inputs["addonVersion"] == versions.EKS_ADDONS["aws-fsx-csi-driver"].versions[minor]
    # The controller runs on the system pool (finding 7 of issue 14). The add-on packages the upstream chart;
    # every key set must be a value of that chart (upstream facts; the add-on's own JSON schema is only
    # readable with `aws eks describe-addon-configuration`).
    config = json.loads(addon.inputs["configurationValues"])
    assert config == {"controller": {"nodeSelector": {"mlplatform.io/role": "system"}}}
    fsx_chart = helm_values.ChartKnowledge(upstream.charts()["aws-fsx-csi-driver"])
    assert list(helm_values.value_errors(config, fsx_chart)) == []
    assert not [r for r in of_type(run, HELM_RELEASE) if r.name.startswith("fsx")]
    doc = statements(run.one("aws:iam/policy:Policy", "fsx-identity-policy").inputs["policy"])
    assert {a for s in doc.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} \
        == {"fsx:DescribeFileSystems"}


def test_fsx_driver_falls_back_to_the_pinned_chart_where_the_addon_is_not_offered():
    assert "1.34" not in versions.EKS_ADDONS["aws-fsx-csi-driver"].versions
    run = run_addon(lambda t, cfg: FsxCsiDriver("fsx", FsxCsiDriverArgs(target=t)), kubernetes_version="1.34",
                    mode="irsa")
    rel = release(run, "fsx-release")
    pin = versions.HELM_CHARTS["aws-fsx-csi-driver"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == (pin.chart, pin.version)
    assert rel.inputs["repositoryOpts"] == {"repo": pin.repository}
    role = run.one("aws:iam/role:Role", "fsx-identity-role")
    sa = rel.inputs["values"]["controller"]["serviceAccount"]
    assert sa == {"create": True, "name": "fsx-csi-controller-sa",
                  "annotations": {"eks.amazonaws.com/role-arn": role.outputs["arn"]}}
    assert rel.inputs["values"]["controller"]["region"] == "us-west-2"
    assert not [r for r in of_type(run, EKS_ADDON) if r.name.startswith("fsx")]


# --------------------------------------------------------------------------- FSx for Lustre


def lustre_run(protect=True, capacity=2400, throughput=500):
    return run_component(lambda env: FsxLustre("lustre", FsxLustreArgs(
        env=env, cluster_name="ml-test", vpc_id=VPC, subnet_id=PRIVATE[0], client_security_group_ids=CLIENT_SGS,
        capacity_gib=capacity, throughput_per_tib=throughput, bucket_name="ml-test-data-abc", protect=protect,
        tags=TAGS)))


@pytest.fixture(scope="module")
def lustre():
    return lustre_run()


def test_lustre_persistent_2_single_subnet_customer_key(lustre):
    fs = lustre.one("aws:fsx/lustreFileSystem:LustreFileSystem", "lustre-fs")
    key = lustre.one("aws:kms/key:Key", "lustre-key")
    i = fs.inputs
    assert i["deploymentType"] == "PERSISTENT_2"
    assert (i["storageCapacity"], i["perUnitStorageThroughput"]) == (2400, 500)
    assert i["subnetIds"] == PRIVATE[0]  # Lustre is single-AZ
    assert i["kmsKeyId"] == key.outputs["arn"] and key.inputs["enableKeyRotation"] is True
    sg = lustre.one("aws:ec2/securityGroup:SecurityGroup", "lustre-sg")
    assert i["securityGroupIds"] == [sg.id]


def test_lustre_ports_open_only_to_clients_and_itself(lustre):
    sg = lustre.one("aws:ec2/securityGroup:SecurityGroup", "lustre-sg")
    rules = of_type(lustre, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    ports = ((988, 988), (1018, 1023))
    into_fs = {(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules
               if r.inputs["securityGroupId"] == sg.id}
    assert into_fs == {(s, lo, hi) for s in [*CLIENT_SGS, sg.id] for lo, hi in ports}
    # ...and the clients admit the file system on the same ports (LNet connects both ways).
    into_clients = {(r.inputs["securityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules
                    if r.inputs["securityGroupId"] != sg.id}
    assert into_clients == {(c, lo, hi) for c in CLIENT_SGS for lo, hi in ports}
    assert all(r.inputs["referencedSecurityGroupId"] == sg.id for r in rules if r.inputs["securityGroupId"] != sg.id)
    assert all("cidrIpv4" not in r.inputs and r.inputs["ipProtocol"] == "tcp" for r in rules)


def test_lustre_linked_to_the_data_bucket_with_auto_import_and_export(lustre):
    fs = lustre.one("aws:fsx/lustreFileSystem:LustreFileSystem", "lustre-fs")
    dras = {d.inputs["fileSystemPath"]: d.inputs for d in
            of_type(lustre, "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation")}
    assert set(dras) == {"/datasets", "/checkpoints", "/models"}
    for path, d in dras.items():
        assert d["dataRepositoryPath"] == f"s3://ml-test-data-abc{path}/"
        assert d["fileSystemId"] == fs.id and d["deleteDataInFilesystem"] is False
        assert sorted(d["s3"]["autoImportPolicy"]["events"]) == ["CHANGED", "DELETED", "NEW"]
        if path == "/models":
            # Served models are read through Lustre; nothing written there flows back into S3.
            assert "autoExportPolicy" not in d["s3"]
        else:
            assert sorted(d["s3"]["autoExportPolicy"]["events"]) == ["CHANGED", "DELETED", "NEW"]


@pytest.mark.parametrize("protect", [True, False])
def test_lustre_protection_follows_protect_data(protect):
    run = lustre_run(protect)
    fs = run.one("aws:fsx/lustreFileSystem:LustreFileSystem", "lustre-fs")
    assert fs.options["protect"] is protect and fs.options["retainOnDelete"] is protect
