"""Ingress rules, through the analyzer: internal by default, TLS for what faces the internet."""

from __future__ import annotations

import json

import pytest

from tests.policy_helpers import Case, case_id, k8s, run_case

ALB = "alb.ingress.kubernetes.io/"
SVC = "service.beta.kubernetes.io/"
EXTERNAL = {"mlplatform.io/exposure": "external"}
TLS = {f"{ALB}scheme": "internet-facing", f"{ALB}certificate-arn": "arn:aws:acm:us-west-2:1:certificate/x",
       f"{ALB}listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]), f"{ALB}ssl-redirect": "443",
       f"{ALB}ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}


def ingress(name, annotations=None, cls="alb", tls=None):
    spec = {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": name, "port": {"number": 80}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    if tls:
        spec["tls"] = tls
    return k8s("networking.k8s.io/v1", "Ingress", name, spec=spec, annotations=annotations or {})


def lb_service(name, annotations=None):
    return k8s("v1", "Service", name, annotations=annotations or {},
               spec={"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 443, "targetPort": 8443}]})


NLB = {f"{SVC}aws-load-balancer-type": "external", f"{SVC}aws-load-balancer-nlb-target-type": "ip"}

CASES = [
    Case("load-balancers-internal", True, ingress("web"), contains="scheme is unset", label="ingress-default"),
    Case("load-balancers-internal", True, ingress("web-public", {f"{ALB}scheme": "internet-facing"}),
         label="ingress-internet-facing-unannotated"),
    Case("load-balancers-internal", True, lb_service("nlb", NLB), label="service-default"),
    Case("load-balancers-internal", True, ingress("ext", {**TLS, **EXTERNAL}),
         config={"load-balancers-internal": {"allowExternal": False}}, contains="not allowed", label="external-off"),
    Case("load-balancers-internal", True, ingress("noclass", cls=None), label="ingress-default-class"),
    Case("load-balancers-internal", False, ingress("web", {f"{ALB}scheme": "internal"}), label="ingress-internal"),
    Case("load-balancers-internal", False, lb_service("nlb", {**NLB, f"{SVC}aws-load-balancer-scheme": "internal"}),
         label="service-internal"),
    Case("load-balancers-internal", False, ingress("ext", {**TLS, **EXTERNAL}), label="external-opt-in"),
    Case("load-balancers-internal", False, ingress("nginx", cls="nginx"), label="other-controller"),
    Case("load-balancers-internal", False,
         k8s("v1", "Service", "cluster-ip", spec={"selector": {"app": "x"}, "ports": [{"port": 80}]}),
         label="cluster-ip"),

    Case("external-endpoints-use-tls", True, ingress("plain", {f"{ALB}scheme": "internet-facing", **EXTERNAL}),
         contains="certificate-arn", label="ingress-no-tls", covers=('CIS 5.4.5',)),
    Case("external-endpoints-use-tls", True,
         ingress("old-tls", {**TLS, **EXTERNAL, f"{ALB}ssl-policy": "ELBSecurityPolicy-2016-08"}),
         contains="TLS 1.0/1.1", label="ingress-old-policy"),
    Case("external-endpoints-use-tls", True,
         ingress("no-redirect", {k: v for k, v in {**TLS, **EXTERNAL}.items() if k != f"{ALB}ssl-redirect"}),
         contains="ssl-redirect", label="ingress-no-redirect"),
    Case("external-endpoints-use-tls", True,
         lb_service("nlb-ext", {**NLB, f"{SVC}aws-load-balancer-scheme": "internet-facing", **EXTERNAL}),
         contains="ssl-cert", label="nlb-no-cert"),
    Case("external-endpoints-use-tls", False, ingress("ext", {**TLS, **EXTERNAL}), label="ingress-tls",
         covers=('CIS 5.4.5',)),
    Case("external-endpoints-use-tls", False,
         ingress("ext-spec-tls", {k: v for k, v in {**TLS, **EXTERNAL}.items() if k != f"{ALB}certificate-arn"},
                 tls=[{"hosts": ["api.example.com"]}]), label="ingress-cert-discovery"),
    Case("external-endpoints-use-tls", False,
         lb_service("nlb-tls", {**NLB, f"{SVC}aws-load-balancer-scheme": "internet-facing", **EXTERNAL,
                                f"{SVC}aws-load-balancer-ssl-cert": "arn:aws:acm:us-west-2:1:certificate/x",
                                f"{SVC}aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
         label="nlb-tls"),
    Case("external-endpoints-use-tls", False, ingress("internal", {f"{ALB}scheme": "internal"}), label="internal"),
]


NGINX = "nginx.ingress.kubernetes.io/"
SNIPPETS = ("CKV_K8S_152", "CKV_K8S_153", "CKV_K8S_154")

CASES += [
    Case("ingress-no-config-snippets", True,
         ingress("lua", {f"{NGINX}configuration-snippet": "access_by_lua_block { ngx.say('x') }"}, cls="nginx"),
         contains="configuration-snippet", label="lua", covers=("CKV_K8S_152", "CKV_K8S_153")),
    Case("ingress-no-config-snippets", True,
         ingress("alias", {f"{NGINX}server-snippet": "location /x { alias /var/run/secrets/; }"}, cls="nginx"),
         label="alias", covers=("CKV_K8S_154", "CKV_K8S_153")),
    Case("ingress-no-config-snippets", True,
         ingress("plain", {f"{NGINX}auth-snippet": "proxy_set_header X-A b;"}, cls="nginx"), label="any-snippet",
         covers=("CKV_K8S_153",)),
    Case("ingress-no-config-snippets", False,
         ingress("ok", {f"{NGINX}rewrite-target": "/", f"{ALB}scheme": "internal"}), label="no-snippet",
         covers=SNIPPETS),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_ingress_rules(case: Case) -> None:
    run_case(case)
