"""The `mlplatform` distribution: declared like the checkout, and working once installed somewhere else.

The slow part installs the project into a fresh virtualenv in a temporary directory (from a copy of
the checkout's files, as `pip install git+<url>` would see them) and runs the README's Embedding
example, the `mlplatform` command and a plan comparison from outside the repository. pip's cache
keeps it to about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: The program's entries in the checkout, shipped in mlplatform/_program/.
PROGRAM_ENTRIES = ("__main__.py", "Pulumi.yaml", "components", "policies", "examples")


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def checkout_files() -> list[str]:
    """The files a clone has (tracked, plus new files not ignored), relative to the root."""
    try:
        proc = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                              check=True, timeout=60)
        files = [f for f in proc.stdout.decode().split("\0") if f]
        return sorted(f for f in files if (ROOT / f).is_file())
    except (OSError, subprocess.CalledProcessError):  # an export without .git
        skip = {".git", ".venv", ".tools", "build", "__pycache__", ".pytest_cache", ".hypothesis", "venv"}
        return sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                      if p.is_file() and not skip & set(p.relative_to(ROOT).parts))


def program_files() -> list[str]:
    stack_files = [f for f in checkout_files() if re.fullmatch(r"Pulumi\.[^/]+\.yaml", f)
                   and not re.match(r"Pulumi\.(t|bench)-", f)]
    return sorted(stack_files + [f for f in checkout_files()
                                 if f.split("/", 1)[0] in PROGRAM_ENTRIES and "__pycache__" not in f])


# --------------------------------------------------------------------------- declarations (fast)


def test_runtime_dependencies_are_the_pinned_requirements():
    declared = {}
    for req in PYPROJECT["project"]["dependencies"]:
        name, _, version = req.partition("==")
        assert version, f"{req} is not an exact pin"
        declared[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert declared == {**pins(ROOT / "requirements.txt"), **pins(ROOT / "policies" / "requirements.txt")}
    assert "pulumi-policy" in declared  # the offline plan runs the pack with the caller's interpreter


def test_every_package_of_the_checkout_is_listed():
    mapping = SETUPTOOLS["package-dir"]

    def source(package: str) -> Path:
        best = max((p for p in mapping if package == p or package.startswith(p + ".")), key=len)
        rest = package[len(best):].lstrip(".")
        return ROOT / mapping[best] / rest.replace(".", "/")

    listed = {p: source(p).resolve() for p in SETUPTOOLS["packages"]}
    assert all(d.is_dir() for d in listed.values()), listed
    roots = {"mlplatform": "mlplatform", "automation": "mlplatform.automation", "components":
             "mlplatform._program.components", "policies": "mlplatform._program.policies"}
    found = set()
    for top, package in roots.items():
        for d in [ROOT / top, *(ROOT / top).rglob("*")]:
            if d.is_dir() and "__pycache__" not in d.parts and "venv" not in d.parts and any(d.glob("*.py")):
                found.add(package + "".join("." + part for part in d.relative_to(ROOT / top).parts))
    assert found | {"mlplatform._program"} == set(listed)


def test_the_program_is_never_installed_as_top_level_packages():
    assert all(p == "mlplatform" or p.startswith("mlplatform.") for p in SETUPTOOLS["packages"])
    assert PYPROJECT["project"]["scripts"] == {"mlplatform": "mlplatform.cli:main"}
    assert (ROOT / "mlplatform" / "py.typed").is_file()


# --------------------------------------------------------------------------- installed in a fresh virtualenv


def readme_example() -> str:
    section = (ROOT / "README.md").read_text().split("\n## Embedding\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README's Embedding section has no python example"
    return blocks[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, a work directory outside the repository, env for running there) with the project installed."""
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    for f in checkout_files():
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # --no-compile: byte-compiling the provider SDKs would double the install's CPU time; imports compile lazily.
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                          "--disable-pip-version-check", str(src), "-c", str(src / "constraints.txt")],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    work = base / "work"
    work.mkdir()
    env = {"PATH": str(venv / "bin"), "HOME": str(base / "home"), "PULUMI_HOME": str(base / "no-pulumi"),
           "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    return venv, work, env


def site_packages(venv: Path) -> Path:
    (sp,) = venv.glob("lib/python*/site-packages")
    return sp


def test_the_install_ships_the_program_as_data_and_nothing_else_at_the_top(installed):
    venv, _, _ = installed
    sp = site_packages(venv)
    for name in ("components", "policies", "automation", "validators", "tests", "tools", "bench"):
        assert not (sp / name).exists(), f"{name} installed at the top of site-packages"
    (dist,) = sp.glob("mlplatform-*.dist-info")
    assert (dist / "top_level.txt").read_text().split() == ["mlplatform"]
    shipped = sorted(str(p.relative_to(sp / "mlplatform" / "_program")) for p in (sp / "mlplatform" / "_program").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    assert shipped == program_files()
    assert (sp / "mlplatform" / "py.typed").is_file()


def test_the_console_script_lists_the_six_commands(installed):
    venv, work, env = installed
    proc = subprocess.run([str(venv / "bin" / "mlplatform"), "--help"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = [m.group(1) for ln in proc.stdout.splitlines() if (m := re.match(r"^    (\S+)", ln))]
    assert listed == ["plan", "preview", "up", "destroy", "outputs", "diff"]
    assert proc.stdout.startswith("usage: mlplatform ")


def test_the_readme_example_runs_from_outside_the_repository(installed):
    venv, work, env = installed
    (work / "example.py").write_text(readme_example())
    proc = subprocess.run([str(venv / "bin" / "python"), "example.py"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert re.fullmatch(r"\d+ resources, 0 mandatory violations", out[0]), out
    assert "cluster: ml-team-a" in out
    assert "  eks:index:Cluster cluster-eks: version 1.35 -> 1.36" in out
    assert any(re.fullmatch(r"  aws:eks/addon:Addon \S+: addonVersion v1\.35\S* -> v1\.36\S*", ln) for ln in out), out
    assert "refused: azCount - must be between 2 and 6 (and no more than aws:region has); got 9" in out
    assert any(ln.startswith("no Pulumi CLI: Pulumi CLI not found") for ln in out), out
    assert not list(work.glob("Pulumi.*")) and not (work / "components").exists()  # nothing written but the script


def test_the_installed_command_plans_compares_and_needs_the_cli_for_preview(installed):
    venv, work, env = installed
    cfg = {"aws:region": "us-east-1", "kubernetesVersion": "1.35", "endpointPublicAccess": False,
           "adminRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"],
           "tags": {"owner": "ops", "cost-center": "ml-ops"},
           "nodeGroups": {"system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3}}}
    (work / "old.yaml").write_text(yaml.safe_dump({"config": cfg}))
    (work / "new.yaml").write_text(yaml.safe_dump({"config": {**cfg, "kubernetesVersion": "1.36"}}))

    def mlp(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "mlplatform"), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)

    old = mlp("plan", "--stack", "ops", "--config", "old.yaml", "--json", "old.json")
    assert old.returncode == 0, old.stdout + old.stderr
    new = mlp("plan", "--stack", "ops", "--config", "new.yaml", "--compare", "old.json", "--json", "new.json")
    assert new.returncode == 0, new.stdout + new.stderr
    assert 'eks:index:Cluster cluster-eks  version: "1.35" → "1.36"' in new.stdout
    assert re.search(r'aws:eks/addon:Addon \S+  addonVersion: "v1\.35\S*" → "v1\.36\S*"', new.stdout)
    diff = mlp("diff", "old.json", "new.json", "--json", "-")
    assert diff.returncode == 0 and json.loads(diff.stdout)["summary"]["changed"] >= 2
    preview = mlp("preview", "--stack", "ops", "--config", "old.yaml")
    assert preview.returncode == 2 and preview.stderr.startswith("error: Pulumi CLI not found"), preview.stderr
    assert len(preview.stderr.splitlines()) == 1
    bad = mlp("plan", "--stack", "ops", "--config", "old.yaml", "--policy-config", "missing.json")
    assert bad.returncode == 2 and "missing.json does not exist" in bad.stderr
    assert os.listdir(work).count("components") == 0
