"""What a stack costs per month (730 h), idle and at maximum scale, from a dated price table.

Pure arithmetic, no Pulumi: the inputs are the validated stack config
(``components.config.StackConfig``: node pools, Karpenter limits, endpoints)
and the plan's resources (what the program really creates: NAT gateways,
Elastic IPs, interface endpoints, file systems, load balancers, KMS keys).

* **idle**: every node pool at its ``minSize``, Karpenter NodePools at zero,
  endpoints at their replica floor (Fargate pods, GPU endpoints), no jobs running.
* **max**: every node pool at its ``maxSize``, Karpenter at its CPU/GPU limits
  filled with the instance choice stated in ``prices.yaml``, endpoints at ``maxReplicas``.

Usage-based charges (data processing, LCUs, logs, S3) are excluded and listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import yaml

from components.config import StackConfig
from components.planning import instances as inst
from components.planning.quantity import parse_quantity

PRICES_FILE = Path(__file__).with_name("prices.yaml")
GIB = Decimal(2) ** 30

#: EKS adds this much memory to every Fargate pod for the kubelet and friends.
FARGATE_POD_OVERHEAD_GIB = 0.25
#: Fargate vCPU sizes and the memory range (GiB) each allows.
FARGATE_SIZES: tuple[tuple[float, float, float], ...] = (
    (0.25, 0.5, 2), (0.5, 1, 4), (1, 2, 8), (2, 4, 16), (4, 8, 30), (8, 16, 60), (16, 32, 120),
)


class PriceError(Exception):
    """The price table lacks an entry the estimate needs (the message names it)."""


@dataclass(frozen=True)
class Prices:
    """The dated price table (``bench/prices.yaml``)."""

    raw: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> "Prices":
        return cls(yaml.safe_load(Path(path).read_text()))

    @property
    def checked(self) -> str:
        return str(self.raw.get("checked", ""))

    @property
    def region(self) -> str:
        return str(self.raw.get("region", ""))

    @property
    def hours(self) -> float:
        return float(self.raw.get("hours_per_month", 730))

    def instance(self, instance_type: str) -> float:
        try:
            return float(self.raw["instances"][instance_type]["hourly"])
        except (KeyError, TypeError):
            raise PriceError(f"no on-demand price for {instance_type} in bench/prices.yaml") from None

    def vcpus(self, instance_type: str) -> int:
        try:
            return int(self.raw["instances"][instance_type]["vcpus"])
        except (KeyError, TypeError):
            raise PriceError(f"no vCPU count for {instance_type} in bench/prices.yaml") from None

    def service(self, key: str) -> float:
        try:
            entry = self.raw["services"][key]
        except (KeyError, TypeError):
            raise PriceError(f"no price {key!r} in bench/prices.yaml services") from None
        return float(entry["value"] if isinstance(entry, Mapping) else entry)

    def fsx_gb_month(self, throughput_per_tib: int) -> float:
        table = self.raw.get("fsx_lustre_persistent2_gb_month") or {}
        try:
            return float(table[int(throughput_per_tib)])
        except (KeyError, TypeError, ValueError):
            raise PriceError(f"no FSx for Lustre PERSISTENT_2 price for {throughput_per_tib} MB/s/TiB") from None

    def assumption(self, key: str) -> Any:
        try:
            return self.raw["assumptions"][key]
        except (KeyError, TypeError):
            raise PriceError(f"no assumption {key!r} in bench/prices.yaml") from None

    @property
    def spot_factor(self) -> float:
        return 1.0 - float(self.assumption("spot_discount"))

    @property
    def excluded(self) -> list[str]:
        return list(self.raw.get("excluded") or [])


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate: monthly USD idle and at max."""

    category: str
    item: str
    detail: str
    idle: float
    max: float
    source: str = "plan"  # where the quantity came from: plan | config | assumption
    gpu: bool = False
    #: part of the floor (EKS fee, one NAT gateway, the system pool at its minimum)
    floor: float = 0.0


@dataclass
class CostEstimate:
    stack: str
    lines: list[CostLine]
    warnings: list[str] = field(default_factory=list)

    @property
    def idle(self) -> float:
        return round(sum(x.idle for x in self.lines), 2)

    @property
    def max(self) -> float:
        return round(sum(x.max for x in self.lines), 2)

    @property
    def gpu_idle(self) -> float:
        return round(sum(x.idle for x in self.lines if x.gpu), 2)

    @property
    def gpu_max(self) -> float:
        return round(sum(x.max for x in self.lines if x.gpu), 2)

    @property
    def floor(self) -> float:
        return round(sum(x.floor for x in self.lines), 2)

    def above_floor(self) -> list[tuple[str, float]]:
        """What the idle stack pays beyond the floor, largest first."""
        rows = [(f"{x.category}: {x.item}", round(x.idle - x.floor, 2)) for x in self.lines if x.idle - x.floor > 0.005]
        return sorted(rows, key=lambda r: -r[1])


