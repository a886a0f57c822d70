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

from ..errors import ProgramConfigError
from ..paths import PROGRAM_DIR
from . import stack_yaml
from .expand import expand_all
from .mocks import DEFAULT_REGION, PlatformMocks
from .monitor import Registration, RecordingMonitor, plain

PROJECT_DIR = PROGRAM_DIR

#: The organization of a DIY backend (and of the offline plan): stack references read ``organization/<project>/<stack>``.
ORGANIZATION = "organization"

#: What an offline plan puts in place of a ``secure:`` config value it cannot decrypt.
SECRET_PLACEHOLDER = "offline-plan-secret"


def program_module(project_dir: Path, name: str) -> Any:
    """A module of the program (``components.config``), imported with ``project_dir`` on ``sys.path``.

    The program's packages are not installed anywhere: in an installed ``mlplatform`` they are
    package data, importable only while their directory is on ``sys.path`` (automation/paths.py).
    """
    import importlib

    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    try:
        return importlib.import_module(name)
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(project_dir))


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

    #: Where the program's modules live (for :attr:`region`'s table of known regions).
    project_dir: Path = PROJECT_DIR

    @property
    def region(self) -> str:
        regions = program_module(self.project_dir, "components.planning.regions")
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
    from ..config_map import _plain
    from ..errors import ConfigMappingError

    try:
        return _config_string(_plain(value, key))
    except ConfigMappingError as exc:
        raise ProgramConfigError(f"invalid {exc}") from None


def read_stack_files(project_dir: Path, stack: str, overrides: Optional[Mapping[str, Any]] = None) -> StackFiles:
    """Read config the way the CLI does: project defaults, then the stack file, then ``overrides``.

    Raises :class:`ProgramConfigError` for a file that cannot be read (file and line named) and
    :class:`components.config.ConfigError` for keys the CLI would mishandle (the same setting written
    both short and qualified) or values whose YAML type contradicts ``Pulumi.yaml``.
    """
    ConfigError = program_module(project_dir, "components.config").ConfigError  # noqa: N806 - the program's class

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
        check_config_keys = program_module(project_dir, "components.config").check_config_keys
        regions = program_module(project_dir, "components.planning.regions")

        errors += check_config_keys(sorted(values), project)
        if "aws:region" in values:
            try:
                regions.check_region(values["aws:region"])
            except ValueError as exc:
                errors.append(ConfigError("aws:region", str(exc)))
        raise ConfigError.combine(errors)
    return StackFiles(project=project, stack=stack, config=values, secret_keys=tuple(sorted(secrets)),
                      project_dir=project_dir)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


_YAML_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def _check_declared_types(declared: Mapping[str, Any], stack_cfg: Mapping[str, Any], project: str, path: Path) -> list:
    """Values whose YAML type contradicts Pulumi.yaml, which the Pulumi CLI refuses (e.g. an unquoted 1.35)."""
    ConfigError = program_module(path.parent, "components.config").ConfigError  # noqa: N806 - the program's class

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


def stack_files_from_config(project_dir: Path, stack: str, config: Mapping[str, Any]) -> StackFiles:
    """Like :func:`read_stack_files`, with ``config`` (a stack file's ``config:`` map) in place of the file.

    Keys may carry the project's namespace or not (``azCount``,
    ``mlplatform:azCount``, ``aws:region``). Values are what YAML would give:
    strings, numbers, booleans, lists and maps, checked against the types
    ``Pulumi.yaml`` declares as the CLI checks a stack file. ``Secret(value)``
    (``automation.config_map``) marks a secret; ``{"secure": ...}`` (ciphertext
    copied from a stack file) becomes a secret placeholder, as in stack files.
    Raises :class:`ConfigError` naming the key (every bad key at once).
    """
    from ..config_map import _contains_secret, _plain
    from ..errors import ConfigError, ConfigMappingError

    project_doc = load_yaml(project_dir / "Pulumi.yaml") or {}
    project = project_doc.get("name")
    if not project:
        raise ProgramConfigError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    declared = {(k if ":" in k else f"{project}:{k}"): d for k, d in (project_doc.get("config") or {}).items()}
    values: dict[str, str] = {}
    secrets: set[str] = set()
    for full, decl in declared.items():
        if isinstance(decl, dict) and ("default" in decl or "value" in decl):
            values[full] = _config_string(decl.get("default", decl.get("value")))
    problems: list[ConfigError] = []
    given: dict[str, str] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key or key.startswith(":") or key.endswith(":"):
            problems.append(ConfigError(str(key), "config keys are non-empty strings such as azCount or aws:region"))
            continue
        full = key if ":" in key else f"{project}:{key}"
        short = full.split(":", 1)[1] if full.startswith(f"{project}:") else full
        if full in given:
            problems.append(ConfigError(short, f"given twice ({given[full]!r} and {key!r})"))
            continue
        given[full] = key
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[full] = SECRET_PLACEHOLDER
            secrets.add(full)
            continue
        if value is None:
            problems.append(ConfigError(short, "is None: leave the key out to use its default"))
            continue
        secret = _contains_secret(value)
        try:
            inner = _plain(value, short)  # Secret markers removed, tuples as lists, only JSON types
        except ConfigMappingError as exc:
            problems.append(ConfigError(short, str(exc)))
            continue
        decl = declared.get(full)
        declared_type = str(decl.get("type")) if isinstance(decl, dict) else ""
        want = _YAML_TYPES.get(declared_type)
        if want is not None and (not isinstance(inner, want) or (want is int and isinstance(inner, bool))):
            problems.append(ConfigError(short, f"Pulumi.yaml declares it {declared_type} but the config has "
                                               f"{type(inner).__name__} {inner!r}"
                                               + (" (give it as a string)" if want is str else "")))
            continue
        values[full] = _config_string(inner)
        if secret:
            secrets.add(full)
    if problems:
        raise ConfigError(problems[0].key, problems[0].reason, errors=problems if len(problems) > 1 else ())
    return StackFiles(project=project, stack=stack, config=values, secret_keys=tuple(sorted(secrets)),
                      project_dir=project_dir)


