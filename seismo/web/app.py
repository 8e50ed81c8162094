"""The console's FastAPI application: sessions, sign-in, roles, CSRF, static files.

:func:`create_app` builds the application from the settings and the session key.
Sessions are Starlette's signed cookies (``itsdangerous``, key from
``[web] secret_env``); every state-changing request carries the session's CSRF
token (header ``X-CSRF-Token`` or form field ``csrf``); a sign-in from another
origin is refused. Failed sign-ins are counted per user name and per client
address in the user database and refused above ``[web] login_max_failures`` per
``login_window_s``. Roles: :data:`seismo.web.users.ROLES`.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from seismo.config import Settings
from seismo.errors import DataError, SeismoError
from seismo.web import routes
from seismo.web.auth import LoginRequired, session_secret
from seismo.web.data import Console

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


def _warm_basemap(console: Console) -> None:
    """Cut the map layers in the background, so the first map page does not wait."""
    try:
        console.basemap()
    except (OSError, ValueError, SeismoError) as exc:
        log.warning("map layers not available: %s", exc)


def create_app(settings: Settings, *, secret_key: str | None = None,
               root_path: str = "") -> FastAPI:
    """The console application.

    Args:
        settings: the configuration (``[web]``, the store, the alerts ...).
        secret_key: the session key; default: the environment variable named by
            ``[web] secret_env`` (:func:`session_secret`; refused when missing).
        root_path: the prefix the application is mounted under (the Airflow plugin).
    """
    key = secret_key or session_secret(settings)
    app = FastAPI(
        title="seismo operations console",
        description="Events, review, stations, alerts and drills of the seismic network: "
        "the JSON API of `seismo web` (docs/web.md). Every endpoint needs a signed-in "
        "session (`POST /login`); state-changing requests carry the session's CSRF token "
        "in the `X-CSRF-Token` header.",
        version="1",
        root_path=root_path,
        # the interactive docs pages load scripts from a CDN: the console draws the
        # OpenAPI description itself at /api (offline); /openapi.json stays
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = Console(settings)
    threading.Thread(target=_warm_basemap, args=(app.state.console,), daemon=True,
                     name="seismo-web-basemap").start()
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES))
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="seismo_session",
                       max_age=int(settings.web.session_max_age_s), same_site="strict",
                       https_only=os.environ.get("SEISMO_WEB_HTTPS") == "1")
    # JSON (lists, record sections, map layers) shrinks 4-8 times
    app.add_middleware(GZipMiddleware, minimum_size=2000)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/login?next={exc.next_url}",
                                status_code=303)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=404 if "not found" in str(exc)
                            or "not in the" in str(exc) else 400)

    @app.exception_handler(SeismoError)
    async def _seismo(request: Request, exc: SeismoError) -> Response:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=503 if "store" in
                            type(exc).__name__.lower() else 400)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        # nothing leaves the machine: scripts, styles and images from this origin only
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(routes.api)
    app.include_router(routes.pages)
    return app
