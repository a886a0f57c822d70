"""Config validation: every bad value stops the program with one line naming the key."""

from __future__ import annotations

import copy

import pytest

from components import versions
from components.config import ConfigError, load_config
from tests.helpers import minimal_config

BASE = {
    "nodeGroups": {
        "system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3},
        "gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2},
    },
    "teams": {"research": {"gpu": 2}},
}


def with_(path: str, value):
    """BASE with the value at dotted ``path`` replaced (None deletes it)."""
    cfg = copy.deepcopy(BASE)
    keys = path.split(".")
    cur = cfg
    for k in keys[:-1]:
        cur = cur.setdefault(k, {})
    if value is None:
        cur.pop(keys[-1], None)
    else:
        cur[keys[-1]] = value
    return cfg


BAD = [
    # (values, key named in the message, reason fragment)
    (with_("vpcCidr", "10.0.0.0/33"), "vpcCidr", "not a valid IPv4 CIDR"),
    (with_("vpcCidr", "10.0.0.1/16"), "vpcCidr", "not a valid IPv4 CIDR"),
    (with_("vpcCidr", "10.0.0.0/8"), "vpcCidr", "/16 to /24"),
    (with_("podCidr", "10.0.128.0/17"), "podCidr", "overlaps vpcCidr"),
    (with_("podCidr", "8.8.0.0/16"), "podCidr", "RFC 1918"),
    (with_("azCount", 1), "azCount", "between 2 and 6"),
    (with_("azCount", 7), "azCount", "between 2 and 6"),
    (with_("azCount", "three"), "azCount", "must be an integer"),
    (with_("nodeGroups.gpu.minSize", 3), "nodeGroups.gpu.maxSize", "must be >= minSize (3)"),
    (with_("nodeGroups.gpu.desiredSize", 5), "nodeGroups.gpu.desiredSize", "between minSize (0) and maxSize (2)"),
    (with_("nodeGroups.gpu.amiType", "AL2023_x86_64_STANDARD"), "nodeGroups.gpu.amiType", "no NVIDIA driver"),
    (with_("nodeGroups.system.amiType", "AL2023_x86_64_NVIDIA"), "nodeGroups.system.amiType", "no NVIDIA GPU"),
    (with_("nodeGroups.system.amiType", "AL2023_ARM_64_STANDARD"), "nodeGroups.system.amiType", "is x86_64 but"),
    (with_("nodeGroups.gpu.amiType", "AL2_x86_64_GPU"), "nodeGroups.gpu.amiType", "not supported"),
    (with_("nodeGroups.gpu.instanceTypes", ["g5.xlarge", "m6i.large"]), "nodeGroups.gpu.instanceTypes", "mixes"),
    (with_("nodeGroups.gpu.instanceTypes", ["z9.huge"]), "nodeGroups.gpu.instanceTypes[0]", "not an EC2 instance type"),
    (with_("nodeGroups.gpu.diskSizeGiB", 50), "nodeGroups.gpu.diskSizeGiB", "at least 100 GiB"),
    (with_("nodeGroups.gpu.efa", True), "nodeGroups.gpu.instanceTypes[0]", "no EFA interface"),
    (with_("nodeGroups.gpu.maxSze", 3), "nodeGroups.gpu.maxSze", "did you mean maxSize"),
    (with_("nodeGroups.system.capacityType", "SPOT"), "nodeGroups.system.capacityType", "must be ON_DEMAND"),
    (with_("nodeGroups.system.minSize", 0), "nodeGroups.system.minSize", "at least one node"),
    (with_("nodeGroups.GPU", {"instanceTypes": ["g5.xlarge"], "maxSize": 1}), "nodeGroups.GPU", "lowercase"),
    (with_("nodeGroups.byo", {"kind": "self-managed", "instanceTypes": ["m6i.large"], "maxSize": 1}),
     "nodeGroups.byo.amiId", "is required"),
    (with_("nodeGroups.byo", {"kind": "self-managed", "amiId": "ami-12", "instanceTypes": ["m6i.large"], "maxSize": 1}),
     "nodeGroups.byo.amiId", "not a valid AMI ID"),
    (with_("nodeGroups.system.role", "gpu"), "nodeGroups.system.role", "no NVIDIA GPU"),
    (with_("nodeGroups", {"gpu": {"instanceTypes": ["g5.xlarge"], "maxSize": 1}}), "nodeGroups", "no pool has role system"),
    (with_("kubernetesVersion", "1.20"), "kubernetesVersion", "not supported"),
    (with_("endpointPublicAccess", True), "publicAccessCidrs", "must list the allowed CIDRs"),
    ({**with_("endpointPublicAccess", True), "publicAccessCidrs": ["0.0.0.0/0"]}, "publicAccessCidrs[0]", "whole internet"),
    (with_("publicAccessCidrs", ["203.0.113.0/24"]), "publicAccessCidrs", "endpointPublicAccess is false"),
    (with_("adminRoleArns", ["arn:aws:iam::12:role/x"]), "adminRoleArns[0]", "not a valid IAM role ARN"),
    (with_("logRetentionDays", 10), "logRetentionDays", "must be one of 1, 3, 5"),
    (with_("natStrategy", "two"), "natStrategy", "must be one of"),
    (with_("identityMode", "kiam"), "identityMode", "must be one of"),
    (with_("fsxLustre", True), "fsxLustre", "needs fsxCsi"),
    ({**with_("fsxLustre", True), "fsxCsi": True, "fsxLustreCapacityGiB": 1300}, "fsxLustreCapacityGiB", "multiple of 2400"),
    (with_("fsxLustreThroughputPerTiB", 300), "fsxLustreThroughputPerTiB", "must be one of"),
    (with_("karpenterGpuInstanceFamilies", ["m6i"]), "karpenterGpuInstanceFamilies[0]", "not an NVIDIA GPU"),
    (with_("karpenterExpireAfter", "30 days"), "karpenterExpireAfter", "duration"),
    (with_("dcgmExporter", True), "dcgmExporter", "needs prometheus"),
    (with_("teams.default", {}), "teams.default", "not a system namespace"),
    (with_("teams.research.cpu", "lots"), "teams.research.cpu", "not a Kubernetes quantity"),
    (with_("teams.research.group", "system:masters"), "teams.research.group", "system: groups"),
    (with_("inferenceEndpoints.api", {"team": "nobody"}), "inferenceEndpoints.api.team", "not a team"),
    (with_("inferenceEndpoints.api", {"team": "research", "placement": "fargate"}),
     "inferenceEndpoints.api.placement", "not matched by any Fargate profile"),
    (with_("inferenceEndpoints.api", {"team": "research", "internal": False}),
     "inferenceEndpoints.api.certificateArn", "must terminate TLS"),
    (with_("inferenceEndpoints.api", {"team": "research", "image": "nginx:latest"}),
     "inferenceEndpoints.api.image", "registry/repository:tag"),
    (with_("inferenceEndpoints.api", {"team": "research", "gpus": 1}), "inferenceEndpoints.api.placement", "placement gpu"),
    (with_("trainingJobs.t", {"team": "research", "kind": "PyTorchJob"}), "trainingJobs.t.kind", "legacyTrainingOperator"),
    (with_("trainingJobs.t", {"team": "research", "volume": "fsx"}), "trainingJobs.t.volume", "fsxLustre"),
    (with_("existingWorkloads.w", {"team": "research", "source": "manifests", "path": "no/such/dir"}),
     "existingWorkloads.w.path", "does not exist"),
    (with_("tags", {"aws:owner": "x"}), "tags.aws:owner", "may not start with aws:"),
    (with_("unknownKey", 1), "unknownKey", "unknown setting"),
]