# --------------------------------------------------------------------------- small pure helpers


def monthly(hourly: float, hours: float = 730.0) -> float:
    return hourly * hours


def nodes_for(limit: float, per_node: float) -> int:
    """Whole nodes needed to reach ``limit`` units with ``per_node`` units each."""
    if limit <= 0:
        return 0
    if per_node <= 0:
        raise ValueError("per_node must be positive")
    return math.ceil(limit / per_node)


def fargate_pod_size(cpu: str, memory: str) -> tuple[float, float]:
    """(vCPU, GiB) EKS Fargate bills a pod requesting ``cpu``/``memory``: +256 MiB, rounded up to a Fargate size."""
    want_cpu = float(parse_quantity(cpu))
    want_mem = float(parse_quantity(memory) / GIB) + FARGATE_POD_OVERHEAD_GIB
    for vcpu, lo, hi in FARGATE_SIZES:
        if vcpu + 1e-9 >= want_cpu and hi + 1e-9 >= want_mem:
            mem = max(lo, math.ceil(want_mem - 1e-9))
            return vcpu, float(mem)
    raise ValueError(f"no Fargate size fits {cpu} vCPU / {memory}")


def pool_hourly(prices: Prices, instance_types: Iterable[str], capacity_type: str) -> tuple[float, str]:
    """Hourly price of one node of a pool: its most expensive instance type (an upper bound), spot-discounted."""
    types = list(instance_types)
    priced = sorted(((prices.instance(t), t) for t in types), reverse=True)
    hourly, chosen = priced[0]
    if capacity_type == "SPOT":
        return hourly * prices.spot_factor, chosen
    return hourly, chosen


# --------------------------------------------------------------------------- plan inspection


def _of_type(resources: Iterable[Mapping], type_: str) -> list[Mapping]:
    return [r for r in resources if r.get("type") == type_]


def _inputs(r: Mapping) -> Mapping:
    return r.get("inputs") or {}


def load_balancers(resources: list[Mapping]) -> tuple[int, int]:
    """(ALBs, NLBs) the stack creates: LB resources, ALB Ingress groups, LoadBalancer Services."""
    albs, nlbs = 0, 0
    for r in _of_type(resources, "aws:lb/loadBalancer:LoadBalancer") + _of_type(resources, "aws:alb/loadBalancer:LoadBalancer"):
        if (_inputs(r).get("loadBalancerType") or "application") == "network":
            nlbs += 1
        else:
            albs += 1
    groups: set[str] = set()
    for r in resources:
        if not str(r.get("type", "")).endswith(":Ingress") or not str(r.get("type")).startswith("kubernetes:"):
            continue
        spec = _inputs(r).get("spec") or {}
        meta = _inputs(r).get("metadata") or {}
        ann = meta.get("annotations") or {}
        if spec.get("ingressClassName") != "alb" and ann.get("kubernetes.io/ingress.class") != "alb":
            continue
        # Ingresses sharing group.name share one ALB; otherwise one ALB per Ingress.
        group = ann.get("alb.ingress.kubernetes.io/group.name")
        groups.add(f"group:{group}" if group else f"ingress:{r.get('urn')}")
    albs += len(groups)
    for r in _of_type(resources, "kubernetes:core/v1:Service"):
        spec = _inputs(r).get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            nlbs += 1
    return albs, nlbs


@dataclass(frozen=True)
class KarpenterPool:
    """A Karpenter NodePool as the cost cares about it."""

    name: str
    kind: str  # "cpu" | "gpu"
    limit: float  # vCPUs (cpu pools) or GPUs (gpu pools)
    families: tuple[str, ...]  # allowed instance families (gpu pools)
    capacity_types: tuple[str, ...]
    disk_gib: float
    source: str  # "plan" (NodePool objects) | "config"


def _requirement(reqs: Any, key: str) -> tuple[str, ...]:
    for r in reqs or []:
        if isinstance(r, Mapping) and r.get("key") == key and r.get("operator") == "In":
            return tuple(str(v) for v in r.get("values") or [])
    return ()


def _gib(value: Any) -> Optional[float]:
    try:
        return float(parse_quantity(value) / GIB) if isinstance(value, str) else float(value)
    except (ValueError, TypeError):
        return None


