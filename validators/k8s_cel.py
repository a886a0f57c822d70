"""CEL as the Kubernetes API server evaluates ``x-kubernetes-validations`` rules.

``cel-python`` (PyPI) evaluates standard CEL: macros (``has``, ``all``,
``exists``, ``exists_one``, ``map``, ``filter``), ``size``, ``matches``,
``startsWith``/``endsWith``/``contains``, conversions. Kubernetes adds library
functions to its CEL environment (k8s.io/apiserver/pkg/cel/library and the
cel-go strings extension); the ones below are added here so rules using them
are evaluated rather than skipped:

* strings extension: ``charAt``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``,
  ``upperAscii``, ``replace``, ``split``, ``substring``, ``trim``, ``join``;
* regex: ``find``, ``findAll``;
* lists: ``isSorted``, ``sum``, ``min``, ``max``, ``indexOf``, ``lastIndexOf``;
* URLs: ``isURL``, ``url(...)`` with ``getScheme``/``getHost``/``getHostname``/
  ``getPort``/``getEscapedPath``/``getQuery``;
* quantities: ``isQuantity``, ``quantity(...)`` with ``isInteger``,
  ``asInteger``, ``asApproximateFloat``, ``sign``, ``add``, ``sub``,
  ``isGreaterThan``, ``isLessThan``, ``compareTo``;
* IPs and CIDRs: ``isIP``, ``ip(...)``, ``isCIDR``, ``cidr(...)`` and their
  ``family``/``isLoopback``/``containsIP``/``prefixLength`` accessors;
* ``format.<name>().validate(value)`` for the named formats
  (``dns1123Label``, ``dns1123Subdomain``, ``qualifiedName``, ``labelValue``,
  ``uuid``, ``uri``, ...).

Rules that name ``oldSelf`` are transition rules: the API server evaluates them
only on update, so they are skipped on create (each skip is counted and
reported as a note). A rule whose text cannot be compiled here is reported as a
skip with the reason, never silently passed.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import urllib.parse
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

import celpy
from celpy import celtypes

S = celtypes.StringType
B = celtypes.BoolType
I = celtypes.IntType  # noqa: E741
D = celtypes.DoubleType

# --------------------------------------------------------------------------- quantities (resource.Quantity)

_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_SUFFIX = {"": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(10) ** 3,
           "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
           "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
           "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60}


def parse_quantity(text: str) -> Optional[Decimal]:
    """The value of a Kubernetes quantity string, or None when it is not one."""
    m = _QUANTITY.match(str(text).strip())
    if not m:
        return None
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        return None
    suffix = m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * _SUFFIX[suffix]


class Quantity:
    """A CEL ``Quantity`` value."""

    def __init__(self, value: Decimal):
        self.value = value

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def _quantity(text: Any) -> Quantity:
    q = parse_quantity(str(text))
    if q is None:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    return Quantity(q)


# --------------------------------------------------------------------------- named formats (k8s format library)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dns1123_label(v: str) -> list[str]:
    out = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(v):
        out.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                   "start and end with an alphanumeric character")
    return out


def dns1123_subdomain(v: str) -> list[str]:
    out = []
    if len(v) > 253:
        out.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(v):
        out.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                   "and must start and end with an alphanumeric character")
    return out


def qualified_name(v: str) -> list[str]:
    """k8s.io/apimachinery/pkg/util/validation IsQualifiedName (label keys)."""
    prefix, _, name = v.rpartition("/") if "/" in v else ("", "", v)
    out = []
    if v.count("/") > 1:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS "
                "subdomain prefix and '/'"]
    if "/" in v:
        if not prefix:
            out.append("prefix part must be non-empty")
        else:
            out += [f"prefix part {m}" for m in dns1123_subdomain(prefix)]
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        out.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                   "an alphanumeric character")
    return out


def label_value(v: str) -> list[str]:
    out = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(v):
        out.append("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character")
    return out


def _is_uuid(v: str) -> list[str]:
    try:
        uuid.UUID(v)
        return []
    except ValueError:
        return ["does not match the UUID format"]


def _is_uri(v: str) -> list[str]:
    return [] if _is_url(v) else ["must be a URI"]


FORMATS = {
    "dns1123Label": dns1123_label,
    "dns1123Subdomain": dns1123_subdomain,
    "dns1035Label": lambda v: [] if len(v) <= 63 and _DNS1035_LABEL.match(v) else ["must be a DNS-1035 label"],
    "qualifiedName": qualified_name,
    "dns1123LabelPrefix": lambda v: dns1123_label(v.rstrip("-")) if v else [],
    "dns1123SubdomainPrefix": lambda v: dns1123_subdomain(v.rstrip("-.")) if v else [],
    "labelValue": label_value,
    "cIdentifier": lambda v: [] if _C_IDENTIFIER.match(v) else ["must be a C identifier"],
    "uri": _is_uri,
    "uuid": _is_uuid,
    "byte": lambda v: [] if re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", v) and len(v) % 4 == 0 else ["must be base64"],
    "date": lambda v: [] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) else ["must be a date (YYYY-MM-DD)"],
    "datetime": lambda v: [] if _is_datetime(v) else ["must be an RFC 3339 date-time"],
}


class Format:
    def __init__(self, name: str):
        self.name = name


def _is_datetime(v: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", v))


# --------------------------------------------------------------------------- URLs, IPs


def _is_url(v: str) -> bool:
    try:
        u = urllib.parse.urlsplit(str(v))
    except ValueError:
        return False
    # Go's url.ParseRequestURI: absolute URL or absolute path, no fragment-only values.
    return bool((u.scheme and (u.netloc or u.path)) or str(v).startswith("/"))


class Url:
    def __init__(self, text: str):
        if not _is_url(text):
            raise ValueError(f"URL parse error during conversion from string: {text}")
        self.parts = urllib.parse.urlsplit(text)


def _ip(text: Any) -> Any:
    s = str(text)
    if "%" in s:
        raise ValueError("IP address with zone value is not allowed")
    return ipaddress.ip_address(s)


def _is_ip(text: Any) -> bool:
    try:
        _ip(text)
        return True
    except ValueError:
        return False


def _cidr(text: Any) -> Any:
    return ipaddress.ip_network(str(text), strict=False)


def _is_cidr(text: Any) -> bool:
    try:
        _cidr(text)
        return "/" in str(text)
    except ValueError:
        return False


# --------------------------------------------------------------------------- function table


def _list_index(target: Any, value: Any) -> Any:
    return I(target.index(value)) if value in target else I(-1)


def _index_of(target: Any, sub: Any, start: Any = None) -> Any:
    if isinstance(target, (list, tuple)):
        return _list_index(target, sub)
    return I(str(target).find(str(sub), int(start or 0)))


def _last_index_of(target: Any, sub: Any, *rest: Any) -> Any:
    if isinstance(target, (list, tuple)):
        idx = [i for i, v in enumerate(target) if v == sub]
        return I(idx[-1] if idx else -1)
    return I(str(target).rfind(str(sub)))


def _split(target: Any, sep: Any, limit: Any = None) -> Any:
    s, sep = str(target), str(sep)
    if limit is None:
        parts = s.split(sep) if sep else list(s)
    elif int(limit) == 0:
        parts = []
    elif int(limit) < 0:
        parts = s.split(sep)
    else:
        parts = s.split(sep, int(limit) - 1)
    return celtypes.ListType([S(p) for p in parts])


def _substring(target: Any, start: Any, end: Any = None) -> Any:
    s = str(target)
    return S(s[int(start):] if end is None else s[int(start):int(end)])


def _replace(target: Any, old: Any, new: Any, n: Any = None) -> Any:
    return S(str(target).replace(str(old), str(new), -1 if n is None else int(n)))


def _join(target: Any, sep: Any = "") -> Any:
    return S(str(sep).join(str(x) for x in target))


def _find(target: Any, pattern: Any) -> Any:
    m = re.search(str(pattern), str(target))
    return S(m.group(0) if m else "")


def _find_all(target: Any, pattern: Any, limit: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(str(pattern), str(target))]
    if limit is not None and int(limit) >= 0:
        found = found[:int(limit)]
    return celtypes.ListType([S(x) for x in found])


def _sum(target: Any) -> Any:
    total: Any = I(0)
    for x in target:
        total = total + x
    return total


def _quantity_method(name: str):
    def fn(target: Any, *args: Any) -> Any:
        if not isinstance(target, Quantity):
            raise TypeError(f"{name} needs a Quantity")
        v = target.value
        if name == "isInteger":
            return B(v == v.to_integral_value())
        if name == "asInteger":
            if v != v.to_integral_value():
                raise ValueError("cannot convert value to integer")
            return I(int(v))
        if name == "asApproximateFloat":
            return D(float(v))
        if name == "sign":
            return I((v > 0) - (v < 0))
        other = args[0].value if isinstance(args[0], Quantity) else Decimal(int(args[0]))
        if name == "add":
            return Quantity(v + other)
        if name == "sub":
            return Quantity(v - other)
        if name == "isGreaterThan":
            return B(v > other)
        if name == "isLessThan":
            return B(v < other)
        if name == "compareTo":
            return I((v > other) - (v < other))
        raise ValueError(name)
    return fn


def _url_get(part: str):
    def fn(target: Any) -> Any:
        p = target.parts
        return S({"getScheme": p.scheme, "getHost": p.netloc, "getHostname": p.hostname or "",
                  "getPort": str(p.port or "") if p.netloc else "", "getEscapedPath": p.path,
                  }[part])
    return fn


def _get_query(target: Any) -> Any:
    q = urllib.parse.parse_qs(target.parts.query, keep_blank_values=True)
    return celtypes.MapType({S(k): celtypes.ListType([S(x) for x in v]) for k, v in q.items()})


def _validate_format(target: Any, value: Any) -> Any:
    if not isinstance(target, Format):
        raise TypeError("validate needs a format")
    errs = FORMATS[target.name](str(value))
    # optional.none() / optional.of(list): modelled as an empty or non-empty list (rules test hasValue()).
    return celtypes.ListType([S(e) for e in errs])


def _family(target: Any) -> Any:
    return I(target.version if hasattr(target, "version") else 0)


FUNCTIONS = {
    "charAt": lambda t, i: S(str(t)[int(i)] if int(i) < len(str(t)) else ""),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda t: S(str(t).lower()),
    "upperAscii": lambda t: S(str(t).upper()),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda t: S(str(t).strip()),
    "join": _join,
    "find": _find,
    "findAll": _find_all,
    "isSorted": lambda t: B(list(t) == sorted(t)),
    "sum": _sum,
    "min": lambda t, *a: min(t) if not a else min([t, *a]),
    "max": lambda t, *a: max(t) if not a else max([t, *a]),
    "isURL": lambda t: B(_is_url(str(t))),
    "url": lambda t: Url(str(t)),
    "getScheme": _url_get("getScheme"),
    "getHost": _url_get("getHost"),
    "getHostname": _url_get("getHostname"),
    "getPort": _url_get("getPort"),
    "getEscapedPath": _url_get("getEscapedPath"),
    "getQuery": _get_query,
    "isQuantity": lambda t: B(parse_quantity(str(t)) is not None),
    "quantity": _quantity,
    **{n: _quantity_method(n) for n in ("isInteger", "asInteger", "asApproximateFloat", "sign", "add", "sub",
                                        "isGreaterThan", "isLessThan", "compareTo")},
    "isIP": lambda t: B(_is_ip(t)),
    "ip": _ip,
    "isCIDR": lambda t: B(_is_cidr(t)),
    "cidr": _cidr,
    "family": _family,
    "isLoopback": lambda t: B(t.is_loopback),
    "isUnspecified": lambda t: B(t.is_unspecified),
    "containsIP": lambda t, ip: B((_ip(ip) if not hasattr(ip, "version") else ip) in t),
    "prefixLength": lambda t: I(t.prefixlen),
    "validate": _validate_format,
    "hasValue": lambda t: B(bool(t)),
    "value": lambda t: t,
}


class RuleError(Exception):
    """A rule that cannot be compiled here (reported as a skip, with the reason)."""


@functools.lru_cache(maxsize=1)
def _env() -> celpy.Environment:
    return celpy.Environment()


_FORMAT_CALL = re.compile(r"\bformat\.([A-Za-z0-9]+)\(\)")


@functools.lru_cache(maxsize=4096)
def program(rule: str) -> Any:
    """A compiled rule (cached: many objects share the same schemas)."""
    # format.<name>() is a namespaced function in Kubernetes' CEL; cel-python has no namespaces, so it is
    # rewritten to a call that builds the named format.
    text = _FORMAT_CALL.sub(lambda m: f'_format("{m.group(1)}")', rule)
    try:
        ast = _env().compile(text)
    except Exception as exc:  # noqa: BLE001 - cel-python raises its own parse errors
        raise RuleError(f"cannot compile rule: {str(exc).splitlines()[0][:160]}") from None
    funcs = dict(FUNCTIONS)
    funcs["_format"] = lambda name: Format(str(name))
    return _env().program(ast, functions=funcs)


def to_cel(value: Any) -> Any:
    return celpy.json_to_cel(value)


def is_transition_rule(rule: str) -> bool:
    return re.search(r"\boldSelf\b", rule) is not None


def evaluate(rule: str, value: Any) -> Any:
    """The rule's result for ``self`` = ``value`` (a Python JSON value): True, False, or raises.

    Raises :class:`RuleError` when the rule cannot be compiled, or
    ``celpy.CELEvalError`` when it fails at run time (the API server rejects the
    object then too).
    """
    prg = program(rule)
    result = prg.evaluate({"self": to_cel(value)})
    if isinstance(result, celpy.CELEvalError):
        raise result
    return bool(result)
