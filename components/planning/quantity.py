"""Kubernetes resource quantities ("500m", "16Gi", "2") parsed to numbers, no Pulumi.

The grammar is apimachinery's ``resource.Quantity``: an optional sign, a decimal number (``1``,
``1.5``, ``.5``, ``1.``), then a binary-SI suffix (Ki..Ei), a decimal-SI suffix (n, u, m, k, M, G, T,
P, E) or a decimal exponent (``1e3``). :func:`check_quantity` adds the semantics the API server
applies to a *kind* of quantity: CPU is kept in millicores (finer values are rounded up, so we refuse
them instead of silently changing them) and memory/storage are whole bytes (``1m`` of memory is a
thousandth of a byte). Both are int64 inside the API server.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal, Optional

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_RE = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$"
)
#: apimachinery keeps quantities as int64 (scaled); larger values cannot be represented.
INT64_MAX = 2**63 - 1

Kind = Literal["cpu", "bytes", "number"]


def parse_quantity(value: object) -> Decimal:
    """Parse a Kubernetes quantity; raises ValueError naming the bad text."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    m = _RE.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 16Gi)")
    number, suffix, exponent = m.groups()
    try:
        if exponent is not None:
            if abs(int(exponent)) > 40:  # far past int64 either way; refuse before Decimal does huge work
                raise ValueError(f"{value!r} is out of range for a Kubernetes quantity")
            return Decimal(number) * (Decimal(10) ** int(exponent))
        return Decimal(number) * _SUFFIX[suffix or ""]
    except InvalidOperation:  # pragma: no cover - regex already guards the number
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from None


def check_quantity(value: object, kind: Kind, *, maximum: Optional[Decimal] = None) -> str:
    """The stripped quantity text if it is a positive ``kind`` quantity within range, else ValueError.

    ``cpu``: at most millicore precision. ``bytes``: a whole number of bytes (so no ``m``, ``u``, ``n``
    and no fractions that do not land on a byte). Everything: greater than zero, within int64 and
    within ``maximum`` when given.
    """
    text = value.strip() if isinstance(value, str) else value
    q = parse_quantity(text)
    if q <= 0:
        raise ValueError(f"must be greater than zero; got {value!r}")
    if kind == "cpu":
        if (q * 1000) != (q * 1000).to_integral_value():
            raise ValueError(f"{value!r} is finer than a millicore (1m), which Kubernetes rounds up")
        if q * 1000 > INT64_MAX:
            raise ValueError(f"{value!r} is out of range for a Kubernetes quantity")
    elif kind == "bytes":
        if q != q.to_integral_value():
            raise ValueError(
                f"{value!r} is not a whole number of bytes (memory and storage take 512Mi, 16Gi, 1Ti, ...; "
                f"'m' is milli, a thousandth of a byte)"
            )
        if q > INT64_MAX:
            raise ValueError(f"{value!r} is out of range for a Kubernetes quantity")
    elif q > INT64_MAX:
        raise ValueError(f"{value!r} is out of range for a Kubernetes quantity")
    if maximum is not None and q > maximum:
        raise ValueError(f"{value!r} is more than the maximum {format_quantity(maximum, kind)}")
    return str(text) if not isinstance(text, str) else text


def format_quantity(q: Decimal, kind: Kind) -> str:
    """A short human form of ``q`` (``32Ti``, ``896``) for messages and the config reference."""
    if kind == "bytes":
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = _SUFFIX[suffix]
            if q >= unit and q % unit == 0:
                return f"{q // unit}{suffix}"
    return f"{q.normalize():f}"