def karpenter_pools(resources: list[Mapping], cfg: StackConfig, prices: Prices) -> list[KarpenterPool]:
    """The stack's Karpenter NodePools: from the plan's NodePool objects, else from the config keys."""
    disks = prices.assumption("karpenter_node_disk_gib")
    classes: dict[str, float] = {}
    for r in resources:
        if str(r.get("type", "")).startswith("kubernetes:karpenter.k8s.aws/") and r["type"].endswith(":EC2NodeClass"):
            meta, spec = _inputs(r).get("metadata") or {}, _inputs(r).get("spec") or {}
            sizes = [_gib((m.get("ebs") or {}).get("volumeSize")) for m in spec.get("blockDeviceMappings") or []]
            sizes = [x for x in sizes if x]
            if sizes:
                classes[str(meta.get("name") or r.get("name"))] = sum(sizes)
    pools = []
    for r in resources:
        if not (str(r.get("type", "")).startswith("kubernetes:karpenter.sh/") and r["type"].endswith(":NodePool")):
            continue
        spec = _inputs(r).get("spec") or {}
        limits = spec.get("limits") or {}
        tmpl = (spec.get("template") or {}).get("spec") or {}
        reqs = tmpl.get("requirements")
        caps = _requirement(reqs, "karpenter.sh/capacity-type") or ("on-demand",)
        ref = str((tmpl.get("nodeClassRef") or {}).get("name") or "")
        name = str((_inputs(r).get("metadata") or {}).get("name") or r.get("name"))
        if "nvidia.com/gpu" in limits:
            fams = _requirement(reqs, "karpenter.k8s.aws/instance-family") or tuple(cfg.karpenterGpuInstanceFamilies)
            pools.append(KarpenterPool(name, "gpu", float(parse_quantity(str(limits["nvidia.com/gpu"]))), fams, caps,
                                       classes.get(ref, float(disks["gpu"])), "plan"))
        elif "cpu" in limits:
            pools.append(KarpenterPool(name, "cpu", float(parse_quantity(str(limits["cpu"]))), (), caps,
                                       classes.get(ref, float(disks["cpu"])), "plan"))
    if pools or not cfg.karpenter:
        return pools
    # The add-on layer is not in the plan (yet): use the config keys it is built from.
    if cfg.karpenterCpuLimit > 0:
        pools.append(KarpenterPool("cpu", "cpu", cfg.karpenterCpuLimit, (), ("on-demand",), float(disks["cpu"]), "config"))
    if cfg.karpenterGpuLimit > 0:
        pools.append(KarpenterPool("gpu", "gpu", cfg.karpenterGpuLimit, tuple(cfg.karpenterGpuInstanceFamilies),
                                   tuple(cfg.karpenterGpuCapacityTypes), float(disks["gpu"]), "config"))
    return pools


def _karpenter_line(pool: KarpenterPool, prices: Prices, warnings: list[str]) -> Optional[CostLine]:
    """Karpenter at its limit: zero idle; at max, filled with the stated instance choice."""
    h, gp3 = prices.hours, prices.service("ebs_gp3_gb_month")
    # Karpenter launches spot whenever the pool allows it and spot capacity exists.
    spot = "spot" in pool.capacity_types
    factor = prices.spot_factor if spot else 1.0
    cap = "spot (Karpenter prefers spot when allowed)" if spot else "on-demand"
    try:
        if pool.kind == "cpu":
            it = str(prices.assumption("karpenter_cpu_instance"))
            n = nodes_for(pool.limit, prices.vcpus(it))
            od = n * monthly(prices.instance(it), h)
            detail = f"0 idle; {pool.limit:g} vCPU limit = {n} x {it} {cap}"
        else:
            reps = prices.assumption("karpenter_gpu_instance_per_family") or {}
            options = []
            for fam in pool.families:
                if fam not in reps:
                    warnings.append(f"Karpenter {pool.name}: no representative instance for family {fam} in bench/prices.yaml")
                    continue
                options.append((prices.instance(reps[fam]) / inst.gpus_per_node(reps[fam]), reps[fam]))
            if not options:
                return None
            _, it = max(options)
            gpus = inst.gpus_per_node(it)
            n = nodes_for(pool.limit, gpus)
            od = n * monthly(prices.instance(it), h)
            detail = (f"0 idle; {pool.limit:g} GPU limit = {n} x {it} ({gpus} GPU, priciest per GPU of "
                      f"{'/'.join(pool.families)}) {cap}")
    except (PriceError, ValueError) as exc:
        warnings.append(f"Karpenter {pool.name}: {exc}")
        return None
    if spot:
        detail += f"; on-demand would be ${od:,.0f}"
    detail += f"; {pool.disk_gib:g} GiB gp3 per node"
    mx = od * factor + n * pool.disk_gib * gp3
    return CostLine("Karpenter", f"{pool.name} NodePool", detail, 0.0, mx, source=pool.source, gpu=pool.kind == "gpu")


