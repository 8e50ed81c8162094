"""What a client session of the SeedLink server shares with the server.

:class:`ServerState` is the part of :class:`~seismo.io.seedlink.server.SeedLinkServer`
that one connection uses (stations, blocks, records, INFO); :class:`Cursor` is
where one station of one connection stands, and :func:`make_cursors` turns an
action command (``DATA``, ``FETCH``, ``TIME``) into cursors. The server module
and the connection module both import this one, never each other's privates.
:func:`ends_stream` reads the commands a client sends while data flow (this server and
:mod:`seismo.io.seedlink.ring` alike).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from seismo.io.seedlink.records import SEQ_MOD, SEQ_SLOTS, parse_command_time
from seismo.io.seedlink.selectors import Selector

#: First line of the HELLO answer, and the ``software`` attribute of INFO.
SOFTWARE = "SeedLink v3.1 (seismo)"
#: Capabilities announced after HELLO (SeedLink 3.1: protocol version, station wildcards).
HELLO_CAPS = "SLPROTO:3.1 NSWILDCARD"
#: How often the listener and the connections look at the stop flag, seconds.
POLL_S = 0.25


class ServerState(Protocol):
    """The server as one client connection sees it."""

    stations: list[tuple[str, str]]
    organization: str
    record_seconds: float
    idle_timeout_s: float

    @property
    def serving(self) -> bool:
        """False once the server stops or is marked down: connections end."""
        ...

    def description(self, network: str, station: str) -> str: ...

    def info_xml(self, level: str) -> str | None: ...

    def last_block(self, network: str | None = None, station: str | None = None) -> int: ...

    def first_block(self) -> int: ...

    def seconds_to_next_block(self) -> float: ...

    def records(self, network: str, station: str, b0: int, b1: int) -> dict[int, list[bytes]]: ...


@dataclass
class Cursor:
    """Where one station of one connection stands."""

    network: str
    station: str
    selectors: list[Selector]
    next_block: int
    skip: int = 0  # records of next_block already delivered (resume inside a block)
    end_block: int | None = None  # last block to send (None: real time)
    stop_when_caught_up: bool = False  # TIME with end, FETCH: finish at the newest block

    def finished(self, last: int) -> bool:
        """Whether nothing more is to be sent, given the newest complete block ``last``."""
        if self.end_block is not None and self.next_block > self.end_block:
            return True
        return self.stop_when_caught_up and self.next_block > last


def make_cursors(
    server: ServerState,
    stations: list[tuple[str, str]],
    selectors: list[Selector],
    verb: str,
    args: list[str],
) -> list[Cursor]:
    """Cursors for an action command (raises ValueError on bad arguments)."""
    return [make_cursor(server, n, s, selectors, verb, args) for n, s in stations]


def make_cursor(
    server: ServerState,
    network: str,
    station: str,
    selectors: list[Selector],
    verb: str,
    args: list[str],
) -> Cursor:
    """The cursor of one station for ``verb args`` (DATA/FETCH ``[seq [time]]``,
    TIME ``begin [end]``).

    Raises:
        ValueError: malformed arguments.
    """
    rs = server.record_seconds
    last, first = server.last_block(network, station), server.first_block()
    start, skip, end, stop = last + 1, 0, None, verb == "FETCH"
    if verb == "TIME":
        if not 1 <= len(args) <= 2:
            raise ValueError("TIME needs begin [end]")
        begin = parse_command_time(args[0])
        start = max(first, math.floor(begin.timestamp / rs + 1e-9))
        if len(args) == 2:
            t_end = parse_command_time(args[1])
            if t_end <= begin:
                raise ValueError("TIME end before begin")
            end = math.ceil(t_end.timestamp / rs - 1e-9) - 1
            stop = True
    elif args:  # DATA/FETCH seq [time]
        if len(args) > 2:
            raise ValueError("too many arguments")
        seq = int(args[0], 16) % SEQ_MOD
        k_max = last * SEQ_SLOTS + SEQ_SLOTS - 1
        k = k_max - ((k_max - seq) % SEQ_MOD)
        blk, skip = divmod(k, SEQ_SLOTS)
        if blk < first:
            if len(args) == 2:
                blk = max(first, math.floor(parse_command_time(args[1]).timestamp / rs))
            else:
                blk = first
            skip = 0
        start = blk
    if stop and end is None:
        end = last
    return Cursor(
        network,
        station,
        list(selectors),
        next_block=start,
        skip=skip,
        end_block=end,
        stop_when_caught_up=stop,
    )


def ends_stream(lines: Sequence[str], info: Callable[[str], None]) -> bool:
    """True when ``lines`` (commands read while streaming) hold ``BYE``; each ``INFO``
    before it is answered through ``info`` (its level in upper case, "" without one);
    any other command is ignored while data flow (SeedLink 3.1)."""
    for line in lines:
        words = line.split()
        verb = words[0].upper()
        if verb == "BYE":
            return True
        if verb == "INFO":
            info(words[1].upper() if len(words) > 1 else "")
    return False
