"""Kubernetes objects the add-on layer creates directly, as pure functions returning manifests.

StorageClasses, the Karpenter EC2NodeClasses and NodePools. Inputs may be
plain values or ``pulumi.Input``s (a KMS key ARN, a role name); the functions
only place them.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from components import conventions as cv

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"

GP3_CLASS = "gp3"
EFS_CLASS = "efs-sc"
EBS_PROVISIONER = "ebs.csi.aws.com"
EFS_PROVISIONER = "efs.csi.aws.com"

#: The POSIX identity every EFS access point enforces: pods of any UID read and write as this user.
EFS_UID = "1000"
EFS_GID = "1000"
EFS_BASE_PATH = "/dynamic"

KARPENTER_API = "karpenter.sh/v1"
KARPENTER_AWS_API = "karpenter.k8s.aws/v1"
CPU_POOL = "cpu"
GPU_POOL = "gpu"
#: Pool label values for Karpenter capacity (distinct from managed pools, which are labelled with their config name).
CPU_POOL_LABEL = "karpenter-cpu"
GPU_POOL_LABEL = "karpenter-gpu"
DEFAULT_NODE_CLASS = "default"
GPU_NODE_CLASS = "gpu"
CPU_ROOT_GIB = 100
#: GPU images (CUDA, PyTorch, vLLM) are 15-20 GB each; the root volume holds several.
GPU_ROOT_GIB = 200


# --------------------------------------------------------------------------- storage classes


def gp3_storage_class(kms_key_arn: Any) -> dict:
    """The cluster's default class: encrypted gp3 with the platform's customer key, bound where the pod lands."""
    return {
        "metadata": {"name": GP3_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": EBS_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": kms_key_arn, "csi.storage.k8s.io/fstype": "ext4"},
        # A zonal EBS volume must be created in the AZ the pod is scheduled to.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": "Delete",
    }


def efs_storage_class(file_system_id: Any, *, retain: bool) -> dict:
    """ReadWriteMany volumes as EFS access points, one directory per claim (``<namespace>/<claim>``).

    ``retain`` keeps the access point (and its data) when a claim is deleted.
    """
    return {
        "metadata": {"name": EFS_CLASS},
        "provisioner": EFS_PROVISIONER,
        "parameters": {
            "provisioningMode": "efs-ap",
            "fileSystemId": file_system_id,
            "directoryPerms": "700",
            "uid": EFS_UID,
            "gid": EFS_GID,
            "basePath": EFS_BASE_PATH,
            "subPathPattern": "${.PVC.namespace}/${.PVC.name}",
            "ensureUniqueDirectory": "true",
        },
        # EFS is regional: any AZ can mount it, so bind immediately.
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain" if retain else "Delete",
    }


# --------------------------------------------------------------------------- Karpenter


def _discovery(cluster_name: str) -> list[dict]:
    return [{"tags": {cv.KARPENTER_DISCOVERY_TAG: cluster_name}}]


def ec2_node_class(name: str, *, cluster_name: str, role_name: Any, ami_alias: str, root_gib: int,
                   tags: Mapping[str, str]) -> dict:
    """An EC2NodeClass: AL2023 (NVIDIA variant picked per instance type), IMDSv2 with hop limit 1, encrypted gp3."""
    return {
        "apiVersion": KARPENTER_AWS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": role_name,
            "amiSelectorTerms": [{"alias": ami_alias}],
            "subnetSelectorTerms": _discovery(cluster_name),
            "securityGroupSelectorTerms": _discovery(cluster_name),
            # Pods cannot reach IMDS (hop limit 1), so they never borrow the node role.
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [{
                "deviceName": "/dev/xvda",
                "ebs": {"volumeSize": f"{root_gib}Gi", "volumeType": "gp3", "encrypted": True,
                        "deleteOnTermination": True},
            }],
            "tags": dict(tags),
        },
    }


def _node_class_ref(name: str) -> dict:
    return {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name}


def cpu_node_pool(*, cpu_limit: int, expire_after: str) -> dict:
    """General-purpose capacity: spot first, on-demand fallback, consolidated when empty or underused."""
    return {
        "apiVersion": KARPENTER_API,
        "kind": "NodePool",
        "metadata": {"name": CPU_POOL},
        "spec": {
            "template": {
                "metadata": {"labels": {cv.POOL_LABEL: CPU_POOL_LABEL, cv.ROLE_LABEL: "cpu",
                                        cv.ACCELERATOR_LABEL: "none"}},
                "spec": {
                    "nodeClassRef": _node_class_ref(DEFAULT_NODE_CLASS),
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
                        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["c", "m", "r"]},
                        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "expireAfter": expire_after,
                },
            },
            "limits": {"cpu": str(cpu_limit)},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": "1m",
                "budgets": [{"nodes": "10%"}],
            },
        },
    }


def gpu_node_pool(*, families: Sequence[str], capacity_types: Sequence[str], gpu_limit: int,
                  expire_after: str, consolidate_after: str = "5m") -> dict:
    """NVIDIA capacity that exists only while GPU pods do.

    No minimum and ``WhenEmpty``: the last GPU node goes ``consolidate_after``
    after its last pod, and running training pods are never moved to pack
    nodes tighter (that is what ``WhenEmptyOrUnderutilized`` would do). Empty
    nodes may all go at once; drift replaces one node at a time.
    """
    return {
        "apiVersion": KARPENTER_API,
        "kind": "NodePool",
        "metadata": {"name": GPU_POOL},
        "spec": {
            "template": {
                "metadata": {"labels": {cv.POOL_LABEL: GPU_POOL_LABEL, cv.ROLE_LABEL: "gpu",
                                        cv.ACCELERATOR_LABEL: "nvidia"}},
                "spec": {
                    "nodeClassRef": _node_class_ref(GPU_NODE_CLASS),
                    "taints": [{"key": cv.GPU_TAINT_KEY, "value": cv.GPU_TAINT_VALUE, "effect": cv.GPU_TAINT_EFFECT}],
                    "requirements": [
                        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": list(families)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(capacity_types)},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "expireAfter": expire_after,
                },
            },
            "limits": {cv.GPU_RESOURCE: str(gpu_limit)},
            "disruption": {
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": consolidate_after,
                "budgets": [
                    {"nodes": "100%", "reasons": ["Empty"]},
                    {"nodes": "1", "reasons": ["Drifted"]},
                ],
            },
        },
    }


def storage_class_args(manifest: Mapping[str, Any]) -> dict:
    """Keyword arguments for ``k8s.storage.v1.StorageClass`` from a manifest."""
    out = {
        "metadata": manifest["metadata"],
        "provisioner": manifest["provisioner"],
        "parameters": manifest["parameters"],
        "volume_binding_mode": manifest["volumeBindingMode"],
        "reclaim_policy": manifest["reclaimPolicy"],
    }
    if "allowVolumeExpansion" in manifest:
        out["allow_volume_expansion"] = manifest["allowVolumeExpansion"]
    return out

