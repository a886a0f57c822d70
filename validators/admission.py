"""Admission webhooks that reject objects their CRD schema accepts: Kubeflow Trainer v2, Kueue and KEDA.

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

Ported (KEDA ``kedacore/keda`` at the pinned release, read from the vendored
CRDs' manifest entry). KEDA's webhooks use ``failurePolicy: ignore``, but the
operator runs the replica-bound and trigger checks again when it reconciles
(``controllers/keda/scaledobject_controller.go``), so a ScaledObject failing
them never scales even if the webhook was down:

* ``apis/keda/v1alpha1/scaledobject_webhook.go`` validateWorkload:
  verifyReplicaCount (``scaledobject_types.go`` CheckReplicaCountBoundsAreValid:
  min <= max with KEDA's HPA defaults, idleReplicaCount < min), verifyName
  (the ScaledObject name and the derived HPA name fit a label value, 63),
  verifyFallback (``scaledobject_types.go`` CheckFallbackValid), verifyTriggers
  (``scaletriggers_types.go`` ValidateTriggers: at least one trigger, unique
  trigger names, no ``useCachedMetrics`` on cpu/memory/cron), verifyScaledObjects
  (no two ScaledObjects of the plan on one workload or one HPA name; the
  ``scalingModifiers`` rules except compiling the formula, which needs
  expr-lang; its PollingInterval/CooldownPeriod *warnings* become notes),
  verifyHpas (no HPA of the plan already scales the workload, unless marked
  ``validations.keda.sh/hpa-ownership: "false"`` or handed over with
  ``scaledobject.keda.sh/transfer-hpa-ownership``), verifyCPUMemoryScalers
  (cpu/memory triggers need the request or limit on the scale target's
  containers of this plan, or a LimitRange default; they cannot scale to zero
  alone);
* ``apis/keda/v1alpha1/scaledjob_webhook.go``: ValidateTriggers;
* ``apis/keda/v1alpha1/triggerauthentication_webhook.go`` validateSpec (both
  TriggerAuthentication kinds): pod identity (azure-workload ids, aws roleArn vs
  identityOwner, externalID needs roleArn) and oauth2 (grant type, clientId,
  an http(s) tokenUrl).

Trigger metadata (what each scaler reads) is checked by :mod:`validators.scalers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import urlparse

from validators import crds, upstream
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


# --------------------------------------------------------------------------- KEDA

KEDA_GROUP = "keda.sh"
#: apis/keda/v1alpha1/scaledobject_webhook.go maxK8sLabelValueLength
KEDA_MAX_NAME = 63
#: apis/keda/v1alpha1/scaledobject_types.go defaultHPAMinReplicas / defaultHPAMaxReplicas
KEDA_HPA_MIN, KEDA_HPA_MAX = 1, 100
HPA_OWNERSHIP_ANNOTATION = "validations.keda.sh/hpa-ownership"
TRANSFER_HPA_ANNOTATION = "scaledobject.keda.sh/transfer-hpa-ownership"
CPU_MEMORY = ("cpu", "memory")


def keda_source() -> str:
    """``kedacore/keda@<tag>``: the release the KEDA CRDs were vendored at (the pinned operator)."""
    e = upstream.manifest().get("crds/keda/keda.sh_scaledobjects.yaml") or {}
    return f"{e.get('repo', 'kedacore/keda')}@{e.get('ref', '?')}"


@dataclass
class KedaContext:
    """What KEDA's webhooks look up in the cluster, taken from the plan instead."""

    scaled_objects: list[Mapping] = field(default_factory=list)
    hpas: list[Mapping] = field(default_factory=list)
    workloads: dict[tuple[str, str, str], Mapping] = field(default_factory=dict)  # (kind, ns, name)
    limit_ranges: list[Mapping] = field(default_factory=list)

    @classmethod
    def of(cls, objs: list[Mapping]) -> "KedaContext":
        ctx = cls()
        for o in objs:
            api, kind = str(o.get("apiVersion") or ""), o.get("kind")
            if api == f"{KEDA_GROUP}/v1alpha1" and kind == "ScaledObject":
                ctx.scaled_objects.append(o)
            elif api.startswith("autoscaling/") and kind == "HorizontalPodAutoscaler":
                ctx.hpas.append(o)
            elif api == "apps/v1" and kind in ("Deployment", "StatefulSet"):
                ctx.workloads[(kind, _ns(o), _name(o))] = o
            elif api == "v1" and kind == "LimitRange":
                ctx.limit_ranges.append(o)
        return ctx


