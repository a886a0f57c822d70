"""Integration tests: the real Pulumi CLI and a real AWS account.

Every test here is marked ``@pytest.mark.integration`` and skipped, with the
reason, unless this machine has what it needs:

* the Pulumi CLI (on PATH or in ``$PULUMI_HOME/bin``) and a logged-in backend
  (``pulumi whoami`` succeeds: Pulumi Cloud, or ``pulumi login s3://...``);
* AWS credentials (the same checks the library makes before an operation).

Tests that create real infrastructure additionally need an explicit opt-in
(``MLPLATFORM_INTEGRATION_UP=1``), so ``make test`` on a workstation with
credentials never starts an EKS cluster by surprise.
"""

from __future__ import annotations

import functools
import os
import subprocess
from typing import Optional

import pytest

from automation.errors import AutomationError
from automation.preflight import find_pulumi_cli, require_aws_credentials

OPT_IN_UP = "MLPLATFORM_INTEGRATION_UP"


@functools.lru_cache(maxsize=None)
def missing_prerequisite() -> Optional[str]:
    """Why integration tests cannot run here, or None."""
    try:
        cli = find_pulumi_cli()
    except AutomationError as exc:
        return f"integration test needs the Pulumi CLI: {exc}"
    try:
        whoami = subprocess.run([str(cli), "whoami", "--non-interactive"], capture_output=True, text=True,
                                timeout=60, env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"integration test needs a working Pulumi CLI: `pulumi whoami` failed ({exc})"
    if whoami.returncode != 0:
        last = (whoami.stderr.strip().splitlines() or ["not logged in"])[-1]
        return f"integration test needs a Pulumi backend: `pulumi whoami` failed ({last}); run `pulumi login`"
    try:
        require_aws_credentials()
    except AutomationError as exc:
        return f"integration test needs AWS credentials: {exc}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("integration") is None:
        return
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    if item.get_closest_marker("creates_infrastructure") and os.environ.get(OPT_IN_UP) != "1":
        pytest.skip(f"creates and destroys a real EKS cluster (cost, ~1 h): set {OPT_IN_UP}=1 to run it")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "creates_infrastructure: runs `pulumi up` against a real account (opt-in)")
