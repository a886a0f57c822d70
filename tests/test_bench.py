"""Unit tests of the benchmark tooling's pure parts: critical path, cost arithmetic, synthetic stacks, statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench import cost as costmod
from bench import critical_path as cp
from bench import stats, synthetic
from components.config import load_config
from components.planning import instances
from tests.helpers import minimal_config

PROJECT_DIR = Path(__file__).resolve().parents[1]
S = "urn:pulumi:t::p::"


def res(type_: str, name: str, *, parent: str = "", deps=(), pdeps=None, custom=True, origin="program",
        inputs=None, chain: str = "") -> dict:
    """A plan-JSON resource. ``chain`` is the parent type chain the URN is qualified with."""
    qualified = f"{chain}${type_}" if chain else type_
    return {
        "urn": f"{S}{qualified}::{name}", "type": type_, "name": name, "parent": parent, "custom": custom,
        "dependencies": list(deps), "propertyDependencies": dict(pdeps or {}), "origin": origin,
        "inputs": inputs or {},
    }


def urn(r: dict) -> str:
    return r["urn"]


# --------------------------------------------------------------------------- critical path

VPC = res("aws:ec2/vpc:Vpc", "vpc")
NAT = res("aws:ec2/natGateway:NatGateway", "nat", deps=[urn(VPC)])
RT = res("aws:ec2/routeTable:RouteTable", "rt", pdeps={"routes": [urn(NAT)]})
CLUSTER = res("eks:index:Cluster", "eks", custom=False, pdeps={"vpcId": [urn(VPC)]}, deps=[urn(RT)])
NG = res("eks:index:ManagedNodeGroup", "ng", custom=False, deps=[urn(CLUSTER)])
ADDON_A = res("aws:eks/addon:Addon", "coredns", deps=[urn(NG)])
ADDON_B = res("kubernetes:helm.sh/v3:Release", "lbc", deps=[urn(NG)])


def test_slow_kinds_include_every_listed_type_and_fsx_file_systems():
    for t in ("eks:index:Cluster", "aws:eks/cluster:Cluster", "eks:index:ManagedNodeGroup", "eks:index:NodeGroupV2",
              "eks:index:NodeGroup", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/natGateway:NatGateway",
              "aws:eks/addon:Addon", "kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart",
              "aws:fsx/lustreFileSystem:LustreFileSystem", "aws:fsx/ontapFileSystem:OntapFileSystem"):
        assert cp.is_slow(t), t
    for t in ("aws:ec2/vpc:Vpc", "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation",
              "kubernetes:apps/v1:Deployment", "aws:iam/role:Role"):
        assert not cp.is_slow(t), t


def test_network_cluster_nodegroup_then_parallel_addons_is_four_steps():
    path = cp.critical_path([VPC, NAT, RT, CLUSTER, NG, ADDON_A, ADDON_B])
    assert path.depth == 4
    assert [h.name for h in path.chain] == ["nat", "eks", "ng", "coredns"]
    # The NAT reaches the cluster through a non-slow route table; the path keeps that hop and its link.
    names = [h.name for h in path.path]
    assert names[names.index("nat") + 1] == "rt"
    assert path.path[names.index("nat")].link == "propertyDependencies.routes"
    assert path.depths[urn(ADDON_B)] == 4
    assert path.addon_chains() == []
    assert path.over_target() == []


def test_addon_waiting_for_addon_is_a_fifth_step_and_the_edge_is_named():
    chained = res("kubernetes:helm.sh/v3:Release", "karpenter", pdeps={"values": [urn(ADDON_B)]})
    path = cp.critical_path([VPC, NAT, RT, CLUSTER, NG, ADDON_A, ADDON_B, chained])
    assert path.depth == 5
    assert path.chain[-1].name == "karpenter"
    over = path.over_target(target=4)
    assert [(cp.urn_name(e.dependent), cp.urn_name(e.dependency)) for e in over] == [("karpenter", "lbc")]
    assert over[0].path[0].link == "propertyDependencies.values"
    assert [(cp.urn_name(e.dependent), cp.urn_name(e.dependency)) for e in path.addon_chains()] == [("karpenter", "lbc")]


def test_depending_on_a_component_waits_for_all_its_descendants():
    comp = res("mlplatform:addons:Storage", "storage", custom=False)
    child = res("aws:eks/addon:Addon", "ebs", parent=urn(comp), deps=[urn(NG)])
    grandchild_comp = res("mlplatform:identity:WorkloadIdentity", "ebs-id", parent=urn(comp), custom=False)
    grandchild = res("aws:fsx/lustreFileSystem:LustreFileSystem", "fsx", parent=urn(grandchild_comp),
                     deps=[urn(child)])
    # A consumer that only names the component must wait for the FSx file system two levels down.
    consumer = res("kubernetes:helm.sh/v3:Release", "app", deps=[urn(comp)])
    path = cp.critical_path([VPC, NAT, RT, CLUSTER, NG, comp, child, grandchild_comp, grandchild, consumer])
    assert path.depths[urn(consumer)] == path.depths[urn(grandchild)] + 1 == 6
    assert [h.name for h in path.chain][-3:] == ["ebs", "fsx", "app"]
    assert "descendant" in path.path[[h.name for h in path.path].index("fsx")].link


def test_unregistered_inner_urn_is_attributed_to_its_provider_side_component():
    comp = res("mlplatform:cluster:Cluster", "cluster", custom=False)
    eks = res("eks:index:Cluster", "cluster-eks", custom=False, parent=urn(comp), chain="mlplatform:cluster:Cluster")
    inner = f"{S}mlplatform:cluster:Cluster$eks:index:Cluster$aws:eks/cluster:Cluster::cluster-eks-eksCluster"
    addon = res("aws:eks/addon:Addon", "vpc-cni", pdeps={"clusterName": [inner]})
    path = cp.critical_path([comp, eks, addon])
    assert path.unresolved == []
    assert path.depth == 2
    assert [h.name for h in path.chain] == ["cluster-eks", "vpc-cni"]
    assert "cluster-eks-eksCluster (inside cluster-eks)" in path.path[-2].link


def test_unknown_dependency_outside_any_component_becomes_a_standalone_node():
    ghost = f"{S}aws:eks/addon:Addon::ghost"
    a = res("kubernetes:helm.sh/v3:Release", "a", deps=[ghost])
    path = cp.critical_path([a])
    assert path.unresolved == [ghost]
    assert path.depth == 2  # the ghost add-on is slow too


def test_expanded_objects_start_with_their_provider_side_component():
    chart = res("kubernetes:yaml/v2:ConfigGroup", "objs", custom=False, deps=[urn(NG)])
    obj = res("kubernetes:helm.sh/v3:Release", "inner", parent=urn(chart), origin="expanded")
    path = cp.critical_path([VPC, NAT, RT, CLUSTER, NG, chart, obj])
    assert path.depths[urn(obj)] == 4
    # Not expanded (a program object): no implicit wait on the parent's dependencies.
    plain = dict(obj, origin="program")
    assert cp.critical_path([VPC, NAT, RT, CLUSTER, NG, chart, plain]).depths[urn(obj)] == 1


def test_dependency_on_own_ancestor_is_dropped_not_looped():
    comp = res("mlplatform:x:X", "x", custom=False)
    child = res("aws:eks/addon:Addon", "c", parent=urn(comp), deps=[urn(comp)])
    path = cp.critical_path([comp, child])
    assert path.depth == 1
    assert path.dropped == [(urn(child), urn(comp))]


def test_cycle_between_resources_is_reported():
    a = res("aws:eks/addon:Addon", "a", deps=[f"{S}aws:eks/addon:Addon::b"])
    b = res("aws:eks/addon:Addon", "b", deps=[urn(a)])
    with pytest.raises(cp.GraphError, match="cycle"):
        cp.critical_path([a, b])


def test_chain_length_always_equals_depth():
    resources = [VPC, NAT, RT, CLUSTER, NG, ADDON_A, ADDON_B]
    path = cp.critical_path(resources)
    assert len(path.chain) == path.depth


# --------------------------------------------------------------------------- cost arithmetic


@pytest.fixture(scope="module")
def prices() -> costmod.Prices:
    return costmod.Prices.load()


def test_monthly_and_node_count_arithmetic():
    assert costmod.monthly(0.10) == pytest.approx(73.0)
    assert costmod.monthly(0.045) == pytest.approx(32.85)
    assert costmod.nodes_for(64, 8) == 8
    assert costmod.nodes_for(65, 8) == 9
    assert costmod.nodes_for(0, 8) == 0
    with pytest.raises(ValueError):
        costmod.nodes_for(1, 0)


def test_fargate_pod_size_adds_overhead_and_rounds_up_to_a_fargate_size():
    assert costmod.fargate_pod_size("1", "2Gi") == (1, 3.0)  # 2 GiB + 256 MiB -> 3 GB
    assert costmod.fargate_pod_size("250m", "256Mi") == (0.25, 1.0)
    assert costmod.fargate_pod_size("3", "4Gi") == (4, 8.0)  # 4 vCPU needs at least 8 GB
    with pytest.raises(ValueError):
        costmod.fargate_pod_size("32", "1Gi")


def test_pool_price_uses_the_priciest_type_and_the_spot_assumption(prices):
    od, chosen = costmod.pool_hourly(prices, ["g6.xlarge", "g5.xlarge"], "ON_DEMAND")
    assert (od, chosen) == (pytest.approx(1.006), "g5.xlarge")
    spot, _ = costmod.pool_hourly(prices, ["g6.xlarge", "g5.xlarge"], "SPOT")
    assert spot == pytest.approx(1.006 * (1 - prices.assumption("spot_discount")))


def test_estimate_counts_plan_resources_and_pools(prices):
    cfg = minimal_config(
        nodeGroups={
            "system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3},
            "gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2},
        },
        karpenter=False, efsCsi=False,
    )
    resources = [
        res("eks:index:Cluster", "eks", custom=False),
        res("aws:ec2/natGateway:NatGateway", "nat-0"), res("aws:ec2/natGateway:NatGateway", "nat-1"),
        res("aws:ec2/eip:Eip", "eip-0"),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", inputs={"vpcEndpointType": "Gateway"}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "ecr", inputs={"vpcEndpointType": "Interface",
                                                               "subnetIds": ["a", "b", "c"]}),
        res("aws:fsx/lustreFileSystem:LustreFileSystem", "fsx", inputs={
            "storageCapacity": 2400, "perUnitStorageThroughput": 250, "deploymentType": "PERSISTENT_2"}),
        res("aws:kms/key:Key", "k"),
    ]
    est = costmod.estimate("t", cfg, resources, prices)
    by = {x.item: x for x in est.lines}
    assert by["control plane"].idle == pytest.approx(73.0)
    assert by["NAT gateways"].idle == pytest.approx(2 * 32.85)
    assert by["public IPv4 addresses"].idle == pytest.approx(3.65)
    assert by["interface VPC endpoints"].idle == pytest.approx(3 * 7.3)  # gateway endpoint is free
    assert by["FSx for Lustre"].idle == pytest.approx(2400 * 0.210)
    assert by["KMS keys"].idle == pytest.approx(1.0)
    system = by["system (system)"]
    assert system.idle == pytest.approx(2 * (0.096 * 730 + 50 * 0.08))
    assert system.max == pytest.approx(3 * (0.096 * 730 + 50 * 0.08))
    gpu = by["gpu (gpu)"]
    assert gpu.gpu and gpu.idle == 0 and gpu.max == pytest.approx(2 * (1.006 * 730 + 200 * 0.08))
    assert est.gpu_idle == 0
    # Floor: EKS fee + ONE NAT gateway + the system pool at its minimum.
    assert est.floor == pytest.approx(73.0 + 32.85 + system.idle, abs=0.01)
    assert est.idle == pytest.approx(sum(x.idle for x in est.lines), abs=0.01)
    assert "NAT gateways" in dict(est.above_floor()).__repr__()


def test_karpenter_max_fills_limits_with_the_stated_instances(prices):
    cfg = minimal_config(karpenter=True, karpenterCpuLimit=64, karpenterGpuLimit=16,
                         karpenterGpuInstanceFamilies=["g5", "p5"], karpenterGpuCapacityTypes=["on-demand"])
    est = costmod.estimate("t", cfg, [], prices)
    by = {x.item: x for x in est.lines}
    cpu_it = prices.assumption("karpenter_cpu_instance")
    n_cpu = costmod.nodes_for(64, prices.vcpus(cpu_it))
    assert by["cpu NodePool"].idle == 0
    assert by["cpu NodePool"].max == pytest.approx(n_cpu * (prices.instance(cpu_it) * 730 + 50 * 0.08), abs=0.01)
    # p5 is the priciest per GPU of g5/p5: 16 GPUs = 2 x p5.48xlarge.
    assert by["gpu NodePool"].idle == 0
    assert by["gpu NodePool"].max == pytest.approx(2 * (55.04 * 730 + 200 * 0.08), abs=0.01)
    assert "p5.48xlarge" in by["gpu NodePool"].detail


def test_karpenter_pools_are_read_from_the_plans_nodepools(prices):
    cfg = minimal_config(karpenter=True, karpenterCpuLimit=999, karpenterGpuLimit=999,
                         karpenterGpuInstanceFamilies=["p5"])
    ncls = res("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "nc", inputs={
        "metadata": {"name": "default"},
        "spec": {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi"}}]}})
    cpu_pool = res("kubernetes:karpenter.sh/v1:NodePool", "np-cpu", inputs={
        "metadata": {"name": "cpu"},
        "spec": {"limits": {"cpu": "64"}, "template": {"spec": {
            "nodeClassRef": {"name": "default"},
            "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In",
                              "values": ["spot", "on-demand"]}]}}}})
    gpu_pool = res("kubernetes:karpenter.sh/v1:NodePool", "np-gpu", inputs={
        "metadata": {"name": "gpu"},
        "spec": {"limits": {"nvidia.com/gpu": "4"}, "template": {"spec": {
            "nodeClassRef": {"name": "missing"},
            "requirements": [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5", "g6"]},
                             {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}]}}}})
    pools = {p.name: p for p in costmod.karpenter_pools([ncls, cpu_pool, gpu_pool], cfg, prices)}
    assert pools["cpu"].limit == 64 and pools["cpu"].disk_gib == 100 and pools["cpu"].source == "plan"
    assert pools["gpu"].families == ("g5", "g6") and pools["gpu"].limit == 4
    assert pools["gpu"].disk_gib == prices.assumption("karpenter_node_disk_gib")["gpu"]  # unknown class: default
    by = {x.item: x for x in costmod.estimate("t", cfg, [ncls, cpu_pool, gpu_pool], prices).lines}
    cpu_it = prices.assumption("karpenter_cpu_instance")
    n = costmod.nodes_for(64, prices.vcpus(cpu_it))
    spot = 1 - prices.assumption("spot_discount")
    assert by["cpu NodePool"].max == pytest.approx(n * (prices.instance(cpu_it) * 730 * spot + 100 * 0.08), abs=0.01)
    # g5.xlarge is pricier per GPU than g6.xlarge: 4 x g5.xlarge on-demand (the plan says on-demand only).
    assert by["gpu NodePool"].max == pytest.approx(4 * (1.006 * 730 + 200 * 0.08), abs=0.01)
    assert by["gpu NodePool"].gpu and by["gpu NodePool"].idle == 0


def test_enabled_gpu_endpoint_makes_idle_gpu_cost_positive(prices):
    cfg = minimal_config(
        karpenter=True, karpenterGpuInstanceFamilies=["g5", "g6"],
        teams={"serving": {"gpu": 4}},
        inferenceEndpoints={"llm": {"team": "serving", "placement": "gpu", "gpus": 1, "replicas": 2,
                                    "exposure": "none"}},
    )
    est = costmod.estimate("t", cfg, [], prices)
    floor_line = next(x for x in est.lines if x.item == "endpoint llm floor")
    # Cheapest per GPU among g5.xlarge and g6.xlarge: 2 x g6.xlarge.
    assert floor_line.idle == pytest.approx(2 * 0.8048 * 730, abs=0.01)
    assert est.gpu_idle > 0


def test_load_balancers_are_counted_per_alb_group_and_loadbalancer_service():
    ing = lambda name, group=None: res("kubernetes:networking.k8s.io/v1:Ingress", name, inputs={  # noqa: E731
        "spec": {"ingressClassName": "alb"},
        "metadata": {"annotations": {"alb.ingress.kubernetes.io/group.name": group} if group else {}}})
    svc = res("kubernetes:core/v1:Service", "nlb", inputs={"spec": {"type": "LoadBalancer"}})
    cluster_ip = res("kubernetes:core/v1:Service", "svc", inputs={"spec": {"type": "ClusterIP"}})
    other = res("kubernetes:networking.k8s.io/v1:Ingress", "nginx", inputs={"spec": {"ingressClassName": "nginx"}})
    assert costmod.load_balancers([ing("a", "shared"), ing("b", "shared"), ing("c"), svc, cluster_ip, other]) == (2, 1)


def test_missing_price_is_reported_not_guessed(prices):
    raw = {**prices.raw, "instances": {k: v for k, v in prices.raw["instances"].items() if k != "m6i.large"}}
    est = costmod.estimate("t", minimal_config(karpenter=False, efsCsi=False), [], costmod.Prices(raw))
    assert any("m6i.large" in w for w in est.warnings)
    assert not any(x.category == "Node pools" for x in est.lines)


def test_price_table_is_dated_sourced_and_covers_every_type_in_use(prices):
    assert prices.checked and prices.region == "us-west-2"
    sources = set(prices.raw["sources"])
    for it, entry in prices.raw["instances"].items():
        assert entry["source"] in sources, it
        instances.family_info(it)  # a real family the platform knows
    for key, entry in prices.raw["services"].items():
        assert entry["source"] in sources, key
    used = set()
    for stack in ("dev", "prod"):
        doc = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
        for g in (doc["config"].get("mlplatform:nodeGroups") or {}).values():
            used.update(g["instanceTypes"])
    used.update(synthetic.CPU_POOL_TYPES + synthetic.GPU_POOL_TYPES)
    used.add(prices.assumption("karpenter_cpu_instance"))
    used.update(prices.assumption("karpenter_gpu_instance_per_family").values())
    assert used <= set(prices.raw["instances"]), sorted(used - set(prices.raw["instances"]))
    for tier in (125, 250, 500, 1000):
        assert prices.fsx_gb_month(tier) > 0
    assert 0.5 <= prices.assumption("spot_discount") <= 0.8


def test_dev_stack_costs_nothing_for_gpus_when_idle(prices):
    cfg = costmod.stack_config(PROJECT_DIR, "dev")
    est = costmod.estimate("dev", cfg, [], prices)
    assert any(x.gpu for x in est.lines)  # it does have GPU capacity ...
    assert est.gpu_idle == 0  # ... that scales to zero


# --------------------------------------------------------------------------- synthetic stacks


@pytest.fixture(scope="module")
def dev_doc() -> dict:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())


@pytest.mark.parametrize("n", [0, 10, 100])
def test_synthetic_config_is_valid_and_has_exact_counts(dev_doc, n):
    doc = synthetic.synthetic_config(dev_doc, "mlplatform", n, pools=20)
    cfg = load_config(synthetic.config_values(doc, "mlplatform"), stack=synthetic.stack_name(n),
                      project_dir=str(PROJECT_DIR))
    base = load_config(synthetic.config_values(dev_doc, "mlplatform"), stack="dev", project_dir=str(PROJECT_DIR))
    added = set(cfg.teams) - set(base.teams)
    assert len(added) == n and all(t.startswith("team-") for t in added)
    assert set(base.teams) <= set(cfg.teams)  # dev's own teams stay: other settings refer to them
    new_eps = {k: v for k, v in cfg.inferenceEndpoints.items() if k not in base.inferenceEndpoints}
    new_jobs = {k: v for k, v in cfg.trainingJobs.items() if k not in base.trainingJobs}
    assert sorted(e.team for e in new_eps.values()) == sorted(added)
    assert sorted(j.team for j in new_jobs.values()) == sorted(added)
    assert all(j.gpusPerNode == 1 for j in new_jobs.values())
    assert len(cfg.nodeGroups) == 20
    assert {g.role for g in cfg.nodeGroups.values()} == {"system", "cpu", "gpu"}
    # Everything else is the dev stack's: same region, NAT strategy, cluster settings.
    assert doc["config"]["aws:region"] == dev_doc["config"]["aws:region"]
    assert cfg.natStrategy == base.natStrategy
    assert cfg.kueueGpuQuota >= n


def test_synthetic_config_rejects_bad_sizes(dev_doc):
    with pytest.raises(ValueError):
        synthetic.synthetic_config(dev_doc, "mlplatform", 10, pools=0)


def test_stack_files_are_deleted_even_when_the_run_fails(tmp_path, dev_doc):
    doc = synthetic.synthetic_config(dev_doc, "mlplatform", 2, pools=3)
    with pytest.raises(RuntimeError):
        with synthetic.stack_files(tmp_path, {"bench-2": doc}) as paths:
            assert paths == [tmp_path / "Pulumi.bench-2.yaml"]
            written = yaml.safe_load(paths[0].read_text())
            assert {"team-001", "team-002"} <= set(written["config"]["mlplatform:teams"])
            raise RuntimeError("boom")
    assert not (tmp_path / "Pulumi.bench-2.yaml").exists()
    with pytest.raises(ValueError):
        with synthetic.stack_files(tmp_path, {"dev": doc}):
            pass
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- statistics


def test_linear_fit_recovers_a_line():
    fit = stats.linear_fit([10, 50, 100], [3 + 0.5 * n for n in (10, 50, 100)])
    assert fit.a == pytest.approx(3) and fit.b == pytest.approx(0.5) and fit.r2 == pytest.approx(1)


def test_growth_flags_quadratic_but_not_linear_or_flat_noise():
    quad = stats.growth([(n, 5 + 0.01 * n * n) for n in (10, 50, 100)])
    assert quad.superlinear()
    lin = stats.growth([(n, 5 + 0.2 * n) for n in (10, 50, 100)])
    assert not lin.superlinear() and lin.slope_ratio == pytest.approx(1)
    # Flat timings with run-to-run noise: the marginal cost "rises" but by less than the runs disagree.
    flat_noise = stats.growth([(10, 6.56), (50, 6.50), (100, 6.90)])
    assert flat_noise.slope_ratio > 1.3
    assert not flat_noise.superlinear(min_excess=stats.excess_threshold([stats.relative_spread([6.6, 6.9, 6.57])]))
    # A real quadratic term stays flagged even when the runs are noisy (the threshold is capped).
    assert quad.superlinear(min_excess=stats.excess_threshold([0.5]))


def test_noise_measures_ignore_a_single_outlier_and_are_bounded():
    assert stats.relative_spread([10, 10, 10, 10, 30]) == 0  # one run slowed down by another job
    assert stats.relative_spread([9, 10, 11]) == pytest.approx(0.1)
    assert stats.excess_threshold([]) == 0.10
    assert stats.excess_threshold([0.05]) == pytest.approx(0.15)
    assert stats.excess_threshold([0.5]) == 0.25


# --------------------------------------------------------------------------- report


def test_report_renders_every_section_from_measured_results(tmp_path, prices):
    from bench import run as br
    from bench.report import render

    args = br.parse_args(["--runs", "2", "--sizes", "10,50,100"])

    def runs(wall: float, cpu: float, resources: int) -> list:
        return [br.PlanRun(wall=wall + d, program=wall * 0.6, policy=wall * 0.3, analyzed=resources + 1,
                           resources=resources, plan_rss_kib=200_000, pack_rss_kib=190_000,
                           plan_cpu=cpu * 0.55, pack_cpu=cpu * 0.45) for d in (0.0, 0.2)]

    resources = [VPC, NAT, RT, CLUSTER, NG, ADDON_A, ADDON_B]
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(__import__("json").dumps({"resources": resources}))
    dev = br.StackBench("dev", runs(10, 9, 180), plan_json, "python -m automation plan --stack dev --json FILE.json")
    scaling = []
    for n, (wall, cpu) in zip((10, 50, 100), ((20, 18), (60, 55), (110, 101))):
        sb = br.StackBench(f"bench-{n}", runs(wall, cpu, 180 + 34 * n)[:1], plan_json, "cmd", teams=n, pools=20)
        scaling.append(sb)
    res = br.Results(date="2026-11-29 00:00 UTC", args=args, prices=prices, stacks=[dev], scaling=scaling,
                     machine={"cpu": "Test CPU", "cores": 2, "ram": "4.0 GiB", "python": "3.11.7",
                              "implementation": "CPython", "os": "Linux", "load": (0.1, 0.2, 0.3), "commit": "abc"})
    res.paths = {"dev": cp.critical_path(resources)}
    res.costs = {"dev": costmod.estimate("dev", costmod.stack_config(PROJECT_DIR, "dev"), [], prices)}
    res.errors = {"cost of prod": "ConfigError: invalid config x: y"}
    text = render(res)
    for heading in ("## Machine", "## 1. Offline plan", "## 2. Scaling", "## 3. Deploy critical path",
                    "## 4. Cost per month", "## Figures that could not be computed", "## Reproduce"):
        assert heading in text, heading
    assert "| Test CPU | 2 | 4.0 GiB | CPython 3.11.7 |" in text
    assert "| dev | 180 | 10.10 s (10.00..10.20)" in text
    assert "**CPU, plan + pack** (the verdict)" in text
    assert "| **super-linear** |" not in text  # these made-up timings grow linearly
    assert "4. **aws:eks/addon:Addon `coredns`**" in text
    assert "Target \"dev costs nothing for GPUs when idle\": met" in text
    assert "cost of prod: ConfigError" in text


def test_scaling_sizes_keep_their_fastest_run_and_shipped_stacks_their_median(tmp_path):
    from bench import run as br

    mk = lambda cpu: br.PlanRun(wall=cpu, program=0, policy=1, analyzed=1, resources=1, plan_rss_kib=1,  # noqa: E731
                                pack_rss_kib=1, plan_cpu=cpu, pack_cpu=0)
    shipped = br.StackBench("dev", [mk(5), mk(9), mk(6)], tmp_path / "p.json", "cmd")
    synthetic_size = br.StackBench("bench-50", [mk(50), mk(41)], tmp_path / "p.json", "cmd", aggregate="min")
    assert shipped.med("cpu") == 6
    assert synthetic_size.med("cpu") == 41
