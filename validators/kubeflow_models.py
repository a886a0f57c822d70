"""Kubeflow custom resources against Kubeflow's own published API models.

* Trainer v2 (``trainer.kubeflow.org/v1alpha1``: TrainJob, TrainingRuntime,
  ClusterTrainingRuntime): ``kubeflow-trainer-api`` pydantic models
  (``kubeflow_trainer_api.models.TrainerV1alpha1*``), matching the pinned
  Trainer chart (components/versions.py). Their ``model_config`` does not forbid
  extra keys, so unknown fields are found by walking the model fields
  (:func:`validators.models.walk_pydantic`).
* Training Operator v1 (``kubeflow.org/v1``: PyTorchJob): ``kubeflow-training``
  openapi models (``kubeflow.training.models.KubeflowOrgV1PyTorchJob``), walked
  the same way, then run through the SDK's own deserializer (required fields,
  enums).

Pod templates embedded in these objects are additionally validated as v1 Pods
by kubernetes-validate (strict), in :mod:`validators.crds`' embedded-pod check.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from validators.manifests import Manifest
from validators.models import Error, _Response, walk_openapi, walk_pydantic
from validators.report import Finding

VALIDATOR = "kubeflow-models"


def _trainer_models() -> dict[str, type]:
    from kubeflow_trainer_api import models

    return {
        "TrainJob": models.TrainerV1alpha1TrainJob,
        "TrainingRuntime": models.TrainerV1alpha1TrainingRuntime,
        "ClusterTrainingRuntime": models.TrainerV1alpha1ClusterTrainingRuntime,
    }


def _resolve_training_model(name: str) -> Optional[type]:
    import kubernetes.client
    from kubeflow.training import models

    return getattr(models, name, None) or getattr(kubernetes.client, name, None)


def check_trainer(obj: Mapping[str, Any], kind: str) -> list[Error]:
    cls = _trainer_models()[kind]
    return walk_pydantic(cls, dict(obj))


def check_pytorchjob(obj: Mapping[str, Any]) -> list[Error]:
    errors = walk_openapi(_resolve_training_model, "KubeflowOrgV1PyTorchJob", dict(obj))
    if errors:
        return errors
    from kubeflow.training import ApiClient

    try:
        ApiClient().deserialize(_Response(dict(obj)), "KubeflowOrgV1PyTorchJob")
    except (ValueError, TypeError) as exc:
        return [("", f"kubeflow-training deserializer: {exc}")]
    return []


#: (group, kind) -> (model description, checker)
CHECKERS: dict[tuple[str, str], tuple[str, Callable[[Mapping[str, Any]], list[Error]]]] = {
    ("trainer.kubeflow.org", "TrainJob"): ("kubeflow-trainer-api TrainerV1alpha1TrainJob",
                                          lambda o: check_trainer(o, "TrainJob")),
    ("trainer.kubeflow.org", "TrainingRuntime"): ("kubeflow-trainer-api TrainerV1alpha1TrainingRuntime",
                                                 lambda o: check_trainer(o, "TrainingRuntime")),
    ("trainer.kubeflow.org", "ClusterTrainingRuntime"): (
        "kubeflow-trainer-api TrainerV1alpha1ClusterTrainingRuntime",
        lambda o: check_trainer(o, "ClusterTrainingRuntime")),
    ("kubeflow.org", "PyTorchJob"): ("kubeflow-training KubeflowOrgV1PyTorchJob", check_pytorchjob),
}
#: API versions the models describe; any other version of these kinds is reported, not guessed at.
VERSIONS = {"trainer.kubeflow.org": "v1alpha1", "kubeflow.org": "v1"}


def handles(m: Manifest) -> bool:
    return (m.group, m.kind) in CHECKERS


def check(m: Manifest) -> list[Finding]:
    model, checker = CHECKERS[(m.group, m.kind)]
    if m.version != VERSIONS[m.group]:
        return [Finding(VALIDATOR, model, m.subject,
                        f"apiVersion {m.api_version} is not the {m.group}/{VERSIONS[m.group]} the pinned models describe",
                        path="apiVersion")]
    return [Finding(VALIDATOR, model, m.subject, message, path=path) for path, message in checker(m.obj)]
