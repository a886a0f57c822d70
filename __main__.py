"""ML platform on Amazon EKS.

Reads the typed stack config once (validated before anything is registered),
then builds the platform layer by layer: network, cluster, compute, add-ons,
ML workloads and tenancy. Each layer is a component in ``components/``.
"""

import pulumi

from components.addons import build_addons
from components.aws_env import AwsEnv
from components.cluster import Cluster, ClusterArgs
from components.config import load_stack_config
from components.contracts import PlatformContext
from components.fargate import FargateProfiles, FargateProfilesArgs
from components.network import Network, NetworkArgs
from components.nodegroups import NodeGroups, NodeGroupsArgs
from components.stack_outputs import check_kubernetes_upgrade, stack_outputs
from components.workloads import build_workloads

cfg = load_stack_config()
check_kubernetes_upgrade(cfg)  # one minor at a time, against the version the stack's last update recorded
env = AwsEnv.lookup()
tags = dict(cfg.common_tags)

network = Network("network", NetworkArgs(
    cluster_name=cfg.cluster_name, plan=cfg.subnet_plan, nat_strategy=cfg.natStrategy,
    vpc_endpoints=cfg.vpcEndpoints, flow_log_retention_days=cfg.logRetentionDays, env=env, tags=tags,
))

cluster = Cluster("cluster", ClusterArgs(
    cluster_name=cfg.cluster_name, kubernetes_version=cfg.kubernetesVersion, vpc_id=network.vpc_id,
    private_subnet_ids=network.private_subnet_ids, endpoint_public_access=cfg.endpointPublicAccess,
    public_access_cidrs=cfg.publicAccessCidrs, admin_role_arns=cfg.adminRoleArns,
    read_only_role_arns=cfg.readOnlyRoleArns, log_retention_days=cfg.logRetentionDays,
    deletion_protection=cfg.deletionProtection, identity_mode=cfg.identityMode, env=env,
    pod_subnets=list(zip(network.availability_zones, network.pod_subnet_ids)), tags=tags,
))

nodes = NodeGroups("nodes", NodeGroupsArgs(
    cluster=cluster, groups=cfg.nodeGroups, subnet_ids=network.private_subnet_ids,
    kubernetes_version=cfg.kubernetesVersion, cluster_autoscaler=cfg.clusterAutoscaler, env=env, tags=tags,
    depends_on=[*cluster.networking_ready, *network.egress_ready],
    spot_service_linked_role=cfg.spotServiceLinkedRole == "stack",
))

fargate = FargateProfiles("fargate", FargateProfilesArgs(
    cluster_name=cluster.cluster_name, profiles=cfg.fargateProfiles, subnet_ids=network.private_subnet_ids,
    env=env, tags=tags, configured_cluster_name=cfg.cluster_name,
)) if cfg.fargateProfiles else None

# Add-ons (storage, controllers, autoscaling, GPU) and then ML workloads and tenancy.
ctx = PlatformContext(cfg=cfg, env=env, network=network, cluster=cluster, nodes=nodes, tags=tags, fargate=fargate)
addons = build_addons(ctx)
workloads = build_workloads(ctx, addons)

for key, value in stack_outputs(ctx, addons, workloads).items():
    pulumi.export(key, value)
