"""Generate N realistic rep workbooks (one rep each, ~650 rows across Reporting, Pipeline, Planning and
Objectives), French and English mixed, with a few messy values, as reps really send them.

    python benchmarks/make_workbooks.py --workbooks 200 [--out benchmarks/.workbooks]

Files are deterministic (seeded by their index) and cached: an existing file is not rewritten, so a
benchmark run at N=1000 reuses the 200 files of an earlier run. `make_workbooks(folder, n)` is also
used by the tests (with fewer rows).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

AS_OF = dt.date(2026, 6, 15)
DEFAULT_DIR = Path(__file__).resolve().parent / ".workbooks"

FIRST = ["Claire", "Julien", "Sophie", "Thomas", "Camille", "Nicolas", "Emma", "Lucas", "Léa", "Hugo",
         "Chloé", "Louis", "Manon", "Arthur", "Inès", "Paul", "Sarah", "Jules", "Alice", "Noah",
         "Grace", "Oliver", "Amelia", "Harry", "Isla", "Jack", "Ava", "George", "Mia", "Leo"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Smith", "Jones", "Taylor", "Brown", "Wilson",
        "Evans", "Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Clarke", "Lewis", "Young"]
COMPANIES = ["Alpha", "Bêta", "Gamma", "Delta Industries", "Epsilon SA", "Zeta Logistique", "Eta Conseil",
             "Thêta Santé", "Iota Bank", "Kappa Foods", "Lambda Énergie", "Mu Retail", "Nu Pharma", "Xi Tech",
             "Omicron BTP", "Pi Assurances", "Rho Transports", "Sigma Auto", "Tau Médias", "Upsilon Agro",
             "Phi Télécom", "Chi Textile", "Psi Chimie", "Oméga Immobilier", "Acme Ltd", "Globex", "Initech",
             "Umbrella plc", "Stark & Wayne", "Wonka Sweets", "Soylent Corp", "Tyrell Systems"]
CONTACTS = ["Mr. X", "Mme. Z", "M. Lambert", "Mme. Roux", "Ms. Grant", "Mr. Stone", "M. Faure", "Mme. Blanc"]
JOBS = {"en": ["Buyer", "Director", "Engineer", "CFO", "Purchasing manager"],
        "fr": ["Acheteur", "Directeur", "Ingénieur", "DAF", "Responsable achats"]}
ACTIONS = ["Call", "Visit", "Negotiation", "Proposal", "Follow-up", "Demo"]
RESULTS = ["Proposal", "Order", "Meeting set", "Revise proposal", "Follow up", "No need", "Lost"]
NEGATIVE = {"No need", "Lost"}
REASONS = ["Price", "Competitor", "No budget", "No need", "Timing", "Other"]
STAGES = [("Lead", 0.10), ("Qualified", 0.25), ("Proposal sent", 0.50), ("Negotiation", 0.70),
          ("Verbal agreement", 0.90)]
SENIORITY = ["junior", "confirmed", "senior"]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]


def rep_name(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST) + i * 7) % len(LAST)]}" + \
        (f" {i // (len(FIRST) * len(LAST)) + 1}" if i >= len(FIRST) * len(LAST) else "")


def periods(seniority: str, as_of: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The rep's periods up to the one holding `as_of` (and one after)."""
    if seniority == "junior":
        start = as_of - dt.timedelta(days=as_of.weekday()) - dt.timedelta(weeks=8)
        return [(start + dt.timedelta(weeks=k), start + dt.timedelta(weeks=k, days=6)) for k in range(10)]
    if seniority == "confirmed":
        out = []
        for m in range(1, 8):
            s = dt.date(as_of.year, m, 1)
            e = (dt.date(as_of.year + (m == 12), m % 12 + 1, 1)) - dt.timedelta(days=1)
            out.append((s, e))
        return out
    return [(dt.date(as_of.year, 1, 1), dt.date(as_of.year, 3, 31)),
            (dt.date(as_of.year, 4, 1), dt.date(as_of.year, 6, 30)),
            (dt.date(as_of.year, 7, 1), dt.date(as_of.year, 9, 30))]


