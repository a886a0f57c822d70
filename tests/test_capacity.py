"""Capacity coherence (components/planning/capacity.py): jobs and endpoints against quotas, quotas against pools."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import ConfigError
from components.planning import capacity, instances
from tests.helpers import minimal_config
from tests.test_plan import plan, temp_stack

SYSTEM = {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2}


def cfg(**overrides):
    values = {"nodeGroups": {"system": SYSTEM}, "karpenterGpuLimit": 8}
    values.update(overrides)
    return minimal_config(**values)


def job(team="research", nodes=2, gpus=1, cpu="4", memory="16Gi", **extra):
    return {"team": team, "nodes": nodes, "gpusPerNode": gpus, "cpu": cpu, "memory": memory, "volume": "none",
            **extra}


def endpoint(team="serving", replicas=2, max_replicas=4, cpu="1", memory="2Gi", **extra):
    return {"team": team, "replicas": replicas, "maxReplicas": max_replicas, "cpu": cpu, "memory": memory,
            "exposure": "none", **extra}


def refused(**overrides) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        cfg(**overrides)
    return exc.value


# --------------------------------------------------------------------------- training jobs


def test_job_fitting_its_team_and_the_cluster_queue_passes():
    c = cfg(teams={"research": {"gpu": 4, "cpu": "32", "memory": "128Gi"}}, trainingJobs={"j": job(nodes=4)})
    assert capacity.findings(c) == []


@pytest.mark.parametrize("team,job_,key,quota_key", [
    ({"gpu": 4}, job(nodes=4, gpus=2), "trainingJobs.j.gpusPerNode", "teams.research.gpu"),
    ({"gpu": 8, "cpu": "15"}, job(nodes=4, cpu="4"), "trainingJobs.j.cpu", "teams.research.cpu"),
    ({"gpu": 8, "memory": "63Gi"}, job(nodes=4, memory="16Gi"), "trainingJobs.j.memory", "teams.research.memory"),
])
def test_job_above_its_team_quota_is_refused_naming_job_and_quota(team, job_, key, quota_key):
    err = refused(teams={"research": team}, trainingJobs={"j": job_})
    assert err.key == key and quota_key in err.reason
    assert "\n" not in str(err)


def test_job_above_the_cluster_queue_is_refused_only_with_kueue():
    big_team = {"gpu": 16, "cpu": "512", "memory": "2Ti"}
    err = refused(teams={"research": big_team}, kueueGpuQuota=4, trainingJobs={"j": job(nodes=3, gpus=2)})
    assert err.key == "trainingJobs.j.gpusPerNode" and "kueueGpuQuota" in err.reason
    err = refused(teams={"research": big_team}, kueueMemoryQuota="64Gi", trainingJobs={"j": job(memory="40Gi")})
    assert err.key == "trainingJobs.j.memory" and "kueueMemoryQuota" in err.reason
    # Without Kueue there is no ClusterQueue to fit into.
    c = cfg(teams={"research": big_team}, kueue=False, kueueGpuQuota=4, trainingJobs={"j": job(nodes=3, gpus=2)})
    assert not [f for f in capacity.findings(c) if f.error]


def test_switched_off_job_that_would_not_fit_is_a_warning():
    c = cfg(teams={"research": {"gpu": 1}}, trainingJobs={"j": job(nodes=2, enabled=False)})
    (f,) = capacity.findings(c)
    assert not f.error and f.key == "trainingJobs.j.gpusPerNode" and "switched off" in f.reason


def test_job_wider_than_any_gpu_node_is_a_warning():
    # g5.xlarge holds one GPU; Karpenter off, so nothing can hold a pod asking for two.
    c = cfg(karpenter=False, nodeGroups={"system": SYSTEM, "gpu": {"instanceTypes": ["g5.xlarge"], "maxSize": 4}},
            kueueGpuQuota=4, teams={"research": {"gpu": 4}}, trainingJobs={"j": job(nodes=2, gpus=2)})
    (f,) = capacity.findings(c)
    assert f.key == "trainingJobs.j.gpusPerNode" and not f.error and "largest GPU node" in f.reason


# --------------------------------------------------------------------------- endpoints


def test_endpoint_whose_max_replicas_exceed_the_team_memory_quota_is_refused():
    err = refused(teams={"serving": {"memory": "16Gi"}},
                  inferenceEndpoints={"e": endpoint(max_replicas=5, memory="4Gi")})
    assert err.key == "inferenceEndpoints.e.maxReplicas"
    assert "20Gi" in err.reason and "teams.serving.memory" in err.reason


def test_gpu_endpoint_above_the_team_gpu_quota_is_refused():
    err = refused(teams={"serving": {"gpu": 2, "memory": "256Gi"}},
                  inferenceEndpoints={"e": endpoint(max_replicas=3, gpus=1, placement="gpu", memory="8Gi")})
    assert err.key == "inferenceEndpoints.e.maxReplicas" and "teams.serving.gpu" in err.reason


def test_endpoint_rollout_surge_and_floors_are_warnings():
    # 4 x 4Gi = 16Gi fits; the surge replica (5 x 4Gi) does not.
    c = cfg(teams={"serving": {"memory": "16Gi"}}, inferenceEndpoints={"e": endpoint(max_replicas=4, memory="4Gi")})
    (f,) = capacity.findings(c)
    assert f.key == "inferenceEndpoints.e.maxReplicas" and not f.error and "surge" in f.reason
    # Two endpoints that each fit, but not both at their floors.
    c = cfg(teams={"serving": {"cpu": "6", "memory": "64Gi"}},
            inferenceEndpoints={"a": endpoint(replicas=2, max_replicas=2, cpu="2"),
                                "b": endpoint(replicas=2, max_replicas=2, cpu="2")})
    keys = {f.key for f in capacity.findings(c)}
    assert "teams.serving" in keys and not [f for f in capacity.findings(c) if f.error]


def test_switched_off_endpoint_is_a_warning_not_an_error():
    c = cfg(teams={"serving": {"memory": "8Gi"}},
            inferenceEndpoints={"e": endpoint(max_replicas=8, memory="4Gi", enabled=False)})
    (f,) = capacity.findings(c)
    assert not f.error and "switched off" in f.reason


# --------------------------------------------------------------------------- GPUs the pools can reach


def test_reachable_gpus_counts_karpenter_limit_and_pools_at_max_size_from_the_instance_table():
    c = cfg(karpenterGpuLimit=4, nodeGroups={
        "system": SYSTEM,
        "a10g": {"instanceTypes": ["g5.12xlarge"], "maxSize": 2},
        "mixed": {"instanceTypes": ["g6.xlarge", "g6.12xlarge"], "maxSize": 3},
    })
    reach = capacity.reachable_gpus(c)
    per = instances.ACCELERATOR_COUNT
    assert reach.total == 4 + 2 * per["g5.12xlarge"] + 3 * max(per["g6.xlarge"], per["g6.12xlarge"])
    assert reach.max_per_node == max(n for it, n in per.items()
                                     if instances.family_of(it) in {"g5", "g6", "g6e"} and instances.is_gpu(it))


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(0, 16), pool_max=st.integers(1, 4), queue=st.integers(0, 40),
       teams=st.lists(st.integers(0, 12), min_size=1, max_size=3))
def test_gpu_supply_warnings_fire_exactly_when_quotas_exceed_reachable_gpus(limit, pool_max, queue, teams):
    c = cfg(karpenterGpuLimit=limit, kueueGpuQuota=queue,
            nodeGroups={"system": SYSTEM, "gpu": {"instanceTypes": ["g5.12xlarge"], "maxSize": pool_max}},
            teams={f"t{i}": {"gpu": g} for i, g in enumerate(teams)})
    total = limit + pool_max * instances.ACCELERATOR_COUNT["g5.12xlarge"]
    found = {f.key: f for f in capacity.findings(c)}
    assert ("kueueGpuQuota" in found) == (queue > total)
    assert ("teams" in found) == (sum(teams) > total)
    assert not any(f.error for f in found.values())


# --------------------------------------------------------------------------- through the offline plan

STACK = textwrap.dedent("""\
    config:
      aws:region: us-west-2
      mlplatform:tags:
        owner: ml-platform
        cost-center: ml-test
      mlplatform:nodeGroups:
        system:
          role: system
          instanceTypes: [m6i.large]
          minSize: 2
          maxSize: 3
      mlplatform:karpenterGpuLimit: 4
      mlplatform:kueueGpuQuota: 4
      mlplatform:teams:
        research:
          gpu: 4
        serving:
          memory: 16Gi
