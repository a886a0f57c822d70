"""Entry point the Pulumi engine runs: it only builds the pack (and then serves gRPC forever).

Rules live in ``guardrails/``; tests import those modules, never this file.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails import ALL_POLICIES, PACK_NAME

PolicyPack(
    name=PACK_NAME,
    # Built-in defaults are the strict (prod) levels; per-stack config may lower some to advisory.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
)
