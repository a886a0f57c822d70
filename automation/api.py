"""The public, typed API (``import mlplatform``): plan offline, or preview/up/destroy for real.

    import mlplatform

    result = mlplatform.plan("team-a", config={"aws:region": "eu-west-1", "azCount": 3})
    for d in result.mandatory:
        print(d.policy, d.urn, d.message)

Every function takes a stack name and, optionally:

* ``config``: the stack's config as a mapping with a stack file's keys, with or
  without the ``mlplatform:`` namespace (``aws:region`` keeps its own). It
  *replaces* ``Pulumi.<stack>.yaml``, so a stack needs no file. Values are
  what YAML would give (strings, numbers, booleans, lists, maps), checked
  against the types ``Pulumi.yaml`` declares; ``Secret(...)`` marks a secret.
* ``project_dir``: the directory relative paths in the config (training
  scripts, manifest directories) resolve against, and where a stack file is
  looked for when ``config`` is None. None means the program's own directory
  (the bundled copy in an installed package, or the checkout). When
  ``project_dir`` is itself a copy of this Pulumi project (``Pulumi.yaml`` and
  ``__main__.py``), its program runs instead of the bundled one.

Failures raise :class:`~automation.errors.Error` subclasses: a bad config
value is a ``ConfigError`` naming the key before any resource exists; a
missing Pulumi CLI is ``PulumiCliNotFound`` before anything else happens.

The offline plan runs the program in this process (Pulumi's mock runtime uses
process-wide state, the working directory included), so calls to :func:`plan`
are serialised by a lock; run plans in parallel in separate processes.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import shutil
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, TextIO, Union

from .diagnostics import Diagnostic
from .errors import ConfigError, Error, ProgramError, WorkspaceError, is_program_config_error
from .paths import PROGRAM_DIR, PROGRAM_PACKAGES, is_bundled
from .results import OperationResult, OutputValue

PathLike = Union[str, "os.PathLike[str]"]
ConfigMapping = Mapping[str, Any]
PolicyConfig = Union[PathLike, Mapping[str, Any], None]
OnEvent = Callable[[Any], None]

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2

_PLAN_LOCK = threading.RLock()


# --------------------------------------------------------------------------- results


class FrozenDict(dict):  # type: ignore[type-arg]
    """A read-only ``dict``: results stay immutable and still go straight into ``json.dumps``."""

    def _readonly(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("plan results are read-only; copy them first (e.g. dict(x) or result.to_json())")

    __setitem__ = __delitem__ = __ior__ = _readonly  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)


def _frozen(value: Any) -> Any:
    """A read-only copy of JSON data (maps become FrozenDicts, lists tuples)."""
    if isinstance(value, Mapping):
        return FrozenDict({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True)
class Resource:
    """One resource the program would register, as the plan records it (secret inputs masked)."""

    urn: str
    type: str
    name: str
    #: Parent URN ("" for the stack's direct children).
    parent: str
    #: Explicit provider reference ("" for the default provider).
    provider: str
    #: A custom resource (a cloud object) rather than a component.
    custom: bool
    #: The mock's ID (offline IDs are deterministic, not AWS's).
    id: str
    #: Inputs in wire shape; secrets are ``"[secret]"`` (their paths in ``secret_inputs``).
    inputs: Mapping[str, Any] = field(hash=False)
    secret_inputs: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    #: Resource options (protect, retainOnDelete, ignoreChanges, aliases...).
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: "program", or "expanded" for objects a provider-side component would create (expanded offline).
    origin: str = "program"

    @classmethod
    def from_json(cls, r: Mapping[str, Any]) -> "Resource":
        return cls(urn=r["urn"], type=r["type"], name=r["name"], parent=r.get("parent") or "",
                   provider=r.get("provider") or "", custom=bool(r.get("custom")), id=r.get("id") or "",
                   inputs=_frozen(r.get("inputs") or {}), secret_inputs=tuple(r.get("secretInputs") or ()),
                   dependencies=tuple(r.get("dependencies") or ()), options=_frozen(r.get("options") or {}),
                   origin=r.get("origin") or "program")


@dataclass(frozen=True)
class PlanResult:
    """What an offline plan found: resources, policy verdicts and stack outputs.

    ``to_json()`` is the plan file's document (``plan --json``), the contract
    CI and :func:`automation.plandiff.diff_plans` read.
    """

    stack: str
    project: str
    resources: tuple[Resource, ...]
    #: Every policy verdict, mandatory first.
    diagnostics: tuple[Diagnostic, ...]
    #: Verdicts a first preview could not reach (``fresh=True`` plans; empty otherwise).
    blind: tuple[Diagnostic, ...]
    #: Stack outputs; secret values are ``"[secret]"``.
    outputs: Mapping[str, Any] = field(hash=False)
    #: Pack name, version, number of policies, enforcement levels and the config used.
    policy_pack: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fresh: bool = False
    _document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    _offline: Any = field(default=None, repr=False, compare=False, hash=False)

    @property
    def mandatory(self) -> tuple[Diagnostic, ...]:
        """Mandatory violations: ``pulumi preview`` with the pack attached would fail."""
        return tuple(d for d in self.diagnostics if d.mandatory)

    @property
    def advisory(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.level == "advisory")

    @property
    def exit_code(self) -> int:
        """What ``mlplatform plan`` exits with: 0, or 1 when a mandatory violation was found."""
        return EXIT_VIOLATION if self.mandatory else EXIT_OK

    def counts_by_type(self) -> dict[str, int]:
        return dict(self._document.get("summary", {}).get("byType", {}))

    def to_json(self) -> dict[str, Any]:
        """The plan file's JSON document (a fresh copy)."""
        return copy.deepcopy(dict(self._document))

    def write_json(self, path: PathLike) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self._document, indent=2, sort_keys=False) + "\n")
        return out

    def write_manifests(self, directory: PathLike) -> list[Path]:
        """Every Kubernetes object the stack would apply, one YAML file each (secrets replaced)."""
        from .offline.plan import write_manifests

        return write_manifests(self._offline.run, Path(directory))

    @classmethod
    def _from_offline(cls, result: Any, *, fresh: bool = False) -> "PlanResult":
        doc = result.as_json()
        blind = result.blind
        return cls(stack=result.stack, project=result.project,
                   resources=tuple(Resource.from_json(r) for r in doc["resources"]),
                   diagnostics=tuple(result.diagnostics), blind=tuple(blind or ()),
                   outputs=_frozen(doc.get("outputs") or {}), policy_pack=_frozen(doc.get("policyPack") or {}),
                   fresh=fresh, _document=doc, _offline=result)


