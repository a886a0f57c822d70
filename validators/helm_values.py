"""Helm release values against the pinned chart's own facts (``upstream/charts/<chart>/``).

For every ``helm.v3.Release`` in the plan, each key path the program sets must
be one the chart knows:

* it exists in the chart's default ``values.yaml``, or
* the chart's templates read it (``.Values.a.b``, also through ``with``,
  ``range``, variables and ``index``), or
* it lies below a value the templates pass through whole (``toYaml``,
  ``tpl``, ``range``, handed to a helper...): maps such as ``nodeSelector``,
  ``podAnnotations`` or ``extraArgs`` may hold any key. Which maps those are
  is read from the chart's templates (tools/vendor_upstream/helm_templates.py),
  not listed here.

Keys under a dependency's name (or alias) are also checked against that
subchart's facts (kube-prometheus-stack's ``grafana``, the Trainer chart's
``jobset``), and a dependency ``condition`` path counts as read. A value whose
shape contradicts the default (a map where the chart has a list or a scalar,
or the reverse) is reported too. Where a chart ships ``values.schema.json``,
the merged values (defaults, then ours, as Helm merges them) are validated
against it, as ``helm install`` does.

Limits: items inside lists are not descended into (charts pass list items,
such as tolerations, through as Kubernetes objects); scalar types are not
compared (charts coerce strings and numbers in templates).
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Mapping, Optional

import jsonschema

from validators import upstream
from validators.report import Finding, Section, Subject

VALIDATOR = "helm-values"
RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release",)

Path = tuple[str, ...]


def _dotted(path: Path) -> str:
    return ".".join(p if "." not in p and "/" not in p else f"[{p}]" for p in path)


def chart_name(chart_input: str) -> str:
    """``oci://registry/ns/chart`` or ``repo/chart`` or ``chart`` -> ``chart``."""
    return str(chart_input).rstrip("/").rsplit("/", 1)[-1]


class ChartKnowledge:
    """What one chart (with its subcharts) accepts as value paths."""

    def __init__(self, facts: upstream.ChartFacts):
        self.facts = facts
        self.reads = set(facts.reads)
        for d in facts.meta.get("dependencies") or []:
            for cond in str(d.get("condition") or "").split(","):
                if cond.strip():
                    self.reads.add(tuple(cond.strip().split(".")))
        self.read_prefixes = {p[:i] for p in self.reads for i in range(1, len(p) + 1)}
        self.subs = {k: ChartKnowledge(v) for k, v in facts.subcharts.items()}

    def default(self, path: Path) -> tuple[bool, Any]:
        node: Any = self.facts.defaults
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return False, None
            node = node[key]
        return True, node

    def passes_through(self, path: Path) -> bool:
        return any(path[:i] in self.facts.whole for i in range(1, len(path) + 1))

    def knows(self, path: Path) -> bool:
        if self.passes_through(path) or path in self.read_prefixes or self.default(path)[0]:
            return True
        if path and path[0] in self.subs:
            return self.subs[path[0]].knows(path[1:]) if path[1:] else True
        if path and path[0] == "global":
            return any(s.knows(path) for s in self.subs.values())
        return False

    def sub_passes_through(self, path: Path) -> bool:
        if self.passes_through(path):
            return True
        if path and path[0] in self.subs:
            return self.subs[path[0]].sub_passes_through(path[1:])
        return False

    def default_anywhere(self, path: Path) -> tuple[bool, Any]:
        found, value = self.default(path)
        if found:
            return found, value
        if path and path[0] in self.subs:
            return self.subs[path[0]].default_anywhere(path[1:])
        return False, None


def _shape(v: Any) -> str:
    return "map" if isinstance(v, Mapping) else "list" if isinstance(v, list) else "scalar"


def value_errors(values: Mapping[str, Any], chart: ChartKnowledge, path: Path = ()) -> Iterator[tuple[str, str]]:
    """(dotted path, message) for every key path ``values`` sets that the chart does not know."""
    for key, value in values.items():
        here = path + (str(key),)
        if not chart.knows(here):
            yield _dotted(here), (f"{_dotted(here)} is not a value of chart {chart.facts.name} "
                                  f"{chart.facts.version}: not in its values.yaml, not read by its templates "
                                  f"({_suggest(chart, here)})")
            continue
        found, default = chart.default_anywhere(here)
        if found and default is not None and value is not None and _shape(default) != _shape(value):
            yield _dotted(here), (f"{_dotted(here)} is a {_shape(value)} here but the chart's default is a "
                                  f"{_shape(default)}")
            continue
        if isinstance(value, Mapping) and not chart.sub_passes_through(here):
            yield from value_errors(value, chart, here)


