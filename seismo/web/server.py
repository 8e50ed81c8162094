"""Run the console with uvicorn (``seismo web``, ``seismo demo``), in the foreground or
in a thread that stops cleanly."""

from __future__ import annotations

import logging
import threading
import time

from seismo.config import Settings
from seismo.errors import ConfigError

log = logging.getLogger(__name__)


def _server(settings: Settings, host: str | None, port: int | None,
            secret_key: str | None) -> object:
    import uvicorn

    from seismo.web.app import create_app

    app = create_app(settings, secret_key=secret_key)
    host = host or settings.web.host
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("the console binds %s: it is reachable from other machines; serve it "
                    "behind TLS (docs/web.md)", host)
    config = uvicorn.Config(app, host=host, port=port or settings.web.port, log_level="warning",
                            access_log=False, proxy_headers=False)
    return uvicorn.Server(config)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """Serve in the foreground until Ctrl-C or SIGTERM; returns the exit code."""
    server = _server(settings, host, port, None)
    log.info("seismo web on http://%s:%d/", host or settings.web.host, port or settings.web.port)
    server.run()  # type: ignore[attr-defined]
    return 0


class BackgroundConsole:
    """The console served from a thread (the demo, the browser tests); :meth:`stop` ends it."""

    def __init__(self, settings: Settings, *, host: str | None = None, port: int | None = None,
                 secret_key: str | None = None) -> None:
        self.server = _server(settings, host, port, secret_key)
        self.host = host or settings.web.host
        self.port = port or settings.web.port
        self.thread = threading.Thread(target=self.server.run, daemon=True,  # type: ignore[attr-defined]
                                       name="seismo-web")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> BackgroundConsole:
        self.thread.start()
        t_end = time.monotonic() + timeout_s
        while not getattr(self.server, "started", False):
            if not self.thread.is_alive() or time.monotonic() > t_end:
                raise ConfigError(f"the console did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(10.0)