# --------------------------------------------------------------------------- config input


def load_config_file(path: PathLike) -> dict[str, Any]:
    """A stack config from a file: a stack file (``config:`` map) or a bare map of keys, YAML or JSON."""
    from .offline.runner import ProgramConfigError, load_yaml

    p = Path(path)
    if not p.is_file():
        raise ProgramConfigError(f"config file {p} does not exist")
    doc = load_yaml(p)
    if doc is None:
        return {}
    if isinstance(doc, Mapping) and "config" in doc and isinstance(doc["config"], Mapping):
        doc = doc["config"]
    if not isinstance(doc, Mapping):
        raise ProgramConfigError(f"{p}: a stack config is a map of keys (or a stack file with a config: map)")
    return dict(doc)


def _is_project(directory: Path) -> bool:
    """A copy of this Pulumi project (its program runs instead of the bundled one)."""
    return (directory / "Pulumi.yaml").is_file() and (directory / "__main__.py").is_file()


def _resolve(stack: str, config: Optional[ConfigMapping], project_dir: Optional[PathLike]
             ) -> tuple[Path, Path, Optional[dict[str, Any]]]:
    """(program dir, work dir, config mapping or None to read the program's own stack file)."""
    from .offline.runner import ProgramConfigError

    if not isinstance(stack, str) or not stack or any(c in stack for c in "/\\:") or stack.startswith("."):
        raise ConfigError("stack", f"invalid stack name {stack!r}: use letters, digits, '-', '_' and '.'")
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError("config", f"must be a mapping of config keys; got {type(config).__name__}")
    work = Path(project_dir).expanduser().resolve() if project_dir is not None else None
    if work is not None and not work.is_dir():
        raise ProgramConfigError(f"project_dir {work} is not a directory")
    program = work if work is not None and _is_project(work) else PROGRAM_DIR
    work = work or program
    if config is not None:
        return program, work, dict(config)
    stack_file = work / f"Pulumi.{stack}.yaml"
    if work == program:
        if not stack_file.is_file():
            raise ProgramConfigError(f"stack {stack} has no {stack_file.name} in {program}: pass config= (a mapping "
                                     f"of the stack's settings) or --config FILE")
        return program, work, None
    if not stack_file.is_file():
        raise ProgramConfigError(f"stack {stack} has no {stack_file.name} in {work}: pass config= (a mapping of "
                                 f"the stack's settings), or write that file")
    return program, work, load_config_file(stack_file)


