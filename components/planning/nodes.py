"""Node pool planning: labels, taints, volumes and autoscaler tags. Pure, no Pulumi."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from components import conventions as cv
from components.planning import instances


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule | NoExecute | PreferNoSchedule

    @property
    def eks_effect(self) -> str:
        """The EKS API spelling (NO_SCHEDULE, ...)."""
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[
            self.effect
        ]


GPU_TAINT = Taint(cv.GPU_TAINT_KEY, cv.GPU_TAINT_VALUE, cv.GPU_TAINT_EFFECT)


def pool_labels(pool: str, role: str, instance_type: str, extra: Mapping[str, str], efa: bool = False) -> dict[str, str]:
    """Labels every node of ``pool`` carries; workloads and add-ons select on these."""
    accel = instances.family_info(instance_type).accelerator.value
    labels = {**dict(extra), cv.POOL_LABEL: pool, cv.ROLE_LABEL: role, cv.ACCELERATOR_LABEL: accel}
    if efa:
        labels[cv.EFA_LABEL] = "true"
    return labels


def pool_taints(role: str, extra: tuple = ()) -> list[Taint]:
    """GPU pools are tainted so only pods that asked for GPUs (and tolerate it) land there."""
    taints = [Taint(t.key, t.value, t.effect) for t in extra]
    if role == "gpu" and not any(t.key == cv.GPU_TAINT_KEY for t in taints):
        taints.insert(0, GPU_TAINT)
    return taints


def block_devices(ami_type: str, size_gib: int) -> list[dict]:
    """Encrypted gp3 volumes for the AMI's layout.

    Bottlerocket boots from a small OS volume (/dev/xvda) and keeps images and
    pod data on a second volume (/dev/xvdb): that one gets the requested size.
    """
    def ebs(size: int) -> dict:
        return {
            "volume_size": size,
            "volume_type": "gp3",
            "encrypted": "true",
            "delete_on_termination": "true",
            "iops": 3000,
            "throughput": 125,
        }

    if ami_type.startswith("BOTTLEROCKET"):
        return [{"device_name": "/dev/xvda", "ebs": ebs(4)}, {"device_name": "/dev/xvdb", "ebs": ebs(size_gib)}]
    return [{"device_name": "/dev/xvda", "ebs": ebs(size_gib)}]


def autoscaler_asg_tags(cluster_name: str, labels: Mapping[str, str], taints: list[Taint]) -> dict[str, str]:
    """ASG tags cluster-autoscaler reads to scale a group up from zero nodes.

    With no node running, the autoscaler cannot see the labels and taints a new
    node would have; these node-template tags tell it.
    """
    tags = {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
    }
    for k, v in sorted(labels.items()):
        tags[f"k8s.io/cluster-autoscaler/node-template/label/{k}"] = v
    for t in taints:
        tags[f"k8s.io/cluster-autoscaler/node-template/taint/{t.key}"] = f"{t.value}:{t.effect}"
    return tags
