"""What changed between two offline plans: ``mlplatform diff OLD.json NEW.json`` and ``plan --compare``.

Reads the plan files ``plan --json`` writes (the JSON contract) and reports:

* resources **added** and **removed**, and resources **changed**, each change
  with its input path and old → new value (resource options such as
  ``protect`` too, under ``options.``);
* **version moves** first: every change whose key names a version, tag or
  image (the cluster's ``version``, each EKS add-on's ``addonVersion``, Helm
  chart versions, node group versions, image tags), so a Kubernetes minor bump
  reads as one list of what moves with it;
* stack outputs that changed, and policy verdicts that appeared or went away.

Resources are matched by URN with the stack name taken out, so two stacks of
the same project can be compared too. Secrets never show: plan files already
hold ``[secret]`` in their place, and any path either plan lists as secret
(``secretInputs``) is shown as ``[secret]`` on both sides.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, TextIO, Union

from .errors import PlanError

SECRET = "[secret]"
#: Leaf keys whose changes are version moves (matched on the last path segment, case-insensitively).
VERSION_KEY = re.compile(r"(?i)(version|^tag|^image|^imageTag|^chart)$")
_MISSING = object()
#: Resource types listed first among version moves (the control plane the rest follows).
CLUSTER_TYPES = frozenset({"eks:index:Cluster", "aws:eks/cluster:Cluster"})


def load_plan(path: Union[str, Path]) -> dict[str, Any]:
    """A plan file, checked to be one (PlanError naming the file otherwise)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise PlanError(f"plan file {p} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"plan file {p} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise PlanError(f"{p} is not an offline plan file (no resources list; write one with plan --json FILE)")
    return doc


@dataclass(frozen=True)
class Change:
    """One value that differs: ``path`` inside the resource (or output), and the old and new JSON values.

    ``old`` / ``new`` are None for a value that is absent on that side (see ``kind``).
    """

    path: str
    old: Any
    new: Any
    kind: str  # "changed" | "added" | "removed"

    @property
    def is_version(self) -> bool:
        last = re.split(r"[.\[]", self.path)[-1].rstrip("]")
        return bool(VERSION_KEY.search(last))

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ResourceRef:
    urn: str
    type: str
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name}


@dataclass(frozen=True)
class ResourceChange:
    """A resource in both plans whose inputs or options differ."""

    urn: str
    type: str
    name: str
    changes: tuple[Change, ...]

    def as_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "changes": [c.as_json() for c in self.changes]}


@dataclass(frozen=True)
class VerdictChange:
    policy: str
    level: str
    urn: str
    message: str
    kind: str  # "added" | "removed"

    def as_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message, "kind": self.kind}


@dataclass(frozen=True)
class PlanDiff:
    """Everything that differs between two plans."""

    old_label: str
    new_label: str
    old_stack: str
    new_stack: str
    added: tuple[ResourceRef, ...]
    removed: tuple[ResourceRef, ...]
    changed: tuple[ResourceChange, ...]
    outputs: tuple[Change, ...]
    verdicts: tuple[VerdictChange, ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs or self.verdicts)

    def version_moves(self) -> list[tuple[ResourceChange, Change]]:
        """Every changed value whose key names a version, tag or image: clusters first, then by type and name."""
        moves = [(rc, c) for rc in self.changed for c in rc.changes if c.is_version and c.kind == "changed"]
        return sorted(moves, key=lambda m: (m[0].type not in CLUSTER_TYPES, m[0].type, m[0].name, m[1].path))

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {"file": self.old_label, "stack": self.old_stack},
            "new": {"file": self.new_label, "stack": self.new_stack},
            "summary": {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
                        "unchanged": self.unchanged, "outputsChanged": len(self.outputs),
                        "verdictsAdded": sum(v.kind == "added" for v in self.verdicts),
                        "verdictsRemoved": sum(v.kind == "removed" for v in self.verdicts)},
            "added": [r.as_json() for r in self.added],
            "removed": [r.as_json() for r in self.removed],
            "changed": [r.as_json() for r in self.changed],
            "versions": [{"urn": rc.urn, "type": rc.type, "name": rc.name, "path": c.path, "old": c.old, "new": c.new}
                         for rc, c in self.version_moves()],
            "outputs": [c.as_json() for c in self.outputs],
            "verdicts": [v.as_json() for v in self.verdicts],
        }

    as_json = to_json


# --------------------------------------------------------------------------- comparing


def resource_key(urn: str) -> str:
    """A URN without its stack (``urn:pulumi:<stack>::rest`` -> ``rest``): plans of two stacks line up."""
    head, sep, rest = urn.partition("::")
    return rest if sep and head.startswith("urn:pulumi:") else urn


