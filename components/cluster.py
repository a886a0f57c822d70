"""Cluster: the EKS control plane, wrapping ``pulumi_eks.Cluster``.

pulumi-eks creates the control plane, its security groups, the OIDC provider
and a kubeconfig. Around it this component adds what a production cluster
needs and pulumi-eks leaves out: a customer KMS key with rotation for secrets,
a control-plane log group with bounded retention (created first, or EKS makes
one that never expires), explicit access entries for admins (so access does not
hang on whoever created the cluster), and pinned EKS add-ons.

Add-ons installed here are the ones that must exist *before* compute: the VPC
CNI (nodes never go Ready without it), kube-proxy and the Pod Identity agent.
CoreDNS needs a node to become ACTIVE, so the node-group layer installs it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import versions
from components.aws_env import AwsEnv
from components.conventions import CONTROL_PLANE_LOG_TYPES, KARPENTER_DISCOVERY_TAG, child
from components.crds import CrdTarget, files_provider
from components.identity import ClusterIdentity, IdentityMode, WorkloadIdentity, WorkloadIdentityArgs

ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "AmazonEKSViewPolicy"


@dataclass(frozen=True)
class ClusterArgs:
    """Arguments for :class:`Cluster`."""

    #: EKS cluster name.
    cluster_name: str
    #: Kubernetes minor version, e.g. "1.35".
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    #: Control-plane ENIs and nodes go here; never public subnets.
    private_subnet_ids: Sequence[pulumi.Input[str]]
    #: Public API endpoint (the private endpoint is always on).
    endpoint_public_access: bool
    #: Allow-list for the public endpoint.
    public_access_cidrs: Sequence[str]
    #: IAM roles mapped to AmazonEKSClusterAdminPolicy.
    admin_role_arns: Sequence[str]
    #: IAM roles mapped to AmazonEKSViewPolicy.
    read_only_role_arns: Sequence[str]
    #: Control-plane log retention in days.
    log_retention_days: int
    #: Refuse cluster deletion at the AWS API.
    deletion_protection: bool
    #: Stack-wide identity mode for the add-ons' roles.
    identity_mode: IdentityMode
    env: AwsEnv
    #: Pod subnets per AZ for EKS custom networking: (AZ name, subnet ID). Empty = pods share node subnets.
    pod_subnets: Sequence[tuple[pulumi.Input[str], pulumi.Input[str]]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


def access_entry_key(arn: str) -> str:
    """Stable resource-name suffix for an IAM role ARN (its name, lower-cased)."""
    return re.sub(r"[^a-z0-9-]+", "-", arn.rsplit("/", 1)[-1].lower()).strip("-")


class Cluster(pulumi.ComponentResource):
    """A private, encrypted, logged EKS cluster with access entries and pinned core add-ons."""

    eks: eks.Cluster
    #: The cluster name as configured (known before deployment, for tags and names).
    configured_name: str
    cluster_name: pulumi.Output[str]
    #: The Kubernetes minor the control plane runs, as EKS reports it once an update finished.
    version: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    #: Issuer without ``https://`` (IAM condition keys use this form).
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    #: The EKS-managed cluster security group (control plane <-> nodes).
    cluster_security_group_id: pulumi.Output[str]
    #: The node security group pulumi-eks creates; storage and endpoints allow traffic from it.
    node_security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    identity: ClusterIdentity
    #: Where CRDs installed apart from their charts go (``components/crds.py``).
    crds: CrdTarget
    #: Resources nodes must wait for (CNI and, with custom networking, the ENIConfigs).
    networking_ready: list[pulumi.Resource]
    #: The Pod Identity agent add-on: workloads using Pod Identity get credentials through it.
    pod_identity_agent: aws.eks.Addon
    #: Add-ons every node waits for (VPC CNI, kube-proxy and, in Pod Identity mode, the agent): on a minor
    #: upgrade they move to the new minor's builds after the control plane and before any node group rolls.
    node_addons: list[aws.eks.Addon]

    def __init__(self, name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:cluster:Cluster", name, None, opts)
        env = args.env
        tags = dict(args.tags)
        self.configured_name = args.cluster_name

        key_policy = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            sid="AccountAdministers",
            actions=["kms:*"],
            resources=["*"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                type="AWS", identifiers=[pulumi.Output.concat("arn:", env.partition, ":iam::", env.account_id, ":root")])],
        )])
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
            tags=tags,
            opts=child(self),
        )
        aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/eks/{args.cluster_name}", target_key_id=key.key_id,
                      opts=child(self))
        self.kms_key_arn = key.arn

        # Must exist before the cluster: EKS would otherwise create it with no retention limit.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child(self),
        )

        self.eks = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.private_subnet_ids),
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            authentication_mode=eks.AuthenticationMode.API,
            skip_default_node_group=True,
            create_oidc_provider=True,
            encryption_config_key_arn=key.arn,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            deletion_protection=args.deletion_protection,
            # Standard support only: a cluster silently rolling into extended support costs 6x.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            # Core add-ons are managed below, pinned; nothing is bootstrapped unmanaged.
            bootstrap_self_managed_addons=False,
            use_default_vpc_cni=True,
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=False),
            node_security_group_tags={KARPENTER_DISCOVERY_TAG: args.cluster_name},
            tags=tags,
            opts=child(self, depends_on=[log_group]),
        )
        self.cluster_name = self.eks.eks_cluster.name
        self.version = self.eks.eks_cluster.version
        self.endpoint = self.eks.eks_cluster.endpoint
        self.oidc_provider_arn = self.eks.oidc_provider_arn
        self.oidc_issuer = self.eks.oidc_issuer
        self.kubeconfig = pulumi.Output.secret(self.eks.kubeconfig_json)
        self.cluster_security_group_id = self.eks.eks_cluster.vpc_config.cluster_security_group_id
        self.node_security_group_id = self.eks.node_security_group_id
        # Nodes carry only the node SG (see nodegroups.py); Fargate pods and the control plane
        # carry the EKS-managed cluster SG. Open the two to each other so Fargate pods reach
        # CoreDNS on nodes and nodes reach Fargate-hosted services.
        for direction, (sg, peer) in {
            "nodes-from-cluster-sg": (self.node_security_group_id, self.cluster_security_group_id),
            "cluster-sg-from-nodes": (self.cluster_security_group_id, self.node_security_group_id),
        }.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{direction}",
                security_group_id=sg,
                referenced_security_group_id=peer,
                ip_protocol="-1",
                description=f"All traffic: {direction.replace('-', ' ')}",
                tags=tags,
                opts=child(self),
            )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child(self),
        )
        self.crds = CrdTarget(provider=self.provider,
                              files_provider=files_provider(f"{name}-k8s-crds", self.kubeconfig, self),
                              protect=args.deletion_protection)
        self.identity = ClusterIdentity(
            cluster_name=self.cluster_name,
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer=self.oidc_issuer,
            mode=args.identity_mode,
            env=env,
            provider=self.provider,
            tags=tags,
            configured_name=args.cluster_name,
        )

        for role_arn in args.admin_role_arns:
            self._access(name, role_arn, ADMIN_POLICY, "admin", tags)
        for role_arn in args.read_only_role_arns:
            self._access(name, role_arn, VIEW_POLICY, "view", tags)

        # aws-node assigns pod IPs before any other pod (including the Pod Identity agent) can run,
        # so it always uses IRSA, which needs nothing in-cluster.
        cni_identity = WorkloadIdentity(
            f"{name}-vpc-cni",
            WorkloadIdentityArgs(
                cluster=self.identity, namespace="kube-system", service_account="aws-node",
                managed_policies=("AmazonEKS_CNI_Policy",), create_service_account=False, mode="irsa",
            ),
            opts=child(self),
        )
        cni_env = {
            "ENABLE_PREFIX_DELEGATION": "true",
            "WARM_PREFIX_TARGET": "1",
        }
        if args.pod_subnets:
            cni_env.update({"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true",
                            "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"})
        vpc_cni = self.addon(
            name, "vpc-cni", args.kubernetes_version,
            configuration={"env": cni_env, "enableNetworkPolicy": "true"},
            service_account_role_arn=cni_identity.role_arn,
        )
        kube_proxy = self.addon(name, "kube-proxy", args.kubernetes_version)
        self.pod_identity_agent = self.addon(name, "eks-pod-identity-agent", args.kubernetes_version)
        # With Pod Identity, pods on a new node get AWS credentials only through the agent's DaemonSet.
        self.node_addons = [vpc_cni, kube_proxy] + ([self.pod_identity_agent] if args.identity_mode == "pod-identity"
                                                     else [])

        self.networking_ready: list[pulumi.Resource] = [vpc_cni]
        for az_name, subnet_id in args.pod_subnets:
            # One ENIConfig per AZ, named after the zone: the CNI picks it by the node's zone label.
            eni = k8s.apiextensions.CustomResource(
                f"{name}-eniconfig-{len(self.networking_ready)}",
                api_version="crd.k8s.amazonaws.com/v1alpha1",
                kind="ENIConfig",
                metadata={"name": az_name},
                spec={"subnet": subnet_id, "securityGroups": [self.node_security_group_id]},
                opts=child(self, provider=self.provider, depends_on=[vpc_cni]),
            )
            self.networking_ready.append(eni)

        self.register_outputs({
            "clusterName": self.cluster_name,
            "endpoint": self.endpoint,
            "oidcProviderArn": self.oidc_provider_arn,
            "kmsKeyArn": self.kms_key_arn,
        })

    def _access(self, name: str, role_arn: str, policy: str, kind: str, tags: dict) -> None:
        key = f"{name}-{kind}-{access_entry_key(role_arn)}"
        entry = aws.eks.AccessEntry(
            key, cluster_name=self.cluster_name, principal_arn=role_arn, type="STANDARD", tags=tags,
            opts=child(self))
        aws.eks.AccessPolicyAssociation(
            f"{key}-policy",
            cluster_name=self.cluster_name,
            principal_arn=role_arn,
            policy_arn=pulumi.Output.concat("arn:", self.identity.env.partition, ":eks::aws:cluster-access-policy/", policy),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=child(self, depends_on=[entry]),
        )

    def addon(
        self,
        name: str,
        addon_name: str,
        kubernetes_version: str,
        *,
        configuration: Optional[dict] = None,
        service_account_role_arn: Optional[pulumi.Input[str]] = None,
        parent: Optional[pulumi.Resource] = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> aws.eks.Addon:
        """A pinned EKS managed add-on (version from the versions table)."""
        return aws.eks.Addon(
            f"{name}-{addon_name}",
            cluster_name=self.cluster_name,
            addon_name=addon_name,
            addon_version=versions.addon_version(addon_name, kubernetes_version),
            configuration_values=json.dumps(configuration, sort_keys=True) if configuration else None,
            service_account_role_arn=service_account_role_arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self.identity.tags,
            opts=pulumi.ResourceOptions(parent=parent or self, depends_on=list(depends_on)),
        )
