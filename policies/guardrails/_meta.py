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

from pulumi_policy import proxy as _proxy
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
#: Prefix of the diagnostic a rule reports when the resource's shape breaks it: the rule fails closed
#: (a violation at its level) instead of crashing the whole preview.
UNEVALUABLE = "the rule could not evaluate this resource (malformed input?)"
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
    #: checkov check ids (``CKV_K8S_15``, ``CKV2_K8S_4``, ``CKV_AWS_39``) the rule stands for: it checks the
    #: same property or a stricter one (README "Coverage"; a test wants a fixture for each).
    checkov: tuple[str, ...] = ()
    #: CIS Amazon EKS Benchmark 1.8 recommendations (``4.1.4``) the rule stands for, in the same sense.
    cis: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ctx:
    """What a validator may know besides the properties."""

    type: str
    name: str
    urn: str
    config: Mapping[str, Any]
    protect: bool = False
    #: Inputs of the resource's provider (e.g. ``defaultTags`` of an aws provider), plain.
    provider: Mapping[str, Any] = field(default_factory=dict)
    provider_type: str = ""


# --------------------------------------------------------------------------- unknown values
#
# During ``pulumi preview`` some inputs are not known yet (IDs of resources not
# created, values computed from them). pulumi-policy's own proxy raises
# ``UnknownValueError`` the moment a rule touches one, and the SDK turns that
# into an advisory "can't run during preview" note. Copying the proxies eagerly
# would touch every value and silence a rule because of an unrelated unknown
# (a cluster's ``vpcId`` would stop the endpoint checks), so resource rules get
# plain dicts and lists that raise only when the unknown value itself is read.
# Stack rules get :data:`UNKNOWN` in its place instead, because they reason
# about unknown IDs on purpose (falling back to ``propertyDependencies``).

_SENTINELS = frozenset({
    _proxy.UNKNOWN_BOOLEAN_VALUE, _proxy.UNKNOWN_NUMBER_VALUE, _proxy.UNKNOWN_STRING_VALUE,
    _proxy.UNKNOWN_ARRAY_VALUE, _proxy.UNKNOWN_ASSET_VALUE, _proxy.UNKNOWN_ARCHIVE_VALUE,
    _proxy.UNKNOWN_OBJECT_VALUE,
})


