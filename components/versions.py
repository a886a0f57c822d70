"""Single source of truth for every version the ML-on-EKS Pulumi program pins.

Nothing else in the program should hard-code a chart version, an EKS add-on
build or a container tag: components look them up here.  Keeping them in one
table means an upgrade is a one-line, reviewable change, and the ``checked`` /
``source`` fields say how stale a pin is and where to re-check it.

All pins below were checked on 2026-11-29 against the public material named in
each ``source``.  Where the newest version could not be confirmed, the newest
version that *was* seen is pinned and the ``source`` note says so.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

# The date every pin in this file was (re)checked.  Bump it, and the individual
# ``checked`` fields, whenever a pin is re-verified.
_CHECKED = "2026-11-29"


@dataclass(frozen=True)
class HelmChartPin:
    """One Helm chart at an exact version.

    ``repository`` is either an ``https://`` chart repository or an ``oci://``
    registry path *without* the chart name, so that callers can build the
    Pulumi ``helm.v3.Release`` / ``helm.v4.Chart`` arguments the same way for
    both kinds (``chart=pin.chart``, ``repository_opts.repo=pin.repository``;
    for OCI, ``f"{pin.repository}/{pin.chart}"``).
    """

    chart: str          # chart name as passed to helm, or the last segment of the oci:// ref
    repository: str     # https chart repo URL, or "oci://..." registry path WITHOUT the chart name
    version: str        # chart version (no leading v unless the chart itself uses one)
    app_version: str    # upstream app version the chart ships (its Chart.yaml appVersion)
    checked: str        # ISO date the pin was checked
    source: str         # where it was checked

    def __post_init__(self) -> None:
        # Fail at import time rather than at `pulumi up` time: an empty or
        # floating version would silently install whatever is newest.
        for field_name in ("chart", "repository", "version", "app_version", "source"):
            if not getattr(self, field_name):
                raise ValueError(f"HelmChartPin {self.chart!r}: {field_name} must not be empty")
        if self.version.lower() in {"latest", "*"}:
            raise ValueError(f"HelmChartPin {self.chart!r}: version must be exact, got {self.version!r}")
        if not self.repository.startswith(("https://", "oci://")):
            raise ValueError(
                f"HelmChartPin {self.chart!r}: repository must be https:// or oci://, "
                f"got {self.repository!r}"
            )
        # (No check that an oci:// path omits the chart name: for Karpenter the
        # registry namespace and the chart share the name "karpenter".)
        _check_iso_date(self.checked, f"HelmChartPin {self.chart!r}")


@dataclass(frozen=True)
class EksAddonPin:
    """One EKS managed add-on, pinned per Kubernetes minor version.

    EKS add-on builds are only valid for the cluster versions AWS lists in
    ``aws eks describe-addon-versions``; a build accepted on one minor can be
    rejected on another, so the pin is always looked up by minor (see
    :func:`addon_version`).  A minor that is absent from ``versions`` means the
    add-on is not (verifiably) offered there and the caller must fall back.
    """

    name: str                      # EKS add-on name, e.g. "vpc-cni"
    versions: Mapping[str, str]    # Kubernetes minor ("1.35") -> add-on version ("v1.23.2-eksbuild.1")
    checked: str
    source: str

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError(f"EksAddonPin {self.name!r}: at least one Kubernetes version is required")
        for minor, build in self.versions.items():
            if not re.fullmatch(r"1\.\d+", minor):
                raise ValueError(f"EksAddonPin {self.name!r}: {minor!r} is not a Kubernetes minor like '1.35'")
            if not re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", build):
                raise ValueError(f"EksAddonPin {self.name!r}: {build!r} is not an EKS add-on build string")
        _check_iso_date(self.checked, f"EksAddonPin {self.name!r}")
        # Freeze the inner mapping too; a frozen dataclass only stops
        # re-assignment of the attribute, not mutation of a dict it holds.
        object.__setattr__(self, "versions", MappingProxyType(dict(self.versions)))


def _check_iso_date(value: str, owner: str) -> None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{owner}: checked must be an ISO date (YYYY-MM-DD), got {value!r}")


# ---------------------------------------------------------------------------
# Kubernetes versions
# ---------------------------------------------------------------------------

# EKS minors in *standard* support on the check date, oldest first.  Dates come
# from the EKS release calendar (docs.aws.amazon.com/eks/latest/userguide/
# kubernetes-versions.html; 1.36 from kubernetes-versions-standard.html#kubernetes-1-36):
#   1.34  standard support ends 2026-12-02  (only days after the check date)
#   1.35  standard support ends 2027-03-27
#   1.36  released on EKS 2026-06; standard support ends 2027-08-02
# 1.33 left standard support on 2026-07-29 and is deliberately absent: a new
# cluster on it would start out paying extended-support fees.  No evidence of
# EKS 1.37 was found on the check date.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.34", "1.35", "1.36")

# ai-on-eks still defaults to 1.34 (infra/base/terraform/variables.tf,
# eks_cluster_version), but 1.34 drops out of standard support three days after
# the check date, so new clusters would immediately bill extended support.  1.35
# is the newest minor that every pinned component has been seen running on
# (the cluster-autoscaler chart's bundled image is v1.35.0, and every add-on
# below has a 1.35 build), and it stays in standard support until 2027-03.
DEFAULT_KUBERNETES_VERSION: str = "1.35"


# ---------------------------------------------------------------------------
# Helm charts
# ---------------------------------------------------------------------------

HELM_CHARTS: Mapping[str, HelmChartPin] = MappingProxyType({
    "aws-load-balancer-controller": HelmChartPin(
        chart="aws-load-balancer-controller",
        repository="https://aws.github.io/eks-charts",
        version="3.6.0",
        # The 3.x charts carry the controller version as appVersion (chart 3.4.0
        # was seen with appVersion v3.4.0); 3.6.0 installs controller v3.6.0.
        app_version="v3.6.0",
        checked=_CHECKED,
        source=(
            "Newest chart seen: `helm install ... eks/aws-load-balancer-controller --version 3.6.0` in "
            "public GitHub deploy notes dated 2026-10-04 (controller and IAM policy v3.6.0); 3.5.0 is "
            "widely pinned too. Repo: https://github.com/aws/eks-charts, chart source "
            "kubernetes-sigs/aws-load-balancer-controller/helm/aws-load-balancer-controller. Re-fetch "
            "docs/install/iam_policy.json at the v3.6.0 tag when bumping."
        ),
    ),
    "karpenter": HelmChartPin(
        chart="karpenter",
        repository="oci://public.ecr.aws/karpenter",
        version="1.15.0",
        app_version="1.15.0",  # Karpenter ships chart and controller at the same version
        checked=_CHECKED,
        source=(
            "https://karpenter.sh/v1.15/upgrading/ lists v1.15 as latest, 'chore: Release v1.15.0' dated "
            "2026-10-10. ai-on-eks pins 1.14.0 (infra/base/terraform/variables.tf, karpenter_version). "
            "Install the matching oci://public.ecr.aws/karpenter/karpenter-crd chart at the same version, "
            "because Helm never upgrades CRDs from crds/."
        ),
    ),
    "cluster-autoscaler": HelmChartPin(
        chart="cluster-autoscaler",
        repository="https://kubernetes.github.io/autoscaler",
        version="9.59.0",
        app_version="1.35.0",
        checked=_CHECKED,
        source=(
            "Newest chart seen is 9.59.0 (public helm commands and notes, autumn 2026); a public review "
            "note states 9.59.0 is the newest chart and still defaults image.tag to v1.35.0. The "
            "autoscaler image must match the cluster minor, so set image.tag per cluster: "
            "registry.k8s.io/autoscaling/cluster-autoscaler v1.34.4 / v1.35.1 / v1.36.1 (all seen in "
            "public manifests and the upstream v1.36.1 release notes). Chart source: "
            "kubernetes/autoscaler/charts/cluster-autoscaler."
        ),
    ),
    "nvidia-device-plugin": HelmChartPin(
        chart="nvidia-device-plugin",
        repository="https://nvidia.github.io/k8s-device-plugin",
        version="0.20.1",
        app_version="0.20.1",  # NVIDIA publishes this chart at the plugin's own version
        checked=_CHECKED,
        source=(
            "Newest seen: `nvdp/nvidia-device-plugin --version 0.20.1` in several public GitHub guides "
            "(2026); 0.20.0 recorded in an EKS 1.36 GPU deploy log dated 2026-09-16. ai-on-eks still pins "
            "0.18.2 (infra/base/terraform/variables.tf, nvidia_device_plugin_version). Repo: "
            "NVIDIA/k8s-device-plugin/deployments/helm/nvidia-device-plugin."
        ),
    ),
    "gpu-operator": HelmChartPin(
        chart="gpu-operator",
        repository="https://helm.ngc.nvidia.com/nvidia",
        version="v26.7.0",  # this chart does use a leading "v"
        app_version="v26.7.0",
        checked=_CHECKED,
        source=(
            "Newest seen: `nvidia/gpu-operator --version v26.7.0` in public GitHub install scripts and "
            "chart docs (2026); `helm show chart` for v26.3.1 shows appVersion equal to the chart "
            "version. ai-on-eks pins 26.3.0 (infra/base/terraform/variables.tf) and runs it with "
            "driver.enabled=false because EKS GPU AMIs ship the driver."
        ),
    ),
    "dcgm-exporter": HelmChartPin(
        chart="dcgm-exporter",
        repository="https://nvidia.github.io/dcgm-exporter/helm-charts",
        version="4.8.1",
        # appVersion inferred, not read from Chart.yaml: exporter 4.8.1 is
        # published as image nvcr.io/nvidia/k8s/dcgm-exporter:4.5.2-4.8.1-*.
        app_version="4.5.2-4.8.1",
        checked=_CHECKED,
        source=(
            "Chart 4.8.1 is the version ai-on-eks pins (awslabs/ai-on-eks "
            "infra/base/terraform/variables.tf, nvidia_dcgm_exporter_version). Exporter images up to "
            "4.6.0-4.8.3 were seen on nvcr.io, but no chart newer than 4.8.1 could be confirmed, so 4.8.1 "
            "is pinned. appVersion 4.5.2-4.8.1 is inferred from the image tag, not read from Chart.yaml."
        ),
    ),
    "metrics-server": HelmChartPin(
        chart="metrics-server",
        repository="https://kubernetes-sigs.github.io/metrics-server/",
        version="3.14.0",
        app_version="0.9.0",
        checked=_CHECKED,
        source=(
            "`helm list` output in several public GitHub lab logs (2026-09/10) shows "
            "metrics-server-3.14.0 with APP VERSION 0.9.0. Chart source: "
            "kubernetes-sigs/metrics-server/charts/metrics-server. (EKS also offers a metrics-server "
            "managed add-on, v0.9.0-eksbuild.11 seen, if the add-on route is preferred.)"
        ),
    ),
    "kube-prometheus-stack": HelmChartPin(
        chart="kube-prometheus-stack",
        repository="https://prometheus-community.github.io/helm-charts",
        version="89.2.2",
        app_version="v0.93.1",  # Prometheus Operator version the chart ships
        checked=_CHECKED,
        source=(
            "89.2.2 with Prometheus Operator v0.93.1 recorded together in a public GitHub deployment "
            "record (autumn 2026); chart metadata at prometheus-community/helm-charts tag "
            "kube-prometheus-stack-89.2.2, charts/kube-prometheus-stack/Chart.yaml. A Renovate PR bumping "
            "89.2.2 -> 89.2.4 was also seen, but 89.2.4's appVersion could not be verified, so 89.2.2 is "
            "pinned. ai-on-eks pins 82.16.0. Major bumps (82 -> 89) need the CRDs re-applied by hand."
        ),
    ),
    "kubeflow-trainer": HelmChartPin(
        chart="kubeflow-trainer",
        repository="oci://ghcr.io/kubeflow/charts",
        # Held at 2.3.x on purpose although 2.4.0 exists: our TrainJobs and the torch-distributed
        # ClusterTrainingRuntime are validated in tests against the kubeflow-trainer-api 2.3.0
        # models (requirements-dev.txt), so the CRDs the chart installs must be the 2.3 ones.
        # Move chart and models together.
        version="2.3.0",
        app_version="v2.3.0",
        checked=_CHECKED,
        source=(
            "https://github.com/kubeflow/trainer/releases/tag/v2.3.0 (install command uses chart "
            "--version 2.3.0); charts/kubeflow-trainer/Chart.yaml at 2.3.0 declares the jobset 0.12.0 "
            "dependency (condition jobset.install). Newest 2.3.x verifiable on the check date: no v2.3.1 "
            "tag or kubeflow-trainer-api 2.3.x model release after 2.3.0 was found (PyPI lists 2.3.0 as "
            "newest). 2.3.0 moved the CRDs into chart templates, so helm upgrades now update them. "
            "Install into kubeflow-system; needs Kubernetes >= 1.31. Clusters on Trainer 2.0-2.2 must "
            "pass through 2.3 before any later version (v2.3.0 release notes)."
        ),
    ),
    "training-operator": HelmChartPin(
        chart="training-operator",
        # There is no upstream Helm chart for Training Operator v1: it is
        # installed with kustomize from the standalone overlay.  This is that
        # overlay's location (the repo was renamed training-operator -> trainer;
        # the old URL redirects), to be used as
        #   kubectl apply --server-side -k "<repository>?ref=<version>"
        repository="https://github.com/kubeflow/trainer.git/manifests/overlays/standalone",
        version="v1.9.3",  # a git tag, hence the leading "v"
        app_version="v1.9.3",
        checked=_CHECKED,
        source=(
            "NO published Helm chart exists for the legacy v1 operator (PyTorchJob, kubeflow.org/v1): "
            "upstream ships kustomize only; the only chart seen was the community awslabs/kubeflow-manifests "
            "one, which stopped at Kubeflow 1.7. Newest v1 tag seen: v1.9.3, used as "
            "manifests/overlays/standalone?ref=v1.9.3 in several public GitHub guides; kubeflow.org "
            "docs/components/trainer/legacy-v1 marks v1 as legacy. Do not run it next to Trainer v2 "
            "without checking for overlapping webhooks."
        ),
    ),
    "kueue": HelmChartPin(
        chart="kueue",
        repository="oci://registry.k8s.io/kueue/charts",
        version="0.19.7",
        app_version="v0.19.7",  # Kueue charts are released in lockstep with the controller
        checked=_CHECKED,
        source=(
            "Newest seen: `helm upgrade --install kueue oci://registry.k8s.io/kueue/charts/kueue --version "
            "0.19.7` in public GitHub setup guides (2026); 0.19.6 is also widely pinned. Release notes: "
            "https://github.com/kubernetes-sigs/kueue/releases. Read each .0 release note you cross when "
            "upgrading (0.18.0 changed webhook namespace exclusions)."
        ),
    ),
    "aws-efa-k8s-device-plugin": HelmChartPin(
        chart="aws-efa-k8s-device-plugin",
        repository="https://aws.github.io/eks-charts",
        version="v0.5.7",  # this chart uses a leading "v"
        # Inferred: eks-charts publishes the plugin at the chart's own version.
        app_version="v0.5.7",
        checked=_CHECKED,
        source=(
            "Chart v0.5.7 pinned in aws-ia/terraform-aws-eks-blueprints patterns (targeted-odcr/helm.tf) and "
            "several public EFA-on-EKS Terraform stacks; the chart README (aws/eks-charts "
            "stable/aws-efa-k8s-device-plugin) documents image v0.5.x and the nodeSelector on "
            "vpc.amazonaws.com/efa.present. A newer build could not be confirmed."
        ),
    ),
    "aws-fsx-csi-driver": HelmChartPin(
        # Fallback only: prefer the EKS managed add-on where EKS_ADDONS offers it.
        chart="aws-fsx-csi-driver",
        repository="https://kubernetes-sigs.github.io/aws-fsx-csi-driver",
        version="1.17.0",
        # Inferred pairing: the chart's Chart.yaml could not be read.
        app_version="1.10.0",
        checked=_CHECKED,
        source=(
            "newreleases.io listing for kubernetes-sigs/aws-fsx-csi-driver shows the latest releases as "
            "v1.10.0, v1.9.0 and helm-chart-aws-fsx-csi-driver-1.17.0. The chart-to-driver pairing "
            "(1.17.0 -> 1.10.0) is inferred from that listing; check `helm show chart` before relying on "
            "app_version."
        ),
    ),
})


# ---------------------------------------------------------------------------
# EKS managed add-ons
# ---------------------------------------------------------------------------

def _same_for(minors: tuple[str, ...], build: str) -> dict[str, str]:
    """Repeat one build for several minors (for add-ons not tied to a minor)."""
    return {minor: build for minor in minors}


# Notes shared by several sources below.  The copies of the AWS per-minor
# version tables available on the check date stop at 1.35 and lag the newest
# builds, so most pins come from public Terraform/CDK code and deploy records
# that captured what `aws eks describe-addon-versions` returned.  The code index
# that found them does not show repository names, so those are described
# rather than linked.  Re-check with describe-addon-versions before bumping.
_DOCS_NOTE = "docs.amazonaws.cn/eks/latest/userguide/managing-kube-proxy.md (1.34, 1.35 rows)"

EKS_ADDONS: Mapping[str, EksAddonPin] = MappingProxyType({
    "vpc-cni": EksAddonPin(
        name="vpc-cni",
        # Not tied to a minor.  Install before compute, with ENABLE_PREFIX_DELEGATION=true.
        versions=_same_for(SUPPORTED_KUBERNETES_VERSIONS, "v1.23.2-eksbuild.1"),
        checked=_CHECKED,
        source=(
            "v1.23.2-eksbuild.1 seen pinned for EKS 1.36 clusters in public Terraform, and noted as the "
            "newest vpc-cni for 1.35 in a public ADR quoting `aws eks describe-addon-versions` on "
            "2026-10-02. Not seen explicitly on 1.34; vpc-cni builds normally cover every supported minor "
            "(v1.23.1 resolves as the default even on 1.32)."
        ),
    ),
    "coredns": EksAddonPin(
        name="coredns",
        versions={
            "1.34": "v1.13.2-eksbuild.24",
            "1.35": "v1.14.6-eksbuild.4",
            "1.36": "v1.14.7-eksbuild.11",
        },
        checked=_CHECKED,
        source=(
            "1.36: v1.14.7-eksbuild.11 in public Terraform pinned for 1.36 clusters. 1.35: "
            "v1.14.6-eksbuild.4 named as the newest for 1.35 in a public ADR quoting "
            "describe-addon-versions (2026-10-02). 1.34: v1.13.2-eksbuild.24 expected as the 1.34 default "
            "in a public test table. AWS docs (managing-coredns) stop at 1.34 = v1.12.4-eksbuild.1, which "
            "is older. Whether v1.14.7 is also offered on 1.34/1.35 was not verified."
        ),
    ),
    "kube-proxy": EksAddonPin(
        name="kube-proxy",
        versions={
            "1.34": "v1.34.6-eksbuild.29",
            "1.35": "v1.35.3-eksbuild.29",
            "1.36": "v1.36.0-eksbuild.45",
        },
        checked=_CHECKED,
        source=(
            f"AWS docs list 1.35 = v1.35.3-eksbuild.2 and 1.34 = v1.34.6-eksbuild.2 ({_DOCS_NOTE}); newer "
            "builds of the same patch release are pinned here: v1.34.6-eksbuild.29 from a public EKS 1.34 "
            "upgrade log, v1.35.3-eksbuild.29 as the 1.35 default from describe-addon-versions "
            "(2026-10-02, public ADR), v1.36.0-eksbuild.45 in public Terraform for 1.36 clusters."
        ),
    ),
    "eks-pod-identity-agent": EksAddonPin(
        name="eks-pod-identity-agent",
        # Install before compute: every other add-on here authenticates with Pod Identity.
        versions=_same_for(SUPPORTED_KUBERNETES_VERSIONS, "v1.4.0-eksbuild.3"),
        checked=_CHECKED,
        source=(
            "v1.4.0-eksbuild.3 pinned with 1.36 add-on sets in public Terraform and named as the newest for "
            "1.35 in a public ADR quoting describe-addon-versions (2026-10-02). v1.3.10-eksbuild.3 was the "
            "1.35 default then. Not seen explicitly on 1.34."
        ),
    ),
    "aws-ebs-csi-driver": EksAddonPin(
        name="aws-ebs-csi-driver",
        versions=_same_for(SUPPORTED_KUBERNETES_VERSIONS, "v1.66.0-eksbuild.1"),
        checked=_CHECKED,
        source=(
            "v1.66.0-eksbuild.1 seen on all three minors in public code: applied to a 1.34 cluster "
            "(upgrade log), pinned in a 1.35 tfvars file and in a 1.36 Terraform stack. No v1.67 found. "
            "Driver releases: github.com/kubernetes-sigs/aws-ebs-csi-driver/releases."
        ),
    ),
    "aws-efs-csi-driver": EksAddonPin(
        name="aws-efs-csi-driver",
        versions=_same_for(SUPPORTED_KUBERNETES_VERSIONS, "v3.4.1-eksbuild.1"),
        checked=_CHECKED,
        source=(
            "Newest build seen: v3.4.1-eksbuild.1 in a public auto-updated EKS add-on tfvars file (next to "
            "coredns v1.14.3 and pod-identity v1.4.0, i.e. a 1.35/1.36-era set); v3.4.0-eksbuild.1 pinned "
            "for 1.34 elsewhere. No v3.5 build found. Per-minor availability not individually verified."
        ),
    ),
    "aws-fsx-csi-driver": EksAddonPin(
        name="aws-fsx-csi-driver",
        # Only minors where the managed add-on has been seen; on any other
        # minor use HELM_CHARTS["aws-fsx-csi-driver"] instead.  The add-on has
        # historically lagged new minors (aws/containers-roadmap#2625: not
        # offered on 1.33 at first), and it needs the Pod Identity agent (or IRSA).
        versions={
            "1.35": "v1.7.0-eksbuild.1",
            "1.36": "v1.7.0-eksbuild.1",
        },
        checked=_CHECKED,
        source=(
            "Managed add-on documented in docs.aws.amazon.com/eks/latest/userguide/fsx-csi-create.html. "
            "v1.7.0-eksbuild.1 is the only build string found (awsdocs/amazon-eks-user-guide PR #1215, "
            "2026-01, hybrid-nodes add-on table: 'v1.7.0-eksbuild.1 and above'). Newer builds almost "
            "certainly exist (driver v1.10.0 is released) but could not be confirmed. Offered on 1.35/1.36 "
            "per a public EKS GPU template set (default 1.36, 1.35 allowed) that creates the add-on, "
            "deployed on 1.36 on 2026-09-16. 1.34 availability NOT verified, so it is left out; the Helm "
            "fallback covers it."
        ),
    ),
    "amazon-cloudwatch-observability": EksAddonPin(
        name="amazon-cloudwatch-observability",
        versions=_same_for(SUPPORTED_KUBERNETES_VERSIONS, "v6.7.0-eksbuild.1"),
        checked=_CHECKED,
        source=(
            "v6.7.0-eksbuild.1 recorded as the resolved version, next to kube-proxy v1.36.0-eksbuild.45, in "
            "a public tfvars file capturing created add-ons (i.e. on a 1.36 cluster). Availability on "
            "1.34/1.35 not individually verified; the add-on is usually published for every supported "
            "minor."
        ),
    ),
})


# ---------------------------------------------------------------------------
# Container images used by sample workloads
# ---------------------------------------------------------------------------

IMAGES: Mapping[str, str] = MappingProxyType({
    # Official PyTorch runtime image.  The CUDA 12.6 variant is chosen over the
    # cuda13.x ones because it still runs on 5xx drivers older than 580, so it
    # works on both AL2023 NVIDIA and Bottlerocket NVIDIA nodes.  Seen used as a
    # base image in several public Dockerfiles (2026); torch 2.12.1 was the
    # newest release found.
    "pytorch-train": "docker.io/pytorch/pytorch:2.12.1-cuda12.6-cudnn9-runtime",
    # Hugging Face Text Embeddings Inference, CPU build: a small, CPU-only
    # model server with an HTTP API, fine for a smoke test of non-GPU
    # inference.  cpu-1.9.4 is described as the latest GitHub release in a public
    # repo's notes and is pinned by digest elsewhere.
    "cpu-inference": "ghcr.io/huggingface/text-embeddings-inference:cpu-1.9.4",
    # vLLM's OpenAI-compatible server.  v0.29.0 is the newest tag found (a public
    # compose file is asserted to pin exactly it); v0.28.0 and v0.27.1 were seen
    # running on L40S/RTX hardware.
    "gpu-inference": "docker.io/vllm/vllm-openai:v0.29.0",
})

# cluster-autoscaler embeds the scheduler of one Kubernetes minor, so its image
# tag follows the cluster, not the chart (the 9.59.0 chart defaults to v1.35.0).
# Tags checked 2026-11-29: v1.34.4, v1.35.1 and v1.36.1 seen in public manifests
# and the upstream v1.36.1 release notes (registry.k8s.io/autoscaling/cluster-autoscaler).
CLUSTER_AUTOSCALER_IMAGE_TAGS: Mapping[str, str] = MappingProxyType({
    "1.34": "v1.34.4",
    "1.35": "v1.35.1",
    "1.36": "v1.36.1",
})

# Karpenter node image: the EKS AL2023 AMI release Karpenter resolves for the
# cluster's minor (the NVIDIA variant for GPU instance types). A dated alias, not
# ``al2023@latest``, so a new AMI reaches nodes (via drift) only when this line
# changes. Checked 2026-11-29: v20260903 is the newest release seen pinned in
# public EC2NodeClass manifests; list releases with
# `aws ssm get-parameters-by-path --path /aws/service/eks/optimized-ami/<minor>/amazon-linux-2023/`.
KARPENTER_AMI_ALIAS: str = "al2023@v20260903"


# ---------------------------------------------------------------------------
# CRDs managed apart from their controllers' charts (components/crds.py)
# ---------------------------------------------------------------------------

# Helm applies a chart's crds/ directory on the first install only and never upgrades it. Every chart
# below carries its CRDs that way, so its CRDs come from one of these instead, installed before the
# controller (whose release then sets skipCrds). Checked 2026-11-29 against the upstream repositories at
# the tags named (git mirrors); where a mirror stopped short of the pinned tag, the layout was read at the
# newest tag it had and the source says so. Kueue and Kubeflow Trainer (>= 2.3) template their CRDs, so
# Helm upgrades those and they are not listed.

#: Vendor CRD charts, keyed by the HELM_CHARTS key of the controller whose crds/ they replace.
CRD_CHARTS: Mapping[str, HelmChartPin] = MappingProxyType({
    # Released together with the controller chart at the same version, so derived from that pin:
    # moving HELM_CHARTS["karpenter"] moves the CRDs with it.
    "karpenter": dataclasses.replace(
        HELM_CHARTS["karpenter"],
        chart="karpenter-crd",
        source=(
            "aws/karpenter-provider-aws charts/karpenter-crd: the same five CRDs as charts/karpenter/crds/, as "
            "templates (so helm upgrade updates them), with an additionalAnnotations value; read at tag v1.14.1. "
            "Published to oci://public.ecr.aws/karpenter/karpenter-crd at every controller version "
            "(karpenter.sh/docs/upgrading/upgrade-guide: install karpenter-crd at the controller's version)."
        ),
    ),
    "kube-prometheus-stack": HelmChartPin(
        chart="prometheus-operator-crds",
        repository="https://prometheus-community.github.io/helm-charts",
        version="31.0.1",
        # Must equal the Prometheus Operator version kube-prometheus-stack runs (checked below).
        app_version="v0.93.1",
        checked=_CHECKED,
        source=(
            "prometheus-community/helm-charts tag prometheus-operator-crds-31.0.1: Chart.yaml appVersion "
            "v0.93.1, CRDs as templates of its crds subchart (each from prometheus-operator v0.93.1 "
            "example/prometheus-operator-crd/), value crds.annotations for extra CRD annotations. "
            "kube-prometheus-stack 88.5.3 ships the same operator v0.93.1 in charts/crds/crds/."
        ),
    ),
})


@dataclass(frozen=True)
class CrdFilesPin:
    """Upstream CRD manifests at one release tag, for a chart that has no CRD chart of its own."""

    repository: str             # GitHub owner/name
    tag: str                    # release tag the files are read at
    paths: tuple[str, ...]      # files inside the repository at that tag
    checked: str
    source: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repository) or not self.tag or not self.paths:
            raise ValueError(f"CrdFilesPin {self.repository!r}: repository, tag and paths are required")
        _check_iso_date(self.checked, f"CrdFilesPin {self.repository!r}")

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f"https://raw.githubusercontent.com/{self.repository}/{self.tag}/{p}" for p in self.paths)


#: CRD files, keyed by the controller (HELM_CHARTS key, or "jobset" for the chart Trainer bundles).
CRD_FILES: Mapping[str, CrdFilesPin] = MappingProxyType({
    "aws-load-balancer-controller": CrdFilesPin(
        repository="kubernetes-sigs/aws-load-balancer-controller",
        # The chart is released from the controller repository at the controller's tag.
        tag=f"v{HELM_CHARTS['aws-load-balancer-controller'].version}",
        paths=("helm/aws-load-balancer-controller/crds/crds.yaml",
               "helm/aws-load-balancer-controller/crds/gateway-crds.yaml"),
        checked=_CHECKED,
        source=(
            "The chart's own crds/ directory (what helm install applies): crds.yaml (IngressClassParams, "
            "TargetGroupBinding, ALBTargetControlConfig, GlobalAccelerator) and gateway-crds.yaml; layout read "
            "at tag v3.5.0, the newest in the mirror. No CRD chart exists (aws/eks-charts has only the "
            "controller chart); AWS documents applying these files before a helm upgrade."
        ),
    ),
    "jobset": CrdFilesPin(
        repository="kubernetes-sigs/jobset",
        # kubeflow-trainer 2.3.0 declares the jobset 0.12.0 chart as a dependency (charts/kubeflow-trainer/
        # Chart.yaml); move this tag with that dependency.
        tag="v0.12.0",
        paths=("charts/jobset/crds/jobset.x-k8s.io_jobsets.yaml",),
        checked=_CHECKED,
        source="kubernetes-sigs/jobset tag v0.12.0, charts/jobset/crds/ (the subchart the Trainer chart bundles).",
    ),
    "gpu-operator": CrdFilesPin(
        repository="NVIDIA/gpu-operator",
        tag=HELM_CHARTS["gpu-operator"].version,
        paths=(
            "deployments/gpu-operator/crds/nvidia.com_clusterpolicies.yaml",
            "deployments/gpu-operator/crds/nvidia.com_gpuclusters.yaml",
            "deployments/gpu-operator/crds/nvidia.com_nvidiadrivers.yaml",
            "deployments/gpu-operator/crds/resource.nvidia.com_computedomaincliques.yaml",
            "deployments/gpu-operator/crds/resource.nvidia.com_computedomains.yaml",
            "deployments/gpu-operator/charts/node-feature-discovery/crds/nfd-api-crds.yaml",
        ),
        checked=_CHECKED,
        source=(
            "NVIDIA/gpu-operator tag v26.7.0: the chart's crds/ and its node-feature-discovery subchart's crds/. "
            "The chart's own pre-upgrade CRD job (operator.upgradeCRD) is switched off in favour of these."
        ),
    ),
})


# ---------------------------------------------------------------------------
# Lookup helper
# ---------------------------------------------------------------------------

def addon_version(name: str, kubernetes_version: str) -> str:
    """Return the pinned EKS add-on build for ``name`` on ``kubernetes_version``.

    ``kubernetes_version`` is a minor such as ``"1.35"``.  Raises ``KeyError``
    with an explanation when the add-on is unknown or has no pin for that minor
    (for example ``aws-fsx-csi-driver`` on 1.34, where the Helm chart should be
    used instead).
    """
    try:
        pin = EKS_ADDONS[name]
    except KeyError:
        raise KeyError(
            f"no EKS add-on pin named {name!r}; known add-ons: {', '.join(sorted(EKS_ADDONS))}"
        ) from None
    try:
        return pin.versions[kubernetes_version]
    except KeyError:
        raise KeyError(
            f"EKS add-on {name!r} has no pinned version for Kubernetes {kubernetes_version!r} "
            f"(pinned for: {', '.join(sorted(pin.versions, key=_minor_key))}). "
            f"Either the add-on is not offered on that version or the pin has not been verified; "
            f"check `aws eks describe-addon-versions --addon-name {name} "
            f"--kubernetes-version {kubernetes_version}` and update components/versions.py."
        ) from None


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))


# ---------------------------------------------------------------------------
# Import-time consistency checks
# ---------------------------------------------------------------------------

def _validate() -> None:
    """Catch table edits that would break the program before Pulumi runs."""
    if list(SUPPORTED_KUBERNETES_VERSIONS) != sorted(SUPPORTED_KUBERNETES_VERSIONS, key=_minor_key):
        raise ValueError("SUPPORTED_KUBERNETES_VERSIONS must be sorted oldest first")
    if DEFAULT_KUBERNETES_VERSION not in SUPPORTED_KUBERNETES_VERSIONS:
        raise ValueError(
            f"DEFAULT_KUBERNETES_VERSION {DEFAULT_KUBERNETES_VERSION!r} is not in SUPPORTED_KUBERNETES_VERSIONS"
        )
    # The FSx add-on is the one allowed gap: it has a Helm fallback.
    may_have_gaps = {"aws-fsx-csi-driver"}
    for key, pin in EKS_ADDONS.items():
        if key != pin.name:
            raise ValueError(f"EKS_ADDONS key {key!r} does not match pin name {pin.name!r}")
        extra = set(pin.versions) - set(SUPPORTED_KUBERNETES_VERSIONS)
        if extra:
            raise ValueError(f"EKS add-on {key!r} pins unsupported Kubernetes versions: {sorted(extra)}")
        missing = set(SUPPORTED_KUBERNETES_VERSIONS) - set(pin.versions)
        if missing and key not in may_have_gaps:
            raise ValueError(f"EKS add-on {key!r} has no pin for Kubernetes {sorted(missing)}")
    for key, image in IMAGES.items():
        _, _, tag = image.rpartition(":")
        if "/" in tag or not tag or tag == "latest":
            raise ValueError(f"IMAGES[{key!r}] must carry an exact tag, got {image!r}")
    if set(CLUSTER_AUTOSCALER_IMAGE_TAGS) != set(SUPPORTED_KUBERNETES_VERSIONS):
        raise ValueError("CLUSTER_AUTOSCALER_IMAGE_TAGS must cover exactly SUPPORTED_KUBERNETES_VERSIONS")
    for minor, tag in CLUSTER_AUTOSCALER_IMAGE_TAGS.items():
        if not tag.startswith(f"v{minor}."):
            raise ValueError(f"cluster-autoscaler {tag!r} does not match Kubernetes {minor}")
    for key, pin in CRD_CHARTS.items():
        if key not in HELM_CHARTS:
            raise ValueError(f"CRD_CHARTS[{key!r}] names no chart in HELM_CHARTS")
        if pin.app_version != HELM_CHARTS[key].app_version:
            raise ValueError(f"CRD chart {pin.chart} {pin.version} ships {pin.app_version} but {key} runs "
                             f"{HELM_CHARTS[key].app_version}: pin the CRD chart of the same release")
    if not re.fullmatch(r"al2023@v\d{8}", KARPENTER_AMI_ALIAS):
        raise ValueError(f"KARPENTER_AMI_ALIAS must be a dated al2023 alias, got {KARPENTER_AMI_ALIAS!r}")


_validate()
