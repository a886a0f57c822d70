"""Node rules, through the analyzer: IMDSv2, SSH, root-volume encryption, GPU taints."""

from __future__ import annotations

import pytest

from tests.policy_helpers import TAGS, Case, case_id, k8s, res, run_case

LT = "aws:ec2/launchTemplate:LaunchTemplate"
MNG = "eks:index:ManagedNodeGroup"
AWS_NG = "aws:eks/nodeGroup:NodeGroup"
NGV2 = "eks:index:NodeGroupV2"
IMDS_OK = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
EBS_OK = [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50, "volumeType": "gp3", "encrypted": "true"}}]


def lt(name="lt", **kw):
    inputs = {"metadataOptions": IMDS_OK, "blockDeviceMappings": EBS_OK, "tags": TAGS}
    inputs.update(kw)
    return res(LT, name, {k: v for k, v in inputs.items() if v is not None})


def mng(name="ng", **kw):
    inputs = {"cluster": "c", "instanceTypes": ["m6i.large"], "launchTemplate": {"id": "lt-1", "version": "1"},
              "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 1}, "taints": [], "tags": TAGS}
    inputs.update(kw)
    return res(MNG, name, {k: v for k, v in inputs.items() if v is not None})


def nodepool(name="gpu", requirements=None, taints=None, limits=None):
    spec = {"template": {"spec": {"requirements": requirements or [], "taints": taints or [],
                                  "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "x"}}}}
    if limits is not None:
        spec["limits"] = limits
    return k8s("karpenter.sh/v1", "NodePool", name, namespace=None, spec=spec)


def nodeclass(name="default", **spec):
    return k8s("karpenter.k8s.aws/v1", "EC2NodeClass", name, namespace=None,
               spec={"role": "r", "amiSelectorTerms": [{"alias": "al2023@latest"}], **spec})


GPU_FAMILIES = [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5", "p5"]}]
GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]

CASES = [
    # imdsv2-required
    Case("imdsv2-required", True, lt(metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1}),
         contains="httpTokens", label="lt-optional"),
    Case("imdsv2-required", True, lt(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2}),
         contains="above 1", label="lt-hop-2"),
    Case("imdsv2-required", True, lt(metadataOptions=None), label="lt-unset"),
    Case("imdsv2-required", True,
         res("aws:ec2/instance:Instance", "i", {"ami": "ami-1", "instanceType": "m6i.large", "tags": TAGS}),
         label="instance-unset"),
    Case("imdsv2-required", True, mng(launchTemplate=None), contains="no launchTemplate", label="mng-no-lt"),
    Case("imdsv2-required", True, res(AWS_NG, "ng", {"clusterName": "c", "tags": TAGS}), label="aws-ng-no-lt"),
    Case("imdsv2-required", True, res(NGV2, "self", {"cluster": "c", "nodeAssociatePublicIpAddress": False}),
         contains="allowSelfManagedDefaults", label="self-managed"),
    Case("imdsv2-required", True, nodeclass(metadataOptions={"httpTokens": "optional"}), label="nodeclass-weakened"),
    Case("imdsv2-required", False, lt(), label="lt"),
    Case("imdsv2-required", False, lt(metadataOptions={"httpEndpoint": "disabled"}), label="imds-off"),
    Case("imdsv2-required", False, mng(), label="mng-with-lt"),
    Case("imdsv2-required", False, res(NGV2, "self-ack", {"cluster": "c"}),
         config={"imdsv2-required": {"allowSelfManagedDefaults": True}}, label="self-managed-acknowledged"),
    Case("imdsv2-required", False, nodeclass(), label="nodeclass-karpenter-defaults"),
    Case("imdsv2-required", False, lt(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2}),
         config={"imdsv2-required": {"maxHopLimit": 2}}, label="tunable-hop-limit"),

    # node-ssh-restricted
    Case("node-ssh-restricted", True, mng(remoteAccess={"ec2SshKey": "ops"}), label="mng", covers=('CKV_AWS_100',)),
    Case("node-ssh-restricted", True,
         res(AWS_NG, "ng", {"clusterName": "c", "remoteAccess": {"ec2SshKey": "ops", "sourceSecurityGroupIds": []}}),
         label="aws-ng-empty-list"),
    Case("node-ssh-restricted", False, mng(remoteAccess={"ec2SshKey": "ops", "sourceSecurityGroupIds": ["sg-1"]}),
         label="mng-scoped", covers=('CKV_AWS_100',)),
    Case("node-ssh-restricted", False, mng(), label="no-ssh"),

    # encrypted-root-volumes
    Case("encrypted-root-volumes", True,
         lt(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50}}]), label="lt-unencrypted"),
    Case("encrypted-root-volumes", True, lt(blockDeviceMappings=None), contains="AMI", label="lt-no-mappings"),
    Case("encrypted-root-volumes", True, mng(launchTemplate=None), contains="not provably", label="mng-no-lt"),
    Case("encrypted-root-volumes", True, res(NGV2, "self", {"cluster": "c"}), label="self-managed-default"),
    Case("encrypted-root-volumes", True,
         res("aws:ec2/instance:Instance", "i", {"rootBlockDevice": {"encrypted": False}}), label="instance"),
    Case("encrypted-root-volumes", True,
         nodeclass(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi"}}]),
         label="nodeclass"),
    Case("encrypted-root-volumes", False, lt(), label="lt"),
    Case("encrypted-root-volumes", False, mng(), label="mng-with-lt"),
    Case("encrypted-root-volumes", False, res(NGV2, "self-enc", {"cluster": "c", "nodeRootVolumeEncrypted": True}),
         label="self-managed-encrypted"),
    Case("encrypted-root-volumes", False,
         nodeclass(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]), label="nodeclass"),

    # gpu-nodes-tainted: both taint spellings, AMI-type detection, Karpenter
    Case("gpu-nodes-tainted", True, mng("gpu", instanceTypes=["g5.xlarge"]), label="mng-untainted"),
    Case("gpu-nodes-tainted", True,
         mng("gpu-wrong-effect", instanceTypes=["p5.48xlarge"],
             taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]),
         label="mng-prefer-no-schedule"),
    Case("gpu-nodes-tainted", True, mng("gpu-ami", instanceTypes=[], amiType="AL2023_x86_64_NVIDIA"),
         label="gpu-ami"),
    Case("gpu-nodes-tainted", True, res(NGV2, "gpu-self", {"cluster": "c", "instanceType": "g6.2xlarge"}),
         label="self-managed"),
    Case("gpu-nodes-tainted", True, nodepool(requirements=GPU_FAMILIES), label="nodepool"),
    Case("gpu-nodes-tainted", True,
         nodepool("cat", requirements=[{"key": "karpenter.k8s.aws/instance-category", "operator": "In",
                                        "values": ["g"]}]), label="nodepool-by-category"),
    Case("gpu-nodes-tainted", False,
         mng("gpu-ok", instanceTypes=["g5.xlarge"],
             taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]), label="eks-spelling"),
    Case("gpu-nodes-tainted", False,
         res(NGV2, "gpu-self-ok", {"cluster": "c", "instanceType": "g6.2xlarge",
                                   "taints": {"nvidia.com/gpu": {"value": "true", "effect": "NoSchedule"}}}),
         label="k8s-spelling"),
    Case("gpu-nodes-tainted", False, mng(), label="cpu-group"),
    Case("gpu-nodes-tainted", False, nodepool(requirements=GPU_FAMILIES, taints=GPU_TAINT), label="nodepool"),
    Case("gpu-nodes-tainted", False,
         nodepool("cpu", requirements=[{"key": "karpenter.k8s.aws/instance-category", "operator": "In",
                                        "values": ["c", "m", "r"]}]), label="cpu-nodepool"),
]


