"""The one ``pulumi.runtime.Mocks`` implementation: used by the tests and the offline plan.

Every resource gets a deterministic, AWS-shaped ID and its inputs echoed back,
plus the computed outputs a real provider would add, from the per-type-token
table :data:`COMPUTED`. That table is also the one statement of which outputs
are *computed*: in a first preview (``fresh``) every key it adds that the
program did not set as an input is unknown, and the ID is unknown, exactly as
the engine reports a resource it has yet to create (see :func:`fresh_state`).
Invokes are answered from :data:`INVOKES`; an invoke
with no faithful answer fails loudly instead of returning ``{}``, because a
policy that reads an empty answer passes vacuously.

pulumi-eks components are expanded by a provider plugin that does not run
offline. Their resource-typed outputs (``eksCluster``, ``nodeGroup``, ...) are
answered with resource *references* to synthetic children that the monitor
knows by URN, so programs can still read ``cluster.eks_cluster.name``. Those
synthetic children are not part of the recorded plan: what pulumi-eks would
create is the provider's business, and the policy pack checks the component's
own inputs offline (and the real children under the engine).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import pulumi
from pulumi.runtime import rpc

# Signatures of the Pulumi wire format (sdk/go/common/resource/sig).
SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
#: The engine's unknown value on the wire (plugin.UnknownStringValue): what the SDK sends for an unknown
#: input during a preview, what a provider returns for an output it will only know after create, and what
#: analyzers receive in its place (the engine marshals every unknown with KeepUnknowns as this sentinel).
UNKNOWN = rpc.UNKNOWN

DEFAULT_REGION = "us-west-2"
DEFAULT_ACCOUNT = "123456789012"


def partition_for(region: str) -> str:
    """The ARN partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix_for(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass
class Ctx:
    """What a computed-outputs function may use about the resource being created."""

    type: str
    name: str
    inputs: dict
    id: str
    region: str
    account: str
    urn: str
    synthesize: Callable[[str, str, dict], dict]

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    def hex(self, n: int, salt: str = "") -> str:
        return _digest(self.type, self.name, salt)[:n]

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    def physical_name(self, key: str = "name", prefix_key: str = "namePrefix", *, lower: bool = False) -> str:
        """The name AWS would see: the input, else Pulumi's auto-name (logical name + 7 hex)."""
        given = self.inputs.get(key)
        if given:
            return given
        prefix = self.inputs.get(prefix_key)
        name = f"{prefix}{self.hex(7, 'prefix')}" if prefix else f"{self.name}-{self.hex(7, 'auto')}"
        return name.lower() if lower else name

    def ref(self, type_: str, name: str, outputs: Optional[dict] = None) -> dict:
        """A reference to a synthetic child the (missing) provider would have created."""
        return self.synthesize(type_, name, outputs or {})


# --------------------------------------------------------------------------- IDs

_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": "vpc-cidr-assoc-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/placementGroup:PlacementGroup": "pg-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule-",
    "aws:efs/fileSystem:FileSystem": "fs-",
    "aws:efs/mountTarget:MountTarget": "fsmt-",
    "aws:efs/accessPoint:AccessPoint": "fsap-",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "fs-",
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": "dra-",
    "aws:fsx/ontapFileSystem:OntapFileSystem": "fs-",
}


