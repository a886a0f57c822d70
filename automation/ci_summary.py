"""Markdown summary of offline-plan JSON files, for ``$GITHUB_STEP_SUMMARY``.

    python -m automation.ci_summary plan-dev.json plan-prod.json >> "$GITHUB_STEP_SUMMARY"

Reads the JSON ``python -m automation plan --json FILE`` writes (schemaVersion
1). A missing or unreadable file is reported in the summary rather than
failing the step: the plan step's own exit code is what gates the job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

TOP_TYPES = 12


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(path: Path) -> str:
    """One plan file as Markdown."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return f"### Offline plan: {Path(path).name}\n\nNo plan file was written (the plan failed before the end; " \
               f"see the step log).\n"
    except json.JSONDecodeError as exc:
        return f"### Offline plan: {Path(path).name}\n\nThe plan file is not valid JSON: {exc}\n"
    summary = data.get("summary", {})
    pack = data.get("policyPack", {})
    mandatory, advisory = summary.get("mandatory", 0), summary.get("advisory", 0)
    verdict = "❌ blocked" if mandatory else "✅ passes"
    lines = [
        f"### Offline plan: stack `{data.get('stack', '?')}` {verdict}",
        "",
        f"{summary.get('resources', 0)} resources; policy pack `{pack.get('name', '?')}` {pack.get('version', '')} "
        f"({pack.get('policies', '?')} policies, config `{pack.get('config') or 'built-in defaults'}`): "
        f"**{mandatory} mandatory**, {advisory} advisory violations.",
        "",
    ]
    diagnostics = data.get("diagnostics", [])
    if diagnostics:
        lines += ["| Level | Policy | Resource | Message |", "| --- | --- | --- | --- |"]
        for d in diagnostics:
            first = (d.get("message") or "").strip().splitlines()
            lines.append(f"| {d.get('level', '')} | `{_cell(d.get('policy', ''))}` | `{_cell(d.get('urn') or '(stack)')}` "
                         f"| {_cell(first[0] if first else '')} |")
        lines.append("")
    by_type = sorted(summary.get("byType", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    if by_type:
        lines += ["<details><summary>Resources by type</summary>", "", "| Type | Count |", "| --- | ---: |"]
        lines += [f"| `{_cell(t)}` | {n} |" for t, n in by_type[:TOP_TYPES]]
        if len(by_type) > TOP_TYPES:
            lines.append(f"| (and {len(by_type) - TOP_TYPES} more types) | {sum(n for _, n in by_type[TOP_TYPES:])} |")
        lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        sys.stderr.write("usage: python -m automation.ci_summary PLAN.json [PLAN.json ...]\n")
        return 2
    for p in paths:
        out.write(render(Path(p)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
