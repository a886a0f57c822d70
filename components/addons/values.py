"""Helm values and EKS add-on configuration for the add-ons, as pure functions.

Arguments may be plain values or ``pulumi.Input``s (a role ARN, a VPC ID): the
functions only place them, so tests call them with strings and no Pulumi.

Placement follows one rule: controllers run on the system pool
(``conventions.SYSTEM_NODE_SELECTOR``); per-node daemons that GPU nodes need
tolerate the GPU taint. Pods cannot reach the instance metadata service
(launch templates set IMDSv2 with hop limit 1), so every controller that would
otherwise read its region or VPC from IMDS is given them explicitly.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from components import conventions as cv

#: Service accounts, fixed here because the IRSA trust and the Pod Identity association name them.
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EFS_CSI_SERVICE_ACCOUNT = "efs-csi-controller-sa"
FSX_CSI_SERVICE_ACCOUNT = "fsx-csi-controller-sa"

#: The IngressClass the platform provides; Ingresses name it in ``ingressClassName``.
ALB_INGRESS_CLASS = "alb"
ALB_CONTROLLER = "ingress.k8s.aws/alb"


def _sa(name: str, annotations: Any) -> dict:
    return {"create": True, "name": name, "annotations": annotations}


def _system() -> dict:
    return dict(cv.SYSTEM_NODE_SELECTOR)


# --------------------------------------------------------------------------- load balancing


def lb_controller_values(*, cluster_name: Any, region: Any, vpc_id: Any, sa_annotations: Any,
                         default_tags: Mapping[str, str], replicas: int = 2) -> dict:
    """AWS Load Balancer Controller.

    * No IngressClass from the chart: the platform creates ``alb`` itself, so
      it is an explicit, policy-checked object.
    * No IngressClassParams: a ``scheme`` there would forbid any Ingress from
      opting out. Load balancers are internal because the controller's default
      scheme (Ingress ``alb.ingress.kubernetes.io/scheme`` and Service
      ``service.beta.kubernetes.io/aws-load-balancer-scheme``) is ``internal``;
      a workload asks for ``internet-facing`` explicitly.
    * The Service mutator stays on so that LoadBalancer Services go to this
      controller (internal NLB) rather than the legacy in-tree controller
      (internet-facing CLB). Its failure policy is ``Ignore``: with ``Fail``,
      every Service created anywhere in the cluster while the controller is not
      ready (e.g. by add-ons installing in parallel on the first deploy) is
      rejected. Workload load balancers depend on this release, so they are
      created while the webhook is serving.
    * ``defaultTags`` puts the stack's tags on every load balancer, target
      group and security group the controller creates.
    """
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        # The chart renders its PodDisruptionBudget only with more than one replica.
        "replicaCount": replicas,
        "serviceAccount": _sa(LBC_SERVICE_ACCOUNT, sa_annotations),
        "nodeSelector": _system(),
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        "enableServiceMutatorWebhook": True,
        "serviceMutatorWebhookConfig": {"failurePolicy": "Ignore"},
        "defaultTags": dict(default_tags),
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }


# --------------------------------------------------------------------------- autoscaling


def karpenter_values(*, cluster_name: Any, cluster_endpoint: Any, region: Any, queue_name: Any,
                     sa_annotations: Any, replicas: int = 2) -> dict:
    """Karpenter controller on the system pool (never on nodes it manages), region given explicitly.

    The chart keeps its own PodDisruptionBudget (``maxUnavailable: 1``) and spreads replicas over nodes.
    """
    return {
        "settings": {
            "clusterName": cluster_name,
            "clusterEndpoint": cluster_endpoint,
            "interruptionQueue": queue_name,
        },
        "serviceAccount": _sa(KARPENTER_SERVICE_ACCOUNT, sa_annotations),
        "replicas": replicas,
        "nodeSelector": _system(),
        "controller": {
            "env": [{"name": "AWS_REGION", "value": region}],
            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        },
    }


def cluster_autoscaler_values(*, cluster_name: str, region: Any, image_tag: str, sa_annotations: Any,
                              replicas: int = 2) -> dict:
    """cluster-autoscaler discovering managed node groups by their ASG tags.

    ``image_tag`` must match the cluster's Kubernetes minor (the autoscaler
    embeds the scheduler of that minor). One replica works at a time (leader
    election); a second is a warm standby that takes over while the first one's
    node drains. The chart's PodDisruptionBudget (``maxUnavailable: 1``) stays.
    """
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {
            "clusterName": cluster_name,
            "tags": ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster_name}"],
        },
        "image": {"tag": image_tag},
        "rbac": {"serviceAccount": _sa(AUTOSCALER_SERVICE_ACCOUNT, sa_annotations)},
        "nodeSelector": _system(),
        "replicaCount": replicas,
        "extraArgs": {
            "balance-similar-node-groups": "true",
            "expander": "least-waste",
            # DaemonSet-only nodes (device plugin, CSI) would otherwise never scale down.
            "skip-nodes-with-system-pods": "false",
        },
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
    }


def metrics_server_values(replicas: int = 2) -> dict:
    """metrics-server for HPA resource metrics on the system pool; with two or more replicas, never all down.

    A budget of ``minAvailable: 1`` over a single replica would forbid every
    eviction and stall node drains, so it exists only with two or more.
    """
    return {
        "replicas": replicas,
        "nodeSelector": _system(),
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}},
    }


# --------------------------------------------------------------------------- GPU


def _gpu_affinity(exclude_pools: Sequence[str]) -> dict:
    exprs: list[dict] = [{"key": cv.ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia"]}]
    if exclude_pools:
        exprs.append({"key": cv.POOL_LABEL, "operator": "NotIn", "values": sorted(exclude_pools)})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": exprs}]}}}


def device_plugin_values(exclude_pools: Sequence[str] = ()) -> dict:
    """NVIDIA device plugin on NVIDIA nodes only, tolerating their taint.

    The chart's default affinity keys on Node Feature Discovery labels, which
    EKS nodes do not carry; it is replaced by the platform's accelerator label
    (a list replaces, so none of the NFD terms survive). ``exclude_pools`` are
    pools whose AMI runs its own device plugin (Bottlerocket NVIDIA variants):
    a second plugin would register ``nvidia.com/gpu`` twice.
    """
    return {
        "affinity": _gpu_affinity(exclude_pools),
        "tolerations": [cv.gpu_toleration(), {"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": False},
    }


def gpu_operator_values() -> dict:
    """NVIDIA GPU Operator without the driver and container toolkit (the EKS NVIDIA AMIs ship both).

    The DCGM exporter is left to the observability layer (``dcgmExporter``), so
    GPU metrics have one owner. Node Feature Discovery workers must tolerate the
    GPU taint *as it is set here* (``Exists``: the chart's default only matches
    the value ``present``), or GPU nodes are never labelled and no operand runs.
    """
    gpu = cv.gpu_toleration()
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "dcgmExporter": {"enabled": False},
        "operator": {"nodeSelector": _system()},
        "daemonsets": {"tolerations": [gpu]},
        "node-feature-discovery": {
            "master": {"nodeSelector": _system()},
            "gc": {"nodeSelector": _system()},
            "worker": {"tolerations": [gpu]},
        },
    }


# --------------------------------------------------------------------------- storage drivers


def csi_addon_configuration() -> dict:
    """EKS add-on configuration of the EBS, EFS and FSx CSI drivers: controllers on the system pool.

    The node DaemonSets keep their defaults, which tolerate every taint, so
    GPU nodes can mount volumes too.
    """
    return {"controller": {"nodeSelector": _system()}}


def fsx_chart_values(*, region: Any, sa_annotations: Any) -> dict:
    """The FSx CSI Helm chart, used where the EKS add-on is not offered for the cluster's minor."""
    return {
        "controller": {
            "region": region,
            "nodeSelector": _system(),
            "serviceAccount": _sa(FSX_CSI_SERVICE_ACCOUNT, sa_annotations),
        },
        "node": {"tolerateAllTaints": True},
    }



def efa_device_plugin_values() -> dict:
    """EFA device plugin only on EFA nodes (their pool label), tolerating the GPU taint those nodes carry."""
    return {
        "nodeSelector": {cv.EFA_LABEL: "true"},
        "tolerations": [cv.gpu_toleration(), {"key": "CriticalAddonsOnly", "operator": "Exists"}],
    }
