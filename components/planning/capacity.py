"""Capacity coherence: do the quotas, jobs, endpoints and node pools of one stack add up? No Pulumi.

A stack can be valid key by key and still never run: a job needing 8 GPUs in
a team whose quota is 4 is admitted by nothing and waits forever; an endpoint
whose ``maxReplicas`` do not fit its team's memory quota stops scaling halfway
with ``exceeded quota`` events nobody watches; a ClusterQueue that admits 16
GPUs over node pools that can hold 6 admits jobs whose pods then stay Pending.
:func:`findings` compares the numbers before anything is created.

Errors are configurations that cannot work as written:

* an enabled training job's ``nodes`` x per-node requests (GPUs, CPU, memory)
  against its team's ResourceQuota, and (with Kueue) against the ClusterQueue's
  nominal quota: Kueue admits a job whole or not at all, and the team's quota
  rejects the pods the job would create;
* an enabled endpoint's ``maxReplicas`` x per-replica requests against its
  team's ResourceQuota (the HPA would scale into a wall).

Warnings are configurations that work but waste or surprise (they print and
do not fail):

* the sum of team GPU quotas, and the ClusterQueue GPU quota, above the GPUs
  the node pools can ever hold (Karpenter's GPU limit plus every managed or
  self-managed GPU pool at ``maxSize`` x GPUs per instance);
* a job whose per-node GPUs exceed the largest GPU node any pool can launch;
* an endpoint whose rollout at ``maxReplicas`` cannot surge one more replica
  within the quota, and the team's endpoints whose floors (``replicas``)
  together do not fit it;
* a switched-off job or endpoint that would fail the checks above once enabled.

The functions take the validated stack config (duck-typed: this module must
not import ``components.config``, which imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Literal, Optional

from components.planning import instances
from components.planning.quantity import parse_quantity

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One capacity problem: the config key to change, why, and whether it stops the program."""

    key: str
    reason: str
    severity: Severity

    @property
    def error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass(frozen=True)
class Demand:
    """Resources requested at once: GPUs, CPU cores, memory bytes."""

    gpus: int
    cpu: Decimal
    memory: Decimal

    def times(self, n: int) -> "Demand":
        return Demand(self.gpus * n, self.cpu * n, self.memory * n)

    def plus(self, other: "Demand") -> "Demand":
        return Demand(self.gpus + other.gpus, self.cpu + other.cpu, self.memory + other.memory)


ZERO = Demand(0, Decimal(0), Decimal(0))


@dataclass(frozen=True)
class Quota:
    """A quota to fit into, and the config keys that set each of its resources (for the message)."""

    name: str
    gpus: int
    cpu: Decimal
    memory: Decimal
    gpu_key: str
    cpu_key: str
    memory_key: str


def fmt_quantity(value: Decimal, *, memory: bool = False) -> str:
    """A Decimal back to a short Kubernetes quantity (``96``, ``1.5``, ``320Gi``)."""
    if memory:
        for suffix, unit in (("Ti", Decimal(2) ** 40), ("Gi", Decimal(2) ** 30), ("Mi", Decimal(2) ** 20)):
            if value >= unit and (value / unit) == (value / unit).to_integral_value():
                return f"{(value / unit).normalize():f}{suffix}"
        return f"{value.normalize():f}"
    return f"{value.normalize():f}"


def team_quota(name: str, team: Any) -> Quota:
    """The ResourceQuota a team namespace gets (``requests`` = ``limits`` for CPU and memory)."""
    return Quota(
        name=f"team {name}'s quota", gpus=int(team.gpu), cpu=parse_quantity(team.cpu),
        memory=parse_quantity(team.memory), gpu_key=f"teams.{name}.gpu", cpu_key=f"teams.{name}.cpu",
        memory_key=f"teams.{name}.memory",
    )


def cluster_queue_quota(cfg: Any) -> Quota:
    """The ClusterQueue's nominal quota (one flavor, no borrowing)."""
    return Quota(
        name="the ClusterQueue's quota", gpus=int(cfg.kueueGpuQuota), cpu=parse_quantity(cfg.kueueCpuQuota),
        memory=parse_quantity(cfg.kueueMemoryQuota), gpu_key="kueueGpuQuota", cpu_key="kueueCpuQuota",
        memory_key="kueueMemoryQuota",
    )