def fake_id(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    """A deterministic ID in the shape AWS (or the provider) uses for this type."""
    h = _digest(type_, name)
    if type_ in _ID_PREFIX:
        return _ID_PREFIX[type_] + h[:17]
    if type_ == "aws:kms/key:Key":
        return str(uuid.UUID(h[:32]))
    if type_.startswith("kubernetes:"):
        meta = inputs.get("metadata") or {}
        nm = meta.get("name") or f"{name}-{h[:8]}"
        ns = meta.get("namespace")
        if type_.startswith("kubernetes:helm.sh/"):
            nm = inputs.get("name") or f"{name}-{h[:8]}"
            ns = inputs.get("namespace") or "default"
        return f"{ns}/{nm}" if ns else nm
    if type_.startswith("pulumi:providers:"):
        return str(uuid.UUID(h[:32]))
    return f"{name}-{h[:7]}"


# --------------------------------------------------------------------------- computed outputs


def _role(c: Ctx) -> dict:
    name = c.physical_name()
    path = c.inputs.get("path") or "/"
    return {
        "id": name,
        "name": name,
        "arn": c.arn("iam", f"role{path}{name}", region=False),
        "uniqueId": "AROA" + c.hex(17).upper(),
        "createDate": "2026-01-01T00:00:00Z",
        "path": path,
    }


def _policy(c: Ctx) -> dict:
    name = c.physical_name()
    path = c.inputs.get("path") or "/"
    arn = c.arn("iam", f"policy{path}{name}", region=False)
    return {
        "id": arn,
        "name": name,
        "arn": arn,
        "policyId": "ANPA" + c.hex(17).upper(),
        "path": path,
    }


def _oidc_issuer(region: str, cluster: str) -> str:
    return f"https://oidc.eks.{region}.amazonaws.com/id/{_digest('oidc', cluster)[:32].upper()}"


def _eks_endpoint(region: str, cluster: str) -> str:
    return f"https://{_digest('endpoint', cluster)[:32].upper()}.gr7.{region}.eks.amazonaws.com"


_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBofflineplan\n-----END CERTIFICATE-----\n").decode()


def _kubeconfig(cluster: str, endpoint: str, region: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint, "certificate-authority-data": _FAKE_CA}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "preferences": {},
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster, "--output", "json"],
                        "env": [{"name": "KUBERNETES_EXEC_INFO", "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}'}],
                    }
                },
            }
        ],
    }


def _eks_component(c: Ctx) -> dict:
    cluster = c.inputs.get("name") or f"{c.name}-eksCluster-{c.hex(7)}"
    endpoint = _eks_endpoint(c.region, cluster)
    issuer = _oidc_issuer(c.region, cluster)
    bare = issuer[len("https://"):]
    oidc_arn = c.arn("iam", f"oidc-provider/{bare}", region=False)
    cluster_sg = "sg-" + c.hex(17, "clustersg")
    node_sg = "sg-" + c.hex(17, "nodesg")
    eks_sg = "sg-" + c.hex(17, "ekssg")
    vpc_cfg = {
        "clusterSecurityGroupId": eks_sg,
        "endpointPrivateAccess": bool(c.inputs.get("endpointPrivateAccess", False)),
        "endpointPublicAccess": bool(c.inputs.get("endpointPublicAccess", True)),
        "publicAccessCidrs": c.inputs.get("publicAccessCidrs") or ["0.0.0.0/0"],
        "subnetIds": c.inputs.get("subnetIds") or [],
        "securityGroupIds": [cluster_sg],
        "vpcId": c.inputs.get("vpcId", ""),
    }
    eks_cluster = c.ref(
        "aws:eks/cluster:Cluster",
        f"{c.name}-eksCluster",
        {
            "name": cluster,
            "arn": c.arn("eks", f"cluster/{cluster}"),
            "endpoint": endpoint,
            "version": c.inputs.get("version") or "",
            "certificateAuthority": {"data": _FAKE_CA},
            "identities": [{"oidcs": [{"issuer": issuer}]}],
            "vpcConfig": vpc_cfg,
            "status": "ACTIVE",
            "platformVersion": "eks.1",
        },
    )
    role = c.ref("aws:iam/role:Role", f"{c.name}-eksRole", {"name": f"{c.name}-eksRole-{c.hex(7, 'role')}",
                 "arn": c.arn("iam", f"role/{c.name}-eksRole-{c.hex(7, 'role')}", region=False)})
    sg_ref = c.ref("aws:ec2/securityGroup:SecurityGroup", f"{c.name}-eksClusterSecurityGroup", {"id": cluster_sg})
    node_sg_ref = c.ref("aws:ec2/securityGroup:SecurityGroup", f"{c.name}-nodeSecurityGroup", {"id": node_sg})
    oidc = c.ref("aws:iam/openIdConnectProvider:OpenIdConnectProvider", f"{c.name}-oidcProvider",
                 {"arn": oidc_arn, "url": issuer, "clientIdLists": ["sts.amazonaws.com"]})
    kubeconfig = _kubeconfig(cluster, endpoint, c.region)
    k8s_provider = c.ref("pulumi:providers:kubernetes", f"{c.name}-provider", {"kubeconfig": json.dumps(kubeconfig)})
    return {
        "eksCluster": eks_cluster,
        "clusterSecurityGroup": sg_ref,
        "nodeSecurityGroup": node_sg_ref,
        "clusterSecurityGroupId": cluster_sg,
        "nodeSecurityGroupId": node_sg,
        "clusterIngressRuleId": "sgrule-" + c.hex(10, "ingress"),
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcProviderArn": oidc_arn,
        "oidcProviderUrl": issuer,
        "oidcIssuer": bare,
        "instanceRoles": [],
        "core": {
            "cluster": eks_cluster,
            "clusterIamRole": role,
            "endpoint": endpoint,
            "instanceRoles": [],
            "nodeGroupOptions": {},
            "provider": k8s_provider,
            "subnetIds": c.inputs.get("subnetIds") or [],
            "vpcId": c.inputs.get("vpcId", ""),
            "privateSubnetIds": c.inputs.get("privateSubnetIds") or [],
            "publicSubnetIds": c.inputs.get("publicSubnetIds") or [],
            "oidcProvider": oidc,
            "clusterSecurityGroup": sg_ref,
            "kubeconfig": kubeconfig,
            "tags": c.inputs.get("tags") or {},
        },
    }


