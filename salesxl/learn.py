"""History-based forecast (SPEC §4b): how proposals like each open one really turned out.

The declared forecast (salesxl.forecast, SPEC §4) takes every probability at face value. This module
learns, from the history store's consecutive collections, the chance that an open proposal is **won
before the end of the rep's current period**, and draws an honest distribution of what the period
will bring. Pure core: lists and numpy arrays in, plain numbers out (the store is read by
salesxl.io.history). Missing values (None/NaN) are never taken as 0: a snapshot without an amount, a
probability or a decision date is not an example, and an open proposal without them is refused
(ValueError) — callers leave such rows out, as the declared forecast does.

Data
----
A *snapshot* is one proposal (rep, ref) as one collection (day ``t``) saw it: amount, declared
probability ``p``, stage, status, decision date, sent-on date. For a proposal at day ``t``:

* ``pushes`` — how many times its decision date moved later, over its snapshots up to ``t`` (for a
  proposal forecast on day T: those of its last snapshot before T, plus one when its decision date on
  T is later than that snapshot's);
* ``age`` — ``t`` − sent-on date (else − its first snapshot's day), in days;
* its *final state as of a cutoff day C* — its last snapshot on or before C.

The question, for a proposal open on day ``T`` in a period ending on ``E`` (horizon ``D = E − T`` days):
``Y = 1`` when it ends Won with a decision date ≤ E (the period's Won, SPEC §4, counts Won proposals by
their decision date).

Training examples for a forecast made on day ``C`` at horizon ``D`` (nothing after C is used)
-----------------------------------------------------------------------------------------------
Every snapshot (proposal ``i``, day ``t``) with status Open, an amount > 0, a probability and a decision
date, and ``t + D ≤ C`` (its window has closed by C). Its label ``y = 1`` when the proposal's final state
as of C is Won with a decision date ≤ ``t + D``, else 0 (lost, still open, pushed beyond the window, or
dropped from the rep's file).

Classes
-------
Each example, and each open proposal to forecast, falls in one class of each factor:

* ``W`` its decision date against the window [t, t + D]: 0 overdue (before t), 1 due in the window,
  2 due after it;
* ``P`` declared probability: [0, 10 %), [10, 30 %), [30, 50 %), [50, 70 %), [70, 90 %), [90, 100 %]
  (a probability on an edge belongs to the class above);
* ``S`` pushes: 0, 1, 2 or more;
* ``A`` age: ≤ 30 days, 31–90, more than 90;
* ``G`` stage (each stage as given is a class; no stage is one more);
* ``R`` the rep.

Model
-----
Each window class ``W`` is fitted on its own examples. Start from the declared probability,
``q = p``. Then, twice over, for each factor in the order ``P, S, A, G, R`` and each class ``c`` of it,
over the examples of ``c``: ``O = Σ y`` (wins observed), ``E = Σ q`` (wins expected by the current q),
and every q of the class — examples and open proposals alike — has its odds ``q / (1 − q)``
multiplied by::

    f = (O + k) / (E + k),        k = K_TEAM = 5 (K_REP = 10 for the rep)

A class with little evidence keeps q near its value, a class with none (a declared probability, a
stage or a rep never seen in the history) keeps it unchanged: the model never extrapolates a correction
to what it has not seen; and a rep with little history keeps the team's model (the rep's correction
comes last, from the rep's own examples). Probabilities 0 and 1 stay as declared. So the model is a
list of factors per window class, in the order applied — `Fit.steps` — and a proposal's q is its
declared p with its odds multiplied by the factor of each of its classes, in that order.

New business: proposals not yet in the pipeline on day T may still be won before E. Over the
*windows* (rep, t) with ``t + D ≤ C`` (t a day the rep's snapshots were collected): ``new`` = Σ amount
of the rep's proposals first collected after t, finally Won with a decision date in (t, t + D];
``open`` = Σ amount of the rep's open examples of day t (a rep's first collection, where the pipeline is
still being entered, is no window of new business). Team ratio ``ν = Σ new / Σ open``; the rep's
``ν_r = (Σ_r new + K_NEW · ν · Ā_r) / (Σ_r open + K_NEW · Ā_r)`` (``Ā_r`` its mean open amount per
window, ``K_NEW`` = 3 windows). Expected new business = ``ν_r`` × the rep's open amount on day T.

**Expected** won by the period end = Won + Σ amount · q + new business.

Uncertainty (period-level shock first, then the proposals)
----------------------------------------------------------
A whole team has good and bad months, and so does a rep. Over the windows, with ``q`` the fitted
values: per window ``O = Σ a·y`` (amounts won), ``E = Σ a·q``, ``V = Σ a²·q·(1 − q)`` (the spread
independent proposals would give); per collection day the team's sums of the same. Then::

    σ²_team = max(0, Σ_days [(O − E)² − V]) / Σ_days E²
    σ²_rep  = max(0, Σ_windows [(O − E)² − V] / Σ_windows E² − σ²_team)

each shrunk toward ``PRIOR_VAR`` = 0.03 with the weight of ``N_PRIOR`` = 4 days (resp. windows):
``σ² ← (n·σ² + N_PRIOR·PRIOR_VAR) / (n + N_PRIOR)``. Draw ``j`` of a rep: a team factor
``m_team = exp(s_t·z_j − s_t²/2)`` with ``s_t² = ln(1 + σ²_team)`` and ``z_j`` standard normal, the
*same* ``z_j`` for every rep of the run (so the team's draws move together), times a rep factor drawn
the same way from the rep's own generator; each open proposal is then won with probability
``q·m / (1 − q + q·m)`` (its odds times ``m``; drawn as ``u < (1 − u)·m·q/(1 − q)`` with ``u``
uniform on [0, 1) in single precision; a proposal whose chance stays below ``SPARSE_MAX`` = 15 % at the
largest ``m`` is drawn by thinning, the same Bernoulli at less cost), and new business is ``new · m · g`` with
``g ~ Gamma(shape κ, scale 1/κ)``, ``κ = max(1, new / average won deal)``. P10/P50/P90 and P(reach)
are read from these draws as in salesxl.simulate (lower inverse CDF; P(reach) = P(total ≥ objective)).
The mean of the draws is close to, not exactly, the expected value above (the odds scaling is not
linear): ``expected`` is the figure stated.

When the history is too thin
----------------------------
The basis is ``history`` when the horizon has at least ``MIN_WINDOWS`` = 4 closed windows (collection
days t with t + D ≤ C) holding at least ``MIN_EXAMPLES`` = 30 examples; otherwise ``declared``, with the
reason (``no_history``, ``few_collections``, ``few_proposals``), and the declared figures stand alone.
"""
from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from salesxl.simulate import as_finite_array, partial_sum_tables
from salesxl.values import label_key

