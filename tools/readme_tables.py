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
            inner = typing.get_args(tp)[-1] if typing.get_origin(tp) is not None else None
            if inner is not None and dataclasses.is_dataclass(inner):
                sep = ".<name>." if "map" in c.type_name(tp) else "[]."
                walk(inner, f"{key}{sep}")

    walk(c.StackConfig, "")
    return "\n".join(rows)


def rule_table() -> str:
    """One row per policy, from the pack's own metadata, with the level each shipped stack config gives it."""
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pack = root / "policies"
    if str(pack) not in sys.path:
        sys.path.insert(0, str(pack))
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

    dev, prod = levels("dev"), levels("prod")
    rows = ["| Rule | Area | Kind | dev | prod | What it checks | Tunables (default) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    order = ["network", "cluster", "nodes", "iam", "storage", "workloads", "rbac", "ingress", "tagging", "stack"]
    for name, meta in sorted(METADATA.items(), key=lambda kv: (order.index(kv[1].area)
                                                               if kv[1].area in order else 99, kv[0])):
        rows.append(f"| `{name}` | {meta.area} | {meta.kind} | {dev[name]} | {prod[name]} | "
                    f"{cell(meta.description)} | {tunables(meta)} |")
    return "\n".join(rows)