def _is_secret(path: str, secret_paths: Iterable[str]) -> bool:
    for s in secret_paths:
        if path == s or path.startswith(s + ".") or path.startswith(s + "[") or s.startswith(path + ".") \
                or s.startswith(path + "["):
            return True
    return False


def _walk(old: Any, new: Any, path: str, out: list[Change], secrets: Sequence[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in sorted(set(old) | set(new), key=str):
            _walk(old.get(k, _MISSING), new.get(k, _MISSING), f"{path}.{k}" if path else str(k), out, secrets)
        return
    if isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            _walk(old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING, f"{path}[{i}]", out,
                  secrets)
        return
    if old == new:
        return
    kind = "added" if old is _MISSING else "removed" if new is _MISSING else "changed"
    o = None if old is _MISSING else old
    n = None if new is _MISSING else new
    if _is_secret(path, secrets):  # the values differ (a secret changed, or stopped being one): show that, not them
        o = None if o is None else SECRET
        n = None if n is None else SECRET
    out.append(Change(path=path, old=o, new=n, kind=kind))


def input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """How one resource's inputs differ between two plans (plan-JSON resources), path by path, secrets masked."""
    secrets = sorted(set(old.get("secretInputs") or ()) | set(new.get("secretInputs") or ()))
    out: list[Change] = []
    _walk(old.get("inputs") or {}, new.get("inputs") or {}, "", out, secrets)
    return out


def _resource_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out = input_changes(old, new)
    opts: list[Change] = []
    _walk(old.get("options") or {}, new.get("options") or {}, "options", opts, ())
    for field_ in ("parent", "provider"):
        if (old.get(field_) or "") != (new.get(field_) or ""):
            opts.append(Change(path=field_, old=old.get(field_) or "", new=new.get(field_) or "", kind="changed"))
    return out + opts


def _verdict_key(d: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(d.get("policy")), str(d.get("level")), resource_key(str(d.get("urn") or "")), str(d.get("message")))


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any], *, old_label: str = "old",
               new_label: str = "new") -> PlanDiff:
    """Compare two plan documents (``PlanResult.to_json()`` or plan files)."""
    old_res = {resource_key(r["urn"]): r for r in old.get("resources") or []}
    new_res = {resource_key(r["urn"]): r for r in new.get("resources") or []}

    def ref(r: Mapping[str, Any]) -> ResourceRef:
        return ResourceRef(urn=r["urn"], type=r["type"], name=r["name"])

    added = tuple(ref(new_res[k]) for k in sorted(set(new_res) - set(old_res)))
    removed = tuple(ref(old_res[k]) for k in sorted(set(old_res) - set(new_res)))
    changed: list[ResourceChange] = []
    unchanged = 0
    for k in sorted(set(old_res) & set(new_res)):
        changes = _resource_changes(old_res[k], new_res[k])
        if changes:
            r = new_res[k]
            changed.append(ResourceChange(urn=r["urn"], type=r["type"], name=r["name"], changes=tuple(changes)))
        else:
            unchanged += 1
    outputs: list[Change] = []
    _walk(old.get("outputs") or {}, new.get("outputs") or {}, "", outputs, ())
    old_v = {_verdict_key(d): d for d in old.get("diagnostics") or []}
    new_v = {_verdict_key(d): d for d in new.get("diagnostics") or []}
    verdicts = [VerdictChange(policy=str(d.get("policy")), level=str(d.get("level")), urn=str(d.get("urn") or ""),
                              message=str(d.get("message") or ""), kind=kind)
                for kind, side, other in (("added", new_v, old_v), ("removed", old_v, new_v))
                for key, d in sorted(side.items()) if key not in other]
    return PlanDiff(old_label=old_label, new_label=new_label, old_stack=str(old.get("stack", "")),
                    new_stack=str(new.get("stack", "")), added=added, removed=removed, changed=tuple(changed),
                    outputs=tuple(outputs), verdicts=tuple(verdicts), unchanged=unchanged)


# --------------------------------------------------------------------------- rendering


def _value(v: Any, limit: int = 160) -> str:
    if v is None:
        return "(none)"
    text = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(urn: str) -> str:
    """``type name`` of a URN (the last type in the parent chain)."""
    parts = urn.split("::")
    return f"{parts[2].rsplit('$', 1)[-1]} {parts[3]}" if len(parts) >= 4 else urn


def _change_line(c: Change) -> str:
    if c.kind == "added":
        return f"{c.path}: + {_value(c.new)}"
    if c.kind == "removed":
        return f"{c.path}: - {_value(c.old)}"
    return f"{c.path}: {_value(c.old)} → {_value(c.new)}"


