"""Names, labels and taints every component agrees on.

Karpenter, the device plugin, the node groups and the workloads must use the
*same* GPU taint and pool labels, or GPU pods never schedule (the most common
GPU-on-EKS failure). Keeping them here makes a mismatch impossible.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import pulumi

#: Taint on every GPU node (managed pools and Karpenter), tolerated by GPU workloads and GPU daemons.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NoSchedule"
#: Extended resource the device plugin advertises.
GPU_RESOURCE = "nvidia.com/gpu"

#: Node labels set on every pool.
POOL_LABEL = "mlplatform.io/pool"
ROLE_LABEL = "mlplatform.io/role"
ACCELERATOR_LABEL = "mlplatform.io/accelerator"

#: Set on nodes with EFA interfaces; the EFA device plugin runs only there.
EFA_LABEL = "vpc.amazonaws.com/efa.present"
#: Extended resource the EFA device plugin advertises.
EFA_RESOURCE = "vpc.amazonaws.com/efa"

#: Critical add-ons (controllers, CoreDNS) run here.
SYSTEM_NODE_SELECTOR: Mapping[str, str] = MappingProxyType({ROLE_LABEL: "system"})

#: Subnet and security-group tag Karpenter uses to discover where to launch nodes.
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"

#: All five EKS control-plane log types.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

PLATFORM_NAMESPACE = "kube-system"


def gpu_toleration() -> dict:
    return {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}


def system_placement() -> dict:
    """Helm-style placement for controllers: the system pool, nowhere else."""
    return {"nodeSelector": dict(SYSTEM_NODE_SELECTOR)}


def child(parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, plus whatever else is passed."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def name_tags(tags: Mapping[str, str], name: str) -> dict:
    return {**dict(tags), "Name": name}