def _ns(o: Mapping) -> str:
    return str(_dig(o, "metadata", "namespace") or "")


def _name(o: Mapping) -> str:
    return str(_dig(o, "metadata", "name") or "")


def _gvk(api_version: Any, kind: Any) -> str:
    """apis/keda/v1alpha1/gvkr.go ParseGVKR: an empty apiVersion/kind means apps/v1 Deployment."""
    api = str(api_version or "apps/v1")
    return f"{api}.{kind or 'Deployment'}"


def hpa_name(so: Mapping) -> str:
    """scaledobject_webhook.go getHpaName."""
    return str(_dig(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "name") or f"keda-hpa-{_name(so)}")


def using_modifiers(so: Mapping) -> bool:
    """scaledobject_types.go IsUsingModifiers: advanced.scalingModifiers is not the empty struct."""
    sm = _dig(so, "spec", "advanced", "scalingModifiers")
    return isinstance(sm, Mapping) and any(sm.get(k) for k in ("formula", "target", "activationTarget", "metricType"))


def keda_trigger_errors(triggers: Any) -> Iterator[Error]:
    """scaletriggers_types.go ValidateTriggers."""
    triggers = list(triggers or [])
    if not triggers:
        yield "spec.triggers", "no triggers defined in the ScaledObject/ScaledJob"
        return
    names: set = set()
    for i, t in enumerate(triggers):
        if t.get("useCachedMetrics") and t.get("type") in ("cpu", "memory", "cron"):
            yield f"spec.triggers[{i}].useCachedMetrics", f'property "useCachedMetrics" is not supported for "{t.get("type")}" scaler'
        name = t.get("name")
        if name:
            if name in names:
                yield (f"spec.triggers[{i}].name", f'triggerName "{name}" is defined multiple times in the '
                       "ScaledObject/ScaledJob, but it must be unique")
            names.add(name)


def _resource_set(resources: Any, resource: str) -> bool:
    """scaledobject_webhook.go isWorkloadResourceSet: a request or limit above zero."""
    for part in ("requests", "limits"):
        q = _quantity(_dig(resources, part, resource))
        if q is not None and q > 0:
            return True
    return False