__all__ = [
    "AGE_EDGES",
    "CHAIN",
    "PASSES",
    "Fit",
    "History",
    "K_NEW",
    "K_REP",
    "K_TEAM",
    "MIN_EXAMPLES",
    "MIN_WINDOWS",
    "N_PRIOR",
    "OpenProposals",
    "PRIOR_VAR",
    "PROB_EDGES",
    "Prediction",
    "age_class",
    "draw_totals",
    "prob_class",
    "push_class",
    "team_normals",
    "window_class",
]

PROB_EDGES = (0.1, 0.3, 0.5, 0.7, 0.9)     # class boundaries of the declared probability
AGE_EDGES = (30, 90)                       # days: ≤ 30, 31–90, more
K_TEAM = 5.0
K_REP = 10.0
K_NEW = 3.0
PRIOR_VAR = 0.03
N_PRIOR = 4.0
MIN_WINDOWS = 4
SPARSE_MAX = 0.15           # proposals whose chance stays below this in every draw are drawn by thinning
MIN_EXAMPLES = 30
CHAIN = ("P", "S", "A", "G", "R")          # corrections within each window class, in this order
PASSES = 2
OPEN, WON, LOST, OTHER = 0, 1, 2, 3
_NONE = -(1 << 40)                         # a missing day, as an integer
_EDGE_TOL = 1e-9


