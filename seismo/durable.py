"""Durable state files: atomic writes that survive a crash, reads that survive bad files.

Every file seismo keeps between runs goes through this module: the alert outbox
(:mod:`seismo.alerts.outbox`), the store's spool (:mod:`seismo.io.store.spool`),
the detection DAG's window ledger (:mod:`seismo.shells.ledger`), the state of
``seismo stream`` (:mod:`seismo.shells.stream_state`) and the station-health
state (:mod:`seismo.health.state`).

Writing (:func:`write_atomic`, :func:`write_json`):

1. the bytes go to a temporary file in the target's directory
   (``.<name>.<random>.tmp``), which is flushed and ``fsync``'d;
2. the temporary file is renamed over the target (``os.replace``), or linked to
   it when the target must be new (``os.link`` fails if the name exists, so two
   writers never both create it);
3. the directory is ``fsync``'d, so that the new name itself survives a power cut.

A reader sees the old content or the new one, never a part of it (POSIX rename
is atomic). A writer killed in the middle leaves at most its temporary file,
which :func:`remove_stale_tmp` removes later; the target is untouched.

Reading (:func:`read_json`, :func:`load_json`): a missing file is "nothing
kept" (None). A file whose content cannot be used (not UTF-8, not JSON, or JSON
of the wrong shape, as the caller's ``parse`` decides) is a
:class:`~seismo.errors.StateFileError`; :func:`load_json` moves such a file
aside (:func:`quarantine`), says so at ERROR with the reason, and goes on as if
it were missing, so that one bad file never stops a service. A file that exists
but cannot be read (permissions, I/O error) is reported and left in place: its
content may be good.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from seismo.errors import StateFileError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Suffix of a file set aside next to where it was (when no quarantine directory is given).
BAD_SUFFIX = ".bad"

#: The errors a ``parse`` function raises for JSON of the wrong shape.
SHAPE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)


# --------------------------------------------------------------------------- writing
def fsync_dir(directory: Path) -> None:
    """``fsync`` a directory, so that names created, renamed or removed in it persist."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(path: Path, data: bytes) -> Path:
    """``data`` in a new, fsync'd temporary file beside ``path``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, new: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically and durably (module docstring).

    ``new=True`` creates the file only if no file of that name exists: returns False
    (nothing written) when it does. The directory must exist.

    Raises:
        OSError: the file cannot be written (disk full, read-only, permissions);
            the target is then unchanged and no temporary file is left.
    """
    path = Path(path)
    tmp = _write_tmp(path, data)
    try:
        if new:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def write_json(path: Path, data: Any, *, new: bool = False, **dumps: Any) -> bool:
    """:func:`write_atomic` of ``json.dumps(data, **dumps)`` (UTF-8)."""
    return write_atomic(path, json.dumps(data, **dumps).encode("utf-8"), new=new)


def append_durable(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created if missing) and ``fsync`` it.

    Appending is not atomic: a writer killed in the middle can leave a partial
    last line. Use it for logs of records, never for a state file.
    """
    path = Path(path)
    created = not path.exists()
    with open(path, "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if created:
        fsync_dir(path.parent)


def remove(path: Path) -> None:
    """Remove ``path`` (nothing if it is gone) and ``fsync`` its directory."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def remove_stale_tmp(directory: Path, older_than_s: float) -> list[Path]:
    """Remove temporary files (``*.tmp``) older than ``older_than_s`` from ``directory``:
    what writers killed in the middle left behind. Returns the files removed."""
    gone: list[Path] = []
    now = time.time()
    for tmp in Path(directory).glob("*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                log.warning("removed incomplete file %s (its writer was killed)", tmp)
                gone.append(tmp)
    return gone


# --------------------------------------------------------------------------- reading
def read_json(path: Path, parse: Callable[[Any], T], *, what: str = "state file") -> T | None:
    """``parse(json.loads(text of path))``; None when ``path`` does not exist.

    ``parse`` checks the shape and builds the caller's object; it raises one of
    :data:`SHAPE_ERRORS` for JSON of the wrong shape. ``what`` names the file in
    messages ("stream state file").

    Raises:
        StateFileError: the file cannot be read (``bad_content`` False) or its
            content cannot be used (``bad_content`` True); the message names the
            file and the reason.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(path, f"cannot be read: {exc.strerror or exc}", what=what,
                             bad_content=False) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(path, f"not valid UTF-8 at byte {exc.start}", what=what) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(path, f"not valid JSON: {exc}", what=what) from None
    try:
        return parse(data)
    except SHAPE_ERRORS as exc:
        raise StateFileError(path, f"not valid: {type(exc).__name__}: {exc}", what=what) from None


def quarantine(
    path: Path, reason: str, *, into: Path | None = None, what: str = "state file",
    advice: str = "",
) -> Path | None:
    """Move a bad file aside and say so at ERROR, with ``reason``; returns where it went.

    ``into``: a directory to move it into (created if missing; same name); default:
    renamed ``<name>.bad`` beside it. None when the file is already gone or cannot be
    moved (then the error asks for it to be removed by hand).
    """
    path = Path(path)
    target = (into / path.name) if into is not None else path.with_name(path.name + BAD_SUFFIX)
    try:
        if into is not None:
            into.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        fsync_dir(path.parent)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.error("%s %s is bad (%s) and cannot be moved aside: %s; remove it by hand",
                  what, path, reason, exc.strerror or exc)
        return None
    log.error("%s %s is bad (%s): moved aside to %s%s", what, path, reason, target,
              f"; {advice}" if advice else "")
    return target


def load_json(
    path: Path, parse: Callable[[Any], T], *, what: str = "state file",
    into: Path | None = None, advice: str = "",
) -> T | None:
    """:func:`read_json`, but a bad file is moved aside (:func:`quarantine`, ``into``)
    and a file that cannot be read is reported: both give None, like a missing file."""
    try:
        return read_json(path, parse, what=what)
    except StateFileError as exc:
        if exc.bad_content:
            quarantine(path, exc.reason, into=into, what=what, advice=advice)
        else:
            log.error("%s", exc)
        return None


def json_object(data: Any) -> dict[str, Any]:
    """``data`` if it is a JSON object (a ``parse`` for :func:`read_json`)."""
    if not isinstance(data, dict):
        raise TypeError(f"a JSON object was expected, not {type(data).__name__}")
    return data