@pytest.mark.parametrize("values,key,reason", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_bad_value_names_key_and_reason(values, key, reason):
    with pytest.raises(ConfigError) as info:
        load_config(values, stack="test")
    assert info.value.key == key
    assert reason in info.value.reason
    line = str(info.value)
    assert "\n" not in line and line.startswith(f"invalid config {key}: ")


def test_defaults_are_filled_once_from_the_config_module():
    cfg = load_config(BASE, stack="dev")
    gpu = cfg.nodeGroups["gpu"]
    assert gpu.role == "gpu" and gpu.amiType == "AL2023_x86_64_NVIDIA"
    assert gpu.diskSizeGiB == 200 and gpu.desiredSize == 0
    assert cfg.nodeGroups["system"].diskSizeGiB == 50
    assert cfg.kubernetesVersion == versions.DEFAULT_KUBERNETES_VERSION
    assert cfg.cluster_name == "ml-dev"
    assert cfg.teams["research"].group == "research-developers"
    assert cfg.natStrategy == "one-per-az"  # safe default: zonal resilience


def test_string_values_as_pulumi_passes_them_are_decoded():
    cfg = load_config({**BASE, "azCount": "2", "vpcEndpoints": "false", "publicAccessCidrs": "[]",
                       "nodeGroups": __import__("json").dumps(BASE["nodeGroups"])}, stack="dev")
    assert cfg.azCount == 2 and cfg.vpcEndpoints is False and "gpu" in cfg.nodeGroups


def test_arm_gpu_and_bottlerocket_choices():
    cfg = minimal_config(nodeGroups={
        "system": {"role": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 2},
        "gpu": {"instanceTypes": ["g5g.xlarge"], "maxSize": 1},
        "br": {"instanceTypes": ["g6e.xlarge"], "amiType": "BOTTLEROCKET_x86_64_NVIDIA", "maxSize": 1},
    })
    assert cfg.nodeGroups["system"].amiType == "AL2023_ARM_64_STANDARD"
    assert cfg.nodeGroups["gpu"].amiType == "AL2023_ARM_64_NVIDIA"
    assert cfg.nodeGroups["br"].amiType == "BOTTLEROCKET_x86_64_NVIDIA"


def test_secret_is_not_in_repr():
    cfg = minimal_config(grafanaAdminPassword="hunter2")
    assert "hunter2" not in repr(cfg)
