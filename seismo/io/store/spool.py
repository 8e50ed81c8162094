"""Write-ahead spool of line protocol on local disk.

Every batch is written to a *segment* before any network attempt:

1. the lines are written atomically and durably to ``<dir>/<name>.lp``
   (:mod:`seismo.durable`: a segment is either complete or absent);
2. the store sends the segment and deletes it only after the server accepted it.

A process killed anywhere in this sequence loses nothing it acknowledged: an
``.lp`` segment left behind is replayed by the next :meth:`Spool.drain` (any
process, any store object). Replaying a segment that was in fact already sent
writes the same points again, which is harmless because every point has a
deterministic timestamp (same measurement + tags + time = overwrite).

Segment names sort in creation order (``<ns since epoch>-<pid>-<counter>``), so
replay preserves write order across processes that share the directory. A
``flock`` on ``<dir>/.lock`` serialises draining between processes (Airflow
mapped tasks). Lines rejected by the server for being malformed are moved to
``<dir>/rejected.log`` (with a comment line giving the reason) and never retried.

Destination. The first line of a segment is a header comment naming the server
and database/bucket it was written for (``# seismo-spool destination=…``). A
store replays only the segments of its own destination; segments spooled for
another destination (the configuration changed) stay on disk for that
destination and are reported. Segments without a header (written by releases
before the header existed) are replayed to the configured destination.

Corruption. A segment that cannot be decoded (not UTF-8, truncated header) is
moved to ``<dir>/quarantine/`` with an error naming it, and draining goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from seismo.durable import append_durable, quarantine, remove_stale_tmp, write_atomic
from seismo.errors import StoreError

log = logging.getLogger(__name__)

SUFFIX = ".lp"
REJECTED = "rejected.log"
QUARANTINE = "quarantine"
HEADER = "# seismo-spool destination="
_STALE_TMP_S = 600.0  # a .tmp older than this belongs to a killed writer
_counter = itertools.count()


class Spool:
    """A directory of durable line-protocol segments (see module docstring)."""

    def __init__(self, directory: Path, destination: str | None = None) -> None:
        self.directory = Path(directory)
        #: Where this spool's writes go (recorded in each new segment's header).
        self.destination = destination

    # ------------------------------------------------------------------ writing
    def _ensure_dir(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create spool directory {self.directory}: {exc.strerror}"
            ) from None

    def append(self, lines: Sequence[str]) -> Path:
        """Durably store ``lines`` as a new segment; return its path.

        Raises:
            StoreError: the spool directory is not writable (disk full, permissions).
        """
        self._ensure_dir()
        name = f"{time.time_ns():020d}-{os.getpid():08d}-{next(_counter):08d}"
        final = self.directory / (name + SUFFIX)
        head = [] if self.destination is None else [HEADER + self.destination]
        data = ("\n".join([*head, *lines]) + "\n").encode("utf-8")
        try:
            write_atomic(final, data)
        except OSError as exc:
            raise StoreError(
                f"cannot write spool segment in {self.directory}: {exc.strerror}"
            ) from None
        return final

    def reject(self, rejected: Sequence[tuple[str, str]]) -> None:
        """Append server-rejected lines (with their reason as a comment) to ``rejected.log``."""
        if not rejected:
            return
        self._ensure_dir()
        text = "".join(
            f"# rejected: {' '.join(reason.split())}\n{line}\n" for line, reason in rejected
        )
        try:
            append_durable(self.directory / REJECTED, text.encode("utf-8"))
        except OSError as exc:
            log.error("cannot record %d rejected lines in %s: %s", len(rejected),
                      self.directory / REJECTED, exc.strerror)

    # ------------------------------------------------------------------ reading
    def segments(self) -> list[Path]:
        """Pending segments, oldest first."""
        if not self.directory.is_dir():
            return []
        remove_stale_tmp(self.directory, _STALE_TMP_S)
        return sorted(self.directory.glob("[0-9]*" + SUFFIX), key=lambda p: p.name)

    def read(self, segment: Path) -> list[str] | None:
        """The lines of ``segment`` for this spool's destination.

        None if another process already removed it, if it was quarantined (not
        decodable) or if it belongs to another destination.
        """
        got = self.read_segment(segment)
        if got is None:
            return None
        dest, lines = got
        if dest is not None and self.destination is not None and dest != self.destination:
            return None
        return lines

    def read_segment(self, segment: Path) -> tuple[str | None, list[str]] | None:
        """(destination or None, lines) of ``segment``; None if gone or quarantined."""
        try:
            text = segment.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            self.quarantine(segment, f"not valid UTF-8 at byte {exc.start}")
            return None
        except OSError as exc:
            log.error("cannot read spool segment %s: %s", segment, exc.strerror)
            return None
        dest = None
        if text.startswith(HEADER):
            first = text.split("\n", 1)[0]
            dest = first[len(HEADER):].strip()
            if not dest:
                self.quarantine(segment, "empty destination in the header")
                return None
        return dest, [ln for ln in text.split("\n") if ln and not ln.startswith("#")]

    def quarantine(self, segment: Path, reason: str) -> Path | None:
        """Move a bad segment out of the way (``<dir>/quarantine/``), with an error."""
        return quarantine(
            segment, reason, into=self.directory / QUARANTINE, what="spool segment",
            advice="not replayed; inspect it and replay by hand if it holds data",
        )

    def foreign(self) -> dict[str, int]:
        """Segments kept for other destinations: destination -> number of segments."""
        out: dict[str, int] = {}
        if self.destination is None:
            return out
        for seg in self.segments():
            got = self.read_segment(seg)
            if got is not None and got[0] is not None and got[0] != self.destination:
                out[got[0]] = out.get(got[0], 0) + 1
        return out

    @staticmethod
    def remove(segment: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            segment.unlink()

    def pending_lines(self) -> int:
        """Number of points waiting in the spool for this destination."""
        return sum(len(self.read(s) or ()) for s in self.segments())

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def lock(self, timeout_s: float) -> Iterator[bool]:
        """Hold the spool's drain lock; yields False if not acquired within ``timeout_s``."""
        self._ensure_dir()
        fh = open(self.directory / ".lock", "a+b")  # noqa: SIM115 - held for the context
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.02)
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()