def _day(v: Any) -> int:
    """A date (dt.date or ISO text) as its ordinal; _NONE for a missing one."""
    if v is None:
        return _NONE
    if isinstance(v, dt.datetime):
        return v.date().toordinal()
    if isinstance(v, dt.date):
        return v.toordinal()
    if isinstance(v, str) and v:
        return dt.date.fromisoformat(v[:10]).toordinal()
    return _NONE


_EPOCH = dt.date(1970, 1, 1).toordinal()


def _days(values: Sequence[Any] | None, n: int) -> np.ndarray:
    """Dates (ISO text or dt.date; None/blank missing) as ordinals, _NONE where missing (vectorised)."""
    if not values:
        return np.full(n, _NONE, dtype=np.int64)
    try:
        arr = np.array([v[:10] if isinstance(v, str) else v for v in values], dtype="datetime64[D]")
    except (TypeError, ValueError):
        return np.array([_day(v) for v in values], dtype=np.int64)
    out = arr.astype(np.int64) + _EPOCH
    return np.where(np.isnat(arr), _NONE, out)


def _floats(values: Sequence[Any] | None, n: int) -> np.ndarray:
    """Numbers as float64, NaN where missing or not a number (never 0)."""
    if not values:
        return np.full(n, np.nan)
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError):
        return np.array([_float(v) for v in values], dtype=float)


def _float(v: Any) -> float:
    if v is None or isinstance(v, bool) or not isinstance(v, numbers.Real):
        return math.nan
    return float(v)


def prob_class(p: np.ndarray) -> np.ndarray:
    """Class of the declared probability (factor P); an edge belongs to the class above it."""
    return np.searchsorted(np.asarray(PROB_EDGES), p + _EDGE_TOL, side="right")


def window_class(decision: np.ndarray, snapshot_days: np.ndarray, horizon: int) -> np.ndarray:
    """Factor W: 0 overdue (decision before t), 1 due in [t, t + D], 2 due after."""
    return np.where(decision < snapshot_days, 0, np.where(decision <= snapshot_days + horizon, 1, 2))


def push_class(pushes: np.ndarray) -> np.ndarray:
    return np.minimum(pushes, 2)


def age_class(age: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(AGE_EDGES), age, side="left")


def _odds_scale(q: np.ndarray, f: np.ndarray) -> np.ndarray:
    """q with its odds q / (1 − q) multiplied by f (0 and 1 stay as they are)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = q * f / (1.0 - q + q * f)
    return np.where((q <= 0) | (q >= 1), q, out)


def _step(q: np.ndarray, cls: np.ndarray, y: np.ndarray, k: float, n_classes: int) -> np.ndarray:
    """One correction: per class c, f_c = (O_c + k) / (E_c + k) (see the module docstring)."""
    o = np.bincount(cls, weights=y, minlength=n_classes)
    e = np.bincount(cls, weights=q, minlength=n_classes)
    return (o + k) / (e + k)


def _apply(q: np.ndarray, cls: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Each q's odds times its class's factor; a class the fit never saw keeps q."""
    inside = (cls >= 0) & (cls < factors.size)
    f = np.where(inside, factors[np.where(inside, cls, 0)], 1.0)
    return _odds_scale(q, f)


