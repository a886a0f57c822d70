"""Which AWS resource types accept ``tags``, read from the installed pulumi-aws SDK.

The policy pack cannot import pulumi-aws (it runs in its own small virtualenv),
so ``required-tags`` reads a generated list, policies/guardrails/taggable_aws_types.txt.
tests/test_policies_tagging.py fails when that list and the SDK disagree;
regenerate it with ``.venv/bin/python -m tests.policy_taggable``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST_FILE = ROOT / "policies" / "guardrails" / "taggable_aws_types.txt"
_TOKEN = re.compile(r"super\(\w+, __self__\).__init__\(\s*'(aws:[^']+)'")
_ARGS = re.compile(r"class \w+Args:.*?def __init__\(__self__,(.*?)\):", re.S)


def sdk_taggable_types() -> list[str]:
    import pulumi_aws

    out: set[str] = set()
    for f in Path(pulumi_aws.__file__).parent.rglob("*.py"):
        text = f.read_text()
        tokens = _TOKEN.findall(text)
        if not tokens:
            continue
        args = _ARGS.search(text)
        if args and re.search(r"\btags: ", args.group(1)):
            out.update(tokens)
    return sorted(out)


def render(types: list[str]) -> str:
    import pulumi_aws

    version = getattr(pulumi_aws, "__version__", "") or _dist_version("pulumi_aws")
    head = (f"# AWS resource types whose inputs accept `tags` (generated from pulumi-aws {version} by\n"
            f"# tests/policy_taggable.py; do not edit by hand).\n")
    return head + "\n".join(types) + "\n"


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    LIST_FILE.write_text(render(sdk_taggable_types()))
    print(f"wrote {LIST_FILE.relative_to(ROOT)}", file=sys.stderr)
