"""Per-stack enforcement config and tunables, through GetAnalyzerInfo and Configure."""

from __future__ import annotations

import pytest

from automation.offline.analyzer import PolicyPackError, merge_pack_config
from tests.policy_helpers import TAGS, analyze, client, configure, container, deployment, hits, load_config, pod_spec, res

#: The rules dev lowers to advisory, and why (the README's "Per-stack levels" says the same).
DEV_ADVISORY = {
    "eks-deletion-protection",      # dev clusters are torn down and rebuilt on purpose
    "stateful-data-protected",      # dev data is disposable (protectData: false)
    "read-only-root-filesystem",    # imported workloads are hardened in dev before prod enforces it
}


def levels(config: dict) -> dict[str, str]:
    return {name: cfg["enforcementLevel"] for name, cfg in configure(config).items()}


def test_builtin_defaults_are_the_strict_prod_levels() -> None:
    info = client().get_info()
    assert info.policies and {p.enforcement_level for p in info.policies} == {"mandatory"}
    assert set(levels({}).values()) == {"mandatory"}


def test_prod_config_makes_everything_mandatory() -> None:
    merged = levels(load_config("prod"))
    assert set(merged.values()) == {"mandatory"}
    assert len(merged) == len(client().get_info().policies)


def test_dev_config_lowers_exactly_the_intended_rules() -> None:
    merged = levels(load_config("dev"))
    assert {n for n, lvl in merged.items() if lvl == "advisory"} == DEV_ADVISORY
    assert {lvl for n, lvl in merged.items() if n not in DEV_ADVISORY} == {"mandatory"}


def test_dev_tightens_the_gpu_budget() -> None:
    merged = configure(load_config("dev"))
    assert merged["gpu-capacity-total"]["properties"] == {"maxGpuNodes": 8, "maxGpus": 16}
    assert configure({})["gpu-capacity-total"]["properties"] == {"maxGpuNodes": 32, "maxGpus": 128}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_configs_are_accepted_by_the_engine_rules(stack: str) -> None:
    """Unknown policies, levels or properties are refused (as the engine refuses them)."""
    merge_pack_config(client().get_info(), load_config(stack))


def test_unknown_keys_are_refused() -> None:
    info = client().get_info()
    with pytest.raises(PolicyPackError):
        merge_pack_config(info, {"_comment": "rationale lives in the README"})
    with pytest.raises(PolicyPackError):
        merge_pack_config(info, {"required-tags": {"requiredTagz": ["x"]}})


def test_a_tunable_changes_the_verdict() -> None:
    ghcr = deployment("ghcr", spec=pod_spec(container(image="ghcr.io/org/app:1.0")))
    assert not hits(analyze(ghcr), "approved-registries-and-pinned-tags")
    ecr_only = {"approved-registries-and-pinned-tags": {"approvedRegistries": ["*.dkr.ecr.*.amazonaws.com"]}}
    found = hits(analyze(ghcr, ecr_only), "approved-registries-and-pinned-tags")
    assert found and "ghcr.io" in found[0].message and found[0].level == "mandatory"


def test_dev_level_reaches_the_diagnostic() -> None:
    cluster = res("eks:index:Cluster", "c", {"version": "1.35", "deletionProtection": False, "tags": TAGS})
    assert [d.level for d in hits(analyze(cluster, load_config("prod")), "eks-deletion-protection")] == ["mandatory"]
    assert [d.level for d in hits(analyze(cluster, load_config("dev")), "eks-deletion-protection")] == ["advisory"]
    assert not hits(analyze(cluster, {"eks-deletion-protection": "disabled"}), "eks-deletion-protection")


def test_every_policy_documents_itself() -> None:
    """Description, remediation, and every tunable with a type, a default and a description."""
    for p in client().get_info().policies:
        assert p.description and p.remediation, p.name
        for prop, schema in (p.config_schema.get("properties") or {}).items():
            assert {"type", "default", "description"} <= set(schema), (p.name, prop)


def test_required_tunables_and_their_defaults() -> None:
    props = {name: cfg["properties"] for name, cfg in configure({}).items()}
    assert props["eks-public-endpoint-restricted"]["allowedPublicCidrs"] == []
    registries = props["approved-registries-and-pinned-tags"]["approvedRegistries"]
    assert {"docker.io", "ghcr.io", "nvcr.io", "public.ecr.aws", "registry.k8s.io", "quay.io"} <= set(registries)
    assert props["gpu-instance-allowlist"]["allowedGpuFamilies"] == [
        "g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en"]
    assert props["gpu-node-limits"]["maxGpuNodesPerPool"] > 0 and props["gpu-capacity-total"]["maxGpuNodes"] > 0
    assert props["required-tags"]["requiredTags"] == ["owner", "cost-center", "environment"]
    from components.versions import SUPPORTED_KUBERNETES_VERSIONS

    assert props["eks-supported-version"]["supportedVersions"] == list(SUPPORTED_KUBERNETES_VERSIONS)
