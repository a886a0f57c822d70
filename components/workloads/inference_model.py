"""Model loading for endpoints: source, cache volume, the fetching init container, probe budgets. No Pulumi.

Sources (``model.source``):

* empty: ``modelPrefix`` in the platform's data bucket (the default, as before);
* ``s3://bucket/prefix/``: any bucket; the endpoint's role may read exactly that prefix;
* ``hf:<org>/<name>[@revision]``: the Hugging Face Hub; the server's own loader
  downloads it (no AWS access needed, egress on 443 is open to team pods).

Caches (``model.cache``):

* ``none``: nothing is fetched ahead; the server loads from the source itself on
  every start (``MODEL_PATH`` is the S3 URI or the Hub id). The old behaviour.
* ``node``: an init container copies the S3 prefix onto pod-local disk (an
  ``emptyDir`` sized from ``sizeGiB``, with a matching ``ephemeral-storage``
  request so the scheduler only picks a node with the room). It survives
  container restarts, not rescheduling.
* ``efs``: the team's shared EFS claim. The first replica's init container
  copies the prefix; every later replica and restart finds it there.
* ``fsx``: the team's shared FSx for Lustre claim, mounted read-only. The file
  system links the data bucket's ``models/`` prefix (a data repository
  association), so the model is lazy-loaded from S3 by Lustre itself: no copy,
  no AWS access from the pod. Only data-bucket sources under ``models/`` qualify.

Copies are published atomically: the init container syncs into a directory
private to the pod, marks it complete and renames it into place, so two
replicas starting together never read each other's half-written files (the
loser of the rename deletes its copy). The cache key is derived from the
configured source, so a new model version belongs under a new prefix
(``models/llm/v2/``): the same prefix with new objects is not re-fetched.

The server finds the model in ``MODEL_PATH`` (use ``$(MODEL_PATH)`` in args;
Kubernetes expands it). The startup probe's budget grows with ``sizeGiB``:
planning figures (not measurements) of 300 s for CUDA initialisation, weight
placement and graph capture, plus per GiB 30 s when the server pulls over the
network (``none``, Hub sources), 15 s from Lustre (first reads lazy-load from
S3), 10 s from a copy on EFS or local disk. Readiness stays on ``healthPath``:
model servers (vLLM, TEI) only answer it once the model is loaded.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from components.workloads import pods

CACHE_VOLUME = "model-cache"
#: Writable cache for pod-local and EFS copies (and HF_HOME).
CACHE_PATH = "/models"
FSX_VOLUME = "model-fsx"
#: Where the FSx file system (whose /models is linked to s3://<data bucket>/models/) is mounted.
FSX_PATH = "/mnt/fsx"
#: The one prefix of the data bucket that FSx for Lustre links (components/addons/storage.py).
FSX_LINKED_PREFIX = "models/"
#: Inside a shared claim, every endpoint's copies live under this directory.
SHARED_SUBPATH = "model-cache"
LOADER_NAME = "fetch-model"

DEFAULT_STARTUP_SECONDS = 900
BASE_STARTUP_SECONDS = 300
STARTUP_SECONDS_PER_GIB = {"network": 30, "fsx": 15, "copy": 10}
#: ``aws s3 sync`` planning rate for the init container (about 35 MiB/s, conservative).
FETCH_SECONDS_PER_GIB = 30
PROBE_PERIOD_SECONDS = 10
#: Room on top of a node cache for logs and the writable layer.
NODE_CACHE_HEADROOM_GIB = 2

_HF_RE = re.compile(r"^hf:(?P<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(@(?P<rev>[A-Za-z0-9._/-]+))?$")
_S3_RE = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>.+)$")


class ModelSourceError(ValueError):
    """``model.source`` is not an S3 URI or a Hub id."""


@dataclass(frozen=True)
class Source:
    """A parsed ``model.source``."""

    kind: str  # "bucket" (the data bucket), "s3" or "hf"
    #: Bucket name for ``s3``; "" for the data bucket.
    bucket: str = ""
    #: Key prefix (always ending in "/") for ``bucket`` and ``s3``.
    prefix: str = ""
    repo_id: str = ""
    revision: str = ""

    @property
    def text(self) -> str:
        """Stable text of the source (the cache key is derived from it)."""
        if self.kind == "hf":
            return f"hf:{self.repo_id}@{self.revision}" if self.revision else f"hf:{self.repo_id}"
        return f"s3://{self.bucket or '<data-bucket>'}/{self.prefix}"


def parse_source(source: str, model_prefix: str) -> Source:
    if not source:
        return Source("bucket", prefix=_norm_prefix(model_prefix))
    m = _HF_RE.match(source)
    if m:
        return Source("hf", repo_id=m.group("repo"), revision=m.group("rev") or "")
    m = _S3_RE.match(source)
    if m:
        bucket = m.group("bucket")
        if ".." in bucket or re.fullmatch(r"[0-9.]+", bucket):
            raise ModelSourceError(f"{bucket!r} is not an S3 bucket name")
        return Source("s3", bucket=bucket, prefix=_norm_prefix(m.group("prefix")))
    raise ModelSourceError(f"{source!r} must be s3://<bucket>/<prefix>/ or hf:<org>/<name>[@revision] "
                           "(empty: modelPrefix in the data bucket)")


def _norm_prefix(prefix: str) -> str:
    p = prefix.strip("/")
    if not p or "*" in p or "?" in p:
        raise ModelSourceError(f"S3 prefix {prefix!r} must be a non-empty literal key prefix")
    return p + "/"


def cache_key(endpoint: str, source: Source) -> str:
    """``<endpoint>/<12 hex of the source>``: a new source never reuses an old copy."""
    return f"{endpoint}/{hashlib.sha256(source.text.encode()).hexdigest()[:12]}"


def startup_seconds(cache: str, source: Source, size_gib: int) -> int:
    """The startup probe's budget for a model of ``size_gib`` (the default when the size is unknown)."""
    if size_gib <= 0:
        return DEFAULT_STARTUP_SECONDS
    if cache == "fsx":
        rate = STARTUP_SECONDS_PER_GIB["fsx"]
    elif cache == "none" or source.kind == "hf":
        rate = STARTUP_SECONDS_PER_GIB["network"]
    else:
        rate = STARTUP_SECONDS_PER_GIB["copy"]
    return BASE_STARTUP_SECONDS + rate * size_gib


