"""Check KEDA objects against KEDA's own definitions at the pinned version (tests/fixtures/keda/, tools/keda_facts.py).

* :func:`crd_problems`: the object against its CRD's ``openAPIV3Schema`` (jsonschema), plus the fields the API
  server would silently prune (not in the structural schema; reported as errors, like a strict client), plus
  the CRD's CEL rules. The CEL rules are re-implemented below, and each is matched by its exact upstream text
  first, so a changed rule fails loudly instead of being checked by a stale copy.
* :func:`trigger_problems`: trigger metadata keys the scaler does not read, and required keys that are missing.
* :func:`webhook_problems`: the admission webhook's checks we can evaluate offline (replica bounds, the derived
  HPA name length, fallback needing a non-CPU/memory trigger with AverageValue).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import jsonschema

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keda"


@lru_cache(maxsize=None)
def fact(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _spec_max(spec: dict) -> int:
    return spec["maxReplicaCount"] if "maxReplicaCount" in spec else 100


#: Upstream CEL rule text -> its Python equivalent over ``self`` (the object the rule is attached to).
CEL_RULES: dict[str, Callable[[dict], bool]] = {
    "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)":
        lambda s: "minReplicaCount" not in s or s["minReplicaCount"] <= _spec_max(s),
}


def _walk(schema: dict, value: Any, path: str) -> Iterator[tuple[str, dict, Any]]:
    yield path, schema, value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for k, v in value.items():
            if k in props:
                yield from _walk(props[k], v, f"{path}.{k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from _walk(schema["additionalProperties"], v, f"{path}.{k}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            yield from _walk(schema["items"], v, f"{path}[{i}]")


def crd_problems(obj: dict, crd: str) -> list[str]:
    doc = fact(crd)
    problems: list[str] = []
    group, version = obj.get("apiVersion", "/").split("/", 1)
    if (group, version, obj.get("kind")) != (doc["group"], doc["version"], doc["kind"]):
        problems.append(f"apiVersion/kind {obj.get('apiVersion')} {obj.get('kind')} is not {doc['group']}/"
                        f"{doc['version']} {doc['kind']}")
    schema = doc["schema"]
    body = {k: v for k, v in obj.items() if k != "metadata"}
    for err in jsonschema.Draft7Validator(schema).iter_errors(body):
        problems.append(f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}")
    for path, sub, value in _walk(schema, body, ""):
        if isinstance(value, dict) and "properties" in sub and not sub.get("additionalProperties") \
                and not sub.get("x-kubernetes-preserve-unknown-fields"):
            for k in value:
                if k not in sub["properties"]:
                    problems.append(f"{path}.{k}: not in the CRD schema (the API server would prune it)")
        for rule in sub.get("x-kubernetes-validations", []) if isinstance(value, dict) else []:
            check = CEL_RULES.get(rule["rule"])
            if check is None:
                problems.append(f"{path}: CEL rule not re-implemented here: {rule['rule']!r}")
            elif not check(value):
                problems.append(f"{path}: {rule.get('message') or rule['rule']}")
    return problems


def trigger_problems(trigger: dict) -> list[str]:
    keys = fact("triggers").get(trigger.get("type"))
    if keys is None:
        return [f"no facts for trigger type {trigger.get('type')!r}"]
    meta = trigger.get("metadata") or {}
    out = [f"{trigger['type']} scaler does not read metadata {k!r}" for k in meta if k not in keys]
    out += [f"{trigger['type']} scaler needs metadata {k!r}" for k, v in keys.items()
            if not v["optional"] and k not in meta]
    if trigger["type"] == "aws-cloudwatch" and not meta.get("expression") and not all(
            meta.get(k) for k in ("namespace", "metricName", "dimensionName", "dimensionValue")):
        out.append("aws-cloudwatch needs expression, or namespace + metricName + dimensionName + dimensionValue")
    return out


def webhook_problems(obj: dict) -> list[str]:
    spec = obj.get("spec") or {}
    out = []
    lo, hi = spec.get("minReplicaCount", 0), _spec_max(spec)
    if lo > hi:
        out.append(f"minReplicaCount {lo} > maxReplicaCount {hi}")
    hpa = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("name") \
        or f"keda-hpa-{obj['metadata']['name']}"
    if len(hpa) > 63 or len(obj["metadata"]["name"]) > 63:
        out.append(f"HPA name {hpa!r} or the ScaledObject name is longer than a label value (63)")
    if spec.get("fallback") is not None and not any(
            t.get("type") not in ("cpu", "memory") and t.get("metricType", "AverageValue") == "AverageValue"
            for t in spec.get("triggers", [])):
        out.append("fallback needs a trigger (not cpu/memory) with metricType AverageValue")
    return out


def all_problems(obj: dict) -> list[str]:
    problems = crd_problems(obj, "scaledobjects") + webhook_problems(obj)
    for t in (obj.get("spec") or {}).get("triggers", []):
        problems += trigger_problems(t)
    return problems
