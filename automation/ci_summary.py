"""Markdown summary of offline-plan JSON files, for ``$GITHUB_STEP_SUMMARY``.

    python -m automation.ci_summary plan-dev.json plan-prod.json >> "$GITHUB_STEP_SUMMARY"

Reads the JSON ``python -m automation plan --json FILE`` writes (schemaVersion
1). A missing or unreadable file is reported in the summary rather than
failing the step: the plan step's own exit code is what gates the job.

Plans of the first preview (``--fresh``) also report the rules that could not
run because they read a value unknown until deploy ("blind"): their count sits
next to the verdicts in the overview and in each plan's headline, and each one
is listed with why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

TOP_TYPES = 12


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


MODES = {"existing": "existing stack", "fresh": "first preview"}


def _load(path: Path) -> tuple[dict | None, str]:
    """(plan, "") or (None, why it cannot be read)."""
    try:
        return json.loads(Path(path).read_text()), ""
    except FileNotFoundError:
        return None, "No plan file was written (the plan failed before the end; see the step log)."
    except json.JSONDecodeError as exc:
        return None, f"The plan file is not valid JSON: {exc}"


def _mode(data: dict) -> str:
    return str(data.get("mode") or "existing")


def _blind_count(data: dict) -> int | None:
    """Rules that could not run (first preview), or None for a plan that has no such count."""
    summary = data.get("summary", {})
    if "blind" in summary:
        return int(summary["blind"])
    return len(data["blind"]) if isinstance(data.get("blind"), list) else None


def overview(paths: Sequence[Path]) -> str:
    """One row per plan: stack, mode, verdict, and the blind count next to the verdict counts."""
    rows = ["| Stack | Mode | Verdict | Mandatory | Advisory | Blind at first preview |",
            "| --- | --- | --- | ---: | ---: | ---: |"]
    for p in paths:
        data, why = _load(p)
        if data is None:
            rows.append(f"| `{_cell(Path(p).name)}` | ? | ⚠️ no plan | | | |")
            continue
        summary = data.get("summary", {})
        mandatory = summary.get("mandatory", 0)
        blind = _blind_count(data)
        rows.append(f"| `{_cell(data.get('stack', '?'))}` | {MODES.get(_mode(data), _mode(data))} "
                    f"| {'❌ blocked' if mandatory else '✅ passes'} | {mandatory} | {summary.get('advisory', 0)} "
                    f"| {blind if blind is not None and _mode(data) == 'fresh' else '—'} |")
    return "### Offline plans\n\n" + "\n".join(rows) + "\n\n"


def render(path: Path) -> str:
    """One plan file as Markdown."""
    data, why = _load(path)
    if data is None:
        return f"### Offline plan: {Path(path).name}\n\n{why}\n"
    summary = data.get("summary", {})
    pack = data.get("policyPack", {})
    mandatory, advisory = summary.get("mandatory", 0), summary.get("advisory", 0)
    verdict = "❌ blocked" if mandatory else "✅ passes"
    fresh = _mode(data) == "fresh"
    blind = _blind_count(data) or 0
    lines = [
        f"### Offline plan: stack `{data.get('stack', '?')}`{' (first preview)' if fresh else ''} {verdict}",
        "",
        f"{summary.get('resources', 0)} resources; policy pack `{pack.get('name', '?')}` {pack.get('version', '')} "
        f"({pack.get('policies', '?')} policies, config `{pack.get('config') or 'built-in defaults'}`): "
        f"**{mandatory} mandatory**, {advisory} advisory violations"
        + (f", {blind} blind (rules that read a value unknown until deploy; they run at `up`)." if fresh else "."),
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
    if fresh and data.get("blind"):
        lines += ["<details><summary>Blind at first preview</summary>", "",
                  "| Policy | Resource | Why |", "| --- | --- | --- |"]
        for b in data["blind"]:
            lines.append(f"| `{_cell(b.get('policy', ''))}` | `{_cell(b.get('urn') or '(stack)')}` "
                         f"| {_cell(b.get('reason') or b.get('message') or '')} |")
        lines += ["", "</details>", ""]
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
    if len(paths) > 1:
        out.write(overview([Path(p) for p in paths]))
    for p in paths:
        out.write(render(Path(p)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
