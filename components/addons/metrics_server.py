"""metrics-server: the resource metrics API HorizontalPodAutoscalers scale on (optional: ``metricsServer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.addons import values
from components.addons.common import AddonTarget, helm_release
from components.conventions import PLATFORM_NAMESPACE


@dataclass(frozen=True)
class MetricsServerArgs:
    """Arguments for :class:`MetricsServer`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget


class MetricsServer(pulumi.ComponentResource):
    """The pinned chart on the system pool; it needs no AWS permissions."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MetricsServerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:MetricsServer", name, None, opts)
        self.release = helm_release(self, name, "metrics-server", args.target, namespace=PLATFORM_NAMESPACE,
                                    values=values.metrics_server_values(args.target.controller_replicas))
        self.register_outputs({"release": self.release.name})
