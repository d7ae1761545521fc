"""Period forecasts (SPEC §4): the rep's period, won, weighted open, forecast, coverage, plan vs done,
results and failure reasons, risk and lever. Pure core: typed tables in, plain data out.

Input tables are the typed `TableData` of `rules.validate_tables` (one workbook, or several one after
the other): values that could not be interpreted are None and are left out here.
"""
from __future__ import annotations

import datetime as dt
import math
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Protocol

import numpy as np

from salesxl import contract
from salesxl.calibrate import (Calibration, calibrated_forecast, calibration,
                               required_coverage, win_rate)
from salesxl.simulate import (DEFAULT_SEED, DEFAULT_SIMULATIONS, EXACT_MAX, outcome_distribution, outcome_from_draws,
                              sample_totals)
from salesxl.tables import TableData
from salesxl.values import json_number, label_key, rep_key

ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"
WEEKLY, MONTHLY, QUARTERLY = "weekly", "monthly", "quarterly"      # period-length groups of reps
SUM_OF_CURRENT_PERIODS = "sum_of_current_periods"                 # what the team's overall figures are
HISTORY, DECLARED = "history", "declared"          # the basis of `expected` and of P10/P50/P90, P(reach)
TRAINING, MOTIVATION = "training", "motivation"
PACE_TRAINING = 0.9


@dataclass(slots=True)
class PlanLine:
    action: str
    planned: float
    prorated: float
    done: int
    pace: float | None


@dataclass(slots=True)
class Proposal:
    ref: str | None
    company: str | None
    amount: float
    probability: float
    weighted: float
    decision_date: dt.date | None
    stage: str | None
    overdue: bool
    days_overdue: int
    in_period: bool


@dataclass
class ReasonCount:
    reason: str
    count: int
    share: float
    team_share: float
    over_represented: bool


@dataclass
class RepForecast:
    rep: str
    seniority: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    elapsed: float | None
    objective: float | None
    deals_objective: float | None
    won: float
    won_deals: int
    weighted_open: float
    forecast: float
    attainment: float | None
    open_amount: float
    coverage: float | None
    win_rate: float | None
    required_coverage: float | None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    p_reach: float | None = None
    method: str | None = None
    risk: str | None = None
    pace: float | None = None
    lever: str | None = None
    training_topic: str | None = None
    plan: list[PlanLine] = field(default_factory=list)
    results: dict[str, dict[str, int]] = field(default_factory=dict)   # action -> outcome class -> n
    conversion: dict[str, float] = field(default_factory=dict)         # action -> share of positive results
    reasons: list[ReasonCount] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)            # open, by weighted amount
    calibration: Calibration | None = None
    calibrated_forecast: float | None = None
    avg_deal: float | None = None
    slippage: list[dict] = field(default_factory=list)
    draws: Any = field(default=None, repr=False)       # Monte Carlo draws of won + open (team sum)
    # the history-based forecast (SPEC §4b, salesxl.learn): expected won by the period end, its basis,
    # and the declared figures kept beside the history's when the basis is history
    expected: float | None = None
    basis: str = DECLARED
    basis_reason: str | None = "no_history"
    p10_declared: float | None = None
    p50_declared: float | None = None
    p90_declared: float | None = None
    p_reach_declared: float | None = None
    risk_declared: str | None = None
    history: Any = field(default=None, repr=False)     # learn.Prediction, for the review's explanation
    history_draws: Any = field(default=None, repr=False)
    manager: str | None = None                          # the Reps table's Manager
    open_by_stage: dict = field(default_factory=dict)   # stage -> [amount, weighted] of the period's open proposals
    change: Any = None                                  # movement.Change since the previous collection
    track: list = field(default_factory=list)           # movement.TrackPeriod of the last periods

    @property
    def period_group(self) -> str | None:
        """The rep's period-length group (period_group): team figures add up within a group."""
        return period_group(self.period_start, self.period_end)

    def to_dict(self, calibration: bool = True) -> dict:
        """Plain data (JSON); `calibration=False` leaves the calibration bins out."""
        d = {
            "rep": self.rep, "seniority": self.seniority,
            "period_start": _iso(self.period_start), "period_end": _iso(self.period_end),
            "period_group": self.period_group,
            "elapsed": json_number(self.elapsed), "objective": json_number(self.objective), "won": json_number(self.won),
            "weighted_open": json_number(self.weighted_open), "forecast": json_number(self.forecast),
            "attainment": json_number(self.attainment), "coverage": json_number(self.coverage),
            "required_coverage": json_number(self.required_coverage), "win_rate": json_number(self.win_rate),
            "p10": json_number(self.p10), "p50": json_number(self.p50), "p90": json_number(self.p90), "p_reach": json_number(self.p_reach),
            "method": self.method, "risk": self.risk, "pace": json_number(self.pace), "lever": self.lever,
            "training_topic": self.training_topic,
            "plan": [{k: json_number(v) if isinstance(v, float) else v for k, v in _plan_fields(p)} for p in self.plan],
            "overdue": [p.ref for p in self.proposals if p.overdue],
            "calibrated_forecast": json_number(self.calibrated_forecast),
            "expected": json_number(self.expected if self.expected is not None else self.forecast), "basis": self.basis,
        }
        if self.basis == HISTORY:
            d.update(p10_declared=json_number(self.p10_declared), p50_declared=json_number(self.p50_declared),
                     p90_declared=json_number(self.p90_declared), p_reach_declared=json_number(self.p_reach_declared),
                     risk_declared=self.risk_declared)
        else:
            d["basis_reason"] = self.basis_reason
        if calibration and self.calibration is not None:
            d["calibration"] = self.calibration.to_dict()
        return d


