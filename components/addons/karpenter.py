"""Karpenter (v1 API): just-in-time CPU and GPU nodes, and GPU capacity that scales to zero.

What is created:

* the controller (pinned chart from ``oci://public.ecr.aws/karpenter``) on the
  system pool, with a least-privilege identity (``iam.karpenter_controller_policies``:
  three documents, well inside AWS's size limit for a managed policy);
* a node role (worker, ECR pull, SSM) with an ``EC2_LINUX`` access entry, so
  the nodes Karpenter launches can join;
* an SQS interruption queue (SSE on, TLS only) fed by EventBridge rules for
  spot interruptions, rebalance recommendations, instance state changes,
  capacity-reservation interruptions and scheduled health events (upstream's
  rules, ``upstream/aws/karpenter-interruption-events.json``), so Karpenter
  drains a node before AWS takes it;
* EC2NodeClasses ``default`` and ``gpu`` and NodePools ``cpu`` and ``gpu``.

Spot: EC2 needs the account's ``AWSServiceRoleForEC2Spot`` service-linked role
before the first Spot launch (the ``cpu`` NodePool is spot-first). With
``create_spot_service_linked_role`` the controller may create that one role
(config ``spotServiceLinkedRole``; README "Spot capacity").

CRDs: NodePool, NodeClaim, EC2NodeClass (and the rest) come from the
``karpenter-crd`` chart at the controller's version, installed before the
controller, whose release sets ``skipCrds`` (Helm never upgrades a chart's
``crds/``). Bumping the pin upgrades both, CRDs first; an existing stack's
CRDs are adopted, never deleted (``components/crds.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.addons import iam, manifests, values
from components.addons.common import (
    AddonTarget, addon_identity, helm_release, policy_json, scope_output, split_policy_json)
from components.crds import crds_for
from components.kube import custom_resource
from components.conventions import PLATFORM_NAMESPACE, child
from components.naming import SQS_QUEUE_MAX, bounded
from components.nodegroups import NODE_MANAGED_POLICIES


@dataclass(frozen=True)
class KarpenterArgs:
    """Arguments for :class:`Karpenter`."""

    #: The cluster to install into and the node group the controller runs on.
    target: AddonTarget
    #: vCPUs the ``cpu`` NodePool may hold in total.
    cpu_limit: int
    #: GPUs (``nvidia.com/gpu``) the ``gpu`` NodePool may hold; 0 creates no GPU pool.
    gpu_limit: int
    #: NVIDIA instance families the ``gpu`` NodePool may launch (validated by the config module).
    gpu_instance_families: Sequence[str]
    #: ``on-demand``, ``spot`` and/or ``reserved`` for GPU nodes.
    gpu_capacity_types: Sequence[str]
    #: Node lifetime before replacement (``720h``) or ``Never``.
    expire_after: str
    #: EC2NodeClass AMI alias (a dated AL2023 release from the versions table).
    ami_alias: str = versions.KARPENTER_AMI_ALIAS
    #: Tags on the queue, rules, roles, and on every instance and volume Karpenter launches.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Let the controller create the account's EC2 Spot service-linked role on its first Spot launch.
    create_spot_service_linked_role: bool = False


class Karpenter(pulumi.ComponentResource):
    """Karpenter controller, node role, interruption handling, node classes and node pools."""

    release: k8s.helm.v3.Release
    #: The CRD source the controller waits for (the ``karpenter-crd`` release).
    crds: list[pulumi.Resource]
    node_role: aws.iam.Role
    queue: aws.sqs.Queue
    node_classes: dict[str, k8s.apiextensions.CustomResource]
    node_pools: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: KarpenterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:Karpenter", name, None, opts)
        t = args.target
        env = t.env
        tags = dict(args.tags)
        cluster_name = t.cluster.configured_name

        # -- node identity
        trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            sid="Ec2AssumesNodeRole",
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=["ec2.amazonaws.com"])],
        )])
        # Named, so the controller policy's iam:PassRole names it at the first preview (README, "What a first
        # preview can see"); the name changes only with what replaces the role anyway (components/naming.py).
        node_role_name = env.iam_name(cluster_name, "karpenter-node")
        self.node_role = aws.iam.Role(
            f"{name}-node-role", name=node_role_name, assume_role_policy=trust.json,
            description=f"Nodes launched by Karpenter in {cluster_name}", tags=tags, opts=child(self))
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{p}", role=self.node_role.name,
                                         policy_arn=env.managed_policy_arn(p), opts=child(self))
            for p in NODE_MANAGED_POLICIES
        ]
        access = aws.eks.AccessEntry(
            f"{name}-node-access", cluster_name=t.cluster.cluster_name, principal_arn=self.node_role.arn,
            type="EC2_LINUX", tags=tags, opts=child(self))

        # -- interruption handling
        queue_name = bounded(f"karpenter-{cluster_name}", SQS_QUEUE_MAX)
        queue_arn = env.queue_arn(queue_name)  # from parts: known at the first preview
        self.queue = aws.sqs.Queue(
            f"{name}-interruptions", name=queue_name, message_retention_seconds=300,
            sqs_managed_sse_enabled=True, tags=tags,
            # A fixed name: a replacement (e.g. a FIFO change) must delete the old queue first.
            opts=child(self, delete_before_replace=True))
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy", queue_url=self.queue.id,
            policy=policy_json(queue_arn.apply(iam.interruption_queue_policy)), opts=child(self))
        for key, pattern in iam.INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}", description=f"Karpenter interruption handling: {pattern['detail-type'][0]}",
                event_pattern=json.dumps(pattern), tags=tags, opts=child(self))
            aws.cloudwatch.EventTarget(
                f"{name}-{key}-target", rule=rule.name, arn=self.queue.arn,
                target_id="KarpenterInterruptionQueueTarget", opts=child(self))

        # -- controller
        scope = scope_output(env, t.cluster.configured_name)
        parts = pulumi.Output.all(scope, env.role_arn(node_role_name), queue_arn).apply(
            lambda a: iam.karpenter_controller_policies(
                a[0], node_role_arn=a[1], queue_arn=a[2],
                create_spot_service_linked_role=args.create_spot_service_linked_role))
        policy, extra = split_policy_json(parts, list(iam.KARPENTER_POLICY_GROUPS))
        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.KARPENTER_SERVICE_ACCOUNT, policy=policy,
                                  extra_policies=extra)
        self.crds = crds_for(self, name, "karpenter", t.cluster.crds, namespace=PLATFORM_NAMESPACE)
        self.release = helm_release(
            self, name, "karpenter", t, namespace=PLATFORM_NAMESPACE,
            values=values.karpenter_values(
                cluster_name=t.cluster.cluster_name, cluster_endpoint=t.cluster.endpoint, region=env.region,
                queue_name=self.queue.name, sa_annotations=identity.service_account_annotations,
                replicas=t.controller_replicas),
            depends_on=[identity, *self.crds], skip_crds=bool(self.crds))

        # -- node classes and pools (their CRDs come with the release)
        self.node_classes = {}
        for class_name, root_gib in ((manifests.DEFAULT_NODE_CLASS, manifests.CPU_ROOT_GIB),
                                     (manifests.GPU_NODE_CLASS, manifests.GPU_ROOT_GIB)):
            manifest = manifests.ec2_node_class(class_name, cluster_name=cluster_name, role_name=self.node_role.name,
                                                ami_alias=args.ami_alias, root_gib=root_gib, tags=tags)
            self.node_classes[class_name] = custom_resource(
                f"{name}-nodeclass-{class_name}", manifest,
                # Nodes launched from a class must be able to join: the access entry and node policies first.
                child(self, provider=t.cluster.provider, depends_on=[self.release, access, *attachments]))

        pools = {manifests.CPU_POOL: (manifests.cpu_node_pool(cpu_limit=args.cpu_limit, expire_after=args.expire_after),
                                      manifests.DEFAULT_NODE_CLASS)}
        if args.gpu_limit > 0 and args.gpu_instance_families:
            pools[manifests.GPU_POOL] = (manifests.gpu_node_pool(
                families=args.gpu_instance_families, capacity_types=args.gpu_capacity_types,
                gpu_limit=args.gpu_limit, expire_after=args.expire_after), manifests.GPU_NODE_CLASS)
        self.node_pools = {
            pool: custom_resource(
                f"{name}-nodepool-{pool}", manifest,
                child(self, provider=t.cluster.provider, depends_on=[self.release, self.node_classes[cls]]))
            for pool, (manifest, cls) in pools.items()
        }
        self.register_outputs({
            "nodeRoleArn": self.node_role.arn,
            "interruptionQueue": self.queue.name,
            "nodePools": sorted(self.node_pools),
        })
