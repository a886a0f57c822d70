"""GPU stack under mocks: device plugin or GPU Operator, on GPU nodes only, tolerating the GPU taint."""

from __future__ import annotations

from components import conventions as cv
from components import versions
from components.addons.gpu import GpuStack, GpuStackArgs
from tests.addon_helpers import HELM_RELEASE, deps, release, run_addon
from tests.helpers import of_type


def build(stack, self_plugged=()):
    return run_addon(lambda t, cfg: GpuStack("gpu", GpuStackArgs(target=t, stack=stack,
                                                                 self_plugged_pools=self_plugged)))


def test_device_plugin_only_on_nvidia_nodes_tolerating_the_taint():
    run = build("device-plugin", ("gpu-a10g",))
    rel = release(run, "gpu-release")
    pin = versions.HELM_CHARTS["nvidia-device-plugin"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == (pin.chart, pin.version)
    v = rel.inputs["values"]
    (term,) = v["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": cv.ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia"]} in term["matchExpressions"]
    assert {"key": cv.POOL_LABEL, "operator": "NotIn", "values": ["gpu-a10g"]} in term["matchExpressions"]
    assert not any(e["key"].startswith("feature.node.kubernetes.io") for e in term["matchExpressions"])
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in v["tolerations"]
    assert deps(run, rel) == {"ng-system"}  # no identity, no other add-on


def test_gpu_operator_without_driver_and_toolkit_in_its_namespace():
    run = build("gpu-operator")
    (rel,) = of_type(run, HELM_RELEASE)
    pin = versions.HELM_CHARTS["gpu-operator"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == (pin.chart, pin.version)
    assert rel.inputs["namespace"] == "gpu-operator" and rel.inputs["createNamespace"] is True
    v = rel.inputs["values"]
    assert v["driver"]["enabled"] is False and v["toolkit"]["enabled"] is False
    assert cv.gpu_toleration() in v["node-feature-discovery"]["worker"]["tolerations"]
