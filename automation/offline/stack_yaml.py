"""Read Pulumi stack files the way the Pulumi CLI does, so an offline plan sees the values ``pulumi up`` sees.

The CLI (``sdk/go/common/encoding``, Pulumi 3.2xx) decodes ``Pulumi.<stack>.yaml`` with Go's
``gopkg.in/yaml.v3`` into untyped values, then turns each config value into the string a program
receives (``sdk/go/common/resource/config``). That is neither PyYAML's YAML 1.1 (``yes``/``on`` booleans,
``6:05`` base-60) nor a strict YAML 1.2 core schema. This module parses with ruamel.yaml (a YAML 1.2
parser, pinned in requirements.txt) and resolves plain scalars with yaml.v3's rules:

* booleans are only ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE`` (``yes``, ``on``, ``y``
  stay strings);
* integers follow Go's ``strconv.ParseInt(s, 0, 64)`` after removing ``_``: ``0x1F``, ``0o17``, ``0b101``
  and, kept by yaml.v3 for compatibility, a leading ``0`` meaning octal (``036`` is 30); beyond int64
  they become uint64, then float;
* no base-60 numbers (``6:05`` is the string ``"6:05"``);
* unquoted dates and times become timestamps, which the CLI passes to the program as Go's
  ``time.Time.String()`` (``2024-01-01`` -> ``"2024-01-01 00:00:00 +0000 UTC"``); the program's config
  validation refuses that form and asks for quotes;
* ``!!binary`` is base64-decoded into text; other unknown tags keep the scalar's text;
* merge keys (``<<: *anchor``) are applied in document order, as yaml.v3 does (a key written *before*
  the merge key is overwritten by it; YAML's spec would keep it);
* duplicate keys in one mapping are refused, with both lines;
* a top-level config value that is null becomes ``""`` (the CLI warns and does the same); nulls inside
  structured values stay null; non-string keys inside structured values become their text, null keys
  and collection keys are refused.

Everything a user can write either reads as the CLI reads it or raises :class:`StackYamlError` naming
the file and line.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

#: Tag given to plain (unquoted, untagged) scalars so we can resolve them with yaml.v3's rules.
_PLAIN = "tag:mlplatform.offline,2026:plain"
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _BINARY, _MERGE = (
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary", "merge")
)
#: yaml.v3 refuses documents whose alias expansion dwarfs their size; we cap the values built instead.
MAX_VALUES = 1_000_000


class StackYamlError(ValueError):
    """A stack file cannot be read; ``str()`` is one line naming the file (and line)."""


class _PlainResolver(VersionedResolver):
    """Leaves plain scalars unresolved (tagged :data:`_PLAIN`); explicit tags and quoting are kept."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return Tag(suffix=_PLAIN)
        return super().resolve(kind, value, implicit)


_SPECIAL = {
    **{s: None for s in ("", "~", "null", "Null", "NULL")},
    **{s: True for s in ("true", "True", "TRUE")},
    **{s: False for s in ("false", "False", "FALSE")},
    **{s: math.nan for s in (".nan", ".NaN", ".NAN")},
    **{s: math.inf for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{s: -math.inf for s in ("-.inf", "-.Inf", "-.INF")},
}
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_TIMESTAMP_RES = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?()"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})()()()()()"),
)
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class GoTimestamp(str):
    """A timestamp as the CLI hands it to a program: Go's ``time.Time.String()``."""


def _go_int(text: str) -> Optional[int]:
    """``strconv.ParseInt(text, 0, 64)``, then ``ParseUint``; None when neither accepts it."""
    m = _GO_INT.fullmatch(text)
    if not m:
        return None
    sign, digits = m.groups()
    low = digits.lower()
    if low.startswith("0x"):
        value = int(low[2:], 16)
    elif low.startswith("0o"):
        value = int(low[2:], 8)
    elif low.startswith("0b"):
        value = int(low[2:], 2)
    else:
        value = int(digits, 8) if len(digits) > 1 and digits.startswith("0") else int(digits)
    value = -value if sign == "-" else value
    if _INT64[0] <= value <= _INT64[1] or (not sign and 0 <= value <= _UINT64_MAX):
        return value
    return None


def _timestamp(text: str) -> Optional[GoTimestamp]:
    for rx in _TIMESTAMP_RES:
        m = rx.fullmatch(text)
        if not m:
            continue
        y, mo, d, h, mi, s, frac, zone = m.groups()
        try:
            when = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        except ValueError:
            return None
        nanos = (frac or ".").ljust(10, "0")[1:10].rstrip("0")
        if zone in ("Z", "", None):
            offset = "+0000 UTC"
        else:
            hhmm = zone.replace(":", "")
            offset = f"{hhmm} {hhmm}"
        return GoTimestamp(f"{when:%Y-%m-%d %H:%M:%S}{'.' + nanos if nanos else ''} {offset}")
    return None