def _managed_node_group(c: Ctx) -> dict:
    ng_name = c.inputs.get("nodeGroupName") or f"{c.name}-{c.hex(7)}"
    asg = f"eks-{ng_name}-{str(uuid.UUID(c.hex(32)))}"
    return {
        "nodeGroup": c.ref(
            "aws:eks/nodeGroup:NodeGroup",
            c.name,
            {
                "nodeGroupName": ng_name,
                "arn": c.arn("eks", f"nodegroup/{c.inputs.get('clusterName', 'cluster')}/{ng_name}/{c.hex(8)}"),
                "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}],
                "status": "ACTIVE",
            },
        ),
        "placementGroupName": f"{c.name}-pg" if c.inputs.get("enableEfaSupport") else "",
    }


def _node_group_v2(c: Ctx) -> dict:
    sg = "sg-" + c.hex(17, "nodesg")
    return {
        "autoScalingGroup": c.ref("aws:autoscaling/group:Group", c.name, {"name": f"{c.name}-{c.hex(7)}"}),
        "nodeSecurityGroup": c.ref("aws:ec2/securityGroup:SecurityGroup", f"{c.name}-nodeSecurityGroup", {"id": sg}),
        "nodeSecurityGroupId": sg,
        "extraNodeSecurityGroups": [],
    }


def _k8s_object(c: Ctx) -> dict:
    meta = dict(c.inputs.get("metadata") or {})
    meta.setdefault("name", c.id.split("/")[-1])
    meta.update(
        uid=str(uuid.UUID(c.hex(32, "uid"))),
        resourceVersion="1",
        generation=1,
        creationTimestamp="2026-01-01T00:00:00Z",
    )
    out: dict = {"metadata": meta}
    kind = c.type.rsplit(":", 1)[-1]
    spec = c.inputs.get("spec") or {}
    if (kind == "Service" and spec.get("type") == "LoadBalancer") or kind == "Ingress":
        internal = "internal-" if _is_internal(meta.get("annotations") or {}) else ""
        host = f"{internal}k8s-{meta['name'][:8]}-{c.hex(10)}.elb.{c.region}.amazonaws.com"
        out["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
    return out


def _is_internal(annotations: Mapping[str, str]) -> bool:
    return (
        annotations.get("alb.ingress.kubernetes.io/scheme") == "internal"
        or annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal"
    )


def _helm_release(c: Ctx) -> dict:
    name = c.inputs.get("name") or f"{c.name}-{c.hex(8)}"
    return {
        "name": name,
        "status": {
            "name": name,
            "namespace": c.inputs.get("namespace") or "default",
            "chart": c.inputs.get("chart", ""),
            "version": c.inputs.get("version", ""),
            "appVersion": "",
            "status": "deployed",
            "revision": 1,
        },
    }


def _simple_arn(service: str, fmt: str, *, region: bool = True) -> Callable[[Ctx], dict]:
    def compute(c: Ctx) -> dict:
        return {"arn": c.arn(service, fmt.format(id=c.id, name=c.name), region=region)}

    return compute


def _log_group(c: Ctx) -> dict:
    name = c.physical_name()
    return {"id": name, "name": name, "arn": c.arn("logs", f"log-group:{name}")}


def _kms_key(c: Ctx) -> dict:
    return {"keyId": c.id, "arn": c.arn("kms", f"key/{c.id}")}


def _bucket(c: Ctx) -> dict:
    name = c.physical_name("bucket", "bucketPrefix", lower=True)
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:{c.partition}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.{dns_suffix_for(c.partition)}",
        "bucketRegionalDomainName": f"{name}.s3.{c.region}.{dns_suffix_for(c.partition)}",
        "region": c.region,
        "hostedZoneId": "Z3BJ6K6RIION7M",
    }


