"""P or S from the three-component particle motion that an onset adds.

At an onset, the covariance matrix of the (Z, N, E) motion over ``window_s``
after it, minus the covariance over ``window_s`` before it, is the motion the
new arrival added (the coda of an earlier arrival is subtracted). Its principal
eigenvector is the arrival's polarisation:

* P motion is along the ray, and at the free surface rays of local and regional
  events arrive steeply (low near-surface velocities bend them towards the
  vertical): the principal axis dips steeply;
* S motion is across the ray: for a steep ray, nearly horizontal.

The boundary is the S-wave window of the free surface: for incidence below the
critical angle ``asin(Vs/Vp)`` (35.3 deg for Vp/Vs = sqrt(3)) the S motion stays
near horizontal (Nuttli 1961, BSSA 51; Booth & Crampin 1985, GJRAS 83 [3P]). An
onset whose principal axis dips more than ``dip_deg`` (35 deg) below the
horizontal is labelled P, otherwise S. Using polarisation parameters (dip,
rectilinearity) to tell P from S onsets of a local network: Baillard et al.
(2014), BSSA 104(1), doi:10.1785/0120120347 [3P]. Measured on the Hi-net Aizu
records (docs/picker.md): the principal-axis dip of 60 picks on P arrivals was
18-88 deg (one below 35), of 23 picks on S arrivals 0-30 deg.

The label is None (undecided) when fewer than three components are available or
the added motion is not larger than the motion before the onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Default dip boundary (deg): the free-surface S-wave window, asin(1/sqrt(3)).
S_WINDOW_DIP_DEG = math.degrees(math.asin(1.0 / math.sqrt(3.0)))


@dataclass(frozen=True)
class Polarization:
    """Principal axis of the motion added at an onset.

    ``dip_deg``: angle of the axis below the horizontal (90 = vertical);
    ``rectilinearity``: 1 - (l2 + l3) / (2 l1) of the added covariance (1 = linear;
    Jurkevics 1988, BSSA 78 [3P]); ``vertical_fraction``: share of the added energy
    on the vertical; ``gain``: added energy / energy before the onset.
    """

    dip_deg: float
    rectilinearity: float
    vertical_fraction: float
    gain: float

    def phase(self, dip_deg: float = S_WINDOW_DIP_DEG) -> str:
        return "P" if self.dip_deg > dip_deg else "S"


def onset_polarization(zne: NDArray, onset: int, n: int) -> Polarization | None:
    """Polarisation of the motion added at sample ``onset`` of the filtered ``zne``.

    Args:
        zne: (3, n_samples) filtered Z, N, E (any one unit, same sampling).
        onset: onset sample index; ``n``: window length in samples (before and after).
    Returns:
        None when the windows do not fit in the data or nothing was added.
    """
    x = np.asarray(zne, dtype=float)
    if x.ndim != 2 or x.shape[0] != 3 or n < 4 or onset - n < 0 or onset + n > x.shape[1]:
        return None
    after = x[:, onset : onset + n]
    before = x[:, onset - n : onset]
    ca = after @ after.T / n
    cb = before @ before.T / n
    added = ca - cb
    e_before = float(np.trace(cb))
    e_added = float(np.trace(added))
    if not e_added > 0:
        return None
    lam, vec = np.linalg.eigh(added)
    if not lam[-1] > 0:
        return None
    v = vec[:, -1]
    dip = math.degrees(math.asin(min(1.0, abs(float(v[0])) / float(np.linalg.norm(v)))))
    l2, l3 = max(float(lam[1]), 0.0), max(float(lam[0]), 0.0)
    rect = 1.0 - (l2 + l3) / (2.0 * float(lam[-1]))
    return Polarization(
        dip_deg=dip,
        rectilinearity=rect,
        vertical_fraction=float(added[0, 0]) / e_added,
        gain=e_added / e_before if e_before > 0 else math.inf,
    )
