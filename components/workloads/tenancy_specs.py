"""Team namespace objects as plain dicts: labels, quota, limits, network isolation, RBAC, shared volumes.

No Pulumi here; :class:`components.workloads.tenancy.TeamNamespace` turns these
into resources. Kept apart so the guard rails (no RBAC wildcards, a real
default-deny, quota on GPUs) are tested as data.
"""

from __future__ import annotations

from typing import Optional, Sequence

from components.config import TeamConfig
from components.workloads import pods

PSA = "pod-security.kubernetes.io"
DEFAULT_DENY = "default-deny"
EFS_CLAIM = "shared-efs"
FSX_CLAIM = "shared-fsx"
#: Shared file systems are not provisioned per claim (EFS is elastic, the FSx volume is static), so the
#: claim requests a nominal size: the team's requests.storage quota then counts real block storage only.
SHARED_CLAIM_REQUEST = "1Gi"
#: EKS Pod Identity agent: pods fetch AWS credentials from this link-local address on their node.
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
#: EC2 instance metadata. Nodes already cap IMDS at one hop; the egress rule excludes it too.
IMDS_CIDR = "169.254.169.254/32"


def namespace_labels(team: str, level: str) -> dict:
    """Team label plus Pod Security Admission labels.

    ``enforce`` is ``restricted`` unless the team is configured ``baseline``: EFA
    workloads need the IPC_LOCK capability to pin memory for RDMA, which the
    restricted profile forbids (it allows adding only NET_BIND_SERVICE).
    ``audit`` and ``warn`` stay ``restricted`` so baseline teams still see what
    they would violate.
    """
    if level not in ("restricted", "baseline"):
        raise ValueError(f"pod security level must be restricted or baseline; got {level!r}")
    return {
        pods.TEAM_LABEL: team,
        **pods.PART_OF,
        f"{PSA}/enforce": level,
        f"{PSA}/enforce-version": "latest",
        f"{PSA}/audit": "restricted",
        f"{PSA}/warn": "restricted",
    }


def resource_quota(cfg: TeamConfig) -> dict:
    """Hard caps on what the team may request (GPUs included) and on its volume claims."""
    return {"hard": {
        "requests.cpu": cfg.cpu,
        "limits.cpu": cfg.cpu,
        "requests.memory": cfg.memory,
        "limits.memory": cfg.memory,
        # Extended resources are quota'd on requests only (requests must equal limits for them).
        "requests.nvidia.com/gpu": str(cfg.gpu),
        "persistentvolumeclaims": str(cfg.pvcs),
        "requests.storage": cfg.storage,
    }}


def limit_range(cfg: TeamConfig) -> dict:
    """Defaults for containers that state no resources, so the quota above can always be computed."""
    return {"limits": [{
        "type": "Container",
        "default": {"cpu": cfg.defaultCpuLimit, "memory": cfg.defaultMemoryLimit},
        "defaultRequest": {"cpu": cfg.defaultCpuRequest, "memory": cfg.defaultMemoryRequest},
    }]}


def network_policies(*, serving_ports: Sequence[int] = (), ingress_cidrs: Sequence[str] = (),
                     pod_identity: bool = True) -> dict[str, dict]:
    """NetworkPolicy specs by name. Default deny first; every other policy only adds what is needed.

    * DNS: egress to CoreDNS in kube-system only.
    * Same namespace: distributed training (NCCL/Gloo rendezvous) and in-team clients.
    * AWS APIs: egress on 443. NetworkPolicy cannot name hosts, so this is any
      address on 443 except instance metadata; S3, STS and ECR are reached there
      (or through the VPC endpoints, which are inside the VPC range).
    * Pod Identity: the agent on the node at 169.254.170.23:80 hands out credentials.
    * Load balancer: the AWS Load Balancer Controller registers pod IPs as targets
      (target-type ip), so traffic arrives from the load balancer's ENIs, which
      sit in the VPC's subnets; kubelet probes come from node IPs in the same
      range. Only the serving ports are opened, only from the VPC (and pod)
      CIDRs, never from the internet directly.
    """
    everything: dict = {}
    out: dict[str, dict] = {
        DEFAULT_DENY: {"podSelector": everything, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        "allow-aws-apis": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [IMDS_CIDR]}}],
                        "ports": [{"protocol": "TCP", "port": 443}]}],
        },
    }
    if pod_identity:
        out["allow-pod-identity-agent"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}],
                        "ports": [{"protocol": "TCP", "port": 80}]}],
        }
    if serving_ports and ingress_cidrs:
        out["allow-load-balancer"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"ipBlock": {"cidr": c}} for c in ingress_cidrs],
                "ports": [{"protocol": "TCP", "port": p} for p in sorted(set(serving_ports))],
            }],
        }
    return out


