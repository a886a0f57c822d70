"""The best available schema check for every other custom resource we create.

No pinned PyPI package usable here ships models or OpenAPI schemas for
Karpenter, Kueue, the VPC CNI's ENIConfig or prometheus-operator's
ServiceMonitor (checked late 2026; Kubeflow's exist and are used in
kubeflow_models.py). For those we write STRUCTURAL schemas here, from the
CRDs' documented fields, required lists and enums (facts cited per CRD below;
nothing is copied from upstream files), as JSON Schema with
``additionalProperties: false`` wherever we list the fields, so a misspelt or
unknown field fails like kubernetes-validate's strict mode. Fields that embed
core types (taints, tolerations, label selectors, metadata) reference
kubernetes-validate's strict core definitions for the stack's Kubernetes
version. CEL rules (``x-kubernetes-validations``) we rely on are re-implemented
as small Python rules next to each schema.

Limits, stated so nobody over-trusts a green run: a field added upstream after
the version noted per CRD is reported as unknown (add it here with its source
when we start using it); server-side defaults and cross-object references
(a NodePool's nodeClassRef naming an existing EC2NodeClass) are checked only
where a rule below says so.

ServiceMonitor gets the same treatment. The pydantic models generated from
prometheus-operator's CRDs (``cloudcoil-models-prometheus-operator``) were
tried first, but their base package auto-loads a pytest plugin into the
project's test runs and only the 0.80 models install on Python 3.11, so the
schema below is written from the v1 ServiceMonitor API instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional

import jsonschema

from validators import k8s_schemas
from validators.k8s_schemas import FORMAT_CHECKER, QUANTITY_FORMAT, definition_ref, schema_errors
from validators.manifests import Manifest
from validators.models import Error
from validators.report import Finding

VALIDATOR = "crd-schema"

# --------------------------------------------------------------------------- schema helpers


def obj(properties: Mapping[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict:
    """A closed object: only the listed properties are allowed."""
    out = {"type": "object", "properties": dict(properties), "additionalProperties": False, **extra}
    if required:
        out["required"] = list(required)
    return out


def free_object(description: str) -> dict:
    """An object whose inner fields we do not model (only its type is checked)."""
    return {"type": "object", "description": description}


STR = {"type": "string"}
NONEMPTY = {"type": "string", "minLength": 1}
BOOL = {"type": "boolean"}
INT = {"type": "integer"}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITY = {"type": ["string", "integer", "number"], "format": QUANTITY_FORMAT}
DNS_SUBDOMAIN = {"type": "string", "maxLength": 253,
                 "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
LABEL_KEY = {"type": "string", "maxLength": 316,
             "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"}
LABEL_VALUE = {"type": "string", "maxLength": 63, "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"}
TAINT_EFFECT = {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]}

# --------------------------------------------------------------------------- Karpenter (karpenter.sh/v1, karpenter.k8s.aws/v1)
# Facts from the v1 CRDs in aws/karpenter-provider-aws (pkg/apis/crds/karpenter.sh_nodepools.yaml and
# karpenter.k8s.aws_ec2nodeclasses.yaml) and https://karpenter.sh/docs/concepts/{nodepools,nodeclasses}/:
# * NodePool.spec requires template; template.spec requires nodeClassRef (group, kind, name; none empty)
#   and requirements (<= 100; key + operator required; operator In|NotIn|Exists|DoesNotExist|Gt|Lt;
#   minValues 1..50). CEL: In needs values; Gt/Lt take exactly one non-negative integer; In with
#   minValues needs at least that many values.
# * taints/startupTaints: key + effect required, effect NoSchedule|PreferNoSchedule|NoExecute.
# * expireAfter: Go durations of s/m/h or "Never"; terminationGracePeriod: s/m/h durations.
# * disruption: consolidateAfter required (duration or Never); consolidationPolicy WhenEmpty |
#   WhenEmptyOrUnderutilized; budgets (<= 50): nodes required ("N" or "N%", N% <= 100), reasons
#   Underutilized|Empty|Drifted, schedule (cron) and duration (h/m) must be set together.
# * limits: resource name -> quantity; weight 1..100.
# * EC2NodeClass.spec requires amiSelectorTerms (1..30), securityGroupSelectorTerms and
#   subnetSelectorTerms (both non-empty, <= 30), and exactly one of role / instanceProfile.
#   amiFamily AL2|AL2023|Bottlerocket|Custom|Windows2019|Windows2022, required unless an alias term is
#   used; alias is "family@version" (family al2|al2023|bottlerocket|windows2019|windows2022, <= 30 chars)
#   and must be the only term; an id term (ami-...) excludes other fields. metadataOptions: httpEndpoint
#   and httpProtocolIPv6 enabled|disabled, httpTokens required|optional, hop limit 1..64.
#   blockDeviceMappings (<= 50, at most one rootVolume): ebs.volumeType standard|io1|io2|gp2|sc1|st1|gp3,
#   ebs needs volumeSize or snapshotID; instanceStorePolicy RAID0; tags may not use the
#   kubernetes.io/cluster/*, karpenter.sh/nodepool, karpenter.sh/managed-by, karpenter.sh/nodeclaim or
#   karpenter.k8s.aws/ec2nodeclass keys (Karpenter owns them).
# capacityReservationSelectorTerms (added in v1.3) is accepted as a list of objects without inner checks.

_DURATION = r"^([0-9]+(s|m|h))+$"
_TAINT = obj({"key": LABEL_KEY, "value": {"type": "string"}, "effect": TAINT_EFFECT,
              "timeAdded": {"type": "string"}}, required=("key", "effect"))
_SELECTOR_TAGS = {"type": "object", "additionalProperties": NONEMPTY, "maxProperties": 20,
                  "propertyNames": {"minLength": 1}}

NODEPOOL = obj({
    "template": obj({
        "metadata": obj({
            "labels": {"type": "object", "additionalProperties": LABEL_VALUE, "propertyNames": LABEL_KEY,
                       "maxProperties": 100},
            "annotations": STR_MAP,
        }),
        "spec": obj({
            "nodeClassRef": obj({"group": {"type": "string", "minLength": 1, "pattern": "^[^/]*$"},
                                 "kind": NONEMPTY, "name": NONEMPTY}, required=("group", "kind", "name")),
            "requirements": {"type": "array", "maxItems": 100, "items": obj({
                "key": LABEL_KEY,
                "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]},
                "values": {"type": "array", "items": LABEL_VALUE},
                "minValues": {"type": "integer", "minimum": 1, "maximum": 50},
            }, required=("key", "operator"))},
            "taints": {"type": "array", "items": _TAINT},
            "startupTaints": {"type": "array", "items": _TAINT},
            "expireAfter": {"type": "string", "pattern": r"^(([0-9]+(s|m|h))+|Never)$"},
            "terminationGracePeriod": {"type": "string", "pattern": _DURATION},
        }, required=("nodeClassRef", "requirements")),
    }, required=("spec",)),
    "disruption": obj({
        "consolidateAfter": {"type": "string", "pattern": r"^(([0-9]+(s|m|h))+|Never)$"},
        "consolidationPolicy": {"type": "string", "enum": ["WhenEmpty", "WhenEmptyOrUnderutilized"]},
        "budgets": {"type": "array", "maxItems": 50, "items": obj({
            "nodes": {"type": "string", "pattern": r"^((100|[0-9]{1,2})%|[0-9]+)$"},
            "reasons": {"type": "array", "items": {"type": "string", "enum": ["Underutilized", "Empty", "Drifted"]}},
            "schedule": {"type": "string"},
            "duration": {"type": "string", "pattern": r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$"},
        }, required=("nodes",))},
    }, required=("consolidateAfter",)),
    "limits": {"type": "object", "additionalProperties": QUANTITY},
    "weight": {"type": "integer", "minimum": 1, "maximum": 100},
}, required=("template",))


def _nodepool_rules(spec: Mapping[str, Any]) -> Iterator[Error]:
    reqs = (((spec.get("template") or {}).get("spec") or {}).get("requirements")) or []
    for i, r in enumerate(reqs if isinstance(reqs, list) else []):
        if not isinstance(r, dict):
            continue
        where = f"spec.template.spec.requirements[{i}]"
        values = r.get("values") or []
        op = r.get("operator")
        if op == "In" and not values:
            yield where, "requirements with operator 'In' must have a value defined"
        if op in ("Gt", "Lt") and not (len(values) == 1 and str(values[0]).isdigit()):
            yield where, f"operator {op} needs exactly one non-negative integer value"
        if op in ("Exists", "DoesNotExist") and values:
            yield where, f"operator {op} takes no values"
        if op == "In" and isinstance(r.get("minValues"), int) and len(values) < r["minValues"]:
            yield where, f"minValues {r['minValues']} but only {len(values)} values"
    budgets = ((spec.get("disruption") or {}).get("budgets")) or []
    for i, b in enumerate(budgets if isinstance(budgets, list) else []):
        if isinstance(b, dict) and ("schedule" in b) != ("duration" in b):
            yield f"spec.disruption.budgets[{i}]", "'schedule' must be set with 'duration'"


_AMI_FAMILIES = ("AL2", "AL2023", "Bottlerocket", "Custom", "Windows2019", "Windows2022")
_ALIAS_FAMILIES = ("al2", "al2023", "bottlerocket", "windows2019", "windows2022")
_RESTRICTED_TAGS = ("karpenter.sh/nodepool", "karpenter.sh/managed-by", "karpenter.sh/nodeclaim",
                    "karpenter.k8s.aws/ec2nodeclass")

EC2NODECLASS = obj({
    "amiFamily": {"type": "string", "enum": list(_AMI_FAMILIES)},
    "amiSelectorTerms": {"type": "array", "minItems": 1, "maxItems": 30, "items": obj({
        "alias": {"type": "string", "maxLength": 30, "pattern": r"^[a-zA-Z0-9]*@.*$"},
        "id": {"type": "string", "pattern": r"^ami-[0-9a-z]+$"},
        "name": STR, "owner": STR, "tags": _SELECTOR_TAGS,
    })},
    "associatePublicIPAddress": BOOL,
    "blockDeviceMappings": {"type": "array", "maxItems": 50, "items": obj({
        "deviceName": STR,
        "ebs": obj({
            "deleteOnTermination": BOOL, "encrypted": BOOL, "iops": INT, "kmsKeyID": STR, "snapshotID": STR,
            "throughput": INT,
            "volumeSize": {"type": "string", "pattern": r"^[0-9]+(Gi|G|Ti|T)$"},
            "volumeType": {"type": "string", "enum": ["standard", "io1", "io2", "gp2", "sc1", "st1", "gp3"]},
        }),
        "rootVolume": BOOL,
    })},
    "capacityReservationSelectorTerms": {"type": "array", "items": {"type": "object"}},
    "context": STR,
    "detailedMonitoring": BOOL,
    "instanceProfile": NONEMPTY,
    "instanceStorePolicy": {"type": "string", "enum": ["RAID0"]},
    "kubelet": obj({
        "clusterDNS": {"type": "array", "items": STR},
        "cpuCFSQuota": BOOL,
        "evictionHard": STR_MAP, "evictionSoft": STR_MAP, "evictionSoftGracePeriod": STR_MAP,
        "evictionMaxPodGracePeriod": INT,
        "imageGCHighThresholdPercent": {"type": "integer", "minimum": 0, "maximum": 100},
        "imageGCLowThresholdPercent": {"type": "integer", "minimum": 0, "maximum": 100},
        "kubeReserved": {"type": "object", "additionalProperties": QUANTITY},
        "systemReserved": {"type": "object", "additionalProperties": QUANTITY},
        "maxPods": {"type": "integer", "minimum": 0},
        "podsPerCore": {"type": "integer", "minimum": 0},
    }),
    "metadataOptions": obj({
        "httpEndpoint": {"type": "string", "enum": ["enabled", "disabled"]},
        "httpProtocolIPv6": {"type": "string", "enum": ["enabled", "disabled"]},
        "httpPutResponseHopLimit": {"type": "integer", "minimum": 1, "maximum": 64},
        "httpTokens": {"type": "string", "enum": ["required", "optional"]},
    }),
    "role": NONEMPTY,
    "securityGroupSelectorTerms": {"type": "array", "minItems": 1, "maxItems": 30, "items": obj({
        "id": {"type": "string", "pattern": r"^sg-[0-9a-z]+$"}, "name": STR, "tags": _SELECTOR_TAGS})},
    "subnetSelectorTerms": {"type": "array", "minItems": 1, "maxItems": 30, "items": obj({
        "id": {"type": "string", "pattern": r"^subnet-[0-9a-z]+$"}, "tags": _SELECTOR_TAGS})},
    "tags": STR_MAP,
    "userData": STR,
}, required=("amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"))


def _ec2nodeclass_rules(spec: Mapping[str, Any]) -> Iterator[Error]:
    if ("role" in spec) == ("instanceProfile" in spec):
        yield "spec", "must specify exactly one of ['role', 'instanceProfile']"
    terms = [t for t in (spec.get("amiSelectorTerms") or []) if isinstance(t, dict)]
    aliases = [t for t in terms if "alias" in t]
    for i, t in enumerate(terms):
        where = f"spec.amiSelectorTerms[{i}]"
        if not ({"tags", "id", "name", "alias"} & set(t)):
            yield where, "expected at least one of ['tags', 'id', 'name', 'alias']"
        if "id" in t and len(t) > 1:
            yield where, "'id' is mutually exclusive with the other fields of a term"
        if "alias" in t:
            if len(t) > 1:
                yield where, "'alias' is mutually exclusive with the other fields of a term"
            family = str(t["alias"]).split("@", 1)[0]
            if family not in _ALIAS_FAMILIES:
                yield f"{where}.alias", f"family {family!r} is not one of {', '.join(_ALIAS_FAMILIES)}"
            elif "amiFamily" in spec and spec["amiFamily"] not in ("Custom",) and \
                    spec["amiFamily"].lower() != family:
                yield "spec.amiFamily", f"must be {family!r}-compatible or 'Custom' when using an alias of {family}"
    if aliases and len(terms) != 1:
        yield "spec.amiSelectorTerms", "'alias' is mutually exclusive with other amiSelectorTerms"
    if not aliases and "amiFamily" not in spec:
        yield "spec.amiFamily", "must specify amiFamily if amiSelectorTerms does not contain an alias"
    for kind in ("securityGroupSelectorTerms", "subnetSelectorTerms"):
        for i, t in enumerate(spec.get(kind) or []):
            if isinstance(t, dict) and "id" in t and len(t) > 1:
                yield f"spec.{kind}[{i}]", "'id' is mutually exclusive with the other fields of a term"
            if isinstance(t, dict) and not t:
                yield f"spec.{kind}[{i}]", "a term needs tags, id (or name for security groups)"
    roots = 0
    for i, b in enumerate(spec.get("blockDeviceMappings") or []):
        if not isinstance(b, dict):
            continue
        roots += bool(b.get("rootVolume"))
        ebs = b.get("ebs")
        if isinstance(ebs, dict) and "volumeSize" not in ebs and "snapshotID" not in ebs:
            yield f"spec.blockDeviceMappings[{i}].ebs", "snapshotID or volumeSize must be defined"
    if roots > 1:
        yield "spec.blockDeviceMappings", "must have only one blockDeviceMappings with rootVolume"
    for key in (spec.get("tags") or {}):
        if key.startswith("kubernetes.io/cluster") or key in _RESTRICTED_TAGS:
            yield f"spec.tags.{key}", "tag key is restricted (Karpenter sets it itself)"


# --------------------------------------------------------------------------- Kueue (kueue.x-k8s.io/v1beta2)
# Facts from kubernetes-sigs/kueue apis/kueue/v1beta2 ({clusterqueue,localqueue,resourceflavor}_types.go)
# and https://kueue.sigs.k8s.io/docs/concepts/:
# * ClusterQueue.spec: resourceGroups (<= 16) of {coveredResources (1..64), flavors (1..64) of
#   {name, resources (1..64) of {name, nominalQuota (quantity, required), borrowingLimit,
#   lendingLimit}}}; CEL: every flavor lists as many resources as coveredResources (same order per the
#   docs); borrowingLimit must be unset without cohortName. cohortName: DNS subdomain.
#   queueingStrategy StrictFIFO|BestEffortFIFO; stopPolicy None|Hold|HoldAndDrain; namespaceSelector is a
#   LabelSelector. flavorFungibility, preemption, admissionChecksStrategy, fairSharing, admissionScope and
#   concurrentAdmissionPolicy are accepted as objects without inner checks (we set none of them).
# * LocalQueue.spec: clusterQueue (DNS subdomain, immutable), stopPolicy, fairSharing. The CRD does not
#   mark clusterQueue required, but a LocalQueue without one admits nothing and cannot be fixed in
#   place, so we require it.
# * ResourceFlavor.spec: nodeLabels (<= 8), nodeTaints (<= 8 core Taints), tolerations (<= 8 core
#   Tolerations), topologyName (needs at least one nodeLabel), resourceWeights (resource -> quantity).

_STOP_POLICY = {"type": "string", "enum": ["None", "Hold", "HoldAndDrain"]}

CLUSTERQUEUE = obj({
    "resourceGroups": {"type": "array", "maxItems": 16, "items": obj({
        "coveredResources": {"type": "array", "minItems": 1, "maxItems": 64, "items": NONEMPTY},
        "flavors": {"type": "array", "minItems": 1, "maxItems": 64, "items": obj({
            "name": DNS_SUBDOMAIN,
            "resources": {"type": "array", "minItems": 1, "maxItems": 64, "items": obj({
                "name": NONEMPTY, "nominalQuota": QUANTITY, "borrowingLimit": QUANTITY, "lendingLimit": QUANTITY,
            }, required=("name", "nominalQuota"))},
        }, required=("name", "resources"))},
    }, required=("coveredResources", "flavors"))},
    "cohortName": DNS_SUBDOMAIN,
    "queueingStrategy": {"type": "string", "enum": ["StrictFIFO", "BestEffortFIFO"]},
    "namespaceSelector": definition_ref("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    "flavorFungibility": free_object("whenCanBorrow / whenCanPreempt"),
    "preemption": free_object("preemption policies"),
    "admissionChecksStrategy": free_object("admission checks per flavor"),
    "stopPolicy": _STOP_POLICY,
    "fairSharing": free_object("fair sharing weight"),
    "admissionScope": free_object("admission fair sharing"),
    "concurrentAdmissionPolicy": free_object("concurrent admission"),
})


def _clusterqueue_rules(spec: Mapping[str, Any]) -> Iterator[Error]:
    for g, group in enumerate(spec.get("resourceGroups") or []):
        if not isinstance(group, dict):
            continue
        covered = group.get("coveredResources") or []
        for f, flavor in enumerate(group.get("flavors") or []):
            if not isinstance(flavor, dict):
                continue
            names = [r.get("name") for r in flavor.get("resources") or [] if isinstance(r, dict)]
            where = f"spec.resourceGroups[{g}].flavors[{f}].resources"
            if len(names) != len(covered):
                yield where, f"flavors must have the same number of resources as coveredResources ({len(covered)})"
            elif names != list(covered):
                yield where, f"resources {names} must match coveredResources {list(covered)} in order"
            for r, res in enumerate(flavor.get("resources") or []):
                if not isinstance(res, dict):
                    continue
                if "borrowingLimit" in res and not spec.get("cohortName"):
                    yield f"{where}[{r}].borrowingLimit", "borrowingLimit must be nil when cohortName is empty"
                q = res.get("nominalQuota")
                if isinstance(q, str) and q.startswith("-") or isinstance(q, (int, float)) and q < 0:
                    yield f"{where}[{r}].nominalQuota", "nominalQuota must be non-negative"


LOCALQUEUE = obj({"clusterQueue": DNS_SUBDOMAIN, "stopPolicy": _STOP_POLICY,
                  "fairSharing": free_object("fair sharing weight")}, required=("clusterQueue",))

RESOURCEFLAVOR = obj({
    "nodeLabels": {"type": "object", "additionalProperties": LABEL_VALUE, "propertyNames": LABEL_KEY,
                   "maxProperties": 8},
    "nodeTaints": {"type": "array", "maxItems": 8, "items": definition_ref("io.k8s.api.core.v1.Taint")},
    "tolerations": {"type": "array", "maxItems": 8, "items": definition_ref("io.k8s.api.core.v1.Toleration")},
    "topologyName": DNS_SUBDOMAIN,
    "resourceWeights": {"type": "object", "maxProperties": 16, "additionalProperties": QUANTITY},
})


def _resourceflavor_rules(spec: Mapping[str, Any]) -> Iterator[Error]:
    if spec.get("topologyName") and not spec.get("nodeLabels"):
        yield "spec.nodeLabels", "at least one nodeLabel is required when topologyName is set"
    for i, t in enumerate(spec.get("tolerations") or []):
        if isinstance(t, dict) and "tolerationSeconds" in t and t.get("effect") != "NoExecute":
            yield f"spec.tolerations[{i}]", "effect must be 'NoExecute' when 'tolerationSeconds' is set"
        if isinstance(t, dict) and "key" not in t and t.get("operator") != "Exists":
            yield f"spec.tolerations[{i}]", "operator must be Exists when 'key' is empty"


# --------------------------------------------------------------------------- VPC CNI (crd.k8s.amazonaws.com/v1alpha1)
# The ENIConfig CRD the VPC CNI installs declares no schema (x-kubernetes-preserve-unknown-fields), so
# the API server accepts anything; the CNI reads spec.subnet (the pod subnet, required for custom
# networking) and spec.securityGroups (optional list of security group IDs), per
# https://docs.aws.amazon.com/eks/latest/userguide/cni-custom-network.html. Anything else is ignored by
# the CNI, so we reject it here.

ENICONFIG = obj({
    "subnet": {"type": "string", "pattern": r"^subnet-[0-9a-f]+$"},
    "securityGroups": {"type": "array", "items": {"type": "string", "pattern": r"^sg-[0-9a-f]+$"}},
}, required=("subnet",))

# --------------------------------------------------------------------------- prometheus-operator (monitoring.coreos.com/v1)
# Facts from the ServiceMonitor API (prometheus-operator Documentation/api-reference, and the field list of
# the models generated from its v0.80 CRD): spec requires selector (a LabelSelector) and endpoints;
# namespaceSelector is {any, matchNames}; each endpoint's scheme is http|https, interval/scrapeTimeout are
# Prometheus durations, relabelings/metricRelabelings are relabel configs whose action is one of replace,
# keep, drop, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase, keepequal, dropequal (either
# case). Authentication and TLS blocks are accepted as objects without inner checks (we set none).

_PROM_DURATION = {"type": "string",
                  "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_RELABEL_ACTIONS = ["replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase",
                    "uppercase", "keepequal", "dropequal"]
_RELABEL = obj({
    "action": {"type": "string", "enum": _RELABEL_ACTIONS + [a.capitalize() for a in _RELABEL_ACTIONS]
               + ["HashMod", "LabelMap", "LabelDrop", "LabelKeep", "KeepEqual", "DropEqual"]},
    "modulus": INT, "regex": STR, "replacement": STR, "separator": STR,
    "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"}},
    "targetLabel": STR,
})
_SCRAPE_PROTOCOLS = ["PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0", "PrometheusText0.0.4",
                     "PrometheusText1.0.0"]

SERVICEMONITOR = obj({
    "selector": definition_ref("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    "namespaceSelector": obj({"any": BOOL, "matchNames": {"type": "array", "items": STR}}),
    "endpoints": {"type": "array", "items": obj({
        "port": STR, "targetPort": {"type": ["integer", "string"]}, "path": STR,
        "scheme": {"type": "string", "enum": ["http", "https"]},
        "interval": _PROM_DURATION, "scrapeTimeout": _PROM_DURATION,
        "params": {"type": "object", "additionalProperties": {"type": "array", "items": STR}},
        "honorLabels": BOOL, "honorTimestamps": BOOL, "trackTimestampsStaleness": BOOL,
        "relabelings": {"type": "array", "items": _RELABEL},
        "metricRelabelings": {"type": "array", "items": _RELABEL},
        "proxyUrl": STR, "followRedirects": BOOL, "enableHttp2": BOOL, "filterRunning": BOOL,
        "bearerTokenFile": STR,
        "authorization": free_object("credentials reference"), "basicAuth": free_object("secret references"),
        "bearerTokenSecret": free_object("secret key reference"), "oauth2": free_object("OAuth2 client"),
        "tlsConfig": free_object("TLS settings"),
    })},
    "jobLabel": STR, "targetLabels": {"type": "array", "items": STR},
    "podTargetLabels": {"type": "array", "items": STR},
    "sampleLimit": INT, "targetLimit": INT, "labelLimit": INT, "labelNameLengthLimit": INT,
    "labelValueLengthLimit": INT, "keepDroppedTargets": INT, "bodySizeLimit": STR,
    "scrapeProtocols": {"type": "array", "items": {"type": "string", "enum": _SCRAPE_PROTOCOLS}},
    "fallbackScrapeProtocol": {"type": "string", "enum": _SCRAPE_PROTOCOLS},
    "scrapeClassicHistograms": BOOL, "nativeHistogramBucketLimit": INT,
    "nativeHistogramMinBucketFactor": {"type": ["string", "number", "integer"]},
    "attachMetadata": obj({"node": BOOL}), "scrapeClass": STR,
    "selectorMechanism": {"type": "string", "enum": ["RelabelConfig", "RoleSelector"]},
}, required=("selector", "endpoints"))

# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class CrdSchema:
    """A structural check for one (group, version, kind)."""

    source: str  # what the facts come from (shown in reports)
    spec: Optional[dict] = None  # JSON schema of .spec
    rules: Callable[[Mapping[str, Any]], Iterator[Error]] = lambda spec: iter(())
    spec_required: bool = True
    top_level: tuple[str, ...] = ("apiVersion", "kind", "metadata", "spec")


SCHEMAS: dict[tuple[str, str, str], CrdSchema] = {
    ("karpenter.sh", "v1", "NodePool"): CrdSchema("Karpenter v1 NodePool CRD (structural)", NODEPOOL,
                                                 _nodepool_rules),
    ("karpenter.k8s.aws", "v1", "EC2NodeClass"): CrdSchema("Karpenter v1 EC2NodeClass CRD (structural)",
                                                          EC2NODECLASS, _ec2nodeclass_rules),
    ("kueue.x-k8s.io", "v1beta2", "ClusterQueue"): CrdSchema("Kueue v1beta2 ClusterQueue (structural)",
                                                            CLUSTERQUEUE, _clusterqueue_rules),
    ("kueue.x-k8s.io", "v1beta2", "LocalQueue"): CrdSchema("Kueue v1beta2 LocalQueue (structural)", LOCALQUEUE),
    ("kueue.x-k8s.io", "v1beta2", "ResourceFlavor"): CrdSchema("Kueue v1beta2 ResourceFlavor (structural)",
                                                              RESOURCEFLAVOR, _resourceflavor_rules,
                                                              spec_required=False),
    ("crd.k8s.amazonaws.com", "v1alpha1", "ENIConfig"): CrdSchema("VPC CNI ENIConfig (structural)", ENICONFIG),
    ("monitoring.coreos.com", "v1", "ServiceMonitor"): CrdSchema("prometheus-operator v1 ServiceMonitor (structural)",
                                                                SERVICEMONITOR),
}

#: Groups whose other versions/kinds we know about but do not model: reported, never silently passed.
KNOWN_GROUPS = {g for g, _, _ in SCHEMAS}


@functools.lru_cache(maxsize=32)
def _spec_validator(key: tuple[str, str, str], kubernetes_version: str) -> jsonschema.Draft202012Validator:
    schema = SCHEMAS[key].spec
    return jsonschema.Draft202012Validator(schema, registry=k8s_schemas.registry(kubernetes_version),
                                           format_checker=FORMAT_CHECKER)


@functools.lru_cache(maxsize=4)
def _metadata_validator(kubernetes_version: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(definition_ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                                           registry=k8s_schemas.registry(kubernetes_version),
                                           format_checker=FORMAT_CHECKER)


def handles(m: Manifest) -> bool:
    return (m.group, m.version, m.kind) in SCHEMAS


def check(m: Manifest, kubernetes_version: str) -> list[Finding]:
    """Structural check of one custom resource (call only when :func:`handles` is true)."""
    errors: list[Error] = []
    key = (m.group, m.version, m.kind)
    crd = SCHEMAS[key]
    check_name = crd.source
    for k in m.obj:
        if k not in crd.top_level:
            errors.append((k, f"unknown top-level field {k!r}"))
    errors += list(schema_errors(_metadata_validator(kubernetes_version), dict(m.metadata), prefix="metadata"))
    spec = m.obj.get("spec")
    if spec is None:
        if crd.spec_required:
            errors.append(("spec", "spec is required"))
    elif not isinstance(spec, dict):
        errors.append(("spec", f"expected an object, got {type(spec).__name__}"))
    else:
        schema_errs = list(schema_errors(_spec_validator(key, kubernetes_version), spec, prefix="spec"))
        errors += schema_errs
        if not schema_errs:  # CEL-like rules assume the shape is right
            errors += list(crd.rules(spec))
    return [Finding(VALIDATOR, check_name, m.subject, message, path=path) for path, message in errors]


def unsupported(m: Manifest) -> Finding:
    """A custom resource nothing here can validate: fail loudly instead of passing it unchecked."""
    if m.group in KNOWN_GROUPS or m.group in ("trainer.kubeflow.org", "kubeflow.org"):
        why = (f"{m.api_version} {m.kind} is not a version/kind the validators model; add it to "
               "validators/crds.py (or kubeflow_models.py) with its source")
    else:
        why = (f"no schema is available for {m.api_version} {m.kind}: add a structural schema to "
               "validators/crds.py (or pinned published models) before applying it")
    return Finding("coverage", "unvalidated-custom-resource", m.subject, why)
