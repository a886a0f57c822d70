"""Kubernetes facts: the CRDs whose objects the program creates, and every pinned Helm chart.

CRDs are kept as the API server sees them (``openAPIV3Schema`` with its
``x-kubernetes-*`` extensions, CEL rules, defaults, enums, required lists)
with every schema ``description`` dropped. Charts are kept as facts: the
``Chart.yaml`` fields that identify a build (version, appVersion,
dependencies), the default values (comments dropped), and the value paths the
templates read or pass through (:mod:`tools.vendor_upstream.helm_templates`).

Chart sources follow ``components/versions.py``: a chart is vendored at the
version its pin names, so a pin can only move to a version whose files exist
upstream (``python -m tools.vendor_upstream`` fails otherwise), and the tests
compare every pin with the vendored ``chart.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

import yaml

from tools.vendor_upstream import Source, transform
from tools.vendor_upstream.helm_templates import scan

try:  # libyaml keeps vendoring and loading the large CRDs fast
    _Dumper: Any = yaml.CSafeDumper
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Dumper, _Loader = yaml.SafeDumper, yaml.SafeLoader


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096,
                     allow_unicode=True)


# --------------------------------------------------------------------------- schema facts

#: Keys of a schema node whose value is one schema / a list of schemas / a map of schemas.
_ONE = ("items", "not", "additionalProperties", "additionalItems", "contains", "propertyNames", "if", "then",
        "else")
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
#: Prose in a schema node (descriptions, titles, examples, doc links): dropped.
_PROSE = ("description", "title", "example", "examples", "externalDocs", "$comment")


def strip_schema(node: Any) -> Any:
    """A JSON/OpenAPI schema without its prose; property *names* such as ``description`` are kept."""
    if isinstance(node, list):
        return [strip_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _PROSE:
            continue
        if key in _MAP and isinstance(value, dict):
            out[key] = {name: strip_schema(sub) for name, sub in value.items()}
        elif key in _ONE or key in _MANY:
            out[key] = strip_schema(value)
        else:
            out[key] = value  # enum, default, required, x-kubernetes-validations, ...
    return out


@transform("crd")
def crd_facts(raw: bytes, src: Source) -> str:
    """One CRD: names, scope and, per version, the schema and subresources (no descriptions)."""
    want = src.option("name")
    docs = [d for d in yaml.load_all(raw, Loader=_Loader)
            if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    if want:
        docs = [d for d in docs if d["metadata"]["name"] == want]
    if len(docs) != 1:
        raise SystemExit(f"{src.dest}: expected one CustomResourceDefinition{f' named {want}' if want else ''}, "
                         f"found {len(docs)}")
    crd = docs[0]
    spec = crd["spec"]
    versions = []
    for v in spec["versions"]:
        keep = {k: v[k] for k in ("name", "served", "storage", "deprecated", "deprecationWarning") if k in v}
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        keep["schema"] = {"openAPIV3Schema": strip_schema(schema) if schema else {"type": "object",
                                                                                     "x-kubernetes-preserve-unknown-fields": True}}
        if "subresources" in v:
            keep["subresources"] = v["subresources"]
        if "selectableFields" in v:
            keep["selectableFields"] = v["selectableFields"]
        versions.append(keep)
    out = {
        "apiVersion": crd["apiVersion"],
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd["metadata"]["name"]},
        "spec": {k: spec[k] for k in ("group", "names", "scope", "preserveUnknownFields") if k in spec}
        | {"versions": versions},
    }
    return dump_yaml(out)


# --------------------------------------------------------------------------- chart facts


@transform("chart-meta")
def chart_meta(raw: bytes, src: Source) -> str:
    """Chart.yaml facts. Charts whose release job stamps version/appVersion (``stamped_by``) record both."""
    chart = yaml.load(raw, Loader=_Loader)
    keys = ("apiVersion", "name", "version", "appVersion", "kubeVersion", "type")
    out: dict[str, Any] = {k: chart[k] for k in keys if k in chart}
    deps = []
    for d in chart.get("dependencies") or []:
        deps.append({k: d[k] for k in ("name", "alias", "version", "repository", "condition", "tags",
                                        "import-values") if k in d})
    if deps:
        out["dependencies"] = deps
    stamped_by = src.option("stamped_by")
    if stamped_by:
        out["inTree"] = {k: chart.get(k) for k in ("version", "appVersion")}
        out["version"] = src.option("version")
        out["appVersion"] = src.option("app_version")
        out["stampedBy"] = stamped_by
    return dump_yaml(out)


@transform("chart-values")
def chart_values(raw: bytes, src: Source) -> str:
    """The chart's default values as data: every key path with its type and default, comments dropped."""
    values = yaml.load(raw, Loader=_Loader) or {}
    if not isinstance(values, dict):
        raise SystemExit(f"{src.dest}: values.yaml is not a mapping")
    return dump_yaml(values)


