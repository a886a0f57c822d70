"""Markdown tables for the README, built from the code's own metadata."""

from __future__ import annotations

import dataclasses
import typing


def config_table() -> str:
    from components import config as c

    rows = ["| Key | Type | Default | Checked | Description |", "| --- | --- | --- | --- | --- |"]

    def default(f: dataclasses.Field) -> str:
        if f.default is not dataclasses.MISSING:
            v = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            v = f.default_factory()  # type: ignore[misc]
        else:
            return "required"
        if v in ("", None) or v == () or v == {}:
            return "—"
        return f"`{list(v) if isinstance(v, tuple) else v}`"

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in c.config_fields(cls):
            key = f"{prefix}{f.metadata['key']}"
            check = f.metadata.get("check")
            bounds = check.describe().replace("|", "\\|") if check is not None else "—"
            rows.append(f"| `{key}` | {c.type_name(hints[f.name])} | {default(f)} | {bounds} | {f.metadata['doc']} |")
            tp = hints[f.name]
            if typing.get_origin(tp) is typing.Union:  # Optional[Section]: a nested object, keys key.<field>
                section = next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), None)
                if section is not None:
                    walk(section, f"{key}.")
                continue
            inner = typing.get_args(tp)[-1] if typing.get_origin(tp) is not None else None
            if inner is not None and dataclasses.is_dataclass(inner):
                sep = ".<name>." if "map" in c.type_name(tp) else "[]."
                walk(inner, f"{key}{sep}")

    walk(c.StackConfig, "")
    return "\n".join(rows)


def _pack_path() -> "Path":
    import sys
    from pathlib import Path

    pack = Path(__file__).resolve().parents[1] / "policies"
    if str(pack) not in sys.path:
        sys.path.insert(0, str(pack))
    return pack


def rule_table() -> str:
    """One row per policy, from the pack's own metadata, with the level each shipped stack config gives it."""
    import json

    pack = _pack_path()
    from guardrails import METADATA

    def levels(stack: str) -> dict[str, str]:
        path = pack / "config" / f"{stack}.json"
        cfg = json.loads(path.read_text()) if path.exists() else {}
        every = cfg.get("all")
        every = every if isinstance(every, str) else (every or {}).get("enforcementLevel")
        out = {}
        for name, meta in METADATA.items():
            entry = cfg.get(name)
            own = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
            out[name] = own or every or meta.level
        return out

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    def tunables(meta) -> str:
        items = []
        for key, schema in meta.config.items():
            default = json.dumps(schema.get("default"))
            items.append(f"`{key}`={cell(default)}")
        return "<br>".join(items) or "—"

    def stands_for(meta) -> str:
        return "<br>".join(list(meta.checkov) + [f"CIS {c}" for c in meta.cis]) or "—"

    dev, prod = levels("dev"), levels("prod")
    rows = ["| Rule | Area | Kind | dev | prod | What it checks | Stands for | Tunables (default) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, meta in sorted(METADATA.items(), key=lambda kv: (AREA_ORDER.index(kv[1].area)
                                                               if kv[1].area in AREA_ORDER else 99, kv[0])):
        rows.append(f"| `{name}` | {meta.area} | {meta.kind} | {dev[name]} | {prod[name]} | "
                    f"{cell(meta.description)} | {stands_for(meta)} | {tunables(meta)} |")
    return "\n".join(rows)


AREA_ORDER = ["network", "cluster", "nodes", "iam", "storage", "workloads", "rbac", "access", "registry", "helm",
              "ingress", "tagging", "stack"]


