"""Stack outputs: the keys (shared by ``__main__.py``, the tests and the automation library) and their values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pulumi

if TYPE_CHECKING:  # pragma: no cover - types only; importing them here would be circular
    from components.config import StackConfig
    from components.contracts import PlatformAddons, PlatformContext
    from components.workloads import Workloads

VPC_ID = "vpcId"
PRIVATE_SUBNET_IDS = "privateSubnetIds"
PUBLIC_SUBNET_IDS = "publicSubnetIds"
CLUSTER_NAME = "clusterName"
CLUSTER_ENDPOINT = "clusterEndpoint"
OIDC_PROVIDER_ARN = "oidcProviderArn"
KUBECONFIG = "kubeconfig"
NODE_ROLE_ARN = "nodeRoleArn"
NODE_GROUPS = "nodeGroups"
FARGATE_PROFILES = "fargateProfiles"
DATA_BUCKET_NAME = "dataBucketName"
DATA_BUCKET_ARN = "dataBucketArn"
DEFAULT_STORAGE_CLASS = "defaultStorageClass"
EFS_STORAGE_CLASS = "efsStorageClass"
FSX_FILE_SYSTEM_ID = "fsxFileSystemId"
FSX_DNS_NAME = "fsxDnsName"
FSX_MOUNT_NAME = "fsxMountName"
TEAM_NAMESPACES = "teamNamespaces"
TRAINING_JOBS = "trainingJobs"
INFERENCE_ENDPOINTS = "inferenceEndpoints"
TRAINING_RUNTIME = "trainingRuntime"
KUEUE_CLUSTER_QUEUE = "kueueClusterQueue"
GRAFANA_ADMIN_SECRET = "grafanaAdminSecret"
#: The Kubernetes minor the control plane runs, as EKS reports it (read back by :func:`check_kubernetes_upgrade`).
KUBERNETES_VERSION = "kubernetesVersion"

#: The engine's built-in invoke behind ``pulumi.StackReference``: the last outputs of a stack, from its state.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def stack_outputs(ctx: "PlatformContext", addons: "PlatformAddons", workloads: "Workloads") -> dict[str, Any]:
    """Every stack output by key. Secrets stay secret (the kubeconfig is an Output.secret)."""
    cfg = ctx.cfg
    outs: dict[str, Any] = {
        VPC_ID: ctx.network.vpc_id,
        PRIVATE_SUBNET_IDS: ctx.network.private_subnet_ids,
        PUBLIC_SUBNET_IDS: ctx.network.public_subnet_ids,
        CLUSTER_NAME: ctx.cluster.cluster_name,
        CLUSTER_ENDPOINT: ctx.cluster.endpoint,
        KUBERNETES_VERSION: ctx.cluster.version,
        OIDC_PROVIDER_ARN: ctx.cluster.oidc_provider_arn,
        KUBECONFIG: ctx.cluster.kubeconfig,
        NODE_ROLE_ARN: ctx.nodes.node_role_arn,
        NODE_GROUPS: sorted(cfg.nodeGroups),
        FARGATE_PROFILES: sorted(cfg.fargateProfiles),
        DATA_BUCKET_NAME: addons.data_bucket_name,
        DATA_BUCKET_ARN: addons.data_bucket_arn,
        DEFAULT_STORAGE_CLASS: addons.default_storage_class,
        EFS_STORAGE_CLASS: addons.efs_storage_class,
        TEAM_NAMESPACES: sorted(workloads.teams),
        TRAINING_JOBS: {
            n: {"kind": j.kind, "namespace": cfg.trainingJobs[n].team, "checkpointUri": j.checkpoint_uri}
            for n, j in workloads.jobs.items()},
        INFERENCE_ENDPOINTS: {
            n: {"namespace": cfg.inferenceEndpoints[n].team, "clusterUrl": e.cluster_url, "hostname": e.hostname}
            for n, e in workloads.endpoints.items()},
    }
    if addons.fsx is not None:
        outs.update({FSX_FILE_SYSTEM_ID: addons.fsx.file_system_id, FSX_DNS_NAME: addons.fsx.dns_name,
                     FSX_MOUNT_NAME: addons.fsx.mount_name})
    if workloads.training is not None:
        outs.update({TRAINING_RUNTIME: workloads.training.runtime_name,
                     KUEUE_CLUSTER_QUEUE: workloads.training.cluster_queue_name})
    if workloads.observability is not None and workloads.observability.grafana_admin_secret:
        # Where the credentials live, never the password itself.
        outs[GRAFANA_ADMIN_SECRET] = workloads.observability.grafana_admin_secret
    return outs


def own_stack_name() -> str:
    """This stack's fully qualified name, the form stack references take on every backend."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def running_outputs() -> Mapping[str, Any]:
    """The outputs this stack recorded at its last update, read from its state before anything is registered.

    This is what a ``pulumi.StackReference`` to the stack itself reads (the
    engine serves both through ``readStackReference``), but as a synchronous
    invoke: the answer is known before the first resource is registered and
    leaves no resource in the state. A stack that was never deployed has no
    outputs (``{}``), in a preview as in an update.
    """
    result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": own_stack_name()})
    return dict((result.value or {}).get("outputs") or {})


def check_kubernetes_upgrade(cfg: "StackConfig") -> None:
    """Refuse a ``kubernetesVersion`` the running cluster cannot move to (more than one minor, or down).

    Raises :class:`~components.config.ConfigError` (one line naming the key)
    before any resource is registered. Stacks deployed before this output
    existed, and new stacks, are not checked: there is nothing to compare with.
    """
    from components.config import ConfigError
    from components.planning.upgrade import minor_step_error

    running = running_outputs().get(KUBERNETES_VERSION)
    reason = minor_step_error(running if isinstance(running, str) else None, cfg.kubernetesVersion)
    if reason:
        raise ConfigError("kubernetesVersion", reason)
