"""EC2 instance families and EKS AMI types: one validated table, no Pulumi.

GPU AMI types are the most common reason node groups fail to come up (an
x86 AMI on a Graviton family, a standard AMI on a GPU family that then never
advertises ``nvidia.com/gpu``), so every pool's AMI choice is checked here,
before anything is created.
"""

from __future__ import annotations

import difflib
import enum
import functools
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


class Arch(str, enum.Enum):
    X86_64 = "x86_64"
    ARM64 = "arm64"


class Accelerator(str, enum.Enum):
    NONE = "none"
    NVIDIA = "nvidia"
    NEURON = "neuron"


class AmiType(str, enum.Enum):
    """EKS managed node group AMI types this platform supports (AL2 is end-of-life)."""

    AL2023_X86_64_STANDARD = "AL2023_x86_64_STANDARD"
    AL2023_ARM_64_STANDARD = "AL2023_ARM_64_STANDARD"
    AL2023_X86_64_NVIDIA = "AL2023_x86_64_NVIDIA"
    AL2023_ARM_64_NVIDIA = "AL2023_ARM_64_NVIDIA"
    AL2023_X86_64_NEURON = "AL2023_x86_64_NEURON"
    BOTTLEROCKET_X86_64 = "BOTTLEROCKET_x86_64"
    BOTTLEROCKET_ARM_64 = "BOTTLEROCKET_ARM_64"
    BOTTLEROCKET_X86_64_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"
    BOTTLEROCKET_ARM_64_NVIDIA = "BOTTLEROCKET_ARM_64_NVIDIA"
    CUSTOM = "CUSTOM"


@dataclass(frozen=True)
class AmiTypeInfo:
    arch: Arch | None  # None: CUSTOM, the AMI itself decides
    accelerator: Accelerator
    os: str  # "al2023" | "bottlerocket" | "custom"


AMI_TYPES: Mapping[AmiType, AmiTypeInfo] = MappingProxyType(
    {
        AmiType.AL2023_X86_64_STANDARD: AmiTypeInfo(Arch.X86_64, Accelerator.NONE, "al2023"),
        AmiType.AL2023_ARM_64_STANDARD: AmiTypeInfo(Arch.ARM64, Accelerator.NONE, "al2023"),
        AmiType.AL2023_X86_64_NVIDIA: AmiTypeInfo(Arch.X86_64, Accelerator.NVIDIA, "al2023"),
        AmiType.AL2023_ARM_64_NVIDIA: AmiTypeInfo(Arch.ARM64, Accelerator.NVIDIA, "al2023"),
        AmiType.AL2023_X86_64_NEURON: AmiTypeInfo(Arch.X86_64, Accelerator.NEURON, "al2023"),
        AmiType.BOTTLEROCKET_X86_64: AmiTypeInfo(Arch.X86_64, Accelerator.NONE, "bottlerocket"),
        AmiType.BOTTLEROCKET_ARM_64: AmiTypeInfo(Arch.ARM64, Accelerator.NONE, "bottlerocket"),
        AmiType.BOTTLEROCKET_X86_64_NVIDIA: AmiTypeInfo(Arch.X86_64, Accelerator.NVIDIA, "bottlerocket"),
        AmiType.BOTTLEROCKET_ARM_64_NVIDIA: AmiTypeInfo(Arch.ARM64, Accelerator.NVIDIA, "bottlerocket"),
        AmiType.CUSTOM: AmiTypeInfo(None, Accelerator.NONE, "custom"),
    }
)


@dataclass(frozen=True)
class FamilyInfo:
    """What an instance family is built from."""

    arch: Arch
    accelerator: Accelerator = Accelerator.NONE


_X86 = FamilyInfo(Arch.X86_64)
_ARM = FamilyInfo(Arch.ARM64)
_NV_X86 = FamilyInfo(Arch.X86_64, Accelerator.NVIDIA)
_NV_ARM = FamilyInfo(Arch.ARM64, Accelerator.NVIDIA)
_NEURON = FamilyInfo(Arch.X86_64, Accelerator.NEURON)

FAMILIES: Mapping[str, FamilyInfo] = MappingProxyType(
    {
        **{f: _X86 for f in (
            "t3", "t3a", "m5", "m5a", "m5n", "m6i", "m6a", "m6in", "m7i", "m7i-flex", "m7a", "m8i", "m8a",
            "c5", "c5a", "c5n", "c6i", "c6a", "c6in", "c7i", "c7a", "c8i",
            "r5", "r5a", "r6i", "r6a", "r7i", "r7a", "r8i", "x2idn", "x2iedn",
        )},
        **{f: _ARM for f in (
            "t4g", "m6g", "m6gd", "m7g", "m7gd", "m8g", "c6g", "c6gn", "c7g", "c7gn", "c8g",
            "r6g", "r7g", "r8g",
        )},
        **{f: _NV_X86 for f in (
            "g4dn", "g5", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200",
        )},
        **{f: _NV_ARM for f in ("g5g", "p6e-gb200")},
        **{f: _NEURON for f in ("inf1", "inf2", "trn1", "trn1n", "trn2")},
    }
)

