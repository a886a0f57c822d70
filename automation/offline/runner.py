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

import math

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack

from automation.offline import stack_yaml
from automation.offline.expand import expand_all
from automation.offline.mocks import DEFAULT_REGION, PlatformMocks
from automation.offline.monitor import Registration, RecordingMonitor, plain

PROJECT_DIR = Path(__file__).resolve().parents[2]

#: What an offline plan puts in place of a ``secure:`` config value it cannot decrypt.
SECRET_PLACEHOLDER = "offline-plan-secret"


class ProgramConfigError(Exception):
    """The stack files cannot be read: one line per problem, naming the file (and line) and why."""


def load_yaml(path: Path) -> Any:
    """A YAML file read as the Pulumi CLI reads it (automation/offline/stack_yaml.py)."""
    try:
        return stack_yaml.load(path)
    except stack_yaml.StackYamlError as exc:
        raise ProgramConfigError(str(exc)) from None


@dataclass(frozen=True)
class StackFiles:
    """Project name and config read from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``."""

    project: str
    stack: str
    config: Mapping[str, str]  # fully-qualified key -> string value, as the CLI hands them to programs
    secret_keys: tuple[str, ...]

    @property
    def region(self) -> str:
        from components.planning import regions

        region = self.config.get("aws:region", DEFAULT_REGION)
        # A bad aws:region is reported by the program's config validation; the mocks still need a region.
        return region if region in regions.known_regions() else DEFAULT_REGION


