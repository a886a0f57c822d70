"""Command line: ``mlplatform`` (installed) or ``python -m automation`` (a checkout), same commands and options.

* ``plan``: the offline plan (mocks + the real policy pack; no cloud, no Pulumi
  CLI). Its arguments and exit codes are those of ``automation.offline.plan``;
  ``--compare OLD.json`` adds what changed since an earlier plan file.
* ``diff OLD.json NEW.json``: what changed between two plan files
  (``automation.plandiff``).
* ``preview``, ``up``, ``destroy``, ``outputs``: the real thing through the
  Automation API (needs the Pulumi CLI and AWS credentials). ``preview`` and
  ``up`` attach ``policies/`` and ``policies/config/<stack>.json``.

``--config FILE`` (plan, preview, up, destroy) takes the stack's config from a
file anywhere (a stack file's shape) instead of ``Pulumi.<stack>.yaml``.

``up`` and ``destroy`` ask for confirmation (``up`` after showing a preview)
unless ``--yes``, and refuse to run without ``--yes`` when stdin is not a
terminal. ``--json`` prints the typed result as JSON on stdout.

Exit codes: 0 success, 1 mandatory policy violations, 2 any other failure
(one line on stderr; a traceback only with ``--debug``).

Imports are deferred to the command that needs them: ``--help`` is instant and
importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Optional, Sequence, TextIO

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2

COMMANDS = {
    "plan": "offline plan: run the stack under mocks and check the policy pack (no cloud, no Pulumi CLI)",
    "preview": "preview changes with the policy pack attached (Pulumi CLI + AWS credentials)",
    "up": "deploy the stack with the policy pack attached (asks first unless --yes)",
    "destroy": "destroy every resource in the stack (asks first unless --yes)",
    "outputs": "print the stack's outputs (secrets masked unless --show-secrets)",
    "diff": "compare two plan files (plan --json): resources added, removed and changed, with old -> new values",
}


def _command_of(argv: Sequence[str]) -> Optional[str]:
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Optional[Sequence[str]] = None, prog: str = "python -m automation") -> argparse.ArgumentParser:
    """The parser. The offline plan's arguments are only loaded when ``plan`` is the command (they import Pulumi)."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Manage the ML platform per environment (stack).",
        epilog="Exit codes: 0 ok, 1 mandatory policy violations, 2 error.",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = sub.add_parser("plan", help=COMMANDS["plan"], description=COMMANDS["plan"])
    if _command_of(argv) == "plan":
        from .offline.plan import add_arguments as plan_args

        plan_args(plan)
    for name in ("preview", "up", "destroy", "outputs"):
        p = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        p.add_argument("--stack", required=True, help="stack name (dev, prod, or org/project/stack)")
        if name != "outputs":
            p.add_argument("--config", type=Path, metavar="FILE",
                           help="make this file's config (a stack file's shape, from anywhere) the stack's config")
        if name in ("up", "destroy"):
            p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        if name in ("up", "outputs"):
            p.add_argument("--show-secrets", action="store_true", help="print secret outputs in clear")
        p.add_argument("--cwd", type=Path, default=None, metavar="DIR",
                       help="project directory (default: this checkout; installed: ~/.mlplatform/workspace)")
        p.add_argument("--debug", action="store_true", help="show tracebacks")
    diff = sub.add_parser("diff", help=COMMANDS["diff"], description=COMMANDS["diff"])
    from .plandiff import add_arguments as diff_args

    diff_args(diff)
    return ap