def _plan_fields(p: PlanLine):
    """asdict(p).items() without asdict's deep copy (the fields are plain numbers and text)."""
    return ((f, getattr(p, f)) for f in _PLAN_FIELDS)


_PLAN_FIELDS = tuple(f.name for f in fields(PlanLine))


@dataclass
class TeamForecast:
    as_of: dt.date
    reps: list[RepForecast]
    team: dict[str, Any]
    skipped: list[dict]
    reasons: dict[str, int]
    simulations: int
    seed: int

    def to_dict(self, calibration: bool = True) -> dict:
        return {"as_of": self.as_of.isoformat(), "reps": [r.to_dict(calibration) for r in self.reps],
                "team": self.team, "skipped": self.skipped, "simulations": self.simulations,
                "seed": self.seed}


def period_group(start: dt.date | None, end: dt.date | None) -> str | None:
    """The period-length group of a period [start, end]: "weekly" (up to 7 days), "monthly" (28–31),
    "quarterly" (89–92), else "<n>_days" (n its length in days). Reps of different groups are not
    added into one distribution: a week's objective and a quarter's are not one team's."""
    if start is None or end is None:
        return None
    days = (end - start).days + 1
    if days <= 7:
        return WEEKLY
    if 28 <= days <= 31:
        return MONTHLY
    if 89 <= days <= 92:
        return QUARTERLY
    return f"{days}_days"


def _group_order(group: str | None) -> tuple:
    known = (WEEKLY, MONTHLY, QUARTERLY)
    if group in known:
        return (0, {WEEKLY: 7, MONTHLY: 30, QUARTERLY: 91}[group])
    try:
        return (0, int(str(group).split("_")[0]))
    except ValueError:
        return (1, 0)


