"""EFA device plugin: installed exactly when a pool has EFA, and only onto those nodes."""

from components import conventions as cv
from components import versions
from tests.helpers import of_type, stack_run

RELEASE = "kubernetes:helm.sh/v3:Release"


def efa_releases(run):
    return [r for r in of_type(run, RELEASE) if r.inputs["chart"] == "aws-efa-k8s-device-plugin"]


def test_prod_efa_pool_gets_the_plugin_on_its_nodes_only():
    run = stack_run("prod")
    (rel,) = efa_releases(run)
    assert rel.inputs["version"] == versions.HELM_CHARTS["aws-efa-k8s-device-plugin"].version
    assert rel.inputs["values"]["nodeSelector"] == {cv.EFA_LABEL: "true"}
    assert cv.gpu_toleration() in rel.inputs["values"]["tolerations"]
    h100 = run.one("eks:index:ManagedNodeGroup", "nodes-gpu-h100")
    assert h100.inputs["labels"][cv.EFA_LABEL] == "true"
    for ng in of_type(run, "eks:index:ManagedNodeGroup"):
        if ng.name != "nodes-gpu-h100":
            assert cv.EFA_LABEL not in ng.inputs["labels"], ng.name


def test_no_efa_pool_no_plugin():
    assert not efa_releases(stack_run("dev"))