def _queue(c: Ctx) -> dict:
    name = c.physical_name()
    url = f"https://sqs.{c.region}.{dns_suffix_for(c.partition)}/{c.account}/{name}"
    return {"id": url, "name": name, "arn": c.arn("sqs", name), "url": url}


def _efs(c: Ctx) -> dict:
    return {
        "arn": c.arn("elasticfilesystem", f"file-system/{c.id}"),
        "dnsName": f"{c.id}.efs.{c.region}.{dns_suffix_for(c.partition)}",
        "sizeInBytes": [{"value": 6144}],
        "ownerId": c.account,
    }


def _lustre(c: Ctx) -> dict:
    return {
        "arn": c.arn("fsx", f"file-system/{c.id}"),
        "dnsName": f"{c.id}.fsx.{c.region}.{dns_suffix_for(c.partition)}",
        "mountName": c.hex(8, "mount"),
        "networkInterfaceIds": ["eni-" + c.hex(17, "eni")],
        "ownerId": c.account,
    }


def _eks_cluster(c: Ctx) -> dict:
    name = c.physical_name()
    return {
        "id": name,
        "name": name,
        "arn": c.arn("eks", f"cluster/{name}"),
        "endpoint": _eks_endpoint(c.region, name),
        "certificateAuthority": {"data": _FAKE_CA},
        "identities": [{"oidcs": [{"issuer": _oidc_issuer(c.region, name)}]}],
        "vpcConfig": {**(c.inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": "sg-" + c.hex(17, "ekssg")},
        "status": "ACTIVE",
    }


def _eip(c: Ctx) -> dict:
    n = int(c.hex(2), 16)
    return {"allocationId": c.id, "publicIp": f"203.0.113.{n % 254 + 1}", "domain": "vpc"}


def _subnet(c: Ctx) -> dict:
    az = c.inputs.get("availabilityZone", "")
    return {"arn": c.arn("ec2", f"subnet/{c.id}"), "ownerId": c.account,
            "availabilityZoneId": f"usw2-az{(ord(az[-1]) - 96) if az else 1}"}


def _vpc(c: Ctx) -> dict:
    return {
        "arn": c.arn("ec2", f"vpc/{c.id}"),
        "ownerId": c.account,
        "defaultSecurityGroupId": "sg-" + c.hex(17, "default"),
        "defaultNetworkAclId": "acl-" + c.hex(17, "acl"),
        "defaultRouteTableId": "rtb-" + c.hex(17, "main"),
        "mainRouteTableId": "rtb-" + c.hex(17, "main"),
    }


def _oidc_provider(c: Ctx) -> dict:
    url = c.inputs.get("url", "")
    bare = url.split("://", 1)[-1]
    return {"arn": c.arn("iam", f"oidc-provider/{bare}", region=False)}


#: Computed outputs per type token, added on top of the echoed inputs.
COMPUTED: Mapping[str, Callable[[Ctx], dict]] = {
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:iam/instanceProfile:InstanceProfile": lambda c: {
        "name": c.physical_name(), "arn": c.arn("iam", f"instance-profile/{c.physical_name()}", region=False)},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": lambda c: {"arn": c.arn("kms", c.inputs.get("name", c.name))},
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/eventRule:EventRule": lambda c: {
        "name": c.physical_name(), "arn": c.arn("events", f"rule/{c.physical_name()}")},
    "aws:sqs/queue:Queue": _queue,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/securityGroup:SecurityGroup": lambda c: {
        "arn": c.arn("ec2", f"security-group/{c.id}"), "ownerId": c.account, "name": c.physical_name()},
    "aws:ec2/internetGateway:InternetGateway": _simple_arn("ec2", "internet-gateway/{id}"),
    "aws:ec2/natGateway:NatGateway": lambda c: {"publicIp": "", "privateIp": "10.0.0.10",
                                                "networkInterfaceId": "eni-" + c.hex(17)},
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/routeTable:RouteTable": _simple_arn("ec2", "route-table/{id}"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": lambda c: {"arn": c.arn("ec2", f"vpc-endpoint/{c.id}"),
                                                  "prefixListId": "pl-" + c.hex(8), "state": "available"},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda c: {"arn": c.arn("ec2", f"launch-template/{c.id}"),
                                                        "latestVersion": 1, "defaultVersion": 1,
                                                        "name": c.physical_name()},
    "aws:ec2/flowLog:FlowLog": _simple_arn("ec2", "vpc-flow-log/{id}"),
    "aws:ec2/placementGroup:PlacementGroup": lambda c: {"arn": c.arn("ec2", f"placement-group/{c.physical_name()}"),
                                                        "placementGroupId": c.id, "name": c.physical_name()},
    "aws:efs/fileSystem:FileSystem": _efs,
    "aws:efs/mountTarget:MountTarget": lambda c: {"ipAddress": "10.0.32.10", "networkInterfaceId": "eni-" + c.hex(17),
                                                  "fileSystemArn": c.arn("elasticfilesystem", "file-system/fs-x")},
    "aws:efs/accessPoint:AccessPoint": _simple_arn("elasticfilesystem", "access-point/{id}"),
    "aws:fsx/lustreFileSystem:LustreFileSystem": _lustre,
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": lambda c: {
        "arn": c.arn("fsx", f"association/fs-x/{c.id}"), "associationId": c.id},
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/addon:Addon": lambda c: {"arn": c.arn("eks", f"addon/{c.inputs.get('clusterName')}/{c.inputs.get('addonName')}/{c.hex(8)}")},
    "aws:eks/accessEntry:AccessEntry": lambda c: {
        "accessEntryArn": c.arn("eks", f"access-entry/{c.inputs.get('clusterName')}/role/{c.hex(8)}"),
        "kubernetesGroups": c.inputs.get("kubernetesGroups") or [], "type": c.inputs.get("type") or "STANDARD"},
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": lambda c: {
        "associationArn": c.arn("eks", f"podidentityassociation/{c.inputs.get('clusterName')}/a-{c.hex(17)}"),
        "associationId": f"a-{c.hex(17)}"},
    "aws:eks/fargateProfile:FargateProfile": lambda c: {
        "arn": c.arn("eks", f"fargateprofile/{c.inputs.get('clusterName')}/{c.inputs.get('fargateProfileName', c.name)}/{c.hex(8)}"),
        "status": "ACTIVE"},
    "eks:index:Cluster": _eks_component,
    "eks:index:ManagedNodeGroup": _managed_node_group,
    "eks:index:NodeGroupV2": _node_group_v2,
    "kubernetes:helm.sh/v3:Release": _helm_release,
}


