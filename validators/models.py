"""Validate a plain object against published, generated API models, strictly.

Two generator styles are in use:

* pydantic v2 models (``kubeflow-trainer-api``, ``cloudcoil`` prometheus-operator
  models). Their ``model_config`` leaves ``extra`` at pydantic's default
  ("ignore"), so a misspelt or unknown field is silently dropped. We walk the
  object alongside the model fields and report every key that is not a field
  alias, then let the models' own constructors (``from_dict`` where the
  generator provides it, for its oneOf wrappers) check types and enums.
* classic openapi-generator models (``kubeflow-training`` and the
  ``kubernetes`` client models it embeds): ``openapi_types``/``attribute_map``
  describe each class; their deserializer also ignores unknown keys and
  coerces scalars, so we walk them the same way and type-check scalars.

Paths are reported the way ``kubectl explain`` spells them
(``spec.trainer.numNodes``, ``...containers[0].resources``).
"""

from __future__ import annotations

import datetime
import json
import re
import types
import typing
from typing import Any, Callable, Iterator, Optional

import pydantic

from validators.k8s_schemas import is_quantity, json_path

Error = tuple[str, str]  # (field path, message)


# --------------------------------------------------------------------------- pydantic models


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] and Annotated[...] layers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _is_wrapper(cls: type) -> bool:
    """oneOf wrappers (IntOrString, Quantity) and root models hold a scalar, not an object."""
    return "actual_instance" in cls.model_fields or issubclass(cls, pydantic.RootModel)


def _is_quantity_model(cls: type) -> bool:
    return cls.__name__.endswith("ResourceQuantity") or cls.__name__ == "Quantity"


def field_keys(cls: type) -> dict[str, Any]:
    """JSON key -> annotation for a pydantic model (aliases as Kubernetes spells them)."""
    out = {}
    for name, info in cls.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name)
        out[key] = info.annotation
    return out


def _pydantic_errors(exc: pydantic.ValidationError, prefix: str) -> list[Error]:
    out = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))]
        path = json_path(loc)
        msg = err.get("msg", "invalid")
        if "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f" (got {err['input']!r})"
        out.append((f"{prefix}.{path}" if prefix and path else prefix or path, msg))
    return out


