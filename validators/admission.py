"""Admission webhooks that reject objects their CRD schema accepts: Kubeflow Trainer v2 and Kueue.

Each check is a port of an upstream webhook at the pinned version, citing the
file it comes from; only checks that apply to objects on *create* are ported
(update-only rules such as runtime-patch immutability are not). The webhooks
see objects after their CRD defaults, so the checks run on
:func:`validators.crds.defaulted` objects. Both webhooks use
``failurePolicy: Fail``, so any of these stops a ``pulumi up``.

Ported (Trainer ``kubeflow/trainer@v2.3.0``):

* ``pkg/webhooks/trainjob_webhook.go`` ValidateCreate: the runtimeRef must name
  a supported runtime kind that exists (``pkg/runtime/core/
  {cluster,}trainingruntime.go`` ValidateObjects);
* ``pkg/runtime/framework/plugins/jobset/jobset.go`` Validate: every
  ``runtimePatches[].manager`` is a domain-prefixed path
  (k8s.io/apimachinery ``validation.IsDomainPrefixedPath``); patched replicated
  jobs, containers and initContainers exist in the runtime; no ``env`` on the
  ``node``/``dataset-initializer``/``model-initializer`` containers in a patch;
  dataset/model initializers need their job, container and volume mount;
* ``pkg/runtime/framework/plugins/torch/torch.go`` Validate: no reserved torchrun
  env (``PET_*``) in ``spec.trainer.env``; envInjection targets exist;
* ``pkg/webhooks/trainingruntime_webhook.go`` validateReplicatedJobs (both
  runtime kinds): a replicated job labelled as a TrainJob ancestor has
  ``replicas: 1`` and the container that ancestor requires.

Ported (Kueue ``kubernetes-sigs/kueue@v0.19.2``):

* ``pkg/webhooks/clusterqueue_webhook.go`` ValidateClusterQueue: covered
  resources are label keys and unique, flavor names unique, each flavor's
  resources follow ``coveredResources`` in order, quotas non-negative,
  borrowing/lending limits need a cohort, lendingLimit <= nominalQuota,
  namespaceSelector is a valid label selector, preemption and flavor
  fungibility combinations, totals (256 flavors, 256 resources, 512
  flavor-resource pairs), admission-check onFlavors name listed flavors;
* ``pkg/webhooks/common.go`` validateFairSharing;
* ``pkg/webhooks/resourceflavor_webhook.go`` ValidateResourceFlavor: node labels,
  taints and tolerations as the core validation checks them;
* ``pkg/controller/jobframework/validation.go`` ValidateJobOnCreate (TrainJob,
  PyTorchJob, JobSet, batch Job): the ``kueue.x-k8s.io/queue-name`` label is a
  DNS subdomain, ``kueue.x-k8s.io/max-exec-time-seconds`` a positive integer.

Plus one cross-reference Kueue does not reject but never recovers from: a job's
queue-name label names a LocalQueue this plan creates in the job's namespace
(otherwise the job waits, suspended, forever).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional

from validators import crds
from validators.k8s_cel import dns1123_subdomain, label_value, parse_quantity, qualified_name
from validators.manifests import Manifest
from validators.models import Error
from validators.report import Finding, Section

VALIDATOR = "admission"
TRAINER = "kubeflow/trainer@v2.3.0"
KUEUE = "kubernetes-sigs/kueue@v0.19.2"

# --------------------------------------------------------------------------- apimachinery helpers

_HTTP_PATH = re.compile(r"^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")


def is_domain_prefixed_path(value: str) -> list[str]:
    """k8s.io/apimachinery/pkg/util/validation IsDomainPrefixedPath."""
    if not value:
        return ["Required value"]
    segments = value.split("/", 1)
    if len(segments) != 2 or not segments[0] or not segments[1]:
        return [f'Invalid value: "{value}": must be a domain-prefixed path (such as "acme.io/foo")']
    out = [f'Invalid value: "{segments[0]}": {m}' for m in dns1123_subdomain(segments[0])]
    if not _HTTP_PATH.match(segments[1]):
        out.append(f'Invalid value: "{segments[1]}": Invalid path')
    return out


def _quantity(v: Any) -> Optional[Decimal]:
    return parse_quantity(str(v)) if v is not None else None


def label_selector_errors(sel: Any, path: str) -> Iterator[Error]:
    """k8s.io/apimachinery/pkg/apis/meta/v1/validation ValidateLabelSelector (default options)."""
    if not isinstance(sel, Mapping):
        return
    for i, req in enumerate(sel.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        op, values = req.get("operator"), req.get("values") or []
        if op in ("In", "NotIn") and not values:
            yield f"{where}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"
        elif op in ("Exists", "DoesNotExist") and values:
            yield f"{where}.values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            yield f"{where}.operator", f'Invalid value: "{op}": not a valid selector operator'
        for msg in qualified_name(str(req.get("key", ""))):
            yield f"{where}.key", f"Invalid value: {msg}"
    for key, value in (sel.get("matchLabels") or {}).items():
        for msg in qualified_name(str(key)):
            yield f"{path}.matchLabels", f'Invalid value: "{key}": {msg}'
        for msg in label_value(str(value)):
            yield f"{path}.matchLabels", f'Invalid value: "{value}": {msg}'


def taint_errors(taints: Any, path: str, effects=("NoSchedule", "PreferNoSchedule", "NoExecute")) -> Iterator[Error]:
    for i, t in enumerate(taints or []):
        for msg in qualified_name(str(t.get("key", ""))):
            yield f"{path}[{i}].key", f"Invalid value: {msg}"
        if t.get("value"):
            for msg in label_value(str(t["value"])):
                yield f"{path}[{i}].value", f"Invalid value: {msg}"
        if t.get("effect") not in effects:
            yield f"{path}[{i}].effect", f'Unsupported value: "{t.get("effect")}"'


def toleration_errors(tolerations: Any, path: str) -> Iterator[Error]:
    """k8s.io/kubernetes pkg/apis/core/validation ValidateTolerations (the parts that apply here)."""
    for i, t in enumerate(tolerations or []):
        where = f"{path}[{i}]"
        key, op = t.get("key", ""), t.get("operator") or "Equal"
        if key:
            for msg in qualified_name(key):
                yield f"{where}.key", f"Invalid value: {msg}"
        elif op != "Exists":
            yield f"{where}.operator", "Invalid value: operator must be Exists when `key` is empty"
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            yield f"{where}.effect", "Invalid value: effect must be 'NoExecute' when `tolerationSeconds` is set"
        if op == "Exists" and t.get("value"):
            yield f"{where}.operator", "Invalid value: value must be empty when `operator` is 'Exists'"
        if op not in ("Equal", "Exists"):
            yield f"{where}.operator", f'Unsupported value: "{op}": supported values: "Equal", "Exists"'
        if t.get("effect") not in (None, "", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            yield f"{where}.effect", f'Unsupported value: "{t.get("effect")}"'


# --------------------------------------------------------------------------- Trainer

ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
#: pkg/webhooks/trainingruntime_webhook.go expectedContainerNames (ancestor -> required container)
ANCESTOR_CONTAINERS = {"trainer": "node", "model-initializer": "model-initializer",
                       "dataset-initializer": "dataset-initializer"}
#: pkg/constants/constants.go TorchRunReservedEnvNames
TORCH_RESERVED_ENV = ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT")
#: pkg/webhooks/trainjob_webhook.go: the runtime registry (RuntimeRefToRuntimeRegistryKey = apiGroup/kind)
SUPPORTED_RUNTIMES = ("trainer.kubeflow.org/ClusterTrainingRuntime", "trainer.kubeflow.org/TrainingRuntime")
#: pkg/runtime/framework/plugins/jobset/constants: the initializer volume name
INITIALIZER_VOLUME = "initializer"


def _dig(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(k)
    return obj


def _replicated_jobs(runtime_spec: Mapping) -> list[Mapping]:
    return list(_dig(runtime_spec, "template", "spec", "replicatedJobs") or [])


def _containers(rjob: Mapping, key: str = "containers") -> list[Mapping]:
    return list(_dig(rjob, "template", "spec", "template", "spec", key) or [])


def runtime_errors(runtime: Mapping) -> Iterator[Error]:
    """pkg/webhooks/trainingruntime_webhook.go validateReplicatedJobs."""
    base = "spec.template.spec.replicatedJobs"
    for i, rjob in enumerate(_replicated_jobs(runtime.get("spec") or {})):
        ancestor = (_dig(rjob, "template", "metadata", "labels") or {}).get(ANCESTOR_LABEL)
        if ancestor not in ANCESTOR_CONTAINERS:
            continue
        if rjob.get("replicas", 1) != 1:
            yield f"{base}[{i}].replicas", f"Invalid value: {rjob.get('replicas')}: always must be 1"
        if not any(c.get("name") == ANCESTOR_CONTAINERS[ancestor] for c in _containers(rjob)):
            yield (f"{base}[{i}].template.spec.template.spec.containers",
                   f"Invalid value: must contain the required container for the ancestor: {ancestor}")


def trainjob_errors(job: Mapping, runtime: Optional[Mapping], runtime_found: bool) -> Iterator[Error]:
    spec = job.get("spec") or {}
    ref = spec.get("runtimeRef") or {}
    key = f"{ref.get('apiGroup', '')}/{ref.get('kind', '')}"
    if key not in SUPPORTED_RUNTIMES:
        yield "spec.runtimeRef", f"unsupported runtime: {key} ({TRAINER} pkg/webhooks/trainjob_webhook.go)"
        return
    if not runtime_found:
        yield ("spec.runtimeRef", f"Invalid value: {ref.get('kind')} {ref.get('name')!r} is not created by this plan: "
               "specified trainingRuntime must be created before the TrainJob is created")
        return
    rspec = runtime.get("spec") or {}
    rjobs = {r.get("name"): r for r in _replicated_jobs(rspec)}
    names = {n: {c.get("name") for c in _containers(r) + _containers(r, "initContainers")} for n, r in rjobs.items()}

    # jobset plugin: initializers
    init = spec.get("initializer") or {}
    for what, job_name in (("dataset", "dataset-initializer"), ("model", "model-initializer")):
        if not init.get(what):
            continue
        if job_name not in names:
            yield "spec.runtimeRef", f"Invalid value: must have {job_name} job when trainJob is configured with input {what}Config"
        elif job_name not in names[job_name]:
            yield "spec.runtimeRef", f"Invalid value: must have container with name - {job_name} in the {job_name} job"
        elif not any(vm.get("name") == INITIALIZER_VOLUME for c in _containers(rjobs[job_name])
                     if c.get("name") == job_name for vm in c.get("volumeMounts") or []):
            yield ("spec.runtimeRef", f"Invalid value: must have volumeMount with name - {INITIALIZER_VOLUME} in "
                   f"container {job_name} of the {job_name} job")

    # jobset plugin: runtime patches
    for i, patch in enumerate(spec.get("runtimePatches") or []):
        where = f"spec.runtimePatches[{i}].manager"
        for msg in is_domain_prefixed_path(str(patch.get("manager") or "")):
            yield where, msg
        for rj in _dig(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs") or []:
            name = rj.get("name")
            if name not in names:
                yield "spec.runtimePatches", "Invalid value: must not have replicated job that doesn't exist in the runtime job template"
                continue
            pod = _dig(rj, "template", "spec", "template", "spec") or {}
            for c in pod.get("initContainers") or []:
                if c.get("name") not in names[name]:
                    yield "spec.runtimePatches", f"Invalid value: must not have initContainer that doesn't exist in the runtime job {name}"
            for c in pod.get("containers") or []:
                if c.get("name") not in names[name]:
                    yield "spec.runtimePatches", f"Invalid value: must not have container that doesn't exist in the runtime job {name}"
                elif c.get("env") and c.get("name") in ("dataset-initializer", "model-initializer", "node"):
                    yield ("spec.runtimePatches", "Invalid value: must not have envs for the dataset-initializer, "
                           "model-initializer, node containers")

    # torch plugin
    torch = _dig(rspec, "mlPolicy", "torch")
    if torch is not None:
        for target in _dig(torch, "envInjection", "targets") or []:
            for cname in target.get("containerNames") or []:
                if cname not in names.get(target.get("jobName"), set()):
                    yield ("spec.runtimeRef", f'Invalid value: envInjection target podSet "{target.get("jobName")}" '
                           f'container "{cname}" not found in runtime template')
        reserved = sorted({e.get("name") for e in _dig(spec, "trainer", "env") or []} & set(TORCH_RESERVED_ENV))
        if reserved:
            yield "spec.trainer.env", f"Invalid value: must not have reserved envs, invalid envs configured: {reserved}"


# --------------------------------------------------------------------------- Kueue

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
MAX_EXEC_LABEL = "kueue.x-k8s.io/max-exec-time-seconds"
#: Kinds whose Kueue integration webhook runs jobframework.ValidateJobOnCreate.
KUEUE_JOBS = {("trainer.kubeflow.org", "TrainJob"), ("kubeflow.org", "PyTorchJob"), ("jobset.x-k8s.io", "JobSet"),
              ("batch", "Job")}


def clusterqueue_errors(cq: Mapping) -> Iterator[Error]:
    spec = cq.get("spec") or {}
    has_parent = bool(spec.get("cohortName"))
    seen_res: set = set()
    seen_flavors: set = set()
    groups = spec.get("resourceGroups") or []
    for i, rg in enumerate(groups):
        base = f"spec.resourceGroups[{i}]"
        covered = list(rg.get("coveredResources") or [])
        for j, name in enumerate(covered):
            for msg in qualified_name(str(name)):
                yield f"{base}.coveredResources[{j}]", f"Invalid value: {msg}"
            if name in seen_res:
                yield f"{base}.coveredResources[{j}]", f'Duplicate value: "{name}"'
            seen_res.add(name)
        combos = 0
        for j, fq in enumerate(rg.get("flavors") or []):
            fbase = f"{base}.flavors[{j}]"
            if fq.get("name") in seen_flavors:
                yield f"{fbase}.name", f'Duplicate value: "{fq.get("name")}"'
            seen_flavors.add(fq.get("name"))
            resources = fq.get("resources") or []
            combos += len(resources)
            for k, rq in enumerate(resources[:len(covered)]):
                rbase = f"{fbase}.resources[{k}]"
                if rq.get("name") != covered[k]:
                    yield f"{rbase}.name", f'Invalid value: "{rq.get("name")}": must match the name in coveredResources'
                nominal = _quantity(rq.get("nominalQuota"))
                for fieldname in ("nominalQuota", "borrowingLimit", "lendingLimit"):
                    q = _quantity(rq.get(fieldname))
                    if q is not None and q < 0:
                        yield f"{rbase}.{fieldname}", "Invalid value: must be greater than or equal to 0"
                for fieldname in ("borrowingLimit", "lendingLimit"):
                    if rq.get(fieldname) is not None and not has_parent:
                        yield f"{rbase}.{fieldname}", "Invalid value: must be nil when cohort is empty"
                lend = _quantity(rq.get("lendingLimit"))
                if lend is not None and nominal is not None and lend > nominal:
                    yield f"{rbase}.lendingLimit", "Invalid value: must be less than or equal to the nominalQuota"
        if combos > 512:
            yield base, f"Invalid value: number of flavor-resource combinations in a resourceGroup must be ≤ 512, got {combos}"
    if sum(len(rg.get("flavors") or []) for rg in groups) > 256:
        yield "spec.resourceGroups", "Invalid value: total number of flavors across all resourceGroups must be ≤ 256"
    if sum(len(rg.get("coveredResources") or []) for rg in groups) > 256:
        yield "spec.resourceGroups", "Invalid value: total number of covered resources across all resourceGroups must be ≤ 256"
    yield from label_selector_errors(spec.get("namespaceSelector"), "spec.namespaceSelector")
    pre = spec.get("preemption") or {}
    if pre.get("reclaimWithinCohort") == "Never" and (pre.get("borrowWithinCohort") or {}).get("policy", "Never") != "Never":
        yield "spec.preemption", "Invalid value: reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never"
    fung = spec.get("flavorFungibility") or {}
    if fung.get("preference") and (fung.get("whenCanBorrow") != "TryNextFlavor" or fung.get("whenCanPreempt") != "TryNextFlavor"):
        yield ("spec.flavorFungibility.preference", f'Invalid value: preference "{fung["preference"]}" requires both '
               "whenCanBorrow and whenCanPreempt to be TryNextFlavor")
    weight = _quantity(_dig(spec, "fairSharing", "weight"))
    if weight is not None and weight < 0:
        yield "spec.fairSharing", "Invalid value: must be greater than or equal to 0"
    elif weight is not None and 0 < weight <= Decimal("1e-9"):
        yield "spec.fairSharing", "Invalid value: When not 0, weight must be > 10e-9"
    flavors = {fq.get("name") for rg in groups for fq in rg.get("flavors") or []}
    for i, check in enumerate(_dig(spec, "admissionChecksStrategy", "admissionChecks") or []):
        for j, flavor in enumerate(check.get("onFlavors") or []):
            if flavor not in flavors:
                yield (f"spec.admissionChecksStrategy.admissionChecks[{i}].onFlavors[{j}]",
                       f'Unsupported value: "{flavor}": supported values: {sorted(flavors)}')


def resourceflavor_errors(rf: Mapping) -> Iterator[Error]:
    spec = rf.get("spec") or {}
    for key, value in (spec.get("nodeLabels") or {}).items():
        for msg in qualified_name(str(key)):
            yield "spec.nodeLabels", f'Invalid value: "{key}": {msg}'
        for msg in label_value(str(value)):
            yield "spec.nodeLabels", f'Invalid value: "{value}": {msg}'
    yield from taint_errors(spec.get("nodeTaints"), "spec.nodeTaints")
    yield from toleration_errors(spec.get("tolerations"), "spec.tolerations")


def kueue_job_errors(job: Mapping) -> Iterator[Error]:
    labels = _dig(job, "metadata", "labels") or {}
    if QUEUE_LABEL in labels:
        for msg in dns1123_subdomain(str(labels[QUEUE_LABEL])):
            yield f"metadata.labels[{QUEUE_LABEL}]", f"Invalid value: {msg}"
    if MAX_EXEC_LABEL in labels:
        try:
            ok = int(str(labels[MAX_EXEC_LABEL])) > 0
        except ValueError:
            ok = False
        if not ok:
            yield f"metadata.labels[{MAX_EXEC_LABEL}]", "Invalid value: should be greater than 0"


# --------------------------------------------------------------------------- driver


def _obj(m: Manifest) -> dict:
    return crds.defaulted(m) or dict(m.obj)


def check(manifests: list[Manifest]) -> Section:
    """Run every ported webhook check on the plan's objects (after CRD defaults)."""
    section = Section(VALIDATOR)
    runtimes = {(m.kind, m.namespace, m.name): m for m in manifests
                if m.group == "trainer.kubeflow.org" and m.kind in ("ClusterTrainingRuntime", "TrainingRuntime")}
    queues = {(m.namespace, m.name) for m in manifests if m.group == "kueue.x-k8s.io" and m.kind == "LocalQueue"}

    def report(m: Manifest, check_name: str, errors: Iterator[Error]) -> None:
        section.checked += 1
        for path, message in errors:
            section.findings.append(Finding(VALIDATOR, check_name, m.subject, message, path=path))

    for m in manifests:
        if m.group == "trainer.kubeflow.org" and m.kind in ("ClusterTrainingRuntime", "TrainingRuntime"):
            report(m, f"{TRAINER} pkg/webhooks/trainingruntime_webhook.go", runtime_errors(_obj(m)))
        elif m.group == "trainer.kubeflow.org" and m.kind == "TrainJob":
            obj = _obj(m)
            ref = _dig(obj, "spec", "runtimeRef") or {}
            ns = "" if ref.get("kind") == "ClusterTrainingRuntime" else m.namespace
            runtime = runtimes.get((ref.get("kind"), ns, ref.get("name")))
            report(m, f"{TRAINER} pkg/webhooks/trainjob_webhook.go + runtime plugins (jobset, torch)",
                   trainjob_errors(obj, _obj(runtime) if runtime else None, runtime is not None))
        elif m.group == "kueue.x-k8s.io" and m.kind == "ClusterQueue":
            report(m, f"{KUEUE} pkg/webhooks/clusterqueue_webhook.go", clusterqueue_errors(_obj(m)))
        elif m.group == "kueue.x-k8s.io" and m.kind == "ResourceFlavor":
            report(m, f"{KUEUE} pkg/webhooks/resourceflavor_webhook.go", resourceflavor_errors(_obj(m)))
        if (m.group, m.kind) in KUEUE_JOBS:
            obj = _obj(m)
            report(m, f"{KUEUE} pkg/controller/jobframework/validation.go", kueue_job_errors(obj))
            queue = (_dig(obj, "metadata", "labels") or {}).get(QUEUE_LABEL)
            if queue and (m.namespace, queue) not in queues:
                section.findings.append(Finding(
                    VALIDATOR, "kueue-local-queue-reference", m.subject,
                    f"label {QUEUE_LABEL}={queue} names no LocalQueue this plan creates in namespace "
                    f"{m.namespace!r}: Kueue would keep the job suspended forever",
                    path=f"metadata.labels[{QUEUE_LABEL}]"))
    return section
