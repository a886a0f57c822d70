"""Kubernetes resource helpers shared by the add-on and workload layers.

Every Helm chart the platform installs goes through :func:`pinned_release`, so
chart, version and repository come only from the versions table and every
release behaves the same way (waits for its workloads, rolls back on failure).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.conventions import child

#: How long a release may take to become ready before Helm rolls it back.
RELEASE_TIMEOUT_SECONDS = 600


def pinned_release(
    resource_name: str,
    chart_key: str,
    *,
    parent: pulumi.Resource,
    provider: k8s.Provider,
    namespace: str,
    values: pulumi.Input[dict],
    depends_on: Sequence[pulumi.Resource] = (),
    create_namespace: bool = False,
    release_name: Optional[str] = None,
    timeout: int = RELEASE_TIMEOUT_SECONDS,
    pin: Optional[versions.HelmChartPin] = None,
    skip_crds: bool = False,
    take_ownership: bool = False,
    retain_on_delete: bool = False,
) -> k8s.helm.v3.Release:
    """A Helm release of ``versions.HELM_CHARTS[chart_key]`` (or of ``pin``; OCI or HTTPS repository).

    ``helm.v3.Release`` rather than ``helm.v4.Chart``: its values are resource
    inputs, so the policy pack sees them in an offline plan too. ``skip_crds``
    for charts whose CRDs are installed apart (``components/crds.py``);
    ``take_ownership`` and ``retain_on_delete`` for those CRD releases.
    """
    pin = pin or versions.HELM_CHARTS[chart_key]
    oci = pin.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name or pin.chart,
        chart=f"{pin.repository}/{pin.chart}" if oci else pin.chart,
        version=pin.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=pin.repository),
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        skip_await=False,
        timeout=timeout,
        skip_crds=skip_crds or None,
        take_ownership=take_ownership or None,
        opts=child(parent, provider=provider, depends_on=list(depends_on),
                   retain_on_delete=retain_on_delete or None),
    )


def custom_resource(resource_name: str, manifest: Mapping[str, Any],
                    opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A CustomResource from a plain manifest (every top-level field besides apiVersion/kind/metadata)."""
    extra = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    return k8s.apiextensions.CustomResource(resource_name, api_version=manifest["apiVersion"], kind=manifest["kind"],
                                            metadata=manifest["metadata"], opts=opts, **extra)
