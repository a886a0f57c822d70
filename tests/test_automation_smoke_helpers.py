"""The integration smoke check's Kubernetes helpers, against fake API objects (they must not be wrong unseen)."""

from __future__ import annotations

from types import SimpleNamespace as NS

from tests.integration.k8s_smoke import endpoint_healthy, training_state


class Custom:
    def __init__(self, items):
        self.items, self.asked = items, []

    def list_namespaced_custom_object(self, group, version, namespace, plural):
        self.asked.append((group, version, namespace, plural))
        return {"items": self.items}


def job(name, **conditions):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}}


def test_trainjob_states():
    custom = Custom([job("other", Complete="True"), job("mnist-ddp", Created="True")])
    assert training_state(custom, "TrainJob", "research", "mnist-ddp") is None
    assert custom.asked == [("trainer.kubeflow.org", "v1alpha1", "research", "trainjobs")]
    assert training_state(Custom([job("mnist-ddp", Complete="True")]), "TrainJob", "research", "mnist-ddp") \
        == "Complete"
    assert training_state(Custom([job("mnist-ddp", Failed="True")]), "TrainJob", "research", "mnist-ddp") == "Failed"


def test_pytorchjob_success_condition_is_succeeded():
    custom = Custom([job("legacy", Succeeded="True")])
    assert training_state(custom, "PyTorchJob", "research", "legacy") == "Complete"
    assert custom.asked[0][:2] == ("kubeflow.org", "v1") and custom.asked[0][3] == "pytorchjobs"


class Core:
    def __init__(self, services):
        self.services, self.proxied = services, []

    def list_namespaced_service(self, namespace):
        return NS(items=self.services)

    def connect_get_namespaced_service_proxy_with_path(self, name, namespace, path):
        self.proxied.append((name, namespace, path))
        return "ok"


def svc(name, port_name=None, port=8080, labels=None):
    return NS(metadata=NS(name=name, labels=labels or {}), spec=NS(ports=[NS(name=port_name, port=port)]))


def test_endpoint_health_goes_through_the_service_proxy():
    core = Core([svc("unrelated"), svc("embeddings", port_name="http")])
    assert endpoint_healthy(core, "inference", "embeddings", "/health")
    assert core.proxied == [("embeddings:http", "inference", "health")]
    core = Core([svc("unrelated")])
    assert not endpoint_healthy(core, "inference", "embeddings", "/health") and core.proxied == []