@transform("chart-values-in-tree")
def chart_values_in_tree(raw: bytes, src: Source) -> str:
    """A chart's default values read from its whole tree: its values.yaml, or empty when it ships none."""
    files = json.loads(raw)
    return chart_values(str(files.get("values.yaml") or "").encode(), src)


@transform("chart-templates")
def chart_templates(raw: bytes, src: Source) -> str:
    """Value paths the chart's templates read and pass through whole (see helm_templates)."""
    files = json.loads(raw)
    facts = scan(files).as_dict()
    scanned = sorted(n for n in files if n.startswith("templates/"))
    out = {
        "templates": len(scanned),
        "shipsValuesSchema": "values.schema.json" in files,
        "reads": facts["reads"],
        "whole": facts["whole"],
    }
    return dump_yaml(out)


@transform("json-schema")
def json_schema(raw: bytes, _src: Source) -> str:
    return json.dumps(strip_schema(json.loads(raw)), indent=1, sort_keys=True)


# --------------------------------------------------------------------------- CRDs


def _crd(project: str, repo: str, ref: str, path: str, dest_name: str, name: Optional[str] = None) -> Source:
    return Source(dest=f"crds/{project}/{dest_name}", repo=repo, ref=ref, path=path, transform="crd", kind="crd",
                  options=(("name", name),) if name else ())


KARPENTER_REF = "v1.14.1"
KUEUE_REF = "v0.19.2"
TRAINER_REF = "v2.3.0"
JOBSET_REF = "v0.12.0"           # the JobSet the kubeflow-trainer 2.3.0 chart depends on
TRAINING_OPERATOR_REF = "v1.9.3"  # versions.HELM_CHARTS["training-operator"]
KPS_REF = "kube-prometheus-stack-88.5.3"
VPC_CNI_REF = "v1.23.0"          # newest tag in the mirror; the EKS add-on pin is v1.23.2 (see README)
LBC_REF = "v3.5.0"
def _keda_version() -> str:
    """The pinned KEDA operator release (chart and operator share it): its CRDs and scaler facts follow the pin."""
    from components import versions

    return versions.HELM_CHARTS["keda"].app_version


KEDA_VERSION = _keda_version()

CRDS: list[Source] = [
    *[_crd("karpenter", "aws/karpenter-provider-aws", KARPENTER_REF, f"pkg/apis/crds/{f}", f)
      for f in ("karpenter.sh_nodepools.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml")],
    *[_crd("kueue", "kubernetes-sigs/kueue", KUEUE_REF, f"config/components/crd/bases/kueue.x-k8s.io_{p}.yaml",
           f"kueue.x-k8s.io_{p}.yaml")
      for p in ("clusterqueues", "localqueues", "resourceflavors", "cohorts", "workloadpriorityclasses")],
    *[_crd("trainer", "kubeflow/trainer", TRAINER_REF, f"manifests/base/crds/trainer.kubeflow.org_{p}.yaml",
           f"trainer.kubeflow.org_{p}.yaml")
      for p in ("trainjobs", "trainingruntimes", "clustertrainingruntimes")],
    _crd("jobset", "kubernetes-sigs/jobset", JOBSET_REF, "config/components/crd/bases/jobset.x-k8s.io_jobsets.yaml",
         "jobset.x-k8s.io_jobsets.yaml"),
    _crd("training-operator", "kubeflow/trainer", TRAINING_OPERATOR_REF,
         "manifests/base/crds/kubeflow.org_pytorchjobs.yaml", "kubeflow.org_pytorchjobs.yaml"),
    *[_crd("prometheus-operator", "prometheus-community/helm-charts", KPS_REF,
           f"charts/kube-prometheus-stack/charts/crds/crds/crd-{p}.yaml", f"monitoring.coreos.com_{p}.yaml")
      for p in ("servicemonitors", "podmonitors", "prometheusrules")],
    _crd("vpc-cni", "aws/amazon-vpc-cni-k8s", VPC_CNI_REF, "charts/aws-vpc-cni/crds/customresourcedefinition.yaml",
         "crd.k8s.amazonaws.com_eniconfigs.yaml", name="eniconfigs.crd.k8s.amazonaws.com"),
    *[_crd("aws-load-balancer-controller", "kubernetes-sigs/aws-load-balancer-controller", LBC_REF,
           f"config/crd/bases/elbv2.k8s.aws_{p}.yaml", f"elbv2.k8s.aws_{p}.yaml")
      for p in ("ingressclassparams", "targetgroupbindings")],
    *[_crd("keda", "kedacore/keda", f"v{KEDA_VERSION}", f"config/crd/bases/keda.sh_{p}.yaml", f"keda.sh_{p}.yaml")
      for p in ("scaledobjects", "scaledjobs", "triggerauthentications", "clustertriggerauthentications")],
]


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class ChartRecipe:
    """Where a chart's source lives upstream, per version."""

    repo: str
    directory: str
    ref: Callable[[str], str]  # chart version -> git ref
    #: Release script that rewrites version/appVersion when packaging (the tree keeps placeholders);
    #: with app_version(chart version) -> the appVersion it stamps.
    stamped_by: str = ""
    app_version: Callable[[str], str] = lambda v: v
    #: False for a chart that ships no values.yaml (its defaults are empty): read from the chart's tree instead.
    values_file: bool = True


