"""Property: whatever a stack file says, the offline plan exits 0, 1 or 2, never with a traceback, and every
exit 2 is one line per problem naming the key or the file.

Stack files are generated from the config schema (``components.config``: every key, its type and its
declared check give valid and boundary values) on top of the shipped dev stack, then corrupted at random
(wrong types, extreme numbers, unicode, typos, nulls, duplicate keys and entries, misspelt namespaces,
YAML oddities, truncation). Each one goes through the real offline plan entry point
(``automation.offline.plan.run_cli``, what ``python -m automation plan`` runs). Most cases stop at
config validation, before any resource, so the example count stays modest for CI's 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import typing
import uuid
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from automation.offline import stack_yaml
from automation.offline.plan import run_cli
from components import config as c

ROOT = Path(__file__).resolve().parents[1]
BASE = stack_yaml.load(ROOT / "Pulumi.dev.yaml")["config"]


@dataclasses.dataclass(frozen=True)
class Raw:
    """YAML text written as is (a scalar the reader must resolve, a tag, a broken token)."""

    text: str


def flow(value: typing.Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(k) if isinstance(k, Raw) else json.dumps(k)}: {flow(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return json.dumps(value)


def render(cfg: dict, extra_lines: list[str]) -> str:
    lines = ["config:"]
    for key, value in cfg.items():
        lines.append(f"  {flow(key) if isinstance(key, Raw) else key}: {flow(value)}")
    return "\n".join(lines + [f"  {x}" for x in extra_lines]) + "\n"


ODD = [Raw(t) for t in (
    "", "~", "yes", "on", "036", "0x1F", "6:05", "1e3", "1.5", ".inf", "-1", "0", str(2**63), "1" + "0" * 40,
    "2024-01-01", "!!binary aGVsbG8=", "[]", "{}", '[""]', "[x, x]", "{null: 1}", "{42: x}", '" 8 "', '"1m"',
    '"99999999999999999999999Ei"', '"ünïcode ✓"', '"a b"', '"0.0.0.0/16"', '"127.0.0.0/16"', '"m6i.huge"',
    '"kubernetes.io/role"', '"0h"', '"Never"', '"reserch"', '"Bad Runtime"', '"' + "x" * 300 + '"', "[1, [2]]",
    '"arn:aws:iam::111122223333:role/PlatformAdmin"',
)]


def schema_values(tp: typing.Any, check: typing.Optional[c.Check]) -> st.SearchStrategy:
    """Valid, boundary and wrong values for one field, from its type and declared check."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
        origin = typing.get_origin(tp)
    if isinstance(check, c.IntRange):
        return st.sampled_from([check.lo, check.hi, check.lo - 1, check.hi + 1, (check.lo + check.hi) // 2])
    if isinstance(check, c.OneOf):
        return st.sampled_from([*check.values, 0])
    if isinstance(check, c.QuantityCheck):
        return st.sampled_from(["1", "500m", "16Gi", "1.5", "0", "-1", " 8 ", "1m", "1e3", "8Ei", "x"])
    if origin is typing.Literal:
        args = [a for a in typing.get_args(tp) if a]
        return st.sampled_from([*args, *(a.upper() for a in args), *(a[:-1] for a in args)])
    if tp is bool:
        return st.sampled_from([True, False, "true", Raw("yes")])
    if tp is int:
        return st.sampled_from([0, 1, 3, -1, 2**31, 2**63])
    if tp is str:
        return st.sampled_from(["", "x", "Bad Value", "10.0.0.0/16", "720h", "ünïcode"])
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if dataclasses.is_dataclass(inner):
            return st.lists(dataclass_values(inner), max_size=3)
        each = check.each if isinstance(check, c.Items) else None
        return st.lists(schema_values(inner, each), max_size=3)
    if origin is typing.get_origin(typing.Mapping[str, str]):
        inner = typing.get_args(tp)[1]
        keys = st.sampled_from(["a", "team", "example.com/x", "Bad Key", "kubernetes.io/x", "research", "gpu"])
        vals = dataclass_values(inner) if dataclasses.is_dataclass(inner) else schema_values(inner, None)
        return st.dictionaries(keys, vals, max_size=2)
    return st.just(Raw("~"))


def dataclass_values(cls: type) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    fields = c.config_fields(cls)
    return st.fixed_dictionaries({}, optional={
        f.metadata["key"]: st.deferred(lambda f=f: schema_values(hints[f.name], f.metadata.get("check")))
        for f in fields
    })


FIELDS = {f.metadata["key"]: f for f in c.config_fields()}
HINTS = typing.get_type_hints(c.StackConfig)


@st.composite
def stack_files(draw) -> str:
    cfg = {k: v for k, v in BASE.items()}
    extra: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["schema", "schema", "odd", "odd-nested", "delete", "unknown", "namespace",
                                     "duplicate", "merge", "rename"]))
        key = draw(st.sampled_from(sorted(FIELDS)))
        full = f"mlplatform:{key}"
        if kind == "schema":
            cfg[full] = draw(schema_values(HINTS[FIELDS[key].name], FIELDS[key].metadata.get("check")))
        elif kind == "odd":
            cfg[full] = draw(st.sampled_from(ODD))
        elif kind == "odd-nested":
            section = draw(st.sampled_from(["mlplatform:nodeGroups", "mlplatform:teams", "mlplatform:trainingJobs",
                                            "mlplatform:inferenceEndpoints", "mlplatform:tags"]))
            entries = dict(cfg[section]) if isinstance(cfg.get(section), dict) else {}
            if entries:
                name = draw(st.sampled_from(sorted(entries, key=str)))
                entry = entries[name]
                if isinstance(entry, dict) and entry:
                    entry = dict(entry)
                    entry[draw(st.sampled_from(sorted(entry)))] = draw(st.sampled_from(ODD))
                    entries[name] = entry
                else:
                    entries[name] = draw(st.sampled_from(ODD))
                cfg[section] = entries
        elif kind == "delete":
            cfg.pop(draw(st.sampled_from(sorted(cfg))), None)
        elif kind == "unknown":
            extra.append(f"mlplatform:{key}x: 1")
        elif kind == "namespace":
            ns = draw(st.sampled_from(["MLPLATFORM", "mlplatfrom", "aws", "Aws", "kubernetes"]))
            extra.append(f"{ns}:{draw(st.sampled_from([key, 'regoin', 'region']))}: us-west-2")
        elif kind == "duplicate":
            extra.append(draw(st.sampled_from([f"{key}: {flow(BASE.get(full, 1))}", f"{full}: 1"])))
        elif kind == "merge":
            cfg["mlplatform:nodeGroups"] = Raw(
                "{system: &s {role: system, instanceTypes: [m6i.large], minSize: 1, maxSize: 2}, "
                "gpu: {<<: *s, role: gpu, instanceTypes: [g5.xlarge], minSize: 0, diskSizeGiB: 200}}")
        elif kind == "rename":
            section = draw(st.sampled_from(["mlplatform:nodeGroups", "mlplatform:teams"]))
            entries = dict(cfg[section]) if isinstance(cfg.get(section), dict) else {}
            if entries:
                name = draw(st.sampled_from(sorted(entries, key=str)))
                entries[draw(st.sampled_from([Raw("~"), Raw("42"), "GPU", "a b", "ünï", "kube-system"]))] = \
                    entries.pop(name)
                cfg[section] = entries
    text = render(cfg, extra)
    if draw(st.integers(0, 9)) == 0:  # occasionally a file cut short, or a tab where YAML wants spaces
        text = text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text.replace("  ", "\t", 1)
    return text