@contextlib.contextmanager
def _program_modules(program: Path) -> Iterator[None]:
    """Run with the program's own top-level packages (``components``...), and leave the caller's as they were.

    The program imports them by plain name. Modules of those names already
    loaded (the caller's own ``components``, or another copy of the program)
    are set aside for the run and put back afterwards, and the program's are
    dropped, so nothing of the program stays importable in the caller's process.
    """
    names = {p.name for p in program.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
             and p.name in PROGRAM_PACKAGES}
    names |= {p.stem for p in program.glob("*.py") if p.stem != "__main__"}

    def ours() -> list[str]:
        return [m for m in list(sys.modules) if m.split(".", 1)[0] in names]

    saved = {m: sys.modules.pop(m) for m in ours()}
    try:
        yield
    finally:
        for m in ours():
            del sys.modules[m]
        sys.modules.update(saved)


def _translate(exc: BaseException) -> BaseException:
    """A failure from the program or the plan as the library's typed error."""
    if isinstance(exc, Error):
        return exc
    if is_program_config_error(exc):
        return ConfigError.from_program(exc)
    lines = str(exc).strip().splitlines()
    return ProgramError(f"program failed: {type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": "), cause=exc)


def _plan(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
          fresh: bool = False, policy_config: PolicyConfig = None, program: Optional[PathLike] = None,
          work_dir: Optional[PathLike] = None, previous: Any = None) -> PlanResult:
    from .offline import plan as offline

    program_dir, work, cfg = _resolve(stack, config, project_dir)
    if work_dir is not None:
        work = Path(work_dir).resolve()
    if isinstance(policy_config, Mapping):
        pack_cfg: Any = dict(policy_config)
    else:
        pack_cfg = Path(policy_config).expanduser() if policy_config is not None else None
    with _PLAN_LOCK, _program_modules(program_dir):
        try:
            result = offline.plan(stack, program=Path(program).resolve() if program else None,
                                  project_dir=program_dir, policy_config=pack_cfg, config=cfg,
                                  work_dir=work if work != program_dir else None, fresh=fresh,
                                      previous=previous)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a typed mlplatform.Error
            translated = _translate(exc)
            if translated is exc:
                raise
            if isinstance(translated, ConfigError):
                raise translated from None  # the program's traceback says nothing the key and reason do not
            raise translated from exc
    return PlanResult._from_offline(result, fresh=fresh)


def plan(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
         fresh: bool = False, policy_config: PolicyConfig = None) -> PlanResult:
    """Run the platform program for ``stack`` under mocks and check it with the real policy pack.

    No cloud account and no Pulumi CLI are needed. ``config`` and
    ``project_dir`` are described in the module docstring. ``fresh`` plans
    as a first preview sees the stack (computed values unknown) and lists
    the verdicts such a preview cannot reach in ``blind``. ``policy_config``
    is a pack config file or mapping (default: ``policies/config/<stack>.json``
    when it exists, else the pack's own levels).

    Raises ``ConfigError`` (``.key``; ``.errors`` for several), ``ProgramError``,
    ``ProgramConfigError``, ``PlanError`` or ``PolicyPackError``, all ``mlplatform.Error``.
    """
    return _plan(stack, config=config, project_dir=project_dir, fresh=fresh, policy_config=policy_config)


# --------------------------------------------------------------------------- live operations

#: Files and directories of the program a workspace gets (stack files are copied only when absent).
_PROGRAM_ENTRIES = ("__main__.py", "Pulumi.yaml", "components", "policies", "examples")
_MARKER = ".mlplatform-program"
#: Where workspaces live when no project_dir is given (override with this variable).
HOME_ENV = "MLPLATFORM_HOME"


def _program_digest() -> str:
    h = hashlib.sha256(sys.prefix.encode())
    for entry in _PROGRAM_ENTRIES:
        root = PROGRAM_DIR / entry
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                     and "__pycache__" not in p.parts and "venv" not in p.parts)
        for f in files:
            h.update(str(f.relative_to(PROGRAM_DIR)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _set_virtualenv(path: Path, venv: str) -> None:
    """Point a Pulumi.yaml / PulumiPolicy.yaml's Python runtime at ``venv`` (this interpreter's environment)."""
    import yaml

    doc = yaml.safe_load(path.read_text()) or {}
    runtime = doc.get("runtime")
    runtime = {"name": runtime} if isinstance(runtime, str) else dict(runtime or {"name": "python"})
    runtime["options"] = {**(runtime.get("options") or {}), "virtualenv": venv}
    doc["runtime"] = runtime
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def prepare_workspace(project_dir: Optional[PathLike] = None) -> Path:
    """The Pulumi project directory live operations run in; returns it.

    * ``project_dir`` holding ``Pulumi.yaml`` (a checkout, or a copy you keep):
      used as it is.
    * In a checkout with no ``project_dir``: the checkout.
    * Otherwise the bundled program is copied into ``project_dir`` (default
      ``$MLPLATFORM_HOME/workspace``, ``~/.mlplatform/workspace``) with its
      runtime and the policy pack's pointed at this Python environment, which
      already has the program's and the pack's dependencies. The engine runs the
      program there and writes ``Pulumi.<stack>.yaml`` there, so relative paths
      in the config resolve against that directory. The copy is refreshed when
      the package changes; a directory holding other files named like the
      program's (``components/``...) is refused with :class:`WorkspaceError`.
    """
    if project_dir is not None:
        target = Path(project_dir).expanduser().resolve()
        if (target / "Pulumi.yaml").is_file() and not (target / _MARKER).is_file():
            return target
    elif not is_bundled():
        return PROGRAM_DIR
    else:
        target = Path(os.environ.get(HOME_ENV) or Path.home() / ".mlplatform").expanduser().resolve() / "workspace"
    digest = _program_digest()
    marker = target / _MARKER
    if marker.is_file() and marker.read_text().strip() == digest:
        return target
    clashes = [e for e in _PROGRAM_ENTRIES if (target / e).exists()]
    if clashes and not marker.is_file():
        raise WorkspaceError(f"{target} already holds {', '.join(clashes)} that are not a copy of this program: "
                             f"use an empty directory (or one prepared by mlplatform) as project_dir")
    target.mkdir(parents=True, exist_ok=True)
    for entry in _PROGRAM_ENTRIES:
        src, dst = PROGRAM_DIR / entry, target / entry
        if dst.is_dir():
            shutil.rmtree(dst)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "venv", ".installed-*"))
        elif src.is_file():
            shutil.copy2(src, dst)
    for stack_file in PROGRAM_DIR.glob("Pulumi.*.yaml"):
        if not (target / stack_file.name).exists():
            shutil.copy2(stack_file, target / stack_file.name)
    _set_virtualenv(target / "Pulumi.yaml", sys.prefix)
    _set_virtualenv(target / "policies" / "PulumiPolicy.yaml", sys.prefix)
    marker.write_text(digest + "\n")
    return target