def scaledobject_errors(so: Mapping, ctx: KedaContext) -> tuple[list[Error], list[str]]:
    """(errors, warnings) of scaledobject_webhook.go validateWorkload on create (not a dry run)."""
    errors: list[Error] = []
    warnings: list[str] = []
    spec = so.get("spec") or {}
    triggers = list(spec.get("triggers") or [])
    name, ns = _name(so), _ns(so)
    min_set = spec.get("minReplicaCount") is not None
    min_count = spec.get("minReplicaCount") or 0

    # verifyReplicaCount
    hpa_min = 0 if not min_set else (min_count if min_count > 0 else KEDA_HPA_MIN)
    hpa_max = spec["maxReplicaCount"] if spec.get("maxReplicaCount") is not None else KEDA_HPA_MAX
    if hpa_min > hpa_max:
        errors.append(("spec.minReplicaCount", f"MinReplicaCount={hpa_min} must be less than MaxReplicaCount={hpa_max}"))
    idle = spec.get("idleReplicaCount")
    if idle is not None and idle >= hpa_min:
        errors.append(("spec.idleReplicaCount", f"IdleReplicaCount={idle} must be less than MinReplicaCount={hpa_min}"))

    # verifyName
    if len(name) > KEDA_MAX_NAME:
        errors.append(("metadata.name", f"scaledobject name {name!r} is {len(name)} characters long; must be no more "
                       f"than {KEDA_MAX_NAME} characters because it is used as the scaledobject.keda.sh/name label value"))
    elif len(hpa_name(so)) > KEDA_MAX_NAME:
        errors.append(("spec.advanced.horizontalPodAutoscalerConfig.name",
                       f"HPA name {hpa_name(so)!r} derived from scaledobject is {len(hpa_name(so))} characters long; "
                       f"must be no more than {KEDA_MAX_NAME} characters"))

    # verifyFallback
    fallback = spec.get("fallback")
    if isinstance(fallback, Mapping):
        if (fallback.get("failureThreshold") or 0) < 0 or (fallback.get("replicas") or 0) < 0:
            errors.append(("spec.fallback", f"FailureThreshold={fallback.get('failureThreshold')} & "
                           f"Replicas={fallback.get('replicas')} must both be greater than or equal to 0"))
        elif not using_modifiers(so) and not any(t.get("type") not in CPU_MEMORY for t in triggers):
            errors.append(("spec.fallback", "at least one trigger (that is not cpu or memory) has to have the "
                           "`AverageValue` type for the fallback to be enabled"))

    # verifyTriggers
    errors += list(keda_trigger_errors(triggers))

    # verifyScaledObjects: warnings, other ScaledObjects, scalingModifiers
    idle_not_zero = idle is None or idle != 0
    if spec.get("pollingInterval") is not None and min_count > 0 and idle_not_zero and \
            not any(t.get("useCachedMetrics") for t in triggers):
        warnings.append("PollingInterval is configured but is not relevant. PollingInterval is only relevant when "
                        "minReplicaCount = 0 or idleReplicaCount = 0 or useCachedMetrics is enabled")
    if spec.get("cooldownPeriod") is not None and min_count > 0 and idle_not_zero:
        warnings.append("CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant when "
                        "minReplicaCount = 0 or idleReplicaCount = 0")
    target = spec.get("scaleTargetRef") or {}
    gvk = _gvk(target.get("apiVersion"), target.get("kind"))
    for other in ctx.scaled_objects:
        if _ns(other) != ns or _name(other) == name:
            continue
        oref = _dig(other, "spec", "scaleTargetRef") or {}
        if _gvk(oref.get("apiVersion"), oref.get("kind")) == gvk and oref.get("name") == target.get("name"):
            errors.append(("spec.scaleTargetRef", f"the workload '{target.get('name')}' of type '{gvk}' is already "
                           f"managed by the ScaledObject '{_name(other)}'"))
        if hpa_name(other) == hpa_name(so):
            errors.append(("spec.advanced.horizontalPodAutoscalerConfig.name",
                           f"the HPA '{hpa_name(so)}' is already managed by the ScaledObject '{_name(other)}'"))
    if using_modifiers(so):
        sm = _dig(spec, "advanced", "scalingModifiers") or {}
        where = "spec.advanced.scalingModifiers"
        if not sm.get("formula"):
            errors.append((f"{where}.formula", "error ScalingModifiers.Formula is mandatory"))
        elif not sm.get("target"):
            errors.append((f"{where}.target", "error validating formula in ScalingModifiers: formula is given but "
                           "target is empty"))
        else:
            try:
                ok = float(str(sm["target"])) > 0
            except ValueError:
                ok = False
            if not ok:
                errors.append((f"{where}.target", "error converting target for scalingModifiers (string->float) to "
                               "valid target"))
            elif sm.get("metricType") == "Utilization":
                errors.append((f"{where}.metricType", "error trigger type is Utilization, but it needs to be "
                               "AverageValue or Value for external metrics"))
    if isinstance(fallback, Mapping) and fallback.get("behavior") == "scalingModifiers" and \
            not (using_modifiers(so) and _dig(spec, "advanced", "scalingModifiers", "formula")):
        errors.append(("spec.fallback.behavior", "scalingModifiers fallback behavior requires "
                       "scalingModifiers.formula to be defined"))

    # verifyHpas
    for hpa in ctx.hpas:
        if _ns(hpa) != ns or (_dig(hpa, "metadata", "annotations") or {}).get(HPA_OWNERSHIP_ANNOTATION) == "false":
            continue
        href = _dig(hpa, "spec", "scaleTargetRef") or {}
        if _gvk(href.get("apiVersion"), href.get("kind")) != gvk or href.get("name") != target.get("name"):
            continue
        owners = _dig(hpa, "metadata", "ownerReferences") or []
        if any(o.get("kind") == "ScaledObject" and o.get("name") == name for o in owners):
            continue
        if (_dig(so, "metadata", "annotations") or {}).get(TRANSFER_HPA_ANNOTATION) == "true":
            if _dig(spec, "advanced", "horizontalPodAutoscalerConfig", "name") != _name(hpa):
                errors.append(("spec.advanced.horizontalPodAutoscalerConfig.name",
                               f"the existing hpa '{_name(hpa)}' for workload '{target.get('name')}' of type '{gvk}' "
                               "must be specified by name in advanced settings to enable ownership transfer"))
        else:
            errors.append(("spec.scaleTargetRef", f"the workload '{target.get('name')}' of type '{gvk}' is already "
                           f"managed by the hpa '{_name(hpa)}'"))

    # verifyCPUMemoryScalers
    if any(t.get("type") in CPU_MEMORY for t in triggers) and gvk in ("apps/v1.Deployment", "apps/v1.StatefulSet"):
        workload = ctx.workloads.get((gvk.rsplit(".", 1)[1], ns, str(target.get("name"))))
        for i, t in enumerate(triggers):
            if t.get("type") not in CPU_MEMORY:
                continue
            resource = t["type"]
            if workload is not None:
                wanted = (t.get("metadata") or {}).get("containerName") or ""
                defaulted = any(
                    item.get("type") == "Container" and (_resource_set({"requests": item.get("defaultRequest") or {},
                                                                         "limits": item.get("default") or {}}, resource))
                    for lr in ctx.limit_ranges if _ns(lr) == ns for item in _dig(lr, "spec", "limits") or [])
                for c in _dig(workload, "spec", "template", "spec", "containers") or []:
                    if wanted and c.get("name") != wanted:
                        continue
                    if not _resource_set(c.get("resources"), resource) and not defaulted:
                        errors.append((f"spec.triggers[{i}]", f"the scaledobject has a {resource} trigger but the "
                                       f"container {c.get('name')} doesn't have the {resource} request defined"))
        if all(x.get("type") in CPU_MEMORY for x in triggers) and min_count == 0:
            errors.append(("spec.minReplicaCount", "scaledobject has only cpu/memory triggers AND minReplica is 0 "
                           "(scale to zero doesn't work in this case)"))
    return errors, warnings


