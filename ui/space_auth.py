"""`python -m ui.space_auth`: Streamlit's `[auth]` sign-in from a Hugging Face Space's OAuth app.

A Space with `hf_oauth: true` in its README front matter gets an OAuth/OpenID Connect app and
its settings as environment variables (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OPENID_PROVIDER_URL,
SPACE_HOST). Streamlit reads `[auth]` from secrets.toml only, so the Docker image runs this
first: it writes `[auth]` into ~/.streamlit/secrets.toml (merged with what is there, never
replacing an `[auth]` you wrote yourself) and exits quietly when those variables are absent.
The Space's README front matter must also say `hf_oauth_redirect_path: /oauth2callback`
(Streamlit's callback). Owners are the Hugging Face user names in GAN_STUDIO_OWNERS.
"""

from __future__ import annotations

import os
import secrets
import sys
import tomllib
from pathlib import Path
from typing import Mapping

REQUIRED = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OPENID_PROVIDER_URL", "SPACE_HOST")


def auth_section(env: Mapping[str, str]) -> dict[str, object] | None:
    """The `[auth]` table for Streamlit from a Space's variables, or None when they are not all set."""
    if not all(env.get(k) for k in REQUIRED):
        return None
    host = env["SPACE_HOST"].strip().rstrip("/")
    return {"redirect_uri": f"https://{host}/oauth2callback",
            # a fixed secret keeps sign-ins across restarts; a fresh one signs everyone out on restart
            "cookie_secret": env.get("GAN_STUDIO_COOKIE_SECRET") or secrets.token_urlsafe(32),
            "client_id": env["OAUTH_CLIENT_ID"], "client_secret": env["OAUTH_CLIENT_SECRET"],
            "server_metadata_url": env["OPENID_PROVIDER_URL"].rstrip("/") + "/.well-known/openid-configuration",
            "client_kwargs": {"scope": "openid profile"}}  # a Space's app grants these; user names identify owners


def _toml_value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(path: Path, env: Mapping[str, str]) -> bool:
    """Add `[auth]` to the secrets file at `path`; False when there is nothing to add."""
    auth = auth_section(env)
    if auth is None:
        return False
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if "auth" in tomllib.loads(existing):
        return False  # the owner's own [auth] wins
    lines = ["", "[auth]"] + [f"{k} = {_toml_value(v)}" for k, v in auth.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(existing.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return True


def main() -> int:
    path = Path.home() / ".streamlit" / "secrets.toml"
    if write(path, os.environ):
        print(f"sign-in with Hugging Face enabled ([auth] written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
