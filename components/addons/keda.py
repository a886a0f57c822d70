"""KEDA: event-driven autoscaling for inference endpoints (installed only when an endpoint asks for it).

What is created:

* the pinned ``keda`` chart (versions table) in its own ``keda`` namespace, its
  operator, metrics API server and admission webhooks on the system pool, two
  replicas each with a PodDisruptionBudget. Only one operator and one metrics
  server are active at a time (leader election); the second replica shortens
  a failover, and while the metrics server is down every KEDA-managed HPA
  freezes, so it matters. The chart installs its CRDs from templates, so a
  chart upgrade also upgrades them.
* when the stack has no Prometheus (endpoints then scale on CloudWatch): a
  workload identity for the operator's service account, allowed
  ``cloudwatch:GetMetricData`` and nothing else (the action takes no
  resource-level scoping, hence ``*``; it reads metrics, never writes), in
  either identity mode; and one ClusterTriggerAuthentication,
  ``keda-aws-operator-identity`` (``podIdentity.provider: aws``), through
  which every CloudWatch trigger uses that identity. No endpoint's own role is
  trusted by KEDA, so a team cannot make KEDA act as its role.

ScaledObjects themselves belong to the endpoints (components/workloads/inference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import conventions as cv
from components.addons.common import AddonTarget, addon_identity, helm_release
from components.conventions import child
from components.kube import custom_resource
from components.workloads.inference_scaling import API_VERSION, AWS_TRIGGER_AUTH

KEDA_NAMESPACE = "keda"
#: The chart's operator service account (values ``serviceAccount.operator.name``).
OPERATOR_SERVICE_ACCOUNT = "keda-operator"
CLOUDWATCH_READ_ACTIONS = ("cloudwatch:GetMetricData",)


def keda_values(*, operator_sa_annotations: Any) -> dict:
    """Chart values (each key path is checked against the chart's values.yaml in the tests)."""
    system = dict(cv.SYSTEM_NODE_SELECTOR)
    return {
        "operator": {"replicaCount": 2, "nodeSelector": system},
        "metricsServer": {"replicaCount": 2, "nodeSelector": system},
        "webhooks": {"replicaCount": 2, "nodeSelector": system},
        "podDisruptionBudget": {"operator": {"maxUnavailable": 1}, "metricServer": {"maxUnavailable": 1},
                                "webhooks": {"maxUnavailable": 1}},
        # IRSA: the role annotation; Pod Identity: none (the association binds the account).
        "serviceAccount": {"operator": {"annotations": operator_sa_annotations}},
    }


def trigger_authentication() -> dict:
    """The cluster-wide authentication CloudWatch triggers reference: the operator's own identity."""
    return {"apiVersion": API_VERSION, "kind": "ClusterTriggerAuthentication",
            "metadata": {"name": AWS_TRIGGER_AUTH, "labels": {"app.kubernetes.io/part-of": "mlplatform"}},
            "spec": {"podIdentity": {"provider": "aws"}}}


def cloudwatch_read_policy() -> pulumi.Output[str]:
    return aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
        sid="ReadMetricsForScaling", effect="Allow", actions=list(CLOUDWATCH_READ_ACTIONS), resources=["*"],
    )]).json


@dataclass(frozen=True)
class KedaArgs:
    """Arguments for :class:`Keda`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget
    #: Endpoints scale on CloudWatch metrics (no Prometheus): the operator needs its read-only identity.
    cloudwatch: bool = False


class Keda(pulumi.ComponentResource):
    """The KEDA release and, for CloudWatch triggers, the operator's identity and trigger authentication."""

    release: k8s.helm.v3.Release
    trigger_authentication: Optional[k8s.apiextensions.CustomResource]
    #: What a ScaledObject waits for (the CRDs and, with CloudWatch, the authentication it references).
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: KedaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:Keda", name, None, opts)
        t = args.target
        identity = None
        annotations: Any = {}
        if args.cloudwatch:
            identity = addon_identity(self, name, t, namespace=KEDA_NAMESPACE,
                                      service_account=OPERATOR_SERVICE_ACCOUNT, policy=cloudwatch_read_policy())
            annotations = identity.service_account_annotations
        self.release = helm_release(self, name, "keda", t, namespace=KEDA_NAMESPACE, create_namespace=True,
                                    values=keda_values(operator_sa_annotations=annotations),
                                    depends_on=[identity] if identity else [])
        self.ready = [self.release]
        self.trigger_authentication = None
        if args.cloudwatch:
            self.trigger_authentication = custom_resource(
                f"{name}-aws-trigger-auth", trigger_authentication(),
                child(self, provider=t.cluster.provider, depends_on=[self.release]))
            self.ready.append(self.trigger_authentication)
        self.register_outputs({"release": self.release.name, "cloudwatch": args.cloudwatch})