def _config_string(value: Any) -> str:
    return stack_yaml.config_string(value)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _without_ciphertext(value: Any) -> tuple[Any, bool]:
    """``value`` with every ``{secure: ...}`` replaced by the offline placeholder, and whether there was one."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = _without_ciphertext(v)
            found = found or hit
        return out, found
    if isinstance(value, list):
        items = [_without_ciphertext(v) for v in value]
        return [v for v, _ in items], any(h for _, h in items)
    return value, False


def _override_string(key: str, value: Any) -> str:
    """A Python value given as an override, as the text a program receives (None and non-JSON types refused)."""
    def plain(v: Any, where: str) -> Any:
        if v is None:
            raise ProgramConfigError(f"invalid config {where}: is None; remove the key instead")
        if isinstance(v, float) and not math.isfinite(v):
            raise ProgramConfigError(f"invalid config {where}: must be a finite number; got {v}")
        if isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, Mapping):
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ProgramConfigError(f"invalid config {where}: keys must be strings; got {k!r}")
                out[k] = plain(x, f"{where}.{k}")
            return out
        if isinstance(v, (list, tuple)):
            return [plain(x, f"{where}[{i}]") for i, x in enumerate(v)]
        raise ProgramConfigError(f"invalid config {where}: unsupported type {type(v).__name__}")

    return _config_string(plain(value, key))


def read_stack_files(project_dir: Path, stack: str, overrides: Optional[Mapping[str, Any]] = None) -> StackFiles:
    """Read config the way the CLI does: project defaults, then the stack file, then ``overrides``.

    Raises :class:`ProgramConfigError` for a file that cannot be read (file and line named) and
    :class:`components.config.ConfigError` for keys the CLI would mishandle (the same setting written
    both short and qualified) or values whose YAML type contradicts ``Pulumi.yaml``.
    """
    from components.config import ConfigError

    project_path = project_dir / "Pulumi.yaml"
    project_doc = load_yaml(project_path)
    if project_doc is None:
        project_doc = {}
    if not isinstance(project_doc, dict):
        raise ProgramConfigError(f"{project_path.name}: must be a map with a name: key")
    project = project_doc.get("name")
    if not project or not isinstance(project, str):
        raise ProgramConfigError(f"{project_path} has no project name")
    declared = project_doc.get("config") or {}
    if not isinstance(declared, dict):
        raise ProgramConfigError(f"{project_path.name}: config must be a map")
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        import difflib

        stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        close = difflib.get_close_matches(stack, stacks, n=1, cutoff=0.5)
        hint = f" (did you mean --stack {close[0]}?)" if close else (f" (stacks here: {', '.join(stacks)})" if stacks else "")
        raise ProgramConfigError(f"{stack_path} does not exist{hint}")
    stack_doc = load_yaml(stack_path)
    if stack_doc is None:
        stack_doc = {}
    if not isinstance(stack_doc, dict):
        raise ProgramConfigError(f"{stack_path.name}: a stack file must be a map with a config: key; "
                                 f"got {_kind(stack_doc)}")
    stack_cfg = stack_doc.get("config")
    if stack_cfg is None:
        stack_cfg = {}
    if not isinstance(stack_cfg, dict):
        raise ProgramConfigError(f"{stack_path.name}: config must be a map of key: value; got {_kind(stack_cfg)}")
    values: dict[str, str] = {}
    secrets: set[str] = set()

    def qualify(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    for key, decl in declared.items():
        if isinstance(decl, dict) and "default" in decl:
            values[qualify(key)] = _config_string(decl["default"])
        elif isinstance(decl, dict) and "value" in decl:
            values[qualify(key)] = _config_string(decl["value"])
    errors = []
    written: dict[str, str] = {}
    for key, value in stack_cfg.items():
        full = qualify(key)
        if key.count(":") > 1 or key.startswith(":") or key.endswith(":"):
            raise ProgramConfigError(f"{stack_path.name}: config key {key!r} must look like namespace:name")
        if full in written:
            # The CLI qualifies short keys with the project name and then keeps one of the two at random.
            errors.append(ConfigError(full.split(":", 1)[1] if full.startswith(f"{project}:") else full,
                                      f"is set twice in {stack_path.name}, as {written[full]!r} and {key!r} "
                                      f"(did you mean to keep only {full}?)"))
            continue
        written[full] = key
        value, secret = _without_ciphertext(value)
        # Ciphertext needs the stack's secrets provider; offline, secrets are placeholders (still secret).
        if secret:
            secrets.add(full)
        values[full] = _config_string(value)
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not key:
            raise ProgramConfigError(f"config override keys must be non-empty strings; got {key!r}")
        values[qualify(key)] = _override_string(key, value)
    errors += _check_declared_types(declared, stack_cfg, project, stack_path)
    if errors:
        # The program would report these too, but it does not run now: report everything in this one run.
        from components.config import check_config_keys
        from components.planning import regions

        errors += check_config_keys(sorted(values), project)
        if "aws:region" in values:
            try:
                regions.check_region(values["aws:region"])
            except ValueError as exc:
                errors.append(ConfigError("aws:region", str(exc)))
        raise ConfigError.combine(errors)
    return StackFiles(project=project, stack=stack, config=values, secret_keys=tuple(sorted(secrets)))


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


_YAML_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def _check_declared_types(declared: Mapping[str, Any], stack_cfg: Mapping[str, Any], project: str, path: Path) -> list:
    """Values whose YAML type contradicts Pulumi.yaml, which the Pulumi CLI refuses (e.g. an unquoted 1.35)."""
    from components.config import ConfigError

    errors = []
    for key, decl in declared.items():
        if not isinstance(decl, dict) or "type" not in decl:
            continue
        full = key if ":" in key else f"{project}:{key}"
        short = full.split(":", 1)[1]
        value = stack_cfg.get(full, stack_cfg.get(short))
        if value is None or _is_secure(value):
            continue
        want = _YAML_TYPES.get(decl["type"])
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool)) if want else True
        if not ok:
            shown = value if isinstance(value, (str, int, float, bool)) else _kind(value)
            errors.append(ConfigError(short, f"Pulumi.yaml declares it {decl['type']} but {path.name} has "
                                             f"{type(value).__name__} {shown!r}"
                                             + (" (quote it)" if decl["type"] == "string" else "")))
    return errors


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
    #: Run as the first preview of a new stack (computed outputs unknown).
    fresh: bool = False

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
    fresh: bool = False,
) -> ProgramRun:
    """Run ``body`` as a Pulumi program inside a Stack under the recording mock monitor.

    ``fresh`` runs it as the first preview of a new stack: a dry run (``pulumi preview``), in which
    every resource is about to be created, so the monitor answers with unknown IDs and computed
    outputs (:func:`automation.offline.mocks.fresh_state`) and the SDK treats them as it does under
    the engine: applies do not run on them, and whatever is derived from them is unknown.
    """
    region = region or config.get("aws:region", DEFAULT_REGION)
    mocks = PlatformMocks(region=region, fresh=fresh)
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
        dry_run=fresh,
        organization="organization",
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
        fresh=fresh,
    )


def run_program(
    stack: str,
    *,
    program: Optional[Path] = None,
    project_dir: Path = PROJECT_DIR,
    overrides: Optional[Mapping[str, Any]] = None,
    fresh: bool = False,
) -> ProgramRun:
    """Run the project's program (or ``program``) for ``stack`` under mocks (``fresh``: as a first preview)."""
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
        fresh=fresh,
    )
