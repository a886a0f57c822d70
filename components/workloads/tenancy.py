"""TeamNamespace: one tenant's namespace with its guard rails, access and shared storage.

What a team gets: a namespace labelled ``mlplatform.io/team`` and enforced by
Pod Security Admission; a ResourceQuota (CPU, memory, GPUs, claims, storage)
and LimitRange defaults; default-deny networking with narrow allowances; a Role
without wildcards bound to the team's Kubernetes group, which an EKS access
entry maps the team's IAM role onto; its Kueue LocalQueue; and shared
ReadWriteMany claims on EFS and, when the platform has one, FSx for Lustre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.config import TeamConfig
from components.contracts import FsxLustreVolume
from components.conventions import child
from components.workloads import pods, tenancy_specs as specs, training_specs


@dataclass(frozen=True)
class TeamNamespaceArgs:
    """Arguments for :class:`TeamNamespace`."""

    #: Team name; also the namespace name.
    team: str
    #: Quota, limits, pod security level, group and IAM role (``group`` already defaulted by config).
    config: TeamConfig
    provider: k8s.Provider
    #: EKS cluster name, for the access entry.
    cluster_name: pulumi.Input[str]
    #: CIDRs load-balancer and probe traffic comes from (the VPC, and the pod CIDR with custom networking).
    ingress_cidrs: Sequence[str] = ()
    #: Container ports the team serves behind load balancers.
    serving_ports: Sequence[int] = ()
    #: Allow egress to the EKS Pod Identity agent (pod-identity mode).
    pod_identity: bool = True
    #: Include PyTorchJob (legacy training operator) in the team Role.
    legacy_training: bool = False
    #: EFS StorageClass for the shared claim; None when EFS is off.
    efs_storage_class: Optional[str] = None
    #: The platform's FSx for Lustre file system; None when there is none.
    fsx: Optional[FsxLustreVolume] = None
    #: Kueue ClusterQueue for the team's LocalQueue; None when Kueue is off.
    cluster_queue: Optional[str] = None
    #: What the LocalQueue waits for (the Kueue release installing the CRD, the ClusterQueue).
    kueue_depends_on: Sequence[pulumi.Resource] = ()
    #: What the shared claims wait for (the CSI drivers and their StorageClasses).
    storage_depends_on: Sequence[pulumi.Resource] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class TeamNamespace(pulumi.ComponentResource):
    """A team namespace with quota, limits, default-deny networking, RBAC, access entry, queue and storage."""

    namespace: k8s.core.v1.Namespace
    name: str
    group: str
    #: Name of the team's Kueue LocalQueue (None when Kueue is off).
    queue_name: Optional[str]
    efs_claim_name: Optional[str]
    fsx_claim_name: Optional[str]
    #: Resources workloads in this namespace must wait for (namespace, quota, limits, policies, claims, queue).
    ready: list[pulumi.Resource]
    access_entry: Optional[aws.eks.AccessEntry]

    def __init__(self, name: str, args: TeamNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:TeamNamespace", name, None, opts)
        team, cfg = args.team, args.config
        self.name = team
        self.group = cfg.group or f"{team}-developers"
        k8s_opts = dict(provider=args.provider)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": team, "labels": specs.namespace_labels(team, cfg.podSecurity)},
            opts=child(self, **k8s_opts),
        )
        in_ns = dict(k8s_opts, depends_on=[self.namespace])

        def meta(obj: str) -> dict:
            return {"name": obj, "namespace": team, "labels": pods.labels(obj, team)}

        quota = k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=meta("team-quota"),
                                          spec=specs.resource_quota(cfg), opts=child(self, **in_ns))
        limits = k8s.core.v1.LimitRange(f"{name}-limits", metadata=meta("team-defaults"),
                                        spec=specs.limit_range(cfg), opts=child(self, **in_ns))
        self.ready: list[pulumi.Resource] = [self.namespace, quota, limits]

        for policy, spec in specs.network_policies(
            serving_ports=args.serving_ports, ingress_cidrs=args.ingress_cidrs, pod_identity=args.pod_identity,
        ).items():
            self.ready.append(k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}", metadata=meta(policy), spec=spec, opts=child(self, **in_ns)))

        role = k8s.rbac.v1.Role(f"{name}-developer-role", metadata=meta("team-developer"),
                                rules=specs.team_role_rules(legacy_training=args.legacy_training),
                                opts=child(self, **in_ns))
        k8s.rbac.v1.RoleBinding(
            f"{name}-developer-binding",
            metadata=meta("team-developer"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "team-developer"},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": self.group}],
            opts=child(self, **k8s_opts, depends_on=[self.namespace, role]),
        )
        # No access policy association: the Kubernetes group alone carries the team's rights (the Role above),
        # so access never exceeds what RBAC in this namespace grants.
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-access-entry",
            cluster_name=args.cluster_name,
            principal_arn=cfg.iamRoleArn,
            type="STANDARD",
            kubernetes_groups=[self.group],
            tags=dict(args.tags),
            opts=child(self),
        ) if cfg.iamRoleArn else None

        self.queue_name = None
        if args.cluster_queue:
            lq = training_specs.local_queue(team, args.cluster_queue)
            self.ready.append(k8s.apiextensions.CustomResource(
                f"{name}-local-queue", api_version=lq["apiVersion"], kind=lq["kind"],
                metadata=lq["metadata"], spec=lq["spec"],
                opts=child(self, **k8s_opts, depends_on=[self.namespace, *args.kueue_depends_on]),
            ))
            self.queue_name = lq["metadata"]["name"]

        self.efs_claim_name = None
        if args.efs_storage_class:
            claim = specs.efs_claim(team, args.efs_storage_class)
            self.ready.append(k8s.core.v1.PersistentVolumeClaim(
                f"{name}-efs-claim", metadata=claim["metadata"], spec=claim["spec"],
                opts=child(self, **k8s_opts, depends_on=[self.namespace, quota, *args.storage_depends_on]),
            ))
            self.efs_claim_name = specs.EFS_CLAIM

        self.fsx_claim_name = None
        if args.fsx is not None:
            fsx = args.fsx
            pv = specs.fsx_volume(team, fsx.file_system_id, fsx.dns_name, fsx.mount_name, fsx.capacity_gib)
            volume = k8s.core.v1.PersistentVolume(f"{name}-fsx-volume", metadata=pv["metadata"], spec=pv["spec"],
                                                  opts=child(self, **k8s_opts))
            claim = specs.fsx_claim(team, pv["metadata"]["name"])
            self.ready.append(k8s.core.v1.PersistentVolumeClaim(
                f"{name}-fsx-claim", metadata=claim["metadata"], spec=claim["spec"],
                opts=child(self, **k8s_opts, depends_on=[self.namespace, quota, volume, *args.storage_depends_on])))
            self.fsx_claim_name = specs.FSX_CLAIM

        self.register_outputs({"namespace": team, "group": self.group, "queue": self.queue_name})
