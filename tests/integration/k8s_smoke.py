"""Kubernetes-level smoke check of a deployed stack (used by the live tests; unit-tested with fakes)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

import pytest

from components.conventions import GPU_RESOURCE, GPU_TAINT_KEY, ROLE_LABEL

TIMEOUT = float(os.environ.get("MLPLATFORM_IT_TIMEOUT_MINUTES", "45")) * 60


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT, every: float = 20) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and the last state."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - transient API errors while things come up
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout / 60:.0f} min waiting for {what}; last: {last!r}")


def smoke_check(kubernetes: Any, kubeconfig: str, cfg: Any) -> None:
    api_client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    core = kubernetes.client.CoreV1Api(api_client)
    custom = kubernetes.client.CustomObjectsApi(api_client)

    def ready_nodes():
        nodes = core.list_node().items
        ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
        return nodes if nodes and len(ready) == len(nodes) else None

    nodes = wait_for("every node Ready", ready_nodes, every=15)
    assert nodes

    gpu_nodes_seen: dict[str, int] = {}

    def record_gpu_nodes() -> None:
        for n in core.list_node().items:
            is_gpu = (n.metadata.labels or {}).get(ROLE_LABEL) == "gpu" or any(
                t.key == GPU_TAINT_KEY for t in (n.spec.taints or []))
            if is_gpu:
                gpu_nodes_seen[n.metadata.name] = max(gpu_nodes_seen.get(n.metadata.name, 0),
                                                      int((n.status.allocatable or {}).get(GPU_RESOURCE, "0")))

    for endpoint_name, ep in sorted(cfg.inferenceEndpoints.items()):
        if not ep.enabled:
            continue
        wait_for(f"inference endpoint {endpoint_name} answering {ep.healthPath}",
                 lambda: endpoint_healthy(core, ep.team, endpoint_name, ep.healthPath), every=20)

    for job_name, job in sorted(cfg.trainingJobs.items()):
        if not job.enabled:
            continue

        def done() -> Optional[str]:
            record_gpu_nodes()
            return training_state(custom, job.kind, job.team, job_name)

        state = wait_for(f"training job {job_name} to finish", done, every=30)
        assert state == "Complete", f"training job {job_name} ended {state}"

    record_gpu_nodes()
    if cfg.has_gpu_capacity and any(j.enabled and j.gpusPerNode for j in cfg.trainingJobs.values()):
        # GPU pools scale to zero; the GPU training job is what brings a GPU node up.
        assert gpu_nodes_seen, "a GPU job ran but no GPU node (role label or nvidia.com/gpu taint) was seen"
    for node, gpus in gpu_nodes_seen.items():
        assert gpus > 0, f"GPU node {node} advertises no {GPU_RESOURCE} (device plugin not working)"


def endpoint_healthy(core: Any, namespace: str, name: str, health_path: str) -> bool:
    """GET the endpoint's health path through the API server's service proxy (works for internal endpoints)."""
    services = [s for s in core.list_namespaced_service(namespace).items
                if s.metadata.name == name or (s.metadata.labels or {}).get("app.kubernetes.io/name") == name
                or s.metadata.name.startswith(f"{name}-")]
    for svc in services:
        port = svc.spec.ports[0]
        body = core.connect_get_namespaced_service_proxy_with_path(
            f"{svc.metadata.name}:{port.name or port.port}", namespace, health_path.lstrip("/"))
        if body is not None:
            return True
    return False


TRAINING_KINDS = {
    # kind: (group, version, plural, success condition, failure condition)
    "TrainJob": ("trainer.kubeflow.org", "v1alpha1", "trainjobs", "Complete", "Failed"),
    "PyTorchJob": ("kubeflow.org", "v1", "pytorchjobs", "Succeeded", "Failed"),
}


def training_state(custom: Any, kind: str, namespace: str, name: str) -> Optional[str]:
    group, version, plural, ok, failed = TRAINING_KINDS[kind]
    items = custom.list_namespaced_custom_object(group, version, namespace, plural)["items"]
    for obj in items:
        if obj["metadata"]["name"] == name or obj["metadata"]["name"].startswith(f"{name}-"):
            conditions = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}
            if conditions.get(ok) == "True":
                return "Complete"
            if conditions.get(failed) == "True":
                return "Failed"
    return None