def _walk_value(annotation: Any, value: Any, path: str) -> list[Error]:
    tp = _unwrap(annotation)
    origin = typing.get_origin(tp)
    if value is None:
        return []
    if _is_model(tp):
        if _is_wrapper(tp):
            if _is_quantity_model(tp) and not is_quantity(value):
                return [(path, f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 1.5Gi, 64Mi)")]
            return []
        if not isinstance(value, dict):
            return [(path, f"expected an object ({tp.__name__}), got {type(value).__name__}")]
        return walk_pydantic(tp, value, path, validate=False)
    if origin in (list, typing.List, set, typing.Set) and isinstance(value, list):
        (inner,) = typing.get_args(tp) or (Any,)
        return [e for i, v in enumerate(value) for e in _walk_value(inner, v, f"{path}[{i}]")]
    if origin in (dict, typing.Dict) and isinstance(value, dict):
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return [e for k, v in value.items() for e in _walk_value(inner, v, f"{path}.{k}")]
    return []  # scalars and free-form (Any) values: the model constructor checks them


def walk_pydantic(cls: type, data: dict, path: str = "", validate: bool = True) -> list[Error]:
    """Unknown keys anywhere below ``cls``, plus the models' own validation errors.

    Children are walked first; a level is validated by its own constructor only
    when its children are clean, so each error is reported once, at full path.
    """
    keys = field_keys(cls)
    errors: list[Error] = []
    for key, value in data.items():
        here = f"{path}.{key}" if path else key
        if key not in keys:
            known = ", ".join(sorted(k for k in keys if k not in ("status",)))
            errors.append((here, f"unknown field {key!r} ({cls.__name__} has: {known})"))
            continue
        errors += _walk_value(keys[key], value, here)
    if not errors and validate:
        errors += validate_level(cls, data, path)
    elif not errors:
        pass
    return errors


def validate_level(cls: type, data: dict, path: str) -> list[Error]:
    build: Callable[[dict], Any] = getattr(cls, "from_dict", None) or cls.model_validate
    try:
        build(data)
    except pydantic.ValidationError as exc:
        # from_dict builds nested models itself, so a nested error's loc is relative to the class that
        # raised it; find that class's path by re-validating children top-down.
        return _locate(cls, data, path) or _pydantic_errors(exc, path)
    except (ValueError, TypeError) as exc:
        return [(path, f"{type(exc).__name__}: {exc}")]
    return []


def _locate(cls: type, data: dict, path: str) -> list[Error]:
    """Depth-first: the deepest model whose own constructor fails, with its errors at full path."""
    keys = field_keys(cls)
    for key, value in data.items():
        if key not in keys or value is None:
            continue
        here = f"{path}.{key}" if path else key
        for sub_cls, sub_value, sub_path in _children(keys[key], value, here):
            found = _locate(sub_cls, sub_value, sub_path)
            if found:
                return found
    build = getattr(cls, "from_dict", None) or cls.model_validate
    try:
        build(data)
    except pydantic.ValidationError as exc:
        return _pydantic_errors(exc, path)
    except (ValueError, TypeError) as exc:
        return [(path, f"{type(exc).__name__}: {exc}")]
    return []


def _children(annotation: Any, value: Any, path: str) -> Iterator[tuple[type, dict, str]]:
    tp = _unwrap(annotation)
    origin = typing.get_origin(tp)
    if _is_model(tp) and not _is_wrapper(tp) and isinstance(value, dict):
        yield tp, value, path
    elif origin in (list, typing.List) and isinstance(value, list):
        (inner,) = typing.get_args(tp) or (Any,)
        for i, v in enumerate(value):
            yield from _children(inner, v, f"{path}[{i}]")
    elif origin in (dict, typing.Dict) and isinstance(value, dict):
        args = typing.get_args(tp)
        for k, v in value.items():
            yield from _children(args[1] if len(args) == 2 else Any, v, f"{path}.{k}")


# --------------------------------------------------------------------------- classic openapi models


_LIST_RE = re.compile(r"^list\[(.*)\]$")
_DICT_RE = re.compile(r"^dict\(([^,]*), (.*)\)$")
_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: True,
    "datetime": lambda v: isinstance(v, (str, datetime.datetime)),
    "date": lambda v: isinstance(v, (str, datetime.date)),
}


def walk_openapi(resolve: Callable[[str], Optional[type]], type_name: str, value: Any, path: str = "") -> list[Error]:
    """Unknown keys and scalar type errors for a classic openapi-generator model tree."""
    if value is None:
        return []
    m = _LIST_RE.match(type_name)
    if m:
        if not isinstance(value, list):
            return [(path, f"expected a list, got {type(value).__name__}")]
        return [e for i, v in enumerate(value) for e in walk_openapi(resolve, m.group(1), v, f"{path}[{i}]")]
    m = _DICT_RE.match(type_name)
    if m:
        if not isinstance(value, dict):
            return [(path, f"expected a map, got {type(value).__name__}")]
        return [e for k, v in value.items() for e in walk_openapi(resolve, m.group(2), v, f"{path}.{k}")]
    if type_name in _PRIMITIVES:
        ok = _PRIMITIVES[type_name](value)
        return [] if ok else [(path, f"expected {type_name}, got {type(value).__name__} {value!r}")]
    cls = resolve(type_name)
    if cls is None:
        return [(path, f"model class {type_name} not found (cannot check this field)")]
    if not isinstance(value, dict):
        return [(path, f"expected an object ({type_name}), got {type(value).__name__}")]
    by_key = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    errors: list[Error] = []
    for key, v in value.items():
        here = f"{path}.{key}" if path else key
        if key not in by_key:
            known = ", ".join(sorted(k for k in by_key if k != "status"))
            errors.append((here, f"unknown field {key!r} ({type_name} has: {known})"))
            continue
        errors += walk_openapi(resolve, cls.openapi_types[by_key[key]], v, here)
    return errors


class _Response:
    """The minimal response object classic ``ApiClient.deserialize`` reads."""

    def __init__(self, data: Any) -> None:
        self.data = json.dumps(data)
