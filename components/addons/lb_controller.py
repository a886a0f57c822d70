"""AWS Load Balancer Controller: ALBs for Ingresses, NLBs for LoadBalancer Services, internal by default.

The release is what the workload layer makes every Ingress and LoadBalancer
Service depend on. That ordering is what makes ``pulumi destroy`` work: the
controller is the only thing that deletes the load balancers, target groups
and security groups it created. If it is removed first, the load balancers and
their ENIs stay behind, the subnets and security groups cannot be deleted, and
the destroy hangs until someone deletes them by hand. With the dependency,
Pulumi deletes the Ingresses and Services first (the controller, still
running, removes their load balancers) and the controller last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.addons import iam, values
from components.addons.common import AddonTarget, addon_identity, helm_release, scope_output, split_policy_json
from components.crds import crds_for
from components.conventions import PLATFORM_NAMESPACE, child


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """Arguments for :class:`LoadBalancerController`."""

    #: The cluster to install into and the node group to wait for.
    target: AddonTarget
    #: VPC the load balancers go in (given explicitly: pods cannot read it from IMDS).
    vpc_id: pulumi.Input[str]
    #: Tags for every AWS resource the controller creates.
    default_tags: Mapping[str, str] = field(default_factory=dict)


class LoadBalancerController(pulumi.ComponentResource):
    """The controller (pinned chart, least-privilege identity, system pool) and the ``alb`` IngressClass."""

    release: k8s.helm.v3.Release
    #: The chart's CRDs (TargetGroupBinding, IngressClassParams...), applied from its crds/ at the controller's tag.
    crds: list[pulumi.Resource]
    ingress_class: k8s.networking.v1.IngressClass
    ingress_class_name: str = values.ALB_INGRESS_CLASS

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlplatform:addons:LoadBalancerController", name, None, opts)
        t = args.target
        scope = scope_output(t.env, t.cluster.configured_name)
        # Two documents: as one it nears AWS's 6,144-character limit for a managed policy.
        policy, extra = split_policy_json(scope.apply(iam.lb_controller_policies), list(iam.LB_CONTROLLER_POLICY_GROUPS))
        identity = addon_identity(self, name, t, namespace=PLATFORM_NAMESPACE,
                                  service_account=values.LBC_SERVICE_ACCOUNT, policy=policy, extra_policies=extra)
        self.crds = crds_for(self, name, "aws-load-balancer-controller", t.cluster.crds,
                             namespace=PLATFORM_NAMESPACE)
        self.release = helm_release(
            self, name, "aws-load-balancer-controller", t, namespace=PLATFORM_NAMESPACE,
            values=values.lb_controller_values(
                cluster_name=t.cluster.cluster_name, region=t.env.region, vpc_id=args.vpc_id,
                sa_annotations=identity.service_account_annotations, default_tags=args.default_tags,
                replicas=t.controller_replicas),
            depends_on=[identity, *self.crds], skip_crds=bool(self.crds))
        # Not the default class: an Ingress names ``alb`` explicitly, so none lands on an ALB by accident.
        self.ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-ingress-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=values.ALB_INGRESS_CLASS,
                annotations={"ingressclass.kubernetes.io/is-default-class": "false"}),
            spec=k8s.networking.v1.IngressClassSpecArgs(controller=values.ALB_CONTROLLER),
            opts=child(self, provider=t.cluster.provider))
        self.register_outputs({"release": self.release.name, "ingressClass": self.ingress_class_name})
