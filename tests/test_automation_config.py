"""Mapping Python values onto Pulumi stack config (automation/config_map.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from automation.config_map import Secret, qualify, to_config_entries, top_level_key
from automation.errors import ConfigMappingError
from components.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def by_key(entries):
    return {e.key: e for e in entries}


def test_keys_get_the_project_namespace_unless_they_have_one():
    assert qualify("azCount", "mlplatform") == "mlplatform:azCount"
    assert qualify("aws:region", "mlplatform") == "aws:region"
    for bad in ("", ":x", "aws:"):
        with pytest.raises(ConfigMappingError):
            qualify(bad, "mlplatform")


def test_scalars_become_the_text_pulumi_stores():
    e = by_key(to_config_entries({"azCount": 3, "deletionProtection": False, "endpointPublicAccess": True,
                                  "clusterName": "ml-x", "ratio": 0.5, "aws:region": "us-east-1"}))
    assert {k: v.value for k, v in e.items()} == {
        "mlplatform:azCount": "3", "mlplatform:deletionProtection": "false",
        "mlplatform:endpointPublicAccess": "true", "mlplatform:clusterName": "ml-x",
        "mlplatform:ratio": "0.5", "aws:region": "us-east-1"}
    assert not any(v.secret or v.path for v in e.values())


def test_nested_values_are_one_json_string_that_round_trips_exactly():
    groups = {"gpu": {"instanceTypes": ["g5.xlarge", "g6.xlarge"], "minSize": 0, "maxSize": 2,
                      "labels": {"nvidia.com/gpu.product": "A10G"}, "capacityType": "SPOT"}}
    teams = {"research": {"cpu": "32", "memory": "128Gi", "gpu": 4}}
    e = by_key(to_config_entries({"nodeGroups": groups, "teams": teams, "publicAccessCidrs": ["203.0.113.0/24"]}))
    assert json.loads(e["mlplatform:nodeGroups"].value) == groups
    # A quantity stays a string: the program's schema requires str for cpu.
    assert json.loads(e["mlplatform:teams"].value)["research"]["cpu"] == "32"
    assert json.loads(e["mlplatform:publicAccessCidrs"].value) == ["203.0.113.0/24"]
    assert not any(v.path for v in e.values())


def test_the_dev_stack_config_maps_to_values_the_program_decodes_identically():
    """Every key of Pulumi.dev.yaml, mapped and read back through components/config.py, gives the same config."""
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    entries = to_config_entries(raw)
    stored = {e.key.split(":", 1)[1]: e.value for e in entries if e.key.startswith("mlplatform:")}
    direct = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("mlplatform:")}
    # Pulumi hands the program strings (JSON for structures); components/config.py decodes both forms.
    assert load_config(stored, stack="dev", project_dir=str(ROOT)) == load_config(direct, stack="dev",
                                                                                    project_dir=str(ROOT))
    assert by_key(entries)["aws:region"].value == "us-west-2"


def test_secrets_scalar_nested_and_by_schema():
    e = by_key(to_config_entries(
        {"grafanaAdminPassword": Secret("pw"), "teams": {"research": {"token": Secret("t")}}, "azCount": 2,
         "apiKey": "plain-but-declared-secret"},
        secret_keys=["apiKey"]))
    assert e["mlplatform:grafanaAdminPassword"].secret and e["mlplatform:grafanaAdminPassword"].value == "pw"
    # JSON style: the whole top-level value is encrypted, and its text has no marker left in it.
    assert e["mlplatform:teams"].secret and json.loads(e["mlplatform:teams"].value) == {"research": {"token": "t"}}
    assert e["mlplatform:apiKey"].secret
    assert not e["mlplatform:azCount"].secret
    assert "pw" not in repr(e["mlplatform:grafanaAdminPassword"]) and "pw" not in repr(Secret("pw"))


def test_path_style_writes_one_leaf_per_setting_with_quoted_keys_and_indices():
    e = by_key(to_config_entries({
        "nodeGroups": {"gpu": {"instanceTypes": ["g5.xlarge", "g6.xlarge"], "maxSize": 2, "efa": True,
                               "labels": {"nvidia.com/gpu.product": "A10G", "tier": "gpu"}}},
        "tags": {"cost-center": "ml-dev"},
    }, structured="path"))
    assert {k: (v.value, v.path) for k, v in e.items()} == {
        "mlplatform:nodeGroups.gpu.instanceTypes[0]": ("g5.xlarge", True),
        "mlplatform:nodeGroups.gpu.instanceTypes[1]": ("g6.xlarge", True),
        "mlplatform:nodeGroups.gpu.maxSize": ("2", True),
        "mlplatform:nodeGroups.gpu.efa": ("true", True),
        'mlplatform:nodeGroups.gpu.labels["nvidia.com/gpu.product"]': ("A10G", True),
        "mlplatform:nodeGroups.gpu.labels.tier": ("gpu", True),
        "mlplatform:tags.cost-center": ("ml-dev", True),
    }
    assert {x.top_level_key for x in e.values()} == {"mlplatform:nodeGroups", "mlplatform:tags"}
    assert top_level_key('mlplatform:a["b.c"][0]') == "mlplatform:a"


@pytest.mark.parametrize("value", [
    {"research": {"cpu": "32"}},      # --path would store the quantity "32" as the integer 32
    {"x": {"flag": "true"}},          # ... and the string "true" as a boolean
    {"x": {"ratio": 0.5}},            # ... and a float as a string
    {"x": {}},                        # ... and cannot write an empty map
    {"x": {"items": []}},             # ... or an empty list
])
def test_path_style_falls_back_to_json_for_values_it_would_change(value):
    (entry,) = to_config_entries({"teams": value}, structured="path")
    assert not entry.path and entry.key == "mlplatform:teams"
    assert json.loads(entry.value) == value


def test_path_style_keeps_strings_pulumi_would_not_coerce():
    e = by_key(to_config_entries({"x": {"zip": "0123", "cpu": "250m", "neg": -3}}, structured="path"))
    assert e["mlplatform:x.zip"].value == "0123" and e["mlplatform:x.cpu"].value == "250m"
    assert e["mlplatform:x.neg"].value == "-3"


def test_path_style_secret_marks_only_the_wrapped_leaf():
    e = by_key(to_config_entries({"teams": {"a": {"user": "u", "password": Secret("p")}}}, structured="path"))
    assert e["mlplatform:teams.a.password"].secret and not e["mlplatform:teams.a.user"].secret


@pytest.mark.parametrize("values,message", [
    ({"azCount": None}, "remove the key"),
    ({"teams": {"a": None}}, "teams.a is None"),
    ({"tags": {1: "x"}}, "non-string key"),
    ({"x": {1, 2}}, "unsupported type set"),
    ({"x": float("nan")}, "finite"),
    ({"x": [object()]}, r"x\[0\] has unsupported type"),
])
def test_values_that_cannot_be_config_are_refused_with_the_path(values, message):
    with pytest.raises(ConfigMappingError, match=message):
        to_config_entries(values)


def test_unknown_structured_style_is_refused():
    with pytest.raises(ConfigMappingError, match="structured"):
        to_config_entries({"a": 1}, structured="yaml")  # type: ignore[arg-type]
