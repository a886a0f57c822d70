"""CRDs as managed objects: installed and upgraded apart from the charts that carry them in ``crds/``.

Helm applies a chart's ``crds/`` directory on the first install only. It never
upgrades those CRDs (a version bump in ``components/versions.py`` would move the
controller and leave the old schema behind, so new fields are pruned or
refused) and never deletes them. Every controller whose chart carries CRDs that
way gets them from a source Pulumi manages, ordered before the controller,
whose release then sets ``skipCrds``:

============================  ==================================================
Controller (chart)            CRDs from
============================  ==================================================
Karpenter                     ``karpenter-crd`` chart, the controller's version
kube-prometheus-stack         ``prometheus-operator-crds`` chart, same operator
AWS Load Balancer Controller  the chart's ``crds/*.yaml`` at the controller's tag
JobSet (bundled by Trainer)   the jobset chart's ``crds/`` at the bundled tag
NVIDIA GPU Operator           the chart's ``crds/`` (and NFD's) at the chart's tag
============================  ==================================================

Kueue and Kubeflow Trainer (2.3 and later) render their CRDs as templates, so
Helm upgrades them with the chart; metrics-server, cluster-autoscaler, the
device plugins and the DCGM exporter carry none. Pins live in
``versions.CRD_CHARTS`` and ``versions.CRD_FILES``, derived from the
controller's pin where the vendor releases both together.

**Moving an existing stack.** Deleting a CRD deletes every object of that kind
(every NodePool and NodeClaim, every TargetGroupBinding...), so nothing here
may ever delete one by accident:

* the controller's release gains ``skipCrds``: an in-place update; Helm leaves
  the CRDs it installed from ``crds/`` where they are (it never deletes those);
* CRD charts install with ``take_ownership`` (Helm's ``--take-ownership``):
  the existing CRDs, created by the controller chart without Helm ownership
  metadata, are adopted into the new release instead of failing with "invalid
  ownership metadata"; on a new cluster there is nothing to adopt;
* CRD files go through a dedicated Kubernetes provider
  (``upsertExistingObjects``, ``enablePatchForce``): creating an object that
  already exists updates it in place (adoption), and fields Helm's field
  manager owned are taken over, so the next upgrade's schema really applies.
  That provider is used for CRDs only, where the rename hazard it reopens
  (create-then-delete of the same object) is covered below;
* retain on delete: CRD chart releases are ``retain_on_delete`` (removing the
  controller from the config, or replacing the release, never runs ``helm
  uninstall``) and annotate every CRD ``helm.sh/resource-policy: keep`` (a
  manual uninstall, or a chart version that drops a CRD, keeps it too). The
  objects of CRD files inherit ``protect`` from their group when the stack has
  ``deletionProtection`` (Pulumi refuses to delete them; ``retainOnDelete`` is
  not inherited by a provider-side component's children, ``protect`` is).
  Removing CRDs is a deliberate, manual step (README "Upgrading").

Resource names are stable (``<controller>-crds``) so no URN moves; a future
rename must carry an alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.conventions import child
from components.kube import pinned_release

#: Helm never deletes a resource carrying this annotation (uninstall, or an upgrade that drops it).
KEEP = {"helm.sh/resource-policy": "keep"}

#: Values of each CRD chart that annotate its CRDs with :data:`KEEP` (value paths read in the charts at the
#: tags ``versions.CRD_CHARTS`` names: karpenter-crd ``additionalAnnotations``; prometheus-operator-crds
#: ``crds.annotations``, handed to its ``crds`` subchart).
CRD_CHART_VALUES: Mapping[str, Mapping[str, Any]] = {
    "karpenter": {"additionalAnnotations": dict(KEEP)},
    "kube-prometheus-stack": {"crds": {"annotations": dict(KEEP)}},
}


@dataclass(frozen=True)
class CrdTarget:
    """Where CRDs installed apart from their charts go (one per cluster, ``Cluster.crds``)."""

    #: The cluster's regular Kubernetes provider (CRD chart releases).
    provider: k8s.Provider
    #: The provider for CRD files: adopts existing objects (upsert) and forces field ownership.
    files_provider: k8s.Provider
    #: Protect CRD files from deletion (the stack's ``deletionProtection``).
    protect: bool = False


def files_provider(name: str, kubeconfig: pulumi.Input[str], parent: pulumi.Resource) -> k8s.Provider:
    """The provider CRD files are applied with (see the module docstring for why these two settings)."""
    return k8s.Provider(
        name, kubeconfig=kubeconfig, enable_server_side_apply=True,
        upsert_existing_objects=True, enable_patch_force=True, opts=child(parent))


def crd_chart_release(parent: pulumi.Resource, name: str, controller: str, target: CrdTarget, *,
                      namespace: str, depends_on: Sequence[pulumi.Resource] = ()) -> k8s.helm.v3.Release:
    """The vendor CRD chart for ``controller`` (a ``versions.CRD_CHARTS`` key), adopted, kept on delete.

    It runs no pods, so it waits for nothing but the cluster (and the namespace
    its release record lives in): it is never on the critical path.
    """
    pin = versions.CRD_CHARTS[controller]
    return pinned_release(
        f"{name}-crds", controller, pin=pin, parent=parent, provider=target.provider, namespace=namespace,
        values=dict(CRD_CHART_VALUES[controller]), depends_on=depends_on, release_name=pin.chart,
        take_ownership=True, retain_on_delete=True)


def crd_files(parent: pulumi.Resource, name: str, source: str, target: CrdTarget,
              depends_on: Sequence[pulumi.Resource] = ()) -> k8s.yaml.v2.ConfigGroup:
    """The upstream CRD files ``versions.CRD_FILES[source]``, applied by the provider and not by Helm."""
    pin = versions.CRD_FILES[source]
    return k8s.yaml.v2.ConfigGroup(
        f"{name}-crds", files=list(pin.urls),
        opts=child(parent, provider=target.files_provider, protect=target.protect or None,
                   depends_on=list(depends_on)))


def crds_for(parent: pulumi.Resource, name: str, controller: str, target: Optional[CrdTarget], *,
             namespace: str, depends_on: Sequence[pulumi.Resource] = ()) -> list[pulumi.Resource]:
    """The CRD source of ``controller`` (chart or files), as a dependency list for its release.

    Empty when ``target`` is None (callers that install a chart without a
    cluster, e.g. tests of a single component): the chart then keeps its CRDs.
    """
    if target is None:
        return []
    if controller in versions.CRD_CHARTS:
        return [crd_chart_release(parent, name, controller, target, namespace=namespace, depends_on=depends_on)]
    return [crd_files(parent, name, controller, target, depends_on=depends_on)]
