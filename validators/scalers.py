"""KEDA triggers against what their scaler reads, at the pinned KEDA release (``upstream/keda/scalers.yaml``).

KEDA's CRDs type ``spec.triggers[].metadata`` as a free string map, so the API
server (and :mod:`validators.crds`) accepts any key. The scaler reads its keys
when the operator builds it, long after ``pulumi up`` succeeded: a misspelt
key is ignored, a missing required key or a value of the wrong type leaves
the ScaledObject not Ready and the workload never scales. The facts come from
KEDA's Go sources (``keda:"..."`` tags on each scaler's typed config, see
tools/vendor_upstream/sources_keda.py); the rules below are those of
``pkg/scalers/scalersconfig/typed_config.go`` (``kedacore/keda`` at the pin):

* the trigger ``type`` names a scaler (``pkg/scaling/scalers_builder.go``
  buildScaler: "no scaler found for type");
* every metadata key is one the scaler reads: a typed-config key looked up in
  ``triggerMetadata``, a ``<key>FromEnv`` for keys looked up in
  ``resolvedEnv``, or a key a helper reads from the metadata (``alsoReads``).
  This is KEDA's own unexpected-parameter check (``checkUnexpectedParameterExist``,
  off unless ``KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled``), made stricter
  in one way: a key the scaler reads only from ``authParams`` (a
  TriggerAuthentication) is reported when put in the metadata, where it is
  never read (and secrets do not belong). Scalers that range over the metadata
  (``openEnded``: external, external-push, pulsar, sumologic) are not checked
  for unknown keys;
* every required key (not ``optional``, no ``default``) is present and not
  blank: in the metadata, as ``<key>FromEnv``, or among the parameters of the
  referenced (Cluster)TriggerAuthentication when the key may come from
  ``authParams`` (a referenced authentication the plan does not create is
  reported, and its parameters are then unknown);
* values parse as the Go type the scaler reads them into (integers, floats,
  booleans as ``strconv.ParseBool``, durations, lists and ``k=v`` maps with the
  tag's separator), belong to the tag's ``enum``, hold at most one of its
  ``exclusiveSet``; a ``deprecated`` key is rejected when set;
* ``metricType: Utilization`` is refused by scalers that read their target
  type with ``GetMetricTargetType`` (``pkg/scalers/scaler.go``); cpu/memory
  need ``Utilization`` (an integer ``value``) or ``AverageValue`` (a quantity)
  (``pkg/scalers/cpu_memory_scaler.go`` parseResourceMetadata);
* a scaler's own ``Validate()`` where one is ported below (``aws-cloudwatch``:
  ``pkg/scalers/aws_cloudwatch_scaler.go`` awsCloudwatchMetadata.Validate,
  except the ``metricUnit`` list, which lives in the AWS Go SDK).

Not checked: that a ``<key>FromEnv`` names an env var of the scale target's
containers, and values of scalers' own ``Validate()`` not ported here.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator, Mapping, Optional

from validators import upstream
from validators.manifests import Manifest
from validators.models import Error
from validators.report import Finding, Section

VALIDATOR = "keda-scalers"
GROUP = "keda.sh"
KINDS = ("ScaledObject", "ScaledJob")
AUTH_KINDS = ("TriggerAuthentication", "ClusterTriggerAuthentication")
TRIGGER_METADATA, AUTH_PARAMS, RESOLVED_ENV = "triggerMetadata", "authParams", "resolvedEnv"


def source() -> str:
    e = upstream.manifest().get(upstream.SCALERS_FILE) or {}
    return f"{e.get('repo', 'kedacore/keda')}@{e.get('ref', '?')}"


# --------------------------------------------------------------------------- Go value parsing

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
_DURATION = re.compile(r"[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+")
_INT_BITS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}


def go_value_error(value: str, go_type: str, separator: str = "") -> Optional[str]:
    """Why typed_config.go setConfigValueHelper would refuse ``value`` for a field of ``go_type`` (None: it parses).

    Named types other than the builtins and ``time.Duration`` are not judged.
    """
    sep = separator or ","
    if go_type.startswith("[]") and go_type != "[]byte":
        elem = go_type[2:]
        for i, part in enumerate(value.split(sep)):
            why = go_value_error(part.strip(), elem)
            if why:
                return f"element {i} ({part.strip()!r}): {why}"
        return None
    if go_type.startswith("map["):
        key_type, _, val_type = go_type[4:].partition("]")
        for part in value.split(sep):
            kv = part.strip().split("=")
            if len(kv) != 2:
                return f"expected format key=value, got {part.strip()!r}"
            why = go_value_error(kv[0].strip(), key_type) or go_value_error(kv[1].strip(), val_type)
            if why:
                return why
        return None
    if go_type in ("string", "[]byte"):
        return None
    if go_type == "bool":
        return None if value in _BOOLS else f"unable to parse boolean value {value!r}"
    if go_type in _INT_BITS or go_type in _UINT_BITS:
        if not _INT.fullmatch(value):
            return f"{value!r} is not an integer ({go_type})"
        n = int(value)
        bits = _INT_BITS.get(go_type) or _UINT_BITS[go_type]
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if go_type in _INT_BITS else (0, 2 ** bits - 1)
        return None if lo <= n <= hi else f"{value} is out of range for {go_type}"
    if go_type in ("float32", "float64"):
        return None if _JSON_NUMBER.fullmatch(value) else f"{value!r} is not a number ({go_type})"
    if go_type == "time.Duration":
        if value == "0" or _DURATION.fullmatch(value):
            return "duration cannot be negative" if value.startswith("-") else None
        if re.fullmatch(r"[-+]?[0-9]+", value):
            return "duration cannot be negative" if value.startswith("-") else None
        return (f"unable to parse duration value {value!r}: must be either a duration string (e.g. '30s', "
                "'5m') or a number of milliseconds")
    return None


# --------------------------------------------------------------------------- one trigger


def auth_parameters(auth: Mapping[str, Any]) -> set[str]:
    """Every ``parameter`` a (Cluster)TriggerAuthentication provides (secretTargetRef, env, vault secrets, ...)."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if isinstance(node.get("parameter"), str):
                out.add(node["parameter"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(auth.get("spec") or {})
    return out


def _present(meta: Mapping[str, Any], key: str) -> bool:
    v = meta.get(key)
    return v is not None and str(v).strip() != ""


def trigger_errors(trigger: Mapping[str, Any], where: str = "trigger",
                   auth_params: Optional[set[str]] = frozenset()) -> Iterator[Error]:
    """(path, message) for one trigger; ``auth_params`` are the parameters of its authentication (empty: it
    references none; None: it references one whose parameters are unknown)."""
    facts = upstream.keda_scalers()
    ttype = str(trigger.get("type") or "")
    scaler = facts.get(ttype)
    if scaler is None:
        close = difflib.get_close_matches(ttype, sorted(facts), n=3)
        yield (f"{where}.type", f"no scaler found for type: {ttype!r} (pkg/scaling/scalers_builder.go)"
               + (f"; did you mean {', '.join(close)}?" if close else ""))
        return
    meta = trigger.get("metadata") or {}
    if not isinstance(meta, Mapping):
        return
    params = scaler.get("params") or []
    read_here: dict[str, dict] = {}   # key as it may appear in the metadata -> param
    elsewhere: dict[str, dict] = {}   # names read only from authParams / resolvedEnv
    for p in params:
        order = p.get("order") or []
        for name in p["names"]:
            if TRIGGER_METADATA in order:
                read_here[name] = p
            else:
                elsewhere.setdefault(name, p)
            if RESOLVED_ENV in order:
                read_here[f"{name}FromEnv"] = p
    also = set(scaler.get("alsoReads") or [])
    file = scaler.get("file", "pkg/scalers")

    for key in meta:
        path = f"{where}.metadata.{key}"
        p = read_here.get(key)
        if p is None:
            if key in also or scaler.get("openEnded"):
                continue  # open-ended scalers read keys we cannot list (pulsar copies some into authParams)
            if key in elsewhere:
                order = elsewhere[key].get("order") or []
                yield path, (f"{ttype} scaler reads {key!r} from {' and '.join(order)} only, never from the trigger "
                             f"metadata: put it in the (Cluster)TriggerAuthentication ({file})")
            else:
                close = difflib.get_close_matches(key, sorted(set(read_here) | also), n=3)
                yield path, (f"{ttype} scaler does not read metadata key {key!r} ({file})"
                             + (f"; did you mean {', '.join(close)}?" if close else ""))
            continue
        if not _present(meta, key):
            continue
        if p.get("deprecated"):
            yield path, f"{key!r} is deprecated in the {ttype} scaler and rejected when set ({file})"
            continue
        if key.endswith("FromEnv") and key not in p["names"]:
            continue  # an env var name; its value is read from the scale target's containers
        value = str(meta[key]).strip()
        why = go_value_error(value, str(p.get("type", "string")), p.get("separator", ""))
        if why:
            yield path, f"{ttype} scaler cannot parse {key!r}: {why}"
            continue
        parts = [s.strip() for s in value.split(p.get("separator") or ",")]
        if p.get("enum") and any(s not in p["enum"] for s in parts):
            yield path, f"parameter {','.join(p['names'])!r} value {value!r} must be one of {p['enum']}"
        if p.get("exclusiveSet") and sum(s in p["exclusiveSet"] for s in parts) > 1:
            yield path, f"parameter {','.join(p['names'])!r} value {value!r} must contain only one of {p['exclusiveSet']}"

    for p in params:
        if p.get("optional") or "default" in p or p.get("deprecated"):
            continue
        order = p.get("order") or []
        found = any(
            (TRIGGER_METADATA in order and _present(meta, n))
            or (RESOLVED_ENV in order and _present(meta, f"{n}FromEnv"))
            or (AUTH_PARAMS in order and (auth_params is None or n in auth_params))
            for n in p["names"])
        if not found:
            yield (f"{where}.metadata", f"{ttype} scaler: missing required parameter {','.join(p['names'])!r} in "
                   f"{order} ({file})")

    metric_type = trigger.get("metricType")
    if metric_type and scaler.get("metricTargetType") == "external" and metric_type == "Utilization":
        yield (f"{where}.metricType", "'Utilization' metric type is unsupported for external metrics, allowed "
               "values are 'Value' or 'AverageValue' (pkg/scalers/scaler.go GetMetricTargetType)")
    if ttype in ("cpu", "memory"):
        yield from cpu_memory_errors(trigger, where)
    validate = SCALER_VALIDATE.get(ttype)
    if validate:
        for message in validate(meta):
            yield f"{where}.metadata", f"{message} ({file} Validate)"


# --------------------------------------------------------------------------- ported Validate() methods


def _int_or(meta: Mapping[str, Any], key: str, default: int) -> Optional[int]:
    v = str(meta.get(key) or "").strip()
    if not v:
        return default
    return int(v) if _INT.fullmatch(v) else None


def cloudwatch_validate(meta: Mapping[str, Any]) -> Iterator[str]:
    """pkg/scalers/aws_cloudwatch_scaler.go awsCloudwatchMetadata.Validate (metricUnit not checked)."""
    if not _present(meta, "expression"):
        for key, what in (("namespace", "namespace"), ("metricName", "metric name"),
                          ("dimensionName", "dimension name"), ("dimensionValue", "dimension value")):
            if not _present(meta, key):
                yield f"{what} not given (give expression, or namespace, metricName, dimensionName and dimensionValue)"
                return
        if len(str(meta["dimensionName"]).split(";")) != len(str(meta["dimensionValue"]).split(";")):
            yield "dimensionName and dimensionValue are not matching in size"
            return
    period = _int_or(meta, "metricStatPeriod", 300)
    collection = _int_or(meta, "metricCollectionTime", 300)
    if period is None or collection is None:
        return  # reported as a parse error already
    if period < 1:
        yield f"metricStatPeriod can not be smaller than 1, however, {period} is provided"
    elif period <= 60 and period not in (1, 5, 10, 30, 60):
        yield f"metricStatPeriod < 60 has to be one of [1, 5, 10, 30], however, {period} is provided"
    elif period > 60 and period % 60:
        yield f"metricStatPeriod >= 60 has to be a multiple of 60, however, {period} is provided"
    elif collection < 0 or collection % period:
        yield (f"metricCollectionTime must be greater than 0 and a multiple of metricStatPeriod({period}), "
               f"{collection} is given")


def cpu_memory_errors(trigger: Mapping[str, Any], where: str) -> Iterator[Error]:
    """pkg/scalers/cpu_memory_scaler.go parseResourceMetadata: the trigger's metricType picks how ``value`` parses."""
    from validators.k8s_cel import parse_quantity

    metric_type = trigger.get("metricType") or ""
    value = str((trigger.get("metadata") or {}).get("value") or "").strip()
    if metric_type not in ("Utilization", "AverageValue"):
        yield (f"{where}.metricType", f"unknown metric type: {metric_type}, allowed values are 'Utilization' or "
               "'AverageValue' (pkg/scalers/cpu_memory_scaler.go)")
    elif not value:
        return  # reported as a missing required parameter
    elif metric_type == "Utilization" and not (re.fullmatch(r"[+-]?[0-9]+", value) and
                                               -(2 ** 31) <= int(value) < 2 ** 31):
        yield f"{where}.metadata.value", f"Utilization needs an integer percentage, got {value!r} (strconv.ParseInt)"
    elif metric_type == "AverageValue" and parse_quantity(value) is None:
        yield f"{where}.metadata.value", f"AverageValue needs a Kubernetes quantity, got {value!r} (resource.MustParse)"


#: trigger type -> its scaler's ported Validate()
SCALER_VALIDATE = {"aws-cloudwatch": cloudwatch_validate}


# --------------------------------------------------------------------------- the plan


def authentication_for(trigger: Mapping[str, Any], namespace: str, auths: Mapping[tuple[str, str, str], Mapping]
                       ) -> tuple[Optional[Mapping], Optional[str]]:
    """(the referenced authentication object or None, why it is missing or None)."""
    ref = trigger.get("authenticationRef")
    if not isinstance(ref, Mapping):
        return None, None
    kind = ref.get("kind") or "TriggerAuthentication"
    ns = "" if kind == "ClusterTriggerAuthentication" else namespace
    obj = auths.get((kind, ns, str(ref.get("name") or "")))
    if obj is None:
        where = f" in namespace {namespace!r}" if ns else ""
        return None, f"authenticationRef names {kind} {ref.get('name')!r}{where}, which this plan does not create"
    return obj, None


def object_errors(obj: Mapping[str, Any], auths: Mapping[tuple[str, str, str], Mapping]) -> Iterator[Error]:
    """Every trigger of one ScaledObject/ScaledJob; ``auths`` are the plan's (kind, namespace, name) -> object."""
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    for i, trigger in enumerate((obj.get("spec") or {}).get("triggers") or []):
        where = f"spec.triggers[{i}]"
        auth, missing = authentication_for(trigger, namespace, auths)
        if missing:
            yield f"{where}.authenticationRef", missing
        params = auth_parameters(auth) if auth is not None else None if missing else set()
        yield from trigger_errors(trigger, where, params)


def check(manifests: list[Manifest]) -> Section:
    section = Section(VALIDATOR)
    auths = {(m.kind, m.namespace if m.kind == "TriggerAuthentication" else "", m.name): m.obj
             for m in manifests if m.group == GROUP and m.kind in AUTH_KINDS}
    for m in manifests:
        if m.group == GROUP and m.kind in KINDS:
            section.checked += 1
            for path, message in object_errors(m.obj, auths):
                section.findings.append(Finding(VALIDATOR, f"{source()} trigger metadata", m.subject, message,
                                                path=path))
    if section.checked and not upstream.keda_scalers():
        section.error = f"no KEDA scaler facts at upstream/{upstream.SCALERS_FILE}: run `python -m tools.vendor_upstream`"
    return section
