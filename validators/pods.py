"""Pod templates hidden inside custom resources, as plain Pods other tools can check.

checkov and kubernetes-validate know Deployments and Jobs but not PyTorchJob,
TrainJob or Trainer runtimes. The policy pack already extracts every pod
template from those (``policies/guardrails/podspecs.py``); we reuse it so the
outside validators see exactly the pods our own rules see:

* PyTorchJob: one Pod per replica type (Master, Worker).
* TrainingRuntime / ClusterTrainingRuntime: one Pod per JobSet replicatedJob.
* TrainJob: the EFFECTIVE trainer pod. Trainer builds it from the runtime's
  ``node`` template, overridden by the TrainJob's trainer fields and
  ``runtimePatches``. When the referenced runtime is among the manifests we
  start from its template and merge the TrainJob's parts over it the way a
  strategic merge patch does (containers, volumes, env by ``name``,
  volumeMounts by ``mountPath``, maps merged, other lists replaced); without
  it we check the TrainJob's own parts alone and say so.

A cluster-scoped runtime's pods run in each TrainJob's namespace; its wrapped
Pod gets the placeholder namespace :data:`RUNTIME_NAMESPACE` (never "default").
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from validators.manifests import Manifest

PROJECT_DIR = Path(__file__).resolve().parent.parent
RUNTIME_NAMESPACE = "trainjob-namespace"
ANNOTATION_SOURCE = "validators.mlplatform.io/wrapped-from"
ANNOTATION_URN = "validators.mlplatform.io/urn"
ANNOTATION_NOTE = "validators.mlplatform.io/note"
CRD_WORKLOAD_KINDS = ("PyTorchJob", "TrainJob", "TrainingRuntime", "ClusterTrainingRuntime")
_MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
               "env": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name"}


def podspecs():
    """policies/guardrails/podspecs.py, the policy pack's pod-template extractor."""
    policies = str(PROJECT_DIR / "policies")
    if policies not in sys.path:
        sys.path.insert(0, policies)
    from guardrails import podspecs as module

    return module


@dataclass(frozen=True)
class WrappedPod:
    """A pod template lifted out of a custom resource."""

    source: Manifest
    where: str  # field path of the template inside the source object
    pod: dict  # a complete v1 Pod manifest
    note: str = ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-") or "pod"


def merge(base: Any, patch: Any, key: str = "") -> Any:
    """Strategic-merge-like overlay of ``patch`` on ``base`` (see module docstring)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    merge_key = _MERGE_KEYS.get(key)
    if merge_key and isinstance(base, list) and isinstance(patch, list):
        out = [copy.deepcopy(x) for x in base]
        index = {x.get(merge_key): i for i, x in enumerate(out) if isinstance(x, dict)}
        for item in patch:
            k = item.get(merge_key) if isinstance(item, dict) else None
            if k is not None and k in index:
                out[index[k]] = merge(out[index[k]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _runtime_node_template(runtime: Manifest) -> Optional[Mapping[str, Any]]:
    """The pod template of the runtime's trainer job: the replicatedJob named ``node`` (or running ``node``)."""
    ps = podspecs()
    jobs = (((runtime.obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("replicatedJobs") or []
    chosen = None
    for rj in jobs:
        tpl = (((rj.get("template") or {}).get("spec") or {}).get("template")) if isinstance(rj, dict) else None
        if not isinstance(tpl, dict):
            continue
        names = [c.get("name") for c in ((tpl.get("spec") or {}).get("containers") or []) if isinstance(c, dict)]
        if rj.get("name") == ps.TRAINER_CONTAINER or ps.TRAINER_CONTAINER in names:
            chosen = tpl
            break
    return chosen


def find_runtime(job: Manifest, manifests: list[Manifest]) -> Optional[Manifest]:
    ref = ((job.obj.get("spec") or {}).get("runtimeRef")) or {}
    kind = ref.get("kind") or "ClusterTrainingRuntime"
    for m in manifests:
        if m.kind == kind and m.name == ref.get("name") and m.group == "trainer.kubeflow.org" and (
                kind == "ClusterTrainingRuntime" or m.namespace == job.namespace):
            return m
    return None


def trainjob_pod(job: Manifest, manifests: list[Manifest]) -> tuple[dict, dict, str]:
    """(metadata, spec, note) of a TrainJob's effective trainer pod."""
    view = podspecs().trainjob_pod(job.obj)
    overlay_meta = {k: dict(v) for k, v in (view.metadata or {}).items() if v}
    overlay_spec = copy.deepcopy(dict(view.spec))
    runtime = find_runtime(job, manifests)
    template = _runtime_node_template(runtime) if runtime else None
    if template is None:
        ref = ((job.obj.get("spec") or {}).get("runtimeRef")) or {}
        return overlay_meta, overlay_spec, (f"runtime {ref.get('kind', 'ClusterTrainingRuntime')}/{ref.get('name')} "
                                            "is not in the plan: checked the TrainJob's trainer and patches alone")
    meta = merge(dict(template.get("metadata") or {}), overlay_meta)
    spec = merge(dict(template.get("spec") or {}), overlay_spec)
    return meta, spec, f"runtime {runtime.kind}/{runtime.name} template with the TrainJob's trainer and runtimePatches"


def wrap(manifests: list[Manifest]) -> list[WrappedPod]:
    """Every pod template inside the CRD workloads of ``manifests``, as Pods."""
    ps = podspecs()
    out: list[WrappedPod] = []
    for m in manifests:
        if m.kind not in CRD_WORKLOAD_KINDS:
            continue
        namespace = m.namespace or RUNTIME_NAMESPACE
        if m.kind == "TrainJob":
            meta, spec, note = trainjob_pod(m, manifests)
            items = [("spec.trainer+spec.runtimePatches", "trainer", meta, spec, note)]
        else:
            items = []
            for view in ps.pod_templates("", m.obj):
                role = view.where.split(".")[2] if m.kind == "PyTorchJob" else view.where.split("[")[1].split("]")[0]
                if m.kind != "PyTorchJob":
                    rjs = (((m.obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("replicatedJobs")
                    role = (rjs[int(role)] or {}).get("name") or role
                note = "" if m.namespace else (f"cluster-scoped: its pods run in each TrainJob's namespace "
                                               f"(placeholder {RUNTIME_NAMESPACE})")
                items.append((view.where, role, dict(view.metadata or {}), copy.deepcopy(dict(view.spec)), note))
        for where, role, meta, spec, note in items:
            annotations = dict(meta.get("annotations") or {})
            annotations[ANNOTATION_SOURCE] = f"{m.kind}/{m.namespace + '/' if m.namespace else ''}{m.name} {where}"
            annotations[ANNOTATION_URN] = m.urn
            if note:
                annotations[ANNOTATION_NOTE] = note
            metadata = {"name": _slug(f"{m.name}-{role}"), "namespace": namespace,
                        "labels": dict(meta.get("labels") or {}), "annotations": annotations}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
            out.append(WrappedPod(source=m, where=where, pod=pod, note=note))
    return out


def embedded_templates(m: Manifest) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(where, metadata, spec) of each real pod template in a CRD workload (TrainJob has none of its own)."""
    if m.kind not in CRD_WORKLOAD_KINDS or m.kind == "TrainJob":
        return []
    return [(v.where, v.metadata, v.spec) for v in podspecs().pod_templates("", m.obj)]
