"""Health probes: the ``X-Seismo-Health=`` value of each unit (deploy/).

=========================  =================================================
``tcp:HOST:PORT``          a TCP connection is accepted
``http:URL``               the URL answers 2xx
``redis``                  Redis answers PING with the broker URL's password
``airflow:COMPONENT``      the API server's ``/api/v2/monitor/health`` says the
                           component (scheduler, triggerer, dag_processor) is
                           healthy (its heartbeat is recent)
``celery:NODE``            the Celery worker NODE answers a broker ping
``heartbeat``              ``seismo stream``'s newest heartbeat in InfluxDB is
                           younger than ``[stream] heartbeat_down_s``
``heartbeat:HOST``         the same for the heartbeats tagged ``HOST`` (one part
                           of the split stream, e.g. ``node:pickers-1of2``)
=========================  =================================================

Each probe returns ``(ok, detail)`` within a few seconds and never raises.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

Result = tuple[bool, str]

_IMPORT_LOCK = threading.Lock()


def tcp(host: str, port: int, timeout_s: float = 1.0) -> Result:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True, f"accepts connections on {host}:{port}"
    except OSError as exc:
        return False, f"{host}:{port}: {exc.strerror or exc}"


def http_get(url: str, timeout_s: float = 5.0) -> tuple[int | None, bytes]:
    """Status and body of a GET (None: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""
    except (urllib.error.URLError, OSError):
        return None, b""


def http(url: str) -> Result:
    status, _ = http_get(url)
    if status is not None and 200 <= status < 300:
        return True, f"HTTP {status}"
    return False, "no answer" if status is None else f"HTTP {status}"


def redis_ping(broker_url: str) -> Result:
    try:
        import redis
    except ImportError:
        return False, "the redis package is not installed"
    try:
        client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
            info = dict(client.info("server"))  # type: ignore[arg-type]
        finally:
            client.close()
    except redis.RedisError as exc:
        return False, type(exc).__name__ + (": " + str(exc).split(":")[0] if str(exc) else "")
    return True, f"PONG (redis {info.get('redis_version', '?')})"


def airflow_component(api_base: str, component: str) -> Result:
    status, body = http_get(api_base.rstrip("/") + "/api/v2/monitor/health")
    if status != 200:
        return False, "API server: " + ("no answer" if status is None else f"HTTP {status}")
    try:
        info = json.loads(body).get(component, {})
    except (ValueError, AttributeError):
        return False, "API server: unreadable health answer"
    state = info.get("status") or "unknown"
    beat = next((v for k, v in info.items() if k.endswith("heartbeat")), None)
    return state == "healthy", f"{state}" + (f" (heartbeat {beat})" if beat else "")


def celery_ping(broker_url: str, node: str, timeout_s: float = 2.0) -> Result:
    # Celery builds its top-level module lazily; two probe threads importing it at once can see
    # it half-initialised (an ImportError that is not a missing package), so imports are serial.
    with _IMPORT_LOCK:
        try:
            from celery import Celery
        except ImportError as exc:
            return False, f"celery cannot be imported: {exc}"
    app = Celery("seismo-probe", broker=broker_url)
    try:
        replies = app.control.ping(destination=[node], timeout=timeout_s) or []
    except Exception as exc:  # kombu/redis raise many types (connection, timeout, auth)
        return False, f"broker: {type(exc).__name__}"
    finally:
        app.close()
    if any(node in r for r in replies):
        return True, "answers ping"
    return False, f"no ping answer within {timeout_s:.0f} s"


def stream_heartbeat(host: str | None = None) -> Result:
    from obspy import UTCDateTime

    from seismo.config import current_settings
    from seismo.errors import SeismoError
    from seismo.io.store import InfluxStore

    s = current_settings()
    try:
        with InfluxStore.from_settings(s.store) as store:
            beat = store.last_heartbeat(UTCDateTime() - s.stream.heartbeat_down_s, host)
    except SeismoError as exc:
        return False, f"InfluxDB: {exc}"
    if not beat:
        return False, f"no heartbeat in the last {s.stream.heartbeat_down_s:.0f} s"
    age = float(UTCDateTime()) - float(beat["time"]) / 1e6  # time: µs since 1970
    return True, f"heartbeat {age:.0f} s ago"


def probe(spec: str, env: dict[str, str]) -> Result:
    """Run the probe ``spec`` (module docstring) with the stack's environment ``env``."""
    kind, _, arg = spec.partition(":")
    broker = env.get("AIRFLOW__CELERY__BROKER_URL", "")
    api = env.get("AIRFLOW__API__BASE_URL", "")
    if kind == "tcp":
        host, _, port = arg.rpartition(":")
        return tcp(host, int(port))
    if kind == "http":
        return http(arg)
    if kind == "redis":
        return redis_ping(broker)
    if kind == "airflow":
        return airflow_component(api, arg)
    if kind == "celery":
        return celery_ping(broker, arg)
    if kind == "heartbeat":
        return stream_heartbeat(arg or None)
    if not spec:
        return True, "running (no probe)"
    return False, f"unknown probe {spec!r}"


#: Probes that gate the start of the services that come after: a quick answer from a
#: server. The others (scheduler heartbeats, worker pings, the stream's heartbeat) are
#: reported by ``status`` only.
GATING = ("tcp", "http", "redis")