def plan_stack(text: str) -> tuple[int, str, str]:
    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    path = ROOT / f"Pulumi.{name}.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        args = argparse.Namespace(stack=name, program=None, json=None, manifests=None, debug=False,
                                  policy_config=ROOT / "policies" / "config" / "dev.json")
        code = run_cli(args, out, err)
    finally:
        path.unlink()
    return code, out.getvalue(), err.getvalue().replace(name, "<stack>")


# A key may hold a space when a collection entry is named so ("nodeGroups.a b"): the line still names it.
LINE = re.compile(r"error: (invalid config \S+(?: \S+)*?: \S.*|(\S*/)?Pulumi\.<stack>\.yaml\b.*\S)")


def check_outcome(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        lines = err.strip().splitlines()
        assert lines and out == "", err
        for line in lines:
            assert not line.startswith("error: program failed"), line
            assert LINE.fullmatch(line), line
    else:
        assert out.strip().splitlines()[-1].startswith("Result: "), out


def test_the_shipped_dev_stack_round_trips_through_the_generator():
    code, out, err = plan_stack(render(dict(BASE), []))
    assert code == 0, err


@settings(max_examples=30, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stack_files())
def test_every_stack_file_exits_0_1_or_2_with_one_line_per_problem(text):
    code, out, err = plan_stack(text)
    event(f"exit {code}")
    check_outcome(code, out, err)
