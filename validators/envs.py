"""Isolated virtualenvs for the validators that cannot share the project's .venv.

checkov pins old versions of packages the project also uses, and parliament's
botocore needs python-dateutil < 3 while the kubernetes client needs 4.x, so
each gets its own venv under ``.tools/`` (git-ignored), built from
``validators/requirements-<tool>.txt`` with every transitive pin from
``validators/constraints-<tool>.txt``. A stamp file records the hash of those
two files and the interpreter: the venv is rebuilt from scratch whenever
either changes, and reused otherwise.

    python -m validators.envs ensure [checkov|parliament ...]   # create/refresh (what `make` runs)
    python -m validators.envs freeze checkov                    # clean install, then rewrite constraints
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
VALIDATORS_DIR = PROJECT_DIR / "validators"
TOOLS_DIR = Path(os.environ.get("MLPLATFORM_TOOLS_DIR", PROJECT_DIR / ".tools"))


class EnvError(Exception):
    """An isolated environment could not be created."""


@dataclass(frozen=True)
class Tool:
    name: str
    executable: str  # relative to the venv

    @property
    def venv(self) -> Path:
        return TOOLS_DIR / f"{self.name}-venv"

    @property
    def requirements(self) -> Path:
        return VALIDATORS_DIR / f"requirements-{self.name}.txt"

    @property
    def constraints(self) -> Path:
        return VALIDATORS_DIR / f"constraints-{self.name}.txt"

    @property
    def stamp(self) -> Path:
        return self.venv / ".mlplatform-stamp"

    @property
    def exe(self) -> Path:
        return self.venv / self.executable

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def digest(self) -> str:
        h = hashlib.sha256()
        for path in (self.requirements, self.constraints):
            h.update(path.read_bytes())
        h.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
        return h.hexdigest()[:16]

    def ready(self) -> bool:
        return self.exe.exists() and self.stamp.exists() and self.stamp.read_text().strip() == self.digest()


TOOLS = {
    "checkov": Tool("checkov", "bin/checkov"),
    "parliament": Tool("parliament", "bin/python"),
}


@contextlib.contextmanager
def _lock(tool: Tool) -> Iterator[None]:
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    with open(TOOLS_DIR / f".{tool.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: Sequence[str], what: str) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise EnvError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _create(tool: Tool, venv: Path, constraints: Optional[Path]) -> None:
    """A fresh venv with the tool installed.

    With a constraints file (a full ``pip freeze`` of a resolved install) we install exactly those
    pins with ``--no-deps``, which skips pip's resolver (it more than halves checkov's install time),
    then ``pip check`` proves the set is consistent. Without one (``freeze``) pip resolves normally.
    """
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], f"creating {venv}")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(tool.requirements)]
    if constraints is not None:
        pip += ["-r", str(constraints), "--no-deps"]
    _run(pip, f"installing {tool.requirements.name} into {venv}")
    if constraints is not None:
        _run([python, "-m", "pip", "check", "--disable-pip-version-check"],
             f"checking {tool.constraints.name} is a complete, consistent set of pins")


def ensure(name: str, out=sys.stderr) -> Tool:
    """Make sure the tool's venv exists and matches its pinned files; build it if not."""
    tool = TOOLS[name]
    with _lock(tool):
        if tool.ready():
            return tool
        out.write(f"validators: building {tool.venv} from {tool.requirements.name} + {tool.constraints.name}...\n")
        out.flush()
        start = time.monotonic()
        if tool.venv.exists():
            shutil.rmtree(tool.venv)
        _create(tool, tool.venv, tool.constraints)
        tool.stamp.write_text(tool.digest() + "\n")
        out.write(f"validators: {tool.name} environment ready in {time.monotonic() - start:.0f}s\n")
    return tool


def freeze(name: str) -> None:
    """Clean install of the requirements alone, then rewrite the constraints file from ``pip freeze``."""
    tool = TOOLS[name]
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        _create(tool, venv, None)
        frozen = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"],
                                capture_output=True, text=True, check=True).stdout
    keep = [line for line in frozen.splitlines() if line and not line.startswith("pip==")]
    header = (f"# Generated by 'python -m validators.envs freeze {name}' from a clean install of "
              f"{tool.requirements.name}.\n")
    tool.constraints.write_text(header + "\n".join(sorted(keep, key=str.lower)) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validators.envs", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["ensure", "freeze"])
    ap.add_argument("tools", nargs="*", metavar="TOOL", help=f"one of {', '.join(sorted(TOOLS))} (default: all)")
    args = ap.parse_args(argv)
    try:
        unknown = [t for t in args.tools if t not in TOOLS]
        if unknown:
            ap.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(sorted(TOOLS))}")
        names = args.tools or sorted(TOOLS)
        action = ensure if args.command == "ensure" else freeze
        # The installs wait on downloads more than on the CPU: build the environments side by side.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
            for future in [pool.submit(action, name) for name in names]:
                future.result()
    except EnvError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