#: GPUs (or Neuron devices) per instance size, for quota, limit and cost arithmetic.
ACCELERATOR_COUNT: Mapping[str, int] = MappingProxyType(
    {
        "g4dn.xlarge": 1, "g4dn.2xlarge": 1, "g4dn.4xlarge": 1, "g4dn.8xlarge": 1, "g4dn.12xlarge": 4,
        "g4dn.16xlarge": 1, "g4dn.metal": 8,
        "g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1, "g5.16xlarge": 1,
        "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
        "g6.xlarge": 1, "g6.2xlarge": 1, "g6.4xlarge": 1, "g6.8xlarge": 1, "g6.16xlarge": 1,
        "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
        "g6e.xlarge": 1, "g6e.2xlarge": 1, "g6e.4xlarge": 1, "g6e.8xlarge": 1, "g6e.16xlarge": 1,
        "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
        "g5g.xlarge": 1, "g5g.2xlarge": 1, "g5g.4xlarge": 1, "g5g.8xlarge": 1, "g5g.16xlarge": 2,
        "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
        "p4d.24xlarge": 8, "p4de.24xlarge": 8, "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
        "p6-b200.48xlarge": 8,
        "inf2.xlarge": 1, "inf2.8xlarge": 1, "inf2.24xlarge": 6, "inf2.48xlarge": 12,
        "trn1.2xlarge": 1, "trn1.32xlarge": 16, "trn1n.32xlarge": 16, "trn2.48xlarge": 16,
    }
)

#: Sizes with an EFA interface usable for NCCL/libfabric traffic.
EFA_CAPABLE: frozenset[str] = frozenset(
    {
        "g5.48xlarge", "g6.48xlarge", "g6e.12xlarge", "g6e.24xlarge", "g6e.48xlarge",
        "p3dn.24xlarge", "p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
        "p6-b200.48xlarge", "trn1.32xlarge", "trn1n.32xlarge", "trn2.48xlarge",
    }
)

_INSTANCE_TYPE_RE = re.compile(r"^([a-z0-9-]+?)\.([a-z0-9-]+)$")


@functools.lru_cache(maxsize=1)
def ec2_instance_types() -> frozenset[str]:
    """Every EC2 instance type AWS's API knows: the ``InstanceType`` enum of botocore's EC2 service model.

    botocore is a pinned dependency (requirements.txt), so this list moves only when the pin does. It
    says a type *exists*, not that it is offered in a given region or AZ (that needs the live
    DescribeInstanceTypeOfferings API; README "Configuration checks").
    """
    from botocore.loaders import Loader

    model = Loader().load_service_model("ec2", "service-2")
    return frozenset(model["shapes"]["InstanceType"]["enum"])


def ec2_families() -> frozenset[str]:
    """Families that have at least one instance type in :func:`ec2_instance_types`."""
    return frozenset(family_of(t) for t in ec2_instance_types() if _INSTANCE_TYPE_RE.match(t))


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def family_of(instance_type: str) -> str:
    """``"g6e.12xlarge"`` -> ``"g6e"``; raises ValueError on a malformed name."""
    m = _INSTANCE_TYPE_RE.match(instance_type or "")
    if not m:
        raise ValueError(f"{instance_type!r} is not an EC2 instance type (expected family.size)")
    return m.group(1)


def check_instance_type(instance_type: str) -> str:
    """``instance_type`` if EC2 has it (botocore's model), else ValueError with a did-you-mean."""
    family_of(instance_type)
    if instance_type not in ec2_instance_types():
        raise ValueError(
            f"{instance_type!r} is not an EC2 instance type{_did_you_mean(instance_type, ec2_instance_types())}"
        )
    return instance_type


def family_info(instance_type: str) -> FamilyInfo:
    fam = family_of(instance_type)
    try:
        return FAMILIES[fam]
    except KeyError:
        raise ValueError(f"instance family {fam!r} is not in the supported table{_did_you_mean(fam, FAMILIES)}") from None


def is_gpu(instance_type: str) -> bool:
    return family_info(instance_type).accelerator is Accelerator.NVIDIA


def gpus_per_node(instance_type: str) -> int:
    """NVIDIA GPUs on one instance of this type (0 for non-GPU families)."""
    if not is_gpu(instance_type):
        return 0
    try:
        return ACCELERATOR_COUNT[instance_type]
    except KeyError:
        raise ValueError(f"GPU count for {instance_type!r} is not in the table") from None


def default_ami_type(instance_type: str) -> AmiType:
    """AL2023 flavour matching the instance's architecture and accelerator."""
    info = family_info(instance_type)
    table = {
        (Arch.X86_64, Accelerator.NONE): AmiType.AL2023_X86_64_STANDARD,
        (Arch.ARM64, Accelerator.NONE): AmiType.AL2023_ARM_64_STANDARD,
        (Arch.X86_64, Accelerator.NVIDIA): AmiType.AL2023_X86_64_NVIDIA,
        (Arch.ARM64, Accelerator.NVIDIA): AmiType.AL2023_ARM_64_NVIDIA,
        (Arch.X86_64, Accelerator.NEURON): AmiType.AL2023_X86_64_NEURON,
    }
    return table[(info.arch, info.accelerator)]


def ami_mismatch(instance_type: str, ami_type: AmiType) -> str | None:
    """Why ``ami_type`` cannot run on ``instance_type``, or None when it fits."""
    fam = family_info(instance_type)
    ami = AMI_TYPES[ami_type]
    if ami_type is AmiType.CUSTOM:
        return None
    if ami.arch is not fam.arch:
        return f"{instance_type} is {fam.arch.value} but {ami_type.value} is {ami.arch.value}"
    if ami.accelerator is Accelerator.NVIDIA and fam.accelerator is not Accelerator.NVIDIA:
        return f"{ami_type.value} is a GPU AMI but {instance_type} has no NVIDIA GPU"
    if fam.accelerator is Accelerator.NVIDIA and ami.accelerator is not Accelerator.NVIDIA:
        return f"{instance_type} is a GPU instance; {ami_type.value} has no NVIDIA driver (use an *_NVIDIA AMI type)"
    if (ami.accelerator is Accelerator.NEURON) != (fam.accelerator is Accelerator.NEURON):
        return f"{ami_type.value} does not match the Neuron accelerator of {instance_type}"
    return None
