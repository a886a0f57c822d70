"""Helpers for the add-on tests: a real (mocked) cluster and node groups to install add-ons into."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Optional

from automation.offline.monitor import Registration
from automation.offline.runner import ProgramRun
from components.addons.common import AddonTarget
from components.cluster import Cluster, ClusterArgs
from components.config import StackConfig
from components.nodegroups import NodeGroups, NodeGroupsArgs
from tests.helpers import minimal_config, run_component

CLUSTER = "ml-test"
VPC = "vpc-0123456789abcdef0"
PRIVATE = ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]
TAGS = {"owner": "ml-platform", "cost-center": "ml-test", "environment": "test"}
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
EKS_ADDON = "aws:eks/addon:Addon"


def run_addon(build: Callable[[AddonTarget, StackConfig], Any], *, mode: str = "pod-identity",
              kubernetes_version: str = "1.35", region: str = "us-west-2", fresh: bool = False,
              **overrides: Any) -> ProgramRun:
    """Run ``build(target, cfg)`` against a cluster with a system node group, under mocks."""
    cfg = minimal_config(kubernetesVersion=kubernetes_version, identityMode=mode, clusterName=CLUSTER, **overrides)

    def body(env):
        cluster = Cluster("cl", ClusterArgs(
            cluster_name=CLUSTER, kubernetes_version=kubernetes_version, vpc_id=VPC, private_subnet_ids=PRIVATE,
            endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[], read_only_role_arns=[],
            log_retention_days=30, deletion_protection=False, identity_mode=mode, env=env, tags=TAGS))
        nodes = NodeGroups("ng", NodeGroupsArgs(
            cluster=cluster, groups=cfg.nodeGroups, subnet_ids=PRIVATE, kubernetes_version=kubernetes_version,
            cluster_autoscaler=False, env=env, tags=TAGS, depends_on=cluster.networking_ready))
        system = [ng for pool, ng in nodes.managed.items() if cfg.nodeGroups[pool].role == "system"]
        build(AddonTarget(cluster=cluster, env=env, kubernetes_version=kubernetes_version, node_ready=system), cfg)

    return run_component(body, region=region, fresh=fresh)


def release(run: ProgramRun, name: str) -> Registration:
    return run.one(HELM_RELEASE, name)


def names(regs: Iterable[Registration]) -> set[str]:
    return {r.name for r in regs}


def deps(run: ProgramRun, reg: Registration) -> set[str]:
    """Names of the resources ``reg`` depends on directly."""
    by_urn = {r.urn: r for r in run.registrations}
    return {by_urn[u].name for u in reg.dependencies if u in by_urn}


def statements(doc_json: str) -> dict[str, dict]:
    """Policy statements keyed by Sid."""
    return {s["Sid"]: s for s in json.loads(doc_json)["Statement"]}


def actions(st: dict) -> list[str]:
    a = st.get("Action", [])
    return [a] if isinstance(a, str) else list(a)


def attached_policy(run: ProgramRun, identity: str) -> Optional[str]:
    """The policy of the WorkloadIdentity named ``identity``: its parts (``-policy``, ``-policy-<key>``)
    merged into one document."""
    hits = [r for r in run.registrations if r.type == "aws:iam/policy:Policy"
            and (r.name == f"{identity}-policy" or r.name.startswith(f"{identity}-policy-"))]
    if not hits:
        return None
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [st for h in hits for st in json.loads(h.inputs["policy"])["Statement"]]})


def managed_policy_arns(run: ProgramRun, identity: str) -> set[str]:
    return {r.inputs["policyArn"] for r in run.registrations
            if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and r.name.startswith(f"{identity}-")}
