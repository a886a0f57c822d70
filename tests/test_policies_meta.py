"""Every registered rule has a violating and a compliant fixture, and the pack serves what the code registers."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from guardrails import METADATA
from tests.policy_helpers import Case, client

TESTS = Path(__file__).resolve().parent
AREAS = {"network", "cluster", "nodes", "iam", "storage", "workloads", "rbac", "ingress", "tagging", "stack"}


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(TESTS.glob("test_policies_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        cases += list(getattr(module, "CASES", []))
    return cases


def test_every_rule_has_a_violating_and_a_compliant_fixture() -> None:
    cases = all_cases()
    unknown = sorted({c.rule for c in cases} - set(METADATA))
    assert not unknown, f"fixtures for rules that do not exist: {unknown}"
    missing = [(name, kind) for name in METADATA for kind, want in (("violating", True), ("compliant", False))
               if not any(c.rule == name and c.violates is want for c in cases)]
    assert not missing, missing


def test_the_pack_serves_every_registered_rule() -> None:
    info = client().get_info()
    assert sorted(p.name for p in info.policies) == sorted(METADATA)
    stack_rules = {p.name for p in info.policies if p.policy_type == "stack"}
    assert stack_rules == {n for n, m in METADATA.items() if m.kind == "stack"}
    assert {"node-groups-in-private-subnets", "team-namespace-guardrails", "load-balancers-depend-on-controller",
            "vpc-flow-logs-enabled", "gpu-capacity-total"} <= stack_rules


def test_rules_are_named_and_grouped() -> None:
    assert len(METADATA) >= 35
    for name, meta in METADATA.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", name), name
        assert meta.area in AREAS, (name, meta.area)
        assert meta.level == "mandatory", name
