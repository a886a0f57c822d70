"""Network: a VPC across N AZs with public, private and (optionally) pod subnets.

Nodes and pods only ever live in private subnets; public subnets hold NAT
gateways and internet-facing load balancers, and no subnet auto-assigns public
IPs. Subnet CIDRs come from the pure planner in ``components.planning.cidr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.aws_env import AwsEnv
from components.conventions import KARPENTER_DISCOVERY_TAG, child, name_tags
from components.planning.cidr import SubnetPlan

#: Interface endpoints that let private nodes pull images, get credentials and ship logs without NAT.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs")


@dataclass(frozen=True)
class NetworkArgs:
    """Arguments for :class:`Network`."""

    #: EKS cluster name, for the ``kubernetes.io/cluster/<name>`` and Karpenter discovery tags.
    cluster_name: str
    #: Subnet CIDRs per AZ, from ``plan_subnets``.
    plan: SubnetPlan
    #: ``single`` NAT gateway (dev: cheapest) or ``one-per-az`` (prod: an AZ outage keeps egress).
    nat_strategy: Literal["single", "one-per-az"]
    #: S3 gateway plus ECR, STS, EC2 and CloudWatch Logs interface endpoints.
    vpc_endpoints: bool
    #: Flow-log retention in days.
    flow_log_retention_days: int
    env: AwsEnv
    tags: Mapping[str, str] = field(default_factory=dict)
    #: AZ names to use; looked up (first N available) when not given.
    availability_zones: Optional[Sequence[str]] = None


class Network(pulumi.ComponentResource):
    """VPC, subnets, gateways, routes, flow logs and VPC endpoints."""

    vpc_id: pulumi.Output[str]
    availability_zones: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    #: Pod subnets by AZ index (empty without a pod CIDR).
    pod_subnet_ids: list[pulumi.Output[str]]
    nat_gateway_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]
    #: NAT gateways, private route tables and their associations: what nodes need to reach out.
    egress_ready: list[pulumi.Resource]
    flow_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:network:Network", name, None, opts)
        plan = args.plan
        n = len(plan.azs)
        tags = dict(args.tags)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        if args.availability_zones is not None:
            az_names: list[pulumi.Output[str]] = [pulumi.Output.from_input(a) for a in args.availability_zones[:n]]
        else:
            azs = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self))
            az_names = [azs.names.apply(lambda names, i=i: names[i]) for i in range(n)]
        self.availability_zones = az_names

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(plan.vpc),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=name_tags(tags, f"{args.cluster_name}-vpc"),
            opts=child(self),
        )
        self.vpc_id = vpc.id
        # The default security group allows all traffic between its members; strip it so nothing relies on it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
            tags=name_tags(tags, f"{args.cluster_name}-default-locked"), opts=child(self))

        pod_assoc = None
        if plan.pod_cidr is not None:
            pod_assoc = aws.ec2.VpcIpv4CidrBlockAssociation(
                f"{name}-pod-cidr", vpc_id=vpc.id, cidr_block=str(plan.pod_cidr), opts=child(self))

        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=name_tags(tags, f"{args.cluster_name}-igw"), opts=child(self))

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=name_tags(tags, f"{args.cluster_name}-public"),
            opts=child(self),
        )

        def subnet(tier: str, i: int, cidr: object, route_table: aws.ec2.RouteTable, extra_tags: dict,
                   depends_on: Sequence[pulumi.Resource] = ()) -> tuple[aws.ec2.Subnet, aws.ec2.RouteTableAssociation]:
            """A subnet of ``tier`` in AZ ``i`` that never maps public IPs, and its route-table association."""
            sn = aws.ec2.Subnet(
                f"{name}-{tier}-{i}",
                vpc_id=vpc.id,
                cidr_block=str(cidr),
                availability_zone=az_names[i],
                map_public_ip_on_launch=False,
                tags={**name_tags(tags, f"{args.cluster_name}-{tier}-{i}"), **cluster_tag,
                      "mlplatform.io/subnet-tier": tier, **extra_tags},
                opts=child(self, depends_on=list(depends_on)),
            )
            rta = aws.ec2.RouteTableAssociation(
                f"{name}-{tier}-{i}-rta", subnet_id=sn.id, route_table_id=route_table.id, opts=child(self))
            return sn, rta

        self.public_subnet_ids, self.private_subnet_ids, self.pod_subnet_ids = [], [], []
        public_subnets = [subnet("public", az.index, az.public, public_rt, {"kubernetes.io/role/elb": "1"})[0]
                          for az in plan.azs]
        self.public_subnet_ids = [sn.id for sn in public_subnets]

        nat_count = 1 if args.nat_strategy == "single" else n
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc",
                              tags=name_tags(tags, f"{args.cluster_name}-nat-{i}"), opts=child(self))
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                allocation_id=eip.id,
                subnet_id=public_subnets[i].id,
                connectivity_type="public",
                tags=name_tags(tags, f"{args.cluster_name}-nat-{i}"),
                opts=child(self, depends_on=[igw]),
            ))
        self.nat_gateway_ids = [nat.id for nat in nats]

        self.private_route_table_ids = []
        #: Nodes must not boot before their subnets route to a NAT gateway: without VPC endpoints
        #: they could not pull images or reach the EKS API's public side.
        self.egress_ready: list[pulumi.Resource] = list(nats)
        for az in plan.azs:
            i = az.index
            nat = nats[i if args.nat_strategy == "one-per-az" else 0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=name_tags(tags, f"{args.cluster_name}-private-{i}"),
                opts=child(self),
            )
            self.private_route_table_ids.append(rt.id)
            self.egress_ready.append(rt)
            priv, rta = subnet("private", i, az.private, rt, {
                "kubernetes.io/role/internal-elb": "1", KARPENTER_DISCOVERY_TAG: args.cluster_name})
            self.egress_ready.append(rta)
            self.private_subnet_ids.append(priv.id)
            if az.pod is not None:
                pod, _ = subnet("pods", i, az.pod, rt, {}, depends_on=[pod_assoc])
                self.pod_subnet_ids.append(pod.id)

        # Flow logs: every accepted and rejected flow, to a retained log group.
        log_group_name = f"/aws/vpc/{args.cluster_name}/flow-logs"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=log_group_name,
            retention_in_days=args.flow_log_retention_days,
            tags=tags,
            opts=child(self),
        )
        self.flow_log_group_name = log_group.name
        log_group_arn = args.env.log_group_arn(log_group_name)
        flow_trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                type="Service", identifiers=["vpc-flow-logs.amazonaws.com"])],
            conditions=[aws.iam.GetPolicyDocumentStatementConditionArgs(
                test="StringEquals", variable="aws:SourceAccount", values=[args.env.account_id])],
        )])
        flow_role = aws.iam.Role(f"{name}-flow-logs-role", assume_role_policy=flow_trust.json, tags=tags,
                                 opts=child(self))
        flow_policy = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            # From parts, not log_group.arn: the role's policy is then known at the first preview.
            resources=[log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
        )])
        aws.iam.RolePolicy(f"{name}-flow-logs-policy", role=flow_role.id, policy=flow_policy.json, opts=child(self))
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child(self),
        )

        if args.vpc_endpoints:
            self._endpoints(name, args, vpc, tags)
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "podSubnetIds": self.pod_subnet_ids,
            "natGatewayIds": self.nat_gateway_ids,
        })

    def _endpoints(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, tags: dict) -> None:
        inside = [str(args.plan.vpc)] + ([str(args.plan.pod_cidr)] if args.plan.pod_cidr else [])
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=inside,
                description="HTTPS from VPC and pod CIDRs")],
            egress=[],
            tags=name_tags(tags, f"{args.cluster_name}-endpoints"),
            opts=child(self),
        )
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=args.env.endpoint_service("s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=self.private_route_table_ids,
            tags=name_tags(tags, f"{args.cluster_name}-s3"),
            opts=child(self),
        )
        for svc in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{svc.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=args.env.endpoint_service(svc),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[sg.id],
                tags=name_tags(tags, f"{args.cluster_name}-{svc}"),
                opts=child(self),
            )
