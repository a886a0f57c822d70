"""ML platform on Amazon EKS.

Reads the typed stack config once (validated before anything is registered),
then builds the platform layer by layer: network, cluster, compute, add-ons,
ML workloads and tenancy. Each layer is a component in ``components/``.
"""

import pulumi

from components import stack_outputs as out
from components.addons import build_addons
from components.aws_env import AwsEnv
from components.cluster import Cluster, ClusterArgs
from components.config import load_stack_config
from components.contracts import PlatformContext
from components.fargate import FargateProfiles, FargateProfilesArgs
from components.network import Network, NetworkArgs
from components.nodegroups import NodeGroups, NodeGroupsArgs

cfg = load_stack_config()
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
    depends_on=cluster.networking_ready,
))

fargate = FargateProfiles("fargate", FargateProfilesArgs(
    cluster_name=cluster.cluster_name, profiles=cfg.fargateProfiles, subnet_ids=network.private_subnet_ids,
    env=env, tags=tags,
)) if cfg.fargateProfiles else None

# --- platform add-ons: storage, identity-backed controllers, autoscaling, GPU (components/addons) ---

ctx = PlatformContext(cfg=cfg, env=env, network=network, cluster=cluster, nodes=nodes, tags=tags)
addons = build_addons(ctx)
pulumi.export(out.DATA_BUCKET_NAME, addons.data_bucket_name)
pulumi.export(out.DATA_BUCKET_ARN, addons.data_bucket_arn)
pulumi.export(out.DEFAULT_STORAGE_CLASS, addons.default_storage_class)
pulumi.export(out.EFS_STORAGE_CLASS, addons.efs_storage_class)
if addons.fsx is not None:
    pulumi.export(out.FSX_FILE_SYSTEM_ID, addons.fsx.file_system_id)
    pulumi.export(out.FSX_DNS_NAME, addons.fsx.dns_name)
    pulumi.export(out.FSX_MOUNT_NAME, addons.fsx.mount_name)

# --- ML workloads and tenancy: training, inference, teams, observability, imports (components/workloads) ---

from components.workloads import build_workloads  # noqa: E402  (kept inside this layer's section)

workloads = build_workloads(ctx, addons)
pulumi.export(out.TEAM_NAMESPACES, sorted(workloads.teams))
pulumi.export(out.TRAINING_JOBS, {
    n: {"kind": j.kind, "namespace": cfg.trainingJobs[n].team, "checkpointUri": j.checkpoint_uri}
    for n, j in workloads.jobs.items()})
pulumi.export(out.INFERENCE_ENDPOINTS, {
    n: {"namespace": cfg.inferenceEndpoints[n].team, "clusterUrl": e.cluster_url, "hostname": e.hostname}
    for n, e in workloads.endpoints.items()})
if workloads.training is not None:
    pulumi.export(out.TRAINING_RUNTIME, workloads.training.runtime_name)
    pulumi.export(out.KUEUE_CLUSTER_QUEUE, workloads.training.cluster_queue_name)
if workloads.observability is not None and workloads.observability.grafana_admin_secret:
    # Where the credentials live, never the password itself.
    pulumi.export(out.GRAFANA_ADMIN_SECRET, workloads.observability.grafana_admin_secret)

pulumi.export(out.VPC_ID, network.vpc_id)
pulumi.export(out.PRIVATE_SUBNET_IDS, network.private_subnet_ids)
pulumi.export(out.PUBLIC_SUBNET_IDS, network.public_subnet_ids)
pulumi.export(out.CLUSTER_NAME, cluster.cluster_name)
pulumi.export(out.CLUSTER_ENDPOINT, cluster.endpoint)
pulumi.export(out.OIDC_PROVIDER_ARN, cluster.oidc_provider_arn)
pulumi.export(out.KUBECONFIG, cluster.kubeconfig)
pulumi.export(out.NODE_ROLE_ARN, nodes.node_role_arn)
pulumi.export(out.NODE_GROUPS, sorted(cfg.nodeGroups))
pulumi.export(out.FARGATE_PROFILES, sorted(cfg.fargateProfiles))
