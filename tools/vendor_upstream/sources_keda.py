"""KEDA facts beyond its CRDs: which trigger ``metadata`` keys each scaler reads, from KEDA's Go sources.

KEDA's CRD types ``spec.triggers[].metadata`` as a free ``map[string]string``:
the API server accepts any key, and a misspelt key is silently ignored (or,
for a required one, the ScaledObject never becomes Ready). Each scaler
declares what it reads with ``keda:"..."`` struct tags on the config struct it
hands to ``ScalerConfig.TypedConfig`` (``pkg/scalers/scalersconfig/
typed_config.go``): the key names, where each is looked up (``order``:
``triggerMetadata``, ``authParams`` from a TriggerAuthentication,
``resolvedEnv`` through a ``<name>FromEnv`` key), whether it is optional or
has a default, its allowed values (``enum``, ``exclusiveSet``), whether it is
deprecated (rejected when set) and the Go type it is parsed into.

The ``keda-scalers`` transform reads those facts from the whole ``pkg/`` tree
at the pinned tag, without running Go:

* trigger type -> constructor: the ``buildScaler`` switch in
  ``pkg/scaling/scalers_builder.go`` (a type not listed there is rejected by
  KEDA: "no scaler found for type");
* constructor -> config struct: the variable passed to ``TypedConfig`` in the
  file that defines the constructor, and its struct type;
* the struct's tagged fields, following nested structs (a tagged field without
  ``name``) across packages, as ``TypedConfig`` does, with ``optional``
  propagated from the parent;
* keys read from the trigger metadata outside the typed config (helpers such
  as ``GetAwsAuthorization`` indexing ``triggerMetadata["identityOwner"]``):
  string-literal and constant indices in the scaler file and in the KEDA
  packages it imports, plus constant arguments passed next to
  ``config.TriggerMetadata`` (``alsoReads``). A scaler that ranges over the
  metadata or indexes it with a computed key reads keys we cannot list
  (``openEnded``): unknown keys are then not checked for it.

Only facts are written (names, orders, flags, enum values, defaults, Go
types); deprecation messages and comments are dropped. The output is
``upstream/keda/scalers.yaml``; :mod:`validators.scalers` checks every trigger
the plan emits against it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from tools.vendor_upstream import Source, transform
from tools.vendor_upstream.sources_k8s import KEDA_VERSION, dump_yaml

MODULE = "github.com/kedacore/keda/v2/pkg/"
BUILDER = "scaling/scalers_builder.go"
SCALERS_DIR = "scalers"


# --------------------------------------------------------------------------- a little Go reading


def strip_comments(src: str) -> str:
    """Go source without comments; string, raw-string and rune literals kept intact."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif c in "\"'`":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\" and c != "`":
                    j += 1
                elif src[j] == "\n" and c != "`":
                    break
                j += 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _block(src: str, open_at: int) -> str:
    """The text between the brace at ``open_at`` and its match (string-aware)."""
    depth, i, n = 0, open_at, len(src)
    while i < n:
        c = src[i]
        if c in "\"'`":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" and c != "`" else 1
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return src[open_at + 1:i]
        i += 1
    raise ValueError("unbalanced braces")


_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.S | re.M)
_IMPORT_ONE = re.compile(r'^import\s+(\w+\s+)?"([^"]+)"', re.M)
_IMPORT_LINE = re.compile(r'^\s*(\w+\s+)?"([^"]+)"\s*$', re.M)


def imports(src: str) -> dict[str, str]:
    """alias -> package directory under pkg/, for KEDA's own packages."""
    out = {}
    found = [(m.group(1), m.group(2)) for blk in _IMPORT_BLOCK.findall(src) for m in _IMPORT_LINE.finditer(blk)]
    found += [(m.group(1), m.group(2)) for m in _IMPORT_ONE.finditer(src)]
    for alias, path in found:
        if path.startswith(MODULE):
            rel = path[len(MODULE):]
            out[(alias or "").strip() or rel.rsplit("/", 1)[-1]] = rel
    return out


_STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*\{", re.M)
_CONST = re.compile(r'^\s*(\w+)\s*(?:\w+\s*)?=\s*"([^"]*)"', re.M)
_TAG = re.compile(r'keda:"([^"]*)"')


class Package:
    """The non-test Go files of one directory under pkg/."""

    def __init__(self, directory: str, files: dict[str, str]):
        self.directory = directory
        self.files = files  # file name -> source without comments
        self.structs: dict[str, tuple[str, str]] = {}  # type -> (file, body)
        self.consts: dict[str, str] = {}
        for name, src in files.items():
            for m in _STRUCT.finditer(src):
                self.structs[m.group(1)] = (name, _block(src, m.end() - 1))
            for blk in re.findall(r"^const\s*\((.*?)^\)", src, re.S | re.M):
                self.consts.update(dict(_CONST.findall(blk)))
            self.consts.update(dict(re.findall(r'^const\s+(\w+)\s*(?:\w+\s*)?=\s*"([^"]*)"', src, re.M)))


def packages(tree: dict[str, str]) -> dict[str, Package]:
    by_dir: dict[str, dict[str, str]] = {}
    for path, text in tree.items():
        if path.endswith(".go") and not path.endswith("_test.go"):
            directory, _, name = path.rpartition("/")
            by_dir.setdefault(directory, {})[name] = strip_comments(text)
    return {d: Package(d, f) for d, f in by_dir.items()}


def parse_tag(tag: str) -> dict[str, Any]:
    """One ``keda:"..."`` tag as typed_config.go paramsFromTag reads it (facts only)."""
    out: dict[str, Any] = {}
    for part in tag.split(","):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key == "name" and eq:
            out["names"] = value.split(";")
        elif key == "order" and eq:
            out["order"] = [o.strip() for o in value.split(";")]
        elif key == "optional":
            out["optional"] = (value.lower() in ("1", "t", "true")) if eq else True
        elif key == "default" and eq:
            out["default"] = value
        elif key == "enum" and eq:
            out["enum"] = value.split(";")
        elif key == "exclusiveSet" and eq:
            out["exclusiveSet"] = value.split(";")
        elif key == "deprecated":
            out["deprecated"] = True  # the message is prose: not kept
        elif key == "deprecatedAnnounce":
            out["deprecatedAnnounce"] = True
        elif key == "separator" and eq:
            out["separator"] = value
        elif key == "range":
            out["range"] = value if eq else ""
    return out


def fields(body: str) -> list[tuple[str, str, Optional[str]]]:
    """(field name, Go type, keda tag or None) for each field of a struct body (one field per line)."""
    out = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        tag = None
        if "`" in line:
            decl, _, rest = line.partition("`")
            m = _TAG.search(rest)
            tag = m.group(1) if m else None
        else:
            decl = line
        parts = decl.split()
        if not parts:
            continue
        if len(parts) == 1:  # embedded: the type's name is the field's name
            typ = parts[0]
            name = typ.lstrip("*").rsplit(".", 1)[-1]
        else:
            name, typ = parts[0].rstrip(","), " ".join(parts[1:])
        out.append((name, typ, tag))
    return out


