"""One declaration per issue code (salesxl/issue_codes.py): the guides, the messages and the derived
tables agree with it, and a code nobody raises is not declared."""
import re
import string
from pathlib import Path

import pytest

from salesxl import i18n
from salesxl.issue_codes import CODES, ERROR, MANAGER, REP, WARNING, IssueCode
from salesxl.issues import FILE_LEVEL_CODES, SEVERITY, effect, make_issue

ROOT = Path(__file__).resolve().parents[1]
CODE_TOKEN = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\b")


def guide_codes(text: str) -> set[str]:
    """The codes named in the first cell of the rows of a guide's tables whose header is Code."""
    found: set[str] = set()
    in_codes = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_codes = False
            continue
        first = line.strip("|").split("|")[0].strip()
        if first == "Code":
            in_codes = True
        elif in_codes and not set(first) <= set("-: "):
            found.update(t for t in CODE_TOKEN.findall(first) if len(t) > 1)
    return found


@pytest.mark.parametrize("guide", [REP, MANAGER])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_guide_documents_exactly_its_codes(guide, lang):
    found = guide_codes((ROOT / "docs" / f"guide_{guide}_{lang}.md").read_text(encoding="utf-8"))
    declared = {c.code for c in CODES.values() if c.guide == guide}
    assert not declared - found, f"declared for this guide but not in its table of codes: {declared - found}"
    assert not found - declared, f"in the guide's table but not declared for it: {found - declared}"


def test_the_guide_check_sees_a_missing_row():
    text = (ROOT / "docs" / "guide_rep_en.md").read_text(encoding="utf-8")
    assert "MERGED_CELL" in guide_codes(text)
    without = "\n".join(line for line in text.splitlines() if not line.startswith("| MERGED_CELL"))
    assert "MERGED_CELL" not in guide_codes(without)


@pytest.mark.parametrize("code", sorted(CODES))
def test_messages_in_both_languages_with_the_same_placeholders(code):
    declared = CODES[code]
    fields = [{name for _, name, _, _ in string.Formatter().parse(text) if name}
              for text in (declared.en, declared.fr)]
    assert declared.en and declared.fr and declared.en != declared.fr
    assert fields[0] == fields[1], f"{code}: placeholders differ between English and French"
    assert i18n.MESSAGES[code] == {"en": declared.en, "fr": declared.fr}


def test_derived_tables():
    assert dict(SEVERITY) == {code: c.severity for code, c in CODES.items()}
    assert FILE_LEVEL_CODES == {"FILE_EMPTY", "FILE_NOT_FOUND", "NOT_XLSX", "LEGACY_XLS", "ENCRYPTED",
                                "CORRUPT_ZIP", "NOT_SPREADSHEETML", "UNSUPPORTED_STRICT", "UNSAFE_XML",
                                "TOO_LARGE", "READ_TIMEOUT", "READ_FAILED"} | {
        code for code, c in CODES.items() if c.file_level}
    for code in FILE_LEVEL_CODES:
        assert SEVERITY[code] == ERROR and not CODES[code].marks_cell and CODES[code].guide == MANAGER


def test_effects_follow_the_declaration():
    assert effect(make_issue("BAD_DATE", row=3, column="Date", value="x"), "fr") == \
        "valeur exclue des calculs ; ligne conservée"
    unlisted_reason = make_issue("UNKNOWN_VALUE", severity=WARNING, column="Reason", value="Weather")
    assert effect(unlisted_reason, "en") == "kept as typed"
    assert effect(make_issue("UNKNOWN_VALUE", column="Action", value="Fax"), "en") == \
        "value left out of the computations; row kept"
    assert effect(make_issue("TOO_LARGE", file="a.xlsx", detail="1 GB"), "en") == "file not read"
    assert effect(make_issue("DUPLICATE_ROW", row=4, other_row=3), "en") == ""


def test_a_declaration_refuses_what_the_spec_forbids():
    with pytest.raises(ValueError):
        IssueCode("X_FILE", WARNING, en="x", fr="x (fr)", file_level=True)
    with pytest.raises(ValueError):
        IssueCode("X_CODE", "fatal", en="x", fr="x (fr)")
    with pytest.raises(ValueError):
        IssueCode("X_CODE", ERROR, en="x", fr="x (fr)", guide="nobody")


def test_every_declared_code_is_raised_somewhere():
    """A declared code that no module raises is dead: its declaration, messages and guide row go."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "salesxl").rglob("*.py")
                       if p.name != "issue_codes.py")
    quoted = set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", source))
    assert not set(CODES) - quoted, f"declared but never raised: {set(CODES) - quoted}"


def test_where_a_code_is_only_a_warning_is_declared():
    """An unlisted Reason is a warning (kept as typed), an unlisted Status an error: the declaration says
    so (warning_in), the rules read it; a declaration that cannot be a warning is refused."""
    unknown = CODES["UNKNOWN_VALUE"]
    assert (unknown.severity_in("reasons"), unknown.severity_in("statuses"), unknown.severity_in(None)) == \
        (WARNING, ERROR, ERROR)
    assert unknown.effect_text("en", WARNING) == "kept as typed"
    with pytest.raises(ValueError):
        IssueCode("X_CODE", WARNING, en="x", fr="x (fr)", warning_in=("reasons",))
    with pytest.raises(ValueError):
        IssueCode("X_CODE", ERROR, en="x", fr="x (fr)", warning_in=("reasons",))     # no effect as a warning


def test_the_issues_said_for_every_table_are_the_declared_outside_ones():
    from salesxl.io.read_xlsx import outside_issues
    from salesxl.issue_codes import OUTSIDE_TABLE_CODES
    from salesxl.issues import make_issue
    every = [make_issue(code, lang="en", file="f.xlsx", where="Rows 2–3 below", table="t") for code in CODES]
    assert {i.code for i in outside_issues(every)} == OUTSIDE_TABLE_CODES == \
        {c.code for c in CODES.values() if c.outside_table}
    assert OUTSIDE_TABLE_CODES >= {"ROWS_OUTSIDE_TABLE", "ROWS_AFTER_EMPTY_ROW", "COLUMNS_NOT_READ"}
