"""The studio's sign-in in the sidebar, the visitor banner, and the one-line helpers pages gate with.

The decision is ui.roles'; this module only shows it: `sidebar()` (the "Owner password"
field, the OpenID Connect button, sign-out), `banner()` above every page for visitors, and
`can_write()` / `read_only(...)` for the pages' buttons and uploaders.
"""

from __future__ import annotations

import streamlit as st

from . import roles, site_config


def can_write() -> bool:
    """Whether this session may use write actions (pages hide or disable them otherwise)."""
    return roles.can_write()


def read_only(what: str) -> bool:
    """For a page section: True (and a caption saying why) when the visitor cannot `what`."""
    if roles.can_write():
        return False
    st.caption(f":material/lock: Visitors cannot {what}. {roles.access().how_to_enable()}")
    return True


def banner() -> None:
    """Above every page, for visitors: that the studio is read-only and how an owner gets in."""
    if roles.can_write():
        return
    acc = roles.access()
    if acc.mode != "sign-in":  # locked, or an open studio reached through a proxy
        st.warning(f"**Visitor mode.** You can look at the gallery, the runs and the Explore panel. "
                   f"{acc.how_to_enable()}", icon=":material/visibility:")
    else:
        st.info(f"**Visitor view**: read-only. {acc.how_to_enable()}", icon=":material/visibility:")


def sidebar() -> None:
    """The sign-in box (nothing at all in an open, local-only studio)."""
    acc = roles.access()
    if acc.mode == "open" and roles.can_write():
        return
    with st.sidebar, st.container(border=True):
        if acc.mode != "sign-in":
            st.caption(":material/lock: Visitor mode (no owner sign-in is set up)")
            return
        if acc.password:
            _password_box(acc)
        if acc.oidc:
            _oidc_box(acc)


def _password_box(acc: roles.Access) -> None:
    if st.session_state.get(roles.SESSION_KEY):
        if roles.decide(acc, st.session_state[roles.SESSION_KEY]) == roles.OWNER:
            st.markdown(":material/verified_user: Signed in as the **owner**")
            if st.button("Sign out", key="owner_sign_out", icon=":material/logout:"):
                st.session_state.pop(roles.SESSION_KEY, None)
                st.rerun()
            return
        st.session_state.pop(roles.SESSION_KEY, None)  # the password changed since: signed out
    with st.form("owner_sign_in", border=False, clear_on_submit=True):
        typed = st.text_input("Owner password", type="password", key="owner_password_field")
        go = st.form_submit_button("Sign in", icon=":material/login:")
    if go:
        if typed and roles.password_matches(typed, acc):
            st.session_state[roles.SESSION_KEY] = roles.session_token(acc)
            st.rerun()
        st.error("Wrong password")


def _oidc_box(acc: roles.Access) -> None:
    user = st.user
    if user.get("is_logged_in"):
        who = user.get("email") or user.get("preferred_username") or user.get("name") or "you"
        owner = bool(acc.owners & roles.oidc_names(user))
        st.markdown(f"Signed in as **{who}**" + (" (owner)" if owner else " (visitor: not in GAN_STUDIO_OWNERS)"))
        if st.button("Sign out", key="oidc_sign_out", icon=":material/logout:"):
            st.logout()
        return
    providers = site_config.auth_providers()
    if not providers:
        if st.button("Sign in", key="oidc_sign_in", icon=":material/login:"):
            st.login()
    for p in providers:
        if st.button(f"Sign in with {p.replace('_', ' ').title()}", key=f"oidc_sign_in_{p}", icon=":material/login:"):
            st.login(p)
    if not acc.owners:
        st.caption("No owner is listed (GAN_STUDIO_OWNERS), so signing in gives visitor rights only.")
