"""A deterministic sample sales team, as a timeline from which any as-of snapshot can be taken.

Pure data (no file I/O): the demo, the tests and the benchmarks write it with the template builder.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from salesxl import contract
from salesxl.values import add_period, parse_period_length

DEMO_AS_OF = dt.date(2026, 11, 20)
DEMO_SEED = 2003

# (name, seniority, language, skill = chance a proposal is won, effort = share of the plan done,
#  ambition = objective per week in average deals)
REPS = (
    ("Claire Martin", "junior", "fr", 0.30, 1.05, 1.8),
    ("Hugo Bernard", "junior", "fr", 0.22, 0.55, 2.6),
    ("Emma Wilson", "confirmed", "en", 0.35, 0.95, 2.4),
    ("Lucas Petit", "confirmed", "fr", 0.18, 1.10, 2.4),
    ("Oliver Smith", "senior", "en", 0.40, 0.80, 2.2),
    ("Sophie Laurent", "senior", "fr", 0.33, 1.00, 2.0),
)
MANAGER = "Nadia Roche"
COMPANIES_FR = ("Alpha", "Bêta", "Gamma", "Delta Industrie", "Épsilon Conseil", "Zêta Logistique",
                "Thêta Santé", "Iota Bâtiment", "Kappa Énergie", "Lambda Distribution", "Mu Agro",
                "Nu Télécom", "Omicron Textile", "Pi Automobile", "Rhô Pharma", "Sigma Chimie")
COMPANIES_EN = ("Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Wingtip Foods",
                "Adventure Works", "Litware Systems", "Proseware", "Lucerne Publishing", "Margie Travel",
                "Blue Yonder Air", "Coho Winery", "Humongous Insurance", "Woodgrove Bank")
CONTACTS_FR = (("Mr. X", "Acheteur"), ("Mr. Y", "Directeur"), ("Mme. Z", "Ingénieur"),
               ("Mme Dubois", "Directrice achats"), ("M. Leroy", "Responsable technique"),
               ("Mme Moreau", "DAF"), ("M. Girard", "Gérant"))
CONTACTS_EN = (("Ms Carter", "Procurement manager"), ("Mr Hughes", "CFO"), ("Ms Patel", "Head of IT"),
               ("Mr Evans", "Operations director"), ("Ms Clarke", "Buyer"))
PLAN_PER_WEEK = {"Call": 20, "Visit": 5, "Negotiation": 2, "Proposal": 2, "Follow-up": 6, "Demo": 1}
REASON_WEIGHTS = {"Price": 4, "Competitor": 3, "No budget": 2, "No need": 3, "Timing": 2, "Other": 1}
# the long timeline of the demo's history (build_timeline(long=True)): how far back it starts, how
# optimistic each rep's declared probabilities are (added to the truth), and how a pushed deal stalls
LONG_BACK_DAYS = 400
OPTIMISM = {"Hugo Bernard": 0.25, "Oliver Smith": 0.25, "Emma Wilson": 0.15, "Lucas Petit": -0.05}
STALL = 0.6
LONG_OBJECTIVE = 0.7        # objectives set from what the reps really win (their deals stall)
HANDBOOK_ROWS = (   # SPEC §1, exactly as the handbook prints them (dates moved into the demo period)
    ("Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition"),
    ("Bêta", "Mr. Y", "Directeur", "Visite", "Pas de besoin"),
    ("Gamma", "Mme. Z", "Ingénieur", "Visite", "Proposition"),
)


@dataclass
class Deal:
    ref: str
    rep: str
    company: str
    contact: str
    description: str
    amount: float
    created: dt.date
    decisions: list[tuple[dt.date, dt.date]]      # (known from, decision date)
    closed_on: dt.date | None
    won: bool
    loss_reason: str | None
    probabilities: list[tuple[dt.date, float, str]]   # (from, probability, stage)

    def decision_at(self, day: dt.date) -> dt.date:
        return [d for since, d in self.decisions if since <= day][-1]

    def estimate_at(self, day: dt.date) -> tuple[float, str]:
        p = [x for x in self.probabilities if x[0] <= day]
        return (p[-1][1], p[-1][2]) if p else self.probabilities[0][1:]


@dataclass
class RepTimeline:
    name: str
    seniority: str
    lang: str
    periods: list[tuple[dt.date, dt.date, float]]
    actions: list[tuple[dt.date, str, str, str, str, str, str | None, str | None]] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)


def _periods(seniority: str, as_of: dt.date, back_days: int = 130) -> list[tuple[dt.date, dt.date]]:
    length = parse_period_length(contract.DEFAULT_PERIOD[seniority])
    if length[0] == "weeks":
        start = as_of - dt.timedelta(days=as_of.weekday()) - dt.timedelta(weeks=back_days // 7)
    elif length[1] == 3:
        q = (as_of.month - 1) // 3 * 3 + 1
        start = dt.date(as_of.year, q, 1)
        for _ in range(max(2, back_days // 91 - 1)):
            start = dt.date(start.year - (start.month <= 3), (start.month - 4) % 12 + 1, 1)
    else:
        start = dt.date(as_of.year, as_of.month, 1)
        for _ in range(max(4, back_days // 30 - 1)):
            start = dt.date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    out = []
    while start <= as_of + dt.timedelta(days=1):
        end = add_period(start, length)
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


def build_timeline(as_of: dt.date = DEMO_AS_OF, seed: int = DEMO_SEED, *, long: bool = False) -> list[RepTimeline]:
    """Every rep's periods, actions and deals up to `as_of` (deals may close after it).

    `long`: the demo's history — a year and more of periods, reps whose declared probabilities are
    optimistic (OPTIMISM), deals pushed up to three times that stall (each push multiplies their chance
    by STALL), and a decided proposal's decision date set to the day it was decided."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1) if long else None    # the long timeline's own draws
    team = []
    n_ref = 0
    for name, seniority, lang, skill, effort, ambition in REPS:
        periods = _periods(seniority, as_of, LONG_BACK_DAYS if long else 130)
        companies = COMPANIES_FR if lang == "fr" else COMPANIES_EN
        contacts = CONTACTS_FR if lang == "fr" else CONTACTS_EN
        rt = RepTimeline(name, seniority, lang, [])
        for start, end in periods:
            weeks = ((end - start).days + 1) / 7
            avg_deal = {"junior": 6000, "confirmed": 15000, "senior": 40000}[seniority]
            objective = round(avg_deal * weeks * ambition * (LONG_OBJECTIVE if long else 1) / 1000) * 1000
            rt.periods.append((start, end, float(objective)))
            day = start
            while day <= min(end, as_of):
                if day.weekday() < 5:
                    for action, per_week in PLAN_PER_WEEK.items():
                        expected = per_week / 5 * effort * rng.uniform(0.6, 1.4)
                        for _ in range(int(expected) + (rng.random() < expected % 1)):
                            company = rng.choice(companies)
                            contact, title = rng.choice(contacts)
                            r = rng.random()
                            if action in ("Proposal", "Negotiation", "Demo") and r < 0.55 + skill / 2:
                                result = "Proposal"
                            elif r < 0.15 + skill / 3:
                                result = "Meeting set"
                            elif r < 0.55:
                                result = "Follow up"
                            elif r < 0.7:
                                result = "Revise proposal"
                            else:
                                result = rng.choice(("No need", "Lost"))
                            reason = None
                            if result in ("No need", "Lost"):
                                weights = dict(REASON_WEIGHTS)
                                if name == "Lucas Petit":
                                    weights["Price"] = 14          # a training topic to find
                                reason = rng.choices(list(weights), list(weights.values()))[0]
                            ref = None
                            if result == "Proposal":
                                n_ref += 1
                                ref = f"P{n_ref:04d}"
                                rt.deals.append(_deal(rng, ref, name, company, contact, day, avg_deal, skill,
                                                      as_of, extra))
                            rt.actions.append((day, name, company, contact, title, action, result, ref, reason))
                day += dt.timedelta(days=1)
        team.append(rt)
    return team


