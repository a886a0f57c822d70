"""What each layer hands to the next: the seams between foundation, add-ons and workloads.

``__main__.py`` builds a :class:`PlatformContext` after the foundation, passes it
to the add-on layer (which returns :class:`PlatformAddons`), and passes both to
the workload layer. Keeping these small and typed lets each layer be built and
tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi

from components.aws_env import AwsEnv
from components.cluster import Cluster
from components.config import StackConfig
from components.fargate import FargateProfiles
from components.network import Network
from components.nodegroups import NodeGroups


@dataclass(frozen=True)
class PlatformContext:
    """Everything the add-on and workload layers need from the layers below."""

    cfg: StackConfig
    env: AwsEnv
    network: Network
    cluster: Cluster
    nodes: NodeGroups
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Fargate profiles, when configured. Pods meant for Fargate must be created after their profile is
    #: ACTIVE: a pod created earlier is scheduled onto EC2 nodes and stays there.
    fargate: Optional[FargateProfiles] = None

    @property
    def compute_ready(self) -> list[pulumi.Resource]:
        """Depend on these for anything that runs pods (Helm releases, Deployments behind an add-on).

        A schedulable node (the system pool) and, in Pod Identity mode, the Pod Identity
        agent: without it a controller starts with no AWS credentials and crash-loops
        until the agent happens to arrive.
        """
        ready: list[pulumi.Resource] = [
            ng for pool, ng in self.nodes.managed.items() if self.cfg.nodeGroups[pool].role == "system"]
        if self.cfg.identityMode == "pod-identity":
            ready.append(self.cluster.pod_identity_agent)
        return ready


@dataclass(frozen=True)
class FsxLustreVolume:
    """An FSx for Lustre file system that training jobs can mount (static PV per team namespace)."""

    file_system_id: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    mount_name: pulumi.Output[str]
    capacity_gib: int


@dataclass(frozen=True)
class PlatformAddons:
    """What the add-on layer provides to workloads."""

    #: The AWS Load Balancer Controller release; every Service/Ingress that makes AWS create a
    #: load balancer depends on it, so ``pulumi destroy`` removes load balancers before the controller.
    lb_controller: Optional[pulumi.Resource]
    #: Name of the default (gp3, KMS-encrypted) StorageClass, when the EBS CSI driver is on.
    default_storage_class: Optional[str]
    #: Name of the EFS access-point StorageClass (ReadWriteMany), when EFS is on.
    efs_storage_class: Optional[str]
    #: The FSx for Lustre file system, when one is created.
    fsx: Optional[FsxLustreVolume]
    #: S3 bucket for datasets (``datasets/``), checkpoints (``checkpoints/``) and models (``models/``).
    data_bucket_name: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]
    #: Add-ons workloads may wait on (CSI drivers, GPU device plugin, Kueue/Trainer are workload-layer).
    ready: Sequence[pulumi.Resource] = ()
    #: KEDA (installed when an endpoint has ``autoscaling``): what a ScaledObject waits for; None without it.
    keda: Optional[Sequence[pulumi.Resource]] = None
