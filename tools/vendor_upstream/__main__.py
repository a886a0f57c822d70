"""``python -m tools.vendor_upstream``: see the package docstring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools import vendor_upstream as vu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.vendor_upstream", description=__doc__)
    ap.add_argument("--mirrors", type=Path, default=vu.DEFAULT_MIRRORS, help="where fetched git mirrors live")
    ap.add_argument("--only", default="", help="regenerate only files whose dest starts with this prefix")
    ap.add_argument("--check", action="store_true", help="verify upstream/ against the manifest and exit")
    args = ap.parse_args(argv)
    if args.check:
        problems = vu.check()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    sources = vu.all_sources()
    for name, module in sorted(sys.modules.items()):  # area modules may explain what they could not source
        if name.startswith("tools.vendor_upstream.sources_"):
            for warning in getattr(module, "WARNINGS", []):
                print(f"warning: {warning}", file=sys.stderr)
    chosen = [s for s in sources if s.dest.startswith(args.only)]
    entries = {e["file"]: e for e in vu.load_manifest()["files"]}
    known = {s.dest for s in sources}
    # Files no source produces any more drop out of the manifest (and off disk).
    for dest in [d for d in entries if d not in known]:
        (vu.UPSTREAM / dest).unlink(missing_ok=True)
        del entries[dest]
    for e in vu.vendor(chosen, args.mirrors):
        entries[e["file"]] = e
    vu.write_manifest(entries.values())
    print(f"vendored {len(chosen)} file(s); manifest lists {len(entries)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
