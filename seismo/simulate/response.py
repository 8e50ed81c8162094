"""Channel responses evaluated on FFT frequency grids (counts per m/s² of ground acceleration).

Every channel is driven by ground *acceleration*; ObsPy's evalresp with
``output="ACC"`` converts a velocity sensor's response accordingly (it divides
by i·2πf). The sign convention of the returned spectrum matches
``numpy.fft.rfft`` (checked: an impulse through it is causal). Evaluations are
cached per (channel, rate, length).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from numpy.typing import NDArray
from obspy import Inventory
from obspy.core.inventory import Channel

from seismo.errors import InventoryError
from seismo.inventory import channel_kind, evaluate_response

log = logging.getLogger(__name__)


class ResponseCache:
    """Responses of every channel of an inventory, keyed by SEED id."""

    def __init__(self, inventory: Inventory, max_entries: int = 1024) -> None:
        self._channels: dict[str, Channel] = {}
        for net in inventory.networks:
            for sta in net.stations:
                for ch in sta.channels:
                    sid = f"{net.code}.{sta.code}.{ch.location_code or ''}.{ch.code}"
                    self._channels[sid] = ch  # the last epoch listed wins
        self._cache: OrderedDict[tuple[str, float, int], NDArray] = OrderedDict()
        self._max = max_entries

    def usable(self, seed_id: str) -> bool:
        """Whether the channel can be simulated (a known kind and a response or sensitivity)."""
        ch = self._channels.get(seed_id)
        if ch is None or channel_kind(ch) is None:
            return False
        resp = ch.response
        return resp is not None and (
            bool(resp.response_stages)
            or (resp.instrument_sensitivity is not None and bool(resp.instrument_sensitivity.value))
        )

    def acc_response(self, seed_id: str, fs: float, n: int) -> NDArray:
        """Complex response (counts per m/s²) at ``numpy.fft.rfftfreq(n, 1/fs)``; DC set to 0."""
        key = (seed_id, float(fs), int(n))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ch = self._channels[seed_id]
        freqs = np.fft.rfftfreq(n, 1.0 / fs)
        out = np.zeros(len(freqs), dtype=complex)
        try:
            out[1:] = evaluate_response(ch.response, freqs[1:], "ACC",
                                        hide_sensitivity_mismatch=False)
        except InventoryError as exc:  # evalresp rejects some incomplete responses
            log.warning("channel %s: evalresp failed (%s); flat sensitivity used", seed_id,
                        exc.__cause__)
            out[1:] = self._flat(seed_id, freqs[1:])
        if not np.all(np.isfinite(out)):
            out[~np.isfinite(out)] = 0.0
        out.flags.writeable = False
        self._cache[key] = out
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return out

    def _flat(self, seed_id: str, freqs: NDArray) -> NDArray:
        ch = self._channels[seed_id]
        sens = ch.response.instrument_sensitivity
        value = float(sens.value) if sens is not None and sens.value else 1.0
        if channel_kind(ch) == "velocity":
            return value / (2j * np.pi * freqs)  # integrate acceleration to velocity
        return np.full(len(freqs), value, dtype=complex)
