"""A custom resource checked against its CRD's ``openAPIV3Schema`` the way the API server does.

In the order of apiextensions-apiserver's create path:

1. **Unknown fields** (strict field validation, what ``kubectl apply
   --validate=strict`` and server-side apply with ``fieldValidation=Strict``
   return instead of silently pruning): a field the schema does not declare is
   an error, except under ``x-kubernetes-preserve-unknown-fields`` or an
   ``additionalProperties`` schema. ``apiVersion``/``kind``/``metadata`` are
   implicit at the root and in ``x-kubernetes-embedded-resource`` objects.
2. **Defaults**: every ``default`` is applied where its field is missing and its
   parent exists, recursively (defaults inside defaults too); ``null`` values
   of non-``nullable`` fields are dropped first.
3. **Validation** of the defaulted object: ``type`` (``number`` admits
   integers; ``x-kubernetes-int-or-string``), ``nullable``, ``enum``,
   ``required``, ``pattern``, ``format`` (``date-time``, ``uuid``, ``ipv4``,
   ``ipv6``, ``cidr``, ``hostname``, ``byte``; the formats the API server
   ignores, such as ``int32``, are ignored), string/array/map length limits,
   numeric bounds, ``multipleOf``, ``allOf``/``anyOf``/``oneOf``/``not``,
   ``x-kubernetes-list-type`` ``set``/``map`` uniqueness.
4. **CEL rules** (``x-kubernetes-validations``), evaluated with
   :mod:`validators.k8s_cel` on every node the object has, once its value is
   schema-valid (the API server also skips CEL under a type error). Transition
   rules (``oldSelf``) are skipped on create and counted.

Not modelled: CEL cost limits, ``messageExpression`` (the static ``message`` is
reported), ratcheting on update (we only create).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

import celpy

from validators import k8s_cel

Error = tuple[str, str]


@dataclass
class Result:
    """What validating one object found."""

    errors: list[Error] = field(default_factory=list)
    defaulted: Any = None
    rules_evaluated: int = 0
    #: (path, rule, why) for rules not evaluated (transition rules, rules we cannot compile)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


_IMPLICIT = ("apiVersion", "kind", "metadata")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --------------------------------------------------------------------------- 1. unknown fields


def unknown_fields(value: Any, schema: dict, path: str, out: list[Error], root: bool = False) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        embedded = schema.get("x-kubernetes-embedded-resource") or root
        for key, sub in value.items():
            where = _join(path, key)
            if root and key == "metadata":
                continue  # ObjectMeta: validated against the core schema, not the CRD's
            if key in props:
                unknown_fields(sub, props[key], where, out)
            elif isinstance(addl, dict):
                unknown_fields(sub, addl, where, out)
            elif addl is True or preserve:
                continue
            elif embedded and key in _IMPLICIT:
                continue
            else:
                out.append((where, f'unknown field "{where}"'))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            unknown_fields(item, schema["items"], _join(path, i), out)


# --------------------------------------------------------------------------- 2. defaults


def apply_defaults(value: Any, schema: dict) -> Any:
    """A copy of ``value`` with the schema's defaults applied (value is not changed)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        out = {}
        for key, sub in value.items():
            child = props.get(key)
            if child is None and isinstance(schema.get("additionalProperties"), dict):
                child = schema["additionalProperties"]
            if sub is None and child is not None and not child.get("nullable"):
                continue  # nulls of non-nullable fields are pruned before defaulting
            out[key] = apply_defaults(sub, child) if child is not None else sub
        for key, sub in props.items():
            if key not in out and "default" in sub:
                out[key] = apply_defaults(copy.deepcopy(sub["default"]), sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


# --------------------------------------------------------------------------- 3. value validation


def _type_ok(value: Any, schema: dict) -> Optional[str]:
    if value is None:
        return None if schema.get("nullable") else "must not be null"
    if schema.get("x-kubernetes-int-or-string"):
        return None if _is_int(value) or isinstance(value, str) else "must be an integer or a string"
    t = schema.get("type")
    if not t:
        return None
    ok = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": _is_int(value) or (isinstance(value, float) and value.is_integer()),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }.get(t, True)
    return None if ok else f"must be of type {t}"


def _format_ok(value: str, fmt: str) -> bool:
    try:
        if fmt == "date-time":
            return k8s_cel._is_datetime(value)
        if fmt == "date":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "ipv4":
            ipaddress.IPv4Address(value)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(value)
        elif fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
            return "/" in value
        elif fmt == "hostname":
            return not k8s_cel.dns1123_subdomain(value.lower())
        elif fmt == "byte":
            base64.b64decode(value, validate=True)
        return True
    except ValueError:
        return False


@lru_cache(maxsize=2048)
def _regex(pattern: str) -> Any:
    return re.compile(pattern)


def _quote(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def validate_value(value: Any, schema: dict, path: str, out: list[Error]) -> None:
    """Every value validation below ``schema`` (no CEL): appends (path, message)."""
    if not isinstance(schema, dict):
        return
    why = _type_ok(value, schema)
    if why:
        out.append((path, f"Invalid value: {_short(value)}: {why}"))
        return
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_quote(e) for e in schema["enum"])
        out.append((path, f"Unsupported value: {_quote(value)}: supported values: {supported}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append((path, f"Too long: may not be more than {schema['maxLength']} bytes"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append((path, f"Invalid value: {_quote(value)}: should be at least {schema['minLength']} chars long"))
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            out.append((path, f"Invalid value: {_quote(value)}: should match '{schema['pattern']}'"))
        if "format" in schema and not _format_ok(value, schema["format"]):
            out.append((path, f"Invalid value: {_quote(value)}: must be a valid {schema['format']}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and (value < lo or (schema.get("exclusiveMinimum") is True and value == lo)):
            out.append((path, f"Invalid value: {value}: should be greater than or equal to {lo}"))
        if hi is not None and (value > hi or (schema.get("exclusiveMaximum") is True and value == hi)):
            out.append((path, f"Invalid value: {value}: should be less than or equal to {hi}"))
        if schema.get("multipleOf") and (value / schema["multipleOf"]) % 1:
            out.append((path, f"Invalid value: {value}: should be a multiple of {schema['multipleOf']}"))
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append((path, f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append((path, f"Invalid value: {len(value)}: should have at least {schema['minItems']} items"))
        _list_type(value, schema, path, out)
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                validate_value(item, schema["items"], _join(path, i), out)
    if isinstance(value, dict):
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            out.append((path, f"Too many: {len(value)}: must have at most {schema['maxProperties']} items"))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.append((path, f"Invalid value: {len(value)}: should have at least {schema['minProperties']} properties"))
        for req in schema.get("required") or []:
            if req not in value:
                out.append((_join(path, req), "Required value"))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for key, sub in value.items():
            child = props.get(key) or (addl if isinstance(addl, dict) else None)
            if child is not None:
                validate_value(sub, child, _join(path, key), out)
    for sub in schema.get("allOf") or []:
        validate_value(value, sub, path, out)
    if schema.get("anyOf"):
        if not any(not _errors(value, s, path) for s in schema["anyOf"]):
            out.append((path, f"Invalid value: {_short(value)}: must validate at least one schema (anyOf)"))
    if schema.get("oneOf"):
        n = sum(1 for s in schema["oneOf"] if not _errors(value, s, path))
        if n != 1:
            out.append((path, f"Invalid value: {_short(value)}: must validate one and only one schema (oneOf)"))
    if isinstance(schema.get("not"), dict) and not _errors(value, schema["not"], path):
        out.append((path, f"Invalid value: {_short(value)}: must not validate the schema (not)"))


def _errors(value: Any, schema: dict, path: str) -> list[Error]:
    out: list[Error] = []
    # In value validations (anyOf/oneOf/not) a type is only checked when the sub-schema names one.
    validate_value(value, schema, path, out)
    return out


def _list_type(value: list, schema: dict, path: str, out: list[Error]) -> None:
    lt = schema.get("x-kubernetes-list-type")
    if lt == "set":
        seen = []
        for i, item in enumerate(value):
            if item in seen:
                out.append((_join(path, i), f"Duplicate value: {_short(item)}"))
            seen.append(item)
    elif lt == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        item_props = (schema.get("items") or {}).get("properties") or {}
        seen = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            k = tuple(item.get(key, item_props.get(key, {}).get("default")) for key in keys)
            if k in seen:
                desc = ", ".join(f"{key}={_quote(v)}" for key, v in zip(keys, k))
                out.append((_join(path, i), f"Duplicate value: map[{desc}]"))
            seen.append(k)


def _short(value: Any) -> str:
    text = _quote(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) < 80 else text[:77] + "..."


# --------------------------------------------------------------------------- 4. CEL


def cel_rules(value: Any, schema: dict, path: str, result: Result) -> None:
    if not isinstance(schema, dict) or value is None:
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule["rule"]
        where = path
        if rule.get("fieldPath"):
            where = path + rule["fieldPath"] if rule["fieldPath"].startswith((".", "[")) else _join(path, rule["fieldPath"])
        if k8s_cel.is_transition_rule(text):
            result.skipped.append((path, text, "transition rule (oldSelf): evaluated by the API server on update only"))
            continue
        result.rules_evaluated += 1
        try:
            ok = k8s_cel.evaluate(text, value)
        except k8s_cel.RuleError as exc:
            result.skipped.append((path, text, str(exc)))
            continue
        except celpy.CELEvalError as exc:
            cause = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else ""
            why = f"{exc.args[0]} ({cause})" if cause else str(exc.args[0])
            result.errors.append((where, f"Invalid value: rule {text!r} failed to evaluate: {why}"))
            continue
        except Exception as exc:  # noqa: BLE001 - a library function rejecting its input
            result.errors.append((where, f"Invalid value: rule {text!r} failed to evaluate: {exc}"))
            continue
        if not ok:
            message = rule.get("message") or f"failed rule: {text}"
            result.errors.append((where, f"Invalid value: {message}"))
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for key, sub in value.items():
            child = props.get(key) or (addl if isinstance(addl, dict) else None)
            if child is not None:
                cel_rules(sub, child, _join(path, key), result)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            cel_rules(item, schema["items"], _join(path, i), result)


# --------------------------------------------------------------------------- all together


def validate(obj: dict, schema: dict) -> Result:
    """Strict unknown-field check, defaults, value validation and CEL on one object (root schema)."""
    result = Result()
    unknown_fields(obj, schema, "", result.errors, root=True)
    body = {k: v for k, v in obj.items() if k != "metadata"}  # ObjectMeta is validated on its own
    defaulted = apply_defaults(body, schema)
    if "metadata" in obj:
        defaulted["metadata"] = obj["metadata"]
    schema_errors: list[Error] = []
    root_schema = {k: v for k, v in schema.items() if k != "properties"} | {
        "properties": {k: v for k, v in (schema.get("properties") or {}).items() if k != "metadata"}}
    validate_value(defaulted, root_schema, "", schema_errors)
    result.errors += schema_errors
    if not schema_errors:
        cel_rules(defaulted, schema, "", result)
    result.defaulted = defaulted
    return result