def computed_outputs(ctx: Ctx) -> dict:
    if ctx.type in COMPUTED:
        return COMPUTED[ctx.type](ctx)
    if ctx.type.startswith("kubernetes:") and not ctx.type.startswith("kubernetes:helm.sh"):
        return _k8s_object(ctx)
    return {}


def fresh_state(inputs: Mapping[str, Any], computed: Mapping[str, Any]) -> dict:
    """The outputs of a resource a preview is about to create: inputs known, computed outputs unknown.

    A provider previewing a create returns the inputs it was given and marks every
    output it computes itself as unknown. Here "computed" is what :data:`COMPUTED`
    adds: a key the program set keeps the program's value (objects merge key by
    key, e.g. a Kubernetes object's ``metadata`` keeps its name and labels and
    loses ``uid``), every other key is :data:`UNKNOWN`.
    """
    out = dict(inputs)
    for key, value in computed.items():
        if key == "id":
            continue  # the ID travels separately (and is unknown too)
        given = inputs.get(key)
        if key not in inputs or given is None:
            out[key] = UNKNOWN
        elif isinstance(value, Mapping) and isinstance(given, Mapping):
            out[key] = fresh_state(given, value)
    return out


# --------------------------------------------------------------------------- invokes


def _one_or_list(values: list) -> Any:
    """The AWS provider renders one value as a string and several as a reverse-sorted list."""
    values = list(values or [])
    if len(values) == 1:
        return values[0]
    return sorted(values, reverse=True)