def _deal(rng, ref, rep, company, contact, day, avg_deal, skill, as_of, extra=None) -> Deal:
    amount = round(avg_deal * rng.lognormvariate(0, 0.5) / 50) * 50
    decision = day + dt.timedelta(days=rng.randint(10, 50))
    decisions = [(day, decision)]
    won = rng.random() < skill + 0.15
    # honest but noisy estimates: optimistic reps overstate
    p0 = min(0.9, max(0.1, round((skill + 0.15 + rng.uniform(-0.2, 0.3)) * 10) / 10))
    probabilities = [(day, p0, "Proposal sent")]
    close = decision + dt.timedelta(days=rng.choice((-5, 0, 3, 8, 20, 40)))
    if rng.random() < 0.3:                                   # slipping decision date
        push_day = decision - dt.timedelta(days=2)
        decision = decision + dt.timedelta(days=rng.randint(10, 30))
        decisions.append((push_day, decision))
        close = max(close, decision + dt.timedelta(days=rng.choice((0, 10))))
    mid = day + (close - day) / 2
    probabilities.append((mid, min(0.95, max(0.05, round((p0 + (0.2 if won else -0.1)) * 10) / 10)),
                          "Negotiation"))
    reason = None if won else rng.choices(list(REASON_WEIGHTS), list(REASON_WEIGHTS.values()))[0]
    if extra is not None:
        # the long timeline: optimism, repeated pushes that stall, decided on the decision date shown
        bias = OPTIMISM.get(rep, 0.0)
        probabilities = [(d, min(0.95, max(0.05, round((p + bias) * 10) / 10)), st) for d, p, st in probabilities]
        chance = skill + 0.15
        decision = decisions[-1][1]
        for _ in range(3):
            if extra.random() >= 0.35:
                break
            push_day = decision + dt.timedelta(days=extra.randint(-5, 10))     # (some shown late: overdue)
            decision = decision + dt.timedelta(days=extra.randint(14, 40))
            decisions.append((push_day, decision))
            chance *= STALL
        close = decision
        won = extra.random() < chance
        if won:
            reason = None
        elif reason is None:
            reason = extra.choices(list(REASON_WEIGHTS), list(REASON_WEIGHTS.values()))[0]
        probabilities = [x for x in probabilities if x[0] < close] or probabilities[:1]
        decisions.append((close, close))
    return Deal(ref, rep, company, contact, "", float(amount), day, decisions, close, won, reason, probabilities)


