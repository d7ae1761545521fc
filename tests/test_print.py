"""What a manager prints: the demo's team workbook rendered to PDF by LibreOffice and read back with
pdftotext. Page 1 of every review holds the talking points; a rep with 200 open proposals gets a
review of at most 2 pages; the Forecast and Issues sheets are one page wide; every hyperlink of the
workbook points at a sheet that exists.

Pages are told apart by their footer: every generated sheet prints "<sheet name> … <page> / <pages>".
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from salesxl.consolidate import consolidate
from salesxl.demo import run_demo
from salesxl.demo_data import DEMO_AS_OF

pytestmark = pytest.mark.libreoffice

BIG = "Bruno Grandcarnet"
BIG_OPEN = 200


def pdf_pages(pdf: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=120).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def footer(page: str) -> str:
    lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def pages_of(pages: list[str], sheet: str) -> list[str]:
    """The pages whose footer names `sheet` (left footer), in order."""
    pat = re.compile(re.escape(sheet) + r"\s+\d+ / \d+$")
    return [p for p in pages if pat.match(footer(p))]


def squash(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def demo_pdf(tmp_path_factory, lo_export):
    out = tmp_path_factory.mktemp("print") / "demo"
    res = run_demo(out, build_addin=False, workers=0)
    pdf = lo_export(res.team_workbook, out / "pdf", "pdf")
    return res.team_workbook, pdf_pages(pdf)


@pytest.fixture(scope="module")
def big_pdf(tmp_path_factory, lo_export):
    """A team of one rep with 200 open proposals in their period (and the demo's other lists)."""
    from salesxl.io.template import write_template
    d = tmp_path_factory.mktemp("print_big")
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    rows = {
        "reps": [{"rep": BIG, "seniority": "senior", "period_length": "1m", "manager": "Nadia Roche"}],
        "objectives": [{"rep": BIG, "period_start": start, "period_end": end, "revenue_objective": 900_000}],
        "planning": [{"rep": BIG, "period_start": start, "period_end": end, "action": "Call", "planned": 80}],
        "reporting": [{"date": dt.date(2026, 11, 2 + i % 15), "rep": BIG, "company": f"Client {i}",
                       "action": "Call", "result": "Follow up"} for i in range(30)],
        "pipeline": [{"ref": f"B{i:04d}", "rep": BIG, "company": f"Société numéro {i}", "amount": 1_000 + 37 * i,
                      "probability": 0.1 + (i % 8) / 10, "stage": "Proposal sent",
                      "sent_on": dt.date(2026, 10, 1), "decision_date": dt.date(2026, 11, 5 + i % 25),
                      "status": "Open"} for i in range(BIG_OPEN)],
    }
    src = write_template(d / "big.xlsx", "en", rows=rows, settings={"as_of": DEMO_AS_OF})
    team = d / "out" / "team.xlsx"
    consolidate([src], team, as_of=DEMO_AS_OF, lang="en", history=False, workers=0)
    pdf = lo_export(team, d / "pdf", "pdf")
    return team, pdf_pages(pdf)


def test_page_one_of_every_review_holds_the_talking_points(demo_pdf):
    team, pages = demo_pdf
    wb = openpyxl.load_workbook(team)
    reviews = [n for n in wb.sheetnames if n.startswith("Review – ")]
    assert len(reviews) == 6
    for name in reviews:
        mine = pages_of(pages, name)
        assert 1 <= len(mine) <= 2, (name, len(mine))
        first = squash(mine[0])
        assert "Talking points" in first
        points = [c.value for row in wb[name].iter_rows(max_col=1) for c in row
                  if isinstance(c.value, str) and c.value.startswith("• ")]
        assert 3 <= len(points) <= 6
        for p in points:                     # each point starts on page 1 (its first words)
            assert squash(p[2:])[:30] in first, (name, p)
        # and the plan vs done, before the page break; the proposals after it
        assert "Plan vs done by action type" in first
        if len(mine) == 2:
            assert "Open proposals by weighted amount" in squash(mine[1])


def test_a_review_with_200_open_proposals_is_at_most_two_pages(big_pdf):
    team, pages = big_pdf
    mine = pages_of(pages, f"Review – {BIG}")
    assert 1 <= len(mine) <= 2
    text = squash(" ".join(mine))
    assert "Talking points" in squash(mine[0])
    listed = set(re.findall(r"\bB\d{4}\b", text))
    assert 3 <= len(listed) <= 15 + 3                   # the top 15 (and the proposals to chase)
    more = re.search(r"and (\d+) more: ([\d,]+) in total, ([\d,]+) weighted \(see Pipeline\)", text)
    assert more and int(more.group(1)) == BIG_OPEN - 15


def test_forecast_and_issues_sheets_are_one_page_wide(demo_pdf):
    team, pages = demo_pdf
    fc = pages_of(pages, "Forecast")
    assert len(fc) == 1                                   # the demo's six reps: one page
    text = squash(fc[0])
    for rep in ("Claire Martin", "Hugo Bernard", "Sophie Laurent"):
        assert rep in text
    # the last column group (pipeline movement) is on the same page as the reps' names
    assert "Pipeline movement since" in text and "Amount changed" in text
    issues = pages_of(pages, "Issues")
    assert issues
    for page in issues:                                   # every page holds all the columns
        head = squash(page)
        assert "Severity" in head and "Effect" in head    # print titles repeat the header
    # errors first, then warnings
    sev = [w for page in issues for w in re.findall(r"^\s*(error|warning)\b", page, re.M)]
    assert sev and sev == sorted(sev, key=lambda s: s != "error") and "error" in sev


def test_every_hyperlink_points_at_a_sheet_that_exists(demo_pdf):
    team, _ = demo_pdf
    wb = openpyxl.load_workbook(team)
    links = [(ws.title, c.hyperlink.location) for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if c.hyperlink is not None]
    reviews = [n for n in wb.sheetnames if n.startswith("Review – ")]
    assert len(links) >= 2 * len(reviews)                 # each rep's name and each way back
    for sheet, location in links:
        target = location.split("!")[0].strip("'").replace("''", "'")
        assert target in wb.sheetnames, (sheet, location)
