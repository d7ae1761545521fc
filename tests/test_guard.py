"""The bad-file guard (salesxl.io.guard) against the generated hostile-file corpus."""
from __future__ import annotations

import atexit
import dataclasses
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesxl.i18n import MESSAGES
from salesxl.issues import FILE_LEVEL_CODES, SEVERITY
from salesxl.io.guard import DEFAULT_LIMITS, Limits, ensure_defusedxml, guard_package, inspect_file

ROOT = Path(__file__).resolve().parents[1]


def _load_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "tests" / "corpus" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_corpus = _load_corpus_module()

# The corpus is generated once per test process, at collection, so that every file is its own test.
CORPUS = Path(tempfile.mkdtemp(prefix="salesxl-guard-corpus-"))
atexit.register(shutil.rmtree, CORPUS, True)
EXPECTED = make_corpus.build_corpus(CORPUS)
BAD = sorted(n for n, c in EXPECTED.items() if c is not None)
GOOD = sorted(n for n, c in EXPECTED.items() if c is None)
GUARD_CODES = {"FILE_NOT_FOUND", "FILE_EMPTY", "NOT_XLSX", "LEGACY_XLS", "ENCRYPTED", "CORRUPT_ZIP",
               "NOT_SPREADSHEETML", "UNSUPPORTED_STRICT", "UNSAFE_XML", "TOO_LARGE"}


def guard(path, **kw):
    """The guard's verdict on a file: None, or its one file-level Issue."""
    issue, _ = guard_package(path, **kw)
    return issue


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------
# the corpus itself


def test_corpus_is_big_enough_and_small():
    assert len(EXPECTED) >= 30
    assert set(EXPECTED.values()) == GUARD_CODES | {None}      # every guard code is exercised
    assert len(GOOD) >= 4
    total = sum(p.stat().st_size for p in CORPUS.iterdir() if p.is_file() and not p.is_symlink())
    assert total < 5 * 1024 * 1024


def test_corpus_is_deterministic(tmp_path):
    again = make_corpus.build_corpus(tmp_path)
    assert again == EXPECTED
    for name in EXPECTED:
        assert _sha256(tmp_path / name) == _sha256(CORPUS / name), name


@pytest.mark.parametrize("name", GOOD)
def test_good_files_really_open_with_openpyxl(name):
    ensure_defusedxml()
    import openpyxl

    wb = openpyxl.load_workbook(CORPUS / name, read_only=True)
    try:
        rows = sum(1 for ws in wb.worksheets for _ in ws.iter_rows(values_only=True))
    finally:
        wb.close()
    assert rows > 0


def test_cfb_writer_produces_real_ole_files():
    olefile = pytest.importorskip("olefile")
    for name, stream in (("legacy_biff8.xls", "Workbook"), ("legacy_biff5_renamed.xlsx", "Book"),
                         ("encrypted_cfb_v3.xlsx", "EncryptedPackage"),
                         ("encrypted_cfb_v4.xlsx", "EncryptionInfo"), ("word97_renamed.xlsx", "WordDocument")):
        with olefile.OleFileIO(str(CORPUS / name)) as ole:
            assert ole.exists(stream), name


def test_encrypted_workbook_is_really_encrypted():
    if "encrypted_agile.xlsx" not in EXPECTED:
        pytest.skip("msoffcrypto-tool not installed")
    import io

    import msoffcrypto

    with open(CORPUS / "encrypted_agile.xlsx", "rb") as f:
        office = msoffcrypto.OfficeFile(f)
        assert office.is_encrypted()
        office.load_key(password="secret")
        plain = io.BytesIO()
        office.decrypt(plain)
    out = CORPUS.parent / (CORPUS.name + "-decrypted.xlsx")
    out.write_bytes(plain.getvalue())
    try:
        assert guard(out) is None
    finally:
        out.unlink()


# --------------------------------------------------------------------------------------------------
# the guard on the corpus


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_guard_gives_expected_code(name):
    path = CORPUS / name
    before = _sha256(path)
    mtime = path.stat().st_mtime_ns if path.is_file() else None
    issue = guard(path)
    assert _sha256(path) == before                              # never touches the source file
    assert (path.stat().st_mtime_ns if path.is_file() else None) == mtime
    expected = EXPECTED[name]
    if expected is None:
        assert issue is None, issue and issue.message
        return
    assert issue is not None, f"{name}: expected {expected}, the guard let it through"
    assert issue.code == expected, f"{name}: {issue.code} ({issue.message})"
    assert issue.code in FILE_LEVEL_CODES
    assert issue.severity == SEVERITY[issue.code] == "error"
    assert issue.file == str(path)
    assert issue.sheet is None and issue.row is None and issue.column is None
    assert issue.message and "{" not in issue.message
    code, detail = inspect_file(path)
    assert code == expected and detail and not detail.startswith("unexpected")
    if "{detail}" in MESSAGES[code]["en"]:
        assert detail in issue.message


@pytest.mark.parametrize("name", BAD)
def test_messages_in_english_and_french(name):
    en = guard(CORPUS / name, lang="en")
    fr = guard(CORPUS / name, lang="fr")
    assert en.code == fr.code
    assert en.message and fr.message and en.message != fr.message
    assert "{" not in fr.message
    assert fr.to_dict()["message"] == fr.message


def test_every_guard_code_has_both_languages():
    for code in GUARD_CODES:
        assert MESSAGES[code]["en"] and MESSAGES[code]["fr"]
        assert SEVERITY[code] == "error"


# --------------------------------------------------------------------------------------------------
# limits


