"""The checked-in templates in workbook_template/ must be what the code generates today.

Compared like XlsxWriter's test helper does: unzip both files, compare the member lists, then each
part's text after blanking the volatile bits (docProps/core.xml timestamps; calcChain is ignored).
When this fails after an intended template change, regenerate the golden files:

    salesxl template --lang en -o workbook_template/salesxl_template_en.xlsx
    salesxl template --lang fr -o workbook_template/salesxl_template_fr.xlsx
"""
from __future__ import annotations

import difflib
import re
import zipfile
from pathlib import Path

import pytest

from salesxl.io.template import write_template

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = {lang: ROOT / "workbook_template" / f"salesxl_template_{lang}.xlsx" for lang in ("en", "fr")}
IGNORED = {"xl/calcChain.xml"}
_VOLATILE = (
    (re.compile(r"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>"), r"<dcterms:\1\2></dcterms:\1>"),
    (re.compile(r"<cp:lastPrinted>[^<]*</cp:lastPrinted>"), "<cp:lastPrinted></cp:lastPrinted>"),
)


def parts(path: Path) -> dict[str, str]:
    """Member name -> text with the volatile parts blanked."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name in IGNORED:
                continue
            data = z.read(name)
            if name.endswith((".xml", ".rels", ".vml")):
                text = data.decode("utf-8")
                if name == "docProps/core.xml":
                    for rx, repl in _VOLATILE:
                        text = rx.sub(repl, text)
                out[name] = text
            else:
                out[name] = data.hex()
    return out


def _diff(a: str, b: str, name: str) -> str:
    split = lambda s: re.sub(r">\s*<", ">\n<", s).splitlines()      # noqa: E731 - one element per line
    return "\n".join(list(difflib.unified_diff(split(a), split(b), f"golden/{name}", f"generated/{name}",
                                               lineterm=""))[:40])


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_checked_in_template_is_current(tmp_path, lang):
    golden = GOLDEN[lang]
    assert golden.exists(), f"missing {golden}: salesxl template --lang {lang} -o {golden.relative_to(ROOT)}"
    fresh = write_template(tmp_path / golden.name, lang)
    want, got = parts(golden), parts(fresh)
    assert sorted(want) == sorted(got), "member lists differ: regenerate the golden templates"
    stale = [name for name in want if want[name] != got[name]]
    assert not stale, (f"stale golden template {golden.name} (parts {stale}); regenerate with "
                       f"`salesxl template --lang {lang} -o {golden.relative_to(ROOT)}`\n"
                       + _diff(want[stale[0]], got[stale[0]], stale[0]))


def test_generation_is_deterministic(tmp_path):
    a = parts(write_template(tmp_path / "a.xlsx", "fr"))
    b = parts(write_template(tmp_path / "b.xlsx", "fr"))
    assert a == b


def _rewrite(src: Path, dst: Path, name: str, fn) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == name:
                data = fn(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    return dst


def test_comparison_detects_a_change_and_ignores_timestamps(tmp_path):
    """The helper is not blind (one changed string shows up) and not fussy (timestamps are ignored)."""
    path = write_template(tmp_path / "x.xlsx", "en")
    changed = _rewrite(path, tmp_path / "y.xlsx", "xl/worksheets/sheet2.xml", lambda t: t.replace(">EUR<", ">USD<"))
    assert parts(path) != parts(changed)
    later = _rewrite(path, tmp_path / "z.xlsx", "docProps/core.xml",
                     lambda t: re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z", "2031-05-06T07:08:09Z", t))
    assert zipfile.ZipFile(later).read("docProps/core.xml") != zipfile.ZipFile(path).read("docProps/core.xml")
    assert parts(path) == parts(later)
