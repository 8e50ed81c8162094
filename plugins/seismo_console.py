"""Airflow 3 plugin: the seismo operations console inside Airflow's API server.

Airflow mounts each FastAPI application listed in ``fastapi_apps`` under its
``url_prefix`` (Airflow 3 plugins, "fastapi_apps"), so the console is served at
``/seismo/`` of the API server and needs no second web service (docs/web.md). The
console keeps its own users, sessions and CSRF checks; its configuration is the one of
``SEISMO_CONFIG`` (or the shipped file) and its session key ``SEISMO_WEB_SECRET``.
Without the key the plugin mounts nothing and logs why.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)
URL_PREFIX = "/seismo"


def _apps() -> list[dict[str, object]]:
    from seismo.config import load_settings
    from seismo.errors import SeismoError
    from seismo.web.app import create_app

    try:
        app = create_app(load_settings())  # the mount gives it its prefix
    except SeismoError as exc:
        log.error("seismo console not mounted: %s", exc)
        return []
    return [{"app": app, "url_prefix": URL_PREFIX, "name": "seismo operations console"}]


class SeismoConsolePlugin(AirflowPlugin):
    name = "seismo_console"
    fastapi_apps = _apps()
