"""Markdown tables for the README, built from the code's own metadata."""

from __future__ import annotations

import dataclasses
import typing


def config_table() -> str:
    from components import config as c

    rows = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]

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
            rows.append(f"| `{key}` | {c.type_name(hints[f.name])} | {default(f)} | {f.metadata['doc']} |")
            tp = hints[f.name]
            inner = typing.get_args(tp)[-1] if typing.get_origin(tp) is not None else None
            if inner is not None and dataclasses.is_dataclass(inner):
                sep = ".<name>." if "map" in c.type_name(tp) else "[]."
                walk(inner, f"{key}{sep}")

    walk(c.StackConfig, "")
    return "\n".join(rows)


def rule_table() -> str:
    return "(the policy pack has not been written yet)"
