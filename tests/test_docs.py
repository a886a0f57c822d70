"""Generated documentation stays in sync with the code it is generated from."""

import subprocess
import sys
from pathlib import Path

import yaml

from components.config import project_config_declarations

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_up_to_date():
    proc = subprocess.run([sys.executable, "-m", "tools.gen_docs", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pulumi_yaml_declares_every_scalar_key_with_type_and_description():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared, objects = project_config_declarations()
    assert project["config"] == declared
    for key, decl in project["config"].items():
        assert decl["type"] in ("string", "integer", "boolean", "array") and decl["description"], key
    text = (ROOT / "Pulumi.yaml").read_text()
    for key, _ in objects:
        assert f"#   {key}: " in text
    assert project["runtime"]["options"]["virtualenv"] == ".venv"


def test_stack_files_only_use_known_keys():
    declared, objects = project_config_declarations()
    known = set(declared) | {k for k, _ in objects}
    for stack in ("dev", "prod"):
        cfg = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        for key in cfg:
            ns, _, short = key.partition(":")
            if ns == "mlplatform":
                assert short in known, key