def trigger_authentication_errors(ta: Mapping) -> Iterator[Error]:
    """triggerauthentication_webhook.go validateSpec."""
    spec = ta.get("spec") or {}
    pi = spec.get("podIdentity")
    if isinstance(pi, Mapping):
        provider = pi.get("provider")
        if provider == "azure-workload":
            if pi.get("identityId") == "":
                yield "spec.podIdentity.identityId", ('identityId of PodIdentity should not be empty. If it\'s set, '
                                                      'identityId has to be different than ""')
            if pi.get("identityAuthorityHost"):
                if not pi.get("identityTenantId"):
                    yield ("spec.podIdentity.identityTenantId", "identityTenantID of PodIdentity should not be nil or "
                           "empty when identityAuthorityHost of PodIdentity is set")
            elif pi.get("identityTenantId") == "":
                yield "spec.podIdentity.identityTenantId", ('identityTenantId of PodIdentity should not be empty. If '
                                                            'it\'s set, identityTenantId has to be different than ""')
        elif provider == "aws":
            if pi.get("roleArn") and pi.get("identityOwner") == "workload":
                yield "spec.podIdentity.roleArn", "roleArn of PodIdentity can't be set if KEDA isn't identityOwner"
            if pi.get("externalID") and not pi.get("roleArn"):
                yield "spec.podIdentity.externalID", "externalID of PodIdentity requires roleArn to be set"
        else:
            return  # validateSpec returns early for every other provider
    oauth2 = spec.get("oauth2")
    if isinstance(oauth2, Mapping):
        if oauth2.get("type") != "clientCredentials":
            yield "spec.oauth2.type", f"oauth2.type must be 'clientCredentials', got '{oauth2.get('type') or ''}'"
        elif not oauth2.get("clientId"):
            yield "spec.oauth2.clientId", "oauth2.clientId is required when oauth2 is configured"
        elif not oauth2.get("tokenUrl"):
            yield "spec.oauth2.tokenUrl", "oauth2.tokenUrl is required when oauth2 is configured"
        else:
            url = urlparse(str(oauth2["tokenUrl"]))
            if url.scheme not in ("http", "https") or not url.netloc:
                yield "spec.oauth2.tokenUrl", "oauth2.tokenUrl must be a valid http or https URL"


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

    keda = KedaContext.of([_obj(m) for m in manifests]) if any(m.group == KEDA_GROUP for m in manifests) else None
    for m in manifests:
        if m.group == KEDA_GROUP and m.kind == "ScaledObject":
            errors, warnings = scaledobject_errors(_obj(m), keda)
            report(m, f"{keda_source()} apis/keda/v1alpha1/scaledobject_webhook.go", iter(errors))
            section.notes += [f"KEDA admission warning for ScaledObject {m.namespace}/{m.name}: {w}" for w in warnings]
        elif m.group == KEDA_GROUP and m.kind == "ScaledJob":
            report(m, f"{keda_source()} apis/keda/v1alpha1/scaledjob_webhook.go",
                   keda_trigger_errors(_dig(_obj(m), "spec", "triggers")))
        elif m.group == KEDA_GROUP and m.kind in ("TriggerAuthentication", "ClusterTriggerAuthentication"):
            report(m, f"{keda_source()} apis/keda/v1alpha1/triggerauthentication_webhook.go",
                   trigger_authentication_errors(_obj(m)))
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