class _Unknown:
    """A value the engine does not know yet. Falsy, equal only to itself."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def _raise_if_unknown(value: Any, path: list) -> Any:
    if isinstance(value, str) and value in _SENTINELS:
        raise _proxy.UnknownValueError(value, [str(p) for p in path])
    return value


class LazyDict(dict):
    """A plain ``dict`` whose unknown values raise ``UnknownValueError`` when read."""

    def __init__(self, data: Mapping, path: list):
        super().__init__(data)
        self._path = path

    def __getitem__(self, key: Any) -> Any:
        return _raise_if_unknown(super().__getitem__(key), self._path + [key])

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in self]

    def values(self):  # type: ignore[override]
        return [self[k] for k in self]


class LazyList(list):
    """A plain ``list`` whose unknown elements raise ``UnknownValueError`` when read."""

    def __init__(self, data: list, path: list):
        super().__init__(data)
        self._path = path

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _raise_if_unknown(super().__getitem__(index), self._path + [index])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def _raw(value: Any) -> Any:
    """The object behind a pulumi-policy proxy (the proxy hands it out under the key ``__target``)."""
    name = type(value).__name__
    if name in ("_DictProxy", "_ListProxy"):
        return value["__target"]
    return value


def to_plain(value: Any, *, unknown: str = "raise", _path: Optional[list] = None) -> Any:
    """Deep copy of analyzer proxies into dicts and lists.

    ``unknown="raise"``: unknown values raise ``UnknownValueError`` when read
    (lazily); ``unknown="marker"``: they become :data:`UNKNOWN`.
    """
    path = _path or []
    value = _raw(value)
    if isinstance(value, str) or value is None or isinstance(value, (bool, int, float)):
        return UNKNOWN if unknown != "raise" and isinstance(value, str) and value in _SENTINELS else value
    if isinstance(value, Mapping):
        pairs = dict.items(value) if isinstance(value, dict) else ((k, value[k]) for k in value)
        data = {k: to_plain(v, unknown=unknown, _path=path + [k]) for k, v in pairs}
        return LazyDict(data, path) if unknown == "raise" else data
    if isinstance(value, (list, tuple)):
        elems = list.__iter__(value) if isinstance(value, list) else iter(value)
        items = [to_plain(v, unknown=unknown, _path=path + [i]) for i, v in enumerate(elems)]
        return LazyList(items, path) if unknown == "raise" else items
    if unknown != "raise" and isinstance(value, str) and value in _SENTINELS:
        return UNKNOWN
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


def _declare(policy_cls: type, kind: str, fn: Callable, validate: Callable, *, name: str, description: str,
             remediation: str, types: tuple[str, ...], config: Optional[Mapping[str, Mapping[str, Any]]],
             severity: Severity, level: EnforcementLevel, checkov: Sequence[str] = (),
             cis: Sequence[str] = ()) -> Callable:
    """Build the pulumi-policy object for ``fn``, record its metadata, and hand ``fn`` back unchanged."""
    policy = policy_cls(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
        severity=severity,
        remediation_steps=remediation,
    )
    _register(RuleMeta(name, fn.__module__.rsplit(".", 1)[-1], description, remediation, level.value, kind,
                       types, dict(config or {}), tuple(checkov), tuple(cis)), policy)
    fn.policy_name = name  # type: ignore[attr-defined]
    return fn


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
    checkov: Sequence[str] = (),
    cis: Sequence[str] = (),
) -> Callable:
    """Register ``fn(props, ctx) -> Iterable[str]`` as a resource policy for ``types``/``type_prefixes``.

    ``checkov`` and ``cis`` name the public checks the rule stands for (see :class:`RuleMeta`).
    """
    types_t, prefixes_t = tuple(types), tuple(type_prefixes)

    def deco(fn: Callable[[dict, Ctx], Iterable[str]]) -> Callable:
        def validate(args: Any, report: Callable) -> None:
            if (types_t or prefixes_t) and not (
                args.resource_type in types_t or args.resource_type.startswith(prefixes_t)
            ):
                return
            cfg = {**_defaults(config), **to_plain(args.get_config() or {}, unknown="marker")}
            prov = getattr(args, "provider", None)
            ctx = Ctx(args.resource_type, args.name, args.urn, cfg, bool(getattr(args.opts, "protect", False)),
                      provider=to_plain(prov.props, unknown="marker") if prov is not None else {},
                      provider_type=prov.resource_type if prov is not None else "")
            try:
                for message in fn(to_plain(args.props), ctx):
                    report(message)
            except _proxy.UnknownValueError:
                raise  # pulumi-policy reports "can't run during preview" (advisory)
            except Exception as exc:  # noqa: BLE001 - fail closed with a diagnostic, never crash the preview
                report(f"{UNEVALUABLE}: {type(exc).__name__}: {exc}")

        return _declare(ResourceValidationPolicy, "resource", fn, validate, name=name, description=description,
                        remediation=remediation, types=types_t + prefixes_t, config=config, severity=severity,
                        level=level, checkov=checkov, cis=cis)

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
            props=to_plain(r.props, unknown="marker"),
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
    checkov: Sequence[str] = (),
    cis: Sequence[str] = (),
) -> Callable:
    """Register ``fn(resources, ctx) -> Iterable[(message, urn)]`` as a stack policy."""

    def deco(fn: Callable[[list[StackResource], Ctx], Iterable[tuple[str, Optional[str]]]]) -> Callable:
        def validate(args: Any, report: Callable) -> None:
            cfg = {**_defaults(config), **to_plain(args.get_config() or {}, unknown="marker")}
            try:
                for message, urn in fn(_stack_view(args.resources), Ctx("", "", "", cfg)):
                    report(message, urn)
            except Exception as exc:  # noqa: BLE001 - fail closed with a diagnostic, never crash the preview
                report(f"{UNEVALUABLE}: {type(exc).__name__}: {exc}", None)

        return _declare(StackValidationPolicy, "stack", fn, validate, name=name, description=description,
                        remediation=remediation, types=(), config=config, severity=severity, level=level,
                        checkov=checkov, cis=cis)

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
