"""Recorded engine events (tests/fixtures/events) folded into typed results, and the progress display."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pulumi.automation.events import EngineEvent, OpType
from rich.console import Console

from automation.progress import RichProgress
from automation.results import ChangeSummary, EventCollector, PolicyViolation, events_from_json, replay

EVENTS = Path(__file__).resolve().parent / "fixtures" / "events"
FIXTURES = sorted(EVENTS.glob("*.json"))
EVENT_KINDS = {"cancelEvent", "stdoutEvent", "diagnosticEvent", "preludeEvent", "summaryEvent", "resourcePreEvent",
               "resOutputsEvent", "resOpFailedEvent", "policyEvent", "startDebuggingEvent"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_follow_the_engine_event_schema(path):
    """Each record has sequence/timestamp and exactly one payload, and the SDK's own parser accepts it."""
    records = json.loads(path.read_text())
    assert [r["sequence"] for r in records] == list(range(len(records)))
    for r in records:
        payload = set(r) - {"sequence", "timestamp"}
        assert len(payload) == 1 and payload <= EVENT_KINDS, r
        event = EngineEvent.from_json(r)
        for kind in ("resourcePreEvent", "resOutputsEvent"):
            if kind in r:  # op must be one of the engine's step kinds
                md = (event.resource_pre_event or event.res_outputs_event).metadata
                assert isinstance(md.op, OpType) and md.urn.startswith("urn:pulumi:")
    assert "summaryEvent" in records[-2] and "cancelEvent" in records[-1]  # how every engine run ends


def test_preview_with_an_advisory_violation():
    c = replay(EVENTS / "preview_dev_advisory.json")
    result = c.result("preview", "dev")
    assert result.summary == ChangeSummary(create=3, same=1)
    assert result.summary.changes == 3
    assert result.mandatory == ()
    (v,) = result.advisory
    assert v == PolicyViolation(
        policy="eks-private-endpoint", pack="mlplatform-guardrails", pack_version="0.1.0", level="advisory",
        urn="urn:pulumi:dev::mlplatform::mlplatform:cluster:Cluster$eks:index:Cluster$aws:eks/cluster:Cluster::"
            "cluster-eks-eksCluster",
        message="The EKS API endpoint is public.\nRestrict publicAccessCidrs to known ranges or turn the public "
                "endpoint off.")  # colour directives stripped
    # Warnings are kept (colour stripped); ephemeral progress and info messages are not.
    assert [(d.severity, d.message) for d in result.diagnostics] == [
        ("warning", "aws:region us-west-2 is set in both the stack and the environment; the stack wins")]
    assert result.duration_seconds == 6 and result.policy_packs == {"mlplatform-guardrails": "0.1.0"}


def test_preview_with_mandatory_violations_deduplicated_and_stack_level_ones():
    result = replay(EVENTS / "preview_prod_mandatory.json").result("preview", "prod")
    assert result.summary.as_json() == {"create": 2, "update": 1, "delete": 1, "replace": 1, "same": 120,
                                        "other": {}}
    assert [(v.policy, v.level) for v in result.violations] == [
        ("eks-deletion-protection", "mandatory"), ("imdsv2-required", "mandatory"),  # the repeat is dropped
        ("gpu-quota-per-team", "advisory")]  # "warning" from older engines means advisory
    stack_level = result.violations[-1]
    assert stack_level.urn is None and not stack_level.mandatory
    assert [d.message for d in result.diagnostics] == ["preview failed: 3 mandatory policy violations"]


def test_up_counts_every_kind_of_change_and_records_finished_steps():
    c = replay(EVENTS / "up_dev.json")
    result = c.result("up", "dev", outputs={"clusterName": "ml-dev"})
    assert (result.summary.create, result.summary.update, result.summary.replace, result.summary.delete,
            result.summary.same) == (1, 1, 1, 1, 52)
    assert sorted(set(c.steps.values())) == ["create", "delete", "replace", "update"]
    assert c.cancelled and c.failed == []
    data = result.as_json()
    assert data["outputs"] == {"clusterName": "ml-dev"} and data["summary"]["replace"] == 1
    json.dumps(data)  # serialisable as is


def test_failed_provider_step_and_its_error():
    c = replay(EVENTS / "up_no_credentials.json")
    assert c.failed == ["urn:pulumi:dev::mlplatform::pulumi:providers:aws::default_7_51_1"]
    assert c.first_error().endswith("has a problem: No valid credential sources found.")
    assert c.result("up", "dev").summary == ChangeSummary()


def test_summary_other_step_kinds_are_kept_by_name():
    s = ChangeSummary.from_op_map({OpType.CREATE: 2, "read": 3, OpType.REFRESH: 1, "same": 4})
    assert (s.create, s.same, s.other) == (2, 4, {"read": 3, "refresh": 1})
    assert s.describe() == "2 to create, 4 unchanged"


def test_events_from_json_accepts_lines_and_dicts():
    lines = (EVENTS / "up_dev.json").read_text()
    records = json.loads(lines)
    as_lines = [json.dumps(r) for r in records] + [""]
    assert len(events_from_json(as_lines)) == len(events_from_json(records)) == len(records)


def test_collector_is_usable_as_a_plain_on_event_callback_from_threads():
    import threading

    events = events_from_json(json.loads((EVENTS / "up_dev.json").read_text()))
    c = EventCollector()
    threads = [threading.Thread(target=lambda: [c(e) for e in events]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.events == 4 * len(events) and len(c.violations) == 1


def test_progress_display_prints_steps_violations_and_the_summary():
    buf = io.StringIO()
    progress = RichProgress(Console(file=buf, width=200, color_system=None), title="preview prod")
    for e in events_from_json(json.loads((EVENTS / "preview_prod_mandatory.json").read_text())):
        progress(e)
    progress.close()
    text = buf.getvalue()
    assert "policy mandatory [eks-deletion-protection] aws:eks/cluster:Cluster  cluster-eks-eksCluster" in text
    assert "policy advisory [gpu-quota-per-team] (stack)" in text
    assert "error preview failed: 3 mandatory policy violations" in text
    assert text.rstrip().endswith("preview prod: 2 to create, 1 to update, 1 to delete, 1 to replace, 120 unchanged")


def test_progress_display_lists_finished_changes_but_not_unchanged_resources():
    buf = io.StringIO()
    progress = RichProgress(Console(file=buf, width=200, color_system=None))
    for e in events_from_json(json.loads((EVENTS / "up_dev.json").read_text())):
        progress(e)
    lines = buf.getvalue().splitlines()
    assert " + create   aws:eks/nodeGroup:NodeGroup  nodes-gpu" in lines
    assert " - delete   aws:eks/fargateProfile:FargateProfile  fargate-batch" in lines
    assert "+- replace  aws:ec2/launchTemplate:LaunchTemplate  nodes-system-lt" in lines
    assert not any("same" in ln for ln in lines)
