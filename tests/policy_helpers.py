"""Test helpers for the policy pack: one real pack process over gRPC per session, fixtures as Registrations.

Every rule test goes through the analyzer exactly as the engine drives it
(GetAnalyzerInfo, Configure, Analyze / AnalyzeStack), never by calling the
validator functions. A test module declares ``CASES`` (violating and compliant
fixtures per rule) and runs them with :func:`run_case`; tests/test_policies_meta.py
collects every module's ``CASES`` and fails if a registered rule lacks either kind.
"""

from __future__ import annotations

import atexit
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from automation.offline.analyzer import Diagnostic, PolicyPackClient
from automation.offline.monitor import Registration

ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "policies"
PROJECT, STACK = "mlplatform", "test"
TAGS = {"owner": "ml-platform", "cost-center": "ml-test", "environment": "test"}

_client: Optional[PolicyPackClient] = None
_configured: Optional[str] = None
_levels: dict[str, dict] = {}


def client() -> PolicyPackClient:
    """The session's policy pack, started once, closed at exit."""
    global _client
    if _client is None:
        _client = PolicyPackClient(PACK_DIR)
        _client.get_info()
        atexit.register(_client.close)
    return _client


def configure(config: Optional[Mapping[str, Any]] = None) -> dict[str, dict]:
    """Configure the pack (only when the config differs from the last one); returns the merged config."""
    global _configured, _levels
    key = json.dumps(config or {}, sort_keys=True)
    if key != _configured:
        _levels = client().configure(dict(config or {}))
        _configured = key
    return _levels


def load_config(stack: str) -> dict:
    return json.loads((PACK_DIR / "config" / f"{stack}.json").read_text())


