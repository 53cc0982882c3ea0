"""ui/space_auth.py: a Space's OAuth app becomes Streamlit's [auth] section (OIDC sign-in with
Hugging Face), never replacing an [auth] the owner wrote, and nothing without the variables."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ui import roles, site_config, space_auth

SPACE = {"OAUTH_CLIENT_ID": "cid", "OAUTH_CLIENT_SECRET": "csecret", "OPENID_PROVIDER_URL": "https://huggingface.co",
         "SPACE_HOST": "me-studio.hf.space", "GAN_STUDIO_COOKIE_SECRET": "cookie"}


def test_the_auth_section_follows_the_spaces_variables() -> None:
    auth = space_auth.auth_section(SPACE)
    assert auth == {"redirect_uri": "https://me-studio.hf.space/oauth2callback", "cookie_secret": "cookie",
                    "client_id": "cid", "client_secret": "csecret",
                    "server_metadata_url": "https://huggingface.co/.well-known/openid-configuration",
                    "client_kwargs": {"scope": "openid profile"}}
    assert space_auth.auth_section({k: v for k, v in SPACE.items() if k != "OAUTH_CLIENT_SECRET"}) is None
    fresh = space_auth.auth_section({k: v for k, v in SPACE.items() if k != "GAN_STUDIO_COOKIE_SECRET"})
    assert fresh and len(str(fresh["cookie_secret"])) >= 32


def test_it_is_written_beside_existing_secrets_and_turns_on_oidc(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    path.write_text('owner_password = "pw \\" with a quote"\n')
    assert space_auth.write(path, SPACE)
    data = tomllib.loads(path.read_text())
    assert data["owner_password"] == 'pw " with a quote' and data["auth"]["client_id"] == "cid"
    assert data["auth"]["client_kwargs"] == {"scope": "openid profile"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not space_auth.write(path, {**SPACE, "OAUTH_CLIENT_ID": "other"})  # an [auth] is there: kept
    assert tomllib.loads(path.read_text())["auth"]["client_id"] == "cid"
    monkeypatch.setenv(site_config.SECRETS_ENV, str(path))
    monkeypatch.setenv("GAN_STUDIO_OWNERS", "me")
    acc = roles.access()
    assert acc.oidc and acc.password and roles.decide(acc, user={"is_logged_in": True,
                                                                 "preferred_username": "me"}) == roles.OWNER


def test_nothing_is_written_outside_a_space(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    assert not space_auth.write(path, {})
    assert not path.exists()