@dataclass
class ProgramRun:
    """What one program run registered."""

    project: str
    stack: str
    registrations: list[Registration]
    stack_outputs: dict
    logs: list[tuple[str, str]] = field(default_factory=list)
    monitor: Optional[RecordingMonitor] = None
    #: The stack's config as the program saw it (fully-qualified keys, string values; secrets as placeholders).
    config: Mapping[str, str] = field(default_factory=dict)
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
def _program_environment(project_dir: Path, work_dir: Optional[Path] = None) -> Iterator[None]:
    old_cwd = os.getcwd()
    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    os.chdir(work_dir or project_dir)
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
    work_dir: Optional[Path] = None,
    previous_outputs: Optional[Mapping[str, Any]] = None,
) -> ProgramRun:
    """Run ``body`` as a Pulumi program inside a Stack under the recording mock monitor.

    ``project_dir`` (on ``sys.path``) holds the program's modules; the program
    runs in ``work_dir`` (default ``project_dir``), so relative paths in its
    config resolve there, as they resolve against the project directory under the CLI.

    ``fresh`` runs it as the first preview of a new stack: a dry run (``pulumi preview``), in which
    every resource is about to be created, so the monitor answers with unknown IDs and computed
    outputs (:func:`automation.offline.mocks.fresh_state`) and the SDK treats them as it does under
    the engine: applies do not run on them, and whatever is derived from them is unknown.

    ``previous_outputs`` are the outputs the stack recorded at its last update
    (what the program reads back from its own state); None runs it as a stack
    that was never deployed.
    """
    region = region or config.get("aws:region", DEFAULT_REGION)
    own = f"{ORGANIZATION}/{project}/{stack}"
    mocks = PlatformMocks(region=region, fresh=fresh, own_stack=own,
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
        dry_run=fresh,
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
        with _program_environment(project_dir, work_dir), _program_gc():
            loop.run_until_complete(run_in_stack(body))
    finally:
        loop.close()
        asyncio.set_event_loop(old_loop)
        pulumi_settings.ROOT.set(None)
        logger.removeHandler(handler)
    # Registrations complete on worker threads in no fixed order; sort so plans are reproducible.
    registrations = sorted(monitor.registrations(), key=lambda r: r.urn)
    children, skipped = expand_all(registrations, work_dir or project_dir)
    return ProgramRun(
        project=project,
        stack=stack,
        registrations=registrations + children,
        stack_outputs=monitor.stack_outputs,
        logs=handler.records,
        monitor=monitor,
        not_expanded=skipped,
        fresh=fresh,
        config=dict(config),
    )


def run_program(
    stack: str,
    *,
    program: Optional[Path] = None,
    project_dir: Path = PROJECT_DIR,
    overrides: Optional[Mapping[str, Any]] = None,
    fresh: bool = False,
    config: Optional[Mapping[str, Any]] = None,
    work_dir: Optional[Path] = None,
    previous_outputs: Optional[Mapping[str, Any]] = None,
) -> ProgramRun:
    """Run the project's program (or ``program``) for ``stack`` under mocks (``fresh``: as a first preview).

    ``config`` (see :func:`stack_files_from_config`) replaces ``Pulumi.<stack>.yaml``;
    ``work_dir`` is where relative paths in the config resolve (default ``project_dir``);
    ``previous_outputs``: see :func:`run_under_mocks`.
    """
    files = read_stack_files(project_dir, stack, overrides) if config is None \
        else stack_files_from_config(project_dir, stack, {**config, **(overrides or {})})
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
        work_dir=work_dir,
        previous_outputs=previous_outputs,
    )
