"""Monitoring chart values, the DCGM ServiceMonitor and the GPU dashboard, as plain data.

No Pulumi here. The Grafana admin password never appears in these values:
it lives in a Kubernetes Secret the chart references (``admin.existingSecret``).
"""

from __future__ import annotations

import json
from typing import Optional

from components.conventions import ACCELERATOR_LABEL, SYSTEM_NODE_SELECTOR, gpu_toleration

MONITORING_NAMESPACE = "monitoring"
GRAFANA_SECRET = "grafana-admin"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"
DASHBOARD_LABEL = "grafana_dashboard"
DCGM_PORT_NAME = "metrics"
DCGM_APP_LABEL = "dcgm-exporter"


def _storage(storage_class: str, size: str) -> dict:
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }}}


def kube_prometheus_stack_values(*, retention: str, storage_gib: int, storage_class: Optional[str],
                                 grafana_secret: Optional[str]) -> dict:
    """Prometheus, Alertmanager and Grafana on the system pool, on gp3 volumes.

    ``grafana_secret`` names a Secret holding the admin user and password; when
    None, the password is left for the Grafana chart to generate in-cluster
    (kube-prometheus-stack's own default is a well-known string, hence the
    explicit empty ``adminPassword``). Either way it never enters the values,
    and so never the Helm release's stored manifest or Pulumi's plain state.
    """
    system = dict(SYSTEM_NODE_SELECTOR)
    prometheus_spec: dict = {
        "retention": retention,
        "nodeSelector": system,
        # Pick up ServiceMonitors/PodMonitors from every namespace, not just ones labelled for this release.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    alertmanager_spec: dict = {"nodeSelector": system}
    grafana: dict = {
        "nodeSelector": system,
        "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1",
                                   "searchNamespace": "ALL"}},
    }
    if storage_class:
        prometheus_spec["storageSpec"] = _storage(storage_class, f"{storage_gib}Gi")
        alertmanager_spec["storage"] = _storage(storage_class, "10Gi")
        grafana["persistence"] = {"enabled": True, "type": "sts", "storageClassName": storage_class, "size": "10Gi",
                                  "accessModes": ["ReadWriteOnce"]}
    if grafana_secret:
        grafana["admin"] = {"existingSecret": grafana_secret, "userKey": GRAFANA_USER_KEY,
                            "passwordKey": GRAFANA_PASSWORD_KEY}
    else:
        grafana["adminPassword"] = ""
    return {
        "prometheusOperator": {"nodeSelector": system, "admissionWebhooks": {"patch": {"nodeSelector": system}}},
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {"alertmanagerSpec": alertmanager_spec},
        "grafana": grafana,
        "kube-state-metrics": {"nodeSelector": system},
        # node-exporter is a DaemonSet that must run on every node, whatever its taints (GPU, system, EFA,
        # NoExecute ones). A ``tolerations`` value replaces the chart's default list, so it must stay
        # tolerate-everything; naming only the GPU taint would leave every other tainted node unmonitored.
        "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]},
    }


def dcgm_exporter_values() -> dict:
    """DCGM exporter only on GPU nodes (label + taint from conventions); we create its ServiceMonitor ourselves."""
    return {
        "nodeSelector": {ACCELERATOR_LABEL: "nvidia"},
        "tolerations": [gpu_toleration()],
        "serviceMonitor": {"enabled": False},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }


def dcgm_service_monitor(namespace: str, release_name: str) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": DCGM_APP_LABEL, "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": DCGM_APP_LABEL, "app.kubernetes.io/part-of": "mlplatform"}},
        "spec": {
            # The chart labels its Service with this component label (deployment/templates/service.yaml).
            "selector": {"matchLabels": {"app.kubernetes.io/component": DCGM_APP_LABEL,
                                         "app.kubernetes.io/instance": release_name}},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": DCGM_PORT_NAME, "path": "/metrics", "interval": "15s",
                           # Keep per-GPU identity: the node name Kubernetes knows, not the exporter pod.
                           "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"],
                                            "targetLabel": "node", "action": "replace"}]}],
        },
    }


_GPU_PANELS = (
    ("GPU utilisation", "DCGM_FI_DEV_GPU_UTIL", "percent", "avg by (node, gpu) (DCGM_FI_DEV_GPU_UTIL)"),
    ("GPU memory used", "DCGM_FI_DEV_FB_USED", "decmbytes", "sum by (node, gpu) (DCGM_FI_DEV_FB_USED)"),
    ("Power draw", "DCGM_FI_DEV_POWER_USAGE", "watt", "avg by (node, gpu) (DCGM_FI_DEV_POWER_USAGE)"),
    ("GPU temperature", "DCGM_FI_DEV_GPU_TEMP", "celsius", "max by (node, gpu) (DCGM_FI_DEV_GPU_TEMP)"),
)


def gpu_dashboard() -> dict:
    """A small Grafana dashboard: utilisation, memory, power and temperature per node and GPU."""
    panels = []
    for i, (title, metric, unit, expr) in enumerate(_GPU_PANELS):
        panels.append({
            "id": i + 1,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right"}},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{node}} GPU {{gpu}}",
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}}],
            "description": f"{metric} from the NVIDIA DCGM exporter.",
        })
    return {
        "uid": "mlplatform-gpus",
        "title": "ML platform / GPUs",
        "tags": ["mlplatform", "gpu", "dcgm"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Data source"}]},
        "panels": panels,
    }


def gpu_dashboard_json() -> str:
    return json.dumps(gpu_dashboard(), indent=2, sort_keys=True)