""")


def _plan_stack(extra: str, *args: str, stack: str = STACK):
    with temp_stack(stack + textwrap.indent(textwrap.dedent(extra), "  ")) as name:
        return plan("--stack", name, *args)


@pytest.mark.parametrize("extra,key", [
    ("""\
      mlplatform:trainingJobs:
        too-wide:
          team: research
          nodes: 3
          gpusPerNode: 2
          volume: none
    """, "trainingJobs.too-wide.gpusPerNode"),
    ("""\
      mlplatform:inferenceEndpoints:
        too-tall:
          team: serving
          exposure: none
          memory: 8Gi
          maxReplicas: 3
    """, "inferenceEndpoints.too-tall.maxReplicas"),
])
def test_plan_stops_with_exit_2_naming_the_job_or_endpoint(extra, key):
    proc = _plan_stack(extra)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: invalid config {key}: "), proc.stderr


def test_plan_shows_capacity_warnings_and_still_passes(tmp_path):
    proc = _plan_stack("mlplatform:kueueCpuQuota: \"64\"\n", "--json", str(tmp_path / "p.json"))
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stdout
    oversubscribed = STACK.replace("mlplatform:kueueGpuQuota: 4", "mlplatform:kueueGpuQuota: 12")
    proc = _plan_stack("", "--json", str(tmp_path / "w.json"), stack=oversubscribed)
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("Warning: ")]
    assert "kueueGpuQuota" in line and "at most 4 GPUs" in line
    assert proc.stdout.strip().splitlines()[-1].endswith("1 warning(s)")
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["summary"]["warnings"] == 1 and "kueueGpuQuota" in data["warnings"][0]
