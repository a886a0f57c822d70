"""Typed mapping from a Python dict to Pulumi stack config.

How values map (``to_config_entries``):

* **Keys.** A key without a namespace gets the project's (``azCount`` ->
  ``mlplatform:azCount``); a key with one is kept (``aws:region``).
* **Scalars.** ``str`` as is; ``bool`` -> ``"true"``/``"false"``; ``int`` and
  ``float`` -> their decimal text. Pulumi hands every top-level value to the
  program as a string and ``components/config.py`` parses it back, so this is
  lossless. ``None`` is refused (remove the key instead).
* **Structured values** (``dict``, ``list``, ``tuple``), two styles:

  - ``structured="json"`` (default): the whole value is stored as one JSON
    string. ``pulumi.Config.get_object`` (and ``components/config.py``) decode
    it with every type intact (a quantity ``"8"`` stays a string). Setting the
    key replaces the previous value entirely, so a removed map entry really
    disappears.
  - ``structured="path"``: one ``pulumi config set --path`` per leaf
    (``mlplatform:teams.research.cpu``; list items as ``[0]``; keys with dots,
    brackets, quotes or only digits as ``["nvidia.com/gpu"]``), which keeps the
    stack file readable YAML. With ``--path`` the CLI turns ``"true"``,
    ``"false"`` and integer-looking strings into booleans and integers, and it
    cannot write an empty map or list or keep a float a float; a top-level key
    whose value would be changed that way is written as JSON instead, so the
    program always reads back exactly what was given. The caller
    (``PlatformStack.set_config``) removes the old top-level key first, so
    entries never linger.

* **Secrets.** Wrap a value in :class:`Secret` (anywhere in a structure), or
  list its key in ``secret_keys`` (the platform passes the keys its schema marks
  secret, e.g. ``grafanaAdminPassword``, so they are encrypted even if passed
  plain). In path style only the wrapped leaf is encrypted; in JSON style (and
  on the JSON fallback) the whole top-level key is: Pulumi tracks secrecy per
  stored value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from .errors import ConfigMappingError

Structured = Literal["json", "path"]

_PLAIN_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-/]*$")
# What `pulumi config set --path` would turn into a bool or an int (Go's strconv.Atoi; "0..." stays a string).
_COERCED_BY_PATH = re.compile(r"^(true|false|[+-]?(0|[1-9][0-9]*))$")


@dataclass(frozen=True)
class Secret:
    """Marks a value (scalar or structure) to be stored encrypted."""

    value: Any

    def __repr__(self) -> str:  # never print the wrapped value
        return "Secret([secret])"


@dataclass(frozen=True)
class ConfigEntry:
    """One ``pulumi config set`` the mapping asks for."""

    key: str  # fully qualified, e.g. "mlplatform:teams" or, with path=True, "mlplatform:teams.research.cpu"
    value: str
    secret: bool
    path: bool

    @property
    def top_level_key(self) -> str:
        return top_level_key(self.key) if self.path else self.key

    def __repr__(self) -> str:
        shown = "[secret]" if self.secret else repr(self.value)
        return f"ConfigEntry({self.key!r}, {shown}, secret={self.secret}, path={self.path})"


def qualify(key: str, project: str) -> str:
    """``azCount`` -> ``mlplatform:azCount``; ``aws:region`` unchanged."""
    if not isinstance(key, str) or not key.strip():
        raise ConfigMappingError(f"config keys must be non-empty strings; got {key!r}")
    if ":" in key:
        namespace, _, name = key.partition(":")
        if not namespace or not name:
            raise ConfigMappingError(f"config key {key!r} must look like namespace:name")
        return key
    return f"{project}:{key}"


def top_level_key(path_key: str) -> str:
    """``mlplatform:teams.research.cpu`` -> ``mlplatform:teams``."""
    namespace, _, rest = path_key.partition(":")
    cut = min([i for i in (rest.find("."), rest.find("[")) if i >= 0], default=len(rest))
    return f"{namespace}:{rest[:cut]}"


def _contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_secret(v) for v in value)
    return False


def _plain(value: Any, where: str) -> Any:
    """The JSON-able form of ``value`` with Secret markers removed."""
    if isinstance(value, Secret):
        return _plain(value.value, where)
    if value is None:
        raise ConfigMappingError(f"config {where} is None: remove the key instead of setting it to None")
    if isinstance(value, bool) or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigMappingError(f"config {where} must be a finite number; got {value}")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigMappingError(f"config {where} has a non-string key {k!r}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ConfigMappingError(f"config {where} has unsupported type {type(value).__name__}")


def scalar_text(value: Any, where: str = "value") -> str:
    """The text Pulumi stores for a scalar."""
    value = _plain(value, where)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    raise ConfigMappingError(f"config {where} is not a scalar")


def path_segment(key: str) -> str:
    """One map key in Pulumi's property-path syntax."""
    if _PLAIN_SEGMENT.match(key):
        return f".{key}"
    if '"]' in key:
        raise ConfigMappingError(f"map key {key!r} cannot be written as a Pulumi config path")
    return f'["{key}"]'


def _path_leaves(value: Any, prefix: str, secret: bool) -> list[tuple[str, Any, bool]] | None:
    """(path, leaf, secret) for every leaf, or None if path style cannot represent ``value`` faithfully."""
    if isinstance(value, Secret):
        return _path_leaves(value.value, prefix, True)
    if isinstance(value, Mapping):
        if not value:
            return None
        out: list[tuple[str, Any, bool]] = []
        for k, v in value.items():
            leaves = _path_leaves(v, prefix + path_segment(k), secret)
            if leaves is None:
                return None
            out += leaves
        return out
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        out = []
        for i, v in enumerate(value):
            leaves = _path_leaves(v, f"{prefix}[{i}]", secret)
            if leaves is None:
                return None
            out += leaves
        return out
    if isinstance(value, float):
        return None  # --path would store it back as a string
    if isinstance(value, str) and _COERCED_BY_PATH.match(value):
        return None  # --path would turn it into a bool or an int
    return [(prefix, value, secret)]


def to_config_entries(
    values: Mapping[str, Any],
    *,
    project: str = "mlplatform",
    structured: Structured = "json",
    secret_keys: Iterable[str] = (),
) -> tuple[ConfigEntry, ...]:
    """Turn ``values`` into the ``pulumi config set`` calls that store them (see the module docstring)."""
    if structured not in ("json", "path"):
        raise ConfigMappingError(f"structured must be 'json' or 'path'; got {structured!r}")
    forced = {qualify(k, project) for k in secret_keys}
    entries: list[ConfigEntry] = []
    for raw_key, value in values.items():
        key = qualify(raw_key, project)
        force_secret = key in forced
        inner = value.value if isinstance(value, Secret) else value
        if not isinstance(inner, (Mapping, list, tuple)):
            entries.append(ConfigEntry(key, scalar_text(value, key), force_secret or isinstance(value, Secret), False))
            continue
        plain = _plain(value, key)  # validates the whole structure first
        leaves = _path_leaves(value, key, force_secret) if structured == "path" else None
        if leaves is None:
            text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
            entries.append(ConfigEntry(key, text, force_secret or _contains_secret(value), False))
            continue
        entries += [ConfigEntry(p, scalar_text(leaf, p), s, True) for p, leaf, s in leaves]
    return tuple(entries)
