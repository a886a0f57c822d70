"""Pure planners, without mocks: subnet CIDR arithmetic (property-tested) and AMI choice per family."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from components.planning import cidr, instances, nodes
from components.planning.quantity import parse_quantity


@st.composite
def layouts(draw):
    prefix = draw(st.integers(min_value=16, max_value=24))
    base = draw(st.integers(min_value=0, max_value=2**32 - 1)) >> (32 - prefix) << (32 - prefix)
    vpc = ipaddress.IPv4Network((base, prefix))
    azs = draw(st.integers(min_value=2, max_value=6))
    private = draw(st.integers(min_value=prefix + 1, max_value=28))
    public = draw(st.integers(min_value=prefix + 1, max_value=28))
    return str(vpc), azs, private, public


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_plan_has_no_overlaps_stays_inside_and_sizes_as_asked(layout):
    vpc, azs, private, public = layout
    try:
        plan = cidr.plan_subnets(vpc, azs, private, public)
    except cidr.CidrPlanError:
        need = azs * (2 ** (32 - private) + 2 ** (32 - public))
        assert need > ipaddress.ip_network(vpc).num_addresses
        return
    nets = plan.all_subnets()
    assert len(nets) == 2 * azs
    for a, b in itertools.combinations(nets, 2):
        assert not a.overlaps(b)
    for n in nets:
        assert n.subnet_of(plan.vpc)
    assert [az.private.prefixlen for az in plan.azs] == [private] * azs
    assert [az.public.prefixlen for az in plan.azs] == [public] * azs


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=16, max_value=24), st.integers(min_value=2, max_value=6))
def test_auto_prefixes_always_fit(prefix, azs):
    private, public = cidr.auto_prefixes(prefix, azs)
    plan = cidr.plan_subnets(f"10.0.0.0/{prefix}", azs, private, public)
    assert len(plan.azs) == azs


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=16, max_value=20), st.integers(min_value=2, max_value=6))
def test_pod_subnets_split_the_secondary_cidr(prefix, azs):
    plan = cidr.plan_subnets("10.0.0.0/16", azs, 19, 24, f"100.64.0.0/{prefix}")
    pods = [az.pod for az in plan.azs]
    assert all(p is not None and p.subnet_of(ipaddress.ip_network(f"100.64.0.0/{prefix}")) for p in pods)
    for a, b in itertools.combinations(pods, 2):
        assert not a.overlaps(b)


def test_plan_is_deterministic():
    a = cidr.plan_subnets("10.0.0.0/16", 3, 19, 23)
    b = cidr.plan_subnets("10.0.0.0/16", 3, 19, 23)
    assert a == b
    assert str(a.azs[0].private) == "10.0.0.0/19" and str(a.azs[0].public) == "10.0.96.0/23"


def test_pod_cidr_overlapping_vpc_is_refused():
    with pytest.raises(cidr.CidrPlanError, match="overlaps"):
        cidr.plan_subnets("10.0.0.0/16", 2, 19, 24, "10.0.0.0/17")


@pytest.mark.parametrize("itype,ami", [
    ("m6i.large", "AL2023_x86_64_STANDARD"),
    ("m7g.xlarge", "AL2023_ARM_64_STANDARD"),
    ("g5.xlarge", "AL2023_x86_64_NVIDIA"),
    ("p5.48xlarge", "AL2023_x86_64_NVIDIA"),
    ("g5g.2xlarge", "AL2023_ARM_64_NVIDIA"),
    ("inf2.xlarge", "AL2023_x86_64_NEURON"),
])
def test_default_ami_type_per_family(itype, ami):
    assert instances.default_ami_type(itype).value == ami
    assert instances.ami_mismatch(itype, instances.AmiType(ami)) is None


@pytest.mark.parametrize("itype,ami,why", [
    ("m6i.large", "AL2023_x86_64_NVIDIA", "no NVIDIA GPU"),
    ("g5.xlarge", "BOTTLEROCKET_x86_64", "no NVIDIA driver"),
    ("m7g.large", "AL2023_x86_64_STANDARD", "is arm64"),
    ("g5.xlarge", "AL2023_ARM_64_NVIDIA", "is x86_64"),
    ("inf2.xlarge", "AL2023_x86_64_STANDARD", "Neuron"),
])
def test_ami_mismatches(itype, ami, why):
    assert why in instances.ami_mismatch(itype, instances.AmiType(ami))


def test_gpu_counts():
    assert instances.gpus_per_node("g5.12xlarge") == 4
    assert instances.gpus_per_node("p5.48xlarge") == 8
    assert instances.gpus_per_node("m6i.large") == 0


def test_gpu_pools_get_the_gpu_taint_and_cpu_pools_do_not():
    assert [t.key for t in nodes.pool_taints("gpu")] == ["nvidia.com/gpu"]
    assert nodes.pool_taints("gpu")[0].eks_effect == "NO_SCHEDULE"
    assert nodes.pool_taints("cpu") == []


def test_bottlerocket_gets_a_data_volume():
    vols = nodes.block_devices("BOTTLEROCKET_x86_64_NVIDIA", 300)
    assert [v["device_name"] for v in vols] == ["/dev/xvda", "/dev/xvdb"]
    assert vols[1]["ebs"]["volume_size"] == 300
    assert all(v["ebs"]["encrypted"] == "true" and v["ebs"]["volume_type"] == "gp3" for v in vols)


def test_autoscaler_tags_describe_labels_and_taints_for_scale_from_zero():
    tags = nodes.autoscaler_asg_tags("c", {"mlplatform.io/role": "gpu"}, nodes.pool_taints("gpu"))
    assert tags["k8s.io/cluster-autoscaler/node-template/label/mlplatform.io/role"] == "gpu"
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/c"] == "owned"


@pytest.mark.parametrize("text,value", [("500m", "0.5"), ("2", "2"), ("16Gi", str(16 * 2**30)), ("1.5", "1.5")])
def test_quantities(text, value):
    assert str(parse_quantity(text).normalize()) == str(__import__("decimal").Decimal(value).normalize())


@pytest.mark.parametrize("bad", ["two", "", "1.2.3", "5 Gi", True])
def test_bad_quantities(bad):
    with pytest.raises(ValueError):
        parse_quantity(bad)
