"""The limits config validation relies on, checked against their maintained sources (botocore), not restated.

botocore is a pinned dependency: its EC2 model lists every instance type, its EKS model carries the
CreateNodegroup constraints, and its endpoint data lists the regions.
"""

from __future__ import annotations

import re

import pytest
from botocore.loaders import Loader

from automation.offline.mocks import PlatformMocks, _azs
from components import config as c
from components.planning import instances, regions


@pytest.fixture(scope="module")
def eks_shapes():
    return Loader().load_service_model("eks", "service-2")["shapes"]


def test_eks_label_and_taint_limits_match_the_eks_api_model(eks_shapes):
    assert c.EKS_LABEL_KEY_MAX == eks_shapes["labelKey"]["max"]
    assert c.EKS_LABEL_VALUE_MAX == eks_shapes["labelValue"]["max"]
    assert eks_shapes["labelValue"]["min"] == 1  # hence empty node label values are refused
    assert c.EKS_TAINT_KEY_MAX == eks_shapes["taintKey"]["max"]
    assert c.EKS_TAINT_VALUE_MAX == eks_shapes["taintValue"]["max"]
    assert eks_shapes["ZeroCapacity"]["min"] == 0 and eks_shapes["Capacity"]["min"] == 1  # minSize >= 0, maxSize >= 1
    doc = eks_shapes["CreateNodegroupRequest"]["members"]["instanceTypes"]["documentation"]
    assert f"0-{c.MAX_INSTANCE_TYPES_PER_GROUP} instance types" in doc


def test_eks_taint_effects_match_the_eks_api_model(eks_shapes):
    import typing

    from components.planning.nodes import Taint

    effects = typing.get_args(typing.get_type_hints(c.TaintConfig)["effect"])
    assert {Taint("k", "", e).eks_effect for e in effects} == set(eks_shapes["TaintEffect"]["enum"])


def test_instance_table_is_consistent_with_botocore():
    known = instances.ec2_instance_types()
    families = instances.ec2_families()
    assert not [f for f in instances.FAMILIES if f not in families], "families with no EC2 instance type"
    assert not [t for t in instances.ACCELERATOR_COUNT if t not in known]
    assert not [t for t in instances.EFA_CAPABLE if t not in known]
    assert "m6i.large" in known and "m6i.huge" not in known


def test_instance_type_typo_names_the_key_with_a_suggestion():
    with pytest.raises(c.ConfigError) as info:
        c.load_config({"nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.huge"], "minSize": 1,
                                                 "maxSize": 2}}}, stack="t")
    assert str(info.value).startswith("invalid config nodeGroups.system.instanceTypes[0]: 'm6i.huge' is not an EC2")


def test_region_tables_cover_real_regions_only():
    known = regions.known_regions()
    assert set(regions.AZ_COUNTS) <= set(known), set(regions.AZ_COUNTS) - set(known)
    assert all(2 <= n <= 6 for n in regions.AZ_COUNTS.values())
    with pytest.raises(ValueError, match="did you mean us-west-2"):
        regions.check_region("us-west-9")
    for bad in ("", "[x]", None, 3):
        with pytest.raises(ValueError):
            regions.check_region(bad)


@pytest.mark.parametrize("region", ["us-west-2", "us-east-1", "us-west-1", "eu-west-1", "ap-southeast-7"])
def test_mocks_answer_with_the_regions_az_count(region):
    names = _azs({}, PlatformMocks(region=region))["names"]
    assert len(names) == regions.az_count(region) and all(n.startswith(region) for n in names)


def test_aws_provider_keys_come_from_the_pinned_provider():
    keys = c.aws_provider_keys()
    assert {"region", "profile", "defaultTags", "assumeRoles"} <= keys
    errs = c.check_config_keys(["aws:regoin", "aws:region", "kubernetes:context", "Aws:region", "mlplatform:azCount"])
    assert [e.key for e in errs] == ["aws:regoin", "Aws:region"]
    assert "did you mean region?" in errs[0].reason and "did you mean aws:region?" in errs[1].reason
