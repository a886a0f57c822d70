"""The ML platform's guard rails, grouped by area. Importing this package registers every rule."""

from guardrails import (  # noqa: F401  (importing a module registers its rules)
    network,
    cluster,
    nodes,
    iam,
    storage,
    workloads,
    inference,
    rbac,
    access,
    registry,
    helm,
    ingress,
    tagging,
    stack,
)
from guardrails._meta import METADATA, PACK_NAME, REGISTRY

ALL_POLICIES = list(REGISTRY)

__all__ = ["ALL_POLICIES", "METADATA", "PACK_NAME"]
