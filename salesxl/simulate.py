"""Outcome distribution of a pipeline (SPEC §4 "Outcome distribution").

Model
-----
Each open proposal *i* is won independently with its declared probability ``p_i``::

    Total = won + Σ amount_i · B_i,      B_i ~ Bernoulli(p_i) independent.

* Exact when there are at most ``exact_max`` *uncertain* proposals (0 < p < 1): a dynamic
  programme over the distinct attainable sums (at most 2**exact_max atoms).
* Otherwise Monte Carlo with ``np.random.default_rng(seed)``: vectorised, chunked (about 1 MB of
  temporaries per chunk whatever the pipeline size), and independent of the input row order.

Definitions shared by both methods (so that they agree)
-------------------------------------------------------
* Quantile q (P10, P50, P90): the lower inverse CDF, ``Q(q) = min{x : P(Total ≤ x) ≥ q}``.
  For ``N`` Monte Carlo draws sorted ascending ``x_(1) ≤ … ≤ x_(N)`` this is ``x_(⌈qN⌉)``.
  Example: totals {0, 100, 200, 300} each with probability 1/4 give P10 = 0, P50 = 100, P90 = 300.
* P(reach) = P(Total ≥ objective); ``None`` when the objective is missing (None/NaN) or ≤ 0.
* Mean: exact ``won + Σ a·p``; Monte Carlo the sample mean, with ``stderr = s / √N``.
* Float noise: sums that differ by less than ``1e-12 × (|won| + Σ|a|)`` are the same amount
  (so 0.1 + 0.2 reaches an objective of 0.3), and a cumulative probability within ``1e-12`` of
  ``q`` counts as reaching it.

Canonical form (order invariance)
---------------------------------
Proposals with p = 1 are folded into ``won``, proposals with p = 0 or amount 0 are dropped, and the
rest are sorted by (amount, probability) before anything is computed or drawn. Results therefore do
not depend on the row order of the pipeline — exact and Monte Carlo alike.

Invalid input (NaN/None/inf amounts or probabilities, probabilities outside [0, 1], mismatched
lengths) raises ``ValueError``: it is never silently treated as 0. Callers filter invalid rows
beforehand and report them as issues.

Monte Carlo draws: a Bernoulli(p) is ``U < t`` with ``U`` uniform on 32 bits and
``t = round(p·2**32)`` (bias ≤ 2**-32). To consume 8 random bits per Bernoulli rather than 32, the
high 8 bits are drawn first and the low 24 bits only on a tie of the high bytes (probability 1/256)
— an exact factorisation of the same 32-bit comparison. Draws are made in chunks of about
``_CHUNK_ELEMENTS`` (draws × proposals); the chunk size is part of the seeded stream, so a given
seed reproduces the same draws on any machine (little-endian byte order assumed). Won/lost flags
are packed 8 proposals to a byte and summed through 256-entry lookup tables of partial sums.

The team outcome adds the reps' draws: the team total of draw *j* is the sum of the reps' draws *j*,
all by Monte Carlo with the same number of draws. The forecast (salesxl.forecast) seeds each rep by
their name (``forecast.rep_seed``), so a rep's numbers do not depend on who else is in the team, and
adds the draws as the reps' forecasts come (``outcome_from_draws`` on the sum).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SIMULATIONS",
    "EXACT_MAX",
    "Outcome",
    "as_finite_array",
    "outcome_distribution",
    "outcome_from_draws",
    "partial_sum_tables",
    "sample_totals",
]

DEFAULT_SIMULATIONS = 10_000
DEFAULT_SEED = 20030404
EXACT_MAX = 16
EXACT_MAX_LIMIT = 20          # 2**20 atoms: beyond this the exact method is refused
QUANTILES = (0.10, 0.50, 0.90)
REL_TOL = 1e-12               # amounts closer than REL_TOL × scale are the same amount
CDF_TOL = 1e-12               # cumulative probability within CDF_TOL of q reaches q
_CHUNK_ELEMENTS = 1 << 17     # draws × proposals per Monte Carlo chunk: keeps temporaries in cache (~1 MB)
_RAW64 = ("PCG64", "PCG64DXSM", "Philox", "SFC64")   # bit generators with 64-bit raw output


@dataclass(frozen=True)
class Outcome:
    """Summary of the distribution of Won + drawn wins."""

    method: str                 # "exact" | "monte_carlo"
    won: float                  # Won as given (team: Σ reps' Won); p = 1 proposals are in the totals
    mean: float
    p10: float
    p50: float
    p90: float
    p_reach: float | None       # P(total ≥ objective); None without a (positive) objective
    draws: int                  # 0 for exact
    seed: int | None            # None for exact
    stderr: float               # standard error of the mean; 0 for exact

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- validation

def as_finite_array(values: Any, name: str = "values") -> np.ndarray:
    """1-D float64 array of ``values``; ValueError on None/NaN/pd.NA/inf, text or a wrong shape.

    Never coerces a missing value to 0.
    """
    if values is None or isinstance(values, (str, bytes)):
        raise ValueError(f"{name}: expected a sequence of numbers, got {type(values).__name__}")
    if hasattr(values, "to_numpy"):                  # pandas Series / Index / nullable arrays
        kind = getattr(getattr(values, "dtype", None), "kind", "O")
        if kind in "biuf":
            raw = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            raw = values.to_numpy(dtype=object)
    else:
        raw = np.asarray(values)
    if raw.dtype.kind == "O":
        for v in raw.reshape(-1):
            if not isinstance(v, numbers.Real):
                raise ValueError(f"{name}: not a number: {v!r}")
    elif raw.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers, got dtype {raw.dtype}")
    arr = raw.astype(float)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)[:5].tolist()
        raise ValueError(f"{name}: missing or non-finite value at position(s) {where}")
    return arr


def _finite_scalar(value: Any, name: str) -> float:
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}: missing or non-finite value {value!r}")
    return x


def _objective(objective: Any) -> float | None:
    """None for a missing (None/NaN/pd.NA) or non-positive objective; ValueError for text or ±inf."""
    if objective is None or type(objective).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(objective, (str, bytes)) or not isinstance(objective, numbers.Real):
        raise ValueError(f"objective: expected a number, got {objective!r}")
    x = float(objective)
    if math.isnan(x) or x <= 0:
        return None
    if math.isinf(x):
        raise ValueError(f"objective: non-finite value {objective!r}")
    return x


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _canonical(won: Any, amounts: Any, probabilities: Any) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Validate and canonicalise a pipeline.

    Returns (certain won, amounts, probabilities, scale): p = 1 folded into won; p = 0 and zero
    amounts dropped; the rest sorted by (amount, probability). ``scale`` = |won| + Σ|a| (≥ 1) sets
    the float tolerance.
    """
    w = _finite_scalar(won, "won")
    a = as_finite_array(amounts, "amounts")
    p = as_finite_array(probabilities, "probabilities")
    if a.shape != p.shape:
        raise ValueError(f"amounts and probabilities differ in length ({a.size} vs {p.size})")
    if ((p < 0) | (p > 1)).any():
        where = np.flatnonzero((p < 0) | (p > 1))[:5].tolist()
        raise ValueError(f"probabilities: outside [0, 1] at position(s) {where}")
    scale = max(1.0, abs(w) + math.fsum(np.abs(a).tolist()))
    sure = p == 1
    if sure.any():
        w = math.fsum([w, *a[sure].tolist()])
    keep = (p > 0) & (p < 1) & (a != 0)
    a, p = a[keep], p[keep]
    order = np.lexsort((p, a))
    return w, np.ascontiguousarray(a[order]), np.ascontiguousarray(p[order]), scale