# --------------------------------------------------------------------------- the estimate


def estimate(stack: str, cfg: StackConfig, resources: list[Mapping], prices: Prices) -> CostEstimate:
    """Monthly cost lines for one stack."""
    h = prices.hours
    lines: list[CostLine] = []
    warnings: list[str] = []
    gp3 = prices.service("ebs_gp3_gb_month")

    # -- control plane
    clusters = len(_of_type(resources, "eks:index:Cluster")) or len(_of_type(resources, "aws:eks/cluster:Cluster"))
    if clusters:
        fee = clusters * monthly(prices.service("eks_control_plane_hourly"), h)
        lines.append(CostLine("EKS", "control plane", f"{clusters} cluster x $0.10/h (standard support)", fee, fee,
                              floor=fee))

    # -- network
    nats = len(_of_type(resources, "aws:ec2/natGateway:NatGateway"))
    if nats:
        nat_h = prices.service("nat_gateway_hourly")
        fee = nats * monthly(nat_h, h)
        lines.append(CostLine("Network", "NAT gateways", f"{nats} x ${nat_h}/h (data processing excluded)", fee, fee,
                              floor=monthly(nat_h, h)))
    eips = len(_of_type(resources, "aws:ec2/eip:Eip"))
    if eips:
        fee = eips * monthly(prices.service("public_ipv4_hourly"), h)
        lines.append(CostLine("Network", "public IPv4 addresses", f"{eips} Elastic IP x $0.005/h", fee, fee))
    az_hours = 0
    n_iface = 0
    for r in _of_type(resources, "aws:ec2/vpcEndpoint:VpcEndpoint"):
        if (_inputs(r).get("vpcEndpointType") or "Gateway") == "Interface":
            n_iface += 1
            az_hours += max(1, len(_inputs(r).get("subnetIds") or []))
    if n_iface:
        fee = monthly(prices.service("interface_endpoint_az_hourly"), h) * az_hours
        lines.append(CostLine("Network", "interface VPC endpoints",
                              f"{n_iface} endpoints, {az_hours} endpoint-AZs x $0.01/h (data excluded)", fee, fee))
    albs, nlbs = load_balancers(resources)
    src = "plan"
    if not albs and not nlbs:
        # The workload layer may not be in the plan yet; fall back to what the endpoints ask for.
        eps = [e for e in cfg.inferenceEndpoints.values() if e.enabled]
        albs = sum(1 for e in eps if e.exposure == "alb")
        nlbs = sum(1 for e in eps if e.exposure == "nlb")
        src = "config"
    if albs or nlbs:
        fee = albs * monthly(prices.service("alb_hourly"), h) + nlbs * monthly(prices.service("nlb_hourly"), h)
        lines.append(CostLine("Network", "load balancers", f"{albs} ALB + {nlbs} NLB x $0.0225/h (LCUs excluded)",
                              fee, fee, source=src))

    # -- managed / self-managed node pools
    for name, g in sorted(cfg.nodeGroups.items()):
        try:
            hourly, chosen = pool_hourly(prices, g.instanceTypes, g.capacityType)
        except PriceError as exc:
            warnings.append(f"nodeGroups.{name}: {exc}")
            continue
        cap = "spot" if g.capacityType == "SPOT" else "on-demand"
        node_m = monthly(hourly, h) + g.diskSizeGiB * gp3
        idle, mx = g.minSize * node_m, g.maxSize * node_m
        lines.append(CostLine(
            "Node pools", f"{name} ({g.role})",
            f"{g.minSize}..{g.maxSize} x {chosen} {cap} (${hourly:.4f}/h) + {g.diskSizeGiB} GiB gp3",
            idle, mx, source="config", gpu=g.role == "gpu", floor=idle if g.role == "system" else 0.0,
        ))

    # -- Karpenter (idle at zero by construction; max at its limits)
    for pool in karpenter_pools(resources, cfg, prices):
        line = _karpenter_line(pool, prices, warnings)
        if line is not None:
            lines.append(line)

    # -- endpoints at their floor: Fargate pods, and GPU endpoints (they keep GPU nodes up)
    fg_cpu, fg_gb = prices.service("fargate_vcpu_hourly"), prices.service("fargate_gb_hourly")
    for name, ep in sorted(cfg.inferenceEndpoints.items()):
        if not ep.enabled:
            continue
        if ep.placement == "fargate":
            vcpu, gb = fargate_pod_size(ep.cpu, ep.memory)
            pod_m = monthly(vcpu * fg_cpu + gb * fg_gb, h)
            lines.append(CostLine("Fargate", f"endpoint {name}",
                                  f"{ep.replicas}..{ep.maxReplicas} pods x {vcpu:g} vCPU / {gb:g} GB",
                                  ep.replicas * pod_m, ep.maxReplicas * pod_m, source="config"))
        elif ep.gpus:
            cands = [(prices.instance(t) / inst.gpus_per_node(t), t)
                     for g in cfg.nodeGroups.values() if g.role == "gpu" for t in g.instanceTypes
                     if t in (prices.raw.get("instances") or {})]
            reps = prices.assumption("karpenter_gpu_instance_per_family") or {}
            if cfg.karpenter:
                cands += [(prices.instance(reps[f]) / inst.gpus_per_node(reps[f]), reps[f])
                          for f in cfg.karpenterGpuInstanceFamilies if f in reps]
            if not cands:
                warnings.append(f"inferenceEndpoints.{name}: no priced GPU instance to host it")
                continue
            per_gpu, it = min(cands)
            need = ep.replicas * ep.gpus
            n = nodes_for(need, inst.gpus_per_node(it))
            idle = n * monthly(prices.instance(it), h)
            lines.append(CostLine("GPU endpoints", f"endpoint {name} floor",
                                  f"{ep.replicas} replicas x {ep.gpus} GPU keep {n} x {it} up (cheapest per GPU); "
                                  "max is within the GPU pools above", idle, 0.0, source="config", gpu=True))

    # -- storage
    efs = _of_type(resources, "aws:efs/fileSystem:FileSystem")
    n_efs, src = len(efs), "plan"
    if not n_efs and cfg.efsCsi:
        n_efs, src = 1, "config"
    if n_efs:
        gb = float(prices.assumption("efs_footprint_gb"))
        fee = n_efs * gb * prices.service("efs_standard_gb_month")
        lines.append(CostLine("Storage", "EFS", f"{n_efs} file system x {gb:g} GB assumed x $0.30/GB-month",
                              fee, fee, source=src))
    fsx = _of_type(resources, "aws:fsx/lustreFileSystem:LustreFileSystem")
    specs = [(int(_inputs(r).get("storageCapacity") or 0), int(_inputs(r).get("perUnitStorageThroughput") or 0),
              str(_inputs(r).get("deploymentType") or "")) for r in fsx]
    src = "plan"
    if not specs and cfg.fsxLustre:
        specs, src = [(cfg.fsxLustreCapacityGiB, cfg.fsxLustreThroughputPerTiB, "PERSISTENT_2")], "config"
    for cap_gib, tput, kind in specs:
        if kind and kind != "PERSISTENT_2":
            warnings.append(f"FSx deployment type {kind} is not priced; only PERSISTENT_2 is in the table")
            continue
        try:
            fee = cap_gib * prices.fsx_gb_month(tput)
        except PriceError as exc:
            warnings.append(str(exc))
            continue
        lines.append(CostLine("Storage", "FSx for Lustre", f"{cap_gib} GiB PERSISTENT_2 at {tput} MB/s/TiB",
                              fee, fee, source=src))
    if cfg.prometheus:
        fee = cfg.prometheusStorageGiB * gp3
        lines.append(CostLine("Storage", "Prometheus volume", f"{cfg.prometheusStorageGiB} GiB gp3", fee, fee,
                              source="config"))
    keys = len(_of_type(resources, "aws:kms/key:Key"))
    if keys:
        fee = keys * prices.service("kms_key_month")
        lines.append(CostLine("Security", "KMS keys", f"{keys} customer managed keys x $1/month", fee, fee))

    rounded = [CostLine(x.category, x.item, x.detail, round(x.idle, 2), round(x.max, 2), x.source, x.gpu,
                        round(x.floor, 2)) for x in lines]
    return CostEstimate(stack=stack, lines=rounded, warnings=warnings)


def stack_config(project_dir: Path, stack: str) -> StackConfig:
    """The validated config of ``Pulumi.<stack>.yaml``, read the way the offline plan reads it."""
    from automation.offline.runner import read_stack_files
    from components.config import load_config

    files = read_stack_files(project_dir, stack)
    prefix = f"{files.project}:"
    values = {k[len(prefix):]: v for k, v in files.config.items() if k.startswith(prefix)}
    return load_config(values, stack=stack, project=files.project, project_dir=str(project_dir))


def fmt_usd(value: Optional[float]) -> str:
    return "-" if value is None else f"${value:,.2f}"
