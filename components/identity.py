"""Workload identity: one component that gives a Kubernetes service account an AWS role.

Two modes, chosen per stack with ``identityMode``:

* ``pod-identity`` (default): the role trusts ``pods.eks.amazonaws.com`` for
  ``sts:AssumeRole`` + ``sts:TagSession``, scoped to this account and cluster,
  and an ``aws.eks.PodIdentityAssociation`` binds it to the service account.
  No OIDC trust to get wrong, and roles are reusable across clusters.
* ``irsa``: the role trusts the cluster's OIDC provider for
  ``sts:AssumeRoleWithWebIdentity`` with ``StringEquals`` on *both* ``:sub``
  (exactly ``system:serviceaccount:<ns>:<sa>``) and ``:aud``. The conditions
  are rendered by ``aws.iam.get_policy_document``, which merges them under one
  ``StringEquals``: a hand-written dict with two ``StringEquals`` keys silently
  keeps only the last, and the ``:sub`` check disappears.

Service accounts created here do not automount a Kubernetes API token: the AWS
credentials arrive through the token the EKS webhook projects, so a workload
that only talks to AWS never holds Kubernetes credentials.

At the first preview of a new stack (README, "What a first preview can see")
everything here is known except one value: the OIDC issuer EKS assigns when it
creates the cluster, which an IRSA trust policy names. So the role and its
policy get deterministic names (:mod:`components.naming`) and every ARN is
built from partition, account and those names; the Pod Identity trust names
the cluster by its configured name. For IRSA the component registers its
*intent* as its own inputs (mode, namespace, service account, audience), which
the ``workload-identity-intent`` rule judges at preview; ``irsa-trust-scoped``
judges the rendered document at ``up``, once the issuer exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws_env import AwsEnv
from components.conventions import child

IdentityMode = Literal["pod-identity", "irsa"]
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
#: The audience of the projected token IRSA exchanges with STS (the ``<issuer>:aud`` condition).
IRSA_AUDIENCE = "sts.amazonaws.com"
#: Type token of the component; the policy pack's ``workload-identity-intent`` rule reads its inputs.
WORKLOAD_IDENTITY_TYPE = "mlplatform:identity:WorkloadIdentity"


def pod_identity_trust(env: AwsEnv, cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust policy for EKS Pod Identity, limited to this account and cluster (confused-deputy guard)."""
    return aws.iam.get_policy_document_output(
        statements=[
            aws.iam.GetPolicyDocumentStatementArgs(
                sid="EksPodIdentity",
                effect="Allow",
                actions=["sts:AssumeRole", "sts:TagSession"],
                principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="Service", identifiers=["pods.eks.amazonaws.com"])],
                conditions=[
                    aws.iam.GetPolicyDocumentStatementConditionArgs(
                        test="StringEquals", variable="aws:SourceAccount", values=[env.account_id]),
                    aws.iam.GetPolicyDocumentStatementConditionArgs(
                        test="ArnEquals", variable="aws:SourceArn", values=[env.eks_cluster_arn(cluster_name)]),
                ],
            )
        ]
    ).json


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust policy for IRSA: this exact service account, audience sts.amazonaws.com.

    ``oidc_issuer`` is the issuer without ``https://`` (what IAM condition keys use).
    """
    sub = pulumi.Output.concat(oidc_issuer, ":sub")
    aud = pulumi.Output.concat(oidc_issuer, ":aud")
    return aws.iam.get_policy_document_output(
        statements=[
            aws.iam.GetPolicyDocumentStatementArgs(
                sid="Irsa",
                effect="Allow",
                actions=["sts:AssumeRoleWithWebIdentity"],
                principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="Federated", identifiers=[oidc_provider_arn])],
                conditions=[
                    aws.iam.GetPolicyDocumentStatementConditionArgs(
                        test="StringEquals", variable=sub,
                        values=[f"system:serviceaccount:{namespace}:{service_account}"]),
                    aws.iam.GetPolicyDocumentStatementConditionArgs(
                        test="StringEquals", variable=aud, values=[IRSA_AUDIENCE]),
                ],
            )
        ]
    ).json


@dataclass(frozen=True)
class ClusterIdentity:
    """What every workload identity needs to know about the cluster."""

    #: The cluster's name as an Output of the cluster (resources that need the cluster to exist use it).
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    #: Issuer without ``https://``, e.g. ``oidc.eks.us-west-2.amazonaws.com/id/ABC``.
    oidc_issuer: pulumi.Input[str]
    mode: IdentityMode
    env: AwsEnv
    provider: Optional[k8s.Provider] = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The cluster name as configured, known before the cluster exists: names and ARNs in documents use it.
    #: May be left empty when ``cluster_name`` is itself a plain string.
    configured_name: str = ""

    @property
    def name(self) -> str:
        """The configured cluster name (plain)."""
        if self.configured_name:
            return self.configured_name
        if isinstance(self.cluster_name, str):
            return self.cluster_name
        raise TypeError("ClusterIdentity needs configured_name (a plain string) when cluster_name is an Output")


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    """Arguments for :class:`WorkloadIdentity`."""

    cluster: ClusterIdentity
    #: Namespace of the service account.
    namespace: pulumi.Input[str]
    #: Service account name (must be a plain string: it is part of the IRSA trust condition).
    service_account: str
    #: Least-privilege inline policy document (JSON), if any.
    policy_json: Optional[pulumi.Input[str]] = None
    #: More policy documents for the same role, keyed by a stable suffix (``<name>-policy-<key>``): a
    #: controller whose permissions would crowd AWS's 6,144-character managed-policy limit is split in parts.
    extra_policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: AWS-managed policy names to attach, e.g. ``("AmazonEBSCSIDriverPolicy",)``.
    managed_policies: Sequence[str] = ()
    #: Create the ServiceAccount here; False when a Helm chart or EKS add-on creates it.
    create_service_account: bool = True
    #: Override the stack-wide mode (vpc-cni uses IRSA: it must work before any agent pod runs).
    mode: Optional[IdentityMode] = None
    #: Labels for the ServiceAccount.
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Resources the ServiceAccount must wait for (e.g. its Namespace).
    depends_on: Sequence[pulumi.Resource] = ()


class WorkloadIdentity(pulumi.ComponentResource):
    """An IAM role bound to one Kubernetes service account by Pod Identity or IRSA."""

    role: aws.iam.Role
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    #: The role's ARN built from partition, account and its deterministic name: known at the first preview,
    #: for documents that name the role (a KMS key policy). It carries no dependency on the role.
    static_role_arn: pulumi.Output[str]
    mode: IdentityMode
    #: Annotations a chart-managed ServiceAccount must carry (IRSA only; empty for Pod Identity).
    service_account_annotations: pulumi.Output[Mapping[str, str]]
    service_account_name: str

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        c = args.cluster
        mode: IdentityMode = args.mode or c.mode
        # The intent, registered as the component's inputs: what the trust must say, known at preview even when
        # the rendered IRSA document is not (it names the cluster's OIDC issuer).
        intent = {"identityMode": mode, "namespace": args.namespace, "serviceAccount": args.service_account}
        if mode == "irsa":
            intent["audience"] = IRSA_AUDIENCE
        super().__init__(WORKLOAD_IDENTITY_TYPE, name, intent, opts)
        self.mode = mode
        self.service_account_name = args.service_account
        tags = dict(c.tags)
        env = c.env

        if mode == "irsa":
            trust = irsa_trust(c.oidc_provider_arn, c.oidc_issuer, _plain_namespace(args.namespace), args.service_account)
        else:
            trust = pod_identity_trust(env, c.name)
        # Role and policy share one deterministic name (they live in separate IAM namespaces).
        physical = env.iam_name(c.name, name)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical,
            assume_role_policy=trust,
            description=pulumi.Output.concat("Workload identity for ", args.namespace, "/", args.service_account),
            max_session_duration=3600,
            tags=tags,
            opts=child(self),
        )
        self.static_role_arn = env.role_arn(physical)
        if args.policy_json is not None:
            policy = aws.iam.Policy(f"{name}-policy", name=physical, policy=args.policy_json, tags=tags,
                                    opts=child(self))
            # The ARN from parts keeps the attachment's policyArn known at preview (the admin-policy rule reads
            # it); the explicit dependency replaces the one policy.arn carried.
            aws.iam.RolePolicyAttachment(
                f"{name}-policy-attachment", role=self.role.name, policy_arn=env.policy_arn(physical),
                opts=child(self, depends_on=[policy]))
        for key, doc in args.extra_policies.items():
            part_name = env.iam_name(c.name, f"{name}-{key}")
            part = aws.iam.Policy(f"{name}-policy-{key}", name=part_name, policy=doc, tags=tags, opts=child(self))
            aws.iam.RolePolicyAttachment(
                f"{name}-policy-{key}-attachment", role=self.role.name, policy_arn=env.policy_arn(part_name),
                opts=child(self, depends_on=[part]))
        for managed in args.managed_policies:
            aws.iam.RolePolicyAttachment(
                f"{name}-{managed}", role=self.role.name, policy_arn=c.env.managed_policy_arn(managed), opts=child(self))

        annotations = {IRSA_ROLE_ANNOTATION: self.role.arn} if mode == "irsa" else {}
        self.service_account_annotations = pulumi.Output.from_input(annotations)
        if args.create_service_account:
            k8s.core.v1.ServiceAccount(
                f"{name}-sa",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args.service_account,
                    namespace=args.namespace,
                    annotations=annotations,
                    labels=dict(args.labels),
                ),
                automount_service_account_token=False,
                opts=child(self, provider=c.provider, depends_on=list(args.depends_on)),
            )
        if mode == "pod-identity":
            aws.eks.PodIdentityAssociation(
                f"{name}-association",
                cluster_name=c.cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=self.role.arn,
                tags=tags,
                opts=child(self),
            )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"roleArn": self.role_arn, "mode": mode})


def _plain_namespace(namespace: pulumi.Input[str]) -> str:
    if not isinstance(namespace, str):
        raise TypeError("IRSA trust needs the namespace as a plain string: it is part of the :sub condition")
    return namespace