def resolve_plain(text: str) -> Any:
    """A plain scalar's value under yaml.v3's rules (see the module docstring)."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    first = text[:1]
    if first == ".":
        try:
            value = float(text)
        except ValueError:
            return text
        return value if math.isfinite(value) else text
    if not (first.isdigit() or first in "+-"):
        return text
    if len(text) >= 5 and text[:4].isdigit() and text[4] == "-":
        ts = _timestamp(text)
        if ts is not None:
            return ts
    plain = text.replace("_", "")
    value = _go_int(plain)
    if value is not None:
        return value
    if _YAML_FLOAT.fullmatch(plain):
        number = float(plain)
        if math.isfinite(number):
            return number
    return text


def _where(path: Path, node: Node) -> str:
    return f"{path.name} line {node.start_mark.line + 1}"


def _go_float_text(f: float) -> str:
    """Go's ``%v`` for a float64 (how a float map key becomes text)."""
    if f.is_integer() and abs(f) < 1e6:
        return str(int(f))
    d = Decimal(repr(f))
    exp = d.adjusted()
    if -4 <= exp < 6:
        return format(d, "f")
    digits = d.as_tuple().digits
    mant = str(digits[0]) + ("." + "".join(map(str, digits[1:])).rstrip("0") if len(digits) > 1 else "")
    mant = mant.rstrip(".")
    return f"{'-' if f < 0 else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.active: set[int] = set()

    def fail(self, node: Node, reason: str) -> StackYamlError:
        return StackYamlError(f"{_where(self.path, node)}: {reason}")

    def scalar(self, node: ScalarNode) -> Any:
        tag = str(node.tag)
        text = node.value
        if tag == _PLAIN:
            value = resolve_plain(text)
        elif tag == _BINARY:
            try:
                data = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
            except (binascii.Error, ValueError):
                raise self.fail(node, "!!binary value holds invalid base64 data") from None
            value = data.decode("utf-8", errors="replace")
        elif tag in (_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
            value = resolve_plain(text)
            kinds = {_INT: (int,), _FLOAT: (int, float), _BOOL: (bool,), _NULL: (type(None),),
                     _TIMESTAMP: (GoTimestamp,)}[tag]
            if isinstance(value, bool) and tag != _BOOL or not isinstance(value, kinds):
                raise self.fail(node, f"cannot read {text!r} as {tag.rsplit(':', 1)[-1]}")
            if tag == _FLOAT:
                value = float(value)
        else:
            value = text  # quoted, !!str, or a tag yaml.v3 does not resolve: the text as written
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{text} is not a number a stack config can hold (the CLI cannot encode it)")
        return value

    def build(self, node: Node) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(node, "the document expands to too many values (excessive aliasing)")
        if id(node) in self.active:
            raise self.fail(node, "an anchor's value contains an alias to itself")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(n) for n in node.value]
            if isinstance(node, MappingNode):
                return self.mapping(node)
        finally:
            self.active.discard(id(node))
        raise self.fail(node, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def key_text(self, key_node: Node) -> str:
        if not isinstance(key_node, ScalarNode):
            raise self.fail(key_node, "a map key must be a plain value, not a list or a map")
        key = self.scalar(key_node)
        if key is None:
            raise self.fail(key_node, "a map key is empty (null); quote it or give it a name")
        if isinstance(key, bool):
            return "true" if key else "false"
        if isinstance(key, float):
            return _go_float_text(key)
        return str(key)

    def merge_into(self, out: dict, value_node: Node) -> None:
        if isinstance(value_node, MappingNode):
            out.update(self.build(value_node))
        elif isinstance(value_node, SequenceNode) and all(isinstance(n, MappingNode) for n in value_node.value):
            for n in reversed(value_node.value):  # earlier maps take precedence
                out.update(self.build(n))
        else:
            raise self.fail(value_node, "a merge key (<<) needs a map or a list of maps")

    def mapping(self, node: MappingNode) -> dict:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and not self.is_merge(key_node):
                raw = ("scalar", key_node.value)  # yaml.v3 compares the key's text as written
                if raw in seen:
                    raise self.fail(key_node, f"duplicate key {key_node.value!r} (first at line {seen[raw]})")
                seen[raw] = key_node.start_mark.line + 1
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if self.is_merge(key_node):
                self.merge_into(out, value_node)
                continue
            out[self.key_text(key_node)] = self.build(value_node)
        return out

    @staticmethod
    def is_merge(node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.value == "<<" and str(node.tag) in (_PLAIN, _MERGE)


def _parser() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Resolver = _PlainResolver
    yaml.allow_duplicate_keys = True  # reported by us, with both lines
    return yaml


def load(path: Path) -> Any:
    """The first YAML document in ``path`` as the CLI reads it (None for an empty file)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StackYamlError(f"{path} does not exist") from None
    except OSError as exc:
        raise StackYamlError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StackYamlError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    return loads(text, path)


def loads(text: str, path: Path = Path("<config>")) -> Any:
    try:
        docs = _parser().compose_all(text)
        node = next(iter(docs), None)
        if node is None:
            return None
        return _Builder(path).build(node)
    except StackYamlError:
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise StackYamlError(f"{path.name}{line}: not valid YAML: {what}") from None
    except YAMLError as exc:
        raise StackYamlError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    except RecursionError:
        raise StackYamlError(f"{path.name}: not valid YAML: nested too deeply") from None


def go_float_text(f: float) -> str:
    """The text Pulumi stores for a top-level float (Go's ``encoding/json``)."""
    if f.is_integer() and abs(f) < 1e21:
        return str(int(f))
    if 1e-6 <= abs(f) < 1e21:
        return format(Decimal(repr(f)), "f")
    text = repr(f).replace("e-0", "e-")
    return text


def _json_ready(value: Any) -> Any:
    """Floats the way Go's JSON writes them (an integral float is an integer), maps with sorted keys."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(value[k]) for k in sorted(value)}
    return value


def config_string(value: Any) -> str:
    """The string the CLI hands a program for a config value read from a stack file."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_text(value)
    return json.dumps(_json_ready(value), separators=(",", ":"), ensure_ascii=False)
