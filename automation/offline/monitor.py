"""A mock resource monitor that records every registration the way the engine sees it.

The stock ``MockMonitor`` deserializes inputs on its worker thread, which
rehydrates resource references on the wrong event loop and loses them for
recording. This monitor keeps the wire form instead: references stay
``{urn, id}`` and secrets stay marked, so the plan can hand the analyzer the
same shapes the engine would (references flattened to their ID, or URN).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import empty_pb2, json_format

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

from .mocks import RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN, PlatformMocks, fake_id


@dataclass
class Registration:
    """One resource registration, as recorded for the plan."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    remote: bool
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    wire_inputs: dict  # wire form: secrets and references still marked
    id: str = ""
    wire_outputs: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    origin: str = "program"  # "program", or "expanded" for objects the harness expanded offline
    #: Not created yet (a first preview): the ID and every computed output are unknown.
    pending: bool = False

    @property
    def inputs(self) -> dict:
        """Plain inputs: secrets unwrapped, references flattened to ID (or URN)."""
        return plain(self.wire_inputs)

    @property
    def outputs(self) -> dict:
        return plain(self.wire_outputs)

    @property
    def protect(self) -> bool:
        return bool(self.options.get("protect"))


def _intify(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _intify(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_intify(x) for x in v]
    return v


def flatten_refs(v: Any) -> Any:
    """Replace resource references with their ID (or URN when they have none), as the engine does for analyzers."""
    if isinstance(v, dict):
        if v.get(SIG_KEY) == RESOURCE_SIG:
            return v.get("id") or v.get("urn", "")
        return {k: flatten_refs(x) for k, x in v.items()}
    if isinstance(v, list):
        return [flatten_refs(x) for x in v]
    return v


def plain(v: Any) -> Any:
    """Secrets unwrapped and references flattened."""
    v = flatten_refs(v)
    return _unwrap_secrets(v)


def _unwrap_secrets(v: Any) -> Any:
    if isinstance(v, dict):
        if v.get(SIG_KEY) == SECRET_SIG:
            return _unwrap_secrets(v.get("value"))
        return {k: _unwrap_secrets(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unwrap_secrets(x) for x in v]
    return v


def mask_secrets(v: Any, mask: str = "[secret]") -> Any:
    """Secrets replaced by ``mask``, so nothing secret is ever written to a plan file."""
    if isinstance(v, dict):
        if v.get(SIG_KEY) == SECRET_SIG:
            return mask
        if v.get(SIG_KEY) == RESOURCE_SIG:
            return v.get("id") or v.get("urn", "")
        return {k: mask_secrets(x, mask) for k, x in v.items()}
    if isinstance(v, list):
        return [mask_secrets(x, mask) for x in v]
    return v


def secret_paths(v: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every secret inside ``v``."""
    out: list[str] = []
    if isinstance(v, dict):
        if v.get(SIG_KEY) == SECRET_SIG:
            return [prefix or "."]
        for k, x in v.items():
            out += secret_paths(x, f"{prefix}.{k}" if prefix else k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += secret_paths(x, f"{prefix}[{i}]")
    return out


def holds_unknown(v: Any) -> bool:
    """Does ``v`` (wire form) hold the engine's unknown value anywhere?"""
    if isinstance(v, dict):
        return any(holds_unknown(x) for x in v.values())
    if isinstance(v, list):
        return any(holds_unknown(x) for x in v)
    return v == UNKNOWN


def _provider_urn(ref: str) -> str:
    return ref.rsplit("::", 1)[0] if ref else ""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """``MockMonitor`` that records registrations and answers pulumi-eks resource outputs."""

    def __init__(self, mocks: PlatformMocks):
        super().__init__(mocks)
        self.records: dict[str, Registration] = {}
        self.order: list[str] = []
        self.stack_urn = ""
        self.stack_outputs: dict = {}
        self.component_outputs: dict[str, dict] = {}
        self._lock = threading.Lock()
        mocks.synthesize = self._synthesize

    # -- helpers

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine writes them: children of the stack carry no ``pulumi:pulumi:Stack$`` prefix."""
        if parent:
            parent_type = parent.split("::")[2].split("$")[-1]
            if parent_type != "pulumi:pulumi:Stack":
                parent_qualified = parent.split("::")[2]
                type_ = f"{parent_qualified}${type_}"
        return "urn:pulumi:" + "::".join([self._stack(), self._project(), type_, name])

    @staticmethod
    def _stack() -> str:
        from pulumi.runtime.settings import get_stack

        return get_stack()

    @staticmethod
    def _project() -> str:
        from pulumi.runtime.settings import get_project

        return get_project()

    def _synthesize(self, parent_urn: str, type_: str, name: str, outputs: dict) -> dict:
        urn = self.make_urn(parent_urn, type_, name)
        custom = not type_.startswith(("eks:", "pulumi:pulumi:"))
        rid = outputs.get("id") or (fake_id(type_, name, outputs) if custom else "")
        state = {"id": rid, **outputs} if rid else dict(outputs)
        with self._lock:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, rid, state)
        ref = {SIG_KEY: RESOURCE_SIG, "urn": urn, "packageVersion": ""}
        if rid:
            ref["id"] = rid
        return ref

    # -- ResourceMonitor service

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)

        wire = _intify(json_format.MessageToDict(request.object))
        inputs = plain(wire)
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        args.urn = urn  # type: ignore[attr-defined]  # lets the mocks synthesize children under this URN
        rid, state = self.mocks.new_resource(args)
        rid = rid or ""
        # Echo untouched inputs in wire form so references and secrets survive the round trip.
        echo = {k: (wire[k] if k in wire and inputs.get(k) == v else v) for k, v in state.items()}
        obj_proto = _sync_await(rpc.serialize_properties(echo, {}))

        reg = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            remote=bool(request.remote),
            provider=_provider_urn(request.provider),
            dependencies=list(dict.fromkeys(request.dependencies)),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            wire_inputs=wire,
            id=rid,
            wire_outputs=echo,
            pending=self.mocks.fresh,
            options={
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "ignoreChanges": list(request.ignoreChanges),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "replaceOnChanges": list(request.replaceOnChanges),
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
                "aliases": [json_format.MessageToDict(a) for a in request.aliases],
                "deletedWith": request.deletedWith,
                "customTimeouts": json_format.MessageToDict(request.customTimeouts)
                if request.HasField("customTimeouts") else {},
                "importId": request.importId,
                "version": request.version,
            },
        )
        with self._lock:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, rid, echo)
            if urn in self.records:
                raise RuntimeError(f"duplicate resource URN {urn}")
            self.records[urn] = reg
            self.order.append(urn)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=rid, object=obj_proto)

    def Invoke(self, request):  # noqa: N802
        # In a preview, an invoke over an unknown argument cannot be answered: its result is unknown as a
        # whole (an unknown ARN makes the whole getPolicyDocument unknown). The SDK short-circuits most such
        # invokes itself but not an unknown inside a list of strings (rpc.struct_contains_unknowns), e.g. a
        # principal's identifiers; those reach the monitor and are answered unknown here.
        if self.mocks.fresh and holds_unknown(json_format.MessageToDict(request.args)):
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    def ReadResource(self, request):  # noqa: N802
        # Reads (Resource.get) carry only an ID; answer like a create without recording a registration.
        state = _intify(json_format.MessageToDict(request.properties))
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=plain(state),
            provider=request.provider, resource_id=request.id, custom=True,
        )
        urn = self.make_urn(request.parent, request.type, request.name)
        args.urn = urn  # type: ignore[attr-defined]
        _, out = self.mocks.new_resource(args)
        with self._lock:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, request.id, out)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_sync_await(rpc.serialize_properties(out, {})))

    def RegisterResourceOutputs(self, request):  # noqa: N802
        outs = _intify(json_format.MessageToDict(request.outputs))
        with self._lock:
            if request.urn == self.stack_urn:
                self.stack_outputs = outs
            else:
                self.component_outputs[request.urn] = outs
        return empty_pb2.Empty()

    # -- queries used by tests and the plan

    def registrations(self) -> list[Registration]:
        with self._lock:
            return [self.records[u] for u in self.order]

    def add_expanded(self, reg: Registration) -> None:
        with self._lock:
            self.records[reg.urn] = reg
            self.order.append(reg.urn)
