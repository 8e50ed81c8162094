"""STA/LTA kernels, triggering, AIC onset refinement and the windowed P/S picker.

Modules (each docstring gives its methods and sources):

* :mod:`seismo.station.picker.kernels` - :func:`classic_sta_lta`, :func:`recursive_sta_lta`
  (numba-compiled when importable, else numpy/scipy), :func:`recursive_bias`;
* :mod:`seismo.station.picker.trigger` - :func:`trigger_onsets`;
* :mod:`seismo.station.picker.onset` - Maeda AIC (:func:`aic_curve`, :func:`aic_onset`),
  :func:`onset_uncertainty`, first-motion polarity, S re-picking on the transverse
  component;
* :mod:`seismo.station.picker.polarization` - :func:`onset_polarization`: P or S from
  the particle motion an onset adds;
* :mod:`seismo.station.picker.pick` - :func:`pick_stream`: per-segment candidates (main
  and coda detectors), one pick per station per onset, P/S labels, S refinement.

Picker defaults (:class:`seismo.station.picker.settings.PickerConfig`), for a local urban
network at 100 Hz:

* ``sta_s = 0.5`` s, ``lta_s = 10`` s: Trnkoczy (2012), IASPEI NMSOP-2 IS 8.1
  "Understanding and parameter setting of STA/LTA trigger algorithm", recommends
  STA 0.2-0.5 s for local events and LTA of ~10-60 s (short LTA for local networks,
  it follows changing urban noise). SeisComP ``scautopick`` uses STALTA(2, 80) s,
  which suits teleseismic P and is too slow for city-scale distances.
* ``trig_on = 4.0``, ``trig_off = 1.5``: Trnkoczy (2012) suggests trigger ratios of
  ~3.5-4 for noisy (urban) sites; ``trig_off`` 1.5 as in scautopick.
* band 2-15 Hz (4 corners, causal): local-event P energy sits at 2-20 Hz, microseism
  (< 1 Hz) is removed; scautopick's BW(4, 0.7, 2) is teleseismic [3P: common
  local-network practice, not a formal standard].
* ``dead_time_s = 5`` (scautopick: 30 s, teleseismic coda; a city network sees
  local aftershocks seconds apart), ``max_gap_s = 0.5`` (scautopick 4.5 s; shorter
  here because a 0.5 s interpolated gap can hide a local P onset).
* clipping: the ``[instrument]`` setting (:class:`seismo.station.settings.InstrumentConfig`,
  ``full_scale_counts = 2**23`` for a 24-bit digitizer, ``clip_fraction = 0.98``).
* ``coda_sta_s = 0.25``, ``coda_lta_s = 2.5``, ``coda_trig_on = 5``: the re-arming
  detector in codas; ``polarization_window_s = 0.5``, ``polarization_dip_deg = 35.26``
  (the free-surface S-wave window): P/S labels (sources in those modules, docs/picker.md).
* ``min_snr = 3``, ``polarity_min_ratio = 5`` [heuristic, measured on synthetics in
  tests/test_picker.py], ``station_merge_s = 1`` s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.station.picker.kernels import classic_sta_lta, recursive_sta_lta
    from seismo.station.picker.onset import aic_onset, onset_uncertainty
    from seismo.station.picker.pick import pick_segments, pick_stream
    from seismo.station.picker.trigger import trigger_onsets

__all__ = [
    "aic_onset",
    "classic_sta_lta",
    "onset_uncertainty",
    "pick_segments",
    "pick_stream",
    "recursive_sta_lta",
    "trigger_onsets",
]

# Imported on first use: the picker's settings module is read by the configuration
# loader without importing the kernels (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "aic_onset": "seismo.station.picker.onset",
    "classic_sta_lta": "seismo.station.picker.kernels",
    "onset_uncertainty": "seismo.station.picker.onset",
    "pick_segments": "seismo.station.picker.pick",
    "pick_stream": "seismo.station.picker.pick",
    "recursive_sta_lta": "seismo.station.picker.kernels",
    "trigger_onsets": "seismo.station.picker.trigger",
})
