"""Endpoint autoscaling, model and shutdown config: every bad value stops with one line naming its key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from components.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2}},
    "teams": {"serving": {"gpu": 8}},
    "prometheus": True, "dcgmExporter": True, "fsxCsi": True, "fsxLustre": True,
}
GPU = {"team": "serving", "placement": "gpu", "gpus": 1}


def cfg_with(endpoint: dict, **stack):
    values = copy.deepcopy(BASE)
    values.update(stack)
    values["inferenceEndpoints"] = {"ep": endpoint}
    return values


def auto(**kw):
    return {"metric": "vllm-queue-depth", "target": 4, **kw}


BAD = [
    (cfg_with({"team": "serving", "customMetric": "vllm_requests_waiting", "customMetricTarget": "5"}),
     "inferenceEndpoints.ep.customMetric", "with autoscaling: {metric"),
    (cfg_with({**GPU, "hpaMetric": "memory", "autoscaling": auto()}), "inferenceEndpoints.ep.hpaMetric",
     "autoscaling replaces"),
    (cfg_with({**GPU, "autoscaling": auto(minReplicas=0)}), "inferenceEndpoints.ep.autoscaling.minReplicas",
     "environmentType: development"),
    (cfg_with({**GPU, "autoscaling": auto(minReplicas=0)}, environmentType="development"),
     "inferenceEndpoints.ep.autoscaling.minReplicas", "never scales back up"),
    (cfg_with({**GPU, "autoscaling": auto(minReplicas=3, maxReplicas=2)}),
     "inferenceEndpoints.ep.autoscaling.maxReplicas", "minReplicas (3)"),
    (cfg_with({**GPU, "autoscaling": auto()}, prometheus=False, dcgmExporter=False),
     "inferenceEndpoints.ep.autoscaling.metric", "needs prometheus: true"),
    (cfg_with({"team": "serving", "autoscaling": auto(metric="gpu-utilization")}),
     "inferenceEndpoints.ep.autoscaling.metric", "needs an endpoint with gpus"),
    (cfg_with({**GPU, "autoscaling": auto(metric="gpu-utilization")}, dcgmExporter=False),
     "inferenceEndpoints.ep.autoscaling.metric", "dcgmExporter"),
    (cfg_with({**GPU, "autoscaling": auto(metric="gpu-utilization")}, prometheus=False, dcgmExporter=False,
              cloudwatchObservability=False), "inferenceEndpoints.ep.autoscaling.metric", "cloudwatchObservability"),
    (cfg_with({**GPU, "autoscaling": auto(metric="vllm-queue")}), "inferenceEndpoints.ep.autoscaling.metric",
     "not a preset"),
    (cfg_with({**GPU, "autoscaling": auto(metric='sum(vllm:num_requests_waiting{namespace="serving"}')}),
     "inferenceEndpoints.ep.autoscaling.metric", "unclosed '('"),
    (cfg_with({**GPU, "autoscaling": auto(metric='sum(up{job="a})')}),
     "inferenceEndpoints.ep.autoscaling.metric", "unterminated string"),
    (cfg_with({**GPU, "autoscaling": auto(metric="sum(queue_depth)")}, prometheus=False, dcgmExporter=False),
     "inferenceEndpoints.ep.autoscaling.metric", "Metrics Insights"),
    (cfg_with({**GPU, "autoscaling": auto(target=0)}), "inferenceEndpoints.ep.autoscaling.target", "between 1 and"),
    (cfg_with({**GPU, "autoscaling": auto(target="four")}), "inferenceEndpoints.ep.autoscaling.target",
     "must be an integer"),
    (cfg_with({**GPU, "autoscaling": auto(cooldown=-1)}), "inferenceEndpoints.ep.autoscaling.cooldown", "between 0 and 86,400"),
    (cfg_with({**GPU, "autoscaling": {"target": 4}}), "inferenceEndpoints.ep.autoscaling.metric", "is required"),
    (cfg_with({**GPU, "autoscaling": auto(typo=1)}), "inferenceEndpoints.ep.autoscaling.typo", "unknown setting"),
    (cfg_with({**GPU, "model": {"source": "s3://Bad_Bucket/x/"}}), "inferenceEndpoints.ep.model.source",
     "must be s3://"),
    (cfg_with({**GPU, "model": {"source": "s3://bucket/models/*"}}), "inferenceEndpoints.ep.model.source",
     "literal key prefix"),
    (cfg_with({**GPU, "model": {"source": "huggingface:Qwen/Qwen2.5-7B"}}), "inferenceEndpoints.ep.model.source",
     "hf:<org>/<name>"),
    (cfg_with({**GPU, "model": {"source": "hf:Qwen/Qwen2.5-7B", "cache": "fsx"}}),
     "inferenceEndpoints.ep.model.source", "links"),
    (cfg_with({**GPU, "modelPrefix": "weights/ep/", "model": {"cache": "fsx"}}), "inferenceEndpoints.ep.model.source",
     "under models/"),
    (cfg_with({**GPU, "model": {"cache": "fsx"}}, fsxLustre=False, fsxCsi=False), "inferenceEndpoints.ep.model.cache",
     "fsxLustre"),
    (cfg_with({**GPU, "model": {"cache": "efs"}}, efsCsi=False), "inferenceEndpoints.ep.model.cache", "efsCsi"),
    (cfg_with({**GPU, "model": {"cache": "node"}}), "inferenceEndpoints.ep.model.sizeGiB", "model size"),
    (cfg_with({**GPU, "model": {"cache": "ram"}}), "inferenceEndpoints.ep.model.cache", "must be one of"),
    (cfg_with({**GPU, "model": {"sizeGiB": -1}}), "inferenceEndpoints.ep.model.sizeGiB", "between 0 and 4,096"),
    (cfg_with({"team": "serving", "placement": "fargate", "model": {"cache": "fsx"}},
              fargateProfiles={"f": {"selectors": [{"namespace": "serving"}]}}),
     "inferenceEndpoints.ep.model.cache", "Fargate"),
    (cfg_with({**GPU, "drainSeconds": 7200}), "inferenceEndpoints.ep.drainSeconds", "between 0 and 3,600"),
    (cfg_with({**GPU, "modelPrefix": "*"}), "inferenceEndpoints.ep.modelPrefix", "S3 key prefix"),
    (cfg_with({**GPU}, environmentType="staging"), "environmentType", "must be one of"),
]


@pytest.mark.parametrize("values,key,reason", BAD, ids=[f"{b[1].rsplit('.', 1)[-1]}:{b[2][:24]}" for b in BAD])
def test_bad_value_names_key_and_reason(values, key, reason):
    with pytest.raises(ConfigError) as info:
        load_config(values, stack="test")
    assert info.value.key == key, str(info.value)
    assert reason in info.value.reason, info.value.reason
    assert "\n" not in str(info.value)


def test_autoscaling_bounds_become_the_endpoints_replicas_for_quota_and_capacity_checks():
    cfg = load_config(cfg_with({**GPU, "replicas": 1, "maxReplicas": 2, "autoscaling": auto(maxReplicas=6)}),
                      stack="test")
    ep = cfg.inferenceEndpoints["ep"]
    assert (ep.replicas, ep.maxReplicas) == (1, 6)
    assert (ep.autoscaling.minReplicas, ep.autoscaling.maxReplicas) == (1, 6)
    # Unset bounds inherit the endpoint's replicas/maxReplicas.
    ep = load_config(cfg_with({**GPU, "replicas": 3, "maxReplicas": 5, "autoscaling": auto()}),
                     stack="test").inferenceEndpoints["ep"]
    assert (ep.autoscaling.minReplicas, ep.autoscaling.maxReplicas) == (3, 5)


def test_development_stacks_may_scale_to_zero_on_a_metric_that_exists_without_replicas():
    ep = load_config(cfg_with({**GPU, "autoscaling": auto(
        metric='sum(nginx_ingress_controller_requests{service="ep"})', minReplicas=0, maxReplicas=2)},
        environmentType="development"), stack="test").inferenceEndpoints["ep"]
    assert (ep.replicas, ep.autoscaling.minReplicas) == (0, 0)


def test_hpa_fields_keep_working_without_autoscaling():
    ep = load_config(cfg_with({"team": "serving", "hpaMetric": "memory", "targetUtilization": 60}),
                     stack="test").inferenceEndpoints["ep"]
    assert (ep.hpaMetric, ep.targetUtilization, ep.autoscaling) == ("memory", 60, None)
    ep = load_config(cfg_with({"team": "serving"}), stack="test").inferenceEndpoints["ep"]
    assert (ep.hpaMetric, ep.targetUtilization) == ("cpu", 70)


def test_drain_defaults_longer_for_gpu_endpoints():
    gpu = load_config(cfg_with(GPU), stack="test").inferenceEndpoints["ep"]
    cpu = load_config(cfg_with({"team": "serving"}), stack="test").inferenceEndpoints["ep"]
    assert gpu.drainSeconds > cpu.drainSeconds > 0


def test_shipped_stacks_still_load_and_prod_carries_the_switched_off_vllm_example():
    def load(stack):
        raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        return load_config({k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("mlplatform:")},
                           stack=stack, project_dir=str(ROOT))

    dev, prod = load("dev"), load("prod")
    assert dev.environmentType == "development" and prod.environmentType == "production"
    llm = prod.inferenceEndpoints["llm"]
    assert not llm.enabled and llm.gpus == 1 and llm.image.startswith("docker.io/vllm/vllm-openai:")
    assert llm.autoscaling.metric == "vllm-queue-depth" and llm.model.cache in ("fsx", "efs")


def test_offline_plan_exits_2_with_one_line_for_a_bad_autoscaling_value():
    from tests.test_plan import plan, temp_stack

    text = (ROOT / "Pulumi.prod.yaml").read_text()
    old = "        minReplicas: 2\n"
    assert old in text
    with temp_stack(text.replace(old, "        minReplicas: 0\n", 1)) as stack:
        proc = plan("--stack", stack)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: invalid config inferenceEndpoints.llm.autoscaling.minReplicas: 0 (scale to zero) is allowed only "
        "with environmentType: development; a production endpoint must answer its first request without a cold "
        "start"]