def rep_rows(i: int, rows: int = 650, as_of: dt.date = AS_OF, messy: bool | None = None) -> tuple[str, dict]:
    """(lang, rows by table key) of rep workbook `i`: ~`rows` data rows in all."""
    rng = random.Random(1000 + i)
    lang = "fr" if i % 5 in (1, 3) else "en"
    rep = rep_name(i)
    seniority = SENIORITY[i % 3]
    messy = (i % 4 == 2) if messy is None else messy
    pers = periods(seniority, as_of)
    n_pipe = max(4, rows * 26 // 100)
    n_plan = len(pers) * len(ACTIONS)
    n_obj = len(pers)
    n_rep = max(4, rows - n_pipe - n_plan - n_obj)
    initials = "".join(w[0] for w in rep.split()[:2]).upper()
    first, last_end = pers[0][0], pers[-1][1]

    def day(lo: dt.date, hi: dt.date) -> dt.date:
        return lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))

    # pipeline: decided proposals before the as-of date, open ones around and after it
    pipeline = []
    for k in range(n_pipe):
        stage, p = rng.choice(STAGES)
        sent = day(first, as_of)
        decision = sent + dt.timedelta(days=rng.randint(7, 75))
        if decision > last_end:
            decision = last_end - dt.timedelta(days=rng.randint(0, 10))
        if decision < as_of - dt.timedelta(days=10):
            status = "Won" if rng.random() < p + 0.05 else "Lost"
        else:
            status = "Open"
        prob = round(min(0.95, max(0.05, p + rng.uniform(-0.1, 0.1))), 2)
        pipeline.append({
            "ref": f"{initials}-{i:04d}-{k + 1:03d}", "rep": rep, "company": rng.choice(COMPANIES),
            "contact": rng.choice(CONTACTS), "description": rng.choice(["Licences", "Maintenance", "Projet",
                                                                        "Formation", "Extension"]),
            "amount": round(rng.uniform(2_000, 60_000), -2), "probability": prob, "stage": stage,
            "sent_on": sent, "decision_date": decision, "status": status,
            "loss_reason": rng.choice(REASONS) if status == "Lost" else None,
        })
    refs = [p["ref"] for p in pipeline]
    reporting = []
    for k in range(n_rep):
        d = day(first, as_of)
        action = rng.choice(ACTIONS)
        result = rng.choice(RESULTS)
        reporting.append({
            "date": d, "rep": rep, "company": rng.choice(COMPANIES), "contact": rng.choice(CONTACTS),
            "job_title": rng.choice(JOBS[lang]), "action": action, "result": result,
            "proposal_ref": rng.choice(refs) if result in ("Proposal", "Order", "Revise proposal") else None,
            "reason": rng.choice(REASONS) if result in NEGATIVE else None,
            "comment": rng.choice([None, None, "RAS", "Client intéressé", "Call back next month",
                                   "Budget in Q3", "Rappeler en septembre"]),
        })
    reporting.sort(key=lambda r: r["date"])
    planning, objectives = [], []
    per_day = n_rep / max(1, (as_of - first).days + 1) / len(ACTIONS)     # actions per day and type
    for s, e in pers:
        days = (e - s).days + 1
        for a in ACTIONS:
            planning.append({"rep": rep, "period_start": s, "period_end": e, "action": a,
                             "planned": max(1, round(per_day * days * rng.uniform(0.75, 1.35)))})
        # objectives in line with what the pipeline can bring: some reps on track, some not
        in_period = [p["amount"] for p in pipeline if s <= p["decision_date"] <= e]
        target = sum(in_period) * rng.uniform(0.3, 0.8)
        objectives.append({"rep": rep, "period_start": s, "period_end": e,
                           "revenue_objective": max(5_000, round(target, -3)),
                           "deals_objective": max(1, round(len(in_period) * rng.uniform(0.3, 0.6)))})
    if messy:
        r = rng.randrange(len(pipeline))
        pipeline[r]["probability"] = f"{int(round(pipeline[r]['probability'] * 100))} %"
        r = rng.randrange(len(pipeline))
        a = pipeline[r]["amount"]
        pipeline[r]["amount"] = (f"{a:,.2f}".replace(",", "\u00a0").replace(".", ",") if lang == "fr"
                                 else f"{a:,.2f}")
        r = rng.randrange(len(reporting))
        d = reporting[r]["date"]
        reporting[r]["date"] = (f"{d.day} {FR_MONTHS[d.month - 1]} {d.year}" if lang == "fr"
                                else d.strftime("%d/%m/%Y"))
        reporting[rng.randrange(len(reporting))]["company"] = '=HYPERLINK("http://x.example","y")'
        reporting[rng.randrange(len(reporting))]["reason"] = "Budget gelé" if lang == "fr" else "Budget frozen"
        reporting[rng.randrange(len(reporting))]["date"] = "31/02/2026"
        reporting[rng.randrange(len(reporting))]["result"] = None
        pipeline[rng.randrange(len(pipeline))]["probability"] = 70
    tables = {"reps": [{"rep": rep, "seniority": seniority, "period_length": {"junior": "1w", "confirmed": "1m",
                                                                             "senior": "3m"}[seniority],
                        "manager": "Anne Lefort"}],
              "objectives": objectives, "planning": planning, "reporting": reporting, "pipeline": pipeline}
    return lang, tables


def write_rep_workbook(path, i: int, rows: int = 650, as_of: dt.date = AS_OF, messy: bool | None = None) -> Path:
    from salesxl.io.template import write_template
    lang, tables = rep_rows(i, rows, as_of, messy)
    return write_template(path, lang, rows=tables, settings={"as_of": as_of},
                          blank_rows={"reps": 1, "planning": 1, "objectives": 1, "reporting": 1, "pipeline": 1})


def _one(args) -> str:
    path, i, rows = args
    write_rep_workbook(path, i, rows)
    return str(path)


def make_workbooks(folder, n: int, rows: int = 650, workers: int | None = None) -> list[Path]:
    """Paths of rep workbooks 0..n-1 in `folder`, generating the missing ones (in parallel)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"rep_{i:05d}.xlsx" for i in range(n)]
    todo = [(p, i, rows) for i, p in enumerate(paths) if not p.exists()]
    if len(todo) > 4 and (workers or os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(workers) as ex:
            list(ex.map(_one, todo, chunksize=8))
    else:
        for t in todo:
            _one(t)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workbooks", "-n", type=int, default=200)
    ap.add_argument("--rows", type=int, default=650)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    out = a.out or DEFAULT_DIR / f"rows{a.rows}"
    paths = make_workbooks(out, a.workbooks, a.rows)
    print(f"{len(paths)} workbooks in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
