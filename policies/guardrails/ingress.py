"""Ingress rules: load balancers are internal unless a workload opts out on purpose, and external ones use TLS.

The stack rule that ties every load balancer to the AWS Load Balancer
Controller (destroy order) lives in ``stack.py``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from guardrails._meta import Ctx, resource_rule
from guardrails.common import annotations, obj
from guardrails.podspecs import kind_of

K8S = ("kubernetes:",)
EXPOSURE = "mlplatform.io/exposure"
SVC_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
SVC_INTERNAL_LEGACY = "service.beta.kubernetes.io/aws-load-balancer-internal"
SVC_SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
SVC_SSL_POLICY = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
ALB = "alb.ingress.kubernetes.io/"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def is_load_balancer_service(resource_type: str, props: Mapping[str, Any]) -> bool:
    return kind_of(resource_type, props) == "Service" and obj(props.get("spec")).get("type") == "LoadBalancer"


def is_alb_ingress(resource_type: str, props: Mapping[str, Any], classes: Iterable[str] = ("alb",)) -> bool:
    """An Ingress served by the AWS Load Balancer Controller; an Ingress with no class counts (the platform's only
    controller owns the default class)."""
    if kind_of(resource_type, props) != "Ingress":
        return False
    cls = obj(props.get("spec")).get("ingressClassName") or annotations(props.get("metadata")).get(INGRESS_CLASS_ANNOTATION)
    return not cls or cls in set(classes)


def service_internal(ann: Mapping[str, Any]) -> bool:
    return ann.get(SVC_SCHEME) == "internal" or str(ann.get(SVC_INTERNAL_LEGACY, "")).lower() == "true"


def tls12_policy(name: Any) -> bool:
    """ELB security policies that refuse TLS 1.0/1.1 carry TLS13, TLS-1-2, TLS-1-3 or FS-1-2 in their names."""
    n = str(name or "").upper()
    return any(mark in n for mark in ("TLS13", "TLS-1-2", "TLS-1-3", "FS-1-2"))


@resource_rule(
    name="load-balancers-internal",
    description="LoadBalancer Services and ALB Ingresses are internal, unless annotated "
                f"{EXPOSURE}: external and external exposure is allowed.",
    remediation=f"Annotate Services {SVC_SCHEME}: internal and Ingresses {ALB}scheme: internal; an endpoint "
                f"meant for the internet also carries {EXPOSURE}: external (and must use TLS).",
    type_prefixes=K8S,
    config={
        "allowExternal": {"type": "boolean", "default": True,
                          "description": f"Accept internet-facing load balancers annotated {EXPOSURE}: external."},
        "albIngressClasses": {"type": "array", "items": {"type": "string"}, "default": ["alb"],
                              "description": "IngressClass names served by the AWS Load Balancer Controller."},
    },
)
def load_balancers_internal(props: dict, ctx: Ctx) -> Iterable[str]:
    ann = annotations(props.get("metadata"))
    if is_load_balancer_service(ctx.type, props):
        internal, what = service_internal(ann), f"{SVC_SCHEME} is {ann.get(SVC_SCHEME) or 'unset'}"
    elif is_alb_ingress(ctx.type, props, ctx.config.get("albIngressClasses") or ["alb"]):
        internal, what = ann.get(f"{ALB}scheme") == "internal", f"{ALB}scheme is {ann.get(f'{ALB}scheme') or 'unset'}"
    else:
        return
    if internal:
        return
    if ann.get(EXPOSURE) == "external":
        if not ctx.config.get("allowExternal", True):
            yield f"the load balancer is internet-facing ({what}) and external exposure is not allowed here"
        return
    yield f"the load balancer is not internal ({what}) and is not annotated {EXPOSURE}: external"


def _listen_ports(value: Any) -> list:
    try:
        ports = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return ports if isinstance(ports, list) else []


@resource_rule(
    name="external-endpoints-use-tls",
    description="Internet-facing load balancers terminate TLS 1.2+ with a certificate and redirect HTTP to HTTPS.",
    remediation=f"ALB Ingress: {ALB}certificate-arn (or spec.tls), {ALB}listen-ports with HTTPS, "
                f"{ALB}ssl-redirect and a TLS 1.2+ {ALB}ssl-policy. NLB Service: {SVC_SSL_CERT} and a TLS 1.2+ "
                f"{SVC_SSL_POLICY}.",
    type_prefixes=K8S,
    cis=("5.4.5",),
)
def external_endpoints_use_tls(props: dict, ctx: Ctx) -> Iterable[str]:
    ann = annotations(props.get("metadata"))
    if is_alb_ingress(ctx.type, props, ("alb",)) or (kind_of(ctx.type, props) == "Ingress"
                                                      and any(str(k).startswith(ALB) for k in ann)):
        if ann.get(f"{ALB}scheme") != "internet-facing" and ann.get(EXPOSURE) != "external":
            return
        if not ann.get(f"{ALB}certificate-arn") and not obj(props.get("spec")).get("tls"):
            yield f"internet-facing Ingress without {ALB}certificate-arn (or spec.tls)"
        ports = _listen_ports(ann.get(f"{ALB}listen-ports"))
        if not any(isinstance(p, Mapping) and "HTTPS" in p for p in ports):
            yield f"internet-facing Ingress does not listen on HTTPS ({ALB}listen-ports)"
        if not ann.get(f"{ALB}ssl-redirect"):
            yield f"internet-facing Ingress does not redirect HTTP to HTTPS ({ALB}ssl-redirect)"
        if not tls12_policy(ann.get(f"{ALB}ssl-policy")):
            yield (f"internet-facing Ingress ssl-policy is {ann.get(f'{ALB}ssl-policy') or 'the controller default'}, "
                   f"which still accepts TLS 1.0/1.1")
    elif is_load_balancer_service(ctx.type, props):
        if ann.get(SVC_SCHEME) != "internet-facing" and ann.get(EXPOSURE) != "external":
            return
        if not ann.get(SVC_SSL_CERT):
            yield f"internet-facing LoadBalancer Service without {SVC_SSL_CERT} (traffic is not encrypted)"
        if not tls12_policy(ann.get(SVC_SSL_POLICY)):
            yield (f"internet-facing LoadBalancer Service negotiation policy is "
                   f"{ann.get(SVC_SSL_POLICY) or 'the default'}, which still accepts TLS 1.0/1.1")


@resource_rule(
    name="ingress-no-config-snippets",
    description="Ingresses carry no configuration-snippet annotations (NGINX *-snippet and the like): a snippet is "
                "raw controller configuration, and through it an Ingress author can run Lua, alias files or read "
                "the controller's service-account token (CVE-2021-25742).",
    remediation="Remove the *-snippet annotations and use the controller's supported annotations or a "
                "reviewed ConfigMap; keep the controller's allow-snippet-annotations off.",
    type_prefixes=K8S,
    checkov=("CKV_K8S_152", "CKV_K8S_153", "CKV_K8S_154"),
)
def ingress_no_config_snippets(props: dict, ctx: Ctx) -> Iterable[str]:
    if kind_of(ctx.type, props) != "Ingress":
        return
    for key in sorted(annotations(props.get("metadata"))):
        if "snippet" in str(key):
            yield f"annotation {key} injects raw controller configuration"
