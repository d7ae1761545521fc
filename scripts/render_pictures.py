"""Render pictures of the filled template for the docs, with LibreOffice headless and pdftoppm.

    python scripts/render_pictures.py            # every picture into docs/img/
    python scripts/render_pictures.py pipeline_en

One function per picture: it fills a template, cuts the print area of the sheet to show to its filled rows,
converts the workbook to PDF with LibreOffice, one page per sheet sized to its print area (formulas
recalculated, so the Weighted column and the overdue highlighting show), and that sheet's page to PNG
(`pdftoppm -png -r 80`).
Add a picture by writing a function `picture_<name>(out_dir) -> Path` and listing it in PICTURES.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from salesxl import contract  # noqa: E402
from salesxl.io.template import build_template  # noqa: E402

OUT_DIR = ROOT / "docs" / "img"
DPI = 80
D = dt.date

RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""


# ---------------------------------------------------------------------------------------------
# Tools
def soffice() -> str:
    for cand in (os.environ.get("SALESXL_SOFFICE"), shutil.which("soffice"), "/usr/bin/soffice"):
        if cand and Path(cand).exists():
            return cand
    raise SystemExit("LibreOffice (soffice) not found")


def to_pdf(xlsx: Path, work: Path) -> Path:
    """LibreOffice headless, private profile that recalculates formulas on load."""
    profile = work / "lo_profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
    out = work / "pdf"
    # one page per sheet, sized to the printed range: a tight picture, no blank A4 around it
    fmt = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
    subprocess.run([soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                    "--norestore", "--calc", "--convert-to", fmt, "--outdir", str(out), str(xlsx)],
                   check=True, capture_output=True, timeout=240)
    pdf = out / (xlsx.stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice wrote no PDF for {xlsx}")
    return pdf


def to_png(pdf: Path, png: Path, page: int = 1, dpi: int = DPI) -> Path:
    """Page `page` (1-based) of `pdf` as `png`."""
    png.parent.mkdir(parents=True, exist_ok=True)
    stem = png.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True, capture_output=True, timeout=120)
    return png


def page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          check=True, capture_output=True, text=True, timeout=60).stdout


def show_only(wb, sheet: str, rows: int) -> int:
    """Print only the header and the `rows` filled rows of `sheet` (other sheets: their first cell);
    the 1-based page of `sheet` in a one-page-per-sheet PDF."""
    ws = wb[sheet]
    for other in wb.worksheets:
        if other.title != sheet:
            other.print_area = "A1"          # every sheet is a page of the PDF: keep the others tiny
    wb.active = wb.worksheets.index(ws)
    ws.print_area = f"A1:{ws.cell(row=1, column=ws.max_column).column_letter}{rows + 1}"
    return wb.worksheets.index(ws) + 1


def render(wb, sheet: str, rows: int, png: Path) -> Path:
    page = show_only(wb, sheet, rows)
    header = str(wb[sheet]["A1"].value)
    with tempfile.TemporaryDirectory(prefix="sxl_pictures_") as tmp:
        work = Path(tmp)
        xlsx = work / (png.stem + ".xlsx")
        wb.save(xlsx)
        pdf = to_pdf(xlsx, work)
        if header not in page_text(pdf, page):
            raise RuntimeError(f"page {page} of the PDF is not sheet {sheet!r}")
        return to_png(pdf, png, page)


# ---------------------------------------------------------------------------------------------
# Pictures
PIPELINE_EN = [
    # ref, rep, company, contact, description, amount, probability, stage, sent on, decision, status, loss
    ("Q-1041", "Claire Martin", "Alpha Industries", "J. Carter", "Maintenance contract 2026", 18500, 0.7,
     "Negotiation", D(2026, 10, 28), D(2026, 12, 12), "Open", None),
    ("Q-1042", "Claire Martin", "Beta Logistics", "M. Singh", "Fleet tracking, 40 trucks", 42000, 0.5,
     "Proposal sent", D(2026, 11, 6), D(2026, 12, 20), "Open", None),
    ("Q-1043", "Claire Martin", "Gamma Foods", "L. Moreau", "Cold-room sensors", 7800, 0.9,
     "Verbal agreement", D(2026, 11, 2), D(2026, 11, 25), "Open", None),
    ("Q-1044", "Hugo Bernard", "Delta Pharma", "A. Rossi", "Lab inventory software", 26300, 0.25,
     "Qualified", D(2026, 11, 18), D(2027, 1, 15), "Open", None),
    ("Q-1045", "Hugo Bernard", "Epsilon Retail", "S. Novak", "Store audit, 12 sites", 12400, 0.8,
     "Negotiation", D(2026, 10, 20), D(2026, 11, 28), "Won", None),
    ("Q-1046", "Hugo Bernard", "Zeta Energy", "P. Dubois", "Meter reading pilot", 9650, 0.4,
     "Proposal sent", D(2026, 10, 15), D(2026, 11, 20), "Lost", "Competitor"),
    ("Q-1047", "Claire Martin", "Eta Construction", "R. Haddad", "Site safety kits", 3200, 0.1,
     "Lead", None, D(2027, 1, 31), "Open", None),
    ("Q-1048", "Hugo Bernard", "Theta Bank", "K. Olsen", "Branch kiosks, phase 1", 55000, 0.5,
     "Proposal sent", D(2026, 11, 10), D(2026, 11, 27), "Open", None),
]
PIPELINE_AS_OF = D(2026, 12, 1)


def picture_pipeline_en(out_dir: Path = OUT_DIR) -> Path:
    """The English Pipeline sheet, filled: Weighted computed, overdue open proposals highlighted."""
    keys = [c.key for c in contract.PIPELINE.input_columns]
    rows = [dict(zip(keys, r)) for r in PIPELINE_EN]
    wb = build_template("en", rows={"pipeline": rows}, settings={"as_of": PIPELINE_AS_OF},
                        blank_rows={"pipeline": 0})      # the table ends with the data: a tight page
    return render(wb, contract.PIPELINE.sheet("en"), len(rows), out_dir / "template_pipeline_en.png")


REPORTING_FR = [
    # the handbook's example (dates typed as text, as in the book), then a few more lines of the week
    ("4 avril 2003", "Claire Martin", "Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition",
     "P-031", None, "Remise demandée sur le volume"),
    ("3 avril 2003", "Claire Martin", "Bêta", "Mr. Y", "Directeur", "Visite", "Pas de besoin", None,
     "Pas de besoin", None),
    ("3 avril 2003", "Claire Martin", "Gamma", "Mme. Z", "Ingénieur", "Visite", "Proposition", "P-032", None,
     "Envoyer la proposition avant le 10"),
    ("2 avril 2003", "Claire Martin", "Delta", "Mme. W", "Acheteuse", "Appel", "Rendez-vous obtenu", None, None,
     None),
    ("1er avril 2003", "Claire Martin", "Epsilon", "Mr. V", "Directeur achats", "Relance", "Perdu", "P-027",
     "Prix", "Concurrent 12 % moins cher"),
]


def picture_reporting_fr(out_dir: Path = OUT_DIR) -> Path:
    """The French Reporting sheet holding the handbook's example table."""
    keys = [c.key for c in contract.REPORTING.input_columns]
    rows = [dict(zip(keys, r)) for r in REPORTING_FR]
    wb = build_template("fr", rows={"reporting": rows}, settings={"as_of": D(2003, 4, 30)},
                        blank_rows={"reporting": 0})
    return render(wb, contract.REPORTING.sheet("fr"), len(rows), out_dir / "template_reporting_fr.png")


