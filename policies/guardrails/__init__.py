"""The ML platform's guard rails, grouped by area. Importing this package registers every rule."""

from guardrails import workloads  # noqa: F401  (registers its rules)
from guardrails._meta import METADATA, PACK_NAME, REGISTRY

ALL_POLICIES = list(REGISTRY)

__all__ = ["ALL_POLICIES", "METADATA", "PACK_NAME"]