def render_text(d: PlanDiff) -> str:
    """The comparison as text: a summary line, version moves, then every change by resource."""
    lines = [f"Plan diff {d.old_label} → {d.new_label}"
             + (f" (stack {d.old_stack} → {d.new_stack})" if d.old_stack != d.new_stack else f" (stack {d.new_stack})")
             + f": {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed, {d.unchanged} unchanged"]
    if d.empty:
        lines.append("No changes.")
        return "\n".join(lines) + "\n"
    moves = d.version_moves()
    if moves:
        lines.append(f"Version changes ({len(moves)}):")
        lines += [f"  {_short(rc.urn)}  {c.path}: {_value(c.old)} → {_value(c.new)}" for rc, c in moves]
    if d.added:
        lines.append(f"Added ({len(d.added)}):")
        lines += [f"  + {r.type} {r.name}" for r in d.added]
    if d.removed:
        lines.append(f"Removed ({len(d.removed)}):")
        lines += [f"  - {r.type} {r.name}" for r in d.removed]
    if d.changed:
        lines.append(f"Changed ({len(d.changed)}):")
        for rc in d.changed:
            lines.append(f"  ~ {rc.type} {rc.name}")
            lines += [f"      {_change_line(c)}" for c in rc.changes]
    if d.outputs:
        lines.append(f"Outputs changed ({len(d.outputs)}):")
        lines += [f"  {_change_line(c)}" for c in d.outputs]
    if d.verdicts:
        lines.append("Policy verdicts:")
        for v in d.verdicts:
            first = (v.message.strip().splitlines() or [""])[0]
            lines.append(f"  {'+' if v.kind == 'added' else '-'} {v.level} [{v.policy}] "
                         f"{_short(v.urn) if v.urn else '(stack)'}: {first}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(d: PlanDiff, *, max_changes: int = 400) -> str:
    """The comparison as Markdown (a pull-request comment): version moves as a table, the rest in details."""
    title = f"### Plan diff: stack `{d.new_stack}`"
    head = (f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed, {d.unchanged} unchanged "
            f"(`{_md(d.old_label)}` → `{_md(d.new_label)}`)")
    lines = [title, "", head, ""]
    if d.empty:
        return "\n".join(lines + ["No changes.", ""]) + "\n"
    moves = d.version_moves()
    if moves:
        lines += ["| Resource | Path | Old | New |", "| --- | --- | --- | --- |"]
        lines += [f"| `{_md(_short(rc.urn))}` | `{_md(c.path)}` | `{_md(_value(c.old, 80))}` | `{_md(_value(c.new, 80))}` |"
                  for rc, c in moves]
        lines.append("")
    if d.verdicts:
        lines += ["| | Level | Policy | Resource | Message |", "| --- | --- | --- | --- | --- |"]
        for v in d.verdicts:
            first = (v.message.strip().splitlines() or [""])[0]
            lines.append(f"| {'new' if v.kind == 'added' else 'gone'} | {v.level} | `{_md(v.policy)}` "
                         f"| `{_md(_short(v.urn) if v.urn else '(stack)')}` | {_md(first)} |")
        lines.append("")
    body = render_text(d).splitlines()[1:]
    if len(body) > max_changes:
        body = body[:max_changes] + [f"... {len(body) - max_changes} more lines: see the plan-diff artifact"]
    lines += ["<details><summary>Every change</summary>", "", "```", *body, "```", "", "</details>", ""]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``python -m automation.plandiff OLD.json NEW.json [--json FILE] [--markdown]`` (also ``mlplatform diff``)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m automation.plandiff", description=__doc__.splitlines()[0])
    add_arguments(ap)
    return run_cli(ap.parse_args(argv), out=out, err=err)


def add_arguments(ap: Any) -> None:
    ap.add_argument("old", type=Path, metavar="OLD.json", help="the earlier plan file (plan --json)")
    ap.add_argument("new", type=Path, metavar="NEW.json", help="the later plan file")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the comparison as JSON ('-' = stdout)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown (for a pull-request comment)")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")


def run_cli(args: Any, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit 0 whatever the differences (a comparison is not a verdict); 2 when a file cannot be read."""
    try:
        d = diff_plans(load_plan(args.old), load_plan(args.new), old_label=str(args.old), new_label=str(args.new))
    except PlanError as exc:
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc(file=err)
        err.write(f"error: {exc}\n")
        return 2
    doc = json.dumps(d.as_json(), indent=2, ensure_ascii=False) + "\n"
    if args.json is not None and str(args.json) == "-":
        out.write(doc)
        return 0
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(doc)
    out.write(render_markdown(d) if args.markdown else render_text(d))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