def job_demand(job: Any) -> Demand:
    """What a job holds while it runs: ``nodes`` pods, each requesting the per-node GPUs, CPU and memory."""
    per_node = Demand(int(job.gpusPerNode), parse_quantity(job.cpu), parse_quantity(job.memory))
    return per_node.times(int(job.nodes))


def replica_demand(endpoint: Any) -> Demand:
    """What one serving replica requests (requests = limits)."""
    return Demand(int(endpoint.gpus), parse_quantity(endpoint.cpu), parse_quantity(endpoint.memory))


def overflow(demand: Demand, quota: Quota) -> list[tuple[str, str]]:
    """[(resource, "X, above <quota> of Y (key)")] for every resource of ``demand`` above ``quota``."""
    out = []
    if demand.gpus > quota.gpus:
        out.append(("gpu", f"{demand.gpus} GPUs, above {quota.name} of {quota.gpus} ({quota.gpu_key})"))
    if demand.cpu > quota.cpu:
        out.append(("cpu", f"{fmt_quantity(demand.cpu)} CPUs, above {quota.name} of "
                           f"{fmt_quantity(quota.cpu)} ({quota.cpu_key})"))
    if demand.memory > quota.memory:
        out.append(("memory", f"{fmt_quantity(demand.memory, memory=True)} of memory, above {quota.name} of "
                              f"{fmt_quantity(quota.memory, memory=True)} ({quota.memory_key})"))
    return out


#: resource -> (job key, endpoint attribute)
_PER = {"gpu": ("gpusPerNode", "gpus"), "cpu": ("cpu", "cpu"), "memory": ("memory", "memory")}


def _per_unit(obj: Any, resource: str, attr: str) -> str:
    value = getattr(obj, attr)
    return f"{value} GPUs" if resource == "gpu" else (f"{value} CPU" if resource == "cpu" else str(value))


# --------------------------------------------------------------------------- reachable GPUs


@dataclass(frozen=True)
class GpuCapacity:
    """The GPUs the node pools can ever hold, and the largest GPU node any of them launches."""

    total: int
    #: "karpenter gpu NodePool limit 4", "nodeGroups.gpu 2 x 1" ... for the message
    parts: tuple[str, ...]
    max_per_node: int


def _family_max_gpus(family: str) -> int:
    sizes = [n for it, n in instances.ACCELERATOR_COUNT.items() if instances.family_of(it) == family]
    return max(sizes, default=0)


def reachable_gpus(cfg: Any) -> GpuCapacity:
    """Karpenter's ``gpu`` NodePool limit plus each GPU node group at ``maxSize`` x GPUs per instance.

    A pool listing several instance types counts its largest: the warning this
    feeds is about quotas no pool could ever satisfy, so it takes the most a
    pool could hold.
    """
    total, parts, per_node = 0, [], 0
    if cfg.karpenter and cfg.karpenterGpuLimit > 0 and cfg.karpenterGpuInstanceFamilies:
        total += int(cfg.karpenterGpuLimit)
        parts.append(f"Karpenter gpu NodePool limit {cfg.karpenterGpuLimit} (karpenterGpuLimit)")
        per_node = max([per_node, *(_family_max_gpus(f) for f in cfg.karpenterGpuInstanceFamilies)])
    for name, group in sorted(cfg.nodeGroups.items()):
        gpus = max((instances.gpus_per_node(it) for it in group.instanceTypes if instances.is_gpu(it)), default=0)
        if gpus == 0:
            continue
        total += int(group.maxSize) * gpus
        parts.append(f"nodeGroups.{name} {group.maxSize} x {gpus}")
        per_node = max(per_node, gpus)
    return GpuCapacity(total=total, parts=tuple(parts), max_per_node=per_node)


# --------------------------------------------------------------------------- checks


