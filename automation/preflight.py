"""Checks made before the Automation API is touched: the Pulumi CLI and AWS credentials.

The Automation API shells out to ``pulumi``; without it the SDK fails deep in a
subprocess call. Finding the binary here first gives one clear line instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping, Optional

from .errors import CloudCredentialsMissing, PulumiCliNotFound

#: Set to 1 on hosts whose credentials come from the EC2 instance metadata service, which cannot be seen up front.
SKIP_CREDENTIALS_CHECK = "MLPLATFORM_SKIP_CREDENTIALS_CHECK"

# Provider and SDK messages that mean "no credentials at all" (not "credentials rejected").
MISSING_CREDENTIAL_MARKERS = (
    "no valid credential sources",
    "nocredentialproviders",
    "no ec2 imds role found",
    "failed to refresh cached credentials",
    "unable to locate credentials",
    "failed to retrieve credentials",
)

# Stack config keys through which the AWS provider can get credentials itself.
_PROVIDER_CREDENTIAL_KEYS = ("aws:profile", "aws:accessKey", "aws:assumeRole", "aws:assumeRoles",
                             "aws:sharedCredentialsFiles", "aws:assumeRoleWithWebIdentity")


def pulumi_sdk_version() -> str:
    """Version of the pinned ``pulumi`` package (the CLI version to install), without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pulumi")
    except PackageNotFoundError:  # pragma: no cover - the package is a runtime requirement
        return "latest"


def pulumi_home(env: Mapping[str, str]) -> Path:
    home = env.get("PULUMI_HOME")
    if home:
        return Path(home).expanduser()
    user_home = env.get("HOME") or str(Path.home())
    return Path(user_home) / ".pulumi"


def find_pulumi_cli(env: Optional[Mapping[str, str]] = None) -> Path:
    """The ``pulumi`` executable: on PATH, else ``$PULUMI_HOME/bin`` (default ``~/.pulumi/bin``).

    Raises :class:`PulumiCliNotFound` with the install command for the pinned version.
    """
    env = os.environ if env is None else env
    found = shutil.which("pulumi", path=env.get("PATH", ""))
    if found:
        return Path(found)
    candidate = pulumi_home(env) / "bin" / ("pulumi.exe" if os.name == "nt" else "pulumi")
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise PulumiCliNotFound(pulumi_sdk_version())


def aws_credentials_source(env: Optional[Mapping[str, str]] = None,
                           stack_config: Optional[Mapping[str, object]] = None) -> Optional[str]:
    """A short description of where AWS credentials would come from, or None if nothing is visible.

    Mirrors the AWS SDK default chain as far as it can be seen without network
    calls: environment keys, web identity (IRSA / GitHub OIDC), container and
    Pod Identity endpoints, profiles and shared files, plus provider settings in
    the stack config. The instance metadata service cannot be probed offline:
    set ``MLPLATFORM_SKIP_CREDENTIALS_CHECK=1`` there.
    """
    env = os.environ if env is None else env
    if env.get(SKIP_CREDENTIALS_CHECK) in ("1", "true", "yes"):
        return f"{SKIP_CREDENTIALS_CHECK} is set"
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        return "web identity (AWS_ROLE_ARN)"
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        return "container credentials endpoint"
    if env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE"):
        return f"profile {env.get('AWS_PROFILE') or env.get('AWS_DEFAULT_PROFILE')}"
    for key in _PROVIDER_CREDENTIAL_KEYS:
        if stack_config and stack_config.get(key):
            return f"stack config {key}"
    user_home = Path(env.get("HOME") or str(Path.home()))
    for var, default in (("AWS_SHARED_CREDENTIALS_FILE", user_home / ".aws" / "credentials"),
                         ("AWS_CONFIG_FILE", user_home / ".aws" / "config")):
        path = Path(env[var]).expanduser() if env.get(var) else default
        if path.is_file():
            return f"shared file {path}"
    return None


def require_aws_credentials(env: Optional[Mapping[str, str]] = None,
                            stack_config: Optional[Mapping[str, object]] = None) -> str:
    source = aws_credentials_source(env, stack_config)
    if source is None:
        raise CloudCredentialsMissing(
            "no AWS credentials found (no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, "
            "container credentials or ~/.aws files): configure credentials (e.g. `aws sso login --profile X` and "
            f"AWS_PROFILE=X), or set {SKIP_CREDENTIALS_CHECK}=1 on an EC2 host that uses its instance role"
        )
    return source


def looks_like_missing_credentials(text: str) -> bool:
    low = (text or "").lower()
    return any(marker in low for marker in MISSING_CREDENTIAL_MARKERS)
