"""Each ribbon action ends with a one-line summary in the workbook's language (a message box through
xlwings' App.alert), an action that cannot run says in one line what to set; a workbook whose name
is a OneDrive/SharePoint URL finds its relative Inbox/Outbox through the synced folder (xlwings'
own helper) or says what to set. On xlwings' remote engine (tests/xlwings_remote.py)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

try:
    from tests.xlwings_remote import book_from_json, book_json_from_xlsx, recorded_actions
except ImportError:  # tests/ not a package
    from xlwings_remote import book_from_json, book_json_from_xlsx, recorded_actions  # type: ignore[no-redef]

from salesxl import actions, contract
from salesxl.io.template import write_template

AS_OF = dt.date(2026, 11, 20)


def rows(lang: str) -> dict:
    rep = "Ann Lee"
    s, e = dt.date(2026, 11, 16), dt.date(2026, 11, 22)
    return {"reps": [{"rep": rep, "seniority": "junior"}],
            "objectives": [{"rep": rep, "period_start": s, "period_end": e, "revenue_objective": 5000.0}],
            "planning": [{"rep": rep, "period_start": s, "period_end": e, "action": "Call", "planned": 10}],
            "reporting": [{"date": s, "rep": rep, "company": "Alpha", "action": "Call", "result": "Lunch"}],
            "pipeline": [{"ref": "P1", "rep": rep, "company": "Alpha", "amount": 1000.0, "probability": 0.5,
                          "decision_date": e, "status": "Open"}]}


def payload(tmp_path: Path, lang: str, **settings) -> dict:
    path = write_template(tmp_path / f"team_{lang}.xlsx", lang, rows=rows(lang), settings={"as_of": AS_OF, **settings})
    return book_json_from_xlsx(path)


def alerts(book) -> list[list[str]]:
    return [a["args"] for a in recorded_actions(book) if a["func"] == "alert"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_action_ends_with_a_summary(tmp_path, lang):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    (inbox / "notes.xlsx").write_text("not a workbook")
    write_template(inbox / "ann.xlsx", lang, rows=rows(lang), settings={"as_of": AS_OF})
    sheet = {"en": ("Issues", "Forecast"), "fr": ("Anomalies", "Prévisions")}[lang]
    expected = {
        "en": {"validate": f"Validate: 1 error, 0 warnings; see the {sheet[0]} sheet.",
               "forecast": f"Forecast: 1 rep (0 on track, 0 at risk, 1 off track); see the {sheet[1]} sheet.",
               "reviews": "Reviews: 1 review sheet written; 0 reps without a current period.",
               "consolidate": f"Consolidate: 2 files read from {inbox} (1 unreadable), 2 rows imported; "
                              f"2 errors, 0 warnings in the {sheet[0]} sheet.",
               "new_period": f"New period: 1 rep planned, 0 left as they were; 1 rep workbook written in {outbox}."},
        "fr": {"validate": f"Vérification : 1 erreur, 0 avertissement ; voyez la feuille {sheet[0]}.",
               "forecast": f"Prévisions : 1 commercial (0 en bonne voie, 0 à risque, 1 hors trajectoire) ; "
                           f"voyez la feuille {sheet[1]}.",
               "reviews": "Entretiens : 1 feuille d'entretien écrite ; 0 commercial sans période en cours.",
               "consolidate": f"Consolidation : 2 fichiers lus dans {inbox} (1 illisible), 2 lignes importées ; "
                              f"2 erreurs, 0 avertissement dans la feuille {sheet[0]}.",
               "new_period": f"Nouvelle période : 1 commercial planifié, 0 laissé tel quel ; 1 classeur écrit "
                             f"dans {outbox}."}}[lang]
    data = json.dumps(payload(tmp_path, lang, inbox=str(inbox), outbox=str(outbox)))
    for tag in actions.ACTIONS:
        book = book_from_json(json.loads(data))
        try:
            result = actions.run(tag, book)
            assert result["message"] == expected[tag], tag
            assert alerts(book) == [[expected[tag], "SalesXL", "ok", "info", ""]], tag
        finally:
            book.close()


def test_an_action_that_cannot_run_says_what_to_set(tmp_path):
    book = book_from_json(payload(tmp_path, "fr"))
    try:
        result = actions.run("consolidate", book)
    finally:
        book.close()
    message = ("Indiquez le dossier de réception (Paramètres : « Dossier de réception ») où arrivent les classeurs "
               "des commerciaux.")
    assert result == {"action": "consolidate", "error": message}
    assert alerts(book) == [[message, "SalesXL", "ok", "critical", ""]]


def _named(data: dict, name: str) -> dict:
    data["book"]["name"] = name
    return data


def test_onedrive_workbook_resolves_its_relative_outbox_through_the_synced_folder(tmp_path, monkeypatch):
    """Personal OneDrive: xlwings maps https://d.docs.live.net/<cid>/<path> under the local OneDrive
    folder (its ONEDRIVE_CONSUMER setting, else the OneDrive environment variables)."""
    synced = tmp_path / "OneDrive"
    (synced / "Sales").mkdir(parents=True)
    data = payload(tmp_path, "en", outbox="outbox")
    (synced / "Sales" / "team.xlsx").write_bytes((tmp_path / "team_en.xlsx").read_bytes())
    monkeypatch.setenv("OneDriveConsumer", str(synced))
    book = book_from_json(_named(data, "https://d.docs.live.net/5e3ce6c0b4a8f0a1/Sales/team.xlsx"))
    try:
        result = actions.run("new_period", book)
    finally:
        book.close()
    assert result["outbox"] == str(synced / "Sales" / "outbox")
    assert [Path(f).name for f in result["files"]] == ["Ann Lee 2026-11-23.xlsx"]


@pytest.mark.parametrize("lang, message", [
    ("en", "The workbook is on OneDrive/SharePoint and its synced folder was not found: set xlwings' "
           "ONEDRIVE_CONSUMER, ONEDRIVE_COMMERCIAL or SHAREPOINT setting (_WIN or _MAC), or an absolute "
           "'Inbox folder' in Settings."),
    ("fr", "Le classeur est sur OneDrive/SharePoint et son dossier synchronisé est introuvable : renseignez le "
           "paramètre xlwings ONEDRIVE_CONSUMER, ONEDRIVE_COMMERCIAL ou SHAREPOINT (_WIN ou _MAC), ou un chemin "
           "complet pour « Dossier de réception » dans Paramètres."),
])
def test_sharepoint_workbook_without_its_synced_folder_says_what_to_set(tmp_path, monkeypatch, lang, message):
    for var in ("OneDrive", "OneDriveCommercial", "OneDriveConsumer"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))                 # no ~/.xlwings/xlwings.conf, no synced folder
    data = _named(payload(tmp_path, lang, inbox="inbox"),
                  "https://contoso.sharepoint.com/sites/Sales/Shared Documents/team.xlsx")
    book = book_from_json(data)
    try:
        result = actions.run("consolidate", book)
    finally:
        book.close()
    assert result == {"action": "consolidate", "error": message}


def test_a_workbook_without_a_folder_needs_an_absolute_folder(tmp_path):
    book = book_from_json(payload(tmp_path, "en", outbox="outbox"))      # the remote client sends a bare name
    try:
        result = actions.run("new_period", book)
    finally:
        book.close()
    assert result["error"] == ("The workbook has no folder yet (new or online): give an absolute 'Outbox folder' "
                               "in Settings.")
    assert contract.SETTINGS_KEYS


@pytest.mark.parametrize("lang, message", [
    ("en", "The Outbox folder is the Inbox folder ({path}), where the reps' workbooks arrive: set another "
           "'Outbox folder' in Settings."),
    ("fr", "Le dossier d'envoi est le dossier de réception ({path}), où arrivent les classeurs des commerciaux : "
           "indiquez un autre « Dossier d'envoi » dans Paramètres."),
])
def test_new_period_refuses_an_outbox_that_is_the_inbox(tmp_path, lang, message):
    """The rule `salesxl new-period` applies (salesxl.folders): the outbox, however written, is refused
    when it is the inbox, before anything is written in the workbook or the folder."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outbox = tmp_path / "sub" / ".." / "inbox"
    book = book_from_json(payload(tmp_path, lang, inbox=str(inbox), outbox=str(outbox)))
    try:
        result = actions.run("new_period", book)
    finally:
        book.close()
    assert result == {"action": "new_period", "error": message.format(path=outbox)}
    assert [a["func"] for a in recorded_actions(book)] == ["alert"]
    assert list(inbox.iterdir()) == []