def _open_live(stack: str, config: Optional[ConfigMapping], project_dir: Optional[PathLike], *,
               create: bool, store_config: bool = True) -> Any:
    from .preflight import find_pulumi_cli
    from .stack import PlatformStack

    find_pulumi_cli()  # PulumiCliNotFound before any file is written or pulumi.automation imported
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError("config", f"must be a mapping of config keys; got {type(config).__name__}")
    workspace = prepare_workspace(project_dir)
    ps = PlatformStack.open(stack, project_dir=workspace, create=create)
    if config is not None and store_config:
        _replace_config(ps, config)
    return ps


def _replace_config(ps: Any, config: ConfigMapping) -> None:
    """Make ``config`` the stack's whole config, as its stack file would be (keys not given are removed).

    Checked first exactly as :func:`plan` checks a mapping (declared types, None values...), so a bad
    value is refused before the engine runs. Ciphertext (``secure:``) belongs to one stack's secrets
    provider and cannot be moved: pass the plaintext as ``Secret(...)`` instead.
    """
    from .config_map import qualify
    from .offline.runner import stack_files_from_config

    secure = [k for k, v in config.items() if isinstance(v, Mapping) and set(v) == {"secure"}]
    if secure:
        problems = [ConfigError(str(k), "is encrypted (secure:) for another stack's secrets provider: pass the "
                                        "plaintext as mlplatform.Secret(...), or set it with `pulumi config set "
                                        "--secret`") for k in secure]
        raise ConfigError(problems[0].key, problems[0].reason, errors=problems if len(problems) > 1 else ())
    stack_files_from_config(ps.project_dir, ps.name, config)
    wanted = {qualify(k, ps.project) for k in config}
    existing = set(ps.stack.get_all_config())
    stale = sorted(k for k in existing if k not in wanted)
    if stale:
        ps.stack.remove_all_config(stale)
    ps.set_config(config)


