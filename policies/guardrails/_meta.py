"""How a rule is declared: a pure validator function plus its metadata.

A resource rule is ``fn(props, ctx) -> Iterable[str]``: it gets plain inputs
(dicts and lists) and yields one message per violation. A stack rule is
``fn(resources, ctx) -> Iterable[tuple[str, urn]]``. The decorators turn them
into pulumi-policy ``Policy`` objects with a kebab-case name, a description, a
default enforcement level (mandatory: the built-in defaults are the strict
prod levels), remediation text and a config schema whose defaults are applied
in code, because a pack that is never configured sees ``{}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

PACK_NAME = "mlplatform-guardrails"
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")

REGISTRY: list[Policy] = []
#: name -> (area module, description, remediation, default level, kind) for docs and tests.
METADATA: dict[str, "RuleMeta"] = {}


@dataclass(frozen=True)
class RuleMeta:
    name: str
    area: str
    description: str
    remediation: str
    level: str
    kind: str  # "resource" | "stack"
    types: tuple[str, ...]
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ctx:
    """What a validator may know besides the properties."""

    type: str
    name: str
    urn: str
    config: Mapping[str, Any]
    protect: bool = False


def to_plain(value: Any) -> Any:
    """Deep copy of analyzer proxies into dicts and lists."""
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "_ListProxy":
        return [to_plain(v) for v in value]
    return value


def _defaults(config: Optional[Mapping[str, Mapping[str, Any]]]) -> dict:
    return {k: v["default"] for k, v in (config or {}).items() if "default" in v}


def _register(meta: RuleMeta, policy: Policy) -> None:
    if not _NAME_RE.match(meta.name):
        raise ValueError(f"policy name {meta.name!r} is not kebab-case")
    if meta.name in METADATA:
        raise ValueError(f"duplicate policy name {meta.name!r}")
    METADATA[meta.name] = meta
    REGISTRY.append(policy)


def resource_rule(
    *,
    name: str,
    description: str,
    remediation: str,
    types: Sequence[str] = (),
    type_prefixes: Sequence[str] = (),
    config: Optional[Mapping[str, Mapping[str, Any]]] = None,
    severity: Severity = Severity.HIGH,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> Callable:
    """Register ``fn(props, ctx) -> Iterable[str]`` as a resource policy for ``types``/``type_prefixes``."""
    types_t, prefixes_t = tuple(types), tuple(type_prefixes)

    def deco(fn: Callable[[dict, Ctx], Iterable[str]]) -> Callable:
        def validate(args: Any, report: Callable) -> None:
            if (types_t or prefixes_t) and not (
                args.resource_type in types_t or args.resource_type.startswith(prefixes_t)
            ):
                return
            cfg = {**_defaults(config), **to_plain(args.get_config() or {})}
            ctx = Ctx(args.resource_type, args.name, args.urn, cfg, bool(getattr(args.opts, "protect", False)))
            for message in fn(to_plain(args.props), ctx):
                report(message)

        policy = ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
            severity=severity,
            remediation_steps=remediation,
        )
        _register(RuleMeta(name, fn.__module__.rsplit(".", 1)[-1], description, remediation, level.value, "resource",
                           types_t + prefixes_t, dict(config or {})), policy)
        fn.policy_name = name  # type: ignore[attr-defined]
        return fn

    return deco


@dataclass(frozen=True)
class StackResource:
    """A plain view of one stack resource for stack rules."""

    type: str
    name: str
    urn: str
    props: dict
    parent: Optional[str]
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    protect: bool = False


def _stack_view(resources: Iterable[Any]) -> list[StackResource]:
    out = []
    for r in resources:
        out.append(StackResource(
            type=r.resource_type,
            name=r.name,
            urn=r.urn,
            props=to_plain(r.props),
            parent=r.parent.urn if r.parent is not None else None,
            dependencies=tuple(d.urn for d in r.dependencies),
            property_dependencies={k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()},
            protect=bool(getattr(r.opts, "protect", False)),
        ))
    return out


def stack_rule(
    *,
    name: str,
    description: str,
    remediation: str,
    config: Optional[Mapping[str, Mapping[str, Any]]] = None,
    severity: Severity = Severity.HIGH,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> Callable:
    """Register ``fn(resources, ctx) -> Iterable[(message, urn)]`` as a stack policy."""

    def deco(fn: Callable[[list[StackResource], Ctx], Iterable[tuple[str, Optional[str]]]]) -> Callable:
        def validate(args: Any, report: Callable) -> None:
            cfg = {**_defaults(config), **to_plain(args.get_config() or {})}
            for message, urn in fn(_stack_view(args.resources), Ctx("", "", "", cfg)):
                report(message, urn)

        policy = StackValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
            severity=severity,
            remediation_steps=remediation,
        )
        _register(RuleMeta(name, fn.__module__.rsplit(".", 1)[-1], description, remediation, level.value, "stack",
                           (), dict(config or {})), policy)
        fn.policy_name = name  # type: ignore[attr-defined]
        return fn

    return deco


def dig(obj: Any, *path: Any, default: Any = None) -> Any:
    """``dig(props, "spec", "template", 0)``: None-safe nested lookup."""
    cur = obj
    for key in path:
        if isinstance(cur, Mapping) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int) and -len(cur) <= key < len(cur):
            cur = cur[key]
        else:
            return default
    return cur
