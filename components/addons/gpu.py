"""GPU enablement: what makes ``nvidia.com/gpu`` schedulable on NVIDIA nodes (``gpuStack``).

* ``device-plugin`` (default): the NVIDIA device plugin DaemonSet, only on
  nodes labelled ``mlplatform.io/accelerator: nvidia`` (managed GPU pools and
  Karpenter's ``gpu`` pool), tolerating the GPU taint. Pools on Bottlerocket
  NVIDIA AMIs are excluded: Bottlerocket runs its own device plugin.
* ``gpu-operator``: the NVIDIA GPU Operator with the driver and container
  toolkit off (the EKS NVIDIA AMIs ship both); it brings the device plugin,
  GPU feature discovery and the validator. Note that on Bottlerocket pools its
  device plugin would run next to the OS's own: use ``device-plugin`` there.
* ``none``: neither (e.g. when another team manages the GPU stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.addons import values
from components.addons.common import AddonTarget, helm_release
from components.crds import crds_for
from components.conventions import PLATFORM_NAMESPACE

GPU_OPERATOR_NAMESPACE = "gpu-operator"


@dataclass(frozen=True)
class GpuStackArgs:
    """Arguments for :class:`GpuStack`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget
    #: Which stack (``gpuStack``; ``none`` creates no component at all).
    stack: Literal["device-plugin", "gpu-operator"]
    #: Node pools whose AMI runs its own device plugin (Bottlerocket NVIDIA).
    self_plugged_pools: Sequence[str] = field(default_factory=tuple)


class GpuStack(pulumi.ComponentResource):
    """The NVIDIA device plugin or GPU Operator release."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: GpuStackArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:GpuStack", name, None, opts)
        if args.stack == "device-plugin":
            self.release = helm_release(self, name, "nvidia-device-plugin", args.target, namespace=PLATFORM_NAMESPACE,
                                        values=values.device_plugin_values(args.self_plugged_pools))
        else:
            # The operator's CRDs (and NFD's) are applied apart, so its own pre-upgrade CRD job is off.
            crds = crds_for(self, name, "gpu-operator", args.target.cluster.crds, namespace=GPU_OPERATOR_NAMESPACE)
            chart_values = values.gpu_operator_values()
            if crds:
                chart_values["operator"] = {**chart_values.get("operator", {}), "upgradeCRD": False}
            self.release = helm_release(self, name, "gpu-operator", args.target, namespace=GPU_OPERATOR_NAMESPACE,
                                        create_namespace=True, values=chart_values, depends_on=crds,
                                        skip_crds=bool(crds))
        self.register_outputs({"release": self.release.name, "stack": args.stack})