def fetch_seconds(cache: str, source: Source, size_gib: int) -> int:
    """Planning estimate of the init container's copy (0 when there is none)."""
    return FETCH_SECONDS_PER_GIB * max(size_gib, 0) if copies(cache, source) else 0


def copies(cache: str, source: Source) -> bool:
    """Does an init container copy the model (S3 sources onto node or EFS caches)?"""
    return cache in ("node", "efs") and source.kind != "hf"


def node_cache_gib(size_gib: int) -> int:
    """emptyDir size for a node cache: the model plus a quarter (sync keeps a partial copy while publishing)."""
    return math.ceil(size_gib * 1.25)


@dataclass(frozen=True)
class ModelPlan:
    """What a model adds to the endpoint's pod."""

    volumes: list = field(default_factory=list)
    #: Mounts of the server container (the writable cache at CACHE_PATH, and FSx read-only).
    mounts: list = field(default_factory=list)
    init_containers: list = field(default_factory=list)
    env: list = field(default_factory=list)
    #: Extra container resources (``ephemeral-storage`` for a node cache), requests == limits.
    extra_resources: dict = field(default_factory=dict)
    startup_seconds: int = DEFAULT_STARTUP_SECONDS
    fetch_seconds: int = 0


def source_uri(source: Source, data_bucket_name: Any) -> Any:
    """``s3://...`` of an S3 source (an Output when it is the data bucket), or ``hf:<id>``."""
    if source.kind == "hf":
        return source.text
    if source.kind == "s3":
        return f"s3://{source.bucket}/{source.prefix}"
    return _concat("s3://", data_bucket_name, "/", source.prefix)


def _concat(*parts: Any) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    import pulumi

    return pulumi.Output.concat(*parts)


LOADER_SCRIPT = """set -eu
dest="$MODEL_CACHE_DIR/$MODEL_CACHE_KEY"
if [ -f "$dest/.complete" ]; then echo "model already cached in $dest"; exit 0; fi
mkdir -p "$(dirname "$dest")"
tmp="$dest.partial-$HOSTNAME"
rm -rf "$tmp"
aws s3 sync --only-show-errors --no-progress "$MODEL_URI" "$tmp"
touch "$tmp/.complete"
if mv -T "$tmp" "$dest" 2>/dev/null; then echo "model cached in $dest"; exit 0; fi
rm -rf "$tmp"
test -f "$dest/.complete"
echo "another replica cached the model in $dest"
"""


