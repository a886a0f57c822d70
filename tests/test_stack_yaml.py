"""Stack files are read as the Pulumi CLI reads them (automation/offline/stack_yaml.py).

The expected values follow the CLI's reader: gopkg.in/yaml.v3's ``resolve.go``/``decode.go`` and
Pulumi's ``sdk/go/common/resource/config`` (see the module docstring). PyYAML, which the offline plan
used before, reads several of these differently; the first test pins those differences down.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from automation.offline import stack_yaml
from automation.offline.runner import ProgramConfigError, read_stack_files
from components.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text,cli,pyyaml", [
    ("yes", "yes", True), ("on", "on", True), ("off", "off", False), ("y", "y", "y"),
    ("6:05", "6:05", 365), ("036", 30, 30), ("089", 89.0, "089"), ("0o17", 15, "0o17"), ("0x1F", 31, 31),
    ("1_000", 1000, 1000), ("0b101", 5, 5), ("True", True, True), ("NULL", None, None), ("1e3", 1000.0, "1e3"),
    ("2024-01-01", "2024-01-01 00:00:00 +0000 UTC", None), ("99999999999999999999", 1e20, 99999999999999999999),
    ("18446744073709551615", 18446744073709551615, 18446744073709551615), ("-.5", -0.5, "-.5"),
])
def test_plain_scalars_resolve_as_the_cli_resolves_them(text, cli, pyyaml):
    assert stack_yaml.loads(f"v: {text}\n") == {"v": cli}
    if pyyaml is not None:
        assert yaml.safe_load(f"v: {text}\n") == {"v": pyyaml}


def test_quoted_and_tagged_scalars():
    doc = stack_yaml.loads('a: "036"\nb: !!str 12\nc: !!binary aGVsbG8=\nd: !custom text\ne: !!float 2\n')
    assert doc == {"a": "036", "b": "12", "c": "hello", "d": "text", "e": 2.0}


def test_merge_keys_work_in_document_order():
    doc = stack_yaml.loads("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nn:\n  y: 0\n  <<: [*b, {z: 4}]\n")
    assert doc["m"] == {"x": 1, "y": 3}
    assert doc["n"] == {"y": 2, "x": 1, "z": 4}  # yaml.v3 applies the merge where it is written


@pytest.mark.parametrize("text,line,fragment", [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
    ("a:\n  ~: 1\n", 2, "map key is empty"),
    ("a:\n  [x]: 1\n", 2, "not a list or a map"),
    ("a: .inf\n", 1, "not a number"),
    ("a: &x [*x]\n", 1, "contains an alias to itself"),
    ("a: !!binary '%%%'\n", 1, "invalid base64"),
    ("a: !!int twelve\n", 1, "cannot read"),
    ("a: [1, 2\nb: 3\n", 2, "not valid YAML"),
    ("a:\n\tb: 1\n", 2, "not valid YAML"),
])
def test_unreadable_yaml_names_the_file_and_line(text, line, fragment):
    with pytest.raises(stack_yaml.StackYamlError) as info:
        stack_yaml.loads(text, Path("Pulumi.x.yaml"))
    msg = str(info.value)
    assert msg.startswith(f"Pulumi.x.yaml line {line}: ") and fragment in msg and "\n" not in msg


def test_excessive_aliasing_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    with pytest.raises(stack_yaml.StackYamlError, match="excessive aliasing"):
        stack_yaml.loads("\n".join(lines) + "\n")


def test_config_strings_are_what_the_cli_hands_the_program():
    assert stack_yaml.config_string(None) == ""  # top-level null: the CLI warns and passes ""
    assert stack_yaml.config_string(3.0) == "3" and stack_yaml.config_string(True) == "true"
    assert stack_yaml.config_string({"b": 1.0, "a": [None, "x"]}) == '{"a":[null,"x"],"b":1}'


def _project(tmp_path: Path, stack_text: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(stack_text)
    return tmp_path


@pytest.mark.parametrize("text,fragment", [
    ("42\n", "a stack file must be a map"),
    ("- a\n- b\n", "a stack file must be a map"),
    ("config: [a]\n", "config must be a map"),
    ("config: 7\n", "config must be a map"),
])
def test_stack_file_shapes_are_refused_naming_the_file(tmp_path, text, fragment):
    with pytest.raises(ProgramConfigError) as info:
        read_stack_files(_project(tmp_path, text), "t")
    assert str(info.value).startswith("Pulumi.t.yaml") and fragment in str(info.value)


def test_short_and_qualified_keys_for_one_setting_are_refused(tmp_path):
    text = "config:\n  mlplatform:azCount: 2\n  azCount: 3\n  MLPLATFORM:vpcCidr: 10.0.0.0/16\n"
    with pytest.raises(ConfigError) as info:
        read_stack_files(_project(tmp_path, text), "t")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("invalid config azCount: is set twice") and "mlplatform:azCount" in lines[0]
    assert "invalid config MLPLATFORM:vpcCidr: unknown namespace 'MLPLATFORM' (did you mean mlplatform:vpcCidr?)" \
        in lines


def test_empty_values_and_nested_secrets(tmp_path):
    text = "config:\n  mlplatform:clusterName:\n  mlplatform:teams:\n    a:\n      iamRoleArn: {secure: AAAA}\n"
    files = read_stack_files(_project(tmp_path, text), "t")
    assert files.config["mlplatform:clusterName"] == ""
    assert "mlplatform:teams" in files.secret_keys and "AAAA" not in files.config["mlplatform:teams"]


def test_overrides_refuse_none_and_non_json_types(tmp_path):
    import datetime

    root = _project(tmp_path, "config: {}\n")
    for bad in (None, datetime.date(2024, 1, 1), {"a": float("inf")}, {1: "x"}):
        with pytest.raises(ProgramConfigError) as info:
            read_stack_files(root, "t", {"tags": bad})
        assert str(info.value).startswith("invalid config tags")
    assert read_stack_files(root, "t", {"azCount": 2}).config["mlplatform:azCount"] == "2"


def test_a_misspelt_stack_gets_a_did_you_mean(tmp_path):
    root = _project(tmp_path, "config: {}\n")
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    with pytest.raises(ProgramConfigError, match=r"Pulumi\.dve\.yaml does not exist \(did you mean --stack dev\?\)"):
        read_stack_files(root, "dve")
