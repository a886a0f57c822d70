"""Pod building blocks every workload shares: the restricted security context, resources, GPU placement.

Pure functions returning plain Kubernetes dicts (no Pulumi), so the exact
shapes are unit-tested and every workload (TrainJob patches, PyTorchJob
replicas, inference Deployments, the training runtime) is hardened the same
way. The values meet Pod Security Admission ``restricted`` and the policy pack's
workload rules.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from components.conventions import ACCELERATOR_LABEL, GPU_RESOURCE, gpu_toleration

#: Non-root UID/GID for every workload container. ``runAsNonRoot`` alone makes the
#: kubelet refuse images whose USER is root (the PyTorch and vLLM images), so the
#: UID is set explicitly rather than trusted to the image. Above 10000 so a container
#: escape never lands on a UID a node account already owns (checkov CKV_K8S_40).
RUN_AS_USER = 10001
RUN_AS_GROUP = 10001
#: Re-check the registry on every start: tags are pinned, but a tag can be re-pushed, and
#: ``Always`` costs only a manifest lookup when the layers are already cached on the node.
IMAGE_PULL_POLICY = "Always"

#: Annotation Karpenter honours to never voluntarily evict (consolidate, expire) a pod.
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
#: Pods that genuinely call the Kubernetes API opt back into a token with this annotation.
NEEDS_KUBERNETES_API = "mlplatform.io/needs-kubernetes-api"
TEAM_LABEL = "mlplatform.io/team"
PART_OF = {"app.kubernetes.io/part-of": "mlplatform"}

TMP_VOLUME = "tmp"
SHM_VOLUME = "dshm"


def pod_security_context() -> dict:
    """Pod-level restricted context. ``OnRootMismatch`` avoids a recursive chown of large shared volumes."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_GROUP,
        "fsGroup": RUN_AS_GROUP,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict:
    """Container-level restricted context: read-only root, no escalation, no capabilities."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str, gpus: int = 0) -> dict:
    """Requests equal to limits (Guaranteed QoS); GPUs only when asked, and then requests == limits too."""
    amounts: dict[str, str] = {"cpu": str(cpu), "memory": str(memory)}
    if gpus:
        amounts[GPU_RESOURCE] = str(gpus)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def gpu_placement() -> dict:
    """Tolerate the GPU taint and require a node with NVIDIA GPUs (same label and taint as the node pools)."""
    return {
        "tolerations": [gpu_toleration()],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia"]}]}
        ]}}},
    }


def scratch_volumes(*, shm: bool = False) -> list[dict]:
    """Writable scratch for a read-only root filesystem: /tmp, and a RAM-backed /dev/shm for NCCL/dataloaders.

    The 64 MiB default /dev/shm makes PyTorch DataLoader workers and NCCL fail
    on multi-GPU nodes; a memory-medium emptyDir is counted against the pod's
    memory limit, so it cannot outgrow what the pod was given.
    """
    vols = [{"name": TMP_VOLUME, "emptyDir": {}}]
    if shm:
        vols.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory"}})
    return vols


def scratch_mounts(*, shm: bool = False) -> list[dict]:
    mounts = [{"name": TMP_VOLUME, "mountPath": "/tmp"}]
    if shm:
        mounts.append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    return mounts


def labels(name: str, team: Optional[str] = None, **extra: str) -> dict:
    out = {"app.kubernetes.io/name": name, **PART_OF}
    if team:
        out[TEAM_LABEL] = team
    out.update(extra)
    return out


def merge(*parts: Optional[Mapping[str, Any]]) -> dict:
    """Shallow merge of pod-spec fragments, later ones winning; ``None`` parts are skipped."""
    out: dict = {}
    for part in parts:
        out.update(part or {})
    return out
