"""The one exception hierarchy of seismo.

Every error raised on purpose by the library derives from :class:`SeismoError`.
Messages say what was wrong and where (file, key, station, time).
"""

from __future__ import annotations


class SeismoError(Exception):
    """Base class of every error raised by seismo."""


class ConfigError(SeismoError):
    """The configuration file is missing, malformed or invalid."""


class InventoryError(SeismoError):
    """StationXML is missing, unreadable or lacks what is needed."""


class FeedError(SeismoError):
    """A station feed failed (timeout, refused connection, garbage data)."""

    def __init__(self, message: str, station: str | None = None) -> None:
        super().__init__(message)
        self.station = station


class DataError(SeismoError):
    """Waveform data is unusable (corrupt miniSEED, no data in window, ...)."""


class StateFileError(DataError):
    """A state file kept between runs cannot be used (:mod:`seismo.durable`).

    ``bad_content``: its content is bad (not UTF-8, not JSON, wrong shape), so it
    may be moved aside; False: the file could not be read at all (permissions, I/O).
    """

    def __init__(
        self, path: object, reason: str, *, what: str = "state file", bad_content: bool = True
    ) -> None:
        super().__init__(f"{what} {path}: {reason}")
        self.path = path
        self.reason = reason
        self.bad_content = bad_content


class PickerError(SeismoError):
    """The picker could not process a trace."""


class PickerInputError(PickerError, ValueError):
    """Invalid arguments to a picker kernel (also a ValueError, as in ObsPy)."""


class LocationError(SeismoError):
    """An event could not be located."""


class StoreError(SeismoError):
    """The result store (InfluxDB) failed or rejected data."""


class BrokerError(SeismoError):
    """The message broker (Redis Streams between the parts of a split stream) failed."""


class AlertError(SeismoError):
    """An alert could not be built or delivered."""


class SimulationError(SeismoError):
    """The simulator was given an impossible scenario or fault."""


class AuthError(SeismoError):
    """A console user, role or password is wrong (``seismo user``, ``seismo web``)."""
