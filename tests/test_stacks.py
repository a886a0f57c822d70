"""Whole-program tests: run __main__.py under mocks for each shipped stack file and check stack-level facts."""

from __future__ import annotations

import collections

import pytest

from components import stack_outputs as out
from tests.helpers import of_type, stack_run


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request):
    return stack_run(request.param)


def test_dev_has_one_nat_gateway_prod_one_per_az():
    assert len(of_type(stack_run("dev"), "aws:ec2/natGateway:NatGateway")) == 1
    prod = stack_run("prod")
    azs = {s.inputs["availabilityZone"] for s in of_type(prod, "aws:ec2/subnet:Subnet")}
    assert len(of_type(prod, "aws:ec2/natGateway:NatGateway")) == len(azs) == 3


def test_prod_has_no_public_endpoint_dev_only_for_its_allow_list():
    (prod,) = of_type(stack_run("prod"), "eks:index:Cluster")
    assert prod.inputs["endpointPublicAccess"] is False and prod.inputs["endpointPrivateAccess"] is True
    (dev,) = of_type(stack_run("dev"), "eks:index:Cluster")
    assert dev.inputs["endpointPublicAccess"] is True and dev.inputs["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_prod_is_protected_dev_is_deletable():
    (prod,) = of_type(stack_run("prod"), "eks:index:Cluster")
    (dev,) = of_type(stack_run("dev"), "eks:index:Cluster")
    assert prod.inputs["deletionProtection"] is True and dev.inputs["deletionProtection"] is False


def test_node_groups_only_in_private_subnets(run):
    private = {s.id for s in of_type(run, "aws:ec2/subnet:Subnet")
               if s.inputs["tags"]["mlplatform.io/subnet-tier"] == "private"}
    for ng in of_type(run, "eks:index:ManagedNodeGroup"):
        assert ng.inputs["subnetIds"] and set(ng.inputs["subnetIds"]) <= private


def test_outputs_exported_under_shared_keys(run):
    for key in (out.VPC_ID, out.CLUSTER_NAME, out.CLUSTER_ENDPOINT, out.OIDC_PROVIDER_ARN, out.KUBECONFIG):
        assert run.outputs.get(key), key
    assert run.outputs[out.CLUSTER_NAME] == f"ml-{run.stack}"


def test_resource_count_summary():
    counts = {s: collections.Counter(r.type for r in stack_run(s).registrations) for s in ("dev", "prod")}
    # dev is lean, prod complete: more AZs, NATs, endpoints and pools.
    assert counts["dev"]["aws:ec2/subnet:Subnet"] == 4 and counts["prod"]["aws:ec2/subnet:Subnet"] == 9
    assert counts["dev"]["aws:ec2/vpcEndpoint:VpcEndpoint"] == 0 and counts["prod"]["aws:ec2/vpcEndpoint:VpcEndpoint"] == 6
    assert counts["dev"]["eks:index:ManagedNodeGroup"] == 2 and counts["prod"]["eks:index:ManagedNodeGroup"] == 3
    assert sum(counts["prod"].values()) > sum(counts["dev"].values())


def test_every_aws_resource_carries_the_stack_tags(run):
    for r in run.registrations:
        if r.type.startswith("aws:") and "tags" in r.inputs:
            tags = r.inputs["tags"]
            assert tags.get("environment") == run.stack and tags.get("owner") == "ml-platform", r.urn


def test_node_groups_wait_for_nat_egress(run):
    # Without VPC endpoints (dev) nodes pull images through NAT: they must not boot before the route exists.
    nats = {n.urn for n in of_type(run, "aws:ec2/natGateway:NatGateway")}
    private_rts = {r.urn for r in of_type(run, "aws:ec2/routeTable:RouteTable") if "private" in r.name}
    for ng in of_type(run, "eks:index:ManagedNodeGroup"):
        assert nats <= set(ng.dependencies) and private_rts <= set(ng.dependencies), ng.name
