"""Who may do what: sessions, sign-in with its failure limit, roles, CSRF.

Sessions are Starlette's signed cookies (``itsdangerous``, key from ``[web]
secret_env``); every state-changing request carries the session's CSRF token
(header ``X-CSRF-Token`` or form field ``csrf``); a sign-in from another origin is
refused. Failed sign-ins are counted per user name and per client address in the
user database and refused above ``[web] login_max_failures`` per ``login_window_s``.
Roles: :data:`seismo.web.users.ROLES`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

from seismo.config import Settings, secret
from seismo.errors import AuthError, ConfigError
from seismo.web.data import Console
from seismo.web.users import User, role_rank

log = logging.getLogger(__name__)

#: Shortest session key accepted (characters; 32 random bytes in hex is 64).
MIN_SECRET = 16


class LoginRequired(Exception):
    """A page needs a signed-in user: redirect to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def session_secret(settings: Settings) -> str:
    """The session key from ``[web] secret_env``. Raises ConfigError when missing or short."""
    key = secret(settings.web.secret_env)
    if not key:
        raise ConfigError(f"the console needs a session key: set {settings.web.secret_env} "
                          f"(e.g. {settings.web.secret_env}=$(openssl rand -hex 32))")
    if len(key) < MIN_SECRET:
        raise ConfigError(f"{settings.web.secret_env} is shorter than {MIN_SECRET} characters")
    return key


def current_user(request: Request) -> User | None:
    """The signed-in user (still in the user database), or None."""
    name = request.session.get("user")
    if not name:
        return None
    console: Console = request.app.state.console
    user = console.users.get(name)
    if user is None or request.session.get("role") != user.role:
        request.session.clear()  # removed or role changed: sign in again
        return None
    return user


def app_path(request: Request) -> str:
    """The request's path inside the application (without the prefix it is mounted at)."""
    path, root = request.url.path, request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _wants_html(request: Request) -> bool:
    return not app_path(request).startswith("/api/")


def require(role: str) -> Any:
    """A dependency: the signed-in user with at least ``role`` (401/403 otherwise)."""
    role_rank(role)

    def dep(request: Request) -> User:
        user = current_user(request)
        if user is None:
            if _wants_html(request):
                raise LoginRequired(app_path(request))
            raise HTTPException(401, "sign in first (POST /login)")
        if not user.may(role):
            raise HTTPException(403, f"this needs the role {role} or above "
                                     f"(you are {user.role})")
        return user

    return Depends(dep)


async def check_csrf(request: Request) -> None:
    """State-changing requests carry the session's CSRF token (header or form field)."""
    token = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf")  # type: ignore[assignment]
    if not token or not isinstance(sent, str) or not hmac.compare_digest(token, sent):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page")


def same_origin(request: Request) -> bool:
    """No Origin header (a plain client), or one naming this host."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def sign_in(request: Request, name: str, password: str) -> User:
    """Check the password under the failure limit; on success start a fresh session.

    Raises:
        AuthError: wrong name or password, or too many failures (the message says).
    """
    console: Console = request.app.state.console
    cfg = console.settings.web
    now = time.time()
    client = request.client.host if request.client else "?"
    keys = (f"user:{name}", f"addr:{client}")
    if any(console.users.failures(k, now - cfg.login_window_s) >= cfg.login_max_failures
           for k in keys):
        raise AuthError(f"too many failed sign-ins: wait {cfg.login_window_s / 60:.0f} min")
    user = console.users.verify(name, password)
    if user is None:
        for k in keys:
            console.users.record_failure(k, now, cfg.login_window_s)
        log.warning("failed sign-in for %r from %s", name, client)
        raise AuthError("wrong user name or password")
    console.users.clear_failures(f"user:{name}")
    request.session.clear()
    request.session.update({"user": user.name, "role": user.role, "since": now,
                            "csrf": secrets.token_urlsafe(32)})
    log.info("%s (%s) signed in from %s", user.name, user.role, client)
    return user
