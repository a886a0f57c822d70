"""The ``mlplatform`` command: ``plan``, ``preview``, ``up``, ``destroy``, ``outputs``, ``diff``.

The same commands and options as ``python -m automation`` in a checkout
(``automation/cli.py``); only the program name differs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

if (Path(__file__).resolve().parent / "automation").is_dir():
    from mlplatform.automation.cli import main as _main
else:  # pragma: no cover - a checkout: the library is the top-level automation package
    from automation.cli import main as _main  # type: ignore[no-redef]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``mlplatform`` console script."""
    return _main(argv, prog="mlplatform")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