def render_policy_document(args: Mapping[str, Any]) -> dict:
    """Render ``aws.iam.getPolicyDocument`` arguments the way the AWS provider does."""
    doc: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        doc["Id"] = args["policyId"]
    statements = []
    for src in args.get("sourcePolicyDocuments") or []:
        statements.extend(json.loads(src).get("Statement", []))
    for st in args.get("statements") or []:
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect") or "Allow"
        for key, name in (("actions", "Action"), ("notActions", "NotAction"),
                          ("resources", "Resource"), ("notResources", "NotResource")):
            if st.get(key):
                out[name] = _one_or_list(st[key])
        for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            principals = st.get(key) or []
            if principals:
                if len(principals) == 1 and principals[0].get("type") == "*":
                    out[name] = "*"
                else:
                    merged: dict[str, list] = {}
                    for p in principals:
                        merged.setdefault(p["type"], []).extend(p.get("identifiers") or [])
                    out[name] = {t: _one_or_list(ids) for t, ids in merged.items()}
        conditions = st.get("conditions") or []
        if conditions:
            cond: dict[str, dict[str, list]] = {}
            for cnd in conditions:
                cond.setdefault(cnd["test"], {}).setdefault(cnd["variable"], []).extend(cnd.get("values") or [])
            out["Condition"] = {t: {v: _one_or_list(vals) for v, vals in vs.items()} for t, vs in cond.items()}
        statements.append(out)
    doc["Statement"] = statements
    return doc


def _policy_document(args: Mapping[str, Any], _m: "PlatformMocks") -> dict:
    doc = render_policy_document(args)
    text = json.dumps(doc, indent=2)
    return {"json": text, "minifiedJson": json.dumps(doc, separators=(",", ":")),
            "id": str(int(_digest(text)[:8], 16))}


def _azs(args: Mapping[str, Any], m: "PlatformMocks") -> dict:
    from components.planning import regions

    # As many zones as the region really has (dated table in components/planning/regions.py), so a plan
    # asking for more AZs than exist fails offline as it would in AWS.
    letters = "abcdefgh"[: regions.az_count(m.region)]
    names = [f"{m.region}{x}" for x in letters]
    prefix = "".join(w[0] for w in m.region.split("-")[:-1]) + m.region.split("-")[-1]
    return {"names": names, "zoneIds": [f"{prefix}-az{i + 1}" for i in range(len(names))],
            "groupNames": [m.region], "id": m.region, "state": args.get("state") or "available"}


def _caller(_args: Mapping[str, Any], m: "PlatformMocks") -> dict:
    return {"accountId": m.account, "arn": f"arn:{m.partition}:iam::{m.account}:user/offline-plan",
            "userId": "AIDAOFFLINEPLAN", "id": m.account}


def _ssm_parameter(args: Mapping[str, Any], m: "PlatformMocks") -> dict:
    name = args.get("name", "")
    value = "ami-" + _digest("ssm", name)[:17] if "/ami" in name or "image_id" in name else f"offline-{_digest(name)[:8]}"
    return {"name": name, "value": value, "insecureValue": value, "type": "String", "version": 1,
            "arn": f"arn:{m.partition}:ssm:{m.region}::parameter{name if name.startswith('/') else '/' + name}",
            "id": name, "withDecryption": True}


def _yaml_decode(args: Mapping[str, Any], _m: "PlatformMocks") -> dict:
    import yaml

    docs = [d for d in yaml.safe_load_all(args.get("text") or "") if d]
    return {"result": docs}


def _addon_version(args: Mapping[str, Any], _m: "PlatformMocks") -> dict:
    from components import versions

    v = versions.addon_version(args["addonName"], args["kubernetesVersion"])
    return {"version": v, "addonName": args["addonName"], "kubernetesVersion": args["kubernetesVersion"],
            "id": args["addonName"], "mostRecent": bool(args.get("mostRecent"))}


def _read_stack_outputs(args: Mapping[str, Any], m: "PlatformMocks") -> dict:
    """The engine's ``readStackReference``: the named stack's last outputs from its state.

    The stack being planned always exists: with no recorded outputs it is a
    stack that was never deployed, whose state has no root resource, and the
    engine answers ``{}``. Any other stack must have been given (the engine
    fails with "unknown stack" otherwise).
    """
    name = str(args.get("name") or "")
    if name in m.stacks:
        outputs = dict(m.stacks[name])
    elif name == m.own_stack:
        outputs = {}
    else:
        raise OfflineInvokeError(f"unknown stack {name!r}")
    return {"name": name, "outputs": outputs, "secretOutputNames": []}


