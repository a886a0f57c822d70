"""The platform add-on layer: storage, load balancing, autoscaling, GPU enablement.

``build_addons(ctx)`` creates every add-on the stack config switches on and
returns :class:`~components.contracts.PlatformAddons` for the workload layer.

Ordering: each add-on depends on the system node group (``ctx.compute_ready``),
its own identity and, for objects of its CRDs or classes of its driver, on its
own release or add-on. No add-on waits for another, so after the node group
they all install in parallel and the first deploy is as long as the slowest
one, not the sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.addons.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.addons.common import AddonTarget
from components.addons.efa import EfaDevicePlugin, EfaDevicePluginArgs
from components.addons.keda import Keda, KedaArgs
from components.addons.gpu import GpuStack, GpuStackArgs
from components.addons.karpenter import Karpenter, KarpenterArgs
from components.addons.lb_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.metrics_server import MetricsServer, MetricsServerArgs
from components.addons.storage import (
    DataBucket, DataBucketArgs, EbsStorage, EbsStorageArgs, EfsStorage, EfsStorageArgs, FsxCsiDriver,
    FsxCsiDriverArgs, FsxLustre, FsxLustreArgs,
)
from components.contracts import PlatformAddons, PlatformContext
from components.conventions import child

__all__ = ["Addons", "AddonsArgs", "build_addons"]


@dataclass(frozen=True)
class AddonsArgs:
    """Arguments for :class:`Addons`."""

    #: The layers below (config, AWS environment, network, cluster, node groups, tags).
    context: PlatformContext


class Addons(pulumi.ComponentResource):
    """Every add-on the stack config switches on."""

    data_bucket: DataBucket
    ebs: Optional[EbsStorage]
    efs: Optional[EfsStorage]
    fsx_driver: Optional[FsxCsiDriver]
    fsx: Optional[FsxLustre]
    lb_controller: Optional[LoadBalancerController]
    karpenter: Optional[Karpenter]
    cluster_autoscaler: Optional[ClusterAutoscaler]
    gpu: Optional[GpuStack]
    efa: Optional[EfaDevicePlugin]
    metrics_server: Optional[MetricsServer]
    keda: Optional[Keda]

    def __init__(self, name: str, args: AddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:Addons", name, None, opts)
        ctx = args.context
        cfg = ctx.cfg
        tags = dict(ctx.tags)
        cluster = ctx.cluster
        target = AddonTarget(cluster=cluster, env=ctx.env, kubernetes_version=cfg.kubernetesVersion,
                             node_ready=ctx.compute_ready, controller_replicas=cfg.controllerReplicas)
        clients = [cluster.cluster_security_group_id, cluster.node_security_group_id]
        opts_ = child(self)

        self.data_bucket = DataBucket(f"{name}-data", DataBucketArgs(
            bucket_name=cfg.dataBucketName or ctx.env.bucket_name(cfg.cluster_name, "data"), protect=cfg.protectData,
            env=ctx.env, tags=tags), opts=opts_)
        self.ebs = EbsStorage(f"{name}-ebs", EbsStorageArgs(target=target, tags=tags), opts=opts_) \
            if cfg.ebsCsi else None
        self.efs = EfsStorage(f"{name}-efs", EfsStorageArgs(
            target=target, vpc_id=ctx.network.vpc_id, subnet_ids=ctx.network.private_subnet_ids,
            client_security_group_ids=clients, protect=cfg.protectData, tags=tags), opts=opts_) \
            if cfg.efsCsi else None
        self.fsx_driver = FsxCsiDriver(f"{name}-fsx-csi", FsxCsiDriverArgs(target=target, tags=tags), opts=opts_) \
            if cfg.fsxCsi else None
        self.fsx = FsxLustre(f"{name}-lustre", FsxLustreArgs(
            env=ctx.env, cluster_name=cfg.cluster_name, vpc_id=ctx.network.vpc_id,
            subnet_id=ctx.network.private_subnet_ids[0], client_security_group_ids=clients,
            capacity_gib=cfg.fsxLustreCapacityGiB, throughput_per_tib=cfg.fsxLustreThroughputPerTiB,
            bucket_name=self.data_bucket.bucket_name, protect=cfg.protectData, tags=tags), opts=opts_) \
            if cfg.fsxLustre else None

        self.lb_controller = LoadBalancerController(f"{name}-lb-controller", LoadBalancerControllerArgs(
            target=target, vpc_id=ctx.network.vpc_id, default_tags=tags), opts=opts_) if cfg.lbController else None
        self.karpenter = Karpenter(f"{name}-karpenter", KarpenterArgs(
            target=target, cpu_limit=cfg.karpenterCpuLimit, gpu_limit=cfg.karpenterGpuLimit,
            gpu_instance_families=cfg.karpenterGpuInstanceFamilies, gpu_capacity_types=cfg.karpenterGpuCapacityTypes,
            expire_after=cfg.karpenterExpireAfter, tags=tags,
            create_spot_service_linked_role=cfg.spotServiceLinkedRole == "karpenter"), opts=opts_) \
            if cfg.karpenter else None
        self.cluster_autoscaler = ClusterAutoscaler(f"{name}-cluster-autoscaler", ClusterAutoscalerArgs(
            target=target), opts=opts_) if cfg.clusterAutoscaler else None
        self_plugged = tuple(sorted(pool for pool, g in cfg.gpu_node_groups.items()
                                    if g.amiType.startswith("BOTTLEROCKET")))
        self.gpu = GpuStack(f"{name}-gpu", GpuStackArgs(
            target=target, stack=cfg.gpuStack, self_plugged_pools=self_plugged), opts=opts_) \
            if cfg.gpuStack != "none" else None
        self.efa = EfaDevicePlugin(f"{name}-efa", EfaDevicePluginArgs(target=target), opts=opts_) \
            if any(g.efa for g in cfg.nodeGroups.values()) else None
        self.metrics_server = MetricsServer(f"{name}-metrics-server", MetricsServerArgs(target=target), opts=opts_) \
            if cfg.metricsServer else None
        # KEDA only when an enabled endpoint scales on a metric; it reads CloudWatch when Prometheus is off.
        self.keda = Keda(f"{name}-keda", KedaArgs(target=target, cloudwatch=not cfg.prometheus), opts=opts_) \
            if any(e.enabled and e.autoscaling for e in cfg.inferenceEndpoints.values()) else None

        self.register_outputs({
            "dataBucket": self.data_bucket.bucket_name,
            "defaultStorageClass": self.ebs.storage_class_name if self.ebs else None,
            "efsStorageClass": self.efs.storage_class_name if self.efs else None,
            "fsxFileSystemId": self.fsx.file_system.id if self.fsx else None,
        })

    def platform_addons(self) -> PlatformAddons:
        """What the workload layer gets."""
        ready: list[pulumi.Resource] = []
        if self.ebs:
            ready += [self.ebs.addon, self.ebs.storage_class]
        if self.efs:
            ready += [self.efs.addon, self.efs.storage_class]
        if self.fsx_driver:
            ready.append(self.fsx_driver.driver)
        if self.gpu:
            ready.append(self.gpu.release)
        if self.efa:
            ready.append(self.efa.release)
        if self.karpenter:
            ready += list(self.karpenter.node_pools.values())
        return PlatformAddons(
            lb_controller=self.lb_controller.release if self.lb_controller else None,
            default_storage_class=self.ebs.storage_class_name if self.ebs else None,
            efs_storage_class=self.efs.storage_class_name if self.efs else None,
            fsx=self.fsx.volume if self.fsx else None,
            data_bucket_name=self.data_bucket.bucket_name,
            data_bucket_arn=self.data_bucket.bucket_arn,
            ready=tuple(ready),
            keda=tuple(self.keda.ready) if self.keda else None,
        )


def build_addons(ctx: PlatformContext, name: str = "addons") -> PlatformAddons:
    """Create the add-on layer for ``ctx`` and return what the workload layer needs."""
    return Addons(name, AddonsArgs(context=ctx)).platform_addons()
