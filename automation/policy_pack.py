"""The policy pack attached to every preview and update, and its dependencies.

``policies/PulumiPolicy.yaml`` declares a Python runtime with a virtualenv
(``runtime.options.virtualenv``, relative to the pack). The engine runs the pack
with that virtualenv's interpreter, so it must exist with
``policies/requirements.txt`` installed before ``--policy-pack policies`` is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from .errors import PolicyPackInstallError
from .paths import PROGRAM_DIR

PROJECT_DIR = PROGRAM_DIR
POLICY_DIR_NAME = "policies"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class PolicyPack:
    """The pack directory and the per-stack config file passed with it (None when the stack has none)."""

    directory: Path
    config: Optional[Path]

    @property
    def cli_args(self) -> list[str]:
        """The equivalent ``pulumi preview``/``up`` flags (for docs and CI)."""
        args = ["--policy-pack", str(self.directory)]
        return args + (["--policy-pack-config", str(self.config)] if self.config else [])


def short_stack_name(stack: str) -> str:
    """``org/project/dev`` -> ``dev`` (stack files and pack configs use the short name)."""
    return stack.rsplit("/", 1)[-1]


def policy_pack_for(stack: str, project_dir: Path = PROJECT_DIR, pack_dir: Optional[Path] = None) -> PolicyPack:
    """The pack under ``project_dir/policies`` and ``policies/config/<stack>.json`` when that file exists."""
    directory = (pack_dir or Path(project_dir) / POLICY_DIR_NAME).resolve()
    config = directory / "config" / f"{short_stack_name(stack)}.json"
    return PolicyPack(directory=directory, config=config if config.is_file() else None)


def stack_admins(config: Mapping[str, Any], project: str = "mlplatform") -> list[str]:
    """The stack's ``adminRoleArns`` from its config values as the CLI hands them to programs (lists as JSON text,
    or the Automation API's ConfigValue holding that text)."""
    raw = config.get(f"{project}:adminRoleArns")
    value = getattr(raw, "value", raw)
    try:
        admins = json.loads(value) if isinstance(value, str) else list(value or [])
    except (TypeError, ValueError):
        return []
    return [a for a in admins if isinstance(a, str)]


def with_stack_admins(user: Mapping[str, Any], config: Mapping[str, Any], project: str = "mlplatform") -> dict[str, Any]:
    """``user`` pack config, with the stack's admins as ``allowedPrincipals`` where it does not set them.

    ``eks-cluster-admin-access`` allows cluster-admin-equivalent grants only to the principals its
    ``allowedPrincipals`` lists, and the pack's built-in default lists none. A pack config that lists them
    itself (``policies/config/dev.json``, ``prod.json``) is left as it is: the list is reviewed there,
    apart from the stack file. Otherwise (no pack config: a new stack, a stack planned from a mapping; or
    one that only sets levels) the stack's own ``adminRoleArns`` are those principals: the grants the
    Cluster component makes to them are the ones the stack declares on purpose, while any other
    cluster-admin grant (a team role, an imported manifest) is still stopped.
    """
    out = dict(user)
    admins = stack_admins(config, project)
    if not admins:
        return out
    derived = {"allowedPrincipals": admins}
    entry = out.get("eks-cluster-admin-access")
    if isinstance(entry, str):
        out["eks-cluster-admin-access"] = {"enforcementLevel": entry, **derived}
    elif isinstance(entry, Mapping):
        if "allowedPrincipals" not in entry:
            out["eks-cluster-admin-access"] = {**entry, **derived}
    else:
        out["eks-cluster-admin-access"] = derived
    return out


def pack_virtualenv(pack_dir: Path) -> Path:
    """The virtualenv PulumiPolicy.yaml declares (``venv`` if it declares none)."""
    import yaml

    try:
        spec = yaml.safe_load((Path(pack_dir) / "PulumiPolicy.yaml").read_text()) or {}
    except FileNotFoundError:
        raise PolicyPackInstallError(f"{pack_dir} has no PulumiPolicy.yaml") from None
    runtime = spec.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    venv = (options or {}).get("virtualenv") or "venv"
    path = Path(venv)
    return path if path.is_absolute() else Path(pack_dir) / path


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp(requirements: Path, constraints: Optional[Path]) -> str:
    h = hashlib.sha256(requirements.read_bytes())
    if constraints is not None:
        h.update(constraints.read_bytes())
    return f".installed-{h.hexdigest()[:12]}"


def install_policy_pack(
    pack_dir: Optional[Path] = None,
    *,
    python: str = sys.executable,
    constraints: Optional[Path] = None,
    force: bool = False,
    run: Runner = subprocess.run,
) -> Path:
    """Create the pack's virtualenv and ``pip install -r requirements.txt`` into it; returns the virtualenv.

    ``constraints`` defaults to the project's ``constraints.txt`` next to the
    pack, so the pack gets the same locked transitive versions as the tests.
    Skipped when the virtualenv already holds this exact requirements set
    (a stamp file records its hash) unless ``force``.
    """
    pack_dir = Path(pack_dir or PROJECT_DIR / POLICY_DIR_NAME).resolve()
    requirements = pack_dir / "requirements.txt"
    if not requirements.is_file():
        raise PolicyPackInstallError(f"{requirements} does not exist")
    if constraints is None and (pack_dir.parent / "constraints.txt").is_file():
        constraints = pack_dir.parent / "constraints.txt"
    venv = pack_virtualenv(pack_dir)
    stamp = venv / _stamp(requirements, constraints)
    if stamp.exists() and not force:
        return venv
    steps: list[Sequence[str]] = []
    if not _venv_python(venv).exists():
        steps.append([python, "-m", "venv", str(venv)])
    pip = [str(_venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "-r", str(requirements)]
    steps.append(pip + (["-c", str(constraints)] if constraints else []))
    for cmd in steps:
        try:
            proc = run(list(cmd), capture_output=True, text=True, check=False)
        except OSError as exc:
            raise PolicyPackInstallError(f"policy pack install failed: {cmd[0]}: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
            last = lines[-1].strip() if lines else f"exit code {proc.returncode}"
            raise PolicyPackInstallError(f"policy pack install failed ({' '.join(cmd[:4])} ...): {last}")
    venv.mkdir(parents=True, exist_ok=True)
    for old in venv.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return venv
