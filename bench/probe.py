"""One offline plan in this (fresh) process, plus its peak memory: ``python -m bench.probe``.

    python -m bench.probe --report FILE -- plan --stack NAME --json FILE [plan options]

Everything after ``--`` is handed to ``python -m automation`` unchanged, so the
process does exactly what ``python -m automation plan ...`` does. When it is
done it writes ``FILE`` (JSON) with the exit code and two peak resident set
sizes, read with ``getrusage``:

* ``planMaxRssKiB``: RUSAGE_SELF, this process (program evaluation under mocks,
  the gRPC client, the JSON writer);
* ``packMaxRssKiB``: RUSAGE_CHILDREN, the largest child this process waited for.
  The plan starts exactly one child, the policy pack (``python -m pulumi.policy``),
  and reaps it before returning, so this is the pack's peak.

and the CPU seconds (user + system) of each, which other jobs on a shared
machine disturb much less than wall time.

The caller times the process from the outside (wall clock, interpreter start
included) and reads the program/policy split from the plan JSON's ``timings``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
from pathlib import Path
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        print("usage: python -m bench.probe --report FILE [--profile FILE] -- plan --stack NAME ...", file=sys.stderr)
        return 2
    cut = argv.index("--")
    ap = argparse.ArgumentParser(prog="python -m bench.probe")
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--profile", type=Path, help="also write a cProfile of the run here")
    ap.add_argument("--default-gc", action="store_true",
                    help="run the program with Python's default GC thresholds (the plan before its GC tuning)")
    args = ap.parse_args(argv[:cut])
    plan_argv = argv[cut + 1:]

    from automation.cli import main as automation_main

    if args.default_gc:
        import gc

        from automation.offline import runner

        runner.PROGRAM_GC_THRESHOLDS = gc.get_threshold()

    out, err = io.StringIO(), io.StringIO()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = automation_main(plan_argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 2
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    args.report.write_text(json.dumps({
        "exitCode": code,
        "planMaxRssKiB": me.ru_maxrss,  # Linux reports KiB
        "packMaxRssKiB": kids.ru_maxrss,
        # CPU seconds (user + system): far less sensitive than wall time to other jobs on a shared machine.
        "planCpuSeconds": me.ru_utime + me.ru_stime,
        "packCpuSeconds": kids.ru_utime + kids.ru_stime,
        "stderr": err.getvalue()[-2000:],
    }))
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
