"""Which value paths a Helm chart's templates read, and which they pass through whole.

A small, conservative reader of Go templates (not a renderer). For every action
``{{ ... }}`` it resolves the value paths it names (``.Values.a.b``,
``$.Values.a``, ``index .Values "a-b" "c"``, variables bound to them, and
``.`` inside ``with``/``range`` blocks) and records:

* ``reads``: every value path a template names;
* ``whole``: paths a template hands on as a whole value (``toYaml``,
  ``toJson``, ``tpl``, ``range``, ``include``, ``merge``, ``dict``, ...), so any
  key below them reaches the rendered output or a helper untouched: such a
  map (``nodeSelector``, ``podAnnotations``, ``extraArgs``) may hold any key.

It errs on the permissive side: a path it cannot resolve is ignored, never
reported; a value handed to a helper counts as passed through. The root of
``.Values`` itself is never counted as passed through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

Path = tuple[str, ...]

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_INDEX = re.compile(r"\(?\s*index\s+((?:\$[A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\.)\s+((?:__S\d+__\s*)+)\)?")
_PATH = re.compile(r"(?<![A-Za-z0-9_)\].])(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.(?![A-Za-z0-9_]))")
_ASSIGN = re.compile(r"^\s*(?:range\s+|with\s+|if\s+)?(\$[A-Za-z0-9_]+)\s*(?:,\s*(\$[A-Za-z0-9_]+)\s*)?:?=\s*(.*)$", re.S)
#: Functions and keywords that take a value as a whole (serialise it, iterate it or hand it on).
_WHOLE_FUNCS = {"toYaml", "toJson", "toPrettyJson", "toRawJson", "mustToJson", "mustToPrettyJson", "mustToRawJson",
                "tpl", "include", "template", "merge", "mustMerge", "mergeOverwrite", "mustMergeOverwrite",
                "deepCopy", "mustDeepCopy", "dict", "list", "keys", "values", "pick", "omit", "range", "set",
                "fromYaml", "toToml", "concat", "append", "mustAppend", "sortAlpha", "uniq", "without", "get",
                "hasKey", "pluck", "dig", "splitList", "join"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# A context: ("root",) for the chart's root object, ("values", path) for a value path, None when unknown.
Ctx = Optional[tuple]
ROOT: Ctx = ("root",)


@dataclass
class TemplateFacts:
    reads: set[Path] = field(default_factory=set)
    whole: set[Path] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"reads": [list(p) for p in sorted(self.reads)], "whole": [list(p) for p in sorted(self.whole)]}


def _resolve(expr: str, dot: Ctx, variables: dict[str, Ctx]) -> Ctx:
    if expr.startswith("$"):
        name, _, rest = expr[1:].partition(".")
        base = ROOT if name == "" else variables.get(name)
    else:
        base, rest = dot, expr[1:]
    fields = [f for f in rest.split(".") if f]
    if base is None:
        return None
    if base == ROOT:
        if not fields:
            return ROOT
        if fields[0] != "Values":
            return None  # .Release, .Chart, .Capabilities, .Files, .Template
        return ("values", tuple(fields[1:]))
    return ("values", tuple(base[1]) + tuple(fields))


def scan(files: dict[str, str]) -> TemplateFacts:
    """Facts from a chart's template files (``templates/**``; other files are ignored)."""
    facts = TemplateFacts()
    for name in sorted(files):
        if not name.startswith("templates/") or not name.endswith((".yaml", ".yml", ".tpl", ".txt", ".json")):
            continue
        _scan_file(files[name], facts)
    return facts


def _scan_file(text: str, facts: TemplateFacts) -> None:
    stack: list[tuple[str, Ctx]] = [("file", ROOT)]
    variables: dict[str, Ctx] = {}
    for m in _ACTION.finditer(text):
        action = m.group(1).strip()
        if action.startswith("/*"):
            continue
        strings: list[str] = []

        def keep(sm: re.Match) -> str:
            strings.append(sm.group(0)[1:-1])
            return f"__S{len(strings) - 1}__"

        action = _STRING.sub(keep, action)
        dot = stack[-1][1]
        head = (_WORD.match(action) or re.match("", "")).group(0)

        if head == "end":
            if len(stack) > 1:
                stack.pop()
            continue
        if head == "define":
            stack.append(("define", ROOT))
            variables = {}
            continue
        if head == "else":
            # `else` / `else if` / `else with`: back to the enclosing block's dot.
            parent = stack[-2][1] if len(stack) > 1 else ROOT
            stack[-1] = (stack[-1][0], parent)
            dot = parent

        # index X "a" "b" -> a synthetic variable bound to X.a.b
        def index(im: re.Match) -> str:
            base = _resolve(im.group(1), dot, variables)
            keys = [strings[int(k)] for k in re.findall(r"__S(\d+)__", im.group(2))]
            var = f"__ix{len(variables)}"
            variables[var] = None if base is None or base == ROOT else ("values", tuple(base[1]) + tuple(keys))
            if base == ROOT and keys and keys[0] == "Values":
                variables[var] = ("values", tuple(keys[1:]))
            elif base == ROOT:
                variables[var] = None
            return f"${var}"

        action = _INDEX.sub(index, action)
        words = set(_WORD.findall(action))
        whole = bool(words & _WHOLE_FUNCS)

        assign = _ASSIGN.match(action if head not in ("range", "with", "if") else action)
        paths = []
        for pm in _PATH.finditer(action):
            expr = pm.group(1)
            ctx = _resolve(expr, dot, variables)
            if ctx and ctx[0] == "values":
                paths.append(ctx[1])
                if ctx[1]:
                    facts.reads.add(ctx[1])
                    if whole or head == "range":
                        facts.whole.add(ctx[1])

        if assign:
            first, second, rhs = assign.group(1), assign.group(2), assign.group(3)
            rhs_paths = [p for p in (_resolve(pm.group(1), dot, variables) for pm in _PATH.finditer(rhs))]
            target = rhs_paths[0] if rhs_paths else None
            if head == "range":
                # range $k, $v := X: $v is an element (not checked below); $i alone is an element too.
                variables[first[1:]] = None
                if second:
                    variables[second[1:]] = None
            else:
                variables[first[1:]] = target
        if head in ("with", "range", "if", "block"):
            if head == "with":
                first_path = None
                body = action[len("with"):]
                if assign:
                    body = assign.group(3)
                pm = _PATH.search(body)
                if pm:
                    first_path = _resolve(pm.group(1), dot, variables)
                stack.append(("with", first_path))
            elif head == "range":
                stack.append(("range", None))  # `.` is an element: not followed
            elif head == "block":
                stack.append(("block", ROOT))
            else:
                stack.append(("if", dot))
        elif head == "else" and action.startswith("else with"):
            pm = _PATH.search(action[len("else with"):])
            stack[-1] = ("with", _resolve(pm.group(1), dot, variables) if pm else None)