# ----------------------------------------------------------------------------- exact

def _exact_atoms(a: np.ndarray, p: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Distinct sums of Σ a_i·B_i (ascending) and their probabilities, by dynamic programme."""
    sums = np.zeros(1)
    probs = np.ones(1)
    for ai, pi in zip(a.tolist(), p.tolist()):
        cand_s = np.concatenate((sums, sums + ai))
        cand_p = np.concatenate((probs * (1.0 - pi), probs * pi))
        order = np.argsort(cand_s, kind="stable")
        cand_s, cand_p = cand_s[order], cand_p[order]
        new = np.empty(cand_s.size, dtype=bool)
        new[0] = True
        np.greater(np.diff(cand_s), tol, out=new[1:])
        starts = np.flatnonzero(new)
        sums = cand_s[starts]
        probs = np.add.reduceat(cand_p, starts)
    return sums, probs


def _exact(certain: float, a: np.ndarray, p: np.ndarray, objective: float | None, scale: float,
           won: float) -> Outcome:
    tol = REL_TOL * scale
    sums, probs = _exact_atoms(a, p, tol)
    totals = certain + sums
    cdf = np.cumsum(probs)
    quantiles = []
    for q in QUANTILES:
        i = int(np.searchsorted(cdf, q - CDF_TOL, side="left"))
        quantiles.append(float(totals[min(i, totals.size - 1)]))
    p_reach = None
    if objective is not None:
        p_reach = float(min(1.0, max(0.0, math.fsum(probs[totals >= objective - tol].tolist()))))
    mean = math.fsum([certain, *(a * p).tolist()])
    return Outcome("exact", won, mean, *quantiles, p_reach, 0, None, 0.0)


# ----------------------------------------------------------------------------- Monte Carlo

def _uniform_bytes(rng: np.random.Generator, count: int, dtype: type) -> np.ndarray:
    """``count`` independent uniform unsigned integers of ``dtype`` (uint8 or uint32) from ``rng``."""
    bitgen = rng.bit_generator
    if type(bitgen).__name__ in _RAW64:
        per_raw = 8 // np.dtype(dtype).itemsize
        return bitgen.random_raw(-(-count // per_raw)).view(dtype)[:count]
    return rng.integers(0, np.iinfo(dtype).max, size=count, dtype=dtype, endpoint=True)


def _partial_sum_tables(a: np.ndarray) -> np.ndarray:
    """Flat lookup tables: entry 256·g + byte = Σ_{j<8} a[8g+j]·bit_j(byte), summed in a fixed order."""
    groups = (a.size + 7) // 8
    padded = np.zeros(groups * 8)
    padded[:a.size] = a
    padded = padded.reshape(groups, 8)
    byte = np.arange(256)
    table = np.zeros((groups, 256))
    for j in range(8):
        table += padded[:, j:j + 1] * ((byte >> j) & 1)[None, :]
    return table.ravel()


partial_sum_tables = _partial_sum_tables      # (public: salesxl.learn sums its draws the same way)


def _sample_canonical(won: float, a: np.ndarray, p: np.ndarray, simulations: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Draws of won + Σ a·B for a canonical pipeline (see the module docstring for the scheme).

    B_i = [U_i < t_i] with U_i uniform on 32 bits and t_i = round(p_i·2**32), evaluated as
    ``hi < t_hi or (hi == t_hi and lo < t_lo)`` with an 8-bit ``hi`` drawn for every
    (draw, proposal) and a 24-bit ``lo`` drawn only on ties (probability 1/256).
    """
    n = a.size
    if n == 0:
        return np.full(simulations, won, dtype=float)
    t32 = np.minimum(np.rint(p * 2.0**32), 2.0**32 - 1).astype(np.uint32)
    t_hi = (t32 >> np.uint32(24)).astype(np.uint8)
    t_lo = t32 & np.uint32(0xFFFFFF)
    table = _partial_sum_tables(a)
    offsets = np.arange((n + 7) // 8, dtype=np.intp) * 256

    out = np.empty(simulations, dtype=float)
    rows = max(1, min(simulations, _CHUNK_ELEMENTS // n))
    for start in range(0, simulations, rows):
        r = min(rows, simulations - start)
        hi = _uniform_bytes(rng, r * n, np.uint8).reshape(r, n)
        flags = hi < t_hi
        ties = np.flatnonzero(hi == t_hi)          # flat indices into (r, n)
        if ties.size:
            lo = _uniform_bytes(rng, ties.size, np.uint32) >> np.uint32(8)
            flags.reshape(-1)[ties] = lo < t_lo[ties % n]
        packed = np.packbits(flags, axis=1, bitorder="little")
        out[start:start + r] = table.take(packed + offsets).sum(axis=1)
    out += won
    return out


def sample_totals(won: float, amounts: Any, probabilities: Any, simulations: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``simulations`` Monte Carlo draws of won + Σ a·B (float64 array), consuming ``rng``.

    Independent of the order of the proposals (canonical form, see module docstring).
    """
    simulations = _positive_int(simulations, "simulations")
    w, a, p, _ = _canonical(won, amounts, probabilities)
    return _sample_canonical(w, a, p, simulations, rng)


def outcome_from_draws(draws: Any, objective: float | None, *, won: float = 0.0,
                       seed: int | None = None) -> Outcome:
    """Monte Carlo ``Outcome`` of a sample of totals (sample mean, lower-inverse-CDF quantiles).

    ``won`` and ``seed`` are reported as given (the certain part and the seed that produced the draws).
    """
    x = as_finite_array(draws, "draws")
    if x.size == 0:
        raise ValueError("draws: empty sample")
    scale = max(1.0, float(np.max(np.abs(x))))
    return _outcome_mc(x, _objective(objective), _finite_scalar(won, "won"), seed, scale)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


def outcome_distribution(won: float, amounts: Any, probabilities: Any, objective: float | None, *,
                         simulations: int = DEFAULT_SIMULATIONS, seed: int = DEFAULT_SEED,
                         exact_max: int = EXACT_MAX) -> Outcome:
    """Distribution of won + Σ a_i·B_i with B_i ~ Bernoulli(p_i) independent.

    Exact when the number of uncertain proposals (0 < p < 1, non-zero amount) is ≤ ``exact_max``,
    else Monte Carlo with ``simulations`` draws from ``np.random.default_rng(seed)``.
    """
    simulations = _positive_int(simulations, "simulations")
    seed = _seed(seed)
    exact_max = _positive_int(exact_max, "exact_max", minimum=0)
    if exact_max > EXACT_MAX_LIMIT:
        raise ValueError(f"exact_max: at most {EXACT_MAX_LIMIT} (2**exact_max outcomes), got {exact_max}")
    obj = _objective(objective)
    w, a, p, scale = _canonical(won, amounts, probabilities)
    won = _finite_scalar(won, "won")
    if a.size <= exact_max:
        return _exact(w, a, p, obj, scale, won)
    draws = _sample_canonical(w, a, p, simulations, np.random.default_rng(seed))
    return _outcome_mc(draws, obj, won, seed, scale)


def _outcome_mc(draws: np.ndarray, obj: float | None, won: float, seed: int | None,
                scale: float) -> Outcome:
    n = draws.size
    ks = [min(n, max(1, math.ceil(q * n - 1e-9))) - 1 for q in QUANTILES]
    part = np.partition(draws, ks)
    quantiles = [float(part[k]) for k in ks]
    p_reach = None
    if obj is not None:
        p_reach = float(np.count_nonzero(draws >= obj - REL_TOL * scale) / n)
    stderr = float(draws.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return Outcome("monte_carlo", won, float(draws.mean()), *quantiles, p_reach, n, seed, stderr)
