"""Kubernetes minor upgrades: what a change of ``kubernetesVersion`` may do to a running cluster. No Pulumi.

EKS moves a control plane one minor at a time and never back: ``UpdateClusterVersion``
from 1.34 straight to 1.36 is refused by the API, and by then the program may
already have updated other resources. The stack records the minor it runs as
an output (``kubernetesVersion``); :func:`minor_step_error` compares it with
the configured one before anything is registered.
"""

from __future__ import annotations

import re
from typing import Optional

_MINOR_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def parse_minor(version: str) -> Optional[tuple[int, int]]:
    """``"1.35"`` (also ``"v1.35.2"``, ``"1.35-eks-abc"``) -> ``(1, 35)``; None when it is not a version."""
    m = _MINOR_RE.match(str(version).strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def minor_step_error(running: Optional[str], target: str) -> Optional[str]:
    """Why moving a cluster that runs ``running`` to ``target`` is refused, or None when it may proceed.

    ``running`` is None (or unparseable) when the stack is new or predates the
    output: nothing is known, so nothing is refused. The same minor is a no-op,
    the next minor an upgrade; anything else is refused.
    """
    if not running:
        return None
    have, want = parse_minor(running), parse_minor(target)
    if have is None or want is None:
        return None
    if want == have or (want[0] == have[0] and want[1] == have[1] + 1):
        return None
    if want < have:
        return f"the cluster runs {running} and EKS cannot downgrade it to {target}; set {running}"
    step = f"{have[0]}.{have[1] + 1}"
    return (f"the cluster runs {running} and EKS upgrades one minor at a time; set {step}, "
            f"run pulumi up, then continue towards {target}")
