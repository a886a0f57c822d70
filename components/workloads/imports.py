"""ExistingWorkloads: bring workloads from another cluster into a team namespace, as they are.

Three sources, each applied into the team's namespace:

* ``manifests``: a directory of YAML/JSON. The files are read and parsed here,
  namespaces forced to the team's and cluster-scoped kinds refused, and the
  objects handed to ``kubernetes.yaml.v2.ConfigGroup`` as ``objs``. The exact
  objects are therefore in the program's inputs, so the policy pack guards them
  in ``pulumi preview`` and in the offline plan alike.
* ``kustomize``: ``kubernetes.kustomize.v2.Directory`` with the team namespace
  (checked beforehand: no other namespace pinned, no cluster-scoped objects, no
  remote bases). The offline plan expands the common kustomize subset itself.
* ``helm``: ``kubernetes.helm.v4.Chart`` from a local chart or a remote chart at
  an exact version. Its rendered objects exist only inside the provider: the
  offline plan cannot see them (it reports the chart as not expanded), only
  ``pulumi preview`` against a cluster can.

Imported objects land after the team's guard rails (quota, limits, network
policies) exist, so they are admitted under the same rules as everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.config import ExistingWorkloadConfig
from components.conventions import child
from components.workloads import sources


@dataclass(frozen=True)
class ExistingWorkloadsArgs:
    """Arguments for :class:`ExistingWorkloads`."""

    #: Import name (resource names).
    workload: str
    config: ExistingWorkloadConfig
    #: Team namespace the objects are applied into.
    namespace: str
    provider: k8s.Provider
    #: Directory that relative paths in ``config.path`` are resolved against (the project directory).
    base_dir: Path
    #: Team namespace objects to wait for.
    depends_on: Sequence[pulumi.Resource] = ()


class ExistingWorkloads(pulumi.ComponentResource):
    """Existing manifests, a kustomization or a Helm chart applied into one team namespace."""

    #: The ConfigGroup, kustomize Directory or Helm Chart.
    applied: pulumi.Resource
    #: Objects applied (manifests source only; kustomize/Helm render inside the provider).
    objects: list[dict]

    def __init__(self, name: str, args: ExistingWorkloadsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:ExistingWorkloads", name, None, opts)
        cfg, ns = args.config, args.namespace
        res_opts = child(self, provider=args.provider, depends_on=list(args.depends_on))
        self.objects = []
        path = str(args.base_dir / cfg.path) if cfg.path else ""
        if cfg.source == "manifests":
            self.objects = sources.load_manifests(Path(path), ns)
            self.applied = k8s.yaml.v2.ConfigGroup(f"{name}-manifests", objs=self.objects, opts=res_opts)
        elif cfg.source == "kustomize":
            sources.check_kustomization(Path(path), ns)
            # A relative directory keeps the program's inputs identical on every machine.
            self.applied = k8s.kustomize.v2.Directory(f"{name}-kustomize", directory=cfg.path, namespace=ns,
                                                      opts=res_opts)
        elif cfg.source == "helm":
            oci = cfg.repository.startswith("oci://")
            if cfg.chart:
                chart = f"{cfg.repository.rstrip('/')}/{cfg.chart}" if oci else cfg.chart
            else:
                chart = cfg.path
            self.applied = k8s.helm.v4.Chart(
                f"{name}-chart",
                chart=chart,
                version=cfg.version or None,
                repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=cfg.repository)
                if cfg.chart and not oci else None,
                namespace=ns,
                values=dict(cfg.values),
                opts=res_opts,
            )
        else:  # pragma: no cover - config validation admits only the three sources
            raise ValueError(f"unknown existing workload source {cfg.source!r}")
        self.register_outputs({"source": cfg.source, "namespace": ns, "objects": len(self.objects)})
