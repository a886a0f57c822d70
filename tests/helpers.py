"""Shared test helpers: run components or whole stacks under the project's one Mocks implementation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from automation.offline.monitor import Registration
from automation.offline.runner import ProgramRun, run_program, run_under_mocks
from components.aws_env import AwsEnv
from components.config import StackConfig, load_config

REGION = "us-west-2"


def run_component(body: Callable[[AwsEnv], Any], *, stack: str = "test", region: str = REGION,
                  config: Optional[Mapping[str, str]] = None, fresh: bool = False) -> ProgramRun:
    """Run ``body(env)`` as a program under mocks and return what it registered (``fresh``: as a first preview)."""
    cfg = {"aws:region": region, **(config or {})}
    return run_under_mocks(lambda: body(AwsEnv.lookup()), project="mlplatform", stack=stack, config=cfg, region=region,
                           fresh=fresh)


def minimal_config(**overrides: Any) -> StackConfig:
    """A small valid StackConfig; keyword overrides use config key names."""
    values: dict[str, Any] = {
        "nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2}},
    }
    values.update(overrides)
    return load_config(values, stack="test")


def of_type(run: ProgramRun, type_: str) -> list[Registration]:
    return [r for r in run.registrations if r.type == type_]


def policy_doc(text: str) -> dict:
    return json.loads(text)


_RUNS: dict[tuple[str, str], ProgramRun] = {}


def stack_run(stack: str, program: Optional[str] = None) -> ProgramRun:
    """The shipped stack's program run, computed once per test session."""
    key = (stack, program or "")
    if key not in _RUNS:
        _RUNS[key] = run_program(stack)
    return _RUNS[key]


def aws_managed_arn(name: str, partition: str = "aws") -> str:
    """The ARN AWS gives the managed policy ``name``, path included, read from the vendored index
    (upstream/aws/managed-policies-index.json), never from the code under test."""
    index = json.loads((Path(__file__).resolve().parent.parent / "upstream/aws/managed-policies-index.json")
                       .read_text())["policies"]
    return f"arn:{partition}:iam::aws:policy{index[name]}{name}"
