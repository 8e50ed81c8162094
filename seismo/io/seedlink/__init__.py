"""SeedLink over TCP: a server generic over a data source, a server of ready-made records
(``ring``: any record length, released as dataloggers send them, SeedLink 3 and 4), and a
client that speaks SeedLink 3 and 4.

The server answers the SeedLink 3.1 protocol as spoken by ObsPy's clients
(``basic_client.Client``, ``SLClient``, ``EasySeedLinkClient``) and by
slarchive/slinktool-style clients: ``HELLO``, ``CAT``, ``INFO`` (ID,
CAPABILITIES, STATIONS, STREAMS, GAPS, CONNECTIONS, ALL), ``STATION``,
``SELECT``, ``DATA [seq [time]]``, ``FETCH [seq [time]]``, ``TIME begin [end]``,
``END`` and ``BYE``. Protocol reference: SeisComP SeedLink documentation,
"SeedLink protocol" (seiscomp.de/doc/apps/seedlink.html), and the client side
in ``obspy/clients/seedlink/client/seedlinkconnection.py``.

Data are made on demand: ``source(network, station, start, end) -> Stream``
(counts) is asked for whole *blocks* of ``record_seconds`` (block ``b`` covers
``[b*record_seconds, (b+1)*record_seconds)`` in UTC epoch seconds). Each
channel's chunk of a block is encoded as its own 512-byte Steim2 miniSEED
record (INT32 when Steim2 cannot hold the differences; more than one record if
needed). A block is available once ``clock() - latency_s`` has passed its end;
blocks older than ``history_s`` are gone, as from a ring buffer.

Sequence numbers are deterministic: record ``j`` of block ``b`` of a station
has number ``(b * 64 + j) mod 2**24``, so clients may resume with ``DATA seq``
across reconnections and server restarts.

A SeedLink v3 *client* of our own (:mod:`~seismo.io.seedlink.client`) fetches
time windows for the SeedLink feed and streams real-time records, resumable
by sequence number.

Modules: ``records`` (the wire format: packets, miniSEED records, sequence
numbers, SeedLink times), ``header`` (a record's fixed header, read without decoding),
``v4`` (SeedLink 4 framing, ids, selectors, times), ``ring`` (:class:`RecordRing`),
``values`` (what the client hands out: :class:`Record`, :class:`Position`, ...),
``selectors`` (``SELECT`` patterns), ``session``
(what a client connection shares with the server), ``connection`` (one client
session), ``server`` (:class:`SeedLinkServer`), ``simulation``
(:func:`serve_simulation`), ``client`` (:class:`SeedLinkClient`), ``link`` (the
client's connection, ``HELLO`` and station negotiation).
"""

from seismo.io.seedlink.client import (
    DEFAULT_PORT,
    Backoff,
    Position,
    Record,
    RecordStream,
    SeedLinkClient,
    StationRequest,
)
from seismo.io.seedlink.records import RECLEN, SeedLinkServerError
from seismo.io.seedlink.ring import RecordRing, datalogger_records
from seismo.io.seedlink.server import SeedLinkServer, Source
from seismo.io.seedlink.simulation import serve_datalogger_simulation, serve_simulation

__all__ = [
    "DEFAULT_PORT",
    "RECLEN",
    "Backoff",
    "Position",
    "Record",
    "RecordRing",
    "RecordStream",
    "SeedLinkClient",
    "SeedLinkServer",
    "SeedLinkServerError",
    "Source",
    "StationRequest",
    "datalogger_records",
    "serve_datalogger_simulation",
    "serve_simulation",
]