def team_rows(team: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The team lines of a forecast's `team` (its to_dict): one per period-length group, then the
    overall line, as (what it is, figures): ("group", group figures) when there are several groups,
    then ("overall", team) — the sum of the reps' current periods; ("team", team) alone when every rep
    is in one group (the team's figures are then also its distribution's)."""
    groups = team.get("groups") or []
    if len(groups) <= 1:
        return [("team", team)]
    return [("group", g) for g in groups] + [("overall", team)]


def _iso(d):
    return d.isoformat() if d is not None else None


# ---------------------------------------------------------------------------------------------
# Small, pinned computations
def weighted_amount(amount: float | None, probability: float | None) -> float | None:
    """Amount × Probability; None when either is missing (None is never 0)."""
    if amount is None or probability is None:
        return None
    return amount * probability


def elapsed_fraction(start: dt.date, end: dt.date, as_of: dt.date) -> float:
    """(as-of − start + 1 day) / (end − start + 1 day), clipped to [0, 1]."""
    total = (end - start).days + 1
    if total <= 0:
        return 0.0
    return min(1.0, max(0.0, ((as_of - start).days + 1) / total))


def coverage(open_amount: float, objective: float | None, won: float) -> float | None:
    """Open amount / (objective − won); None once won ≥ objective (or no objective)."""
    if objective is None or won >= objective:
        return None
    return open_amount / (objective - won)


def risk_status(p_reach: float | None, on_track: float = 0.7, at_risk: float = 0.3) -> str | None:
    if p_reach is None:
        return None
    if p_reach >= on_track:
        return ON_TRACK
    if p_reach >= at_risk:
        return AT_RISK
    return OFF_TRACK


def lever(risk: str | None, pace: float | None) -> str | None:
    """At risk: the effort is there but not the results (pace ≥ 0.9) → training; else motivation."""
    if risk in (None, ON_TRACK) or pace is None:
        return None
    if pace is not None and pace >= PACE_TRAINING:
        return TRAINING
    return MOTIVATION


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return float(sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def _tail_below(k: int, n: int, p: float, alpha: float) -> bool:
    """binomial_tail(k, n, p) < alpha, without summing every term when the first ones already make the
    tail clearly larger than alpha (the terms are positive); otherwise exactly as binomial_tail."""
    if 0 < p < 1 and k > 0:
        partial = 0.0
        for i in range(k, n + 1):
            partial += math.comb(n, i) * p ** i * (1 - p) ** (n - i)
            if partial >= alpha * (1 + 1e-9):
                return False
        return partial < alpha                  # (the whole tail, summed as binomial_tail sums it)
    return binomial_tail(k, n, p) < alpha


def reason_comparison(rep_counts: Mapping[str, int], team_counts: Mapping[str, int],
                      alpha: float = 0.1) -> list[ReasonCount]:
    """Each failure reason's share for the rep vs the rest of the team; over-represented when the
    rep's count is unlikely under the team's share (one-sided binomial test, at least 2 cases)."""
    n = sum(rep_counts.values())
    rest = {k: team_counts.get(k, 0) - rep_counts.get(k, 0) for k in set(team_counts) | set(rep_counts)}
    rest_n = sum(max(v, 0) for v in rest.values())
    out = []
    for reason, k in sorted(rep_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        share = k / n if n else 0.0
        # a share never seen elsewhere in the team still gets a small prior, so one rep alone can be tested
        team_share = (max(rest.get(reason, 0), 0) + 0.5) / (rest_n + 0.5 * max(len(rest), 1)) if rest_n else 1 / max(len(rep_counts), 1)
        over = k >= 2 and n >= 3 and share > team_share and _tail_below(k, n, team_share, alpha)
        out.append(ReasonCount(reason, k, share, team_share, over))
    return out


# ---------------------------------------------------------------------------------------------
def split_by_rep(td: TableData | None) -> dict[str, TableData]:
    """Rows grouped by rep (normalised name), in order of first appearance, each rep's rows a view of
    the table (nothing copied); rows without a rep dropped."""
    if td is None or not len(td):
        return {}
    reps = td["rep"]
    try:
        distinct = set(reps)
    except TypeError:                         # an unhashable value: row by row below
        distinct = ()
    if len(distinct) == 1:                    # the same rep (or none) on every row: one file's table
        k = rep_key(next(iter(distinct)))
        return {k: td} if k is not None else {}
    keys: dict[Any, str | None] = {}          # each distinct rep value normalised once
    groups: dict[str, list[int]] = {}
    last, idx = _NOTHING, None
    for i, v in enumerate(reps):
        if v is not last:                     # rows come in runs of one rep (one file after another)
            last = v
            try:
                k = keys[v]
            except KeyError:
                k = keys[v] = rep_key(v)
            except TypeError:                 # an unhashable value: never a rep
                k = None
            idx = groups.setdefault(k, []) if k is not None else None
        if idx is not None:
            idx.append(i)
    out = {}
    n = len(td)
    for k, idx in groups.items():
        if len(idx) == n:
            out[k] = td
        elif idx[-1] - idx[0] + 1 == len(idx):        # one run of rows
            out[k] = td.take(range(idx[0], idx[-1] + 1))
        else:
            out[k] = td.take(idx)
    return out


class RowsByRep(Protocol):
    """A table's rows by rep: `get(rep key)` gives the rep's rows (a dict of views, or a spool that
    reads them back from disk: consolidate's _SpooledByRep)."""

    def get(self, rep_key: str, default: None = None) -> TableData | None: ...


@dataclass
class RepTables:
    """The forecast's tables already grouped by rep: `by[table].get(rep key)` gives the rep's rows (a
    TableData, or None), `names` the reps' keys and names in order of first appearance (Reps,
    Objectives, Planning, Pipeline, Reporting), `seniority` the first seniority given to each. What a
    caller holding many files passes instead of whole tables: it may keep the rows elsewhere (e.g. on
    disk) and give them a rep at a time."""
    by: Mapping[str, RowsByRep]         # table key -> the table's rows by rep
    names: Mapping[str, str]
    seniority: Mapping[str, Any]


def rep_tables(tables: Mapping[str, TableData]) -> RepTables:
    """Whole typed tables grouped by rep."""
    tables = {k: tables[k] for k in REP_ORDER if tables.get(k) is not None and len(tables[k])}
    by = {k: split_by_rep(tables.get(k)) for k in REP_ORDER}
    names: dict[str, str] = {}
    for k in REP_ORDER:
        td = tables.get(k)
        if td is not None:
            for v in dict.fromkeys(td["rep"]):      # each distinct value once, in order of appearance
                rep_id = rep_key(v)
                if rep_id and rep_id not in names:
                    names[rep_id] = v.strip()
    seniority: dict[str, Any] = {}
    if tables.get("reps") is not None:
        for r, s in zip(tables["reps"]["rep"], tables["reps"].column("seniority")):
            if rep_key(r):
                seniority.setdefault(rep_key(r), s)
    return RepTables(by, names, seniority)


REP_ORDER = ("reps", "objectives", "planning", "pipeline", "reporting")   # the reps' order: first seen here

_NOTHING = object()


def _is_empty(td: TableData | None) -> bool:
    return td is None or not len(td)


@dataclass(frozen=True)
class Period:
    """A rep's current period: its dates, and the objectives of its Objectives row (None from Planning)."""
    start: dt.date
    end: dt.date
    revenue_objective: float | None = None
    deals_objective: float | None = None


def select_period(rep_objectives: TableData | None, rep_planning: TableData | None,
                  as_of: dt.date) -> Period | None:
    """The Objectives (else Planning) row whose [start, end] holds the as-of date."""
    if not _is_empty(rep_objectives):
        for s, e, revenue, deals in zip(rep_objectives["period_start"], rep_objectives["period_end"],
                                        rep_objectives.column("revenue_objective"),
                                        rep_objectives.column("deals_objective")):
            if s is not None and e is not None and s <= as_of <= e:
                return Period(s, e, revenue, deals)
    if not _is_empty(rep_planning):
        for s, e in zip(rep_planning["period_start"], rep_planning["period_end"]):
            if s is not None and e is not None and s <= as_of <= e:
                return Period(s, e)
    return None


def rep_seed(seed: int, rep: str) -> int:
    """A rep's own seed: their numbers do not depend on who else is in the team."""
    return (int(seed) * 1_000_003 + zlib.crc32(label_key(rep).encode())) % (2 ** 63)


@dataclass
class PlannedRep:
    """A rep with a current period: their key (values.rep_key), name, seniority and period."""
    key: str
    name: str
    seniority: str | None
    period: Period


@dataclass
class ForecastJob:
    """All that `forecast_rep` needs for one rep (picklable: it may run in another process): the rep,
    their period, their own Planning, Reporting and Pipeline rows, and the run's parameters."""
    name: str
    seniority: str | None
    period: Period
    as_of: dt.date
    planning: TableData | None
    reporting: TableData | None
    pipeline: TableData | None
    outcome_of: dict[str, str]          # result key -> outcome class
    simulations: int
    seed: int
    on_track: float
    at_risk: float
    rep_reasons: dict[str, int]         # the rep's failure reasons, counted
    team_reasons: dict[str, int]        # the team's


@dataclass
class ForecastPlan:
    """The team forecast in steps: the plan (what each rep's forecast needs, one job per rep with a period),
    `forecast_rep` on each job (independent: they may run in other processes, and they do not need the
    history store), `complete` with what the history tells about the rep (`attach_history` first), and
    `finish`, which adds the reps' results up in order."""
    as_of: dt.date
    reps: list[PlannedRep]              # the rep of each job, in order
    skipped: list[dict]
    team_reasons: dict[str, int]
    simulations: int
    seed: int
    on_track: float
    at_risk: float
    by: Mapping[str, RowsByRep] = field(default_factory=dict)   # table -> rep key -> the rep's rows
    rep_reasons: dict[str, dict[str, int]] = field(default_factory=dict)     # rep key -> reason -> count
    outcome_of: dict[str, str] = field(default_factory=dict)                 # result key -> outcome class
    closed: dict[str, TableData] | None = None   # rep key -> closed proposals of the history store (None: pipeline)
    slip: dict[str, TableData] = field(default_factory=dict)                 # rep key -> slipping proposals
    collections: Any = None                                 # movement.Collections of the history store
    _reps: list[RepForecast] = field(default_factory=list)  # the reps' forecasts added so far
    _total: dict[str, np.ndarray] | None = None  # the team's draws by period-length group, each rep's added
    learner: Any = None     # learn.History of the store (attach_history), None without one
    _z: np.ndarray | None = None                 # the team factor's normals of the history-based draws
    _total_basis: dict[str, np.ndarray] | None = None   # the same on each rep's basis (history, else declared)
    _pipelines: dict[int, TableData | None] = field(default_factory=dict)   # job i's pipeline until complete(i)

    def __len__(self) -> int:
        return len(self.reps)

    def job(self, i: int) -> ForecastJob:
        """Job i: all that forecast_rep needs, the rep's rows as views (made on demand, one job at a
        time, not every rep's rows at once; pickled, a view goes as a table of its own)."""
        rep = self.reps[i]
        by, rep_id = self.by, rep.key
        pipeline = self._pipelines[i] = by["pipeline"].get(rep_id)      # (complete(i) needs it again)
        return ForecastJob(rep.name, rep.seniority, rep.period, self.as_of, by["planning"].get(rep_id),
                           by["reporting"].get(rep_id), pipeline, self.outcome_of,
                           self.simulations, self.seed, self.on_track, self.at_risk, self.rep_reasons[rep_id],
                           self.team_reasons)

    def attach_history(self, history_closed: TableData | None = None, slippage: TableData | None = None,
                       learner: Any = None, collections: Any = None) -> None:
        """Closed proposals (from the history store when given, else the pipeline), slippage, the
        store's snapshots for the history-based forecast (learn.History), and the collections the change
        since the previous one and the track records come from (movement.Collections)."""
        self.collections = collections
        self.closed = split_by_rep(history_closed) if not _is_empty(history_closed) else None
        self.slip = split_by_rep(slippage)
        self.learner = learner

    def complete(self, i: int, rf: RepForecast) -> RepForecast:
        """Job i's forecast with its history: win rate, calibration, slippage."""
        rep_id = self.reps[i].key
        # the rep's pipeline read back once (job(i) read it already, unless the job went unmade)
        pipeline = self._pipelines.pop(i) if i in self._pipelines else self.by["pipeline"].get(rep_id)
        _apply_closed(rf, self.closed.get(rep_id) if self.closed is not None else closed_in_pipeline(pipeline))
        slip = self.slip.get(rep_id)
        if slip is not None:
            keys = [c for c in slip.columns if c != "rep"]
            rf.slippage = [dict(zip(keys, vals)) for vals in zip(*(slip[c] for c in keys))]
        if self.learner is not None:
            if self._z is None:
                from salesxl.learn import team_normals
                self._z = team_normals(self.seed, self.simulations)
            apply_history(rf, pipeline, self.learner, self.as_of, self._z,
                          rep_seed(self.seed, rf.rep), self.on_track, self.at_risk)
        else:
            rf.expected = rf.forecast
        reps = self.by["reps"].get(rep_id)
        if reps is not None and "manager" in reps:
            rf.manager = next((m.strip() for m in reps["manager"] if isinstance(m, str) and m.strip()), None)
        if self.collections is not None:
            rf.change = self.collections.change(rep_id, rf.period_start, rf.period_end, rf.objective,
                                                seed=rep_seed(self.seed, rf.rep), simulations=self.simulations,
                                                on_track=self.on_track, at_risk=self.at_risk)
            from salesxl.movement import track_record
            rf.track = track_record(self.by["objectives"].get(rep_id), pipeline, rf.period_start,
                                    self.collections.history.get(rep_id, {}))
        return rf

    def finish(self, rep_forecasts: Iterable[RepForecast]) -> TeamForecast:
        """The team forecast from the reps' forecasts (in the order of the jobs)."""
        for rf in rep_forecasts:
            self.add(rf)
        return self.team_forecast()

    def add(self, rf: RepForecast) -> None:
        """The next rep's forecast (in the order of the jobs)."""
        if self._total is None:
            self._total, self._total_basis = {}, {}
        group = rf.period_group
        if group not in self._total:
            self._total[group] = np.zeros(self.simulations)
            self._total_basis[group] = np.zeros(self.simulations)
        self._total[group] += rf.draws
        self._total_basis[group] += rf.history_draws if rf.history_draws is not None else rf.draws
        rf.history_draws = None
        rf.draws = None
        self._reps.append(rf)

    def team_forecast(self) -> TeamForecast:
        """The team forecast, once every rep's forecast is added."""
        reps = self._reps
        team = team_by_group(reps, self.seed, self.on_track, self.at_risk, self._total or {},
                             self._total_basis or {})
        return TeamForecast(self.as_of, reps, team, self.skipped, self.team_reasons, self.simulations, self.seed)


def run_parameters(settings: Mapping[str, Any] | None, simulations: int | None = None,
                   seed: int | None = None) -> tuple[int, int]:
    """(simulations, seed) of a forecast: as given, else from the settings, else the defaults."""
    settings = settings or {}           # Settings values bounded (contract.SETTING_LIMITS): 1e9 draws is not a run
    return (int(simulations or contract.setting_value(settings, "simulations").value),
            int(seed if seed is not None else contract.setting_value(settings, "seed").value))


def plan_forecast(tables: Mapping[str, TableData] | RepTables, lists: Mapping[str, contract.ListSpec] | None,
                  as_of: dt.date, settings: Mapping[str, Any] | None = None, *, simulations: int | None = None,
                  seed: int | None = None, history_closed: TableData | None = None,
                  slippage: TableData | None = None, attach: bool = True) -> ForecastPlan:
    """Stage 3's plan: everything decided before the reps' own forecasts (see ForecastPlan). `attach=False`:
    the history is attached later (ForecastPlan.attach_history), before `complete`."""
    settings = dict(settings or {})
    lists = lists or contract.LISTS
    simulations, seed = run_parameters(settings, simulations, seed)
    on_track = contract.setting_value(settings, "on_track").value
    at_risk = contract.setting_value(settings, "at_risk").value
    outcome_of = {it.key: it.attr for it in lists["results"].items}

    # every table grouped by rep (or RepTables already)
    grouped = tables if isinstance(tables, RepTables) else rep_tables(tables)
    by, names, seniority = grouped.by, grouped.names, grouped.seniority

    # team failure reasons (whole history present): Reporting reasons + Pipeline loss reasons
    rep_reasons = {rep_id: _reasons(by["reporting"].get(rep_id), by["pipeline"].get(rep_id), outcome_of)
                   for rep_id in names}
    team_reasons: dict[str, int] = {}
    for c in rep_reasons.values():
        for k, v in c.items():
            team_reasons[k] = team_reasons.get(k, 0) + v

    reps, skipped = [], []
    for rep_id, name in names.items():
        period = select_period(by["objectives"].get(rep_id), by["planning"].get(rep_id), as_of)
        if period is None:
            skipped.append({"rep": name, "reason": "no_period"})
            continue
        reps.append(PlannedRep(rep_id, name, seniority.get(rep_id), period))
    plan = ForecastPlan(as_of, reps, skipped, team_reasons, simulations, seed, on_track, at_risk, by, rep_reasons,
                        outcome_of)
    if attach:
        plan.attach_history(history_closed, slippage)
    return plan


def forecast_rep(job: ForecastJob) -> RepForecast:
    """One rep's forecast, from a job of `plan_forecast` (its draws included, for the team's sum), but
    for what the history tells (ForecastPlan.complete)."""
    rf = _rep_forecast_core(job.name, job.seniority, job.period, job.as_of, job.planning, job.reporting,
                            job.pipeline, job.outcome_of, job.simulations, job.seed, job.on_track, job.at_risk)
    rf.reasons = reason_comparison(job.rep_reasons, job.team_reasons)
    over = [r for r in rf.reasons if r.over_represented]
    if rf.lever == TRAINING or (rf.lever and over):
        rf.training_topic = over[0].reason if over else None
    return rf


def _reasons(rep_reporting: TableData | None, rep_pipeline: TableData | None,
             outcome_of: Mapping[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    if rep_reporting is not None:
        for res, reason in zip(rep_reporting["result"], rep_reporting["reason"]):
            if reason is not None and outcome_of.get(res) == contract.NEGATIVE:
                counts[reason] = counts.get(reason, 0) + 1
    if rep_pipeline is not None:
        for st, reason in zip(rep_pipeline["status"], rep_pipeline["loss_reason"]):
            if reason is not None and st == contract.LOST:
                counts[reason] = counts.get(reason, 0) + 1
    return counts


def closed_in_pipeline(pipeline: TableData | None) -> TableData | None:
    """A rep's won and lost proposals with a probability, from their pipeline rows: the table of closed
    proposals (rep, probability, won, amount) the history store gives otherwise; None without any."""
    if _is_empty(pipeline):
        return None
    status, prob = pipeline["status"], pipeline["probability"]
    m = [i for i, (st, pr) in enumerate(zip(status, prob))
         if st in (contract.WON, contract.LOST) and not _missing(pr)]
    if not m:
        return None
    amount, rep, rows = pipeline["amount"], pipeline["rep"], pipeline.rows
    return TableData("closed", {"rep": [rep[i] for i in m], "probability": [prob[i] for i in m],
                                "won": [status[i] == contract.WON for i in m], "amount": [amount[i] for i in m]},
                     [rows[i] for i in m], sheet=pipeline.sheet)


def _missing(v) -> bool:
    """None, or a float NaN."""
    return v is None or (type(v) is float and v != v)


def _apply_closed(rf: RepForecast, closed: TableData | None) -> None:
    """What the rep's closed proposals tell: win rate, average deal, calibration (None without any)."""
    rate = None
    avg_deal = None
    cal = None
    cal_fc = None
    if not _is_empty(closed):
        won_flags = np.asarray(closed["won"], dtype=bool)
        n_won = int(won_flags.sum())
        rate = win_rate(n_won, int(len(won_flags) - n_won))
        amounts = [a for a, w in zip(closed.column("amount"), closed["won"]) if w and a is not None]
        avg_deal = float(np.mean(amounts)) if amounts else None
        probs = np.asarray(closed["probability"], dtype=float)
        cal = calibration(probs, won_flags)
        if cal is not None:
            in_p = [p for p in rf.proposals if p.in_period]
            cal_fc = calibrated_forecast(rf.won, [p.amount for p in in_p], [p.probability for p in in_p], cal)
    rf.win_rate = rate
    rf.required_coverage = required_coverage(rate)
    rf.avg_deal = avg_deal
    rf.calibration = cal
    rf.calibrated_forecast = cal_fc


@dataclass
class PeriodPipeline:
    """What a pipeline gives a period (see `period_pipeline`)."""

    won: float                      # Σ Amount of the Won proposals decided in the period
    won_deals: int
    proposals: list[Proposal]       # the open proposals that count, most weighted first

    @property
    def in_period(self) -> list[Proposal]:
        """The open proposals decided in the period (the overdue ones before it left out)."""
        return [p for p in self.proposals if p.in_period]

    @property
    def weighted_open(self) -> float:
        """Σ Amount × Probability of the open proposals decided in the period."""
        return float(sum(p.weighted for p in self.in_period))

    @property
    def forecast(self) -> float:
        """Won + weighted open (SPEC §4)."""
        return float(self.won) + self.weighted_open


def period_pipeline(pipeline: TableData | None, start: dt.date, end: dt.date,
                    as_of: dt.date | None = None) -> PeriodPipeline:
    """Won and the open proposals of a typed pipeline for the period [start, end] (SPEC §4): a Won
    proposal counts when it has an amount and its decision date is in the period; an Open one when it
    has an amount, a probability and a decision date in the period (weighted open), or before `as_of`
    (overdue: listed, to chase). An open proposal without a probability is left out: the rules gave it
    its stage's default, or flagged it. Columns: amount, probability, decision_date, status (canonical
    codes); ref, company and stage when there."""
    won = 0.0
    won_deals = 0
    props: list[Proposal] = []
    if not _is_empty(pipeline):
        for ref, company, amount, prob, stage, decision, status in zip(
                pipeline.column("ref"), pipeline.column("company"), pipeline["amount"], pipeline["probability"],
                pipeline.column("stage"), pipeline["decision_date"], pipeline["status"]):
            in_period = decision is not None and start <= decision <= end
            if status == contract.WON and in_period and amount is not None:
                won += amount
                won_deals += 1
            elif status == contract.OPEN and amount is not None and prob is not None and decision is not None:
                overdue = as_of is not None and decision < as_of
                if in_period or overdue:
                    props.append(Proposal(ref, company, amount, prob, amount * prob, decision, stage, overdue,
                                          max(0, (as_of - decision).days) if as_of is not None else 0, in_period))
    props.sort(key=lambda p: (-p.weighted, p.decision_date or dt.date.max, str(p.ref)))
    return PeriodPipeline(won, won_deals, props)


def _rep_forecast_core(name: str, seniority: str | None, period: Period, as_of: dt.date,
                       planning: TableData | None, reporting: TableData | None, pipeline: TableData | None,
                       outcome_of: Mapping[str, str], simulations: int, seed: int, on_track: float,
                       at_risk: float) -> RepForecast:
    """The rep's forecast but for what their closed proposals tell (see _apply_closed)."""
    start, end, objective, deals = period.start, period.end, period.revenue_objective, period.deals_objective
    elapsed = elapsed_fraction(start, end, as_of)
    pp = period_pipeline(pipeline, start, end, as_of)
    won, won_deals, props = pp.won, pp.won_deals, pp.proposals
    in_p = pp.in_period
    by_stage: dict = {}
    for p in in_p:
        t = by_stage.setdefault(p.stage, [0.0, 0.0])
        t[0] += p.amount
        t[1] += p.weighted
    weighted_open = pp.weighted_open
    open_amount = float(sum(p.amount for p in in_p))
    fc = won + weighted_open
    objective = float(objective) if objective is not None else None
    amounts, probs = [p.amount for p in in_p], [p.probability for p in in_p]
    rs = rep_seed(seed, name)
    # the rep's draws: their own outcome (Monte Carlo) and their share of the team's draws
    draws = sample_totals(won, amounts, probs, simulations, np.random.default_rng(rs))
    if len(in_p) <= EXACT_MAX:
        out = outcome_distribution(won, amounts, probs, objective if objective else None,
                                   simulations=simulations, seed=rs)
    else:
        out = outcome_from_draws(draws, objective if objective else None, won=won, seed=rs)
    p_reach = out.p_reach if objective else None
    risk = risk_status(p_reach, on_track, at_risk)
    plan = _plan(planning, reporting, start, end, as_of, elapsed)
    total_pro = sum(p.prorated for p in plan)
    pace = (sum(p.done for p in plan) / total_pro) if total_pro > 0 else None
    results, conversion = _results(reporting, start, end, as_of, outcome_of)
    return RepForecast(
        rep=name, seniority=seniority, period_start=start, period_end=end, elapsed=elapsed,
        objective=objective, deals_objective=float(deals) if deals is not None else None,
        won=float(won), won_deals=won_deals, weighted_open=weighted_open, forecast=float(fc),
        attainment=(fc / objective) if objective else None, open_amount=open_amount,
        coverage=coverage(open_amount, objective, won), win_rate=None, required_coverage=None,
        p10=out.p10, p50=out.p50, p90=out.p90, p_reach=p_reach, method=out.method, risk=risk, pace=pace,
        lever=lever(risk, pace), plan=plan, results=results, conversion=conversion, proposals=props,
        draws=draws, open_by_stage=by_stage)


def _plan(planning: TableData | None, reporting: TableData | None, start: dt.date, end: dt.date, as_of: dt.date,
          elapsed: float) -> list[PlanLine]:
    """Planned vs done per action type for the Planning rows of the rep's period."""
    if _is_empty(planning):
        return []
    planned: dict[str, float] = {}
    windows: dict[str, tuple[dt.date, dt.date]] = {}
    for s, e, action, n in zip(planning["period_start"], planning["period_end"], planning["action"],
                               planning["planned"]):
        if s is None or e is None or action is None or n is None:
            continue
        if not (s <= as_of <= e or (s == start and e == end)):
            continue
        planned[action] = planned.get(action, 0.0) + float(n)
        windows[action] = (s, e)
    done: dict[str, int] = {a: 0 for a in planned}
    if not _is_empty(reporting):
        for d, action in zip(reporting["date"], reporting["action"]):
            if action in windows and d is not None:
                s, e = windows[action]
                if s <= d <= min(e, as_of):
                    done[action] += 1
    order = [it.key for it in contract.ACTIONS.items]
    out = []
    for a in sorted(planned, key=lambda x: (order.index(x) if x in order else 99, x)):
        pro = planned[a] * elapsed
        out.append(PlanLine(a, planned[a], pro, done[a], (done[a] / pro) if pro > 0 else None))
    return out


def _results(reporting: TableData | None, start: dt.date, end: dt.date, as_of: dt.date,
             outcome_of: Mapping[str, str]) -> tuple[dict, dict]:
    results: dict[str, dict[str, int]] = {}
    if _is_empty(reporting):
        return results, {}
    totals: dict[str, list[int]] = {}
    upto = min(end, as_of)
    # rows counted by (action, result, in the period up to the as-of date), in order of first appearance:
    # the same dicts, in the same order, as a loop over the rows
    counts = Counter((action, res, d is not None and start <= d <= upto)
                     for d, action, res in zip(reporting["date"], reporting["action"], reporting["result"]))
    for (action, res, inp), n in counts.items():
        if action is None or res is None:
            continue
        cls = outcome_of.get(res)
        t = totals.setdefault(action, [0, 0])
        t[1] += n
        t[0] += n * (cls == contract.POSITIVE)
        if inp:
            results.setdefault(action, {contract.POSITIVE: 0, contract.NEUTRAL: 0, contract.NEGATIVE: 0})
            results[action][cls] = results[action].get(cls, 0) + n
    conversion = {a: pos / n for a, (pos, n) in totals.items() if n}
    return results, conversion


def apply_history(rf: RepForecast, pipeline: TableData | None, learner: Any, as_of: dt.date, z: np.ndarray,
                  seed: int, on_track: float, at_risk: float) -> None:
    """The history-based forecast of a rep (salesxl.learn) from their open proposals (any decision
    date: one due after the period end may still be won before it): `expected` and `basis`; when the
    basis is history, P10/P50/P90, P(reach), risk and lever from its draws, the declared ones kept."""
    from salesxl.learn import OpenProposals, draw_totals
    amounts, probs, decisions, refs, stages, sent = [], [], [], [], [], []
    if not _is_empty(pipeline):
        for ref, amount, prob, stage, decision, status, sent_on in zip(
                pipeline["ref"], pipeline["amount"], pipeline["probability"], pipeline["stage"],
                pipeline["decision_date"], pipeline["status"], pipeline.column("sent_on")):
            if status == contract.OPEN and amount is not None and amount > 0 and prob is not None \
                    and decision is not None:
                amounts.append(amount)
                probs.append(prob)
                decisions.append(decision)
                refs.append(ref)
                stages.append(stage)
                sent.append(sent_on)
    pred = learner.predict(rf.rep, as_of, rf.period_end, OpenProposals(amounts, probs, decisions, refs, stages, sent))
    rf.basis, rf.basis_reason = pred.basis, pred.reason
    if pred.basis != HISTORY:
        rf.expected = rf.forecast
        return
    rf.history = pred
    rf.expected = pred.expected(rf.won)
    draws = draw_totals(rf.won, pred, z, np.random.default_rng([seed, 1]))
    out = outcome_from_draws(draws, rf.objective if rf.objective else None, won=rf.won, seed=seed)
    rf.p10_declared, rf.p50_declared, rf.p90_declared = rf.p10, rf.p50, rf.p90
    rf.p_reach_declared, rf.risk_declared = rf.p_reach, rf.risk
    rf.p10, rf.p50, rf.p90, rf.method = out.p10, out.p50, out.p90, out.method
    rf.p_reach = out.p_reach if rf.objective else None
    rf.risk = risk_status(rf.p_reach, on_track, at_risk)
    rf.history_draws = draws
    if rf.risk != rf.risk_declared:
        rf.lever = lever(rf.risk, rf.pace)
        over = [r for r in rf.reasons if r.over_represented]
        rf.training_topic = (over[0].reason if over else None) if (rf.lever == TRAINING or (rf.lever and over)) \
            else None


def team_history(reps: list[RepForecast], team: Mapping[str, Any], total: np.ndarray, on_track: float,
                 at_risk: float) -> dict:
    """The team's `expected` (Σ the reps' expected) and basis; when at least one rep's basis is
    history, the team's P10/P50/P90 and P(reach) come from the sum of the reps' draws on their own basis
    (history, else declared), the declared ones kept as p10_declared…"""
    expected = math.fsum(r.expected if r.expected is not None else r.forecast for r in reps)
    on_history = sum(1 for r in reps if r.basis == HISTORY)
    out: dict[str, Any] = {"expected": json_number(expected), "reps_on_history": on_history}
    if not on_history or total is None:
        reasons = Counter(r.basis_reason for r in reps)
        out.update(basis=DECLARED, basis_reason=reasons.most_common(1)[0][0] if reasons else "no_history")
        return out
    objective = team.get("objective")
    res = outcome_from_draws(total, objective)
    p_reach = res.p_reach if objective else None
    out.update(basis=HISTORY, p10_declared=team.get("p10"), p50_declared=team.get("p50"),
               p90_declared=team.get("p90"), p_reach_declared=team.get("p_reach"), risk_declared=team.get("risk"),
               p10=json_number(res.p10), p50=json_number(res.p50), p90=json_number(res.p90), p_reach=json_number(p_reach),
               risk=risk_status(p_reach, on_track, at_risk))
    out["risk_counts"] = {k: sum(1 for r in reps if r.risk == k) for k in (ON_TRACK, AT_RISK, OFF_TRACK)}
    return out


def team_by_group(reps: list[RepForecast], seed: int, on_track: float, at_risk: float,
                  totals: Mapping[str, np.ndarray], totals_basis: Mapping[str, np.ndarray]) -> dict:
    """The team's figures (SPEC §4 "Team"): per period-length group (`groups`, in the order weekly,
    monthly, quarterly, other lengths), each with the distribution of the sum of its reps' draws
    (`totals`, `totals_basis`: by group); overall, the sum of the reps' current periods (`scope`), with
    a distribution — P10/P50/P90, P(reach), risk — only when every rep is in one group."""
    groups = []
    for group in sorted(totals, key=_group_order):
        members = [r for r in reps if r.period_group == group]
        g = _team(members, seed, on_track, at_risk, totals[group])
        g.update(team_history(members, g, totals_basis[group], on_track, at_risk))
        del g["plan"]
        groups.append({"group": group, **g})
    if len(groups) == 1:
        (group,) = totals
        team = _team(reps, seed, on_track, at_risk, totals[group])
        team.update(team_history(reps, team, totals_basis[group], on_track, at_risk))
    else:
        team = _team(reps, seed, on_track, at_risk, None)
        team.update(team_history(reps, team, None, on_track, at_risk))
        if any(g.get("basis") == HISTORY for g in groups):
            team.update(basis=HISTORY)
            team.pop("basis_reason", None)
    team["scope"] = SUM_OF_CURRENT_PERIODS
    team["groups"] = groups
    return team


def _team(reps: list[RepForecast], seed, on_track, at_risk, total) -> dict:
    """The team's figures from the reps' forecasts; `total`: the sum of their draws (None: no
    distribution — without reps, or reps of several period-length groups)."""
    objective = sum(r.objective for r in reps if r.objective) if any(r.objective for r in reps) else None
    won = sum(r.won for r in reps)
    wo = sum(r.weighted_open for r in reps)
    open_amount = sum(r.open_amount for r in reps)
    fc = won + wo
    out = None
    if reps and total is not None:    # the team outcome adds the reps' draws (in rep order as drawn)
        out = outcome_from_draws(total, objective, won=won, seed=seed)
    plan: dict[str, dict] = {}
    for r in reps:
        for p in r.plan:
            t = plan.setdefault(p.action, {"action": p.action, "planned": 0.0, "prorated": 0.0, "done": 0})
            t["planned"] += p.planned
            t["prorated"] += p.prorated
            t["done"] += p.done
    for t in plan.values():
        t["pace"] = json_number(t["done"] / t["prorated"]) if t["prorated"] > 0 else None
        t["prorated"] = json_number(t["prorated"])
    p_reach = out.p_reach if (out is not None and objective) else None
    return {
        "reps": len(reps), "objective": json_number(objective), "won": json_number(won), "weighted_open": json_number(wo),
        "forecast": json_number(fc), "attainment": json_number(fc / objective) if objective else None,
        "coverage": json_number(coverage(open_amount, objective, won)),
        "p10": json_number(out.p10) if out else None, "p50": json_number(out.p50) if out else None,
        "p90": json_number(out.p90) if out else None, "p_reach": json_number(p_reach),
        "risk": risk_status(p_reach, on_track, at_risk),
        "plan": list(plan.values()),
        "risk_counts": {k: sum(1 for r in reps if r.risk == k) for k in (ON_TRACK, AT_RISK, OFF_TRACK)},
    }