def snapshot(team: list[RepTimeline], rep: RepTimeline, day: dt.date,
             since: dt.date | None = None) -> dict[str, list[dict]]:
    """The rows rep `rep` would have typed in their workbook by `day` (the view of a rep's file);
    `since`: rows of earlier periods, actions and proposals closed before it are archived (left out)."""
    rows: dict[str, list[dict]] = {"reps": [{"rep": rep.name, "seniority": rep.seniority,
                                            "period_length": contract.DEFAULT_PERIOD[rep.seniority],
                                            "manager": MANAGER}]}
    since = since or dt.date.min
    rows["objectives"] = [{"rep": rep.name, "period_start": s, "period_end": e, "revenue_objective": o}
                          for s, e, o in rep.periods if s <= day and e >= since]
    rows["planning"] = []
    for s, e, _ in rep.periods:
        if s > day or e < since:
            continue
        weeks = ((e - s).days + 1) / 7
        for action, per_week in PLAN_PER_WEEK.items():
            rows["planning"].append({"rep": rep.name, "period_start": s, "period_end": e, "action": action,
                                     "planned": int(round(per_week * weeks))})
    rows["reporting"] = [
        {"date": d, "rep": r, "company": c, "contact": ct, "job_title": jt, "action": a, "result": res,
         "proposal_ref": ref, "reason": reason}
        for d, r, c, ct, jt, a, res, ref, reason in rep.actions if since <= d <= day]
    rows["pipeline"] = []
    for deal in rep.deals:
        if deal.created > day:
            continue
        closed = deal.closed_on is not None and deal.closed_on <= day
        if closed and deal.closed_on < since:
            continue
        p, stage = deal.estimate_at(min(day, (deal.closed_on or day) - dt.timedelta(days=1)))
        rows["pipeline"].append({
            "ref": deal.ref, "rep": deal.rep, "company": deal.company, "contact": deal.contact,
            "description": f"{'Offre' if rep.lang == 'fr' else 'Offer'} {deal.ref}", "amount": deal.amount,
            "probability": p, "stage": stage, "sent_on": deal.created,
            "decision_date": deal.decision_at(day) if not closed else deal.decisions[-1][1],
            "status": ("Won" if deal.won else "Lost") if closed else "Open",
            "loss_reason": deal.loss_reason if closed and not deal.won else None})
    return rows


def with_mistakes(rows: dict[str, list[dict]], rep: RepTimeline, day: dt.date) -> dict[str, list[dict]]:
    """A few honest mistakes, as reps make them: the checks must find each one."""
    rows = {k: [dict(r) for r in v] for k, v in rows.items()}
    rep_rows, pipe = rows["reporting"], rows["pipeline"]
    if rep.name == "Claire Martin":
        # the handbook's three rows, typed by a junior in the current week
        for i, (c, ct, jt, a, res) in enumerate(HANDBOOK_ROWS):
            rep_rows.append({"date": day - dt.timedelta(days=i % 2), "rep": rep.name, "company": c,
                             "contact": ct, "job_title": jt, "action": a, "result": res})
        if pipe:
            pipe[-1]["probability"] = "70 %"                   # PROBABILITY_NORMALISED
    if rep.name == "Hugo Bernard" and rep_rows:
        rep_rows.append(dict(rep_rows[-1]))                    # DUPLICATE_ROW
        rep_rows.append({**rep_rows[-1], "date": "31/02/2026"})  # BAD_DATE
    if rep.name == "Emma Wilson" and pipe:
        pipe[0]["amount"] = "12 500,00"                        # NUMBER_NORMALISED
        rep_rows.append({"date": day, "rep": rep.name, "company": '=HYPERLINK("http://example.com","Click")',
                         "action": "Call", "result": "Follow up"})   # stays text
    if rep.name == "Lucas Petit" and rep_rows:
        rep_rows.append({"date": day, "rep": rep.name, "company": "", "action": "Email", "result": "Follow up"})
    if rep.name == "Oliver Smith" and pipe:
        pipe[-1]["reason"] = None
        pipe[-1]["loss_reason"] = "Too expensive"              # an unlisted reason: a warning
    return rows
