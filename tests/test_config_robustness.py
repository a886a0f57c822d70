"""Issue #16: every value a user can write is either right or refused with the key named.

Each class the structured fuzzer found is here, refused with the key (and a reason) or accepted with
the value the program will really use. The checks themselves are declared once beside each key in
components/config.py; these tests drive them through ``load_config`` (what ``pulumi up`` runs).
"""

from __future__ import annotations

import copy
import json

import pytest

from components.config import ConfigError, load_config

BASE = {
    "nodeGroups": {
        "system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3},
        "gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2},
    },
    "teams": {"research": {"gpu": 2}},
    "trainingJobs": {"job": {"team": "research"}},
    "inferenceEndpoints": {"api": {"team": "research"}},
}


def with_(**changes):
    cfg = copy.deepcopy(BASE)
    for path, value in changes.items():
        keys = path.split("__")
        cur = cfg
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        cur[keys[-1]] = value
    return cfg


def refused(values, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(values, stack="test", **kw)
    return info.value


REFUSED = [
    # numbers with no upper bound
    (with_(inferenceEndpoints__api__maxReplicas=2**63), "inferenceEndpoints.api.maxReplicas"),
    (with_(inferenceEndpoints__api__maxReplicas=10**40), "inferenceEndpoints.api.maxReplicas"),
    (with_(trainingJobs__job__gpusPerNode=2**63), "trainingJobs.job.gpusPerNode"),
    (with_(karpenterCpuLimit=10**40), "karpenterCpuLimit"),
    (with_(teams__research__gpu=2**63), "teams.research.gpu"),
    (with_(nodeGroups__gpu__maxSize=2**63), "nodeGroups.gpu.maxSize"),
    (with_(nodeGroups__gpu__maxSize=451), "nodeGroups.gpu.maxSize"),  # EKS: 450 nodes per managed group
    (with_(nodeGroups__gpu__diskSizeGiB=16_385), "nodeGroups.gpu.diskSizeGiB"),  # gp3: 16 TiB
    (with_(prometheusStorageGiB=20_000), "prometheusStorageGiB"),
    # quantities: bytes are whole bytes, absurd sizes refused
    (with_(kueueMemoryQuota="1m"), "kueueMemoryQuota"),
    (with_(teams__research__memory="1.5"), "teams.research.memory"),
    (with_(kueueMemoryQuota="99999999999999999999999Ei"), "kueueMemoryQuota"),
    (with_(inferenceEndpoints__api__cpu="0.0001"), "inferenceEndpoints.api.cpu"),
    (with_(inferenceEndpoints__api__memory="64Ti"), "inferenceEndpoints.api.memory"),  # > largest instance
    (with_(teams__research__defaultCpuLimit="32"), "teams.research.defaultCpuLimit"),  # > the team's quota
    # implausible CIDRs
    (with_(vpcCidr="0.0.0.0/16"), "vpcCidr"),
    (with_(vpcCidr="127.0.0.0/16"), "vpcCidr"),
    (with_(vpcCidr="224.0.0.0/16"), "vpcCidr"),
    (with_(vpcCidr="169.254.0.0/16"), "vpcCidr"),
    (with_(endpointPublicAccess=True, publicAccessCidrs=["10.0.0.0/8"]), "publicAccessCidrs[0]"),
    (with_(endpointPublicAccess=True, publicAccessCidrs=["169.254.0.0/16"]), "publicAccessCidrs[0]"),
    (with_(endpointPublicAccess=True, publicAccessCidrs=["100.64.0.0/10"]), "publicAccessCidrs[0]"),
    (with_(endpointPublicAccess=True, publicAccessCidrs=["128.0.0.0/1"]), "publicAccessCidrs[0]"),
    # empty lists and zero durations
    (with_(karpenterGpuCapacityTypes=[]), "karpenterGpuCapacityTypes"),
    (with_(karpenterExpireAfter="0h"), "karpenterExpireAfter"),
    (with_(karpenterExpireAfter="0h0m"), "karpenterExpireAfter"),
    (with_(prometheusRetention="0d"), "prometheusRetention"),
    # free text
    (with_(trainingJobs__job__runtime=""), "trainingJobs.job.runtime"),
    (with_(trainingJobs__job__runtime="Bad Runtime"), "trainingJobs.job.runtime"),
    (with_(trainingJobs__job__command=[""]), "trainingJobs.job.command[0]"),
    (with_(trainingJobs__job__command=[]), "trainingJobs.job.command"),
    (with_(nodeGroups__gpu__labels={"kubernetes.io/role": "gpu"}), "nodeGroups.gpu.labels.kubernetes.io/role"),
    (with_(nodeGroups__gpu__labels={"k8s.io/x": "y"}), "nodeGroups.gpu.labels.k8s.io/x"),
    (with_(nodeGroups__gpu__labels={"team": ""}), "nodeGroups.gpu.labels.team"),
    (with_(nodeGroups__gpu__taints=[{"key": "dedicated", "value": "bad value!"}]), "nodeGroups.gpu.taints[0].value"),
    (with_(nodeGroups__gpu__taints=[{"key": "bad key"}]), "nodeGroups.gpu.taints[0].key"),
    (with_(nodeGroups__gpu__taints=[{"key": "a"}, {"key": "a"}]), "nodeGroups.gpu.taints[1]"),
    (with_(tags={"bad*key": "x"}), "tags.bad*key"),
    (with_(tags={"owner": "x" * 257}), "tags.owner"),
    (with_(tags={"AWS:owner": "x"}), "tags.AWS:owner"),
    # sources
    (with_(existingWorkloads={"w": {"team": "research", "source": "helm", "path": "examples/legacy-serving"}}),
     "existingWorkloads.w.path"),
    (with_(existingWorkloads={"w": {"team": "research", "source": "helm", "chart": "x", "repository": "https://c",
                                    "version": ">=1.0"}}), "existingWorkloads.w.version"),
    # duplicate list entries are reported as duplicates
    (with_(adminRoleArns=["arn:aws:iam::111122223333:role/A", "arn:aws:iam::111122223333:role/A"]), "adminRoleArns[1]"),
    (with_(readOnlyRoleArns=["arn:aws:iam::111122223333:role/A", "arn:aws:iam::111122223333:role/A"]),
     "readOnlyRoleArns[1]"),
    (with_(adminRoleArns=["arn:aws:iam::111122223333:role/A"], readOnlyRoleArns=["arn:aws:iam::111122223333:role/A"]),
     "readOnlyRoleArns[0]"),
    (with_(nodeGroups__gpu__instanceTypes=["g5.xlarge", "g5.xlarge"]), "nodeGroups.gpu.instanceTypes[1]"),
    # instance types exist (botocore's EC2 model)
    (with_(nodeGroups__system__instanceTypes=["m6i.huge"]), "nodeGroups.system.instanceTypes[0]"),
    # nulls never become "null"
    (with_(nodeGroups__gpu__instanceTypes=[None]), "nodeGroups.gpu.instanceTypes[0]"),
    (with_(tags={"owner": None}), "tags.owner"),
    # values the Pulumi CLI turns into something else
    (with_(tags={"created": "2024-01-01 00:00:00 +0000 UTC"}), "tags.created"),
]


@pytest.mark.parametrize("values,key", REFUSED, ids=[k for _, k in REFUSED])
def test_refused_with_the_key_named(values, key):
    err = refused(values)
    keys = [e.key for e in err.errors]
    assert key in keys, str(err)
    for line in str(err).splitlines():
        assert line.startswith("invalid config ") and "Traceback" not in line


def test_every_error_is_reported_in_one_run():
    err = refused(with_(azCount=9, vpcCidr="127.0.0.0/16", nodeGroups__gpu__maxSize=-1,
                        teams__research__cpu="lots", inferenceEndpoints__api__port=0))
    keys = [e.key for e in err.errors]
    for key in ("azCount", "vpcCidr", "nodeGroups.gpu.maxSize", "teams.research.cpu", "inferenceEndpoints.api.port"):
        assert key in keys
    assert (err.key, err.reason) == (err.errors[0].key, err.errors[0].reason)
    assert str(err).splitlines() == [f"invalid config {e.key}: {e.reason}" for e in err.errors]


def test_a_value_that_failed_is_not_reported_again_by_checks_that_read_it():
    err = refused(with_(teams__research__cpu="lots"))
    assert [e.key for e in err.errors] == ["teams.research.cpu"]
    # A team that failed to decode still exists for cross references (no "not a team" noise).
    assert all(e.key.startswith("teams.") for e in err.errors)


def test_misspelt_names_get_a_did_you_mean():
    assert "did you mean research?" in refused(with_(trainingJobs__job__team="reserch")).reason
    assert "did you mean maxSize?" in refused(with_(nodeGroups__gpu__maxSze=2)).reason
    assert "did you mean m6i.large?" in refused(with_(nodeGroups__system__instanceTypes=["m6i.larg"])).reason
    assert "did you mean 'SPOT'?" in refused(with_(nodeGroups__gpu__capacityType="SPOTT")).reason


def test_az_count_is_bounded_by_the_region():
    assert refused(with_(azCount=5), region="us-west-2").key == "azCount"
    assert load_config(with_(azCount=4), stack="t", region="us-west-2").azCount == 4
    assert refused(with_(azCount=3), region="us-west-1").key == "azCount"  # two zones for new accounts


def test_values_used_are_the_validated_ones():
    cfg = load_config(with_(kueueCpuQuota=" 8 ", teams__research__memory=" 64Gi", vpcCidr=" 10.1.0.0/16 ",
                            teams__research__cpu=8, nodeGroups__gpu__capacityType=" SPOT"), stack="t")
    assert cfg.kueueCpuQuota == "8" and cfg.teams["research"].memory == "64Gi" and cfg.vpcCidr == "10.1.0.0/16"
    assert cfg.teams["research"].cpu == "8"  # `cpu: 8` (a number) is a valid quantity
    assert cfg.nodeGroups["gpu"].capacityType == "SPOT"


def test_nulls_mean_unset_never_the_string_null():
    # A null team means "all defaults" (no GPU quota), so the GPU job that BASE gives it is left out.
    cfg = load_config({**BASE, "clusterName": None, "teams": {"research": None}, "trainingJobs": {}}, stack="dev")
    assert cfg.cluster_name == "ml-dev" and "research" in cfg.teams
    # What the CLI hands the program for a top-level `clusterName:` with no value: "" (the default).
    assert load_config({**BASE, "clusterName": ""}, stack="dev").cluster_name == "ml-dev"
    assert refused({**BASE, "azCount": ""}).reason == "must be an integer; got an empty value"
    assert refused({**BASE, "nodeGroups": ""}).reason == "must be a map; got an empty value"


def test_legitimate_values_are_accepted():
    cfg = load_config(with_(
        endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24", "198.51.100.7/32"],
        nodeGroups__gpu__labels={"node.kubernetes.io/pool": "gpu", "example.com/team": "ml"},
        nodeGroups__gpu__taints=[{"key": "dedicated", "value": "", "effect": "NoExecute"}],
        tags={"Owner Name": "ML platform", "cost:center": "a+b=c@d/e", "ünïcode": "ß"},
        karpenterExpireAfter="Never", prometheusRetention="90d",
        kueueMemoryQuota="1.5Ti", teams__research__memory="64e9",
    ), stack="t")
    assert cfg.tags["ünïcode"] == "ß" and cfg.kueueMemoryQuota == "1.5Ti"


def test_mapping_with_python_oddities_is_refused_not_crashed():
    import datetime

    for values in ({**BASE, "tags": {"d": datetime.date(2024, 1, 1)}}, {**BASE, "tags": {1: "x"}},
                   {**BASE, "existingWorkloads": {"w": {"team": "research", "source": "helm", "chart": "c",
                                                        "repository": "https://x", "version": "1.0.0",
                                                        "values": {"a": float("nan")}}}}):
        err = refused(values)
        assert str(err).startswith("invalid config ")


def test_json_strings_as_pulumi_passes_them():
    cfg = load_config({**BASE, "nodeGroups": json.dumps(BASE["nodeGroups"]), "azCount": "2"}, stack="t")
    assert cfg.azCount == 2
    assert refused({**BASE, "nodeGroups": "{not json"}).reason == "must be a map; got a plain string"