def preview(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
            on_event: Optional[OnEvent] = None) -> OperationResult:
    """``pulumi preview`` with the policy pack attached (needs the Pulumi CLI and AWS credentials).

    Creates the stack if it does not exist. ``config`` becomes the stack's
    whole config. Raises ``PulumiCliNotFound`` first when the CLI is missing,
    ``PolicyViolationError`` on mandatory violations, other ``mlplatform.Error``
    subclasses otherwise. ``on_event`` gets every engine event.
    """
    return _open_live(stack, config, project_dir, create=True).preview(on_event=on_event)


def up(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
       on_event: Optional[OnEvent] = None) -> OperationResult:
    """``pulumi up`` with the policy pack attached, without asking (the caller decides). See :func:`preview`."""
    return _open_live(stack, config, project_dir, create=True).up(on_event=on_event)


def destroy(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
            on_event: Optional[OnEvent] = None) -> OperationResult:
    """``pulumi destroy`` of an existing stack, without asking. ``config`` (if given) is stored first."""
    return _open_live(stack, config, project_dir, create=False).destroy(on_event=on_event)


def outputs(stack: str, *, config: Optional[ConfigMapping] = None, project_dir: Optional[PathLike] = None,
            on_event: Optional[OnEvent] = None) -> dict[str, OutputValue]:
    """The outputs of an existing stack's last update (secrets flagged; values in clear).

    ``config`` and ``on_event`` are accepted for symmetry and not used: reading
    outputs neither runs the program nor changes the stack's config.
    """
    return _open_live(stack, config, project_dir, create=False, store_config=False).outputs()


# --------------------------------------------------------------------------- command line


def _error_lines(exc: BaseException) -> list[str]:
    errors = getattr(exc, "errors", None)
    if isinstance(exc, ConfigError) and errors and len(errors) > 1:
        return [f"invalid config {e.key}: {e.reason}" for e in errors]
    return [" ".join(str(exc).split()) or type(exc).__name__]


def fail(err: TextIO, exc: BaseException, debug: bool) -> int:
    """Report ``exc`` on ``err`` (one line per problem) and return its exit code."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=err)
    for line in _error_lines(exc):
        err.write(f"error: {line}\n")
    return int(getattr(exc, "exit_code", EXIT_ERROR)) if isinstance(exc, Error) else EXIT_ERROR


def plan_command(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``plan`` on the command line: the offline plan, its text (or JSON file) and an optional comparison."""
    from .offline.plan import print_summary
    from .plandiff import diff_plans, load_plan, render_text

    debug = bool(getattr(args, "debug", False))
    try:
        old = load_plan(args.compare) if getattr(args, "compare", None) else None
        config_file = getattr(args, "config", None)
        config = load_config_file(config_file) if config_file else None
        from .offline.plan import load_previous

        previous = load_previous(getattr(args, "previous", None))
        result = _plan(args.stack, config=config, fresh=bool(getattr(args, "fresh", False)), previous=previous,
                       policy_config=args.policy_config, program=args.program,
                       work_dir=Path(config_file).resolve().parent if config_file else None)
        if args.manifests:
            result.write_manifests(args.manifests)
        if args.json:
            result.write_json(args.json)
    except Error as exc:
        return fail(err, exc, debug)
    except Exception as exc:  # noqa: BLE001 - the contract is one line and exit 2
        if debug:
            traceback.print_exc(file=err)
        return fail(err, _translate(exc), False)
    doc = result.to_json()
    print_summary(doc, out, verbose=bool(getattr(args, "verbose", False)))
    if old is not None:
        out.write("\n")
        out.write(render_text(diff_plans(old, doc, old_label=str(args.compare), new_label="this plan")))
    return result.exit_code