#: chart name -> recipe. Keys are chart names as published (HelmChartPin.chart), not table keys.
RECIPES: dict[str, ChartRecipe] = {
    "aws-load-balancer-controller": ChartRecipe("kubernetes-sigs/aws-load-balancer-controller",
                                                "helm/aws-load-balancer-controller", lambda v: f"v{v}"),
    "karpenter": ChartRecipe("aws/karpenter-provider-aws", "charts/karpenter", lambda v: f"v{v}",
                             stamped_by="hack/release/common.sh (publishHelmChart: yq .version/.appVersion)"),
    "cluster-autoscaler": ChartRecipe("kubernetes/autoscaler", "cluster-autoscaler/charts/cluster-autoscaler",
                                      lambda v: f"cluster-autoscaler-chart-{v}"),
    "nvidia-device-plugin": ChartRecipe("NVIDIA/k8s-device-plugin", "deployments/helm/nvidia-device-plugin",
                                        lambda v: f"v{v}"),
    "gpu-operator": ChartRecipe("NVIDIA/gpu-operator", "deployments/gpu-operator", lambda v: v,
                                stamped_by=".github/workflows/publish-helm-oci-chart.yaml (helm package --version "
                                           "--app-version)"),
    # dcgm-exporter tags are <DCGM>-<exporter>; the chart is released at the exporter version.
    "dcgm-exporter": ChartRecipe("NVIDIA/dcgm-exporter", "deployment", {"4.8.1": "4.5.2-4.8.1",
                                                                        "4.8.2": "4.5.3-4.8.2"}.__getitem__),
    "metrics-server": ChartRecipe("kubernetes-sigs/metrics-server", "charts/metrics-server",
                                  lambda v: f"metrics-server-helm-chart-{v}"),
    "kube-prometheus-stack": ChartRecipe("prometheus-community/helm-charts", "charts/kube-prometheus-stack",
                                         lambda v: f"kube-prometheus-stack-{v}"),
    "kubeflow-trainer": ChartRecipe("kubeflow/trainer", "charts/kubeflow-trainer", lambda v: f"v{v}"),
    "kueue": ChartRecipe("kubernetes-sigs/kueue", "charts/kueue", lambda v: f"v{v}"),
    # eks-charts tags the whole repository (v0.0.N); the first tag whose Chart.yaml carries the version.
    "aws-efa-k8s-device-plugin": ChartRecipe("aws/eks-charts", "stable/aws-efa-k8s-device-plugin",
                                             {"v0.5.7": "v0.0.188", "v0.5.30": "v0.0.241"}.__getitem__),
    "aws-fsx-csi-driver": ChartRecipe("kubernetes-sigs/aws-fsx-csi-driver", "charts/aws-fsx-csi-driver",
                                      lambda v: f"helm-chart-aws-fsx-csi-driver-{v}"),
    "keda": ChartRecipe("kedacore/charts", "keda", lambda v: f"v{v}"),
    # CRD-only charts, for when they are pinned (Helm never upgrades CRDs from a chart's crds/ folder).
    "karpenter-crd": ChartRecipe("aws/karpenter-provider-aws", "charts/karpenter-crd", lambda v: f"v{v}",
                                 stamped_by="hack/release/common.sh (publishHelmChart: yq .version/.appVersion)"),
    "prometheus-operator-crds": ChartRecipe("prometheus-community/helm-charts", "charts/prometheus-operator-crds",
                                            lambda v: f"prometheus-operator-crds-{v}"),
    # subcharts
    # prometheus-operator-crds packages its CRD templates as a local subchart (version 0.0.0, no values.yaml).
    "crds": ChartRecipe("prometheus-community/helm-charts", "charts/prometheus-operator-crds/charts/crds",
                        {"0.0.0": "prometheus-operator-crds-31.0.1"}.__getitem__, values_file=False),
    "jobset": ChartRecipe("kubernetes-sigs/jobset", "charts/jobset", lambda v: f"v{v}",
                          stamped_by="hack/helm-chart-package.sh (helm package --version --app-version)",
                          app_version=lambda v: f"v{v}"),
    "grafana": ChartRecipe("grafana-community/helm-charts", "charts/grafana", lambda v: f"grafana-{v}"),
    # The GPU Operator packages its node-feature-discovery dependency from its own charts/ folder.
    "node-feature-discovery": ChartRecipe("NVIDIA/gpu-operator", "deployments/gpu-operator/charts/node-feature-discovery",
                                          {"0.19.0": "v26.7.0"}.__getitem__),
    "prometheus-node-exporter": ChartRecipe("prometheus-community/helm-charts", "charts/prometheus-node-exporter",
                                            lambda v: f"prometheus-node-exporter-{v}"),
    "kube-state-metrics": ChartRecipe("prometheus-community/helm-charts", "charts/kube-state-metrics",
                                      lambda v: f"kube-state-metrics-{v}"),
}

