"""Inference: the hardened Deployment, Service, HPA, PDB, and internal-by-default load balancers."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.conventions import ACCELERATOR_LABEL, GPU_RESOURCE, GPU_TAINT_KEY
from components.workloads.inference import InferenceService, InferenceServiceArgs
from tests.helpers import minimal_config, policy_doc, run_component
from tests.workload_helpers import (BUCKET, bucket_arn, by_suffix, depends_on, identity, lb_controller_release,
                                    names, one, provider, verdicts)

CERT = "arn:aws:acm:us-west-2:111122223333:certificate/12345678-1234-1234-1234-123456789012"
CFG = minimal_config(
    # Quotas sized for every endpoint at maxReplicas (the config refuses endpoints that cannot scale that far).
    teams={"serving": {"gpu": 8, "cpu": "96", "memory": "512Gi"}, "inference": {}},
    fargateProfiles={"serverless": {"selectors": [{"namespace": "inference", "labels": {"compute": "fargate"}}]}},
    inferenceEndpoints={
        "embeddings": {"team": "inference", "placement": "fargate", "healthPath": "/health"},
        "llm": {"team": "serving", "placement": "gpu", "gpus": 1, "cpu": "8", "memory": "48Gi", "port": 8000,
                "healthPath": "/health", "internal": False, "certificateArn": CERT, "hpaMetric": "memory",
                "replicas": 2, "maxReplicas": 6},
        "ranker": {"team": "serving", "exposure": "nlb"},
        "ranker-public": {"team": "serving", "exposure": "nlb", "internal": False, "certificateArn": CERT},
        "batch": {"team": "serving", "exposure": "none", "replicas": 1, "maxReplicas": 1},
    },
)


def build(endpoint: str, with_lb: bool = True, labels=None):
    ep = CFG.inferenceEndpoints[endpoint]

    def body(env):
        p = provider()
        lb = lb_controller_release(p) if with_lb else None
        InferenceService(f"endpoint-{endpoint}", InferenceServiceArgs(
            endpoint=endpoint, config=ep, namespace=ep.team, provider=p, identity=identity(env, p),
            data_bucket_name=BUCKET, data_bucket_arn=bucket_arn(env), lb_controller=lb,
            fargate_labels=labels if labels is not None else ({"compute": "fargate"} if ep.placement == "fargate"
                                                             else {})))
    return run_component(body)


@pytest.fixture(scope="module")
def emb():
    return build("embeddings")


@pytest.fixture(scope="module")
def llm():
    return build("llm")


def pod_spec(run):
    return one(run, "apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def test_deployment_is_pinned_probed_guaranteed_and_hardened(emb):
    dep = one(emb, "apps/v1:Deployment").inputs
    assert dep["metadata"]["namespace"] == "inference" and dep["spec"]["replicas"] == 2
    spec = dep["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["image"] == versions.IMAGES["cpu-inference"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "embeddings-server"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in vols[mounts["/tmp"]] and "emptyDir" in vols[mounts["/models"]]
    zone = [t for t in spec["topologySpreadConstraints"] if t["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zone and zone[0]["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


def test_fargate_pods_carry_the_profile_labels_and_no_gpu_placement(emb):
    dep = one(emb, "apps/v1:Deployment").inputs
    assert dep["spec"]["template"]["metadata"]["labels"]["compute"] == "fargate"
    assert "tolerations" not in dep["spec"]["template"]["spec"]


def test_gpu_endpoint_tolerates_the_taint_and_asks_for_whole_gpus(llm):
    spec = pod_spec(llm)
    assert {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["key"] == ACCELERATOR_LABEL
    (c,) = spec["containers"]
    assert c["image"] == versions.IMAGES["gpu-inference"]
    assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": "8", "memory": "48Gi",
                                                                      GPU_RESOURCE: "1"}
    assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in spec["volumes"])


def test_hpa_scales_on_the_configured_resource_metric(llm, emb):
    hpa = one(llm, ":HorizontalPodAutoscaler").inputs["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    (resource,) = hpa["metrics"]
    assert resource["resource"] == {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 70}}
    # Unset hpaMetric/targetUtilization keep their old meaning: CPU at 70 %.
    (cpu,) = one(emb, ":HorizontalPodAutoscaler").inputs["spec"]["metrics"]
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert not by_suffix(llm, ":ScaledObject")


def test_pdb_selects_the_endpoint_pods(emb):
    pdb = one(emb, ":PodDisruptionBudget").inputs["spec"]
    dep = one(emb, "apps/v1:Deployment").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"] == dep["selector"]


def test_alb_is_internal_by_default_and_depends_on_the_controller(emb):
    ing = one(emb, ":Ingress")
    a = ing.inputs["metadata"]["annotations"]
    assert ing.inputs["spec"]["ingressClassName"] == "alb"
    assert a["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert a["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert a["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    assert "mlplatform.io/exposure" not in a and "alb.ingress.kubernetes.io/certificate-arn" not in a
    assert depends_on(emb, ing, one(emb, ":Release", "lbc"))
    assert one(emb, "core/v1:Service").inputs["spec"]["type"] == "ClusterIP"


def test_external_alb_terminates_tls_and_redirects_http(llm):
    a = one(llm, ":Ingress").inputs["metadata"]["annotations"]
    assert a["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert a["mlplatform.io/exposure"] == "external"
    assert a["alb.ingress.kubernetes.io/certificate-arn"] == CERT
    assert json.loads(a["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert a["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert a["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13-1-2")


def test_nlb_internal_and_external():
    internal = build("ranker")
    svc = one(internal, "core/v1:Service")
    a = svc.inputs["metadata"]["annotations"]
    assert svc.inputs["spec"]["type"] == "LoadBalancer"
    assert a["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert a["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert a["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert depends_on(internal, svc, one(internal, ":Release", "lbc"))
    assert not by_suffix(internal, ":Ingress")

    public = build("ranker-public")
    svc = one(public, "core/v1:Service")
    a = svc.inputs["metadata"]["annotations"]
    assert a["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert a["mlplatform.io/exposure"] == "external"
    assert a["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == CERT
    assert svc.inputs["spec"]["ports"][0]["port"] == 443


def test_cluster_only_endpoint_has_no_load_balancer_and_needs_no_controller():
    run = build("batch", with_lb=False)
    assert not by_suffix(run, ":Ingress")
    assert one(run, "core/v1:Service").inputs["spec"]["type"] == "ClusterIP"


def test_exposed_endpoint_without_a_controller_is_refused():
    with pytest.raises(Exception, match="needs the AWS Load Balancer Controller"):
        build("embeddings", with_lb=False)


def test_model_identity_reads_only_its_model_prefix(llm):
    (pol,) = by_suffix(llm, "iam/policy:Policy")
    doc = policy_doc(pol.inputs["policy"])
    actions = {a for s in doc["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion"}
    read = next(s for s in doc["Statement"] if s["Sid"] == "ReadObjects")
    assert read["Resource"] == f"arn:aws:s3:::{BUCKET}/models/llm/*"
    env = {e["name"]: e["value"] for e in pod_spec(llm)["containers"][0]["env"]}
    assert env["MODEL_URI"] == f"s3://{BUCKET}/models/llm/"


def test_hostname_is_the_load_balancer_address(emb):
    status = one(emb, ":Ingress").outputs["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert status.startswith("internal-")


@pytest.mark.parametrize("endpoint", ["embeddings", "llm", "ranker-public"])
def test_endpoints_pass_the_policy_pack(endpoint):
    diags = verdicts(build(endpoint))
    assert diags == [], [(d.policy, d.urn, d.message) for d in diags]


def test_policy_pack_flags_an_external_load_balancer_that_skips_the_conventions():
    def body(env):
        import pulumi_kubernetes as k8s
        k8s.networking.v1.Ingress("raw", metadata={"name": "raw", "namespace": "serving", "annotations": {
            "alb.ingress.kubernetes.io/scheme": "internet-facing"}}, spec={"ingressClassName": "alb"})
    got = names(verdicts(run_component(body)))
    assert {"load-balancers-internal", "external-endpoints-use-tls", "load-balancers-depend-on-controller"} <= got


def test_fargate_endpoint_uses_irsa_because_fargate_has_no_pod_identity_agent(emb):
    from tests.helpers import of_type
    from tests.workload_helpers import ISSUER

    assert not of_type(emb, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    (role,) = by_suffix(emb, "iam/role:Role")
    cond = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert cond[f"{ISSUER}:sub"] == "system:serviceaccount:inference:embeddings-server"
    sa = one(emb, ":ServiceAccount")
    assert sa.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}


def test_node_placed_endpoint_follows_the_stack_identity_mode(llm):
    from tests.helpers import of_type

    (assoc,) = of_type(llm, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("serving", "llm-server")