_PDFS: dict[str, Path] = {}
_WORK: list = []


def _demo_pdf(lang: str) -> Path:
    """The demo's team workbook in `lang` (its history included: the Forecast sheet shows the change since
    the previous collection), rendered to PDF by LibreOffice as it prints: A4 pages. Made once per
    language and run of this script."""
    from salesxl.demo import run_demo

    if lang in _PDFS:
        return _PDFS[lang]
    if not _WORK:
        _WORK.append(tempfile.TemporaryDirectory(prefix="sxl_pictures_"))
    work = Path(_WORK[0].name)

    res = run_demo(work / f"demo_{lang}", lang=lang, build_addin=False, workers=0)
    out = work / f"pdf_{lang}"
    profile = work / "lo_profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
    subprocess.run([soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                    "--norestore", "--calc", "--convert-to", "pdf", "--outdir", str(out), str(res.team_workbook)],
                   check=True, capture_output=True, timeout=600)
    _PDFS[lang] = out / (res.team_workbook.stem + ".pdf")
    return _PDFS[lang]


def _page_with_footer(pdf: Path, sheet: str) -> int:
    """The first page (1-based) whose footer names `sheet` (generated sheets print their name in the
    left footer and "page / pages" in the right one)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    for i, page in enumerate(text.split("\f"), start=1):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        if lines and re.match(re.escape(sheet) + r"\s+\d+ / \d+$", lines[-1]):
            return i
    raise RuntimeError(f"no page of {sheet!r} in {pdf}")


def _review_picture(lang: str, out_dir: Path, rep_index: int = 2) -> Path:
    """Page 1 of a review sheet of the demo team, as printed (A4 landscape), from the current code."""
    from salesxl.demo_data import build_timeline
    from salesxl.review import sheet_name

    pdf = _demo_pdf(lang)
    rep = build_timeline()[rep_index].name
    page = _page_with_footer(pdf, sheet_name(rep, lang))
    return to_png(pdf, out_dir / f"review_{lang}.png", page, dpi=70)


def picture_review_en(out_dir: Path = OUT_DIR) -> Path:
    """An English review sheet of the demo team."""
    return _review_picture("en", out_dir)


def picture_review_fr(out_dir: Path = OUT_DIR) -> Path:
    """A French review sheet (Entretien) of the demo team."""
    return _review_picture("fr", out_dir)


def picture_forecast_en(out_dir: Path = OUT_DIR) -> Path:
    """The team Forecast sheet (the manager's dashboard) of the demo's team workbook, as printed."""
    pdf = _demo_pdf("en")
    return to_png(pdf, out_dir / "forecast_en.png", _page_with_footer(pdf, "Forecast"), dpi=90)


PICTURES: dict[str, Callable[[Path], Path]] = {
    "forecast_en": picture_forecast_en,
    "pipeline_en": picture_pipeline_en,
    "reporting_fr": picture_reporting_fr,
    "review_en": picture_review_en,
    "review_fr": picture_review_fr,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*",
                    help=f"pictures to render (default: all): {', '.join(PICTURES)}")
    ap.add_argument("-o", "--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    names = args.names or list(PICTURES)
    unknown = [n for n in names if n not in PICTURES]
    if unknown:
        ap.error(f"unknown picture(s): {', '.join(unknown)}")
    for name in names:
        print(PICTURES[name](args.out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