#: Pins that have no chart to vendor, and why (their ``source`` says so too).
NO_CHART = {
    "training-operator": "no upstream Helm chart: a kustomize overlay (its PyTorchJob CRD is vendored at the tag)",
}

#: Charts vendored ahead of a pin (another change adds the pin at this version).
AHEAD_OF_PIN: dict[str, str] = {}

#: Subcharts whose values our releases may set: parent chart -> [(dependency name, version)]. The versions
#: are the parent's Chart.yaml dependencies at the pinned parent version (a test compares them).
SUBCHARTS: dict[str, list[tuple[str, str]]] = {
    "kube-prometheus-stack": [("grafana", "12.11.1"), ("prometheus-node-exporter", "4.56.1"),
                              ("kube-state-metrics", "8.4.0")],
    "kubeflow-trainer": [("jobset", "0.12.0")],
    "gpu-operator": [("node-feature-discovery", "0.19.0")],
    "prometheus-operator-crds": [("crds", "0.0.0")],
}

#: Charts that ship a values.schema.json (recorded by the chart-templates facts; a test keeps them in step).
SHIPS_VALUES_SCHEMA: set[str] = {"charts/gpu-operator/charts/node-feature-discovery"}


def chart_sources(chart: str, version: str, dest: str) -> list[Source]:
    r = RECIPES[chart]
    ref = r.ref(version)
    opts: tuple = ()
    if r.stamped_by:
        opts = (("stamped_by", r.stamped_by), ("version", version), ("app_version", r.app_version(version)))
    out = [
        Source(dest=f"{dest}/chart.yaml", repo=r.repo, ref=ref, path=f"{r.directory}/Chart.yaml",
               transform="chart-meta", kind="chart", options=opts),
        Source(dest=f"{dest}/values.yaml", repo=r.repo, ref=ref,
               path=f"{r.directory}/values.yaml" if r.values_file else f"{r.directory}/",
               transform="chart-values" if r.values_file else "chart-values-in-tree", kind="chart-values"),
        Source(dest=f"{dest}/templates.yaml", repo=r.repo, ref=ref, path=f"{r.directory}/",
               transform="chart-templates", kind="chart-templates"),
    ]
    if dest in SHIPS_VALUES_SCHEMA:
        out.append(Source(dest=f"{dest}/values.schema.json", repo=r.repo, ref=ref,
                          path=f"{r.directory}/values.schema.json", transform="json-schema", kind="chart-schema"))
    return out


def _chart_versions() -> dict[str, str]:
    from components import versions

    out = dict(AHEAD_OF_PIN)
    for key, pin in versions.HELM_CHARTS.items():
        if key in NO_CHART:
            continue
        out[pin.chart] = pin.version
    # The CRD charts installed apart from their controllers (components/crds.py) are releases too.
    for pin in versions.CRD_CHARTS.values():
        out[pin.chart] = pin.version
    return out


#: Pinned charts with no recipe yet: not vendored, so the pin tests and `make validate` fail for them
#: (listing them here instead of failing at import keeps every other source usable).
MISSING_RECIPES: dict[str, str] = {}


def _charts() -> list[Source]:
    out: list[Source] = []
    for chart, version in sorted(_chart_versions().items()):
        if chart not in RECIPES:
            MISSING_RECIPES[chart] = version
            continue
        out += chart_sources(chart, version, f"charts/{chart}")
        for sub, sub_version in SUBCHARTS.get(chart, []):
            out += chart_sources(sub, sub_version, f"charts/{chart}/charts/{sub}")
    return out


SOURCES: list[Source] = CRDS + _charts()
WARNINGS = [f"chart {c} {v} is pinned but sources_k8s.RECIPES has no recipe for it: not vendored"
            for c, v in sorted(MISSING_RECIPES.items())]
