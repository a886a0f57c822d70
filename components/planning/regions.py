"""AWS regions and how many Availability Zones each offers: pure data, no Pulumi.

*Which regions exist* comes from botocore's endpoint data (``botocore/data/endpoints.json``), a pinned
dependency, so ``aws:region`` is checked against what the AWS SDKs know rather than a list kept here.

*How many AZs a region has* is not in botocore (EC2's ``DescribeAvailabilityZones`` is a live call), so
it is a dated table. Source: AWS Global Infrastructure, "Regions and Availability Zones"
(aws.amazon.com/about-aws/global-infrastructure/regions_az/) and the per-region AZ IDs in the Amazon
VPC User Guide, checked 2026-11. The number is the zones a *new* account can use: us-west-1 shows two
(older accounts may have three) and ap-northeast-1 three (of four AZ IDs). Regions botocore knows but
the table does not (new or isolated partitions) get :data:`DEFAULT_AZ_COUNT`, the minimum AWS builds
new regions with, so the check never over-promises.
"""

from __future__ import annotations

import difflib
import functools
from types import MappingProxyType
from typing import Mapping

#: Date the table below was checked against its source.
AZ_TABLE_CHECKED = "2026-11"

#: Zones a new account sees per region (see the module docstring for the source).
AZ_COUNTS: Mapping[str, int] = MappingProxyType({
    "us-east-1": 6, "us-east-2": 3, "us-west-1": 2, "us-west-2": 4,
    "ca-central-1": 3, "ca-west-1": 3, "mx-central-1": 3, "sa-east-1": 3,
    "eu-west-1": 3, "eu-west-2": 3, "eu-west-3": 3, "eu-central-1": 3, "eu-central-2": 3,
    "eu-north-1": 3, "eu-south-1": 3, "eu-south-2": 3,
    "af-south-1": 3, "il-central-1": 3, "me-south-1": 3, "me-central-1": 3,
    "ap-east-1": 3, "ap-east-2": 3, "ap-south-1": 3, "ap-south-2": 3,
    "ap-northeast-1": 3, "ap-northeast-2": 4, "ap-northeast-3": 3,
    "ap-southeast-1": 3, "ap-southeast-2": 3, "ap-southeast-3": 3, "ap-southeast-4": 3,
    "ap-southeast-5": 3, "ap-southeast-6": 3, "ap-southeast-7": 3,
    "cn-north-1": 3, "cn-northwest-1": 3,
    "us-gov-west-1": 3, "us-gov-east-1": 3,
})

#: AWS builds every new region with at least three AZs; used for regions the table does not list.
DEFAULT_AZ_COUNT = 3


@functools.lru_cache(maxsize=1)
def known_regions() -> Mapping[str, str]:
    """Region name -> partition, from botocore's endpoint data."""
    from botocore.loaders import Loader

    data = Loader().load_data("endpoints")
    return MappingProxyType({r: p["partition"] for p in data["partitions"] for r in p.get("regions", {})})


def check_region(region: object) -> str:
    """``region`` if it is a region botocore knows, else ValueError with a did-you-mean."""
    if not isinstance(region, str) or not region:
        raise ValueError(f"must be a region name such as us-west-2; got {region!r}")
    if region not in known_regions():
        close = difflib.get_close_matches(region, sorted(known_regions()), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"{region!r} is not an AWS region{hint}")
    return region


def az_count(region: str) -> int:
    """Availability Zones usable in ``region`` (table above, else the new-region minimum)."""
    return AZ_COUNTS.get(region, DEFAULT_AZ_COUNT)
