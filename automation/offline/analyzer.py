"""Drive a Python policy pack over its gRPC ``Analyzer`` service, the way the Pulumi engine does.

The pack is started as the engine starts it (``python -u -m pulumi.policy
<engine-address> <pack-dir>``); it prints its port and serves. Then, in order:
``GetAnalyzerInfo``, ``Configure`` (schema defaults merged with the stack's
pack config), ``Analyze`` per resource on its inputs, and ``AnalyzeStack`` once
with every resource's outputs, parent and dependencies.

Two details the engine takes care of and this client copies: resource
references are flattened to the referenced resource's ID (or URN), because the
analyzer cannot read references; and resource-policy diagnostics come back
without a URN, so the analyzed resource's URN is attached here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2

from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from ..diagnostics import Diagnostic  # noqa: F401 - the one verdict type; re-exported for existing imports
from ..errors import PolicyPackError  # noqa: F401 - defined with the other errors; raised and re-exported here
from .mocks import UNKNOWN
from .monitor import Registration, flatten_refs

LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_ENUM = {v: k for k, v in LEVELS.items()}
_MAX_MESSAGE = 400 * 1024 * 1024
#: The Python policy host parses but does not use the engine address; the engine passes its own.
ENGINE_ADDRESS = "127.0.0.1:0"


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    config_schema: Mapping[str, Any]
    remediation: str
    policy_type: str  # "resource" | "stack"


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    policies: tuple[PolicyInfo, ...]

    def policy(self, name: str) -> PolicyInfo:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(value)))  # plain JSON types only
    return s


def merge_pack_config(info: PackInfo, user: Optional[Mapping[str, Any]]) -> dict[str, dict]:
    """Effective per-policy config: schema defaults, then ``all``, then the policy's own entry.

    Raises PolicyPackError for a policy the pack does not have, a level that does
    not exist, or a property outside the policy's schema (the engine refuses these too).
    """
    user = dict(user or {})
    names = {p.name for p in info.policies}
    for key in user:
        if key != "all" and key not in names:
            raise PolicyPackError(f"policy config names {key!r}, which pack {info.name} does not have")

    def level_of(entry: Any, where: str) -> Optional[str]:
        lvl = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
        if lvl is not None and lvl not in LEVEL_ENUM:
            raise PolicyPackError(f"policy config {where}: enforcement level {lvl!r} is not one of {sorted(LEVEL_ENUM)}")
        return lvl

    all_level = level_of(user.get("all"), "all")
    merged: dict[str, dict] = {}
    for p in info.policies:
        props = {k: v["default"] for k, v in (p.config_schema.get("properties") or {}).items() if "default" in v}
        level = all_level or p.enforcement_level
        entry = user.get(p.name)
        if entry is not None:
            level = level_of(entry, p.name) or level
            if isinstance(entry, dict):
                allowed = set((p.config_schema.get("properties") or {}))
                for k, v in entry.items():
                    if k == "enforcementLevel":
                        continue
                    if k not in allowed:
                        raise PolicyPackError(f"policy config {p.name}.{k}: the policy has no such setting")
                    props[k] = v
        merged[p.name] = {"enforcementLevel": level, "properties": props}
    return merged


class PolicyPackClient:
    """A running policy pack and a gRPC stub to it. Use as a context manager."""

    def __init__(self, pack_dir: Path, python: str = sys.executable, env: Optional[Mapping[str, str]] = None):
        self.pack_dir = Path(pack_dir).resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").exists():
            raise PolicyPackError(f"{self.pack_dir} is not a policy pack (no PulumiPolicy.yaml)")
        proc_env = {**os.environ, **(env or {})}
        # The pack imports only its own modules; keep the caller's project off its path.
        proc_env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(self.pack_dir)],
            cwd=self.pack_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=proc_env,
        )
        line = self.proc.stdout.readline().decode().strip() if self.proc.stdout else ""
        if not line.isdigit():
            self.proc.kill()
            err = (self.proc.stderr.read().decode() if self.proc.stderr else "").strip().splitlines()
            detail = err[-1] if err else f"printed {line!r} instead of a port"
            raise PolicyPackError(f"policy pack {self.pack_dir.name} did not start: {detail}")
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{line}",
            options=[("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)],
        )
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.info: Optional[PackInfo] = None

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def __enter__(self) -> "PolicyPackClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as exc:
            detail = exc.details() if hasattr(exc, "details") else str(exc)
            raise PolicyPackError(f"policy pack {method} failed: {detail}") from None

    # -- RPCs, in the engine's order

    def get_info(self) -> PackInfo:
        resp = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                enforcement_level=LEVELS.get(p.enforcementLevel, "advisory"),
                config_schema=json_format.MessageToDict(p.configSchema) if p.HasField("configSchema") else {},
                remediation=p.remediation_steps,
                policy_type="stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
            )
            for p in resp.policies
        )
        self.info = PackInfo(name=resp.name, version=resp.version, policies=policies)
        return self.info

    def configure(self, user_config: Optional[Mapping[str, Any]] = None) -> dict[str, dict]:
        info = self.info or self.get_info()
        merged = merge_pack_config(info, user_config)
        req = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, cfg in merged.items():
            req.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVEL_ENUM[cfg["enforcementLevel"]], properties=_struct(cfg["properties"])))
        self._call("Configure", req)
        return merged

    def analyze(self, reg: Registration, providers: Mapping[str, Registration] = {}) -> list[Diagnostic]:
        req = analyzer_pb2.AnalyzeRequest(
            type=reg.type,
            properties=_struct(flatten_refs(reg.wire_inputs)),
            urn=reg.urn,
            name=reg.name,
            options=_options(reg),
        )
        prov = providers.get(reg.provider)
        if prov is not None:
            req.provider.CopyFrom(analyzer_pb2.AnalyzerProviderResource(
                type=prov.type, properties=_struct(flatten_refs(prov.wire_inputs)), urn=prov.urn, name=prov.name))
        return self._diagnostics(self._call("Analyze", req), default_urn=reg.urn)

    def analyze_stack(self, regs: Iterable[Registration], providers: Mapping[str, Registration] = {}) -> list[Diagnostic]:
        req = analyzer_pb2.AnalyzeStackRequest()
        for reg in regs:
            res = analyzer_pb2.AnalyzerResource(
                type=reg.type,
                properties=_struct(stack_properties(reg)),
                urn=reg.urn,
                name=reg.name,
                options=_options(reg),
                parent=reg.parent,
                dependencies=reg.dependencies,
            )
            for key, urns in reg.property_dependencies.items():
                res.propertyDependencies[key].urns.extend(urns)
            prov = providers.get(reg.provider)
            if prov is not None:
                res.provider.CopyFrom(analyzer_pb2.AnalyzerProviderResource(
                    type=prov.type, properties=_struct(flatten_refs(prov.wire_inputs)), urn=prov.urn, name=prov.name))
            req.resources.append(res)
        return self._diagnostics(self._call("AnalyzeStack", req), default_urn="")

    def _diagnostics(self, resp: Any, default_urn: str) -> list[Diagnostic]:
        out = []
        for d in resp.diagnostics:
            text = d.message
            if d.description and text.startswith(d.description):
                text = text[len(d.description):].lstrip("\n")
            out.append(Diagnostic(
                policy=d.policyName,
                level=LEVELS.get(d.enforcementLevel, "advisory"),
                urn=d.urn or default_urn,
                message=text or d.description,
                description=d.description,
                pack=d.policyPackName,
                pack_version=d.policyPackVersion,
            ))
        return out

    @property
    def stderr(self) -> list[str]:
        return list(self._stderr)


def stack_properties(reg: Registration) -> dict:
    """What ``AnalyzeStack`` gets for one resource: its outputs, references flattened, and its ID.

    A resource a preview is about to create has an unknown ID: providers previewing a create report it
    unknown, and the engine sends the unknown sentinel in its place.
    """
    outputs = flatten_refs(reg.wire_outputs)
    if reg.id:
        return {**outputs, "id": reg.id}
    if reg.pending and reg.custom:
        return {**outputs, "id": UNKNOWN}
    return outputs


def _options(reg: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    o = reg.options
    opts = analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(o.get("protect")),
        ignoreChanges=list(o.get("ignoreChanges") or []),
        deleteBeforeReplace=bool(o.get("deleteBeforeReplace")),
        deleteBeforeReplaceDefined=bool(o.get("deleteBeforeReplace")),
        additionalSecretOutputs=list(o.get("additionalSecretOutputs") or []),
        parent=reg.parent,
    )
    return opts
