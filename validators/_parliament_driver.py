"""Run parliament over IAM documents; executed by parliament's OWN interpreter (.tools/parliament-venv).

This file imports nothing from the project: it only needs parliament and the
standard library, so it runs in the isolated environment that pins
parliament's dependencies (botocore wants python-dateutil < 3, the project
venv has 4.x). :mod:`validators.parliament_runner` starts it as a subprocess.

stdin:  {"documents": [{"id": str, "policy": str}], "communityAuditors": bool}
stdout: {"parliament": version, "results": [{"id": str, "findings": [{"issue", "title",
         "severity", "description", "detail", "location"}]}]}

Parliament's Python API returns findings without severity or title; the CLI
fills them in with ``enhance_finding`` after loading the community auditors'
config override, and so do we, so severities match ``parliament --json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _plain(value):
    """Finding details and locations hold jsoncfg nodes; keep only JSON-able data."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def main() -> int:
    import parliament
    from parliament import analyze_policy_string, enhance_finding, override_config

    request = json.load(sys.stdin)
    community = bool(request.get("communityAuditors"))
    if community:
        override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    results = []
    for doc in request["documents"]:
        policy = analyze_policy_string(doc["policy"], filepath=doc["id"], include_community_auditors=community)
        findings = []
        for finding in policy.findings:
            finding = enhance_finding(finding)
            findings.append({
                "issue": finding.issue,
                "title": finding.title,
                "severity": finding.severity,
                "description": finding.description,
                "detail": _plain(finding.detail),
                "location": _plain(finding.location),
            })
        results.append({"id": doc["id"], "findings": findings})
    json.dump({"parliament": getattr(parliament, "__version__", "?"), "results": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
