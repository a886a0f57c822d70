"""metrics-server under mocks: pinned chart on the system pool, no AWS identity, no other add-on dependency."""

from __future__ import annotations

from components import versions
from components.addons.metrics_server import MetricsServer, MetricsServerArgs
from tests.addon_helpers import deps, release, run_addon
from tests.helpers import of_type


def test_pinned_chart_on_system_pool_with_pdb():
    run = run_addon(lambda t, cfg: MetricsServer("ms", MetricsServerArgs(target=t)))
    rel = release(run, "ms-release")
    pin = versions.HELM_CHARTS["metrics-server"]
    assert (rel.inputs["chart"], rel.inputs["version"], rel.inputs["repositoryOpts"]["repo"]) == (
        pin.chart, pin.version, pin.repository)
    assert rel.inputs["namespace"] == "kube-system"
    v = rel.inputs["values"]
    assert v["nodeSelector"] == {"mlplatform.io/role": "system"} and v["podDisruptionBudget"]["minAvailable"] == 1
    assert deps(run, rel) == {"ng-system"}
    assert not [r for r in of_type(run, "aws:iam/role:Role") if r.name.startswith("ms-")]