INVOKES: Mapping[str, Callable[[Mapping[str, Any], "PlatformMocks"], dict]] = {
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _azs,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller,
    "aws:index/getPartition:getPartition": lambda _a, m: {
        "partition": m.partition, "dnsSuffix": dns_suffix_for(m.partition), "id": m.partition,
        "reverseDnsPrefix": "com.amazonaws"},
    "aws:index/getRegion:getRegion": lambda _a, m: {
        "name": m.region, "region": m.region, "id": m.region, "description": m.region,
        "endpoint": f"ec2.{m.region}.{dns_suffix_for(m.partition)}"},
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:eks/getAddonVersion:getAddonVersion": _addon_version,
    "kubernetes:yaml:decode": _yaml_decode,
    "pulumi:pulumi:readStackOutputs": _read_stack_outputs,
}


def _sentinels(v: Any) -> Any:
    """The SDK's deserialized unknowns (``Unknown`` objects in a dry run) as the wire sentinel."""
    if isinstance(v, Mapping):
        return {k: _sentinels(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_sentinels(x) for x in v]
    return UNKNOWN if rpc.contains_unknowns(v) else v


class OfflineInvokeError(RuntimeError):
    """The program made an invoke the offline plan cannot answer faithfully."""


# --------------------------------------------------------------------------- the Mocks


@dataclass
class PlatformMocks(pulumi.runtime.Mocks):
    """Deterministic AWS/Kubernetes-shaped answers for the Pulumi mock runtime."""

    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    #: Model a first preview: resources do not exist yet, so their computed outputs and IDs are unknown.
    fresh: bool = False
    #: Fully qualified name (``organization/project/stack``) of the stack being run.
    own_stack: str = ""
    #: Last recorded outputs of stacks by fully qualified name (the state a stack reference reads).
    stacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Set by the recording monitor so pulumi-eks outputs can reference synthetic children.
    synthesize: Optional[Callable[[str, str, str, dict], dict]] = field(default=None, repr=False)

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        inputs = dict(args.inputs or {})
        urn = getattr(args, "urn", "") or f"urn:pulumi:offline::offline::{args.typ}::{args.name}"
        if args.resource_id:  # a read/get of an existing resource keeps its ID
            rid = args.resource_id
        elif args.custom is False:
            rid = ""  # components have no ID
        else:
            rid = fake_id(args.typ, args.name, inputs)

        def synth(type_: str, name: str, outputs: dict) -> dict:
            if self.synthesize is None:
                raise OfflineInvokeError(
                    f"{args.typ} returns resource references; run it under automation.offline.runner"
                )
            return self.synthesize(urn, type_, name, outputs)

        if args.typ == "pulumi:pulumi:StackReference":
            # A stack reference reads the named stack's state, exactly as the readStackOutputs invoke does.
            return rid, {**inputs, **_read_stack_outputs({"name": inputs.get("name") or rid}, self)}
        ctx = Ctx(args.typ, args.name, inputs, rid, self.region, self.account, urn, synth)
        computed = computed_outputs(ctx)
        if self.fresh and not args.resource_id:
            # Not created yet. Providers get the engine's unknown ID; other resources an empty one, which is
            # how providers previewing a create answer (the SDK reads "" as unknown).
            rid = UNKNOWN if args.typ.startswith("pulumi:providers:") else ""
            return rid, fresh_state(inputs, computed)
        # Some providers use the physical name (or ARN, or URL) as the ID; their table entry says so.
        rid = computed.pop("id", rid) if rid else rid
        state = {**inputs, **computed}
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        handler = INVOKES.get(args.token)
        if handler is None:
            raise OfflineInvokeError(
                f"the offline plan has no faithful answer for invoke {args.token}; add one to automation/offline/mocks.py"
            )
        if rpc.contains_unknowns(args.args or {}):
            # A preview cannot answer an invoke over an unknown argument: the result is unknown as a whole.
            # (The recording monitor answers these itself; this covers the stock MockMonitor.) The answer keeps
            # its shape, every value unknown, so the SDK's typed result is unknown rather than empty.
            shape = handler(_sentinels(args.args), self)
            return {k: UNKNOWN for k in shape}
        return handler(args.args or {}, self)
