"""Calibration of declared probabilities against realised outcomes (SPEC §4 "Calibration").

Input: closed proposals (status Won or Lost) with the probability the rep had declared.

* **Brier score** = mean((p − y)²), y = 1 for Won, 0 for Lost (0 is perfect; always declaring 50 %
  scores 0.25).
* **Bins**: declared probability in [0, 20 %), [20, 40 %), [40, 60 %), [60, 80 %), [80, 100 %] (the
  last includes 100 %); per bin the number of proposals, mean declared probability and realised win
  rate (``None`` for an empty bin). A declared probability within 1e-9 of an edge belongs to the
  bin above it (so 0.6 computed as 0.6000000000000001 or 0.5999999999999999 lands in 60–80 %).
* Nothing is shown from fewer than ``MIN_CLOSED`` closed proposals: ``calibration`` returns None.

Calibrated probability
----------------------
Each non-empty bin b gives an anchor at its mean declared probability m_b with w_b wins out of n_b
proposals. An anchor speaks only for declared probabilities near it: its weight fades linearly to zero
at ``FADE`` (one bin width) from it,

    a_b(p) = max(0, 1 − |p − m_b| / FADE),

and the calibrated probability is the posterior mean of a Beta prior of strength ``k`` centred on the
declared value, fed with the anchors' wins and proposals so weighted::

    calibrated(p) = (Σ_b a_b(p)·w_b + k·p) / (Σ_b a_b(p)·n_b + k),        k = PRIOR_STRENGTH = 4

It never extrapolates: a declared probability farther than ``FADE`` from every anchor keeps its declared
value exactly (20 closed proposals at 50 % say nothing about a new 10 % one), and near an anchor it
moves toward what was realised there as the weight grows. At an anchor with no other anchor within
``FADE`` it is exactly ``(w_b + k·m_b) / (n_b + k)``. It is always between the declared p and the realised
rates of the anchors within reach, and continuous in p (no jump at bin edges).

``calibrated_forecast = won + Σ amount · calibrated(p)`` — shown beside the declared forecast.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from salesxl.simulate import as_finite_array

__all__ = [
    "BIN_EDGES",
    "Bin",
    "Calibration",
    "FADE",
    "MIN_CLOSED",
    "PRIOR_STRENGTH",
    "calibrated_forecast",
    "calibrated_probabilities",
    "calibration",
    "required_coverage",
    "win_rate",
]

MIN_CLOSED = 10
PRIOR_STRENGTH = 4.0
FADE = 0.2                    # how far from an anchor its weight reaches (one bin width)
BIN_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_EDGE_TOL = 1e-9


@dataclass(frozen=True)
class Bin:
    lower: float
    upper: float                  # exclusive, except the last bin which includes 1.0
    n: int
    mean_declared: float | None   # None when n == 0
    realised: float | None        # realised win rate; None when n == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Calibration:
    n: int
    brier: float
    win_rate: float
    bins: list[Bin]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _probabilities(values: Any, name: str = "probabilities") -> np.ndarray:
    p = as_finite_array(values, name)
    if ((p < 0) | (p > 1)).any():
        where = np.flatnonzero((p < 0) | (p > 1))[:5].tolist()
        raise ValueError(f"{name}: outside [0, 1] at position(s) {where}")
    return p


def _won_flags(values: Any) -> np.ndarray:
    y = as_finite_array(values, "won_flags")
    if not np.isin(y, (0.0, 1.0)).all():
        where = np.flatnonzero(~np.isin(y, (0.0, 1.0)))[:5].tolist()
        raise ValueError(f"won_flags: expected True/False or 1/0 at position(s) {where}")
    return y


def _bin_index(p: np.ndarray) -> np.ndarray:
    nb = len(BIN_EDGES) - 1
    return np.clip(np.floor(p * nb + _EDGE_TOL), 0, nb - 1).astype(int)


def calibration(probabilities: Any, won_flags: Any) -> Calibration | None:
    """Calibration of closed proposals; None from fewer than ``MIN_CLOSED`` of them.

    ``won_flags``: True/1 for Won, False/0 for Lost. NaN/None anywhere raises ValueError.
    """
    p = _probabilities(probabilities)
    y = _won_flags(won_flags)
    if p.shape != y.shape:
        raise ValueError(f"probabilities and won_flags differ in length ({p.size} vs {y.size})")
    n = int(p.size)
    if n < MIN_CLOSED:
        return None
    idx = _bin_index(p)
    bins = []
    for b in range(len(BIN_EDGES) - 1):
        sel = idx == b
        nb = int(sel.sum())
        bins.append(Bin(
            lower=BIN_EDGES[b], upper=BIN_EDGES[b + 1], n=nb,
            mean_declared=math.fsum(p[sel].tolist()) / nb if nb else None,
            realised=math.fsum(y[sel].tolist()) / nb if nb else None,
        ))
    brier = math.fsum(((p - y) ** 2).tolist()) / n
    return Calibration(n=n, brier=brier, win_rate=math.fsum(y.tolist()) / n, bins=bins)


def calibrated_probabilities(cal: Calibration, probabilities: Any, *,
                             k: float = PRIOR_STRENGTH) -> np.ndarray:
    """One calibrated probability per declared probability (``calibrated(p)`` of the module docstring)."""
    if not (isinstance(k, numbers.Real) and math.isfinite(k) and k > 0):
        raise ValueError(f"k: expected a positive number, got {k!r}")
    p = _probabilities(probabilities)
    anchors = [b for b in cal.bins if b.n > 0]
    if not anchors:
        return p.copy()
    x = np.array([b.mean_declared for b in anchors], dtype=float)
    n = np.array([b.n for b in anchors], dtype=float)
    wins = n * np.array([b.realised for b in anchors], dtype=float)
    reach = np.clip(1.0 - np.abs(p[:, None] - x[None, :]) / FADE, 0.0, None)    # a_b(p), one row per p
    out = (reach @ wins + k * p) / (reach @ n + k)
    return np.clip(out, 0.0, 1.0)


def calibrated_forecast(won: float, amounts: Any, probabilities: Any, cal: Calibration, *,
                        k: float = PRIOR_STRENGTH) -> float:
    """won + Σ amount · calibrated(p) over the open proposals."""
    if won is None or isinstance(won, (bool, str, bytes)) or not isinstance(won, numbers.Real) \
            or not math.isfinite(won):
        raise ValueError(f"won: expected a finite number, got {won!r}")
    a = as_finite_array(amounts, "amounts")
    p = _probabilities(probabilities)
    if a.shape != p.shape:
        raise ValueError(f"amounts and probabilities differ in length ({a.size} vs {p.size})")
    q = calibrated_probabilities(cal, p, k=k)
    return math.fsum([float(won), *(a * q).tolist()])


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or value != int(value):
        raise ValueError(f"{name}: expected a non-negative whole number, got {value!r}")
    return int(value)


def win_rate(won_count: int, lost_count: int) -> float | None:
    """Historical win rate won / (won + lost); None when nothing was closed."""
    won = _count(won_count, "won_count")
    lost = _count(lost_count, "lost_count")
    return won / (won + lost) if won + lost else None


def required_coverage(win_rate: float | None) -> float | None:
    """Required pipeline coverage = 1 / win rate; None when the rate is unknown (None/NaN) or 0."""
    rate = win_rate
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise ValueError(f"win rate: expected a number, got {rate!r}")
    if math.isnan(rate) or rate == 0:
        return None
    if not 0 < rate <= 1:
        raise ValueError(f"win rate: outside (0, 1], got {rate!r}")
    return 1.0 / rate