def _job_findings(cfg: Any) -> Iterable[Finding]:
    capacity = reachable_gpus(cfg)
    queue = cluster_queue_quota(cfg) if cfg.kueue else None
    for name, job in sorted(cfg.trainingJobs.items()):
        team = cfg.teams.get(job.team)
        if team is None:  # reported by the config module, not here
            continue
        demand = job_demand(job)
        severity: Severity = "error" if job.enabled else "warning"
        off = "" if job.enabled else " (the job is switched off; enabling it would fail)"
        quotas = [team_quota(job.team, team)] + ([queue] if queue is not None else [])
        for quota in quotas:
            problems = overflow(demand, quota)
            if problems:
                resource, why = problems[0]
                key = _PER[resource][0]
                what = "Kueue would never admit the job" if quota is queue else "its pods would be refused"
                yield Finding(f"trainingJobs.{name}.{key}",
                              f"{job.nodes} nodes x {_per_unit(job, resource, key)} = {why}: {what}{off}", severity)
                break
        else:
            if job.enabled and demand.gpus and capacity.total and job.gpusPerNode > capacity.max_per_node:
                yield Finding(
                    f"trainingJobs.{name}.gpusPerNode",
                    f"{job.gpusPerNode} GPUs per node, but the largest GPU node the pools can launch has "
                    f"{capacity.max_per_node}; the job's pods would stay Pending", "warning")


def _endpoint_findings(cfg: Any) -> Iterable[Finding]:
    floors: dict[str, Demand] = {}
    for name, ep in sorted(cfg.inferenceEndpoints.items()):
        team = cfg.teams.get(ep.team)
        if team is None:
            continue
        quota = team_quota(ep.team, team)
        one = replica_demand(ep)
        severity: Severity = "error" if ep.enabled else "warning"
        off = "" if ep.enabled else " (the endpoint is switched off; enabling it would fail)"
        problems = overflow(one.times(ep.maxReplicas), quota)
        if problems:
            resource, why = problems[0]
            yield Finding(
                f"inferenceEndpoints.{name}.maxReplicas",
                f"{ep.maxReplicas} replicas x {_per_unit(ep, resource, _PER[resource][1])} = {why}: "
                f"the autoscaler would stop short of maxReplicas{off}", severity)
            continue
        if not ep.enabled:
            continue
        floors[ep.team] = floors.get(ep.team, ZERO).plus(one.times(ep.replicas))
        if overflow(one.times(ep.maxReplicas + 1), quota):
            yield Finding(
                f"inferenceEndpoints.{name}.maxReplicas",
                f"at {ep.maxReplicas} replicas a rollout cannot start its surge replica within {quota.name} "
                f"(maxSurge 1, maxUnavailable 0): rollouts at peak wait until the autoscaler scales down", "warning")
    for team_name, demand in sorted(floors.items()):
        problems = overflow(demand, team_quota(team_name, cfg.teams[team_name]))
        if problems:
            yield Finding(
                f"teams.{team_name}", f"the team's endpoints at their minimum replicas need {problems[0][1]}; "
                "some replicas would never start", "warning")


def _gpu_supply_findings(cfg: Any) -> Iterable[Finding]:
    capacity = reachable_gpus(cfg)
    reach = (f"the node pools can hold at most {capacity.total} GPUs"
             + (f" ({' + '.join(capacity.parts)})" if capacity.parts else ""))
    team_gpus = sum(int(t.gpu) for t in cfg.teams.values())
    if team_gpus > capacity.total:
        yield Finding("teams", f"team GPU quotas add up to {team_gpus} but {reach}", "warning")
    if cfg.kueue and cfg.kueueGpuQuota > capacity.total:
        yield Finding("kueueGpuQuota", f"the ClusterQueue admits {cfg.kueueGpuQuota} GPUs but {reach}; "
                                       "admitted jobs would wait for nodes that never come", "warning")


def findings(cfg: Any) -> list[Finding]:
    """Every capacity finding for a validated stack config, errors first (stable order)."""
    out = [*_job_findings(cfg), *_endpoint_findings(cfg), *_gpu_supply_findings(cfg)]
    return sorted(out, key=lambda f: not f.error)


def first_error(found: Iterable[Finding]) -> Optional[Finding]:
    return next((f for f in found if f.error), None)


def warnings(found: Iterable[Finding]) -> list[Finding]:
    return [f for f in found if not f.error]


__all__ = [
    "Demand", "Finding", "GpuCapacity", "Quota", "cluster_queue_quota", "findings", "first_error", "job_demand",
    "reachable_gpus", "replica_demand", "team_quota", "warnings",
]