import base64  # noqa: E402


def b64(text):
    return base64.b64encode(text.encode()).decode()


NODECONFIG_MIME = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: ml
  kubelet:
    config:
{config}
    flags:
{flags}

--BOUNDARY--
"""


def nodeconfig(config="      maxPods: 110", flags="      - --node-labels=pool=gpu"):
    return NODECONFIG_MIME.format(config=config, flags=flags)


AL2_SCRIPT = "#!/bin/bash\n/etc/eks/bootstrap.sh ml --kubelet-extra-args '{args}'\n"
KUBELET = tuple(f"CIS 3.2.{i}" for i in range(1, 10))

CASES += [
    Case("kubelet-config-hardened", True,
         lt(userData=b64(nodeconfig(config="      readOnlyPort: 10255\n      authentication:\n        anonymous:\n"
                                           "          enabled: true\n        x509:\n          clientCAFile: ''\n"
                                           "      authorization:\n        mode: AlwaysAllow"))),
         contains="CIS 3.2.4", label="nodeconfig-launch-template", covers=("CIS 3.2.1", "CIS 3.2.2", "CIS 3.2.3",
                                                                            "CIS 3.2.4")),
    Case("kubelet-config-hardened", True,
         lt(userData=b64(nodeconfig(config="      streamingConnectionIdleTimeout: 0s\n      makeIPTablesUtilChains: false\n"
                                           "      eventRecordQPS: 1\n      rotateCertificates: false\n"
                                           "      featureGates:\n        RotateKubeletServerCertificate: false"))),
         label="nodeconfig-more", covers=("CIS 3.2.5", "CIS 3.2.6", "CIS 3.2.7", "CIS 3.2.8", "CIS 3.2.9")),
    Case("kubelet-config-hardened", True,
         mng(kubeletExtraArgs="--anonymous-auth=true --read-only-port=10255"), contains="--read-only-port=10255",
         label="mng-kubelet-extra-args", covers=("CIS 3.2.1", "CIS 3.2.4")),
    Case("kubelet-config-hardened", True,
         res(NGV2, "ng", {"cluster": "c", "instanceType": "m6i.large", "nodeUserData": AL2_SCRIPT.format(
             args="--streaming-connection-idle-timeout=0 --make-iptables-util-chains=false")}),
         label="self-managed-script", covers=("CIS 3.2.5", "CIS 3.2.6")),
    Case("kubelet-config-hardened", True,
         nodeclass(userData=nodeconfig(flags="      - --rotate-certificates=false\n"
                                             "      - --feature-gates=RotateKubeletServerCertificate=false\n"
                                             "      - --event-qps=2\n      - --authorization-mode=AlwaysAllow")),
         contains="spec.userData", label="karpenter-nodeclass-flags",
         covers=("CIS 3.2.2", "CIS 3.2.7", "CIS 3.2.8", "CIS 3.2.9")),
    Case("kubelet-config-hardened", False, lt(userData=b64(nodeconfig())), label="nodeconfig-harmless",
         covers=KUBELET),
    Case("kubelet-config-hardened", False,
         mng(kubeletExtraArgs="--max-pods=110 --event-qps=0 --read-only-port=0"), label="mng-safe-args",
         covers=("CIS 3.2.4", "CIS 3.2.7")),
    Case("kubelet-config-hardened", False, lt(), label="no-user-data"),
    Case("kubelet-config-hardened", False,
         lt(userData=b64(nodeconfig(config="      eventRecordQPS: 2"))),
         config={"kubelet-config-hardened": {"minEventRecordQps": 1}}, label="tunable-qps"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_node_rules(case: Case) -> None:
    run_case(case)
