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
# Helm pins re-checked against their upstream chart files, vendored under upstream/charts/ (MANIFEST.json
# names repository, tag and commit); tests compare every pin with the vendored Chart.yaml facts.
_VENDORED = "2026-11-30"


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
        # Moved from 3.6.0: the newest release whose chart source could be read (the upstream mirror ends at
        # v3.5.0, 2026-08-03), so its values and CRDs are checked against upstream/charts/.
        version="3.5.0",
        app_version="v3.5.0",
        checked=_VENDORED,
        source=(
            "kubernetes-sigs/aws-load-balancer-controller tag v3.5.0, helm/aws-load-balancer-controller/"
            "Chart.yaml (version 3.5.0, appVersion v3.5.0), vendored under upstream/charts/. A 3.6.0 chart was "
            "reported in public deploy notes (2026-10) but its source could not be read, so it is not pinned. "
            "Published to https://aws.github.io/eks-charts. Re-fetch docs/install/iam_policy.json at the same "
            "tag when bumping."
        ),
    ),
    "karpenter": HelmChartPin(
        chart="karpenter",
        repository="oci://public.ecr.aws/karpenter",
        # Moved from 1.15.0: the newest release whose chart and CRDs could be read (mirror ends at v1.14.1).
        version="1.14.1",
        app_version="1.14.1",  # the release job stamps chart version and appVersion with the tag
        checked=_VENDORED,
        source=(
            "aws/karpenter-provider-aws tag v1.14.1 (2026-08-20): charts/karpenter and pkg/apis/crds, vendored "
            "under upstream/. The tree's Chart.yaml keeps the previous release's numbers; "
            "hack/release/common.sh stamps version and appVersion with the tag when publishing. v1.15.0 was "
            "announced (karpenter.sh/v1.15/upgrading, 2026-10) but its files could not be read. Install the "
            "matching oci://public.ecr.aws/karpenter/karpenter-crd chart at the same version, because Helm "
            "never upgrades CRDs from crds/."
        ),
    ),
    "cluster-autoscaler": HelmChartPin(
        chart="cluster-autoscaler",
        repository="https://kubernetes.github.io/autoscaler",
        version="9.59.0",
        app_version="1.35.0",
        checked=_VENDORED,
        source=(
            "kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0, "
            "cluster-autoscaler/charts/cluster-autoscaler/Chart.yaml (appVersion 1.35.0), vendored under "
            "upstream/charts/. The autoscaler image must match the cluster minor, so image.tag is set per "
            "cluster: registry.k8s.io/autoscaling/cluster-autoscaler v1.34.4 / v1.35.1 / v1.36.1 (all seen in "
            "public manifests and the upstream v1.36.1 release notes)."
        ),
    ),
    "nvidia-device-plugin": HelmChartPin(
        chart="nvidia-device-plugin",
        repository="https://nvidia.github.io/k8s-device-plugin",
        # Moved from 0.20.1: the newest release whose chart source could be read (mirror ends at v0.20.0).
        version="0.20.0",
        app_version="0.20.0",
        checked=_VENDORED,
        source=(
            "NVIDIA/k8s-device-plugin tag v0.20.0 (2026-08-19), deployments/helm/nvidia-device-plugin/"
            "Chart.yaml, vendored under upstream/charts/. 0.20.1 appears in public guides but its source could "
            "not be read. ai-on-eks still pins 0.18.2."
        ),
    ),
    "gpu-operator": HelmChartPin(
        chart="gpu-operator",
        repository="https://helm.ngc.nvidia.com/nvidia",
        version="v26.7.0",  # this chart does use a leading "v"
        app_version="v26.7.0",
        checked=_VENDORED,
        source=(
            "NVIDIA/gpu-operator tag v26.7.0 (2026-08-20), deployments/gpu-operator, vendored under "
            "upstream/charts/. The tree's Chart.yaml holds placeholders (v1.0.0-devel / main-latest); "
            ".github/workflows/publish-helm-oci-chart.yaml packages it with --version and --app-version set to "
            "the release. ai-on-eks pins 26.3.0 and runs it with driver.enabled=false because EKS GPU AMIs ship "
            "the driver."
        ),
    ),
    "dcgm-exporter": HelmChartPin(
        chart="dcgm-exporter",
        repository="https://nvidia.github.io/dcgm-exporter/helm-charts",
        version="4.8.1",
        app_version="4.8.1",  # Chart.yaml appVersion; the image tag adds the DCGM version (4.5.2-4.8.1-*)
        checked=_VENDORED,
        source=(
            "NVIDIA/dcgm-exporter tag 4.5.2-4.8.1, deployment/Chart.yaml (version 4.8.1, appVersion 4.8.1), "
            "vendored under upstream/charts/. ai-on-eks pins the same chart. Chart 4.8.2 (tag 4.5.3-4.8.2) "
            "also exists upstream."
        ),
    ),
    "metrics-server": HelmChartPin(
        chart="metrics-server",
        repository="https://kubernetes-sigs.github.io/metrics-server/",
        # Moved from 3.14.0: the newest chart whose source could be read (tag
        # metrics-server-helm-chart-3.13.1; metrics-server v0.9.0 is tagged but no chart for it is).
        version="3.13.1",
        app_version="0.8.1",
        checked=_VENDORED,
        source=(
            "kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1, charts/metrics-server/"
            "Chart.yaml (appVersion 0.8.1), vendored under upstream/charts/. A 3.14.0 chart with app 0.9.0 "
            "appears in public lab logs but its source could not be read. (EKS also offers a metrics-server "
            "managed add-on if the add-on route is preferred.)"
        ),
    ),
    "kube-prometheus-stack": HelmChartPin(
        chart="kube-prometheus-stack",
        repository="https://prometheus-community.github.io/helm-charts",
        # Moved from 89.2.2: the newest release whose chart source could be read (mirror ends at 88.5.3).
        version="88.5.3",
        app_version="v0.93.1",  # Prometheus Operator version the chart ships
        checked=_VENDORED,
        source=(
            "prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3, charts/kube-prometheus-stack/"
            "Chart.yaml (appVersion v0.93.1; subcharts grafana 12.11.1 from grafana-community, "
            "prometheus-node-exporter 4.56.1, kube-state-metrics 8.4.0), vendored with those subcharts and its "
            "ServiceMonitor/PodMonitor/PrometheusRule CRDs under upstream/. 89.2.x was reported in public "
            "deployment records but its source could not be read. Major bumps need the CRDs re-applied by "
            "hand."
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
        # Chart.yaml declares no appVersion: the controller image tag defaults to "v" + the chart version
        # (templates/_helpers.tpl, trainer.defaultImageTag).
        app_version="v2.3.0",
        checked=_VENDORED,
        source=(
            "kubeflow/trainer tag v2.3.0: charts/kubeflow-trainer (depends on jobset 0.12.0, condition "
            "jobset.install) and manifests/base/crds, vendored under upstream/ with the jobset 0.12.0 chart "
            "and CRD. https://github.com/kubeflow/trainer/releases/tag/v2.3.0. 2.3.0 moved the CRDs into "
            "chart templates, so helm upgrades now update them. Install into kubeflow-system; needs "
            "Kubernetes >= 1.31. Clusters on Trainer 2.0-2.2 must pass through 2.3 before any later version."
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
        checked=_VENDORED,
        source=(
            "NO published Helm chart exists for the legacy v1 operator (PyTorchJob, kubeflow.org/v1): "
            "upstream ships kustomize only; the only chart seen was the community awslabs/kubeflow-manifests "
            "one, which stopped at Kubeflow 1.7. Newest v1 tag seen: v1.9.3, used as "
            "manifests/overlays/standalone?ref=v1.9.3 in several public GitHub guides; kubeflow.org "
            "docs/components/trainer/legacy-v1 marks v1 as legacy. The tag's PyTorchJob CRD "
            "(manifests/base/crds/kubeflow.org_pytorchjobs.yaml) is vendored under upstream/crds/; no chart "
            "values exist to vendor. Do not run it next to Trainer v2 "
            "without checking for overlapping webhooks."
        ),
    ),
    "kueue": HelmChartPin(
        chart="kueue",
        repository="oci://registry.k8s.io/kueue/charts",
        # Moved from 0.19.7: the newest release whose chart and CRDs could be read (mirror ends at v0.19.2).
        version="0.19.2",
        app_version="v0.19.2",
        checked=_VENDORED,
        source=(
            "kubernetes-sigs/kueue tag v0.19.2 (2026-08-20): charts/kueue/Chart.yaml and "
            "config/components/crd/bases, vendored under upstream/. 0.19.7 appears in public setup guides but "
            "its source could not be read. Read each .0 release note you cross when upgrading (0.18.0 changed "
            "webhook namespace exclusions)."
        ),
    ),
    "aws-efa-k8s-device-plugin": HelmChartPin(
        chart="aws-efa-k8s-device-plugin",
        repository="https://aws.github.io/eks-charts",
        version="v0.5.7",  # this chart uses a leading "v"
        app_version="v0.5.4",  # Chart.yaml appVersion (the chart and the plugin are versioned apart)
        checked=_VENDORED,
        source=(
            "aws/eks-charts tag v0.0.188, stable/aws-efa-k8s-device-plugin/Chart.yaml (version v0.5.7, "
            "appVersion v0.5.4), vendored under upstream/charts/. Pinned by aws-ia/terraform-aws-eks-blueprints "
            "patterns. Newer charts exist upstream (v0.5.30 with plugin v0.5.20 at eks-charts v0.0.241); moving "
            "to one is a plugin upgrade to test on EFA hardware, not a metadata fix."
        ),
    ),
    "keda": HelmChartPin(
        chart="keda",
        repository="https://kedacore.github.io/charts",
        version="2.20.2",
        app_version="2.20.2",  # KEDA releases chart and operator at the same version
        checked="2026-11-30",
        source=(
            "Newest release present in both upstream mirrors on the check date: kedacore/keda tag v2.20.2 "
            "(2026-07-31; config/crd/bases/ holds the ScaledObject and TriggerAuthentication CRDs) and "
            "kedacore/charts tag v2.20.2 (keda/Chart.yaml version 2.20.2, appVersion 2.20.2). Chart values "
            "facts, CRDs and scaler trigger-key facts are vendored under upstream/ (MANIFEST.json). The "
            "chart installs its CRDs from templates (crds.install), so helm upgrades update them."
        ),
    ),
    "aws-fsx-csi-driver": HelmChartPin(
        # Fallback only: prefer the EKS managed add-on where EKS_ADDONS offers it.
        chart="aws-fsx-csi-driver",
        repository="https://kubernetes-sigs.github.io/aws-fsx-csi-driver",
        version="1.17.0",
        app_version="1.9.0",
        checked=_VENDORED,
        source=(
            "kubernetes-sigs/aws-fsx-csi-driver tag helm-chart-aws-fsx-csi-driver-1.17.0 (2026-04-21), "
            "charts/aws-fsx-csi-driver/Chart.yaml (appVersion 1.9.0), vendored under upstream/charts/."
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
    # vLLM's OpenAI-compatible server.  v0.29.0 is the newest release found (public
    # compose files and deploy notes pin it; v0.28.0 and v0.27.1 were seen running
    # on L40S/RTX hardware).  Its plain tag is built on CUDA 13.0, which needs an
    # R580+ driver; the -cu129 build of the same release (published on the same tag,
    # per the v0.29.0 install notes and public build scripts using
    # vllm/vllm-openai:v0.29.0-cu129) runs on any R525+ driver through CUDA minor
    # version compatibility, so it works on both EKS NVIDIA AMI families whatever
    # driver branch they ship (the same reasoning as the CUDA 12.6 PyTorch image).
    "gpu-inference": "docker.io/vllm/vllm-openai:v0.29.0-cu129",
    # AWS CLI v2 for the model-loading init container (``aws s3 sync`` into the
    # model cache).  2.36.7 is the newest release tag in the aws/aws-cli mirror on
    # the check date (2026-07-23); AWS publishes every v2 release to this repository.
    # Newer tags (2.36.46) were seen pinned in public code but not confirmed upstream.
    "model-loader": "public.ecr.aws/aws-cli/aws-cli:2.36.7",
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
