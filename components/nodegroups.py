"""Node groups: EKS managed pools (system, CPU, GPU) and self-managed bring-your-own-AMI pools.

Every pool is keyed by its config name, so its URN never changes when another
pool is added or removed. Managed pools get a launch template of ours (IMDSv2
with hop limit 1, so pods cannot borrow the node role; encrypted gp3 volumes);
GPU pools are tainted ``nvidia.com/gpu=true:NoSchedule`` and may scale to zero.

CoreDNS is installed here, after the system pool: it is a Deployment and its
EKS add-on only becomes ACTIVE once a node can run it.

Order, on the first deploy and on every Kubernetes minor upgrade (Pulumi
dependencies are the same for both): control plane -> the add-ons nodes need
(VPC CNI, kube-proxy and, with Pod Identity, its agent; ``Cluster.node_addons``) -> system
pools -> CoreDNS -> every other pool. Managed pools are built from the
pulumi-eks cluster component and wait for those add-ons, so on a bump
(``kubernetesVersion: "1.35"`` -> ``"1.36"``) they roll to the new minor's AMI
only after the control plane and those add-ons are on it. Their ``version`` is
the configured minor rather than the control plane's reported one, so a first
preview can judge it. The system pool rolls
before CoreDNS because CoreDNS could not be created without it; both CoreDNS
builds run on either minor. Self-managed pools run the AMI in ``amiId``: a
minor bump needs a new AMI there (bake it for the new minor first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.aws_env import AwsEnv
from components.cluster import Cluster
from components.config import NodeGroupConfig
from components.conventions import SYSTEM_NODE_SELECTOR, child
from components.planning import nodes as plan

#: What a node needs and nothing more. The CNI's permissions live on aws-node's own IRSA role.
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


@dataclass(frozen=True)
class NodeGroupsArgs:
    """Arguments for :class:`NodeGroups`."""

    cluster: Cluster
    #: Validated pools keyed by name (roles, AMI types and sizes already resolved by the config module).
    groups: Mapping[str, NodeGroupConfig]
    #: Private subnets only; nodes never get public addresses.
    subnet_ids: Sequence[pulumi.Input[str]]
    kubernetes_version: str
    #: Tag ASGs so cluster-autoscaler can scale pools from zero.
    cluster_autoscaler: bool
    env: AwsEnv
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Resources nodes must wait for (the CNI, ENIConfigs).
    depends_on: Sequence[pulumi.Resource] = ()
    #: Create the account's EC2 Spot service-linked role here (config ``spotServiceLinkedRole: stack``).
    #: It is account-wide, so it is kept on destroy, and creating it fails if the account already has it.
    spot_service_linked_role: bool = False


class NodeGroups(pulumi.ComponentResource):
    """All configured node pools, their IAM role and the CoreDNS add-on."""

    node_role: aws.iam.Role
    node_role_arn: pulumi.Output[str]
    managed: dict[str, eks.ManagedNodeGroup]
    self_managed: dict[str, eks.NodeGroupV2]
    launch_templates: dict[str, aws.ec2.LaunchTemplate]
    #: The CoreDNS add-on (after the system pools, before every other pool).
    coredns: aws.eks.Addon
    spot_service_linked_role: Optional[aws.iam.ServiceLinkedRole]

    def __init__(self, name: str, args: NodeGroupsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:nodegroups:NodeGroups", name, None, opts)
        tags = dict(args.tags)
        cluster = args.cluster
        env = args.env

        trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=["ec2.amazonaws.com"])],
        )])
        self.node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=trust.json, tags=tags, opts=child(self))
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{p}", role=self.node_role.name,
                                         policy_arn=env.managed_policy_arn(p), opts=child(self))
            for p in NODE_MANAGED_POLICIES
        ]
        self.node_role_arn = self.node_role.arn
        wait = [*attachments, *args.depends_on, *cluster.node_addons]
        self.spot_service_linked_role = aws.iam.ServiceLinkedRole(
            f"{name}-spot-service-linked-role", aws_service_name="spot.amazonaws.com",
            description="EC2 Spot (created by the mlplatform stack; kept on destroy: other stacks may use Spot)",
            tags=tags, opts=child(self, retain_on_delete=True)) if args.spot_service_linked_role else None
        if self.spot_service_linked_role is not None:
            wait.append(self.spot_service_linked_role)

        self.managed, self.self_managed, self.launch_templates = {}, {}, {}
        self_managed_profile = None
        # System pools first: CoreDNS needs one of their nodes, and every other pool waits for CoreDNS.
        ordered = sorted(args.groups.items(), key=lambda kv: kv[1].role != "system")
        coredns: Optional[aws.eks.Addon] = None
        for pool, cfg in ordered:
            if cfg.role != "system" and coredns is None:
                coredns = self._coredns(name, args)
                wait = [*wait, coredns]
            labels = plan.pool_labels(pool, cfg.role, cfg.instanceTypes[0], cfg.labels, efa=cfg.efa)
            taints = plan.pool_taints(cfg.role, cfg.taints)
            pool_tags = {**tags, "mlplatform.io/pool": pool}
            if cfg.kind == "managed":
                ng = self._managed(name, pool, cfg, labels, taints, pool_tags, args, wait)
                self.managed[pool] = ng
                if args.cluster_autoscaler:
                    # ``.resources`` is also an Output method name, so reach the attribute through apply.
                    asg_name = ng.node_group.apply(lambda g: g.resources).apply(
                        lambda r: r[0].autoscaling_groups[0].name)
                    self._autoscaler_tags(name, pool, asg_name, labels, taints, cluster)
            else:
                if self_managed_profile is None:
                    self_managed_profile = self._self_managed_access(name, cluster, tags)
                self.self_managed[pool] = self._self_managed(name, pool, cfg, labels, taints, pool_tags, args,
                                                             self_managed_profile, wait)

        self.coredns = coredns if coredns is not None else self._coredns(name, args)
        self.register_outputs({
            "nodeRoleArn": self.node_role_arn,
            "managed": list(self.managed),
            "selfManaged": list(self.self_managed),
        })

    def _coredns(self, name: str, args: NodeGroupsArgs) -> aws.eks.Addon:
        system = [ng for pool, ng in {**self.managed, **self.self_managed}.items()
                  if args.groups[pool].role == "system"]
        return args.cluster.addon(
            name, "coredns", args.kubernetes_version,
            configuration={"nodeSelector": dict(SYSTEM_NODE_SELECTOR), "replicaCount": 2},
            parent=self, depends_on=system,
        )

    def _launch_template(self, name: str, pool: str, cfg: NodeGroupConfig, tags: dict, args: NodeGroupsArgs,
                         placement_group: Optional[aws.ec2.PlacementGroup]) -> aws.ec2.LaunchTemplate:
        # Only the node security group: the EKS-managed cluster SG carries the same
        # kubernetes.io/cluster/<name> tag, and the Load Balancer Controller refuses an ENI
        # with two such groups ("expected exactly one"). Cluster.py opens node <-> cluster SG.
        sgs = [args.cluster.node_security_group_id]
        efa = cfg.efa
        lt = aws.ec2.LaunchTemplate(
            f"{name}-{pool}-lt",
            description=f"{pool} nodes: IMDSv2 (hop limit 1), encrypted gp3",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=d["device_name"], ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(**d["ebs"]))
                for d in plan.block_devices(cfg.amiType, cfg.diskSizeGiB)
            ],
            # With EFA the security groups move onto the interface definition (EC2 refuses both).
            vpc_security_group_ids=None if efa else sgs,
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, interface_type="efa", security_groups=sgs, delete_on_termination="true",
                associate_public_ip_address="false",
            )] if efa else None,
            placement=aws.ec2.LaunchTemplatePlacementArgs(group_name=placement_group.name) if placement_group else None,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=rt, tags=tags)
                for rt in ("instance", "volume", "network-interface")
            ],
            tags=tags,
            opts=child(self),
        )
        self.launch_templates[pool] = lt
        return lt

    def _managed(self, name: str, pool: str, cfg: NodeGroupConfig, labels: dict, taints: list, tags: dict,
                 args: NodeGroupsArgs, wait: list) -> eks.ManagedNodeGroup:
        subnets = list(args.subnet_ids)
        placement_group = None
        if cfg.efa:
            # A cluster placement group lives in one AZ, so an EFA pool uses the first private subnet only.
            placement_group = aws.ec2.PlacementGroup(f"{name}-{pool}-pg", strategy="cluster", tags=tags,
                                                     opts=child(self))
            subnets = subnets[:1]
        lt = self._launch_template(name, pool, cfg, tags, args, placement_group)
        return eks.ManagedNodeGroup(
            f"{name}-{pool}",
            cluster=args.cluster.eks,
            node_role_arn=self.node_role.arn,
            subnet_ids=subnets,
            instance_types=list(cfg.instanceTypes),
            ami_type=cfg.amiType,
            # The configured minor, a value a first preview can read (eks-supported-version judges it then).
            # The order on a bump comes from the dependencies, not from this value: the pool is built from
            # ``cluster=`` (the pulumi-eks component, complete only once the control plane has finished its
            # own update) and waits for the add-ons nodes need, so it rolls after both (EKS refuses nodes
            # newer than the control plane).
            version=args.kubernetes_version,
            capacity_type=cfg.capacityType,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=cfg.minSize, desired_size=cfg.desiredSize, max_size=cfg.maxSize),
            # EKS ignores desiredSize after creation (the autoscaler owns it); do not fight it.
            ignore_scaling_changes=True,
            labels=labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.eks_effect) for t in taints],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version=lt.latest_version.apply(str)),
            tags=tags,
            opts=child(self, depends_on=wait),
        )

    def _autoscaler_tags(self, name: str, pool: str, asg_name: pulumi.Output[str], labels: dict, taints: list,
                         cluster: Cluster) -> None:
        for key, value in sorted(plan.autoscaler_asg_tags(cluster.configured_name, labels, taints).items()):
            slug = re.sub(r"[^a-z0-9]+", "-", key.lower().replace("k8s.io/cluster-autoscaler/", "")).strip("-")
            aws.autoscaling.Tag(
                f"{name}-{pool}-ca-{slug}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child(self),
            )

    def _self_managed_access(self, name: str, cluster: Cluster, tags: dict) -> aws.iam.InstanceProfile:
        profile = aws.iam.InstanceProfile(f"{name}-node-profile", role=self.node_role.name, tags=tags,
                                          opts=child(self))
        # Managed groups get their EC2_LINUX access entry from EKS; self-managed nodes need one of their own.
        aws.eks.AccessEntry(f"{name}-self-managed-nodes", cluster_name=cluster.cluster_name, principal_arn=self.node_role.arn,
                            type="EC2_LINUX", tags=tags, opts=child(self))
        return profile

    def _self_managed(self, name: str, pool: str, cfg: NodeGroupConfig, labels: dict, taints: list, tags: dict,
                      args: NodeGroupsArgs, profile: aws.iam.InstanceProfile, wait: list) -> eks.NodeGroupV2:
        return eks.NodeGroupV2(
            f"{name}-{pool}",
            cluster=args.cluster.eks,
            ami_id=cfg.amiId,
            instance_type=cfg.instanceTypes[0],
            min_size=cfg.minSize,
            max_size=cfg.maxSize,
            desired_capacity=cfg.desiredSize,
            ignore_scaling_changes=True,
            node_subnet_ids=list(args.subnet_ids),
            node_associate_public_ip_address=False,
            instance_profile=profile,
            node_root_volume_encrypted=True,
            encrypt_root_block_device=True,
            node_root_volume_size=cfg.diskSizeGiB,
            node_root_volume_type="gp3",
            labels=labels,
            taints={t.key: eks.TaintArgs(value=t.value, effect=t.effect) for t in taints},
            auto_scaling_group_tags=tags,
            opts=child(self, depends_on=wait),
        )
