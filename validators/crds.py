"""Every custom resource we create, against the upstream CRD that serves its kind.

The CRDs are vendored from upstream at the pinned versions (``upstream/crds/``,
provenance in ``upstream/MANIFEST.json``; ``python -m tools.vendor_upstream``
regenerates them). For each object the validator finds the CRD version that
serves its ``apiVersion``/``kind`` and checks it as the API server would on
create (:mod:`validators.structural`): strict unknown fields, defaults, the
``openAPIV3Schema`` value validations and the CEL rules
(``x-kubernetes-validations``). ``metadata`` is checked against the core
ObjectMeta schema of the stack's Kubernetes version (kubernetes-validate,
strict), and its name as the API server checks custom resource names (a DNS
subdomain).

A kind no vendored CRD serves is reported (:func:`unsupported`), never passed:
vendor its CRD first. The defaulted object is what admission webhooks see;
:func:`defaulted` hands it to :mod:`validators.admission`.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import jsonschema

from validators import k8s_cel, k8s_schemas, structural, upstream
from validators.k8s_schemas import FORMAT_CHECKER, definition_ref, schema_errors
from validators.manifests import Manifest
from validators.models import Error
from validators.report import Finding

VALIDATOR = "crd-schema"


@functools.lru_cache(maxsize=4)
def _metadata_validator(kubernetes_version: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(definition_ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                                           registry=k8s_schemas.registry(kubernetes_version),
                                           format_checker=FORMAT_CHECKER)


def handles(m: Manifest) -> bool:
    return upstream.crd_for(m.group, m.version, m.kind) is not None


_RESULTS: dict[tuple[str, str], structural.Result] = {}


def _result(m: Manifest) -> structural.Result:
    key = (str(m.path), m.urn)
    if key not in _RESULTS:
        crd = upstream.crd_for(m.group, m.version, m.kind)
        _RESULTS[key] = structural.validate(dict(m.obj), crd.schema())
    return _RESULTS[key]


def defaulted(m: Manifest) -> Optional[dict]:
    """The object after the CRD's defaults (what admission webhooks receive); None if no CRD serves it."""
    return _result(m).defaulted if handles(m) else None


def check_object(obj: dict, kubernetes_version: Optional[str] = None) -> tuple[list[Error], structural.Result]:
    """(errors, result) for one object given as a dict; the CRD is looked up by apiVersion/kind."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    crd = upstream.crd_for(group, version, str(obj.get("kind", "")))
    if crd is None:
        raise KeyError(f"no vendored CRD serves {obj.get('apiVersion')} {obj.get('kind')}")
    errors: list[Error] = []
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errors.append(("metadata", "Required value: metadata with a name"))
    else:
        if kubernetes_version:
            errors += list(schema_errors(_metadata_validator(kubernetes_version), dict(meta), prefix="metadata"))
        name = meta.get("name")
        if not name and not meta.get("generateName"):
            errors.append(("metadata.name", "Required value: name or generateName is required"))
        elif isinstance(name, str):
            errors += [("metadata.name", f"Invalid value: {name!r}: {msg}") for msg in k8s_cel.dns1123_subdomain(name)]
        if meta.get("namespace") and not crd.namespaced:
            errors.append(("metadata.namespace", f"{obj.get('kind')} is cluster-scoped: the API server ignores "
                                                  "metadata.namespace (drop it)"))
    result = structural.validate(dict(obj), crd.schema())
    return errors + result.errors, result


def check(m: Manifest, kubernetes_version: str) -> list[Finding]:
    """Findings for one custom resource (call only when :func:`handles` is true)."""
    crd = upstream.crd_for(m.group, m.version, m.kind)
    errors, result = check_object(dict(m.obj), kubernetes_version)
    _RESULTS[(str(m.path), m.urn)] = result
    source = f"{m.kind} CRD {crd.source}"
    return [Finding(VALIDATOR, source, m.subject, message, path=path) for path, message in errors]


def notes(manifests: list[Manifest]) -> list[str]:
    """What was not evaluated (transition rules on create, rules we cannot compile), once per rule."""
    seen: dict[tuple[str, str], int] = {}
    for m in manifests:
        if not handles(m):
            continue
        for path, rule, why in _result(m).skipped:
            seen.setdefault((f"{m.kind} {rule}", why), 0)
            seen[(f"{m.kind} {rule}", why)] += 1
    return [f"CEL rule skipped ({why}): {what}" for (what, why) in sorted(seen)]


def rules_evaluated(manifests: list[Manifest]) -> int:
    return sum(_result(m).rules_evaluated for m in manifests if handles(m))


def unsupported(m: Manifest) -> Finding:
    """A custom resource no vendored CRD serves: fail loudly instead of passing it unchecked."""
    known = upstream.kinds_in_group(m.group)
    if known:
        why = (f"{m.api_version} {m.kind} is not served by the vendored CRDs of {m.group} "
               f"(vendored: {', '.join(known)}); vendor the CRD at the pinned version "
               "(tools/vendor_upstream/sources_k8s.py)")
    else:
        why = (f"no vendored CRD serves {m.api_version} {m.kind}: add it to tools/vendor_upstream/sources_k8s.py "
               "and run `python -m tools.vendor_upstream` before applying it")
    return Finding("coverage", "unvalidated-custom-resource", m.subject, why)
