"""What changed between two offline plans of one stack, in the order the engine would apply it.

``python -m automation plan --stack prod --previous last.json`` compares the
plan with a previous plan's JSON (same contract as ``--json``). A resource is
*changed* when its inputs differ, *created* when the previous plan did not
have it and *deleted* when this one does not. Each change gets a **step**:

* a resource starts once everything it depends on (``dependencies`` and
  ``propertyDependencies``) is done; depending on a component means waiting for
  all of its descendants, as the engine does;
* its step is one more than the highest step among the changes it waits for,
  directly or through unchanged resources (an unchanged resource is done as
  soon as what it waits for is done).

So step 1 changes start at once, step 2 changes wait for a step 1 change, and
so on: for a Kubernetes minor bump that is control plane, then the add-ons
nodes need, then node groups. Deletes run after every create and update, in
reverse dependency order, so they are listed last without a step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

#: How many differing input paths a change lists.
MAX_PATHS = 6


@dataclass(frozen=True)
class Change:
    """One resource that the new plan creates, updates or deletes."""

    urn: str
    type: str
    name: str
    action: str  # "create" | "update" | "delete"
    step: int  # 0 for deletes
    paths: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {"urn": self.urn, "type": self.type, "name": self.name, "action": self.action, "step": self.step,
                "paths": list(self.paths)}


def _urn_chain(urn: str) -> list[str]:
    parts = urn.split("::")
    chain = parts[2].split("$") if len(parts) >= 4 else [urn]
    return chain[1:] if chain and chain[0] == "pulumi:pulumi:Stack" else chain


def _urn_name(urn: str) -> str:
    parts = urn.split("::")
    return "::".join(parts[3:]) if len(parts) >= 4 else urn


class _Graph:
    """The wait graph of one plan's resources (plan-JSON dicts)."""

    def __init__(self, resources: Iterable[Mapping[str, Any]]):
        self.res = {r["urn"]: r for r in resources}
        self.children: dict[str, list[str]] = {}
        for r in self.res.values():
            if r.get("parent") in self.res:
                self.children.setdefault(r["parent"], []).append(r["urn"])
        by_chain: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        for r in self.res.values():
            by_chain.setdefault(tuple(_urn_chain(r["urn"])), []).append(r)
        self._by_chain = by_chain

    def resolve(self, urn: str) -> Optional[str]:
        """A dependency URN, or the registered component it lives in (e.g. pulumi-eks's inner cluster)."""
        if urn in self.res:
            return urn
        chain, name = _urn_chain(urn), _urn_name(urn)
        while len(chain) > 1:
            chain = chain[:-1]
            cands = [r for r in self._by_chain.get(tuple(chain), []) if name.startswith(r["name"])]
            if cands:
                return max(cands, key=lambda r: (len(r["name"]), r["urn"]))["urn"]
        return None

    def deps(self, urn: str) -> list[str]:
        r = self.res[urn]
        raw = list(r.get("dependencies") or [])
        for v in (r.get("propertyDependencies") or {}).values():
            raw += list(v or [])
        ancestors, cur = set(), r.get("parent")
        while cur in self.res and cur not in ancestors:
            ancestors.add(cur)
            cur = self.res[cur].get("parent")
        out = []
        for d in raw:
            x = self.resolve(d)
            if x and x != urn and x not in ancestors and x not in out:
                out.append(x)
        return out


def waits_for(resources: Iterable[Mapping[str, Any]], urn: str) -> set[str]:
    """Every resource ``urn`` waits for before it starts, transitively (a component: it and its descendants)."""
    g = _Graph(resources)
    seen: set[str] = set()
    todo = list(g.deps(urn))
    while todo:
        x = todo.pop()
        if x in seen:
            continue
        seen.add(x)
        todo += g.deps(x) + g.children.get(x, [])
    return seen


def steps(resources: Iterable[Mapping[str, Any]], changed: set[str]) -> dict[str, int]:
    """Step of every URN in ``changed`` (see the module docstring)."""
    g = _Graph(resources)
    done: dict[str, int] = {}  # changes finished by the time this resource is done (component: + descendants)
    start: dict[str, int] = {}
    visiting: set[str] = set()
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20 * len(g.res) + 1000))

    def get_start(x: str) -> int:
        if x not in start:
            if x in visiting:
                raise ValueError(f"dependency cycle through {x}")
            visiting.add(x)
            start[x] = max((get_done(d) for d in g.deps(x)), default=0)
            visiting.discard(x)
        return start[x]

    def get_done(x: str) -> int:
        if x not in done:
            own = get_start(x) + (1 if x in changed else 0)
            done[x] = max([own, *(get_done(c) for c in g.children.get(x, []))])
        return done[x]

    try:
        return {u: get_start(u) + 1 for u in changed if u in g.res}
    finally:
        sys.setrecursionlimit(old_limit)


def compare(previous: Iterable[Mapping[str, Any]], current: Iterable[Mapping[str, Any]]) -> list[Change]:
    """Changes from ``previous`` to ``current`` (plan-JSON resource lists), ordered by step then URN.

    Resources are matched and their inputs compared as ``mlplatform diff`` does (automation/plandiff.py);
    this adds the order the engine would apply them in.
    """
    from ..plandiff import input_changes, resource_key

    prev = {resource_key(r["urn"]): r for r in previous}
    cur = list(current)
    diffs: dict[str, tuple[str, tuple[str, ...]]] = {}
    for r in cur:
        old = prev.get(resource_key(r["urn"]))
        if old is None:
            diffs[r["urn"]] = ("create", ())
            continue
        paths = [c.path or "." for c in input_changes(old, r)]
        if paths:
            diffs[r["urn"]] = ("update", tuple(paths[:MAX_PATHS]))
    order = steps(cur, set(diffs))
    by_urn = {r["urn"]: r for r in cur}
    out = [Change(u, by_urn[u]["type"], by_urn[u]["name"], action, order[u], paths)
           for u, (action, paths) in diffs.items()]
    current_keys = {resource_key(u) for u in by_urn}
    out += [Change(r["urn"], r["type"], r["name"], "delete", 0) for k, r in prev.items() if k not in current_keys]
    return sorted(out, key=lambda c: (c.step == 0, c.step, c.urn))
