"""ui/roles.py: who is the owner (open, sign-in and locked studios), the password check, and the
pages as a visitor, after a wrong password, signed in and signed out (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import ROOT, isolate_home
from streamlit.testing.v1 import AppTest

from ui import roles, site_config

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No password, no Space, and a secrets file of the test's own (none of this machine's)."""
    for var in ("GAN_STUDIO_OWNER_PASSWORD", "GAN_STUDIO_OWNERS", "SPACE_ID", "SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv(site_config.SECRETS_ENV, str(secrets))
    return secrets


# -- the rule ----------------------------------------------------------------------------------
def test_an_open_local_studio_makes_everyone_the_owner_and_a_shared_one_nobody() -> None:
    assert roles.Access(local_only=True).mode == "open"
    assert roles.decide(roles.Access(local_only=True)) == roles.OWNER
    # a local server published through a tunnel or proxy: those sessions are visitors
    assert roles.decide(roles.Access(local_only=True), proxied=True) == roles.VISITOR
    locked = roles.Access(local_only=False)
    assert locked.mode == "locked" and roles.decide(locked) == roles.VISITOR
    assert "GAN_STUDIO_OWNER_PASSWORD" in locked.how_to_enable()
    # a password on a local studio still asks for it (`GAN_STUDIO_OWNER_PASSWORD=... streamlit run app.py`)
    acc = roles.Access(password="pw", local_only=True)
    assert acc.mode == "sign-in" and roles.decide(acc) == roles.VISITOR
    assert roles.decide(acc, roles.session_token(acc)) == roles.OWNER
    assert roles.decide(acc, roles.session_token(roles.Access(password="old"))) == roles.VISITOR  # password changed


def test_oidc_owners_come_from_the_allow_list_only() -> None:
    acc = roles.Access(oidc=True, owners=roles.parse_owners("Alice@Example.com, bob"), local_only=False)
    alice = {"is_logged_in": True, "email": "alice@example.com", "name": "Alice"}
    bob = {"is_logged_in": True, "preferred_username": "bob"}
    eve = {"is_logged_in": True, "email": "eve@example.com"}
    assert roles.decide(acc, user=alice) == roles.OWNER
    assert roles.decide(acc, user=bob) == roles.OWNER
    assert roles.decide(acc, user=eve) == roles.VISITOR
    assert roles.decide(acc, user={"is_logged_in": False, "email": "alice@example.com"}) == roles.VISITOR
    assert roles.decide(roles.Access(oidc=True, local_only=True), user=alice) == roles.VISITOR  # empty list: no owner


def test_settings_come_from_the_environment_then_secrets(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert roles.access() == roles.Access(local_only=True)  # nothing set, no server: as today
    clean_env.write_text('owner_password = "from-secrets"\nowners = "x@y.z"\n[auth]\nclient_id = "id"\n')
    acc = roles.access()
    assert acc.password == "from-secrets" and acc.oidc and acc.owners == {"x@y.z"}
    monkeypatch.setenv("GAN_STUDIO_OWNER_PASSWORD", "from-env")
    assert roles.access().password == "from-env"
    clean_env.write_text("owner_password = \n")  # broken TOML: a clear error, not a silent open studio
    with pytest.raises(site_config.SettingsError, match="secrets.toml"):
        roles.access()


@pytest.mark.parametrize("env", [{"SPACE_ID": "me/studio"}, {"SYSTEM": "spaces"}])
def test_a_space_is_never_local(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert roles.access().mode == "locked"


@pytest.mark.parametrize("address,local", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                           ("", False), (None, False), ("192.168.1.5", False),
                                           ("studio.example.com", False)])
def test_loopback_addresses(address: str | None, local: bool) -> None:
    assert site_config.is_loopback(address) is local


def test_a_wrong_password_costs_a_delay_and_the_right_one_none(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(roles.time, "sleep", slept.append)
    acc = roles.Access(password=PASSWORD)
    assert not roles.password_matches("correct horse", acc)
    assert not roles.password_matches("", acc)
    assert slept == [roles.FAIL_DELAY_S, roles.FAIL_DELAY_S]
    assert roles.password_matches(PASSWORD, acc) and len(slept) == 2
    assert not roles.password_matches("anything", roles.Access())  # no password set: nothing matches


# -- the pages (AppTest) ------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(roles, "FAIL_DELAY_S", 0.01)
    return isolate_home(tmp_path, monkeypatch)


def studio() -> AppTest:
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=90)
    at.session_state["dataset_key"] = "builtin:mnist"  # as tests/test_app_train_form.py opens the Train page
    return at


def start_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Start training"))


def sign_in(at: AppTest, password: str) -> AppTest:
    at.sidebar.text_input(key="owner_password_field").input(password)
    next(b for b in at.sidebar.button if b.label == "Sign in").click()
    return at.run()


def test_a_local_studio_needs_no_sign_in(home: Path) -> None:
    at = studio().run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert not start_button(at).disabled
    assert not [t for t in at.sidebar.text_input if t.label == "Owner password"]
    assert not any("Visitor" in i.value for i in [*at.info, *at.warning])


def test_with_a_password_the_owner_signs_in_and_out(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_STUDIO_OWNER_PASSWORD", PASSWORD)
    at = studio().run()
    assert any("Visitor view" in i.value for i in at.info)
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert start_button(at).disabled
    assert next(b for b in at.button if b.label == "Estimate time").disabled
    assert any("Visitors cannot time or start trainings" in c.value for c in at.caption)

    sign_in(at, "not the password")
    assert [e.value for e in at.sidebar.error] == ["Wrong password"]
    assert start_button(at).disabled

    sign_in(at, PASSWORD)
    assert not at.sidebar.error and not at.exception
    assert any("Signed in as the **owner**" in m.value for m in at.sidebar.markdown)
    assert not start_button(at).disabled
    assert not any("Visitor view" in i.value for i in at.info)

    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    assert start_button(at).disabled
    assert [t.label for t in at.sidebar.text_input] == ["Owner password"]


def test_a_visitor_gets_no_uploader_no_upload_list_and_no_run_controls(home: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from app_helpers import image_zip

    from ui import uploads

    uploads.save_zip("private-faces.zip", image_zip({"a": 3}))  # the owner's upload (a script: owner)
    monkeypatch.setenv("SPACE_ID", "me/studio")  # a Space without sign-in: locked
    at = studio().run()
    assert any("Visitor mode" in w.value for w in at.warning)
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert at.radio(key="data_mode").options == ["Built-in"]
    assert not at.get("file_uploader")
    at.switch_page("pages/train.py").run()
    assert not any("private-faces" in str(o) for o in at.selectbox(key="t_dataset").options)
    assert start_button(at).disabled



def test_with_oidc_configured_the_sidebar_offers_the_providers_sign_in(home: Path, clean_env: Path) -> None:
    clean_env.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "x"\n'
                         '[auth.huggingface]\nclient_id = "id"\nclient_secret = "s"\n'
                         'server_metadata_url = "https://huggingface.co/.well-known/openid-configuration"\n')
    at = studio().run()
    assert not at.exception
    assert [b.label for b in at.sidebar.button] == ["Sign in with Huggingface"]
    assert any("No owner is listed" in c.value for c in at.sidebar.caption)  # GAN_STUDIO_OWNERS is empty
    assert any("Visitor view" in i.value for i in at.info)
