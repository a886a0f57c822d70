"""Node rules: instance metadata, SSH, root-volume encryption and GPU taints.

Managed node groups are checked through the launch template they carry (the
template is its own resource and gets its own checks); a managed group without
one runs on the template EKS generates, whose IMDS hop limit and root-volume
encryption the pack cannot prove.
"""

from __future__ import annotations

import base64
import binascii
import email
import re
from typing import Any, Iterable, Iterator, Mapping

import yaml

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
    checkov=("CKV_AWS_100",),
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


# --------------------------------------------------------------------------- kubelet settings (CIS 3.2)
#
# EKS-optimized AMIs (AL2023 nodeadm, AL2 bootstrap.sh, Bottlerocket) ship a kubelet configuration that meets
# CIS 3.2.1-3.2.9. What infrastructure code can do is weaken it: kubelet flags in --kubelet-extra-args, a
# nodeadm NodeConfig's kubelet.config/flags, or a KubeletConfiguration document in user data. The rule reads
# every place user data or kubelet arguments enter a node and reports a setting that undoes a CIS item.

_B64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)(?:=([^\s'\"]*)| +([^\s'\"-][^\s'\"]*))?")
_ZERO_DURATION = re.compile(r"^0+(\.0*)?([a-z]*)$")


def _decode(value: str) -> str:
    """User data as text: EC2 takes it base64-encoded in launch templates; other inputs pass plain text."""
    text = value.strip()
    if text and len(text) % 4 == 0 and _B64.match(text) and not text.startswith(("#", "[", "{", "-")):
        try:
            decoded = base64.b64decode(text, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return value
        return decoded
    return value


def _parts(text: str) -> Iterator[str]:
    """The text itself, or each part of a MIME multi-part document (how nodeadm user data arrives)."""
    if "multipart/" in text[:2000].lower() and "content-type" in text[:2000].lower():
        msg = email.message_from_string(text)
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield payload.decode("utf-8", "replace")
        return
    yield text


def _kubelet_configs(text: str) -> Iterator[tuple[str, Mapping[str, Any], list]]:
    """``(where, KubeletConfiguration fields, extra flags)`` from YAML/JSON documents in ``text``."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        if doc.get("kind") == "NodeConfig":
            kubelet = obj(dig(doc, "spec", "kubelet"))
            yield "NodeConfig spec.kubelet.config", obj(kubelet.get("config")), as_list(kubelet.get("flags"))
        elif doc.get("kind") == "KubeletConfiguration":
            yield "KubeletConfiguration", doc, []


def _flags(text: str) -> dict[str, str]:
    """Kubelet-style ``--name=value`` / ``--name value`` flags in a command line or script (last one wins)."""
    out: dict[str, str] = {}
    for name, eq_value, spaced_value in _FLAG.findall(text):
        value = eq_value or spaced_value
        out[name] = value if value != "" else "true"
    return out


def _is_zero_duration(value: Any) -> bool:
    return bool(_ZERO_DURATION.match(str(value).strip().lower())) if value is not None else False


def _config_problems(cfg: Mapping[str, Any], min_qps: int) -> Iterator[tuple[str, str]]:
    auth = obj(cfg.get("authentication"))
    if flag(obj(auth.get("anonymous")).get("enabled")) is True:
        yield "3.2.1", "authentication.anonymous.enabled is true"
    if str(obj(cfg.get("authorization")).get("mode") or "") == "AlwaysAllow":
        yield "3.2.2", "authorization.mode is AlwaysAllow"
    x509 = obj(auth.get("x509"))
    if "clientCAFile" in x509 and not x509.get("clientCAFile"):
        yield "3.2.3", "authentication.x509.clientCAFile is empty"
    port = to_int(cfg.get("readOnlyPort"))
    if port:
        yield "3.2.4", f"readOnlyPort is {port} (unauthenticated read access)"
    if "streamingConnectionIdleTimeout" in cfg and _is_zero_duration(cfg.get("streamingConnectionIdleTimeout")):
        yield "3.2.5", "streamingConnectionIdleTimeout is 0 (streams never time out)"
    if flag(cfg.get("makeIPTablesUtilChains")) is False:
        yield "3.2.6", "makeIPTablesUtilChains is false"
    qps = to_int(cfg.get("eventRecordQPS"))
    if qps is not None and (qps < 0 or 0 < qps < min_qps):
        yield "3.2.7", f"eventRecordQPS is {qps}, below {min_qps} (events are dropped)"
    if flag(cfg.get("rotateCertificates")) is False:
        yield "3.2.8", "rotateCertificates is false"
    if flag(obj(cfg.get("featureGates")).get("RotateKubeletServerCertificate")) is False:
        yield "3.2.9", "featureGates.RotateKubeletServerCertificate is false"
    if flag(cfg.get("serverTLSBootstrap")) is False:
        yield "3.2.9", "serverTLSBootstrap is false (the serving certificate is not rotated)"


def _flag_problems(flags: Mapping[str, str], min_qps: int) -> Iterator[tuple[str, str]]:
    if flag(flags.get("anonymous-auth")) is True:
        yield "3.2.1", "--anonymous-auth=true"
    if "AlwaysAllow" in flags.get("authorization-mode", ""):
        yield "3.2.2", f"--authorization-mode={flags['authorization-mode']}"
    if "client-ca-file" in flags and flags["client-ca-file"] in ("", "true"):
        yield "3.2.3", "--client-ca-file is empty"
    port = to_int(flags.get("read-only-port"))
    if port:
        yield "3.2.4", f"--read-only-port={port}"
    if _is_zero_duration(flags.get("streaming-connection-idle-timeout")):
        yield "3.2.5", f"--streaming-connection-idle-timeout={flags['streaming-connection-idle-timeout']}"
    if flag(flags.get("make-iptables-util-chains")) is False:
        yield "3.2.6", "--make-iptables-util-chains=false"
    qps = to_int(flags.get("event-qps"))
    if qps is not None and (qps < 0 or 0 < qps < min_qps):
        yield "3.2.7", f"--event-qps={qps}, below {min_qps}"
    if flag(flags.get("rotate-certificates")) is False:
        yield "3.2.8", "--rotate-certificates=false"
    if re.search(r"RotateKubeletServerCertificate=false", flags.get("feature-gates", ""), re.I):
        yield "3.2.9", "--feature-gates=RotateKubeletServerCertificate=false"


def kubelet_problems(text: str, min_qps: int) -> Iterator[tuple[str, str]]:
    """``(CIS item, finding)`` for every weakened kubelet setting in user data or a kubelet argument string."""
    for part in _parts(_decode(text)):
        configs = list(_kubelet_configs(part))
        for where, cfg, extra in configs:
            for item, what in _config_problems(cfg, min_qps):
                yield item, f"{where}: {what}"
            for item, what in _flag_problems(_flags(" ".join(map(str, extra))), min_qps):
                yield item, f"NodeConfig spec.kubelet.flags: {what}"
        if not configs:  # a script or a bare argument string
            for item, what in _flag_problems(_flags(part), min_qps):
                yield item, what


def _kubelet_inputs(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(input name, text)`` of every input that reaches a node's kubelet."""
    keys: tuple[str, ...] = ()
    if resource_type in (LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION):
        keys = ("userData", "userDataBase64")
    elif resource_type in MANAGED_GROUPS + SELF_MANAGED_GROUPS or resource_type == EKS_CLUSTER:
        keys = ("userData", "nodeUserData", "nodeUserDataOverride", "kubeletExtraArgs", "bootstrapExtraArgs")
        if resource_type == EKS_CLUSTER:
            opts = obj(props.get("nodeGroupOptions"))
            for k in keys:
                if isinstance(opts.get(k), str):
                    yield f"nodeGroupOptions.{k}", opts[k]
        for i, part in enumerate(as_list(props.get("nodeadmExtraOptions"))):
            if isinstance(part, Mapping) and isinstance(part.get("content"), str):
                yield f"nodeadmExtraOptions[{i}]", part["content"]
    elif resource_type.startswith("kubernetes:") and is_karpenter(resource_type, props, "EC2NodeClass"):
        value = dig(props, "spec", "userData")
        if isinstance(value, str):
            yield "spec.userData", value
        return
    for k in keys:
        if isinstance(props.get(k), str):
            yield k, props[k]


@resource_rule(
    name="kubelet-config-hardened",
    description="User data and kubelet arguments never weaken the kubelet below CIS 3.2: no anonymous auth, no "
                "AlwaysAllow authorization, a client CA, no read-only port, idle streams time out, iptables util "
                "chains kept, events recorded, client and serving certificates rotated.",
    remediation="Drop the overriding flag or NodeConfig/KubeletConfiguration field: the EKS-optimized AMIs' "
                "defaults already meet CIS 3.2. Set eventRecordQPS to 0 or at least minEventRecordQps.",
    types=(LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION, EKS_CLUSTER) + MANAGED_GROUPS + SELF_MANAGED_GROUPS,
    type_prefixes=K8S,
    config={
        "minEventRecordQps": {"type": "integer", "default": 5,
                              "description": "Lowest eventRecordQPS accepted (0, unlimited, is always accepted)."},
    },
    cis=("3.2.1", "3.2.2", "3.2.3", "3.2.4", "3.2.5", "3.2.6", "3.2.7", "3.2.8", "3.2.9"),
)
def kubelet_config_hardened(props: dict, ctx: Ctx) -> Iterable[str]:
    min_qps = int(ctx.config.get("minEventRecordQps", 5))
    for where, text in _kubelet_inputs(ctx.type, props):
        seen = set()
        for item, what in kubelet_problems(text, min_qps):
            if (item, what) not in seen:
                seen.add((item, what))
                yield f"{where} weakens the kubelet (CIS {item}): {what}"