def main(argv: Optional[Sequence[str]] = None, *, stack_factory: Any = None, stdin: Optional[TextIO] = None,
         stdout: Optional[TextIO] = None, stderr: Optional[TextIO] = None, prog: str = "python -m automation") -> int:
    """Run the CLI. ``stack_factory`` (see :class:`automation.stack.StackRequest`) replaces the real
    Automation API stack, for tests and embedding."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv, prog=prog).parse_args(argv)
    out, err = stdout or sys.stdout, stderr or sys.stderr
    if args.command == "plan":
        from .offline.plan import run_cli

        return run_cli(args, out, err)
    if args.command == "diff":
        from .plandiff import run_cli as diff_cli

        return diff_cli(args, out=out, err=err)
    try:
        return _live(args, stack_factory=stack_factory, stdin=stdin or sys.stdin, out=out, err=err)
    except KeyboardInterrupt:
        err.write("error: interrupted\n")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the contract is one line and an exit code
        from .errors import Error, PolicyViolationError

        if args.debug:
            traceback.print_exc(file=err)
        if isinstance(exc, PolicyViolationError):
            if exc.result is not None:
                _print_result(exc.result, args, out)
            elif not args.json:
                _print_violations(exc.violations, out)
        if isinstance(exc, Error):
            from .api import fail

            return fail(err, exc, False)
        from .stack import _last_line, _stderr_of

        first = _last_line(_stderr_of(exc)) or (str(exc).strip().splitlines() or [""])[0]
        err.write(f"error: {type(exc).__name__}: {first}\n".replace(": \n", "\n"))
        return EXIT_ERROR


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _ask(prompt: str, stdin: TextIO, err: TextIO) -> str:
    err.write(prompt)
    err.flush()
    line = stdin.readline()
    return line.strip()


def _live(args: argparse.Namespace, *, stack_factory: Any, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    from .api import _replace_config, load_config_file, prepare_workspace
    from .errors import AutomationError, ConfirmationRequired
    from .preflight import find_pulumi_cli
    from .stack import PlatformStack

    interactive = _isatty(stdin)
    if args.command in ("up", "destroy") and not args.yes and not interactive:
        raise ConfirmationRequired(f"refusing to {args.command} stack {args.stack} without --yes: "
                                   f"stdin is not a terminal to confirm on")
    config = load_config_file(args.config) if getattr(args, "config", None) else None
    if stack_factory is None:
        find_pulumi_cli()  # before a workspace is written
    ps = PlatformStack.open(args.stack, project_dir=prepare_workspace(args.cwd),
                            create=args.command in ("preview", "up"), stack_factory=stack_factory)
    if config is not None:
        _replace_config(ps, config)
    if args.command == "outputs":
        outputs = ps.outputs()
        if args.json:
            out.write(json.dumps({k: v.shown(args.show_secrets) for k, v in outputs.items()}, indent=2) + "\n")
        else:
            for key, value in outputs.items():
                shown = value.shown(args.show_secrets)
                out.write(f"{key}: {shown if isinstance(shown, str) else json.dumps(shown)}\n")
        return EXIT_OK

    def progress(title: str) -> Any:
        from rich.console import Console

        from .progress import RichProgress

        return RichProgress(Console(file=err, highlight=False), title=title)

    if args.command == "preview":
        result = ps.preview(progress=progress(f"preview {args.stack}"))
    elif args.command == "up":
        if not args.yes:
            planned = ps.preview(progress=progress(f"preview {args.stack}"))
            _print_result(planned, argparse.Namespace(json=False, show_secrets=False), err)
            if planned.summary.changes == 0:
                err.write(f"stack {args.stack} is up to date; nothing to do\n")
                _print_result(planned, args, out) if args.json else None
                return EXIT_OK
            if _ask(f"Apply these changes to stack {args.stack}? [y/N] ", stdin, err).lower() not in ("y", "yes"):
                raise AutomationError(f"up of stack {args.stack} cancelled at the prompt; nothing was changed")
        result = ps.up(progress=progress(f"up {args.stack}"))
    else:  # destroy
        if not args.yes:
            answer = _ask(f"This deletes every resource in stack {args.stack}. Type the stack name to confirm: ",
                          stdin, err)
            if answer != args.stack:
                raise AutomationError(f"destroy of stack {args.stack} cancelled at the prompt; nothing was deleted")
        result = ps.destroy(progress=progress(f"destroy {args.stack}"))
    _print_result(result, args, out)
    return EXIT_OK


def _print_violations(violations: Sequence[Any], out: TextIO) -> None:
    for level in ("mandatory", "advisory"):
        chosen = [v for v in violations if (v.level == "mandatory") == (level == "mandatory")]
        if not chosen:
            continue
        out.write(f"{level.capitalize()} policy violations ({len(chosen)}):\n")
        for v in chosen:
            out.write(f"  [{v.policy}] {v.urn or '(stack)'}\n")
            for line in v.message.splitlines():
                out.write(f"      {line}\n")


def _print_result(result: Any, args: argparse.Namespace, out: TextIO) -> None:
    if getattr(args, "json", False):
        out.write(json.dumps(result.as_json(show_secrets=getattr(args, "show_secrets", False)), indent=2) + "\n")
        return
    out.write(f"{result.operation} of stack {result.stack}: {result.summary.describe()}\n")
    _print_violations(result.violations, out)
    for key, value in result.outputs.items():
        shown = value.shown(getattr(args, "show_secrets", False))
        out.write(f"  {key}: {shown if isinstance(shown, str) else json.dumps(shown)}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
