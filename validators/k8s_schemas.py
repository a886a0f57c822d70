"""Built-in Kubernetes objects against kubernetes-validate's STRICT schemas for the stack's version.

kubernetes-validate ships one JSON schema per kind and Kubernetes version, in a
normal and a strict flavour (strict: ``additionalProperties: false``, so an
unknown or misspelt field fails). We load its schemas with its own helpers
(same version selection as ``kubernetes_validate.validate``: the newest bundled
schema not newer than the requested version) and run them with jsonschema so
that every error is reported, not only the first.

One deliberate tightening: the upstream schema types ``resource.Quantity`` as
"any string or number", so ``cpu: two`` passes it. The API server rejects it,
so we add the quantity grammar documented on the Quantity type
(``<signedNumber><suffix>``, suffixes ``Ki..Ei``, ``n u m "" k M G T P E`` or an
``e``/``E`` exponent) as a format check on that one definition.

The same registry (core definitions) is reused by :mod:`validators.crds` for
CRD fields that embed core types (taints, tolerations, label selectors) and by
the embedded-pod-template check below.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping, Optional

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils as kv_utils
from packaging.version import Version
from referencing import Registry, Resource

from validators.manifests import Manifest
from validators.report import Finding, Section

VALIDATOR = "kubernetes-validate"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
QUANTITY_DEF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
QUANTITY_FORMAT = "k8s-quantity"
# apimachinery's Quantity grammar (see module docstring); "n" and "u" are accepted by its parser too.
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
QUANTITY_RE = re.compile(rf"^[+-]?{_NUMBER}(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?{_NUMBER})?$")

#: API groups served by Kubernetes itself (besides ``*.k8s.io``); everything else is a custom resource.
CORE_GROUPS = {"", "apps", "batch", "autoscaling", "policy"}


def is_quantity(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(QUANTITY_RE.match(value))


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks(QUANTITY_FORMAT)
    def _quantity(value: Any) -> bool:  # non-strings are type-checked by the schema itself
        return not isinstance(value, str) or bool(QUANTITY_RE.match(value))

    return checker


FORMAT_CHECKER = _format_checker()


def schema_version(kubernetes_version: str) -> str:
    """The bundled schema version used for ``kubernetes_version`` (e.g. "1.35" -> "1.35.0")."""
    wanted = kv_utils.major_minor(kubernetes_version.lstrip("v"))
    if Version(wanted) > Version(kv_utils.major_minor(kv_utils.latest_version())):
        raise ValueError(f"kubernetes-validate {kubernetes_validate.version.__version__} has no schemas for "
                         f"Kubernetes {wanted} (newest: {kv_utils.latest_version()})")
    older = [v for v in kv_utils.all_versions() if Version(kv_utils.major_minor(v)) <= Version(wanted)]
    if not older:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {wanted} or older")
    return older[-1]


def _schema_dir(version: str) -> str:
    return f"kubernetes-json-schema/v{version}-local-strict"


@lru_cache(maxsize=4)
def registry(kubernetes_version: str) -> Registry:
    """The strict core definitions for this version (with the Quantity grammar), as a referencing registry."""
    version = schema_version(kubernetes_version)
    defs = copy.deepcopy(kv_utils.schema_contents(f"{_schema_dir(version)}/_definitions.json", version))
    defs["$defs"][QUANTITY_DEF] = {"type": ["string", "number", "null"], "format": QUANTITY_FORMAT}
    return Resource.from_contents(defs) @ Registry()


def definition_ref(name: str) -> dict:
    """A ``$ref`` to a core definition, e.g. ``definition_ref("io.k8s.api.core.v1.Taint")``."""
    return {"$ref": f"{DEFINITIONS_URI}#/$defs/{name}"}


def _file_api_version(api_version: str) -> str:
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1
    return re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)


def is_builtin_group(group: str) -> bool:
    return group in CORE_GROUPS or group.endswith(".k8s.io")


@lru_cache(maxsize=256)
def _validator(kubernetes_version: str, api_version: str, kind: str) -> Optional[jsonschema.Draft202012Validator]:
    version = schema_version(kubernetes_version)
    group = api_version.rpartition("/")[0]
    if not is_builtin_group(group):
        return None
    try:
        schema = kv_utils.schema_contents(
            f"{_schema_dir(version)}/{kind.lower()}-{_file_api_version(api_version)}.json", version)
    except FileNotFoundError:
        return None
    return jsonschema.Draft202012Validator(schema, registry=registry(kubernetes_version), format_checker=FORMAT_CHECKER)


def has_schema(kubernetes_version: str, api_version: str, kind: str) -> bool:
    return _validator(kubernetes_version, api_version, kind) is not None


def json_path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def explain(error: jsonschema.ValidationError) -> str:
    """One readable line per schema error (oneOf/anyOf errors name their closest branch)."""
    if error.validator == "format" and error.validator_value == QUANTITY_FORMAT:
        return f"{error.instance!r} is not a Kubernetes quantity (e.g. 500m, 2, 1.5Gi, 64Mi)"
    message = error.message
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            message += f" (closest: {explain(best)})"
    return message.splitlines()[0] if len(message) < 300 else message[:300] + "..."


def schema_errors(validator: jsonschema.protocols.Validator, instance: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(field path, message)`` for every error, in path order."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    for e in errors:
        path = json_path(e.absolute_path)
        if e.validator == "additionalProperties" and isinstance(e.instance, dict) and isinstance(e.schema, dict):
            # Name each unknown field at its own path, the way the API server's strict decoding does.
            known = set(e.schema.get("properties") or {})
            for key in sorted(k for k in e.instance if k not in known):
                here = f"{path}.{key}" if path else key
                yield (f"{prefix}.{here}" if prefix else here), \
                    f"unknown field {key!r} (allowed here: {', '.join(sorted(known)) or 'none'})"
            continue
        yield (f"{prefix}.{path}" if prefix and path else prefix or path), explain(e)


def validate_object(obj: Mapping[str, Any], kubernetes_version: str) -> Optional[list[tuple[str, str]]]:
    """Errors for a built-in object, or None when kubernetes-validate has no schema for its kind."""
    validator = _validator(kubernetes_version, str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    if validator is None:
        return None
    return list(schema_errors(validator, obj))


def pod_errors(metadata: Mapping[str, Any], spec: Mapping[str, Any], kubernetes_version: str,
               prefix: str) -> list[tuple[str, str]]:
    """A pod template embedded in a custom resource, validated as a v1 Pod (paths relative to the CR)."""
    validator = _validator(kubernetes_version, "v1", "Pod")
    assert validator is not None
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": dict(metadata or {}), "spec": spec}
    out = []
    for path, message in schema_errors(validator, pod):
        # "spec.containers[0]..." -> "<prefix>.spec.containers[0]..." (prefix ends at the template)
        out.append((f"{prefix}.{path}" if path else prefix, message))
    return out


def check(manifests: list[Manifest], kubernetes_version: str) -> tuple[Section, list[Manifest]]:
    """Validate every built-in object; return the section and the custom resources left for other checks."""
    section = Section(VALIDATOR)
    custom: list[Manifest] = []
    for m in manifests:
        errors = validate_object(m.obj, kubernetes_version)
        if errors is None:
            custom.append(m)
            continue
        section.checked += 1
        for path, message in errors:
            section.findings.append(Finding(VALIDATOR, f"strict-schema/{m.api_version}/{m.kind}", m.subject,
                                            message, path=path))
    section.notes.append(
        f"kubernetes-validate {kubernetes_validate.version.__version__}, strict schemas "
        f"v{schema_version(kubernetes_version)}; {len(custom)} custom resources handed to the CRD/Kubeflow checks")
    return section, custom
