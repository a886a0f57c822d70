"""Building blocks every add-on shares: its identity, its Helm release, its EKS managed add-on."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.iam import Scope
from components.aws_env import AwsEnv
from components.cluster import Cluster
from components.kube import pinned_release
from components.conventions import child
from components.identity import WorkloadIdentity, WorkloadIdentityArgs



@dataclass(frozen=True)
class AddonTarget:
    """The cluster an add-on installs into and what it must wait for."""

    #: Provides the Kubernetes provider, the workload-identity settings and pinned EKS add-ons.
    cluster: Cluster
    #: Partition, region and account for ARNs.
    env: AwsEnv
    #: Kubernetes minor, for pinned EKS add-on builds and version-matched images.
    kubernetes_version: str
    #: Resources that make the cluster schedulable (the system node group). Nothing else.
    node_ready: Sequence[pulumi.Resource] = ()
    #: Replicas of each controller (``controllerReplicas``): 2 or more, with a PodDisruptionBudget, keeps it
    #: serving while a node roll drains its node.
    controller_replicas: int = 2


def scope_output(env: AwsEnv, cluster_name: pulumi.Input[str]) -> pulumi.Output[Scope]:
    """The :class:`Scope` pure policy functions take, resolved from the stack's Outputs.

    Pass the *configured* cluster name (``Cluster.configured_name``), not the cluster's output: with
    partition, region and account from invokes the scope is then known at the first preview, and so is
    every document built from it.
    """
    return pulumi.Output.all(env.partition, env.region, env.account_id, cluster_name).apply(
        lambda a: Scope(partition=a[0], region=a[1], account=a[2], cluster_name=a[3]))


def policy_json(doc: pulumi.Input[Any]) -> pulumi.Output[str]:
    """Serialise a policy document (possibly an Output) the one sanctioned way."""
    return pulumi.Output.json_dumps(doc)


def split_policy_json(parts: pulumi.Output[Mapping[str, Any]],
                      keys: Sequence[str]) -> tuple[pulumi.Output[str], dict[str, pulumi.Output[str]]]:
    """A policy split in parts (``keys`` known up front, the first one ``""``) as ``addon_identity`` takes it:
    the first part as ``policy``, the others as ``extra_policies``."""
    first, *rest = keys
    return (policy_json(parts.apply(lambda p: p[first])),
            {k: policy_json(parts.apply(lambda p, k=k: p[k])) for k in rest})


def addon_identity(parent: pulumi.Resource, name: str, target: AddonTarget, *, namespace: str,
                   service_account: str, policy: Optional[pulumi.Input[str]] = None,
                   managed_policies: Sequence[str] = (),
                   extra_policies: Mapping[str, pulumi.Input[str]] = MappingProxyType({})) -> WorkloadIdentity:
    """The role of a chart- or add-on-managed service account (the chart/add-on creates the account itself)."""
    return WorkloadIdentity(
        f"{name}-identity",
        WorkloadIdentityArgs(
            cluster=target.cluster.identity, namespace=namespace, service_account=service_account,
            policy_json=policy, managed_policies=tuple(managed_policies), create_service_account=False,
            extra_policies=dict(extra_policies),
        ),
        opts=child(parent),
    )


def irsa_role_arn(identity: WorkloadIdentity) -> Optional[pulumi.Output[str]]:
    """What an EKS add-on's ``service_account_role_arn`` gets: the role in IRSA mode; nothing with Pod Identity."""
    return identity.role_arn if identity.mode == "irsa" else None


def helm_release(parent: pulumi.Resource, name: str, chart_key: str, target: AddonTarget, *, namespace: str,
                 values: pulumi.Input[dict], depends_on: Sequence[pulumi.Resource] = (),
                 create_namespace: bool = False, release_name: Optional[str] = None,
                 skip_crds: bool = False) -> k8s.helm.v3.Release:
    """A pinned add-on release, installed once a node can run it.

    It depends on the system node group and on what the caller names (its
    identity, its CRDs installed apart), never on another add-on, so releases
    install in parallel.
    """
    return pinned_release(f"{name}-release", chart_key, parent=parent, provider=target.cluster.provider,
                          namespace=namespace, values=values, depends_on=[*target.node_ready, *depends_on],
                          create_namespace=create_namespace, release_name=release_name, skip_crds=skip_crds)


def managed_addon(parent: pulumi.Resource, name: str, addon_name: str, target: AddonTarget, *,
                  identity: WorkloadIdentity, configuration: Optional[dict] = None) -> aws.eks.Addon:
    """A pinned EKS managed add-on bound to its identity, installed once a node can run its controller."""
    return target.cluster.addon(
        name, addon_name, target.kubernetes_version,
        configuration=configuration,
        service_account_role_arn=irsa_role_arn(identity),
        parent=parent,
        # The Pod Identity association (or IRSA role) must exist before the controller pods start.
        depends_on=[*target.node_ready, identity],
    )
