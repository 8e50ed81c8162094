"""A P and an S inside one onset cluster: two picks, each with its own polarisation.

The station merges the onsets of its channels closer than ``station_merge_s`` into one
cluster and one pick (:mod:`seismo.station.picker.pick`). Close to a source the S
follows the P by less than that (S-P = R (1/Vs - 1/Vp): 0.4 s at 3 km), and the main
trigger of every channel is still on (``dead_time_s``) when the S comes: no channel
gives an S candidate, the cluster holds the P alone, and its label is taken from a
particle-motion window (``polarization_window_s``) that already holds the S, which
labels many of those P onsets S.

So, in every cluster with three components, the motion after its first onset is
scanned for a second one, up to ``station_merge_s`` later:

* the S onset candidate is where the horizontal energy in a window after it, over the
  same window before it (inside the P coda), is largest; the window is
  ``polarization_window_s``, shortened to the time since the first onset and to the
  cluster's span (only samples up to ``station_merge_s`` after the first onset are
  read: they exist when the cluster settles, in a window and in real time alike);
* it is an S when that ratio reaches the coda detector's threshold (``coda_trig_on``,
  else ``trig_on``: the energy ratio that re-arms the picker in a coda), the motion it
  adds is S-polarised (principal axis flatter than ``polarization_dip_deg``), and the
  motion between the first onset and it is P-polarised;
* the earliest S considered lies two periods of the trigger band's upper corner after
  the first onset (two cycles are the shortest window a polarisation is measured on).

The first onset is then the P (its label from the motion before the S alone) and the
second the S, refined by AIC on the transverse component between the two
(:func:`seismo.station.picker.onset._refine_s`). Polarisation-based P/S
discrimination on a local network: Baillard et al. (2014), BSSA 104(1) [3P]; the
transverse-component S pick: Cichowicz (1993), BSSA 83 [3P].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.station.picker.polarization import onset_polarization
from seismo.station.picker.settings import PickerConfig
from seismo.station.settings import BandConfig


@dataclass(frozen=True)
class ClusterSplit:
    """An S onset ``lag`` samples after a cluster's first onset."""

    lag: int
    p_dip_deg: float
    s_dip_deg: float
    energy_ratio: float


def min_lag_s(band: BandConfig) -> float:
    """The earliest S after the first onset that a split considers (s): two periods of
    the band's upper corner."""
    return 2.0 / band.freqmax


def split_cluster(
    zne: NDArray, k: int, fs: float, cfg: PickerConfig, band: BandConfig
) -> ClusterSplit | None:
    """An S onset after the first onset ``k`` of the band-passed ``zne`` (3, n), or None.

    Only the samples up to ``station_merge_s`` after ``k`` are read: they exist when the
    cluster is settled, in a window and in real time alike. ``zne`` must hold
    ``polarization_window_s`` before ``k`` (module docstring).
    """
    w = max(4, round(cfg.polarization_window_s * fs))
    j0 = max(4, round(min_lag_s(band) * fs))
    end = min(round(cfg.station_merge_s * fs), zne.shape[1] - k)  # the cluster's samples
    if end - j0 < j0 or k < w:
        return None
    energy = np.sum(np.asarray(zne[1:], dtype=float) ** 2, axis=0)
    c = np.concatenate([[0.0], np.cumsum(energy)])
    j = np.arange(j0, end - j0 + 1)
    n = np.minimum(np.minimum(j, w), end - j)  # windows inside the cluster's span
    after = (c[k + j + n] - c[k + j]) / n
    before = (c[k + j] - c[k + j - n]) / n
    ratio = after / np.maximum(before, 1e-30 * max(float(after.max()), 1e-300))
    b = int(np.argmax(ratio))
    threshold = cfg.coda_trig_on if cfg.coda_trig_on > 0 else cfg.trig_on
    if not ratio[b] >= threshold:
        return None
    lag, nb = int(j[b]), int(n[b])
    s_pol = onset_polarization(zne, k + lag, nb)
    p_pol = onset_polarization(zne, k, min(lag, w))
    if s_pol is None or p_pol is None:
        return None
    dip = cfg.polarization_dip_deg
    if s_pol.phase(dip) != "S" or p_pol.phase(dip) != "P":
        return None
    return ClusterSplit(lag, p_pol.dip_deg, s_pol.dip_deg, float(ratio[b]))
