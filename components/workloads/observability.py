"""Observability, each part switchable per stack.

* ``amazon-cloudwatch-observability`` EKS add-on (Container Insights, container
  logs, X-Ray) with its own identity (CloudWatchAgentServerPolicy,
  AWSXrayWriteOnlyAccess);
* kube-prometheus-stack: Prometheus, Alertmanager and Grafana on the system
  pool with gp3 volumes. The Grafana admin password, when configured, is a
  Pulumi secret end to end: it goes into a Kubernetes Secret the chart
  references, never into Helm values. When it is not configured, the Grafana
  chart generates a random one in-cluster (read it with
  ``kubectl -n monitoring get secret kube-prometheus-stack-grafana``), so no
  default password ever exists;
* the NVIDIA DCGM exporter on GPU nodes, a ServiceMonitor for it and a GPU
  dashboard. The exporter release does not wait for Prometheus (add-ons
  install in parallel); only the ServiceMonitor, an object of a Prometheus
  CRD, does.

Prometheus Operator CRDs (ServiceMonitor, PrometheusRule...) come from the
``prometheus-operator-crds`` chart of the same operator release, installed
before kube-prometheus-stack (which sets ``skipCrds`` and ``crds.enabled:
false``): kube-prometheus-stack carries them in a subchart's ``crds/``, which
Helm never upgrades (``components/crds.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster
from components.conventions import child
from components.crds import crds_for
from components.identity import WorkloadIdentity, WorkloadIdentityArgs
from components.workloads import observability_values as values
from components.kube import custom_resource, pinned_release

CLOUDWATCH_ADDON = "amazon-cloudwatch-observability"
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_SERVICE_ACCOUNT = "cloudwatch-agent"
CLOUDWATCH_POLICIES = ("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess")
PROMETHEUS_RELEASE = "kube-prometheus-stack"
DCGM_RELEASE = "dcgm-exporter"


@dataclass(frozen=True)
class ObservabilityArgs:
    """Arguments for :class:`Observability`."""

    #: The cluster: its Kubernetes provider, identity settings and pinned add-on helper.
    cluster: Cluster
    #: Kubernetes minor, to pick the add-on build.
    kubernetes_version: str
    cloudwatch: bool = True
    prometheus: bool = False
    dcgm_exporter: bool = False
    #: Prometheus retention, e.g. "15d".
    prometheus_retention: str = "15d"
    prometheus_storage_gib: int = 50
    #: StorageClass for Prometheus/Alertmanager/Grafana volumes (gp3); None keeps data on emptyDir.
    storage_class: Optional[str] = None
    #: Grafana admin password (secret); None lets Grafana generate one in-cluster.
    grafana_admin_password: Optional[pulumi.Input[str]] = None
    #: What the add-on and charts need before their pods can schedule (the system node group).
    depends_on: Sequence[pulumi.Resource] = ()


class Observability(pulumi.ComponentResource):
    """CloudWatch Observability add-on, kube-prometheus-stack, DCGM exporter with ServiceMonitor and dashboard."""

    cloudwatch_addon: Optional[pulumi.Resource]
    prometheus_release: Optional[k8s.helm.v3.Release]
    #: The Prometheus Operator CRDs release the stack waits for.
    prometheus_crds: list[pulumi.Resource]
    dcgm_release: Optional[k8s.helm.v3.Release]
    service_monitor: Optional[k8s.apiextensions.CustomResource]
    #: ``<namespace>/<name>`` of the Secret holding the Grafana admin credentials.
    grafana_admin_secret: Optional[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:workloads:Observability", name, None, opts)
        if args.dcgm_exporter and not args.prometheus:
            raise ValueError("the DCGM exporter's ServiceMonitor and dashboard need prometheus")
        cluster, p = args.cluster, args.cluster.provider
        self.cloudwatch_addon = self.prometheus_release = self.dcgm_release = self.service_monitor = None
        self.prometheus_crds = []
        self.grafana_admin_secret = None

        if args.cloudwatch:
            identity = WorkloadIdentity(
                f"{name}-cloudwatch",
                WorkloadIdentityArgs(cluster=cluster.identity, namespace=CLOUDWATCH_NAMESPACE,
                                     service_account=CLOUDWATCH_SERVICE_ACCOUNT, managed_policies=CLOUDWATCH_POLICIES,
                                     create_service_account=False),
                opts=child(self),
            )
            self.cloudwatch_addon = cluster.addon(
                name, CLOUDWATCH_ADDON, args.kubernetes_version,
                service_account_role_arn=identity.role_arn if identity.mode == "irsa" else None,
                parent=self, depends_on=[*args.depends_on, identity],
            )

        if not args.prometheus:
            self.register_outputs({"cloudwatch": args.cloudwatch, "prometheus": False})
            return

        ns_name = values.MONITORING_NAMESPACE
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": ns_name, "labels": {"app.kubernetes.io/part-of": "mlplatform"}},
            opts=child(self, provider=p))
        release_deps: list[pulumi.Resource] = [*args.depends_on, namespace]
        secret_name = None
        if args.grafana_admin_password is not None:
            secret = k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": values.GRAFANA_SECRET, "namespace": ns_name},
                type="Opaque",
                string_data={values.GRAFANA_USER_KEY: "admin",
                             values.GRAFANA_PASSWORD_KEY: pulumi.Output.secret(args.grafana_admin_password)},
                opts=child(self, provider=p, depends_on=[namespace]),
            )
            release_deps.append(secret)
            secret_name = values.GRAFANA_SECRET
            self.grafana_admin_secret = f"{ns_name}/{secret_name}"
        else:
            self.grafana_admin_secret = f"{ns_name}/{PROMETHEUS_RELEASE}-grafana"

        self.prometheus_crds = crds_for(self, f"{name}-prometheus", "kube-prometheus-stack", cluster.crds,
                                        namespace=ns_name,
                                        depends_on=[namespace])
        chart_values = values.kube_prometheus_stack_values(
            retention=args.prometheus_retention, storage_gib=args.prometheus_storage_gib,
            storage_class=args.storage_class, grafana_secret=secret_name)
        if self.prometheus_crds:
            chart_values["crds"] = {"enabled": False}
        self.prometheus_release = pinned_release(
            f"{name}-kube-prometheus-stack", "kube-prometheus-stack", release_name=PROMETHEUS_RELEASE,
            namespace=ns_name, parent=self, provider=p, depends_on=[*release_deps, *self.prometheus_crds],
            values=chart_values, timeout=900, skip_crds=bool(self.prometheus_crds),
        )

        if args.dcgm_exporter:
            self.dcgm_release = pinned_release(
                f"{name}-dcgm-exporter", "dcgm-exporter", release_name=DCGM_RELEASE, namespace=ns_name,
                values=values.dcgm_exporter_values(), parent=self, provider=p,
                depends_on=[*args.depends_on, namespace])
            self.service_monitor = custom_resource(
                f"{name}-dcgm-service-monitor", values.dcgm_service_monitor(ns_name, DCGM_RELEASE),
                child(self, provider=p, depends_on=[self.prometheus_release, self.dcgm_release]))
            k8s.core.v1.ConfigMap(
                f"{name}-gpu-dashboard",
                metadata={"name": "gpu-dashboard", "namespace": ns_name,
                          "labels": {values.DASHBOARD_LABEL: "1", "app.kubernetes.io/part-of": "mlplatform"}},
                data={"gpu-dashboard.json": values.gpu_dashboard_json()},
                opts=child(self, provider=p, depends_on=[namespace]),
            )
        self.register_outputs({"cloudwatch": args.cloudwatch, "prometheus": True,
                               "grafanaAdminSecret": self.grafana_admin_secret})