def coverage_rows() -> dict[str, list[dict]]:
    """Every check of the three public rule sets with its status, from the vendored ids, the rules' metadata and
    ``guardrails/coverage.py``. Status: covered, tunable, not covered, or n/a (with the reason)."""
    import json

    root = _pack_path().parent
    from guardrails import METADATA
    from guardrails import coverage as cov

    claims: dict[str, list[str]] = {}
    for name, meta in METADATA.items():
        for check in list(meta.checkov) + [f"CIS {c}" for c in meta.cis]:
            claims.setdefault(check, []).append(name)

    def row(check: str, what: str, na: str = "") -> dict:
        if na:
            status, rules = "n/a", []
        elif check in claims:
            status, rules = "covered", sorted(claims[check])
        elif check in cov.TUNABLE:
            status, rules = "tunable", [cov.TUNABLE[check][0]]
        else:
            status, rules = "not covered", []
        note = na or (cov.TUNABLE[check][2] if status == "tunable" else cov.NOTES.get(check, ""))
        return {"check": check, "what": what, "status": status, "rules": rules, "note": note}

    ck = json.loads((root / "upstream" / "policy" / "checkov-3.3.30.json").read_text())
    out = {
        "checkov Kubernetes": [row(e["id"], f"`{e['module']}`", cov.checkov_not_applicable(e))
                               for e in ck["kubernetes"]],
        "checkov EKS": [row(e["id"], f"`{e['module']}`") for e in ck["eks"]],
        "CIS EKS 1.8": [],
    }
    for section in ("controlplane", "node", "policies", "managedservices"):
        data = json.loads((root / "upstream" / "policy" / f"cis-eks-1.8.0-{section}.json").read_text())
        for item in data["items"]:
            check = f"CIS {item['id']}"
            out["CIS EKS 1.8"].append(row(check, cov.CIS_LABELS.get(item["id"], ""), cov.CIS_NOT_IAC.get(check, "")))
    out["CIS EKS 1.8"].sort(key=lambda r: [int(p) for p in r["check"].split()[1].split(".")])
    return out


def coverage_summary() -> dict[str, dict[str, int]]:
    """Per rule set: applicable, covered (by default), tunable, not covered."""
    summary = {}
    for name, rows in coverage_rows().items():
        applicable = [r for r in rows if r["status"] != "n/a"]
        summary[name] = {"applicable": len(applicable),
                         "covered": sum(r["status"] == "covered" for r in applicable),
                         "tunable": sum(r["status"] == "tunable" for r in applicable),
                         "not covered": sum(r["status"] == "not covered" for r in applicable),
                         "n/a": len(rows) - len(applicable)}
    return summary


def coverage_table() -> str:
    """The README's coverage section: a summary per rule set, then every applicable check."""
    import json

    root = _pack_path()
    from guardrails.coverage import TUNABLE

    prod = json.loads((root / "config" / "prod.json").read_text())

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows_by_set = coverage_rows()
    lines = ["| Rule set | Applicable | Covered by default | With a tunable | Not covered | Coverage (default) | "
             "Coverage (with tunables) | Not applicable |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, counts in coverage_summary().items():
        n = counts["applicable"] or 1
        lines.append(f"| {name} | {counts['applicable']} | {counts['covered']} | {counts['tunable']} | "
                     f"{counts['not covered']} | {100.0 * counts['covered'] / n:.0f}% | "
                     f"{100.0 * (counts['covered'] + counts['tunable']) / n:.0f}% | {counts['n/a']} |")
    for name, rows in rows_by_set.items():
        lines += ["", f"**{name}**", "", "| Check | What | Status | Rules | Notes |", "| --- | --- | --- | --- | --- |"]
        na = [r for r in rows if r["status"] == "n/a"]
        for r in rows:
            if r["status"] == "n/a":
                continue
            status = r["status"]
            if status == "tunable":
                rule, setting, _ = TUNABLE[r["check"]]
                enforced = " (prod sets it)" if all(
                    (prod.get(rule) or {}).get(k) == v for k, v in setting.items()) else ""
                status = f"tunable: {', '.join(f'`{k}: {json.dumps(v)}`' for k, v in setting.items())}{enforced}"
            rules = "<br>".join(f"`{x}`" for x in r["rules"]) or "—"
            lines.append(f"| {r['check']} | {r['what']} | {status} | {rules} | {cell(r['note']) or '—'} |")
        if na:
            reasons: dict[str, list[str]] = {}
            for r in na:
                reasons.setdefault(r["note"], []).append(r["check"])
            for reason, checks in reasons.items():
                lines.append(f"| {', '.join(checks)} | | n/a | — | {cell(reason)} |")
    return "\n".join(lines)
