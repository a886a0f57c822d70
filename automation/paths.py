"""Where the Pulumi program lives: the repository checkout, or the copy bundled in the installed package.

In a checkout the program (``Pulumi.yaml``, ``__main__.py``, ``components/``,
``policies/``) sits next to ``automation/``. In an installed ``mlplatform``
distribution this package is ``mlplatform.automation`` and the program ships
as package data in ``mlplatform/_program/`` (never as top-level packages in
site-packages: ``components`` and ``policies`` are only importable while a
program run puts that directory on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

#: Name of the bundled program's directory inside the installed ``mlplatform`` package.
BUNDLED_PROGRAM = "_program"

#: The program's own top-level packages (what ``pyproject.toml`` bundles under ``_program``). In a checkout the
#: program directory is the repository root, which also holds this library and the tools around it: only these
#: are the program's, and only these are set aside and dropped around a program run.
PROGRAM_PACKAGES = ("components", "policies")


def _program_dir() -> Path:
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir.parent / BUNDLED_PROGRAM
    return bundled if (bundled / "Pulumi.yaml").is_file() else package_dir.parent


#: The program's directory (the Pulumi project root): ``Pulumi.yaml``, ``__main__.py``, ``components/``, ``policies/``.
PROGRAM_DIR: Path = _program_dir()


def is_bundled() -> bool:
    """Whether the program is the copy bundled in an installed package (rather than a checkout)."""
    return PROGRAM_DIR.name == BUNDLED_PROGRAM and PROGRAM_DIR.parent == Path(__file__).resolve().parent.parent