def urn_of(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def res(type_: str, name: str, inputs: Optional[Mapping[str, Any]] = None, *, id: str = "",
        outputs: Optional[Mapping[str, Any]] = None, protect: bool = False, parent: str = "",
        deps: Sequence[str] = (), prop_deps: Optional[Mapping[str, Sequence[str]]] = None,
        provider: str = "") -> Registration:
    """A registration as the monitor records it; outputs default to the inputs (what the mocks echo)."""
    inputs = copy.deepcopy(dict(inputs or {}))
    return Registration(
        urn=urn_of(type_, name), type=type_, name=name, parent=parent, custom=not type_.startswith("eks:"),
        remote=type_.startswith("eks:"), provider=provider, dependencies=list(deps),
        property_dependencies={k: list(v) for k, v in (prop_deps or {}).items()},
        wire_inputs=inputs, id=id, wire_outputs=copy.deepcopy(dict(outputs)) if outputs is not None else inputs,
        options={"protect": protect},
    )


def k8s(api_version: str, kind: str, name: str, *, namespace: Optional[str] = "team-a",
        spec: Optional[Mapping[str, Any]] = None, annotations: Optional[Mapping[str, str]] = None,
        labels: Optional[Mapping[str, str]] = None, extra: Optional[Mapping[str, Any]] = None,
        resource_name: Optional[str] = None, **kw: Any) -> Registration:
    """A Kubernetes object registration, typed as pulumi-kubernetes registers it."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    if labels:
        meta["labels"] = dict(labels)
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = copy.deepcopy(dict(spec))
    obj.update(copy.deepcopy(dict(extra or {})))
    return res(f"kubernetes:{group_version}:{kind}", resource_name or f"{kind.lower()}-{name}", obj, **kw)


# --------------------------------------------------------------------------- compliant building blocks


def container(name: str = "app", **overrides: Any) -> dict:
    """A container that passes every workload rule."""
    c = {
        "name": name,
        "image": "public.ecr.aws/docker/library/python:3.12.8-slim",
        "imagePullPolicy": "Always",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    }
    c.update(overrides)
    return c


def pod_spec(*containers: dict, **overrides: Any) -> dict:
    spec = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": list(containers) or [container()],
    }
    spec.update(overrides)
    return spec


def deployment(name: str = "web", spec: Optional[dict] = None, *, namespace: str = "team-a",
               template_annotations: Optional[Mapping[str, str]] = None, **kw: Any) -> Registration:
    tpl: dict[str, Any] = {"metadata": {"labels": {"app": name}}, "spec": spec or pod_spec()}
    if template_annotations:
        tpl["metadata"]["annotations"] = dict(template_annotations)
    return k8s("apps/v1", "Deployment", name, namespace=namespace,
               spec={"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": tpl}, **kw)


GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def gpu_container(name: str = "trainer", gpus: int = 1, **overrides: Any) -> dict:
    c = container(name)
    c.pop("readinessProbe")
    c.pop("livenessProbe")
    c["resources"] = {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": gpus},
                      "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": gpus}}
    c.update(overrides)
    return c


def pytorchjob(name: str = "ddp", *, worker_spec: Optional[dict] = None,
               annotations: Optional[Mapping[str, str]] = None, **kw: Any) -> Registration:
    ann = {"karpenter.sh/do-not-disrupt": "true"} if annotations is None else dict(annotations)
    spec = worker_spec or pod_spec(gpu_container(), tolerations=[GPU_TOLERATION])
    replica = {"replicas": 2, "template": {"metadata": {"annotations": ann}, "spec": spec}}
    return k8s("kubeflow.org/v1", "PyTorchJob", name, namespace="research",
               spec={"pytorchReplicaSpecs": {"Master": copy.deepcopy(replica), "Worker": replica}}, **kw)


def trainjob(name: str = "mnist", *, node_patch: Optional[dict] = None, pod_patch: Optional[dict] = None,
             annotations: Optional[Mapping[str, str]] = None, resources: Optional[dict] = None,
             image: str = "nvcr.io/nvidia/pytorch:25.01-py3", **kw: Any) -> Registration:
    """A TrainJob whose effective pod (trainer + runtime patches) is compliant unless overridden."""
    node = {"name": "node", "securityContext": container()["securityContext"]}
    node.update(node_patch or {})
    pspec = {"securityContext": pod_spec()["securityContext"], "tolerations": [GPU_TOLERATION],
             "containers": [node]}
    pspec.update(pod_patch or {})
    ann = {"karpenter.sh/do-not-disrupt": "true"} if annotations is None else dict(annotations)
    patch = {"manager": "mlplatform.io/platform", "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [
        {"name": "node", "template": {"spec": {"template": {"metadata": {"annotations": ann}, "spec": pspec}}}}]}}}}
    res_ = resources or {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
                         "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1}}
    return k8s("trainer.kubeflow.org/v1alpha1", "TrainJob", name, namespace="research",
               spec={"runtimeRef": {"name": "torch-distributed", "apiGroup": "trainer.kubeflow.org",
                                    "kind": "ClusterTrainingRuntime"},
                     "trainer": {"image": image, "numNodes": 2, "resourcesPerNode": res_},
                     "runtimePatches": [patch]}, **kw)


# --------------------------------------------------------------------------- running fixtures


@dataclass
class Case:
    """One fixture: ``resources`` (one registration for Analyze, a list for AnalyzeStack) and the verdict.

    ``covers`` names the public checks the fixture exercises (``CKV_K8S_15``, ``CIS 4.1.4``): every check a rule
    claims in its metadata needs a violating and a compliant fixture that say so (tests/test_policies_meta.py).
    """

    rule: str
    violates: bool
    resources: Union[Registration, list]
    config: Optional[dict] = None
    contains: Optional[str] = None
    level: str = "mandatory"
    label: str = ""
    providers: dict = field(default_factory=dict)
    covers: tuple = ()

    @property
    def id(self) -> str:
        return f"{self.rule}:{'violates' if self.violates else 'passes'}:{self.label or self._subject()}"

    def _subject(self) -> str:
        r = self.resources
        return r.name if isinstance(r, Registration) else f"stack[{len(r)}]"


def analyze(resources: Union[Registration, list], config: Optional[Mapping[str, Any]] = None,
            providers: Optional[Mapping[str, Registration]] = None) -> list[Diagnostic]:
    configure(config)
    if isinstance(resources, Registration):
        return client().analyze(resources, providers or {})
    return client().analyze_stack(list(resources), providers or {})


def hits(diags: list[Diagnostic], rule: str) -> list[Diagnostic]:
    return [d for d in diags if d.policy == rule]


def run_case(case: Case) -> list[Diagnostic]:
    found = hits(analyze(case.resources, case.config, case.providers), case.rule)
    if case.violates:
        assert found, f"{case.rule} did not fire"
        assert all(d.level == case.level for d in found), [(d.level, d.message) for d in found]
        if case.contains:
            assert any(case.contains in d.message for d in found), [d.message for d in found]
        if isinstance(case.resources, Registration):
            assert all(d.urn == case.resources.urn for d in found)
    else:
        assert not found, [d.message for d in found]
    return found


def case_id(case: Case) -> str:
    return case.id