def _suggest(chart: ChartKnowledge, path: Path) -> str:
    import difflib

    parent = path[:-1]
    siblings: set[str] = set()
    found, node = chart.default_anywhere(parent) if parent else (True, chart.facts.defaults)
    if found and isinstance(node, Mapping):
        siblings |= {str(k) for k in node}
    siblings |= {p[len(parent)] for p in chart.read_prefixes if len(p) > len(parent) and p[:len(parent)] == parent}
    if parent and parent[0] in chart.subs:
        sub, rest = chart.subs[parent[0]], parent[1:]
        found, node = sub.default(rest) if rest else (True, sub.facts.defaults)
        if found and isinstance(node, Mapping):
            siblings |= {str(k) for k in node}
        siblings |= {p[len(rest)] for p in sub.read_prefixes if len(p) > len(rest) and p[:len(rest)] == rest}
    close = difflib.get_close_matches(path[-1], sorted(siblings), n=3)
    return f"did you mean {', '.join(close)}?" if close else f"known keys here: {', '.join(sorted(siblings)[:12])}"


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return copy.deepcopy(over)


def schema_errors(values: Mapping[str, Any], facts: upstream.ChartFacts, prefix: str = "",
                  parent_defaults: Optional[Mapping[str, Any]] = None) -> Iterator[tuple[str, str]]:
    """Helm's values.schema.json check: the chart's merged values (its defaults, then what the parent
    chart's defaults and our values put under its key) against its schema; subcharts too."""
    merged = _merge(_merge(facts.defaults, parent_defaults or {}), values)
    if facts.schema:
        cls = jsonschema.validators.validator_for(facts.schema, default=jsonschema.Draft7Validator)
        for err in cls(facts.schema).iter_errors(merged):
            where = ".".join(str(p) for p in err.absolute_path)
            yield (f"{prefix}{where}" if where else prefix.rstrip(".")), f"values.schema.json of {facts.name}: {err.message}"
    for key, sub in facts.subcharts.items():
        sub_values = values.get(key) if isinstance(values.get(key), Mapping) else {}
        sub_defaults = facts.defaults.get(key) if isinstance(facts.defaults.get(key), Mapping) else {}
        yield from schema_errors(sub_values, sub, f"{prefix}{key}.", sub_defaults)


def check_release(release: Mapping[str, Any], charts: Optional[Mapping[str, upstream.ChartFacts]] = None
                  ) -> list[Finding]:
    """Findings for one plan resource of a Helm release type."""
    charts = upstream.charts() if charts is None else charts
    inputs = release.get("inputs") or {}
    name = chart_name(inputs.get("chart", ""))
    subject = Subject(urn=release.get("urn", ""), kind=release.get("type", ""), name=release.get("name", ""))
    facts = charts.get(name)
    if facts is None:
        return [Finding("coverage", "unvendored-chart", subject,
                        f"chart {name} {inputs.get('version')} has no vendored facts under upstream/charts/: add a "
                        "recipe to tools/vendor_upstream/sources_k8s.py and run `python -m tools.vendor_upstream`")]
    source = f"{name} {facts.version} ({facts.source})"
    out = []
    if str(inputs.get("version")) != facts.version:
        out.append(Finding(VALIDATOR, source, subject,
                           f"release pins {name} {inputs.get('version')} but the vendored facts are for "
                           f"{facts.version}: vendor the pinned version", path="version"))
    values = inputs.get("values") or {}
    if not isinstance(values, Mapping):
        return out + [Finding(VALIDATOR, source, subject, "values is not a map", path="values")]
    knowledge = ChartKnowledge(facts)
    for path, message in value_errors(values, knowledge):
        out.append(Finding(VALIDATOR, source, subject, message, path=f"values.{path}"))
    for path, message in schema_errors(values, facts):
        out.append(Finding(VALIDATOR, source, subject, message, path=f"values.{path}"))
    return out


def check(plan: Mapping[str, Any]) -> Section:
    section = Section(VALIDATOR)
    for r in plan.get("resources") or []:
        if r.get("type") in RELEASE_TYPES:
            section.checked += 1
            section.findings += check_release(r)
    return section
