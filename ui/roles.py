"""Who may change things: the one place that decides whether the caller is the owner or a visitor.

Two roles. The **owner** may upload, train, stop, resume, delete and publish; a **visitor**
sees the gallery, the Monitor and Runs read-only and the whole Explore panel. How a session
becomes the owner depends on how the studio is set up (`Access.mode`):

- "open": no owner password and no `[auth]`, and the server is reachable from this computer
  only (`--server.address 127.0.0.1`, the project's config.toml default): everyone is the
  owner, as a local app should be; except a session that came through a proxy (its request
  carries X-Forwarded-For, Forwarded or X-Real-IP: a tunnel or reverse proxy publishing the
  local server), which is a visitor, as in a locked studio.
- "sign-in": an owner password (`GAN_STUDIO_OWNER_PASSWORD`, or `owner_password` in
  secrets.toml) and/or Streamlit's OpenID Connect sign-in (`[auth]` in secrets.toml, owners
  listed in `GAN_STUDIO_OWNERS`): a session is a visitor until it signs in.
- "locked": neither, on a server others can reach (another listen address, or a Hugging Face
  Space): everyone is a visitor, and the pages say how to enable the owner.

Every write action calls `require_owner(...)` in the service that performs it (ui.run_control,
ui.uploads, ui.publishing); pages only hide what a visitor cannot use. The caller's role is
`current_role()`: an explicit `acting_as(...)` block if one is open (tests, tools), else the
Streamlit session's (its sign-in lives in st.session_state or st.user), else the owner: code
outside a Streamlit session is this computer's own (a script, a test, a background timer); no
request from the network reaches a write action without a session.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Literal

from . import site_config

Role = Literal["owner", "visitor"]
OWNER: Role = "owner"
VISITOR: Role = "visitor"

PASSWORD_ENV, PASSWORD_KEY = "GAN_STUDIO_OWNER_PASSWORD", "owner_password"
OWNERS_ENV, OWNERS_KEY = "GAN_STUDIO_OWNERS", "owners"
FAIL_DELAY_S = 1.0  # after each wrong password; checks run one at a time, so guessing is ~1 per second
SESSION_KEY = "_gan_owner_password"  # st.session_state: the digest of the password this session signed in with
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")  # a request relayed by a proxy or tunnel

_override: contextvars.ContextVar[Role | None] = contextvars.ContextVar("gan_studio_role", default=None)
_check_lock = threading.Lock()


class NotAllowed(PermissionError):
    """A write action asked for by a visitor; the message says who may do it and how to become them."""


@dataclass(frozen=True)
class Access:
    """How this studio lets a session become its owner (read from the environment and secrets)."""

    password: str = ""  # the owner password ("" = none)
    oidc: bool = False  # `[auth]` is configured: Streamlit's st.login works
    owners: frozenset[str] = frozenset()  # e-mails / user names allowed as owner after st.login (lower case)
    local_only: bool = True  # reachable from this computer only
    in_space: bool = False

    @property
    def mode(self) -> Literal["open", "sign-in", "locked"]:
        if self.password or self.oidc:
            return "sign-in"
        return "open" if self.local_only else "locked"

    def how_to_enable(self) -> str:
        """One line for visitors: how this studio gets an owner."""
        if self.mode == "sign-in":
            ways = (["the owner password"] if self.password else []) + (["the sign-in button"] if self.oidc else [])
            return f"The owner signs in in the sidebar ({' or '.join(ways)})."
        where = "this Space's settings (Variables and secrets)" if self.in_space else "the server's environment"
        return ("Nobody can change anything here: the studio is reachable from other computers and has no "
                f"owner sign-in. To enable the owner, set the secret GAN_STUDIO_OWNER_PASSWORD in {where} "
                "(or configure [auth] sign-in) and restart; see docs/spaces.md.")


def parse_owners(text: str | None) -> frozenset[str]:
    """`GAN_STUDIO_OWNERS`: e-mails or user names separated by commas or spaces (case-insensitive)."""
    return frozenset(p.strip().lower() for p in (text or "").replace(",", " ").split() if p.strip())


def access() -> Access:
    """This process's access settings, read now (a changed secrets.toml applies on the next call)."""
    return Access(password=site_config.value(PASSWORD_ENV, PASSWORD_KEY) or "",
                  oidc=bool(site_config.auth_section()),
                  owners=parse_owners(site_config.value(OWNERS_ENV, OWNERS_KEY)),
                  local_only=site_config.local_only(), in_space=site_config.in_space())


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def password_matches(given: str, acc: Access) -> bool:
    """Constant-time check of a typed password (digests of equal length are compared, so the time
    says nothing about the password's length either). A failure costs FAIL_DELAY_S, and checks
    run one at a time in the process, so parallel guessing is no faster."""
    with _check_lock:
        ok = bool(acc.password) and hmac.compare_digest(_digest(given), _digest(acc.password))
        if not ok:
            time.sleep(FAIL_DELAY_S)
    return ok