class Scanner:
    def __init__(self, tree: dict[str, str]):
        self.pkgs = packages(tree)

    def resolve(self, pkg: Package, file: str, typ: str) -> tuple[Package, str, str]:
        """(package, file, struct body) of a (possibly qualified, pointer) struct type."""
        base = typ.lstrip("*")
        target = pkg
        if "." in base:
            alias, base = base.split(".", 1)
            directory = imports(pkg.files[file]).get(alias)
            if directory is None or directory not in self.pkgs:
                raise SystemExit(f"keda-scalers: {pkg.directory}/{file}: cannot resolve package of {typ}")
            target = self.pkgs[directory]
        if base not in target.structs:
            raise SystemExit(f"keda-scalers: no struct {base} in {target.directory} (from {pkg.directory}/{file})")
        sfile, body = target.structs[base]
        return target, sfile, body

    def params(self, pkg: Package, file: str, struct: str, parent_optional: bool = False,
               seen: tuple = ()) -> list[dict]:
        if struct in seen:
            raise SystemExit(f"keda-scalers: recursive nesting at {struct}")
        tpkg, tfile, body = self.resolve(pkg, file, struct)
        out = []
        for name, typ, tag in fields(body):
            if tag is None:
                continue
            p = parse_tag(tag)
            optional = bool(p.get("optional")) or parent_optional
            if not p.get("names"):  # nested: parsed as a struct of its own (typed_config.go setValue IsNested)
                out += self.params(tpkg, tfile, typ, optional, seen + (struct,))
                continue
            entry: dict[str, Any] = {"names": p["names"], "order": p.get("order", []), "type": typ}
            if optional:
                entry["optional"] = True
            for k in ("default", "enum", "exclusiveSet", "deprecated", "deprecatedAnnounce", "separator", "range"):
                if k in p:
                    entry[k] = p[k]
            out.append(entry)
        return out

    def config_struct(self, pkg: Package, file: str) -> str:
        """The struct type of the variable handed to TypedConfig in ``file``."""
        src = pkg.files[file]
        calls = re.findall(r"\bTypedConfig\(\s*&?\s*(\w+)\s*\)", src)
        if len(set(calls)) != 1:
            raise SystemExit(f"keda-scalers: {pkg.directory}/{file}: expected one TypedConfig(...) call, found {calls}")
        var = calls[0]
        for pattern in (rf"\b{var}\s*:=\s*&?\s*(\w+)\s*\{{", rf"\bvar\s+{var}\s+\*?(\w+)\b",
                        rf"\b{var}\s*:=\s*new\((\w+)\)", rf"\b{var}\s+\*(\w+)\s*[,)]"):
            m = re.search(pattern, src)
            if m and m.group(1) in pkg.structs:
                return m.group(1)
        raise SystemExit(f"keda-scalers: {pkg.directory}/{file}: cannot find the type of {var}")

    def extra_reads(self, pkg: Package, file: str) -> tuple[list[str], bool]:
        """(keys read from the trigger metadata outside TypedConfig, open-ended?)."""
        src = pkg.files[file]
        keys: set[str] = set()
        open_ended = bool(re.search(r"range\s+(?:\w+\.)?[Tt]riggerMetadata\b", src))

        def const(pkg_: Package, src_: str, ident: str) -> Optional[str]:
            if "." in ident:
                alias, name = ident.split(".", 1)
                d = imports(src_).get(alias)
                return self.pkgs[d].consts.get(name) if d in self.pkgs else None
            return pkg_.consts.get(ident)

        for m in re.finditer(r"\b(?:\w+\.)?[Tt]riggerMetadata\[\s*([^\]]+?)\s*\]", src):
            index = m.group(1)
            if index.startswith('"'):
                keys.add(index.strip('"'))
            elif (value := const(pkg, src, index)) is not None:
                keys.add(value)
            elif "FromEnv" not in index:  # typed_config's own <name>FromEnv lookup is covered by the params
                open_ended = True
        # constant arguments passed along with the metadata map: the helper reads those keys
        for m in re.finditer(r"\(([^()]*\bconfig\.TriggerMetadata\b[^()]*)\)", src):
            for arg in (a.strip() for a in m.group(1).split(",")):
                if arg.startswith('"'):
                    keys.add(arg.strip('"'))
                elif re.fullmatch(r"\w+\.\w+", arg) and (value := const(pkg, src, arg)) is not None:
                    keys.add(value)
        # helpers in KEDA's own scaler packages that this file imports
        for directory in sorted(set(imports(src).values())):
            helper = self.pkgs.get(directory)
            if helper is None or not directory.startswith(f"{SCALERS_DIR}/") or directory.endswith("scalersconfig"):
                continue
            for hsrc in helper.files.values():
                for maps, fbody in _map_functions(hsrc):
                    names = "|".join(maps)
                    for m in re.finditer(rf"\b(?:{names})\[\s*([^\]]+?)\s*\]", fbody):
                        index = m.group(1)
                        if index.startswith('"'):
                            keys.add(index.strip('"'))
                        elif (value := helper.consts.get(index)) is not None:
                            keys.add(value)
        return sorted(keys), open_ended


