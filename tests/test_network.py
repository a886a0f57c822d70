"""Network component under mocks: subnet placement and tags, NAT strategy, flow logs, endpoints."""

from __future__ import annotations

import pytest

from components.network import INTERFACE_ENDPOINTS, Network, NetworkArgs
from components.planning.cidr import plan_subnets
from tests.helpers import of_type, policy_doc, run_component


def build(nat="single", endpoints=False, azs=3, pod_cidr=None):
    plan = plan_subnets("10.0.0.0/16", azs, 19, 23, pod_cidr)
    return run_component(lambda env: Network("net", NetworkArgs(
        cluster_name="ml-test", plan=plan, nat_strategy=nat, vpc_endpoints=endpoints,
        flow_log_retention_days=30, env=env, tags={"owner": "t"})))


def subnets(run, tier):
    return sorted((s for s in of_type(run, "aws:ec2/subnet:Subnet")
                   if s.inputs["tags"]["mlplatform.io/subnet-tier"] == tier), key=lambda s: s.name)


@pytest.mark.parametrize("strategy,expected", [("single", 1), ("one-per-az", 3)])
def test_nat_gateways_per_strategy(strategy, expected):
    run = build(nat=strategy)
    nats = of_type(run, "aws:ec2/natGateway:NatGateway")
    assert len(nats) == expected
    public_ids = {s.id for s in subnets(run, "public")}
    assert all(n.inputs["subnetId"] in public_ids for n in nats)
    # Every private route table sends 0.0.0.0/0 to a NAT gateway, never to the internet gateway.
    nat_ids = {n.id for n in nats}
    private_rts = [rt for rt in of_type(run, "aws:ec2/routeTable:RouteTable") if "private" in rt.name]
    assert len(private_rts) == 3
    for rt in private_rts:
        (route,) = rt.inputs["routes"]
        assert route["natGatewayId"] in nat_ids and "gatewayId" not in route


def test_subnet_tags_and_no_public_ips():
    run = build()
    pub, priv = subnets(run, "public"), subnets(run, "private")
    assert len(pub) == len(priv) == 3
    for s in pub + priv:
        assert s.inputs["mapPublicIpOnLaunch"] is False
        assert s.inputs["tags"]["kubernetes.io/cluster/ml-test"] == "shared"
    assert all(s.inputs["tags"]["kubernetes.io/role/elb"] == "1" for s in pub)
    assert all("kubernetes.io/role/internal-elb" not in s.inputs["tags"] for s in pub)
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in priv)
    assert all(s.inputs["tags"]["karpenter.sh/discovery"] == "ml-test" for s in priv)
    assert all("karpenter.sh/discovery" not in s.inputs["tags"] for s in pub)
    azs = [s.inputs["availabilityZone"] for s in priv]
    assert azs == sorted(set(azs)) and len(set(azs)) == 3


def test_flow_logs_capture_all_traffic_with_scoped_role():
    run = build()
    (fl,) = of_type(run, "aws:ec2/flowLog:FlowLog")
    (vpc,) = of_type(run, "aws:ec2/vpc:Vpc")
    assert fl.inputs["trafficType"] == "ALL" and fl.inputs["vpcId"] == vpc.id
    log_group = next(lg for lg in of_type(run, "aws:cloudwatch/logGroup:LogGroup") if "flow" in lg.name)
    assert log_group.inputs["retentionInDays"] == 30
    role = next(r for r in of_type(run, "aws:iam/role:Role") if "flow" in r.name)
    trust = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_vpc_endpoints_when_switched_on():
    assert not of_type(build(endpoints=False), "aws:ec2/vpcEndpoint:VpcEndpoint")
    run = build(endpoints=True)
    eps = of_type(run, "aws:ec2/vpcEndpoint:VpcEndpoint")
    names = {e.inputs["serviceName"] for e in eps}
    assert "com.amazonaws.us-west-2.s3" in names
    assert {f"com.amazonaws.us-west-2.{s}" for s in INTERFACE_ENDPOINTS} <= names
    private_ids = {s.id for s in subnets(run, "private")}
    for e in eps:
        if e.inputs["vpcEndpointType"] == "Interface":
            assert set(e.inputs["subnetIds"]) == private_ids and e.inputs["privateDnsEnabled"] is True


def test_endpoint_service_names_follow_the_partition():
    from tests.helpers import run_component as rc
    plan = plan_subnets("10.0.0.0/16", 2, 19, 23)
    run = rc(lambda env: Network("net", NetworkArgs(
        cluster_name="c", plan=plan, nat_strategy="single", vpc_endpoints=True, flow_log_retention_days=30,
        env=env)), region="us-gov-west-1")
    names = {e.inputs["serviceName"] for e in of_type(run, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert "com.amazonaws.us-gov-west-1.sts" in names


def test_pod_subnets_from_secondary_cidr():
    run = build(pod_cidr="100.64.0.0/16")
    (assoc,) = of_type(run, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation")
    assert assoc.inputs["cidrBlock"] == "100.64.0.0/16"
    pods = subnets(run, "pods")
    assert len(pods) == 3 and all(p.inputs["cidrBlock"].startswith("100.64.") for p in pods)
    assert all(p.inputs["mapPublicIpOnLaunch"] is False for p in pods)
    assert all(assoc.urn in p.dependencies for p in pods)


def test_default_security_group_is_locked_down():
    (sg,) = of_type(build(), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs.get("ingress", []) == [] and sg.inputs.get("egress", []) == []
