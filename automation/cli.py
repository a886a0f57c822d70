"""Command line: ``python -m automation <command> --stack NAME``.

``plan`` is the offline plan (no cloud, no Pulumi CLI). Imports are deferred to
the command that needs them, so ``--help`` is instant and importing this module
has no side effects.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m automation", description="Manage the ML platform per environment.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from automation.offline.plan import add_arguments as plan_args

    plan_args(sub.add_parser("plan", help="offline plan: run the stack under mocks and check the policy pack"))
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "plan":
        from automation.offline.plan import run_cli

        return run_cli(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
