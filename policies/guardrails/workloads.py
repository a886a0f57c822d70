"""Workload rules: every pod template (Deployments to TrainJobs) is held to the same bar."""

from __future__ import annotations

from typing import Iterable

from guardrails._meta import Ctx, resource_rule
from guardrails.podspecs import pod_templates

K8S = ("kubernetes:",)


@resource_rule(
    name="no-privileged-containers",
    description="Containers must not run privileged.",
    remediation="Remove securityContext.privileged (or set it to false); grant a specific capability instead.",
    type_prefixes=K8S,
)
def no_privileged_containers(props: dict, ctx: Ctx) -> Iterable[str]:
    for pod in pod_templates(ctx.type, props):
        for c in pod.containers():
            if (c.get("securityContext") or {}).get("privileged") is True:
                yield f"container {c.get('name')!r} in {pod.where} is privileged"
