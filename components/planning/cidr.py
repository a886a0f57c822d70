"""Subnet planning: pure IPv4 arithmetic, no Pulumi.

The planner packs aligned blocks into the VPC CIDR, largest first, so a plan
never wastes address space on alignment gaps and the same inputs always give
the same CIDRs (subnet CIDRs are replacement-triggering in AWS, so a plan
that shuffles on re-run would recreate every subnet).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

IPv4Network = ipaddress.IPv4Network

#: AWS reserves five addresses in every subnet, so /28 is the smallest useful one.
SMALLEST_SUBNET_PREFIX = 28


class CidrPlanError(ValueError):
    """The requested subnets cannot be laid out inside the given CIDR."""


@dataclass(frozen=True)
class AzSubnets:
    """The CIDRs assigned to one availability zone."""

    index: int
    public: IPv4Network
    private: IPv4Network
    pod: IPv4Network | None = None


@dataclass(frozen=True)
class SubnetPlan:
    """Subnet CIDRs for every AZ, plus the VPC and optional pod CIDR."""

    vpc: IPv4Network
    azs: tuple[AzSubnets, ...]
    pod_cidr: IPv4Network | None = None

    def all_subnets(self) -> tuple[IPv4Network, ...]:
        nets: list[IPv4Network] = []
        for az in self.azs:
            nets.extend([az.public, az.private])
            if az.pod is not None:
                nets.append(az.pod)
        return tuple(nets)


def parse_ipv4_cidr(value: str) -> IPv4Network:
    """Parse a strict IPv4 CIDR (host bits must be zero).

    Raises ValueError with a short reason, suitable for a config error line.
    """
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR (expected a.b.c.d/n)")
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc})") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{value!r} is not an IPv4 CIDR")
    return net


def bits_for(count: int) -> int:
    """Bits needed to address ``count`` equal blocks (1 -> 0, 3 -> 2, 4 -> 2)."""
    if count < 1:
        raise ValueError("count must be >= 1")
    return math.ceil(math.log2(count)) if count > 1 else 0


def auto_prefixes(vpc_prefix: int, az_count: int) -> tuple[int, int]:
    """Default (private, public) prefix lengths for a VPC of ``vpc_prefix``.

    Private subnets get half the VPC between them (nodes and, without a pod
    CIDR, every pod IP live there); public subnets are 16 times smaller since
    they only hold load balancers and NAT gateways.
    """
    private = vpc_prefix + 1 + bits_for(az_count)
    public = private + 4
    return min(private, SMALLEST_SUBNET_PREFIX), min(public, SMALLEST_SUBNET_PREFIX)


def pack(container: IPv4Network, prefixes: list[int]) -> list[IPv4Network]:
    """Allocate one aligned block per requested prefix inside ``container``.

    Blocks are placed largest first at the lowest free aligned address, which
    for power-of-two sizes never leaves a gap; results come back in request
    order. Raises CidrPlanError when they do not fit.
    """
    for p in prefixes:
        if p < container.prefixlen:
            raise CidrPlanError(f"a /{p} subnet is larger than {container}")
        if p > SMALLEST_SUBNET_PREFIX:
            raise CidrPlanError(f"a /{p} subnet is smaller than the AWS minimum /{SMALLEST_SUBNET_PREFIX}")
    needed = sum(2 ** (32 - p) for p in prefixes)
    if needed > container.num_addresses:
        raise CidrPlanError(
            f"{len(prefixes)} subnets need {needed} addresses but {container} has {container.num_addresses}"
        )
    order = sorted(range(len(prefixes)), key=lambda i: (prefixes[i], i))
    cursor = int(container.network_address)
    out: dict[int, IPv4Network] = {}
    for i in order:
        size = 2 ** (32 - prefixes[i])
        # Largest-first placement keeps the cursor aligned for every later (smaller) block.
        start = -(-cursor // size) * size
        out[i] = ipaddress.IPv4Network((start, prefixes[i]))
        cursor = start + size
    return [out[i] for i in range(len(prefixes))]


def plan_subnets(
    vpc_cidr: str,
    az_count: int,
    private_prefix: int,
    public_prefix: int,
    pod_cidr: str | None = None,
) -> SubnetPlan:
    """Lay out one public and one private subnet per AZ, plus optional pod subnets.

    Pod subnets come from a separate (secondary) CIDR, split evenly across AZs,
    because that is how EKS custom networking keeps pod IPs out of the routable
    VPC range.
    """
    if not 1 <= az_count <= 16:
        raise CidrPlanError(f"az count {az_count} out of range")
    vpc = parse_ipv4_cidr(vpc_cidr)
    blocks = pack(vpc, [private_prefix] * az_count + [public_prefix] * az_count)
    private, public = blocks[:az_count], blocks[az_count:]
    pods: list[IPv4Network | None] = [None] * az_count
    pod_net = None
    if pod_cidr:
        pod_net = parse_ipv4_cidr(pod_cidr)
        if pod_net.overlaps(vpc):
            raise CidrPlanError(f"pod CIDR {pod_net} overlaps VPC CIDR {vpc}")
        pod_prefix = pod_net.prefixlen + bits_for(az_count)
        pods = list(pack(pod_net, [pod_prefix] * az_count))
    azs = tuple(
        AzSubnets(index=i, public=public[i], private=private[i], pod=pods[i]) for i in range(az_count)
    )
    return SubnetPlan(vpc=vpc, azs=azs, pod_cidr=pod_net)