def plan(endpoint: str, *, cache: str, source: Source, size_gib: int, data_bucket_name: Any, loader_image: str,
         cpu: str, memory: str, efs_claim: Optional[str] = None, fsx_claim: Optional[str] = None) -> ModelPlan:
    """Volumes, mounts, init container and env for the endpoint's model."""
    uri = source_uri(source, data_bucket_name)
    env: list[dict] = [{"name": "MODEL_URI", "value": uri}]
    volumes: list[dict] = []
    mounts: list[dict] = []
    init: list[dict] = []
    extra: dict = {}
    key = cache_key(endpoint, source)

    if cache == "efs":
        if not efs_claim:
            raise ValueError(f"endpoint {endpoint}: model cache efs needs the team's EFS claim")
        volumes.append({"name": CACHE_VOLUME, "persistentVolumeClaim": {"claimName": efs_claim}})
        mounts.append({"name": CACHE_VOLUME, "mountPath": CACHE_PATH, "subPath": SHARED_SUBPATH})
    elif cache == "node" and size_gib > 0:
        gib = node_cache_gib(size_gib)
        volumes.append({"name": CACHE_VOLUME, "emptyDir": {"sizeLimit": f"{gib}Gi"}})
        mounts.append({"name": CACHE_VOLUME, "mountPath": CACHE_PATH})
        extra["ephemeral-storage"] = f"{gib + NODE_CACHE_HEADROOM_GIB}Gi"
    else:
        volumes.append({"name": CACHE_VOLUME, "emptyDir": {}})
        mounts.append({"name": CACHE_VOLUME, "mountPath": CACHE_PATH})

    if cache == "fsx":
        if not fsx_claim:
            raise ValueError(f"endpoint {endpoint}: model cache fsx needs the team's FSx claim")
        volumes.append({"name": FSX_VOLUME, "persistentVolumeClaim": {"claimName": fsx_claim, "readOnly": True}})
        mounts.append({"name": FSX_VOLUME, "mountPath": FSX_PATH, "readOnly": True})
        model_path = f"{FSX_PATH}/{source.prefix.rstrip('/')}"
    elif source.kind == "hf":
        model_path = source.repo_id
        if source.revision:
            env.append({"name": "MODEL_REVISION", "value": source.revision})
    elif copies(cache, source):
        model_path = f"{CACHE_PATH}/{key}"
        env.append({"name": "MODEL_CACHE_KEY", "value": key})
        init.append({
            "name": LOADER_NAME,
            "image": loader_image,
            "imagePullPolicy": pods.IMAGE_PULL_POLICY,
            "command": ["/bin/sh", "-c", LOADER_SCRIPT],
            "env": [{"name": "HOME", "value": "/tmp"}, {"name": "MODEL_URI", "value": uri},
                    {"name": "MODEL_CACHE_DIR", "value": CACHE_PATH}, {"name": "MODEL_CACHE_KEY", "value": key}],
            # Same CPU and memory as the server: a pod's effective request is the larger of the two, so the
            # copy costs no extra quota and gets the cores ``aws s3 sync`` parallelises over.
            "resources": pods.resources(cpu, memory),
            "securityContext": pods.container_security_context(),
            "volumeMounts": [*pods.scratch_mounts(), *[m for m in mounts if m["name"] == CACHE_VOLUME]],
        })
    else:
        model_path = uri
    env.append({"name": "MODEL_PATH", "value": model_path})
    return ModelPlan(volumes=volumes, mounts=mounts, init_containers=init, env=env, extra_resources=extra,
                     startup_seconds=startup_seconds(cache, source, size_gib),
                     fetch_seconds=fetch_seconds(cache, source, size_gib))


def probe_failure_threshold(budget_seconds: int) -> int:
    return max(1, math.ceil(budget_seconds / PROBE_PERIOD_SECONDS))


def read_statement_target(source: Source) -> Optional[tuple[str, str]]:
    """(bucket or "" for the data bucket, prefix) the endpoint's role must read; None when it reads nothing."""
    if source.kind == "hf":
        return None
    return source.bucket, source.prefix