def test_limits_are_frozen_with_sensible_defaults():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_file_bytes = 1  # type: ignore[misc]
    assert DEFAULT_LIMITS.max_file_bytes >= 100 * 1024 * 1024
    assert DEFAULT_LIMITS.max_ratio >= 150          # shared strings reach ~100:1
    assert DEFAULT_LIMITS.test_decompress


def test_file_over_max_size():
    issue = guard(CORPUS / "good_openpyxl.xlsx", limits=Limits(max_file_bytes=1000))
    assert issue.code == "TOO_LARGE" and "file size" in issue.message


def test_too_many_members_with_override():
    assert inspect_file(CORPUS / "good_openpyxl.xlsx", Limits(max_members=5))[0] == "TOO_LARGE"


def test_total_uncompressed_with_override():
    code, detail = inspect_file(CORPUS / "good_big_sharedstrings.xlsx", Limits(max_uncompressed_bytes=1_000_000))
    assert code == "TOO_LARGE" and "declared uncompressed size" in detail


def test_ratio_with_override():
    code, detail = inspect_file(CORPUS / "good_big_sharedstrings.xlsx", Limits(max_ratio=3.0))
    assert code == "TOO_LARGE" and "ratio" in detail


def test_big_shared_strings_ratio_is_inside_the_default_limit():
    import zipfile

    with zipfile.ZipFile(CORPUS / "good_big_sharedstrings.xlsx") as zf:
        sst = zf.getinfo("xl/sharedStrings.xml")
    assert sst.file_size > DEFAULT_LIMITS.ratio_min_bytes
    assert sst.file_size / sst.compress_size < DEFAULT_LIMITS.max_ratio


def test_prolog_only_mode_still_catches_unsafe_xml_and_bombs():
    quick = Limits(test_decompress=False)
    assert inspect_file(CORPUS / "bad_crc.xlsx", quick) is None              # left to the reader
    assert inspect_file(CORPUS / "billion_laughs_sharedstrings.xlsx", quick)[0] == "UNSAFE_XML"
    assert inspect_file(CORPUS / "doctype_after_padding.xlsx", quick)[0] == "UNSAFE_XML"
    assert inspect_file(CORPUS / "zip_bomb_ratio.xlsx", quick)[0] == "TOO_LARGE"
    assert inspect_file(CORPUS / "good_big_sharedstrings.xlsx", quick) is None


# --------------------------------------------------------------------------------------------------
# robustness


def test_path_forms_and_missing_file(tmp_path):
    good = CORPUS / "good_openpyxl.xlsx"
    assert guard(str(good)) is None and guard(good) is None
    issue = guard(tmp_path / "nope.xlsx", lang="fr")
    assert issue.code == "FILE_NOT_FOUND" and issue.file == str(tmp_path / "nope.xlsx")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_not_opened(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    assert guard(fifo).code == "FILE_NOT_FOUND"      # would block forever if opened


def test_csv_starting_with_pk_is_not_a_zip(tmp_path):
    p = tmp_path / "refs.xlsx"
    p.write_bytes(b"PK-001;Alpha;1200\nPK-002;Beta;99\n")
    assert inspect_file(p)[0] == "NOT_XLSX"


_GOOD_BYTES = (CORPUS / "good_openpyxl.xlsx").read_bytes()
_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="salesxl-guard-fuzz-"))
atexit.register(shutil.rmtree, _FUZZ_DIR, True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(_GOOD_BYTES)),
       flips=st.lists(st.tuples(st.integers(0, len(_GOOD_BYTES) - 1), st.integers(1, 255)), max_size=12))
def test_guard_never_raises_on_damaged_workbooks(cut, flips):
    data = bytearray(_GOOD_BYTES)
    for pos, xor in flips:
        data[pos] ^= xor
    data = bytes(data[:cut]) if cut else bytes(data)
    path = _FUZZ_DIR / "fuzz.xlsx"
    path.write_bytes(data)
    found = inspect_file(path)
    if found is not None:
        code, detail = found
        assert code in GUARD_CODES
        assert detail and not detail.startswith("unexpected"), detail
        assert detail.isprintable()
    issue = guard(path, lang="fr")
    assert (issue is None) == (found is None)


# --------------------------------------------------------------------------------------------------
# defusedxml in openpyxl


def test_guard_does_not_import_openpyxl():
    out = subprocess.run([sys.executable, "-c", "import sys, salesxl.io.guard as g; "
                          "g.guard_package(sys.argv[1]); print('openpyxl' in sys.modules)",
                          str(CORPUS / "good_openpyxl.xlsx")],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_ensure_defusedxml_passes():
    ensure_defusedxml()
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_ensure_defusedxml_fails_when_protection_is_off(monkeypatch):
    import openpyxl
    from openpyxl.xml import functions

    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError):
        ensure_defusedxml()
    monkeypatch.undo()
    import xml.etree.ElementTree as ET
    monkeypatch.setattr(functions, "iterparse", ET.iterparse)
    with pytest.raises(RuntimeError):
        ensure_defusedxml()


@pytest.mark.parametrize("name", ["billion_laughs_sharedstrings.xlsx", "xxe_sheet1.xlsx"])
def test_openpyxl_refuses_entities_when_the_guard_is_bypassed(name):
    """defusedxml is really active: even without the guard, openpyxl does not expand entities."""
    from defusedxml import DefusedXmlException

    ensure_defusedxml()
    import openpyxl

    with pytest.raises(Exception) as caught:
        wb = openpyxl.load_workbook(CORPUS / name, read_only=True)
        try:
            for ws in wb.worksheets:
                for _ in ws.iter_rows(values_only=True):
                    pass
        finally:
            wb.close()
    chain, exc = [], caught.value
    while exc is not None:                      # openpyxl wraps parse errors in a ValueError
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, DefusedXmlException) for e in chain), chain
