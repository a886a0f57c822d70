"""Least-privilege IAM and resource policies for the add-ons, as pure functions.

Every function takes plain strings (a :class:`Scope` with partition, region,
account and cluster name, plus ARNs) and returns a policy document as a dict.
The components resolve the Outputs and serialise the result with
``pulumi.Output.json_dumps``; tests call these directly, without Pulumi.

Where upstream publishes a policy, the statements follow it and are then
narrowed:

* AWS Load Balancer Controller: ``docs/install/iam_policy.json`` of the v2.14 /
  v3.x line (the version pinned in ``components/versions.py``). Upstream checks
  only that the ``elbv2.k8s.aws/cluster`` tag is *present*; here it must equal
  this cluster's name, so two clusters in one account cannot touch each other's
  load balancers, and ARNs carry this region and account instead of ``*:*``.
* Karpenter: the controller policies of the getting-started CloudFormation
  template (scoped by ``kubernetes.io/cluster/<name>: owned``,
  ``eks:eks-cluster-name`` and the NodePool / EC2NodeClass tags).
  ``iam:PassRole`` names the Karpenter node role only.
* cluster-autoscaler: reads on ``*`` (those APIs have no resource scoping) and
  scale/terminate only on ASGs tagged ``k8s.io/cluster-autoscaler/<name>: owned``.

Every action upstream grants is granted here, or its omission is listed with
the reason in ``validators/iam-deviations.yaml``; so is every action added.
``python -m validators`` compares each controller's role with the vendored
upstream policy (``upstream/iam/<controller>.json``) action by action.

**Size.** AWS caps a customer managed policy at 6,144 characters (whitespace
not counted) and, by default, a role at 10 attached managed policies. The
Karpenter and Load Balancer Controller policies come close to the first limit
as one document (about 5.9k with a short cluster name, and the cluster name
appears in many conditions), so each is split by what it governs
(:data:`KARPENTER_POLICY_GROUPS`, :data:`LB_CONTROLLER_POLICY_GROUPS`): the
parts are attached to the same role and IAM evaluates them together, so the
split grants exactly what the single document did. ``*_policy`` returns all
statements as one document (for review and tests); ``*_policies`` returns the
parts the components attach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

VERSION = "2012-10-17"

#: The tag the AWS Load Balancer Controller puts on everything it creates, valued with the cluster name.
LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


@dataclass(frozen=True)
class Scope:
    """Where a policy applies: ARNs are built from these, never hard-coded."""

    partition: str
    region: str
    account: str
    cluster_name: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    @property
    def cluster_tag(self) -> str:
        """``kubernetes.io/cluster/<name>``: Karpenter tags what it launches with it (value ``owned``)."""
        return f"kubernetes.io/cluster/{self.cluster_name}"

    @property
    def autoscaler_tag(self) -> str:
        return f"k8s.io/cluster-autoscaler/{self.cluster_name}"


def statement(sid: str, actions: Sequence[str], resources: Any, condition: dict | None = None,
              *, effect: str = "Allow", principal: Any = None) -> dict:
    """One statement; ``resources=None`` leaves Resource out (a resource policy's own resource)."""
    st: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        st["Principal"] = principal
    st["Action"] = list(actions) if len(actions) != 1 else actions[0]
    if resources is not None:
        st["Resource"] = resources
    if condition:
        st["Condition"] = condition
    return st


def document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def split(doc: dict, groups: Mapping[str, Sequence[str]]) -> dict[str, dict]:
    """``doc``'s statements as one document per group (by Sid), in the groups' order.

    Every statement must fall in exactly one group, so the parts together grant
    exactly what ``doc`` does.
    """
    by_sid = {st["Sid"]: st for st in doc["Statement"]}
    placed = [sid for sids in groups.values() for sid in sids]
    if len(placed) != len(set(placed)):
        raise ValueError(f"a statement is placed in two groups: {sorted(s for s in placed if placed.count(s) > 1)}")
    unplaced = set(by_sid) - set(placed)
    if unplaced:
        raise ValueError(f"statements in no group: {sorted(unplaced)}")
    return {name: document(*(by_sid[sid] for sid in sids if sid in by_sid)) for name, sids in groups.items()}


# --------------------------------------------------------------------------- AWS Load Balancer Controller

#: The LB controller's permissions in two documents: what it reads and integrates with (no ELB/EC2 writes),
#: and what it creates, tags and changes. The first part keeps the single policy's name (and URN).
LB_CONTROLLER_POLICY_GROUPS: Mapping[str, Sequence[str]] = {
    "": ("CreateElbServiceLinkedRole", "Describe", "CertificatesWafShield", "ListenersAndRules", "ListenerSettings",
         "RegisterTargets"),
    "manage": ("BackendSecurityGroupRules", "CreateSecurityGroup", "TagNewSecurityGroups", "RetagOwnSecurityGroups",
               "ManageOwnSecurityGroups", "CreateTaggedLoadBalancers", "RetagOwnLoadBalancers", "TagListenersAndRules",
               "ModifyOwnLoadBalancers", "TagOnCreate"),
}


def lb_controller_policy(s: Scope) -> dict:
    """The controller's permissions, every mutation scoped to load balancers tagged for this cluster."""
    elb = lambda r: s.arn("elasticloadbalancing", r)  # noqa: E731
    sg = s.arn("ec2", "security-group/*")
    lb_and_tg = [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")]
    ours = {"StringEquals": {f"aws:ResourceTag/{LBC_CLUSTER_TAG}": s.cluster_name}}
    tagging_ours = {f"aws:RequestTag/{LBC_CLUSTER_TAG}": s.cluster_name}
    return document(
        statement("CreateElbServiceLinkedRole", ["iam:CreateServiceLinkedRole"], "*",
                  {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
        statement("Describe", [
            "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
            "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeCapacityReservation",
        ], "*"),
        statement("CertificatesWafShield", [
            "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
            "iam:ListServerCertificates", "iam:GetServerCertificate",
            "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL",
            "waf-regional:DisassociateWebACL", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
            "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
            "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection",
            "shield:DeleteProtection",
        ], "*"),
        # Opening backend (node/pod) security groups to the load balancer's: those groups are not ours to tag.
        statement("BackendSecurityGroupRules", ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                  "*"),
        statement("CreateSecurityGroup", ["ec2:CreateSecurityGroup"], "*"),
        statement("TagNewSecurityGroups", ["ec2:CreateTags"], sg,
                  {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", **tagging_ours}}),
        statement("RetagOwnSecurityGroups", ["ec2:CreateTags", "ec2:DeleteTags"], sg,
                  {"Null": {f"aws:RequestTag/{LBC_CLUSTER_TAG}": "true"}, **ours}),
        statement("ManageOwnSecurityGroups",
                  ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
                  "*", ours),
        statement("CreateTaggedLoadBalancers",
                  ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"], "*",
                  {"StringEquals": tagging_ours}),
        statement("ListenersAndRules", [
            "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
        ], "*"),
        statement("RetagOwnLoadBalancers", ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                  lb_and_tg, {"Null": {f"aws:RequestTag/{LBC_CLUSTER_TAG}": "true"}, **ours}),
        statement("TagListenersAndRules", ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], [
            elb("listener/net/*/*/*"), elb("listener/app/*/*/*"),
            elb("listener-rule/net/*/*/*"), elb("listener-rule/app/*/*/*"),
        ]),
        statement("ModifyOwnLoadBalancers", [
            "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
            "elasticloadbalancing:ModifyIpPools",
        ], "*", ours),
        statement("TagOnCreate", ["elasticloadbalancing:AddTags"], lb_and_tg, {"StringEquals": {
            "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"], **tagging_ours}}),
        statement("RegisterTargets",
                  ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                  elb("targetgroup/*/*")),
        statement("ListenerSettings", [
            "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
        ], "*"),
    )


def lb_controller_policies(s: Scope) -> dict[str, dict]:
    """:func:`lb_controller_policy` split by :data:`LB_CONTROLLER_POLICY_GROUPS` (each part well under 6,144)."""
    return split(lb_controller_policy(s), LB_CONTROLLER_POLICY_GROUPS)


# --------------------------------------------------------------------------- Karpenter

#: Karpenter's permissions in three documents, along the lines of upstream's own split (NodeLifecycle,
#: IAMIntegration, ResourceDiscovery + EKSIntegration + Interruption). The first part keeps the single
#: policy's name (and URN).
KARPENTER_POLICY_GROUPS: Mapping[str, Sequence[str]] = {
    "": ("AllowScopedEC2InstanceAccessActions", "AllowScopedEC2LaunchTemplateAccessActions",
         "AllowScopedEC2InstanceActionsWithTags", "AllowScopedResourceCreationTagging", "AllowScopedResourceTagging",
         "AllowScopedDeletion"),
    "iam": ("AllowPassingInstanceRole", "AllowScopedInstanceProfileCreationActions",
            "AllowScopedInstanceProfileTagActions", "AllowScopedInstanceProfileActions",
            "AllowInstanceProfileReadActions", "AllowUnscopedInstanceProfileListAction",
            "AllowSpotServiceLinkedRoleCreation"),
    "discovery": ("AllowRegionalReadActions", "AllowSSMReadActions", "AllowPricingReadActions",
                  "AllowInterruptionQueueActions", "AllowAPIServerEndpointDiscovery"),
}

#: EC2 Spot's service-linked role: one per account, created by the first Spot request's caller (if allowed).
SPOT_SERVICE = "spot.amazonaws.com"
SPOT_SERVICE_LINKED_ROLE = "AWSServiceRoleForEC2Spot"


def spot_service_linked_role_statement(s: Scope) -> dict:
    """May create ``AWSServiceRoleForEC2Spot`` and nothing else: the grant AWS itself gives EKS Auto Mode's
    Karpenter (``AmazonEKSComputePolicy``), for an account whose first Spot request Karpenter makes."""
    return statement("AllowSpotServiceLinkedRoleCreation", ["iam:CreateServiceLinkedRole"],
                     s.arn("iam", f"role/aws-service-role/{SPOT_SERVICE}/{SPOT_SERVICE_LINKED_ROLE}", region=False),
                     {"StringEquals": {"iam:AWSServiceName": SPOT_SERVICE}})


def karpenter_controller_policies(s: Scope, node_role_arn: str, queue_arn: str, *,
                                  create_spot_service_linked_role: bool = False) -> dict[str, dict]:
    """:func:`karpenter_controller_policy` split by :data:`KARPENTER_POLICY_GROUPS`.

    ``create_spot_service_linked_role`` adds :func:`spot_service_linked_role_statement` (config
    ``spotServiceLinkedRole: karpenter``).
    """
    doc = karpenter_controller_policy(s, node_role_arn, queue_arn)
    if create_spot_service_linked_role:
        doc = document(*doc["Statement"], spot_service_linked_role_statement(s))
    return split(doc, KARPENTER_POLICY_GROUPS)


def karpenter_controller_policy(s: Scope, node_role_arn: str, queue_arn: str) -> dict:
    """Karpenter v1: launch, tag and terminate only instances it tags as this cluster's."""
    ec2 = lambda r: s.arn("ec2", r)  # noqa: E731
    launched = [ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"),
                ec2("launch-template/*"), ec2("spot-instances-request/*")]
    owned_req = {f"aws:RequestTag/{s.cluster_tag}": "owned", "aws:RequestTag/eks:eks-cluster-name": s.cluster_name}
    owned_res = {f"aws:ResourceTag/{s.cluster_tag}": "owned"}
    profile = s.arn("iam", "instance-profile/*", region=False)
    region_req = {"aws:RequestTag/topology.kubernetes.io/region": s.region}
    region_res = {"aws:ResourceTag/topology.kubernetes.io/region": s.region}
    nodeclass_req = {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    nodeclass_res = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    return document(
        statement("AllowScopedEC2InstanceAccessActions", ["ec2:RunInstances", "ec2:CreateFleet"], [
            s.arn("ec2", "image/*", account=False), s.arn("ec2", "snapshot/*", account=False),
            ec2("security-group/*"), ec2("subnet/*"), ec2("capacity-reservation/*"),
        ]),
        statement("AllowScopedEC2LaunchTemplateAccessActions", ["ec2:RunInstances", "ec2:CreateFleet"],
                  ec2("launch-template/*"),
                  {"StringEquals": owned_res, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}),
        statement("AllowScopedEC2InstanceActionsWithTags",
                  ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"], launched,
                  {"StringEquals": owned_req, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}),
        statement("AllowScopedResourceCreationTagging", ["ec2:CreateTags"], launched, {
            "StringEquals": {**owned_req, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
            "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
        }),
        statement("AllowScopedResourceTagging", ["ec2:CreateTags"], ec2("instance/*"), {
            "StringEquals": owned_res,
            "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": s.cluster_name},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
        }),
        statement("AllowScopedDeletion", ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                  [ec2("instance/*"), ec2("launch-template/*")],
                  {"StringEquals": owned_res, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}),
        statement("AllowRegionalReadActions", [
            "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
            # Instance health checks (scheduled events, impaired status); without it Karpenter logs an
            # error on every poll and turns the checks off.
            "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
            "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
        ], "*", {"StringEquals": {"aws:RequestedRegion": s.region}}),
        statement("AllowSSMReadActions", ["ssm:GetParameter"],
                  s.arn("ssm", "parameter/aws/service/*", account=False)),
        statement("AllowPricingReadActions", ["pricing:GetProducts"], "*"),
        statement("AllowInterruptionQueueActions", ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                  queue_arn),
        statement("AllowPassingInstanceRole", ["iam:PassRole"], node_role_arn,
                  {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}),
        statement("AllowScopedInstanceProfileCreationActions", ["iam:CreateInstanceProfile"], profile,
                  {"StringEquals": {**owned_req, **region_req}, "StringLike": nodeclass_req}),
        statement("AllowScopedInstanceProfileTagActions", ["iam:TagInstanceProfile"], profile, {
            "StringEquals": {**owned_res, **region_res, **owned_req, **region_req},
            "StringLike": {**nodeclass_res, **nodeclass_req},
        }),
        statement("AllowScopedInstanceProfileActions",
                  ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
                  profile, {"StringEquals": {**owned_res, **region_res}, "StringLike": nodeclass_res}),
        statement("AllowInstanceProfileReadActions", ["iam:GetInstanceProfile"], profile),
        statement("AllowUnscopedInstanceProfileListAction", ["iam:ListInstanceProfiles"], "*"),
        statement("AllowAPIServerEndpointDiscovery", ["eks:DescribeCluster"],
                  s.arn("eks", f"cluster/{s.cluster_name}")),
    )


def interruption_queue_policy(queue_arn: str) -> dict:
    """EventBridge (and SQS itself) may send; nobody may use the queue without TLS."""
    return document(
        statement("EventBridgeSends", ["sqs:SendMessage"], queue_arn,
                  principal={"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}),
        statement("DenyHTTP", ["sqs:*"], queue_arn, {"Bool": {"aws:SecureTransport": "false"}},
                  effect="Deny", principal="*"),
    )


#: EventBridge patterns Karpenter acts on, keyed by a stable rule suffix.
INTERRUPTION_EVENTS: dict[str, dict] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    # Capacity Blocks / ODCRs reclaimed at the end of their term (karpenterGpuCapacityTypes: reserved).
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}


# --------------------------------------------------------------------------- cluster-autoscaler


def cluster_autoscaler_policy(s: Scope) -> dict:
    """Discover every group, but resize or terminate only groups tagged as this cluster's."""
    return document(
        statement("Discover", [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
        ], "*"),
        statement("DescribeOwnNodegroups", ["eks:DescribeNodegroup"], s.arn("eks", f"nodegroup/{s.cluster_name}/*/*")),
        statement("ScaleOwnGroups",
                  ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                  s.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*"),
                  {"StringEquals": {f"aws:ResourceTag/{s.autoscaler_tag}": "owned",
                                    "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}}),
    )


# --------------------------------------------------------------------------- storage


def fsx_csi_policy(s: Scope) -> dict:
    """The FSx for Lustre CSI driver with statically provisioned volumes.

    The file system is created by Pulumi and mounted through a static
    PersistentVolume, so the controller only validates volumes (describe). No
    create/delete/update of file systems (dynamic provisioning and PVC expansion
    are off: capacity is changed with ``fsxLustreCapacityGiB``), and none of
    the S3 or service-linked-role rights upstream's example grants for
    dynamically created, S3-linked file systems.
    """
    return document(
        statement("DescribeFileSystems", ["fsx:DescribeFileSystems"], "*",
                  {"StringEquals": {"aws:RequestedRegion": s.region}}),
    )


def storage_key_policy(s: Scope, user_role_arns: Sequence[str] = (), *, via_service: str | None = None) -> dict:
    """A customer KMS key policy: the account administers; named roles may use it (and grant to AWS services).

    ``via_service`` (e.g. ``ec2``) limits the named roles to using the key through that service.
    """
    statements = [statement("AccountAdministers", ["kms:*"], "*",
                            principal={"AWS": s.arn("iam", "root", region=False)})]
    if user_role_arns:
        via = {"StringEquals": {"kms:ViaService": f"{via_service}.{s.region}.amazonaws.com"}} if via_service else None
        principal = {"AWS": list(user_role_arns) if len(user_role_arns) > 1 else user_role_arns[0]}
        statements.append(statement("RolesUseKey", [
            "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
        ], "*", via, principal=principal))
        # EBS attaches encrypted volumes through grants the driver creates for EC2.
        statements.append(statement("RolesGrantToAwsServices", ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                                    "*", {"Bool": {"kms:GrantIsForAWSResource": "true"}}, principal=principal))
    return document(*statements)


def deny_insecure_transport(bucket_arn: str) -> dict:
    """Bucket policy: refuse every request that does not use TLS."""
    return document(statement("DenyInsecureTransport", ["s3:*"], [bucket_arn, f"{bucket_arn}/*"],
                              {"Bool": {"aws:SecureTransport": "false"}}, effect="Deny", principal="*"))


def efs_file_system_policy(file_system_arn: str | None = None) -> dict:
    """Mounts only through a mount target, and only over TLS (the CSI driver mounts with ``tls``).

    Without ``file_system_arn`` the statements carry no Resource: a file-system policy applies to the file
    system it is attached to, and the EFS console writes its policies that way. The program uses that form,
    because the file system's ID (and so its ARN) is assigned by AWS and unknown at the first preview.
    """
    return document(
        statement("MountThroughMountTargets", [
            "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess",
        ], file_system_arn, {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}, principal={"AWS": "*"}),
        statement("DenyInsecureTransport", ["*"], file_system_arn, {"Bool": {"aws:SecureTransport": "false"}},
                  effect="Deny", principal={"AWS": "*"}),
    )