_RW = ["get", "list", "watch", "create", "update", "patch", "delete"]
_RO = ["get", "list", "watch"]


def team_role_rules(*, legacy_training: bool = True) -> list[dict]:
    """The team developer Role: explicit groups, resources and verbs; nothing cluster-wide.

    Not granted, on purpose: wildcards; ``pods/exec``, ``pods/attach``,
    ``pods/portforward`` (a shell in a pod holding the team's AWS role is a
    credential export); ``secrets`` (credentials arrive through workload
    identity, not Secrets); ``serviceaccounts`` writes, ``roles``/``rolebindings``
    (the platform owns identity and RBAC); ``networkpolicies``, ``resourcequotas``,
    ``limitranges`` (the guard rails themselves); and Ingress/LoadBalancer
    writes (exposure is reviewed platform config).
    """
    rules = [
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": _RW},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": _RO},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _RW},
        {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"], "verbs": _RW},
        {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainingruntimes"], "verbs": _RO},
        {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": _RO},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["services", "configmaps", "persistentvolumeclaims"], "verbs": _RW},
        {"apiGroups": [""], "resources": ["events", "serviceaccounts", "resourcequotas", "limitranges"],
         "verbs": _RO},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": _RO},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": _RW},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _RW},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": _RO},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues", "workloads"], "verbs": _RO},
    ]
    if legacy_training:
        rules.insert(4, {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": _RW})
    return rules


def efs_claim(namespace: str, storage_class: str) -> dict:
    return {
        "metadata": {"name": EFS_CLAIM, "namespace": namespace, "labels": pods.labels(EFS_CLAIM, namespace),
                     # Whether the class binds immediately is the storage layer's choice; never hold the
                     # deployment hostage to it (Pulumi would otherwise wait for Bound).
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": SHARED_CLAIM_REQUEST}}},
    }


def fsx_volume(namespace: str, file_system_id, dns_name, mount_name, capacity_gib: int) -> dict:
    """A static PV for the shared FSx for Lustre file system, reserved for this team's claim.

    ``claimRef`` pins the PV to exactly one claim so another namespace cannot
    bind it; ``Retain`` because the file system outlives any claim.
    """
    return {
        "metadata": {"name": f"{namespace}-fsx", "labels": pods.labels(FSX_CLAIM, namespace)},
        "spec": {
            "capacity": {"storage": f"{capacity_gib}Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "mountOptions": ["flock"],
            "claimRef": {"namespace": namespace, "name": FSX_CLAIM},
            "csi": {
                "driver": "fsx.csi.aws.com",
                "volumeHandle": file_system_id,
                "volumeAttributes": {"dnsname": dns_name, "mountname": mount_name},
            },
        },
    }


def fsx_claim(namespace: str, volume_name: str) -> dict:
    return {
        "metadata": {"name": FSX_CLAIM, "namespace": namespace, "labels": pods.labels(FSX_CLAIM, namespace)},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": volume_name,
                 "resources": {"requests": {"storage": SHARED_CLAIM_REQUEST}}},
    }


def ingress_cidrs(vpc_cidr: str, pod_cidr: Optional[str]) -> list[str]:
    return [c for c in (vpc_cidr, pod_cidr) if c]
