"""Storage rules, through the analyzer: EBS/EFS/FSx encryption and protected data stores."""

from __future__ import annotations

import pytest

from tests.policy_helpers import TAGS, Case, case_id, k8s, res, run_case

KEY = "arn:aws:kms:us-west-2:123456789012:key/1234"
EFS = "aws:efs/fileSystem:FileSystem"
LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
BUCKET = "aws:s3/bucket:Bucket"


def storage_class(name, provisioner="ebs.csi.aws.com", **params):
    return k8s("storage.k8s.io/v1", "StorageClass", name, namespace=None,
               extra={"provisioner": provisioner, "parameters": params})


def lustre(name="fs", **kw):
    inputs = {"deploymentType": "PERSISTENT_2", "storageCapacity": 1200, "subnetIds": "subnet-1",
              "kmsKeyId": KEY, "tags": TAGS}
    inputs.update(kw)
    return res(LUSTRE, name, {k: v for k, v in inputs.items() if v is not None})


CASES = [
    Case("storageclass-ebs-encrypted", True, storage_class("gp3", type="gp3"), label="csi"),
    Case("storageclass-ebs-encrypted", True, storage_class("gp2", "kubernetes.io/aws-ebs", encrypted="false"),
         label="in-tree"),
    Case("storageclass-ebs-encrypted", False, storage_class("gp3-enc", type="gp3", encrypted="true", kmsKeyId=KEY),
         label="encrypted"),
    Case("storageclass-ebs-encrypted", False, storage_class("efs", "efs.csi.aws.com", provisioningMode="efs-ap"),
         label="other-provisioner"),
    Case("storageclass-ebs-encrypted", False,
         k8s("storage.k8s.io/v1", "StorageClassPatch", "gp2", namespace=None,
             annotations={"storageclass.kubernetes.io/is-default-class": "false"}), label="patch-without-provisioner"),

    Case("efs-encrypted", True, res(EFS, "plain", {"tags": TAGS}), label="unencrypted"),
    Case("efs-encrypted", True, res(EFS, "aws-key", {"encrypted": True, "tags": TAGS}), contains="customer-managed",
         label="aws-managed-key"),
    Case("efs-encrypted", False, res(EFS, "cmk", {"encrypted": True, "kmsKeyId": KEY, "tags": TAGS}), label="cmk"),
    Case("efs-encrypted", False, res(EFS, "aws-key-ok", {"encrypted": True, "tags": TAGS}),
         config={"efs-encrypted": {"requireCustomerKey": False}}, label="tunable"),

    Case("fsx-customer-kms-key", True, lustre(kmsKeyId=None), label="lustre-no-key"),
    Case("fsx-customer-kms-key", True, lustre("scratch", deploymentType="SCRATCH_2", kmsKeyId=None),
         contains="SCRATCH_2", label="scratch"),
    Case("fsx-customer-kms-key", True,
         res("aws:fsx/ontapFileSystem:OntapFileSystem", "ontap", {"deploymentType": "MULTI_AZ_1", "tags": TAGS}),
         label="ontap"),
    Case("fsx-customer-kms-key", False, lustre(), label="lustre-cmk"),
    Case("fsx-customer-kms-key", False, lustre(kmsKeyId=None),
         config={"fsx-customer-kms-key": {"requireCustomerKey": False}}, label="tunable-off"),
    Case("fsx-customer-kms-key", False, lustre("scratch-ok", deploymentType="SCRATCH_2", kmsKeyId=None),
         config={"fsx-customer-kms-key": {"allowScratch": True}}, label="scratch-allowed"),

    Case("ebs-volumes-encrypted", True, res("aws:ebs/volume:Volume", "v", {"availabilityZone": "a", "size": 10}),
         label="plain"),
    Case("ebs-volumes-encrypted", False,
         res("aws:ebs/volume:Volume", "v", {"availabilityZone": "a", "size": 10, "encrypted": True}),
         label="encrypted"),

    Case("stateful-data-protected", True, lustre(), label="lustre-unprotected"),
    Case("stateful-data-protected", True, res(EFS, "efs", {"encrypted": True, "kmsKeyId": KEY}), label="efs"),
    Case("stateful-data-protected", True, res(BUCKET, "data", {"tags": TAGS}), label="bucket"),
    Case("stateful-data-protected", True, res(BUCKET, "data-dev", {"tags": TAGS}),
         config={"stateful-data-protected": "advisory"}, level="advisory", label="advisory-in-dev"),
    Case("stateful-data-protected", False,
         res(LUSTRE, "protected", {"deploymentType": "PERSISTENT_2", "kmsKeyId": KEY, "tags": TAGS}, protect=True),
         label="protected"),
    Case("stateful-data-protected", False, res(BUCKET, "logs", {"tags": {**TAGS, "mlplatform.io/data-store": "false"}}),
         label="bucket-opted-out"),
    Case("stateful-data-protected", False, res(BUCKET, "data", {"tags": TAGS}),
         config={"stateful-data-protected": {"requireProtect": False}}, label="tunable-off"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_storage_rules(case: Case) -> None:
    run_case(case)