@dataclass
class Fit:
    """The model for one horizon D and cutoff day C (see the module docstring)."""
    horizon: int
    cutoff: dt.date
    basis: str                          # history | declared
    reason: str | None                  # why declared
    windows: int                        # collection days with a closed window
    examples: int
    # steps[w] = [(factor name, class factors), …] in the order applied, for window class w
    steps: dict[int, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    nu_team: float = 0.0
    nu_rep: dict[int, float] = field(default_factory=dict)
    var_team: float = PRIOR_VAR
    var_rep: float = PRIOR_VAR
    stage_codes: dict[str, int] = field(default_factory=dict)
    avg_won_deal: float | None = None

    def to_dict(self) -> dict:
        return {"horizon": self.horizon, "cutoff": self.cutoff.isoformat(), "basis": self.basis,
                "reason": self.reason, "windows": self.windows, "examples": self.examples,
                "sigma_team": math.sqrt(self.var_team), "sigma_rep": math.sqrt(self.var_rep),
                "new_business_ratio": self.nu_team}


@dataclass
class OpenProposals:
    """A rep's open proposals on the forecast day: amounts, declared probabilities, decision dates,
    refs (to find their history), stages and sent-on dates (None when not given)."""
    amounts: Sequence[float]
    probabilities: Sequence[float]
    decisions: Sequence[dt.date]
    refs: Sequence[str | None] = ()
    stages: Sequence[str | None] = ()
    sent_on: Sequence[dt.date | None] = ()


@dataclass
class Prediction:
    """What the history says about a rep's open proposals: one probability each (q), the expected
    new business, and the parameters of the draws."""
    basis: str
    reason: str | None
    q: np.ndarray
    amounts: np.ndarray
    pushes: np.ndarray
    new_business: float
    var_team: float
    var_rep: float
    avg_won_deal: float | None
    declared: np.ndarray | None = None      # the declared probabilities
    window: np.ndarray | None = None        # window class W of each proposal (0 overdue, 1 due, 2 after)

    def expected(self, won: float) -> float:
        return math.fsum([float(won), *(self.amounts * self.q).tolist(), self.new_business])


class History:
    """Every snapshot of the history store, as arrays (built once), and the fitted models per
    (cutoff, horizon). `rows`: columns of io.history.learning_rows (rep_key, ref_key, as_of,
    amount, probability, stage, status, decision_date, sent_on), dates as dt.date or ISO text; rep_key
    and ref_key as values.label_key gives them (the store keeps them so)."""

    def __init__(self, rows: Mapping[str, Sequence[Any]], *, min_windows: int = MIN_WINDOWS,
                 min_examples: int = MIN_EXAMPLES):
        n = len(rows.get("as_of") or ())
        self.min_windows, self.min_examples = min_windows, min_examples
        rep = [r if r is not None else "" for r in (rows.get("rep_key") or [None] * n)]
        ref = [r if r is not None else "" for r in (rows.get("ref_key") or [None] * n)]
        t = _days(rows.get("as_of") or (), n)
        self.rep_codes: dict[str, int] = {}
        rc = np.array([self.rep_codes.setdefault(r, len(self.rep_codes)) for r in rep], dtype=np.int64)
        pkeys: dict[tuple[str, str], int] = {}
        pc = np.array([pkeys.setdefault((a, b), len(pkeys)) for a, b in zip(rep, ref)], dtype=np.int64)
        order = np.lexsort((t, pc))
        self.n = n
        self.prop_keys = pkeys
        self.prop = pc[order]
        self.rep = rc[order]
        self.t = t[order]
        self.amount = _floats(rows.get("amount"), n)[order]
        self.p = _floats(rows.get("probability"), n)[order]
        codes = {"Open": OPEN, "Won": WON, "Lost": LOST}
        self.status = np.array([codes.get(v, OTHER) for v in (rows.get("status") or [None] * n)],
                               dtype=np.int64)[order]
        self.decision = _days(rows.get("decision_date"), n)[order]
        self.sent = _days(rows.get("sent_on"), n)[order]
        self.stage_codes: dict[str, int] = {}
        keys: dict[Any, int] = {}        # each distinct stage text once
        for v in dict.fromkeys(rows.get("stage") or ()):
            k = label_key(v) if isinstance(v, str) and v.strip() else ""
            keys[v] = self.stage_codes.setdefault(k, len(self.stage_codes))
        self.stage_codes.setdefault("", len(self.stage_codes))
        self.stage = np.array([keys.get(v, self.stage_codes[""]) for v in (rows.get("stage") or [None] * n)],
                              dtype=np.int64)[order]
        # pushes up to each snapshot: the decision date moved later than the previous known one
        self.pushes = np.zeros(n, dtype=np.int64)
        self.first_seen = np.zeros(n, dtype=np.int64)
        self.known_decision = np.full(n, _NONE, dtype=np.int64)
        if n:
            new_prop = np.r_[True, self.prop[1:] != self.prop[:-1]]
            starts = np.flatnonzero(new_prop)
            self.first_seen = self.t[starts][np.cumsum(new_prop) - 1]
            # the previous known decision date within the proposal (carried over missing ones)
            known = self.decision != _NONE
            idx = np.where(known, np.arange(n), -1)
            np.maximum.accumulate(idx, out=idx)
            prev = np.full(n, -1)
            prev[1:] = idx[:-1]
            prev_ok = (prev >= 0) & ~new_prop
            # a previous known decision must belong to the same proposal
            prev_ok &= np.where(prev >= 0, self.prop[np.maximum(prev, 0)] == self.prop, False)
            pushed = known & prev_ok & (self.decision > self.decision[np.maximum(prev, 0)])
            # the last known decision date up to each snapshot (within its proposal)
            own = (idx >= 0) & (self.prop[np.maximum(idx, 0)] == self.prop)
            self.known_decision = np.where(own, self.decision[np.maximum(idx, 0)], _NONE)
            cum = np.cumsum(pushed)
            base = cum[starts] - pushed[starts]
            self.pushes = cum - base[np.cumsum(new_prop) - 1]
        self.n_props = len(pkeys)
        self._fits: dict[tuple[int, int], Fit] = {}
        self._final: dict[int, tuple] = {}
        self._fitted_q: dict[tuple[int, int], tuple] = {}

    # ----------------------------------------------------------------------------- state as of a day
    def final_state(self, cutoff: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per proposal, as of day `cutoff`: index of its last snapshot (−1 if none yet), Won flag,
        decision day."""
        got = self._final.get(cutoff)
        if got is not None:
            return got
        idx = np.flatnonzero(self.t <= cutoff)
        last = np.full(self.n_props, -1, dtype=np.int64)
        if idx.size:
            pr = self.prop[idx]
            ends = idx[np.r_[pr[1:] != pr[:-1], True]]
            last[self.prop[ends]] = ends
        ok = last >= 0
        won = np.zeros(self.n_props, dtype=bool)
        dec = np.full(self.n_props, _NONE, dtype=np.int64)
        won[ok] = self.status[last[ok]] == WON
        dec[ok] = self.decision[last[ok]]
        got = (last, won, dec)
        self._final[cutoff] = got
        return got

    def collections(self, cutoff: int | None = None) -> list[int]:
        t = self.t if cutoff is None else self.t[self.t <= cutoff]
        return sorted(set(t.tolist()))

    # ----------------------------------------------------------------------------- fitting
    def _classes(self, sel: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
        t = self.t[sel]
        age = t - np.where((self.sent[sel] != _NONE) & (self.sent[sel] <= t), self.sent[sel],
                           self.first_seen[sel])
        return {"P": prob_class(self.p[sel]), "W": window_class(self.decision[sel], t, horizon),
                "S": push_class(self.pushes[sel]), "A": age_class(age), "G": self.stage[sel]}

    def fit(self, cutoff: dt.date, horizon: int) -> Fit:
        """The model for forecasts made on `cutoff` at `horizon` days (cached)."""
        horizon = int(horizon)
        if horizon < 0:
            raise ValueError(f"horizon: expected a non-negative number of days, got {horizon}")
        c = cutoff.toordinal()
        key = (c, horizon)
        if key in self._fits:
            return self._fits[key]
        last, won, dec = self.final_state(c)
        usable = ((self.status == OPEN) & np.isfinite(self.amount) & (self.amount > 0) & np.isfinite(self.p)
                  & (self.p >= 0) & (self.p <= 1) & (self.decision != _NONE))
        sel = np.flatnonzero(usable & (self.t + horizon <= c))
        windows = len(set(self.t[sel].tolist()))
        fit = Fit(horizon, cutoff, "history", None, windows, int(sel.size), stage_codes=self.stage_codes)
        if self.n == 0:
            fit.basis, fit.reason = "declared", "no_history"
        elif windows < self.min_windows:
            fit.basis, fit.reason = "declared", "few_collections"
        elif sel.size < self.min_examples:
            fit.basis, fit.reason = "declared", "few_proposals"
        self._fits[key] = fit
        if fit.basis != "history":
            return fit
        t = self.t[sel]
        y = (won[self.prop[sel]] & (dec[self.prop[sel]] <= t + horizon)).astype(float)
        classes = self._classes(sel, horizon)
        classes["R"] = self.rep[sel]
        q = _chain_fit(fit, self.p[sel], classes, y, self._n_classes())
        reps = self.rep[sel]
        n_reps = len(self.rep_codes)
        a = self.amount[sel]
        # windows (rep, t): new business, dispersion
        win_key = reps * (1 << 32) + (t - t.min())
        uk, inv = np.unique(win_key, return_inverse=True)
        w_rep, w_t = uk >> 32, uk & ((1 << 32) - 1)
        o = np.bincount(inv, weights=a * y)
        e = np.bincount(inv, weights=a * q)
        v = np.bincount(inv, weights=a * a * q * (1 - q))
        open_amt = np.bincount(inv, weights=a)
        # new business of each window: proposals first collected after t, Won with decision in (t, t + D]
        first = np.full(self.n_props, _NONE, dtype=np.int64)
        first[self.prop] = self.first_seen
        prop_rep = np.zeros(self.n_props, dtype=np.int64)
        prop_rep[self.prop] = self.rep
        amt_final = np.zeros(self.n_props)
        okp = last >= 0
        amt_final[okp] = np.nan_to_num(self.amount[last[okp]])
        new = np.zeros(uk.size)
        wins = np.flatnonzero(won & (amt_final > 0))
        tt = w_t + t.min()
        by_rep = {r: wins[prop_rep[wins] == r] for r in np.unique(w_rep).tolist()}
        for r, mine in by_rep.items():
            j = np.flatnonzero(w_rep == r)
            if not mine.size:
                continue
            tj = tt[j][:, None]
            hit = (first[mine][None, :] > tj) & (dec[mine][None, :] > tj) & (dec[mine][None, :] <= tj + horizon)
            new[j] = hit @ amt_final[mine]
        # a rep's first collection shows a pipeline still being entered: not a window of new business
        rep_first = np.full(n_reps, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(rep_first, self.rep, self.t)
        steady = tt > rep_first[w_rep]
        new, open_amt, w_rep = new[steady], open_amt[steady], w_rep[steady]
        tot_open = open_amt.sum()
        fit.nu_team = float(new.sum() / tot_open) if tot_open > 0 else 0.0
        for r in range(n_reps):
            m = w_rep == r
            if not m.any():
                continue
            mean_open = open_amt[m].mean()
            den = open_amt[m].sum() + K_NEW * mean_open
            fit.nu_rep[r] = float((new[m].sum() + K_NEW * fit.nu_team * mean_open) / den) if den > 0 else fit.nu_team
        won_amounts = amt_final[wins]
        fit.avg_won_deal = float(won_amounts.mean()) if won_amounts.size else None
        # dispersion: the team's per collection day, the reps' per window
        ut, tinv = np.unique(w_t, return_inverse=True)
        ot, et, vt = (np.bincount(tinv, weights=x) for x in (o, e, v))
        var_team = _excess(ot, et, vt)
        var_all = _excess(o, e, v)
        var_rep = max(0.0, var_all - var_team)
        fit.var_team = _shrink(var_team, int((et > 0).sum()))
        fit.var_rep = _shrink(var_rep, int((e > 0).sum()))
        return fit

    # ----------------------------------------------------------------------------- prediction
    def predict(self, rep: str, as_of: dt.date, period_end: dt.date, proposals: OpenProposals) -> Prediction:
        """The history's probability of each open proposal being won by `period_end` (see the module
        docstring); basis `declared` (q = the declared probabilities) when the history is too thin."""
        a = _finite(proposals.amounts, "amounts")
        p = _finite(proposals.probabilities, "probabilities")
        if a.shape != p.shape:
            raise ValueError(f"amounts and probabilities differ in length ({a.size} vs {p.size})")
        if ((p < 0) | (p > 1)).any():
            raise ValueError("probabilities: outside [0, 1]")
        if len(proposals.decisions) != a.size or any(d is None for d in proposals.decisions):
            raise ValueError("decisions: one decision date per proposal, none missing")
        horizon = max(0, (period_end - as_of).days)
        fit = self.fit(as_of, horizon)
        n = a.size
        refs = list(proposals.refs) or [None] * n
        stages = list(proposals.stages) or [None] * n
        sent = list(proposals.sent_on) or [None] * n
        as_of_day = as_of.toordinal()
        dec = np.array([_day(d) for d in proposals.decisions], dtype=np.int64)
        rep_key = label_key(rep)
        # pushes: those of its last snapshot before the as-of date, and one more if its decision date is now later
        last, _, _ = self.final_state(as_of_day - 1)
        pushes = np.zeros(n, dtype=np.int64)
        first = np.full(n, as_of_day, dtype=np.int64)
        get = self.prop_keys.get
        j = np.array([get((rep_key, label_key(ref)), -1) if isinstance(ref, str) else -1 for ref in refs],
                     dtype=np.int64)
        li = np.where(j >= 0, last[np.maximum(j, 0)], -1) if n else np.zeros(0, dtype=np.int64)
        seen = li >= 0
        lj = li[seen]
        pushes[seen] = self.pushes[lj]
        first[seen] = self.first_seen[lj]
        prev = self.known_decision[lj]
        pushes[seen] += (prev != _NONE) & (dec[seen] > prev)
        wcls = window_class(dec, np.full(n, as_of_day), horizon)
        if fit.basis != "history":
            return Prediction(fit.basis, fit.reason, p.copy(), a, pushes, 0.0, 0.0, 0.0, None, p, wcls)
        sd = np.array([_day(s) for s in sent], dtype=np.int64)
        age = as_of_day - np.where((sd != _NONE) & (sd <= as_of_day), sd, first)
        stage_c = np.array([self.stage_codes.get(label_key(s) if isinstance(s, str) and s.strip() else "",
                                                 1 << 30) for s in stages], dtype=np.int64)
        r = self.rep_codes.get(rep_key)
        classes = {"P": prob_class(p), "W": window_class(dec, np.full(n, as_of_day), horizon), "S": push_class(pushes),
                   "A": age_class(age), "G": stage_c, "R": np.full(n, -1 if r is None else r, dtype=np.int64)}
        q = _chain_apply(fit, p, classes)
        nu = fit.nu_rep.get(r, fit.nu_team) if r is not None else fit.nu_team
        new = nu * float(a.sum())
        return Prediction("history", None, q, a, pushes, new, fit.var_team, fit.var_rep, fit.avg_won_deal, p, wcls)

    def _n_classes(self) -> dict[str, int]:
        return {"P": len(PROB_EDGES) + 1, "S": 3, "A": len(AGE_EDGES) + 1, "G": max(1, len(self.stage_codes)),
                "R": max(1, len(self.rep_codes))}



def _chain_fit(fit: Fit, p: np.ndarray, classes: Mapping[str, np.ndarray], y: np.ndarray,
               n_classes: Mapping[str, int]) -> np.ndarray:
    """Fit the corrections of every window class (module docstring) into `fit.steps`; returns the
    fitted q of the examples."""
    q = p.astype(float).copy()
    for w in range(3):
        m = classes["W"] == w
        qw, yw = q[m], y[m]
        cw = {f: classes[f][m] for f in CHAIN}
        steps = []
        for _ in range(PASSES):
            for f in CHAIN:
                factors = _step(qw, cw[f], yw, K_REP if f == "R" else K_TEAM, n_classes[f])
                qw = _apply(qw, cw[f], factors)
                steps.append((f, factors))
        fit.steps[w] = steps
        q[m] = qw
    return q


def _chain_apply(fit: Fit, p: np.ndarray, classes: Mapping[str, np.ndarray]) -> np.ndarray:
    q = p.astype(float).copy()
    for w, steps in fit.steps.items():
        m = classes["W"] == w
        qw = q[m]
        for f, factors in steps:
            qw = _apply(qw, classes[f][m], factors)
        q[m] = qw
    return q


def _excess(o: np.ndarray, e: np.ndarray, v: np.ndarray) -> float:
    den = float((e * e).sum())
    if den <= 0:
        return 0.0
    return max(0.0, float(((o - e) ** 2 - v).sum()) / den)


def _shrink(var: float, n: int) -> float:
    return (n * var + N_PRIOR * PRIOR_VAR) / (n + N_PRIOR)


def _finite(values: Any, name: str) -> np.ndarray:
    return as_finite_array(list(values), name)


# ----------------------------------------------------------------------------- draws
def team_normals(seed: int, simulations: int) -> np.ndarray:
    """The standard normals z_j of the team factor, shared by every rep of a run."""
    return np.random.default_rng([int(seed), 0x5A1E5]).standard_normal(simulations)


def _lognormal(var: float, z: np.ndarray) -> np.ndarray:
    s2 = math.log1p(max(0.0, var))
    s = math.sqrt(s2)
    return np.exp(s * z - s2 / 2)


def _sparse_wins(a: np.ndarray, odds: np.ndarray, pmax: np.ndarray, m: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Σ amount of the unlikely proposals won in each draw, by thinning: each proposal's candidate draws
    are a Bernoulli(pmax) process over the draws (geometric gaps), pmax its chance at the largest m;
    a candidate draw j is a win when v < p(m_j) / pmax, v uniform. Exactly Bernoulli(p(m_j)) per draw,
    at a cost in proportion to the wins rather than to the draws."""
    sims = m.size
    out = np.zeros(sims)
    need = np.ceil(sims * pmax + 6 * np.sqrt(sims * pmax) + 16).astype(np.int64)
    gaps = rng.geometric(np.repeat(pmax, need))
    owner = np.repeat(np.arange(a.size), need)
    starts = np.cumsum(need) - need
    pos = np.cumsum(gaps)
    pos -= np.repeat(pos[starts] - gaps[starts], need)          # positions within each proposal, from 1
    reached = np.maximum.reduceat(pos, starts) > sims if a.size else np.zeros(0, dtype=bool)
    if not reached.all():                                     # (6 standard deviations of slack: never)
        raise RuntimeError("sparse draws: not enough candidates")
    inside = pos <= sims
    pos, owner = pos[inside] - 1, owner[inside]
    mj = m[pos]
    p = odds[owner] * mj / (1.0 + odds[owner] * mj)
    won = rng.random(pos.size) < p / pmax[owner]
    out += np.bincount(pos[won], weights=a[owner[won]], minlength=sims)
    return out


def draw_totals(won: float, pred: Prediction, z_team: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws of won + the open proposals won + new business (see the module docstring):
    the team factor from `z_team`, then the rep factor, the proposals and new business from `rng`."""
    sims = z_team.size
    m = _lognormal(pred.var_team, z_team) * _lognormal(pred.var_rep, rng.standard_normal(sims))
    out = np.full(sims, float(won))
    a, q = pred.amounts, pred.q
    keep = (q > 0) & (a != 0)
    a, q = a[keep], q[keep]
    with np.errstate(divide="ignore"):
        odds = np.where(q >= 1, np.inf, q / np.where(q >= 1, 1.0, 1.0 - q))
    top = float(m.max()) if sims else 1.0
    with np.errstate(invalid="ignore"):
        pmax = np.where(np.isinf(odds), 1.0, odds * top / (1.0 + odds * top))
    dense = pmax > SPARSE_MAX
    if dense.any():
        # won when u < q·m / (1 − q + q·m), i.e. u < (1 − u)·odds·m (no division); the hits of 8 proposals
        # at a time summed through lookup tables, in a fixed order (as salesxl.simulate does)
        ad, od = a[dense], odds[dense].astype(np.float32)
        table = partial_sum_tables(ad)
        offsets = np.arange((ad.size + 7) // 8, dtype=np.intp) * 256
        rows = max(1, (1 << 18) // ad.size)
        for s in range(0, sims, rows):
            mm = m[s:s + rows].astype(np.float32)
            u = rng.random((mm.size, ad.size), dtype=np.float32)
            hits = u < (1.0 - u) * np.multiply.outer(mm, od)
            packed = np.packbits(hits, axis=1, bitorder="little")
            out[s:s + rows] += table.take(packed + offsets).sum(axis=1)
    if (~dense).any():
        out += _sparse_wins(a[~dense], odds[~dense], pmax[~dense], m, rng)
    if pred.new_business > 0:
        deal = pred.avg_won_deal or pred.new_business
        kappa = max(1.0, pred.new_business / deal)
        out += pred.new_business * m * rng.gamma(kappa, 1.0 / kappa, sims)
    return out
