"""EFA device plugin: makes ``vpc.amazonaws.com/efa`` schedulable on pools with EFA interfaces.

Without it an EFA-enabled node group has the interfaces but pods cannot request
them, so NCCL silently falls back to TCP sockets and multi-node training runs at
a fraction of the fabric's bandwidth. Installed only when a node group sets
``efa: true``, and only onto those nodes (they carry ``vpc.amazonaws.com/efa.present``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.addons import values
from components.addons.common import AddonTarget, helm_release
from components.conventions import PLATFORM_NAMESPACE


@dataclass(frozen=True)
class EfaDevicePluginArgs:
    """Arguments for :class:`EfaDevicePlugin`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget


class EfaDevicePlugin(pulumi.ComponentResource):
    """The pinned AWS EFA Kubernetes device plugin release."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: EfaDevicePluginArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:EfaDevicePlugin", name, None, opts)
        self.release = helm_release(self, name, "aws-efa-k8s-device-plugin", args.target,
                                    namespace=PLATFORM_NAMESPACE, values=values.efa_device_plugin_values())
        self.register_outputs({"release": self.release.name})
