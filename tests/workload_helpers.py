"""Helpers for the workload-layer tests: a fake cluster context, strict Kubeflow model validation, policy verdicts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Optional

import pulumi
import pulumi_kubernetes as k8s

from automation.offline.monitor import Registration
from automation.offline.plan import check_policies
from automation.offline.runner import PROJECT_DIR, ProgramRun
from components import versions
from components.identity import ClusterIdentity

ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
#: Tags the policy pack requires on every taggable AWS resource.
TAGS = {"owner": "ml-platform", "cost-center": "ml-test", "environment": "test", "platform": "mlplatform"}
BUCKET = "ml-test-data"


def provider() -> k8s.Provider:
    return k8s.Provider("k8s", kubeconfig="{}")


def identity(env, p: Optional[k8s.Provider] = None, mode: str = "pod-identity") -> ClusterIdentity:
    return ClusterIdentity(cluster_name="ml-test", oidc_provider_arn=OIDC_ARN, oidc_issuer=ISSUER, mode=mode,
                           env=env, provider=p, tags=dict(TAGS))


def bucket_arn(env) -> pulumi.Output[str]:
    """The data bucket ARN as the storage layer would return it (partition from the environment)."""
    return pulumi.Output.concat("arn:", env.partition, ":s3:::", BUCKET)


def lb_controller_release(p: k8s.Provider) -> k8s.helm.v3.Release:
    """A stand-in for the add-on layer's AWS Load Balancer Controller release (same chart name)."""
    return k8s.helm.v3.Release("lbc", name="aws-load-balancer-controller", chart="aws-load-balancer-controller",
                               version=versions.HELM_CHARTS["aws-load-balancer-controller"].version, namespace="kube-system",
                               repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://aws.github.io/eks-charts"),
                               opts=pulumi.ResourceOptions(provider=p))


def by_suffix(run: ProgramRun, type_suffix: str) -> list[Registration]:
    return [r for r in run.registrations if r.type.endswith(type_suffix)]


def one(run: ProgramRun, type_suffix: str, name: Optional[str] = None) -> Registration:
    hits = [r for r in by_suffix(run, type_suffix) if name is None or r.name == name]
    assert len(hits) == 1, f"{len(hits)} registrations of *{type_suffix} named {name!r}: {[h.name for h in hits]}"
    return hits[0]


def depends_on(run: ProgramRun, reg: Registration, target: Registration) -> bool:
    """True if ``reg`` depends on ``target`` directly, through parents, or transitively through dependencies."""
    by_urn = {r.urn: r for r in run.registrations}
    seen: set[str] = set()
    todo = [reg.urn]
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        r = by_urn.get(urn)
        if r is None:
            continue
        deps = list(r.dependencies) + [d for ds in r.property_dependencies.values() for d in ds]
        if target.urn in deps:
            return True
        todo.extend(deps)
        # A component's children wait for whatever the component waits for.
        if r.parent:
            todo.append(r.parent)
    return False


def pods_of(reg: Registration) -> list:
    """The effective pod templates the policy pack sees for this object."""
    from guardrails.podspecs import pod_templates

    return list(pod_templates(reg.type, reg.inputs))


def verdicts(run: ProgramRun, policy_config: Optional[dict] = None) -> list:
    """Run the real policy pack over the run's registrations (as the offline plan does)."""
    diags, _ = check_policies(run, PROJECT_DIR / "policies", policy_config or {})
    return diags


def names(diags: Iterable) -> set[str]:
    return {d.policy for d in diags}


# --------------------------------------------------------------------------- strict model validation


def _strip_none(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_none(x) for x in v]
    return v


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: dropped by the model (unknown field)" for k in a if k not in b]
        out += [f"{path}.{k}: added by the model" for k in b if k not in a]
        for k in a:
            if k in b:
                out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def validate_trainer(obj: dict) -> list[str]:
    """Problems with a Trainer object under the kubeflow-trainer-api models (pydantic; unknown keys are caught
    by comparing the model's own serialisation with the input, since the models silently drop them)."""
    from kubeflow_trainer_api import models

    cls = {
        "TrainJob": models.TrainerV1alpha1TrainJob,
        "ClusterTrainingRuntime": models.TrainerV1alpha1ClusterTrainingRuntime,
        "TrainingRuntime": models.TrainerV1alpha1TrainingRuntime,
    }[obj["kind"]]
    parsed = cls.from_dict(obj)  # raises pydantic.ValidationError on type/required errors
    return _diff(_strip_none(obj), parsed.to_dict())


_NATIVE = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def validate_openapi(data: Any, klass: str, where: str = "") -> list[str]:
    """Problems with ``data`` against the kubeflow-training (OpenAPI-generated) model ``klass``: unknown keys,
    wrong primitive types, and missing required fields (the models' own client-side validation)."""
    import kubeflow.training.models as models

    if klass.startswith("list["):
        inner = klass[5:-1]
        if not isinstance(data, list):
            return [f"{where}: expected a list"]
        return [p for i, x in enumerate(data) for p in validate_openapi(x, inner, f"{where}[{i}]")]
    m = re.fullmatch(r"dict\(([^,]*), (.*)\)", klass)
    if m:
        if not isinstance(data, dict):
            return [f"{where}: expected a map"]
        return [p for k, x in data.items() for p in validate_openapi(x, m.group(2), f"{where}.{k}")]
    if klass in _NATIVE:
        ok = isinstance(data, _NATIVE[klass]) and not (klass == "int" and isinstance(data, bool))
        return [] if ok else [f"{where}: expected {klass}, got {type(data).__name__}"]
    if klass == "datetime":
        return [] if isinstance(data, str) else [f"{where}: expected a timestamp"]
    cls = getattr(models, klass)
    if not isinstance(data, dict):
        return [f"{where}: expected an object ({klass})"]
    by_json = {v: k for k, v in cls.attribute_map.items()}
    problems = [f"{where}.{k}: unknown field of {klass}" for k in data if k not in by_json]
    kwargs = {}
    for key, value in data.items():
        if key in by_json:
            attr = by_json[key]
            problems += validate_openapi(value, cls.openapi_types[attr], f"{where}.{key}")
            kwargs[attr] = value if not isinstance(value, (dict, list)) else None
    if not problems:
        try:  # required fields (e.g. container name, replica spec template) are enforced by the constructor
            required_probe = {a: (kwargs.get(a) if a in kwargs else None) for a in cls.openapi_types}
            for a, v in required_probe.items():
                if v is None and cls.attribute_map[a] in data:
                    required_probe[a] = _placeholder(cls.openapi_types[a])
            cls(**required_probe)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def _placeholder(klass: str) -> Any:
    return [] if klass.startswith("list[") else ({} if klass.startswith("dict(") else object())


def validate_pytorchjob(obj: dict) -> list[str]:
    return validate_openapi(obj, "KubeflowOrgV1PyTorchJob", "PyTorchJob")


def repo_path(*parts: str) -> Path:
    return PROJECT_DIR.joinpath(*parts)