_FUNC = re.compile(r"^func\s+(?:\([^)]*\)\s*)?\w+\s*\(([^)]*)\)[^{\n]*\{", re.M)


def _map_functions(src: str) -> list[tuple[list[str], str]]:
    """(names of ``map[string]string`` parameters, body) of each function of ``src`` taking one, plus
    functions reading ``config.TriggerMetadata`` (a ``*ScalerConfig`` parameter)."""
    out = []
    for m in _FUNC.finditer(src):
        params = m.group(1)
        groups = re.findall(r"((?:\w+\s*,\s*)*\w+)\s+map\[string\]string", params)
        # authParams / resolvedEnv maps are other sources than the trigger metadata
        maps = [n.strip() for g in groups for n in g.split(",")
                if not re.search(r"auth|env", n, re.I)]
        maps += [f"{n}\\.TriggerMetadata" for n in re.findall(r"(\w+)\s+\*?(?:\w+\.)?ScalerConfig\b", params)]
        if maps:
            out.append((maps, _block(src, m.end() - 1)))
    return out


_CASE = re.compile(r'case\s+((?:"[^"]+"\s*,?\s*)+):\s*return\s+scalers\.(\w+)\(')


def scaler_facts(tree: dict[str, str]) -> dict[str, Any]:
    scanner = Scanner(tree)
    builder = strip_comments(tree[BUILDER])
    body = builder[builder.index("func buildScaler("):]
    body = _block(body, body.index("{"))
    constructors: dict[str, tuple[str, str]] = {}
    pkg = scanner.pkgs[SCALERS_DIR]
    for name, src in pkg.files.items():
        for m in re.finditer(r"^func\s+(New\w+)\(", src, re.M):
            constructors[m.group(1)] = (SCALERS_DIR, name)
    out: dict[str, Any] = {}
    for m in _CASE.finditer(body):
        ctor = m.group(2)
        if ctor not in constructors:
            raise SystemExit(f"keda-scalers: constructor {ctor} not found under pkg/{SCALERS_DIR}")
        _, file = constructors[ctor]
        also, open_ended = scanner.extra_reads(pkg, file)
        facts: dict[str, Any] = {"file": f"pkg/{SCALERS_DIR}/{file}"}
        if "TypedConfig(" in pkg.files[file]:
            facts["config"] = scanner.config_struct(pkg, file)
            facts["params"] = scanner.params(pkg, file, facts["config"])
        elif "TriggerMetadata" in pkg.files[file]:
            raise SystemExit(f"keda-scalers: {file} reads trigger metadata without TypedConfig")
        else:  # the constructor ignores its config (external-mock): no key is read
            facts["params"] = []
        typed = {n for p in facts["params"] for n in p["names"]}
        also = [k for k in also if k not in typed]
        if also:
            facts["alsoReads"] = also
        if open_ended:
            facts["openEnded"] = True
        if "GetMetricTargetType(" in pkg.files[file]:  # pkg/scalers/scaler.go: rejects metricType Utilization
            facts["metricTargetType"] = "external"
        for trigger_type in re.findall(r'"([^"]+)"', m.group(1)):
            out[trigger_type] = facts
    if not out:
        raise SystemExit("keda-scalers: no trigger types found in buildScaler")
    return out


@transform("keda-scalers")
def keda_scalers(raw: bytes, _src: Source) -> str:
    tree = json.loads(raw)
    return dump_yaml({"scalers": dict(sorted(scaler_facts(tree).items()))})


SOURCES: list[Source] = [
    Source(dest="keda/scalers.yaml", repo="kedacore/keda", ref=f"v{KEDA_VERSION}", path="pkg/",
           transform="keda-scalers", kind="keda-scalers"),
]
