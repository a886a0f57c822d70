"""Run a Pulumi program in-process under the mock runtime and record what it registers.

This is what ``pulumi preview`` does up to the provider calls: the program
runs in a Stack, every resource goes through a (mock) resource monitor, and
config comes from ``Pulumi.<stack>.yaml``. Providers do not run; the mocks
answer with deterministic, AWS-shaped values.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import yaml

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack

from automation.offline.expand import expand_all
from automation.offline.mocks import DEFAULT_REGION, PlatformMocks
from automation.offline.monitor import Registration, RecordingMonitor, plain

PROJECT_DIR = Path(__file__).resolve().parents[2]

#: The organization of a DIY backend (and of the offline plan): stack references read ``organization/<project>/<stack>``.
ORGANIZATION = "organization"

#: What an offline plan puts in place of a ``secure:`` config value it cannot decrypt.
SECRET_PLACEHOLDER = "offline-plan-secret"


class ProgramConfigError(Exception):
    """The stack files cannot be read: one line naming the file and why."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that rejects duplicate keys, as the Pulumi CLI does."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ProgramConfigError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} of {key_node.start_mark.name}"
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except FileNotFoundError:
        raise ProgramConfigError(f"{path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ProgramConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class StackFiles:
    """Project name and config read from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``."""

    project: str
    stack: str
    config: Mapping[str, str]  # fully-qualified key -> string value, as the CLI hands them to programs
    secret_keys: tuple[str, ...]

    @property
    def region(self) -> str:
        return self.config.get("aws:region", DEFAULT_REGION)


def _config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def read_stack_files(project_dir: Path, stack: str, overrides: Optional[Mapping[str, Any]] = None) -> StackFiles:
    """Read config the way the CLI does: project defaults, then the stack file, then ``overrides``."""
    project_doc = load_yaml(project_dir / "Pulumi.yaml") or {}
    project = project_doc.get("name")
    if not project:
        raise ProgramConfigError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    stack_doc = load_yaml(stack_path) or {}
    values: dict[str, str] = {}
    secrets: set[str] = set()

    def qualify(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    for key, decl in (project_doc.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            values[qualify(key)] = _config_string(decl["default"])
        elif isinstance(decl, dict) and "value" in decl:
            values[qualify(key)] = _config_string(decl["value"])
    stack_cfg = stack_doc.get("config") or {}
    if not isinstance(stack_cfg, dict):
        raise ProgramConfigError(f"{stack_path}: config must be a map")
    for key, value in stack_cfg.items():
        full = qualify(key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Ciphertext needs the stack's secrets provider; offline, secrets are placeholders (still secret).
            values[full] = SECRET_PLACEHOLDER
            secrets.add(full)
        else:
            values[full] = _config_string(value)
    for key, value in (overrides or {}).items():
        values[qualify(key)] = _config_string(value)
    _check_declared_types(project_doc.get("config") or {}, stack_cfg, project, stack_path)
    return StackFiles(project=project, stack=stack, config=values, secret_keys=tuple(sorted(secrets)))


_YAML_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def _check_declared_types(declared: Mapping[str, Any], stack_cfg: Mapping[str, Any], project: str, path: Path) -> None:
    """Refuse values whose YAML type contradicts Pulumi.yaml, as the Pulumi CLI does (e.g. an unquoted 1.35)."""
    for key, decl in declared.items():
        if not isinstance(decl, dict) or "type" not in decl:
            continue
        full = key if ":" in key else f"{project}:{key}"
        short = full.split(":", 1)[1]
        value = stack_cfg.get(full, stack_cfg.get(short))
        if value is None or (isinstance(value, dict) and set(value) == {"secure"}):
            continue
        want = _YAML_TYPES.get(decl["type"])
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool)) if want else True
        if not ok:
            raise ProgramConfigError(
                f"invalid config {short}: Pulumi.yaml declares it {decl['type']} but {path.name} has "
                f"{type(value).__name__} {value!r}" + (" (quote it)" if decl["type"] == "string" else "")
            )


@dataclass
class ProgramRun:
    """What one program run registered."""

    project: str
    stack: str
    registrations: list[Registration]
    stack_outputs: dict
    logs: list[tuple[str, str]] = field(default_factory=list)
    monitor: Optional[RecordingMonitor] = None
    #: Provider-side components whose contents could not be reproduced offline: (URN, why).
    not_expanded: list[tuple[str, str]] = field(default_factory=list)

    @property
    def outputs(self) -> dict:
        return plain(self.stack_outputs)

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        hits = [r for r in self.registrations if r.type == type_ and r.name == name]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} registrations of {type_} named {name!r}")
        return hits[0]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


#: Cyclic-GC thresholds while a program runs. With the defaults (700, 10, 10) full collections keep
#: re-scanning the whole heap (the provider SDKs plus every Output, future and registration so far), and
#: they get both more frequent and larger as the stack grows: about half of program evaluation was GC,
#: growing faster than the resource count (python -m bench; 100 teams: 24 s of 47 s CPU, 5 s with these).
#: Collecting less often changes only when garbage is freed, never what the program registers.
PROGRAM_GC_THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def _program_gc() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(*PROGRAM_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


@contextlib.contextmanager
def _program_environment(project_dir: Path) -> Iterator[None]:
    old_cwd = os.getcwd()
    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(project_dir))


def run_under_mocks(
    body: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] = {},
    secret_keys: tuple[str, ...] = (),
    region: Optional[str] = None,
    project_dir: Path = PROJECT_DIR,
    previous_outputs: Optional[Mapping[str, Any]] = None,
) -> ProgramRun:
    """Run ``body`` as a Pulumi program inside a Stack under the recording mock monitor.

    ``previous_outputs`` are the outputs the stack recorded at its last update
    (what the program reads back from its own state); None runs it as a stack
    that was never deployed.
    """
    region = region or config.get("aws:region", DEFAULT_REGION)
    own = f"{ORGANIZATION}/{project}/{stack}"
    mocks = PlatformMocks(region=region, own_stack=own,
                          stacks={own: dict(previous_outputs)} if previous_outputs is not None else {})
    monitor = RecordingMonitor(mocks)
    handler = _ListHandler()
    logger = logging.getLogger(f"mlplatform.offline.{id(monitor)}")
    logger.propagate = False
    logger.addHandler(handler)

    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    settings = pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pulumi_mocks.MockEngine(logger),
        project=project,
        stack=stack,
        dry_run=False,
        organization=ORGANIZATION,
        callbacks=None,
        root_directory=str(project_dir),
    )
    pulumi_settings.configure(settings)

    loop = asyncio.new_event_loop()
    old_loop = None
    with contextlib.suppress(RuntimeError):
        old_loop = asyncio.get_event_loop_policy().get_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with _program_environment(project_dir), _program_gc():
            loop.run_until_complete(run_in_stack(body))
    finally:
        loop.close()
        asyncio.set_event_loop(old_loop)
        pulumi_settings.ROOT.set(None)
        logger.removeHandler(handler)
    # Registrations complete on worker threads in no fixed order; sort so plans are reproducible.
    registrations = sorted(monitor.registrations(), key=lambda r: r.urn)
    children, skipped = expand_all(registrations, project_dir)
    return ProgramRun(
        project=project,
        stack=stack,
        registrations=registrations + children,
        stack_outputs=monitor.stack_outputs,
        logs=handler.records,
        monitor=monitor,
        not_expanded=skipped,
    )


def run_program(
    stack: str,
    *,
    program: Optional[Path] = None,
    project_dir: Path = PROJECT_DIR,
    overrides: Optional[Mapping[str, Any]] = None,
    previous_outputs: Optional[Mapping[str, Any]] = None,
) -> ProgramRun:
    """Run the project's program (or ``program``) for ``stack`` under mocks (``previous_outputs``: see
    :func:`run_under_mocks`)."""
    files = read_stack_files(project_dir, stack, overrides)
    path = Path(program) if program else project_dir / "__main__.py"
    if not path.exists():
        raise ProgramConfigError(f"program {path} does not exist")
    return run_under_mocks(
        lambda: runpy.run_path(str(path), run_name="__main__"),
        project=files.project,
        stack=stack,
        config=files.config,
        secret_keys=files.secret_keys,
        region=files.region,
        project_dir=project_dir,
        previous_outputs=previous_outputs,
    )
