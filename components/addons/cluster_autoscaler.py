"""cluster-autoscaler for the managed node groups (optional: ``clusterAutoscaler``).

It scales the node groups' Auto Scaling groups, finding them by the
``k8s.io/cluster-autoscaler/enabled`` and ``k8s.io/cluster-autoscaler/<cluster>``
tags. The node-group layer adds the node-template tags that let it scale a
GPU pool up from zero. It never touches Karpenter nodes (those are not in an
Auto Scaling group), so the two can run side by side: Karpenter for its
NodePools, cluster-autoscaler for the managed pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.addons import iam, values
from components.addons.common import AddonTarget, addon_identity, helm_release, policy_json, scope_output
from components.conventions import PLATFORM_NAMESPACE


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """Arguments for :class:`ClusterAutoscaler`."""

    #: The cluster to install into; its Kubernetes minor picks the image tag.
    target: AddonTarget


class ClusterAutoscaler(pulumi.ComponentResource):
    """The pinned chart, the image matching the cluster minor, and an identity scoped to this cluster's groups."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:ClusterAutoscaler", name, None, opts)
        t = args.target
        scope = scope_output(t.env, t.cluster.configured_name)
        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.AUTOSCALER_SERVICE_ACCOUNT,
                                  policy=policy_json(scope.apply(iam.cluster_autoscaler_policy)))
        self.release = helm_release(
            self, name, "cluster-autoscaler", t, namespace=PLATFORM_NAMESPACE,
            values=values.cluster_autoscaler_values(
                cluster_name=t.cluster.configured_name, region=t.env.region,
                image_tag=versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[t.kubernetes_version],
                sa_annotations=identity.service_account_annotations, replicas=t.controller_replicas),
            depends_on=[identity])
        self.register_outputs({"release": self.release.name})
