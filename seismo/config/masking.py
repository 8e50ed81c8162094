"""Secrets and masking: secrets are read from the environment on use, never from the file,
and every URL shown in a dump or a message has its credentials masked.

The file names the *environment variable* that holds each secret
(``token_env = "SEISMO_INFLUX_TOKEN"``) and :func:`secret` reads it on use. Dumps
(``seismo config check``) show only whether a secret is set. Credentials written into
URLs (``http://user:password@host``, ``?apikey=…``) are masked by :func:`mask_url` /
:func:`mask_secrets`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "mask_config", "mask_secrets", "mask_url", "secret", "url_origin"]


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable ``env_name`` (None if unset)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


#: Query parameters whose value is a credential (``?apikey=…``, ``&token=…``).
_SECRET_PARAM = re.compile(r"key|token|secret|pass|pwd|auth|sig|credential|^code$|jwt",
                           re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with credentials masked: ``user:password@`` and secret query values.

    ``http://ops:pw@h/x?apikey=abc&db=s`` -> ``http://***@h/x?apikey=***&db=s``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    secret_query = any(_SECRET_PARAM.search(k) for k, _ in parse_qsl(parts.query))
    if "@" not in netloc and not secret_query:
        return url  # nothing to mask: the URL as written (``sim://`` stays ``sim://``)
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{MASK}@{host}" + (f":{port}" if port is not None else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs],
                              safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_origin(url: str) -> str:
    """Scheme, host and port of ``url`` only: ``https://hooks.slack.com``.

    For URLs whose path or query is itself the credential (Slack and Teams incoming
    webhooks carry their tokens in the path, Azure Functions a ``code=`` and others a
    ``jwt=``): a webhook URL is shown this way everywhere (configuration check, logs,
    outbox files).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable url>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def mask_secrets(text: str) -> str:
    """``text`` with every URL in it passed through :func:`mask_url`."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def mask_config(node: Any) -> Any:
    """Plain configuration data with URLs masked and ``*_env`` values reduced to set/unset."""
    if isinstance(node, str):
        return mask_secrets(node)
    if isinstance(node, dict):
        out = {}
        webhook = node.get("kind") == "webhook"
        for k, v in node.items():
            if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                out[k] = f"{v} ({'set' if secret(v) else 'unset'})"
            elif webhook and k == "url" and isinstance(v, str):
                out[k] = url_origin(v) + " (path and query not shown)"
            else:
                out[k] = mask_config(v)
        return out
    if isinstance(node, list | tuple):
        return [mask_config(v) for v in node]
    if isinstance(node, Path):
        return mask_secrets(str(node))
    return node
