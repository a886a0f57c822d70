"""Node rules: instance metadata, SSH, root-volume encryption and GPU taints.

Managed node groups are checked through the launch template they carry (the
template is its own resource and gets its own checks); a managed group without
one runs on the template EKS generates, whose IMDS hop limit and root-volume
encryption the pack cannot prove.
"""

from __future__ import annotations

from typing import Iterable

from guardrails._meta import Ctx, dig, resource_rule
from guardrails.common import (
    MANAGED_GROUPS,
    SELF_MANAGED_GROUPS,
    NodeGroupView,
    NodePoolScope,
    as_list,
    flag,
    is_karpenter,
    normalize_effect,
    obj,
    to_int,
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
EKS_CLUSTER = "eks:index:Cluster"
K8S = ("kubernetes:",)


def _default_group(props: dict) -> bool:
    """A pulumi-eks Cluster launches a self-managed default node group unless told not to."""
    return flag(props.get("skipDefaultNodeGroup")) is not True


def _imds_problems(meta: dict, max_hops: int, where: str) -> Iterable[str]:
    if str(meta.get("httpEndpoint") or "enabled") == "disabled":
        return
    if str(meta.get("httpTokens") or "") != "required":
        yield f"{where}: httpTokens is {meta.get('httpTokens') or 'unset'}, not \"required\" (IMDSv1 stays usable)"
    hops = to_int(meta.get("httpPutResponseHopLimit"))
    if hops is None:
        yield (f"{where}: httpPutResponseHopLimit is unset (the AMI decides; AL2023 uses 2, which lets pods "
               f"reach the node role's credentials)")
    elif hops > max_hops:
        yield f"{where}: httpPutResponseHopLimit is {hops}, above {max_hops} (pods can reach the node's credentials)"


@resource_rule(
    name="imdsv2-required",
    description="Nodes require IMDSv2 with a hop limit of 1, so pods cannot read the node role's credentials.",
    remediation="In the launch template (or instance, or EC2NodeClass) set metadataOptions httpTokens=\"required\" "
                "and httpPutResponseHopLimit=1; give managed node groups such a launch template. pulumi-eks "
                "self-managed groups cannot set these options: use managed groups, or acknowledge with "
                "allowSelfManagedDefaults.",
    types=(LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION, EKS_CLUSTER) + MANAGED_GROUPS + SELF_MANAGED_GROUPS,
    type_prefixes=K8S,
    config={
        "maxHopLimit": {"type": "integer", "default": 1, "description": "Highest allowed httpPutResponseHopLimit."},
        "allowSelfManagedDefaults": {
            "type": "boolean", "default": False,
            "description": "Accept pulumi-eks self-managed node groups, whose IMDS options this SDK cannot set.",
        },
    },
)
def imdsv2_required(props: dict, ctx: Ctx) -> Iterable[str]:
    max_hops = int(ctx.config.get("maxHopLimit", 1))
    t = ctx.type
    if t in (LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION):
        yield from _imds_problems(obj(props.get("metadataOptions")), max_hops, "metadataOptions")
    elif t in MANAGED_GROUPS:
        if not props.get("launchTemplate"):
            yield ("no launchTemplate: the template EKS generates does not require IMDSv2 with hop limit 1; "
                   "attach one that does")
    elif t in SELF_MANAGED_GROUPS or (t == EKS_CLUSTER and _default_group(props)):
        if not ctx.config.get("allowSelfManagedDefaults"):
            what = "this self-managed node group" if t != EKS_CLUSTER else "the cluster's default node group"
            yield (f"{what} cannot set IMDS options (pulumi-eks exposes no metadataOptions for it), so IMDSv1 "
                   f"and a hop limit above 1 stay possible; use a managed node group with a launch template, "
                   f"or acknowledge with allowSelfManagedDefaults")
    elif t.startswith("kubernetes:") and is_karpenter(t, props, "EC2NodeClass"):
        # Karpenter's defaults are httpTokens required and hop limit 1; only explicit weakening is a violation.
        meta = obj(dig(props, "spec", "metadataOptions"))
        if meta.get("httpTokens") not in (None, "required"):
            yield f"spec.metadataOptions.httpTokens is {meta.get('httpTokens')}, not \"required\""
        hops = to_int(meta.get("httpPutResponseHopLimit"))
        if hops is not None and hops > max_hops:
            yield f"spec.metadataOptions.httpPutResponseHopLimit is {hops}, above {max_hops}"


@resource_rule(
    name="node-ssh-restricted",
    description="Managed node groups with SSH access name the security groups allowed to connect.",
    remediation="Set remoteAccess.sourceSecurityGroupIds (without it EKS opens port 22 to 0.0.0.0/0), or drop "
                "remoteAccess and use SSM Session Manager.",
    types=MANAGED_GROUPS,
)
def node_ssh_restricted(props: dict, ctx: Ctx) -> Iterable[str]:
    remote = obj(props.get("remoteAccess"))
    if remote.get("ec2SshKey") and not as_list(remote.get("sourceSecurityGroupIds")):
        yield "remoteAccess has an ec2SshKey but no sourceSecurityGroupIds: EKS opens SSH to the whole internet"


def _ebs_mappings(mappings: object, where: str) -> Iterable[str]:
    found = False
    for i, m in enumerate(as_list(mappings)):
        if not isinstance(m, dict) or not isinstance(m.get("ebs"), dict):
            continue  # instance store or suppressed devices carry no EBS volume
        found = True
        if flag(m["ebs"].get("encrypted")) is not True:
            yield f"{where}[{i}] ({m.get('deviceName') or 'device'}) is not encrypted"
    if not found:
        yield f"no {where} with EBS settings: the root volume's encryption is left to the AMI and account defaults"


@resource_rule(
    name="encrypted-root-volumes",
    description="Node root and data volumes are encrypted.",
    remediation="Set encrypted=\"true\" on every EBS block device mapping of the launch template (or "
                "EC2NodeClass), nodeRootVolumeEncrypted=true on pulumi-eks self-managed groups, and give managed "
                "node groups a launch template that declares encrypted volumes.",
    types=(LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION, EKS_CLUSTER) + MANAGED_GROUPS + SELF_MANAGED_GROUPS,
    type_prefixes=K8S,
)
def encrypted_root_volumes(props: dict, ctx: Ctx) -> Iterable[str]:
    t = ctx.type
    if t == LAUNCH_TEMPLATE:
        yield from _ebs_mappings(props.get("blockDeviceMappings"), "blockDeviceMappings")
    elif t in (INSTANCE, LAUNCH_CONFIGURATION):
        if flag(obj(props.get("rootBlockDevice")).get("encrypted")) is not True:
            yield "rootBlockDevice is not encrypted"
        for i, d in enumerate(as_list(props.get("ebsBlockDevices"))):
            if isinstance(d, dict) and flag(d.get("encrypted")) is not True:
                yield f"ebsBlockDevices[{i}] is not encrypted"
    elif t in MANAGED_GROUPS:
        if not props.get("launchTemplate"):
            yield "no launchTemplate: the root volume of EKS's generated template is not provably encrypted"
    elif t in SELF_MANAGED_GROUPS or (t == EKS_CLUSTER and _default_group(props)):
        if flag(props.get("nodeRootVolumeEncrypted")) is not True and flag(props.get("encryptRootBlockDevice")) is not True:
            yield "nodeRootVolumeEncrypted is not true (pulumi-eks leaves node root volumes unencrypted by default)"
    elif t.startswith("kubernetes:") and is_karpenter(t, props, "EC2NodeClass"):
        yield from _ebs_mappings(dig(props, "spec", "blockDeviceMappings"), "spec.blockDeviceMappings")


@resource_rule(
    name="gpu-nodes-tainted",
    description="GPU nodes carry the nvidia.com/gpu NoSchedule taint, so only pods that ask for GPUs land there.",
    remediation="Add the taint nvidia.com/gpu=true:NoSchedule (EKS spelling NO_SCHEDULE) to GPU node groups and to "
                "spec.template.spec.taints of Karpenter NodePools that allow GPU instance families.",
    types=(EKS_CLUSTER,) + MANAGED_GROUPS + SELF_MANAGED_GROUPS,
    type_prefixes=K8S,
    config={"taintKey": {"type": "string", "default": "nvidia.com/gpu", "description": "The GPU taint's key."}},
)
def gpu_nodes_tainted(props: dict, ctx: Ctx) -> Iterable[str]:
    key = str(ctx.config.get("taintKey") or "nvidia.com/gpu")
    if ctx.type.startswith("kubernetes:"):
        if not is_karpenter(ctx.type, props, "NodePool"):
            return
        tpl = obj(dig(props, "spec", "template", "spec"))
        if not NodePoolScope(tpl.get("requirements")).allows_gpu:
            return
        taints = [(str(t.get("key")), normalize_effect(t.get("effect")))
                  for t in as_list(tpl.get("taints")) if isinstance(t, dict)]
        if (key, "NoSchedule") not in taints:
            yield f"the NodePool allows GPU instances but spec.template.spec.taints lacks {key}:NoSchedule"
        return
    view = NodeGroupView.of(ctx.type, props)
    if view is None or not view.gpu:
        return
    if not view.has_taint(key):
        yield f"GPU node group ({', '.join(view.instance_types) or 'GPU AMI'}) lacks the {key}:NoSchedule taint"
