"""Vendor upstream facts (CRD schemas, IAM policy statements, chart value paths) into ``upstream/``.

    python -m tools.vendor_upstream [--mirrors DIR] [--only PREFIX]   # regenerate from fetched mirrors
    python -m tools.vendor_upstream --check                            # verify files against the manifest

What is vendored is *facts, not prose*: each :class:`Source` names an upstream
file (repository, tag, path) and a transform that keeps only what our checks
need (e.g. a CRD's ``openAPIV3Schema`` and ``x-kubernetes-validations`` with
every ``description`` removed). ``upstream/MANIFEST.json`` records, for every
vendored file, where it came from: repository, tag, commit, path, the sha256
of the upstream file, the sha256 of the vendored file and the date fetched.

Mirrors are the git directories the search tool's ``fetch`` verb brings
(``/work/.mirror/<owner>+<name>/repo``); PyPI sources are read from a wheel
that ``pip download`` fetches. CI has no network, so the vendored files are
committed and ``--check`` (run by the tests) needs no mirror.

Source lists live in area modules (``sources_*.py`` in this package, e.g.
``sources_k8s``, ``sources_aws``), each exposing ``SOURCES: list[Source]``
(and optionally ``WARNINGS: list[str]``, printed when vendoring) and
registering its transforms with :func:`transform`.

Layout under ``upstream/`` (one folder, one manifest):

* ``crds/<project>/<group>_<plural>.yaml``: CRD schemas and CEL rules, no descriptions;
* ``charts/<chart>/chart.yaml`` (name, version, appVersion, dependencies), ``values.yaml`` (the
  chart's default values: every key path with its type and default, comments dropped),
  ``templates.yaml`` (the value paths the templates read, and those they pass through whole) and
  ``values.schema.json`` where shipped;
* ``keda/scalers.yaml``: per KEDA trigger type, the metadata keys its scaler reads (``sources_keda``);
* ``iam/<controller>.json``: controllers' recommended IAM policy statements;
* ``aws/``: AWS facts such as managed policies with their paths.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT / "upstream"
MANIFEST = UPSTREAM / "MANIFEST.json"
DEFAULT_MIRRORS = Path("/work/.mirror")

#: transform name -> function(raw upstream bytes, source) -> vendored text
TRANSFORMS: dict[str, Callable[[bytes, "Source"], str]] = {}


def transform(name: str) -> Callable[[Callable[[bytes, "Source"], str]], Callable[[bytes, "Source"], str]]:
    """Register a transform under ``name`` (used by :attr:`Source.transform`)."""

    def deco(fn: Callable[[bytes, "Source"], str]) -> Callable[[bytes, "Source"], str]:
        if name in TRANSFORMS:
            raise ValueError(f"transform {name!r} registered twice")
        TRANSFORMS[name] = fn
        return fn

    return deco


@dataclass(frozen=True)
class Source:
    """One vendored file.

    ``repo`` is ``owner/name`` on GitHub, or ``pypi:<dist>==<version>`` for a
    file inside a wheel (``path`` is then the path inside the wheel). A git
    ``path`` ending in ``/`` names a directory: the transform then receives a
    JSON object of every file under it (relative path -> text), and the
    manifest's ``upstreamSha256`` is the sha256 of that JSON.
    ``dest`` is relative to ``upstream/``. ``options`` are passed to the transform.
    """

    dest: str
    repo: str
    ref: str
    path: str
    transform: str = "copy"
    kind: str = ""
    options: tuple[tuple[str, Any], ...] = field(default=())

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


@transform("copy")
def _copy(raw: bytes, _src: Source) -> str:
    return raw.decode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- readers


def mirror_dir(repo: str, mirrors: Path = DEFAULT_MIRRORS) -> Path:
    return mirrors / repo.replace("/", "+") / "repo"


def read_git(repo: str, ref: str, path: str, mirrors: Path = DEFAULT_MIRRORS) -> tuple[bytes, str]:
    """(file bytes, commit) of ``path`` at ``ref`` in the fetched mirror of ``repo``."""
    git = mirror_dir(repo, mirrors)
    if not git.is_dir():
        raise SystemExit(f"no mirror of {repo} at {git}: fetch github:{repo} with the search tool first")

    def run(*args: str) -> bytes:
        res = subprocess.run(["git", f"--git-dir={git}", *args], capture_output=True)
        if res.returncode:
            raise SystemExit(f"{repo}@{ref}: git {' '.join(args)} failed: {res.stderr.decode().strip()}")
        return res.stdout

    commit = run("rev-parse", f"{ref}^{{commit}}").decode().strip()
    return run("show", f"{commit}:{path}"), commit


_WHEELS: dict[str, Path] = {}


def read_wheel(spec: str, path: str) -> tuple[bytes, str]:
    """(file bytes, wheel file name) of ``path`` inside the wheel of ``spec`` (``dist==version``)."""
    if spec not in _WHEELS:
        tmp = Path(tempfile.mkdtemp(prefix="vendor-wheel-"))
        subprocess.run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", str(tmp), spec], check=True)
        wheels = sorted(tmp.glob("*.whl"))
        if not wheels:
            raise SystemExit(f"pip download {spec} brought no wheel")
        _WHEELS[spec] = wheels[0]
    whl = _WHEELS[spec]
    with zipfile.ZipFile(whl) as zf:
        return zf.read(path), whl.name


def read_git_tree(repo: str, ref: str, path: str, mirrors: Path = DEFAULT_MIRRORS) -> tuple[bytes, str]:
    """(JSON of every file under directory ``path`` at ``ref``, commit): relative path -> text, sorted."""
    git = mirror_dir(repo, mirrors)
    if not git.is_dir():
        raise SystemExit(f"no mirror of {repo} at {git}: fetch github:{repo} with the search tool first")
    res = subprocess.run(["git", f"--git-dir={git}", "rev-parse", f"{ref}^{{commit}}"], capture_output=True)
    if res.returncode:
        raise SystemExit(f"{repo}@{ref}: no such ref: {res.stderr.decode().strip()}")
    commit = res.stdout.decode().strip()
    res = subprocess.run(["git", f"--git-dir={git}", "ls-tree", "-r", "-z", "--name-only", commit, "--", path],
                         capture_output=True)
    names = [n for n in res.stdout.decode().split("\0") if n]
    if res.returncode or not names:
        raise SystemExit(f"{repo}@{ref}: no files under {path}")
    files = {}
    for name in sorted(names):
        blob, _ = read_git(repo, commit, name, mirrors)
        try:
            files[name[len(path):]] = blob.decode()
        except UnicodeDecodeError:
            continue  # binary files carry no facts we read
    return json.dumps(files, sort_keys=True).encode(), commit


def read_source(src: Source, mirrors: Path) -> tuple[bytes, str]:
    if src.repo.startswith("pypi:"):
        return read_wheel(src.repo[len("pypi:"):], src.path)
    if src.path.endswith("/"):
        return read_git_tree(src.repo, src.ref, src.path, mirrors)
    return read_git(src.repo, src.ref, src.path, mirrors)


# --------------------------------------------------------------------------- manifest


def load_manifest() -> dict:
    if not MANIFEST.exists():
        return {"files": []}
    return json.loads(MANIFEST.read_text())


def write_manifest(entries: Iterable[dict]) -> None:
    data = {
        "about": "Upstream facts vendored by `python -m tools.vendor_upstream`; one entry per file under upstream/.",
        "files": sorted(entries, key=lambda e: e["file"]),
    }
    MANIFEST.write_text(json.dumps(data, indent=2) + "\n")


def all_sources() -> list[Source]:
    """Every registered source, from every area module that exists."""
    import importlib

    out: list[Source] = []
    for path in sorted(Path(__file__).parent.glob("sources_*.py")):
        m = importlib.import_module(f"tools.vendor_upstream.{path.stem}")
        out += list(getattr(m, "SOURCES", []))
    dests = [s.dest for s in out]
    dupes = {d for d in dests if dests.count(d) > 1}
    if dupes:
        raise SystemExit(f"sources write the same file twice: {sorted(dupes)}")
    return out


def vendor(sources: Iterable[Source], mirrors: Path, today: Optional[str] = None) -> list[dict]:
    """Regenerate ``sources``; returns their manifest entries (keeping the fetch date of unchanged files)."""
    today = today or _dt.date.today().isoformat()
    previous = {e["file"]: e for e in load_manifest()["files"]}
    entries = []
    for src in sources:
        raw, commit = read_source(src, mirrors)
        fn = TRANSFORMS.get(src.transform)
        if fn is None:
            raise SystemExit(f"{src.dest}: unknown transform {src.transform!r}")
        text = fn(raw, src)
        if not text.endswith("\n"):
            text += "\n"
        out = UPSTREAM / src.dest
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        entry = {
            "file": src.dest,
            "kind": src.kind,
            "repo": src.repo,
            "ref": src.ref,
            "commit": commit,
            "path": src.path,
            "upstreamSha256": sha256(raw),
            "sha256": sha256(text.encode()),
            "transform": src.transform,
            "fetched": today,
        }
        if src.options:
            entry["options"] = {k: v for k, v in src.options}
        old = previous.get(src.dest)
        if old and old.get("upstreamSha256") == entry["upstreamSha256"] and old.get("sha256") == entry["sha256"]:
            entry["fetched"] = old.get("fetched", today)
        entries.append(entry)
    return entries


def check() -> list[str]:
    """Problems between ``upstream/`` and the manifest (no mirror needed)."""
    problems = []
    listed = set()
    for e in load_manifest()["files"]:
        listed.add(e["file"])
        f = UPSTREAM / e["file"]
        if not f.exists():
            problems.append(f"{e['file']}: listed in the manifest but missing")
        elif sha256(f.read_bytes()) != e["sha256"]:
            problems.append(f"{e['file']}: edited by hand (sha256 differs from the manifest); regenerate it")
        for key in ("repo", "ref", "commit", "path", "upstreamSha256", "fetched"):
            if not e.get(key):
                problems.append(f"{e['file']}: manifest entry has no {key}")
    for f in UPSTREAM.rglob("*"):
        rel = f.relative_to(UPSTREAM).as_posix()
        if f.is_file() and rel not in listed and f != MANIFEST and not rel.startswith("README"):
            problems.append(f"{rel}: not in the manifest")
    return problems