def session_token(acc: Access) -> str:
    """What a session keeps after signing in with the password: the password's digest (hex), so a
    changed password signs every session out."""
    return _digest(acc.password).hex()


def oidc_names(user: Any) -> set[str]:
    """The names an OpenID Connect identity (st.user) can be listed under in GAN_STUDIO_OWNERS."""
    if not user or not _get(user, "is_logged_in"):
        return set()
    names = {_get(user, k) for k in ("email", "preferred_username", "name", "sub")}
    return {str(n).strip().lower() for n in names if n}


def _get(user: Any, key: str) -> Any:
    try:
        return user.get(key)
    except (AttributeError, KeyError):
        return None


def decide(acc: Access, password_token: str | None = None, user: Any = None, proxied: bool = False) -> Role:
    """The rule: open studios make everyone the owner, but for sessions relayed by a proxy; in
    sign-in mode a session is the owner while it holds the current password's token or is signed
    in (OIDC) under an allow-listed name; locked studios have no owner."""
    if acc.mode == "open":
        return VISITOR if proxied else OWNER
    if acc.mode == "locked":
        return VISITOR
    if acc.password and password_token and hmac.compare_digest(password_token, session_token(acc)):
        return OWNER
    if acc.oidc and acc.owners & oidc_names(user):
        return OWNER
    return VISITOR


def _streamlit_session_role() -> Role | None:
    """The role of the Streamlit session running this code, or None outside a script run."""
    import sys

    if "streamlit" not in sys.modules:
        return None
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    import streamlit as st

    acc = access()
    user = st.user if acc.oidc else None
    return decide(acc, st.session_state.get(SESSION_KEY), user, proxied=acc.mode == "open" and _proxied(st))


def _proxied(st: Any) -> bool:
    """Whether this session's request came through a proxy (st.context.headers)."""
    try:
        headers = st.context.headers
        return any(headers.get(h) for h in PROXY_HEADERS)
    except Exception:  # no request headers (AppTest, bare mode): a local session
        return False


def current_role() -> Role:
    """The caller's role (see the module docstring for where it comes from)."""
    forced = _override.get()
    if forced is not None:
        return forced
    return _streamlit_session_role() or OWNER


def can_write() -> bool:
    return current_role() == OWNER


@contextlib.contextmanager
def acting_as(role: Role) -> Iterator[None]:
    """Run a block as `role` whatever the session says (tests; tools acting for someone)."""
    if role not in (OWNER, VISITOR):
        raise ValueError(f"unknown role {role!r}")
    token = _override.set(role)
    try:
        yield
    finally:
        _override.reset(token)


def require_owner(action: str) -> None:
    """Refuse `action` (e.g. "start a training") unless the caller is the owner."""
    if current_role() == OWNER:
        return
    acc = access()
    if acc.mode != "sign-in":
        raise NotAllowed(f"Visitors cannot {action}. {acc.how_to_enable()}")
    raise NotAllowed(f"Only the studio's owner can {action}. {acc.how_to_enable()}")

