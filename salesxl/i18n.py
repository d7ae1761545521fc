"""Messages and labels in English and French. Data only, plus two tiny lookup helpers."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Sequence

from salesxl.issue_codes import CODES

LANGS = ("en", "fr")

# Issue messages, derived from the one declaration per code (salesxl/issue_codes.py).
# Placeholders: {column} {value} {sheet} {row} {file} plus rule-specific params.
MESSAGES = MappingProxyType({code: MappingProxyType(c.messages) for code, c in CODES.items()})


class _Blank(dict):
    def __missing__(self, key):  # unknown placeholders stay visible rather than crash
        return "{" + key + "}"


def message(code: str, lang: str = "en", **params: Any) -> str:
    lang = lang if lang in LANGS else "en"
    template = MESSAGES[code][lang]
    return template.format_map(_Blank(params))


def pick(labels: dict, lang: str) -> str:
    """The label of a {'en':…, 'fr':…} pair in `lang` (English as fallback)."""
    return labels.get(lang) or labels["en"]


# The Instructions sheet: the handbook insists that the manager explains each tool.
INSTRUCTIONS = MappingProxyType({
    "en": (
        ("title", "salesxl — your sales workbook"),
        ("p", "Four tools help you and your manager run the period. None of them is there to inspect you: "
              "they trace what was done so that it can be analysed together, and warn early when an "
              "objective is at risk."),
        ("h", "1. Planning"),
        ("p", "Your manager assigns the commercial actions (calls, visits, negotiations…) and the "
              "objectives for your period — a week when you start, up to a quarter for seniors. One row "
              "per action type: Rep, Period start, Period end, Action, Planned. Done and Progress are "
              "computed from your Reporting."),
        ("h", "2. Objectives"),
        ("p", "One row per period: the revenue objective and, optionally, the number of deals. Won, "
              "Weighted open, Forecast and Projected attainment are computed from the Pipeline."),
        ("h", "3. Reporting"),
        ("p", "Declare every action actually carried out and its result: Date, Rep, Company, Contact, "
              "Job title, Action, Result, and when relevant the proposal reference and the reason of a "
              "failure. The aim is not to check on you but to learn which actions work."),
        ("h", "4. Pipeline (carnet commercial)"),
        ("p", "Every proposal awaiting an answer, with your honest probability of success. Keep the "
              "probability you last believed in when the proposal closes as Won or Lost: it is how "
              "forecasts learn. Overdue proposals (decision date passed, still open) turn red."),
        ("h", "5. End-of-period review"),
        ("p", "Your manager generates one review sheet per rep: objective, won, forecast with its "
              "range, plan vs done, results and failure reasons, proposals to chase, and a few "
              "talking points. It is a conversation to find solutions, not a verdict."),
        ("h", "How to fill the sheets"),
        ("p", "Use the drop-downs for coded columns (actions, results, stages, statuses, reasons); "
              "you may type English or French labels. Dates: real dates or day/month/year. "
              "Probabilities: a percentage from 0 % to 100 %. Amounts: plain numbers. Never delete "
              "a row to hide a failure: the reasons for failure are what helps most."),
        ("p", "Headers say what a column needs: dark blue, required (a row without it is an error); light "
              "blue, optional; grey, computed (never type there). Click a cell: a message says what it "
              "expects. In Planning, leave Planned empty for an action you do not plan this period: it is "
              "not an error. Progress turns red when behind the pace of the period, green on pace, blue "
              "ahead. Weighted shows only for open proposals."),
        ("p", "Each sheet's data is an Excel table. In Excel it grows by itself when you type in the row "
              "right below it; otherwise (LibreOffice, pasted rows) drag its bottom-right corner or use "
              "Table Design › Resize Table. Rows typed right below a table are still read, down to the "
              "first empty row, with a warning (ROWS_OUTSIDE_TABLE) asking you to extend the table."),
        ("p", "Red or highlighted cells after a check are explained in the Issues sheet; nothing you "
              "typed is ever changed by the tool."),
    ),
    "fr": (
        ("title", "salesxl — votre classeur commercial"),
        ("p", "Quatre outils vous aident, vous et votre manager, à piloter la période. Aucun n'est là "
              "pour vous contrôler : ils tracent ce qui a été fait pour l'analyser ensemble, et alertent "
              "tôt quand un objectif risque de ne pas être atteint."),
        ("h", "1. Planning"),
        ("p", "Votre manager vous affecte les actions commerciales (appels, visites, négociations…) et "
              "les objectifs de la période — une semaine quand vous débutez, jusqu'à un trimestre pour "
              "un senior. Une ligne par type d'action : Commercial, Début de période, Fin de période, "
              "Action, Prévu. Réalisé et Avancement sont calculés depuis le Reporting."),
        ("h", "2. Objectifs"),
        ("p", "Une ligne par période : l'objectif de chiffre d'affaires et, si besoin, le nombre "
              "d'affaires. Gagné, Pondéré en cours, Prévision et Atteinte projetée sont calculés depuis "
              "le carnet commercial."),
        ("h", "3. Reporting"),
        ("p", "Déclarez chaque action réellement menée et son résultat : Date d'action, Commercial, "
              "Société, Interlocuteur, Fonction, Action, Résultat, et le cas échéant la référence de "
              "la proposition et le motif d'un échec. Le but n'est pas de vous contrôler mais de "
              "comprendre quelles actions fonctionnent."),
        ("h", "4. Carnet commercial"),
        ("p", "Toutes les propositions en attente de réponse, avec votre probabilité de succès sincère. "
              "Gardez la dernière probabilité estimée quand la proposition est gagnée ou perdue : c'est "
              "ainsi que les prévisions s'améliorent. Les propositions en retard (date de décision "
              "dépassée, toujours en cours) passent en rouge."),
        ("h", "5. Entretien de fin de période"),
        ("p", "Votre manager génère une feuille d'entretien par commercial : objectif, gagné, prévision "
              "et sa fourchette, prévu vs réalisé, résultats et motifs d'échec, propositions à relancer "
              "et quelques points de discussion. C'est un échange pour trouver des solutions, pas un "
              "jugement."),
        ("h", "Comment remplir les feuilles"),
        ("p", "Utilisez les listes déroulantes des colonnes codées (actions, résultats, étapes, statuts, "
              "motifs) ; les libellés anglais ou français sont acceptés. Dates : de vraies dates ou "
              "jour/mois/année. Probabilités : un pourcentage de 0 % à 100 %. Montants : des nombres. "
              "Ne supprimez jamais une ligne pour masquer un échec : les motifs d'échec sont ce qui aide "
              "le plus."),
        ("p", "Les en-têtes disent ce qu'attend chaque colonne : bleu foncé, obligatoire (une ligne sans "
              "cette valeur est une erreur) ; bleu clair, facultative ; gris, calculée (n'y saisissez "
              "rien). Cliquez sur une cellule : un message dit ce qu'elle attend. Dans le Planning, laissez "
              "Prévu vide pour une action non prévue cette période : ce n'est pas une erreur. L'Avancement "
              "passe en rouge en retard sur le rythme de la période, en vert dans le rythme, en bleu en "
              "avance. Pondéré ne s'affiche que pour les propositions en cours."),
        ("p", "Les données de chaque feuille forment un tableau Excel. Dans Excel, il s'agrandit tout seul "
              "quand vous saisissez dans la ligne juste en dessous ; sinon (LibreOffice, lignes collées), "
              "faites glisser son coin inférieur droit ou utilisez Création de tableau › Redimensionner "
              "le tableau. Les lignes saisies juste sous un tableau sont quand même lues, jusqu'à la "
              "première ligne vide, avec un avertissement (ROWS_OUTSIDE_TABLE) qui vous invite à agrandir "
              "le tableau."),
        ("p", "Les cellules en couleur après un contrôle sont expliquées dans la feuille Anomalies ; "
              "l'outil ne modifie jamais ce que vous avez saisi."),
    ),
})

LABELS = MappingProxyType({
    "effective_as_of": {"en": "Effective as-of date", "fr": "Date d'arrêté effective"},
    "date_error": {"en": "Enter a date (day/month/year).", "fr": "Saisissez une date (jour/mois/année)."},
    "percent_error": {"en": "Enter a percentage between 0 % and 100 %.",
                      "fr": "Saisissez un pourcentage entre 0 % et 100 %."},
    "list_error": {"en": "Choose a value from the list.", "fr": "Choisissez une valeur de la liste."},
    "amount_error": {"en": "Enter a positive amount.", "fr": "Saisissez un montant positif."},
    "count_error": {"en": "Enter a whole number.", "fr": "Saisissez un nombre entier."},
    "rep_error": {"en": "Choose a name from the list; a new rep goes in the Reps sheet first.",
                  "fr": "Choisissez un nom dans la liste ; un nouveau commercial s'ajoute d'abord dans la feuille "
                        "Commerciaux."},
    "rows_below": {"en": "Rows {first}–{last} below", "fr": "Les lignes {first} à {last} sous le"},
    "columns_right": {"en": "Cells of columns {first}–{last} right of",
                      "fr": "Les cellules des colonnes {first} à {last} à droite du"},
    "columns_in": {"en": "Cells of columns {first}–{last} in",
                   "fr": "Les cellules des colonnes {first} à {last} dans le"},
    "table_at_header_row": {"en": "{sheet} (headers on row {row})", "fr": "{sheet} (en-têtes en ligne {row})"},
    "read_failed_content": {"en": "its content does not follow the Excel format closely enough for any of "
                                  "the readers (damaged, or written by a program that bends the format)",
                            "fr": "son contenu ne suit pas assez le format Excel pour aucun des lecteurs "
                                  "(fichier endommagé, ou écrit par un programme qui s'écarte du format)"},
    "read_failed_crash": {"en": "the reader stopped abruptly on it", "fr": "le lecteur s'est arrêté net sur ce fichier"},
    "read_failed_memory": {"en": "reading it needed more memory than allowed",
                           "fr": "sa lecture demandait plus de mémoire que permis"},
    "reason_warning": {"en": "This reason is not in the list: keep it if it says something new.",
                       "fr": "Ce motif n'est pas dans la liste : gardez-le s'il apporte une information."},
})

# The input message (data validation prompt) of each column a rep types, by column key; a (table, column)
# key where one column means something else in another table. The prompt's title says whether the
# column is required.
INPUT_HELP = MappingProxyType({
    "rep": {"en": "The rep's name, spelt as in the Reps sheet.",
            "fr": "Le nom du commercial, écrit comme dans la feuille Commerciaux."},
    "rep_list": {"en": "Choose the name from the list (the Reps sheet).",
                 "fr": "Choisissez le nom dans la liste (feuille Commerciaux)."},
    ("reps", "rep"): {"en": "One row per rep: the name used in every other sheet.",
                      "fr": "Une ligne par commercial : le nom utilisé dans toutes les autres feuilles."},
    "seniority": {"en": "junior, confirmed or senior (list): sets the default period length.",
                  "fr": "junior, confirmé ou senior (liste) : fixe la durée de période par défaut."},
    "period_length": {"en": "The length of the rep's periods: 1w, 2w, 1m or 3m.",
                      "fr": "La durée des périodes du commercial : 1s, 2s, 1m ou 3m."},
    "manager": {"en": "The rep's manager.", "fr": "Le manager du commercial."},
    "period_start": {"en": "First day of the period (a date: day/month/year).",
                     "fr": "Premier jour de la période (une date : jour/mois/année)."},
    "period_end": {"en": "Last day of the period (a date: day/month/year).",
                   "fr": "Dernier jour de la période (une date : jour/mois/année)."},
    ("planning", "action"): {"en": "The action type (list). One row per action type of the period.",
                             "fr": "Le type d'action (liste). Une ligne par type d'action de la période."},
    "planned": {"en": "How many of these actions are planned in the period (a whole number). Leave it empty "
                      "for an action not planned this period.",
                "fr": "Combien de ces actions sont prévues sur la période (un nombre entier). Laissez vide "
                      "une action non prévue cette période."},
    "revenue_objective": {"en": "The revenue to win in the period (an amount).",
                          "fr": "Le chiffre d'affaires à gagner sur la période (un montant)."},
    "deals_objective": {"en": "How many deals to win in the period (a whole number).",
                        "fr": "Combien d'affaires gagner sur la période (un nombre entier)."},
    "date": {"en": "The day of the action (a date: day/month/year).",
             "fr": "Le jour de l'action (une date : jour/mois/année)."},
    "company": {"en": "The client company.", "fr": "La société cliente."},
    "contact": {"en": "The person you dealt with.", "fr": "La personne rencontrée."},
    "job_title": {"en": "Their job title.", "fr": "Sa fonction."},
    ("reporting", "action"): {"en": "What you did (list).", "fr": "Ce que vous avez fait (liste)."},
    "result": {"en": "The outcome (list): Proposal, Order, Meeting set are positive; No need, Lost negative.",
               "fr": "Le résultat (liste) : Proposition, Commande, Rendez-vous obtenu sont positifs ; Pas de "
                     "besoin, Perdu négatifs."},
    "proposal_ref": {"en": "The Ref of the proposal in the Pipeline, when the action concerns one.",
                     "fr": "La Réf. de la proposition dans le carnet commercial, si l'action en concerne une."},
    "reason": {"en": "Why it failed (list; a new reason is accepted with a warning).",
               "fr": "Pourquoi c'est un échec (liste ; un nouveau motif est accepté avec un avertissement)."},
    "comment": {"en": "Anything useful for the review.", "fr": "Tout ce qui sert à l'entretien."},
    "ref": {"en": "A reference of your own, unique for each proposal.",
            "fr": "Une référence à vous, unique pour chaque proposition."},
    "description": {"en": "What is proposed.", "fr": "Ce qui est proposé."},
    "amount": {"en": "The amount of the proposal (a positive number).",
               "fr": "Le montant de la proposition (un nombre positif)."},
    "probability": {"en": "Your honest chance of winning, 0 % to 100 %. Required while Open; keep the last one "
                          "when the proposal closes.",
                    "fr": "Votre chance sincère de gagner, de 0 % à 100 %. Obligatoire tant qu'elle est en "
                          "cours ; gardez la dernière à la clôture."},
    "stage": {"en": "The sales stage (list): gives a default probability.",
              "fr": "L'étape de vente (liste) : donne une probabilité par défaut."},
    "sent_on": {"en": "The day the proposal was sent (a date).", "fr": "Le jour d'envoi de la proposition (une date)."},
    "decision_date": {"en": "The day the client should decide (a date). Required while Open.",
                      "fr": "Le jour où le client doit décider (une date). Obligatoire tant qu'elle est en cours."},
    "status": {"en": "Open, Won or Lost (list).", "fr": "En cours, Gagné ou Perdu (liste)."},
    "loss_reason": {"en": "For a lost proposal: why (list; a new reason is accepted with a warning).",
                    "fr": "Pour une proposition perdue : pourquoi (liste ; un nouveau motif est accepté avec un "
                          "avertissement)."},
})
# What a header note says about its column.
HEADER_NOTES = MappingProxyType({
    "required": {"en": "Required: a row without it is an error.",
                 "fr": "Obligatoire : une ligne sans cette valeur est une erreur."},
    "required_open": {"en": "Required for Open proposals.", "fr": "Obligatoire pour les propositions en cours."},
    "computed": {"en": "Computed: do not type here.", "fr": "Calculé : ne saisissez rien ici."},
    "optional": {"en": "Optional.", "fr": "Facultatif."},
})
# The title of a column's input message.
INPUT_TITLES = MappingProxyType({
    "required": {"en": "Required", "fr": "Obligatoire"},
    "required_open": {"en": "Required if Open", "fr": "Obligatoire si en cours"},
    "optional": {"en": "Optional", "fr": "Facultatif"},
})


def input_help(table: str, column: str, lang: str) -> str:
    """The input message of a column of a table, in `lang`."""
    return pick(INPUT_HELP.get((table, column)) or INPUT_HELP[column], lang)


def label(key: str, lang: str) -> str:
    return pick(LABELS[key], lang)


def is_singular(n: float, lang: str) -> bool:
    """The one plural rule: English says 1 thing and 0 things; French dit 0 et 1 chose, 2 choses."""
    return n == 1 if lang != "fr" else abs(n) < 2


# Counted things in the command line's and the ribbon's own lines: (singular, plural) by language.
COUNTED = MappingProxyType({
    "error": {"en": ("error", "errors"), "fr": ("erreur", "erreurs")},
    "warning": {"en": ("warning", "warnings"), "fr": ("avertissement", "avertissements")},
    "file": {"en": ("file", "files"), "fr": ("fichier", "fichiers")},
    "rep": {"en": ("rep", "reps"), "fr": ("commercial", "commerciaux")},
    "row_added": {"en": ("row added", "rows added"), "fr": ("ligne ajoutée", "lignes ajoutées")},
    "row_imported": {"en": ("row imported", "rows imported"), "fr": ("ligne importée", "lignes importées")},
    "cell_marked": {"en": ("cell marked", "cells marked"), "fr": ("cellule marquée", "cellules marquées")},
    "note": {"en": ("note", "notes"), "fr": ("note", "notes")},
    "review": {"en": ("review", "reviews"), "fr": ("entretien", "entretiens")},
    "review_sheet": {"en": ("review sheet written", "review sheets written"),
                     "fr": ("feuille d'entretien écrite", "feuilles d'entretien écrites")},
    "rep_workbook": {"en": ("rep workbook", "rep workbooks"), "fr": ("classeur de commercial", "classeurs de commerciaux")},
    "rep_workbook_written": {"en": ("rep workbook written", "rep workbooks written"),
                             "fr": ("classeur écrit", "classeurs écrits")},
    "file_read": {"en": ("file read", "files read"), "fr": ("fichier lu", "fichiers lus")},
    "rep_planned": {"en": ("rep planned", "reps planned"), "fr": ("commercial planifié", "commerciaux planifiés")},
    "left_as_is": {"en": ("left as it was", "left as they were"), "fr": ("laissé tel quel", "laissés tels quels")},
    "objective": {"en": ("objective", "objectives"), "fr": ("objectif", "objectifs")},
    "planning_row": {"en": ("planning row", "planning rows"), "fr": ("ligne de planning", "lignes de planning")},
    "status_ok": {"en": ("ok", "ok"), "fr": ("ok", "ok")},
    "status_invalid": {"en": ("invalid", "invalid"), "fr": ("invalide", "invalides")},
    "status_unreadable": {"en": ("unreadable", "unreadable"), "fr": ("illisible", "illisibles")},
    "status_duplicate": {"en": ("duplicate", "duplicate"), "fr": ("doublon", "doublons")},
    "status_superseded": {"en": ("superseded", "superseded"), "fr": ("remplacé", "remplacés")},
    "status_skipped": {"en": ("skipped", "skipped"), "fr": ("ignoré", "ignorés")},
    "no_period": {"en": ("rep without a current period", "reps without a current period"),
                  "fr": ("commercial sans période en cours", "commerciaux sans période en cours")},
})


def counted(n: int, thing: str, lang: str) -> str:
    """`n` and the thing counted, singular or plural as the language wants: "1 error", "0 erreur"."""
    forms = pick(COUNTED[thing], lang)
    return f"{n} {forms[0] if is_singular(n, lang) else forms[1]}"


# The command line's own lines (progress and summaries), EN/FR.
CLI = MappingProxyType({
    "wrote": {"en": "wrote {path}", "fr": "écrit : {path}"},
    "wrote_what": {"en": "wrote {path} ({what})", "fr": "écrit : {path} ({what})"},
    "annotated": {"en": "annotated {path} -> {output} ({what})", "fr": "annoté : {path} -> {output} ({what})"},
    "summary": {"en": "{errors}, {warnings} in {files}", "fr": "{errors}, {warnings} dans {files}"},
    "exit_1": {"en": "exit 1: {errors} in {bad} of {files}", "fr": "code 1 : {errors} dans {bad} sur {files}"},
    "next_period": {"en": "{rep}: {start}..{end} ({what})", "fr": "{rep} : {start}..{end} ({what})"},
    "already_planned": {"en": "next period already planned", "fr": "période suivante déjà planifiée"},
    "no_period": {"en": "no period to follow", "fr": "aucune période à suivre"},
    "left_as_is": {"en": "{rep}: left as it is ({reason})", "fr": "{rep} : laissé tel quel ({reason})"},
    "nothing_to_add": {"en": "nothing to add: {path} left as it was", "fr": "rien à ajouter : {path} laissé tel quel"},
    "rep_workbooks_in": {"en": "wrote {what} in {folder}", "fr": "écrit : {what} dans {folder}"},
    "already_there": {"en": "{path}: already there, left as it was", "fr": "{path} : déjà là, laissé tel quel"},
    "no_outbox": {"en": "no rep workbooks: no --outbox and no Outbox folder in Settings",
                  "fr": "aucun classeur de commercial : ni --outbox, ni dossier d'envoi dans Paramètres"},
    "reps_folders": {"en": "{reps}; {folders}", "fr": "{reps} ; {folders}"},
    "reviews_issues": {"en": "{reviews}; warnings are listed in its Issues sheet",
                       "fr": "{reviews} ; les avertissements sont dans sa feuille Anomalies"},
    "as_of": {"en": "as of {date}", "fr": "au {date}"},
    "forecast_head": {"en": ("rep", "period", "objective", "won", "forecast", "P10", "P50", "P90", "P(reach)", "risk"),
                      "fr": ("commercial", "période", "objectif", "gagné", "prévision", "P10", "P50", "P90",
                             "P(atteinte)", "risque")},
    "team": {"en": "TEAM", "fr": "ÉQUIPE"},
    "team_group": {"en": "TEAM {group}", "fr": "ÉQUIPE {group}"},
    "group_weekly": {"en": "weekly", "fr": "hebdomadaire"},
    "group_monthly": {"en": "monthly", "fr": "mensuelle"},
    "group_quarterly": {"en": "quarterly", "fr": "trimestrielle"},
    "no_usable_input": {"en": "error: no usable input: {message}", "fr": "erreur : aucune entrée utilisable : {message}"},
    "none_read": {"en": "none of the {files} could be read", "fr": "aucun des {files} n'a pu être lu"},
    "one_unread": {"en": "the 1 file could not be read", "fr": "le seul fichier n'a pu être lu"},
    "no_match": {"en": "no workbook matches the inputs", "fr": "aucun classeur ne correspond aux entrées"},
    "no_input_workbook": {"en": "no input workbook: nothing written", "fr": "aucun classeur en entrée : rien n'a été écrit"},
    "no_annotated_copy": {"en": "{path}: no annotated copy ({detail})", "fr": "{path} : pas de copie annotée ({detail})"},
    "aborted": {"en": "Aborted.", "fr": "Interrompu."},
    "addin_not_built": {"en": "error: the add-in was not built: {reason}",
                        "fr": "erreur : le complément n'a pas été construit : {reason}"},
    "overall": {"en": "ALL (sum of current periods)", "fr": "TOUS (somme des périodes en cours)"},
})


def cli_line(key: str, lang: str, **kw: Any) -> str:
    """A line of the command line's own, in `lang`."""
    return pick(CLI[key], lang).format(**kw)


def cli_status(status: str, lang: str) -> str:
    """A file's status word (ok, invalid, unreadable…) in `lang`; the JSON keeps the English key."""
    forms = COUNTED.get("status_" + status)
    return pick(forms, lang)[0] if forms else status

# Why a value could not be read (values.py details), for messages in French.
DETAILS_FR = MappingProxyType({
    "no such day": "jour inexistant",
    "month-first? day/month/year expected": "mois en premier ? jour/mois/année attendu",
    "year unclear": "année peu claire",
    "not a date": "pas une date",
    "no year": "année manquante",
    "number out of the date range": "nombre hors de la plage des dates",
    "not a number": "pas un nombre",
    "not a percentage": "pas un pourcentage",
    "not a whole number": "pas un nombre entier",
    "boolean": "valeur logique",
    "a date": "une date",
    "not finite": "non fini",
})


def detail(text: str, lang: str) -> str:
    return DETAILS_FR.get(text, text) if lang == "fr" else text


# The command line's usage errors (exit 2), EN/FR: the frame of the one line on stderr, salesxl's own
# messages, and click's (the command-line parser's). A click template's English is what click writes
# (the tests compare them); an English line keeps click's own text, a French one is rendered from the
# template. English quotes a value as Python does ({value!r}: 'x'), French with guillemets.
USAGE = MappingProxyType({
    "frame": {"en": "error: {message} (see: {path} -h)", "fr": "erreur : {message} (voir : {path} -h)"},
    "or": {"en": " or ", "fr": " ou "},
    # salesxl's own
    "bad_date": {"en": "{value!r} is not a date: use YYYY-MM-DD, day/month/year or 'today'",
                 "fr": "« {value} » n'est pas une date : utilisez AAAA-MM-JJ, jour/mois/année ou « today »"},
    "choose_lang": {"en": "{value!r}: choose en or fr", "fr": "« {value} » : choisissez en ou fr"},
    "choose": {"en": "{value!r}: choose {choices}", "fr": "« {value} » : choisissez {choices}"},
    "both_period_bounds": {"en": "give both --period-start and --period-end",
                           "fr": "donnez à la fois --period-start et --period-end"},
    "end_before_start": {"en": "{end} is before --period-start {start}: the period ends on or after its first day",
                         "fr": "{end} est avant --period-start {start} : la période finit le jour de son début "
                               "ou après"},
    "rep_needed": {"en": "--seniority and the period pre-fill a rep's rows: give --rep NAME too",
                   "fr": "--seniority et la période préremplissent les lignes d'un commercial : donnez aussi "
                         "--rep NOM"},
    "team_only": {"en": "--reps, --inbox and --outbox go with --team", "fr": "--reps, --inbox et --outbox vont avec --team"},
    "team_not_rep": {"en": "--team makes the team workbook: --rep, --seniority and the period are for a rep's",
                     "fr": "--team crée le classeur de l'équipe : --rep, --seniority et la période sont pour celui "
                           "d'un commercial"},
    "folder_name": {"en": "--{key} names a folder: give a name or a path",
                    "fr": "--{key} désigne un dossier : donnez un nom ou un chemin"},
    "two_folders": {"en": "--inbox and --outbox must be two folders (reps' files arrive in the inbox)",
                    "fr": "--inbox et --outbox doivent être deux dossiers différents (les fichiers des commerciaux "
                          "arrivent dans le dossier de réception)"},
    "no_name": {"en": "give at least one name", "fr": "donnez au moins un nom"},
    "empty_name": {"en": "name {n} of {total} is empty (two commas in a row?)",
                   "fr": "le nom {n} sur {total} est vide (deux virgules de suite ?)"},
    "name_twice": {"en": "{name!r} is listed twice (as {first!r})", "fr": "« {name} » figure deux fois (comme « {first} »)"},
    "annotate": {"en": "--annotate: {detail}", "fr": "--annotate : {detail}"},
    "calamine_missing": {"en": "the calamine engine needs python-calamine (pip install python-calamine); the openpyxl "
                               "engine reads without it",
                         "fr": "le moteur calamine demande python-calamine (pip install python-calamine) ; le moteur "
                               "openpyxl lit sans lui"},
    "not_a_file": {"en": "{path} is not a file: give the team workbook (salesxl template --team makes one)",
                   "fr": "{path} n'est pas un fichier : donnez le classeur de l'équipe (salesxl template --team en "
                         "crée un)"},
    "outbox_is_inbox": {"en": "the outbox {path} is the inbox, where reps' workbooks arrive: choose another --outbox",
                        "fr": "le dossier d'envoi {path} est le dossier de réception, où arrivent les classeurs des "
                              "commerciaux : choisissez un autre --outbox"},
    "no_table": {"en": "{path} has no {tables} table to add rows to",
                 "fr": "{path} n'a pas de tableau {tables} où ajouter les lignes"},
    "cannot_take_rows": {"en": "{path} cannot take the new rows ({detail}): use the New period button in Excel",
                         "fr": "{path} ne peut pas recevoir les nouvelles lignes ({detail}) : utilisez le bouton "
                               "Nouvelle période dans Excel"},
    "no_history": {"en": "no history store at {path}: give the .sqlite file consolidate keeps (--history)",
                   "fr": "aucun historique à {path} : donnez le fichier .sqlite que tient consolidate (--history)"},
    "which_python": {"en": "say which python Excel runs: --interpreter-win PATH\\pythonw.exe and/or "
                           "--interpreter-mac PATH/python (or --no-interpreter: the first python on the PATH)",
                     "fr": "indiquez quel python Excel lance : --interpreter-win CHEMIN\\pythonw.exe et/ou "
                           "--interpreter-mac CHEMIN/python (ou --no-interpreter : le premier python du PATH)"},
    "no_interpreter_alone": {"en": "--no-interpreter goes without --interpreter-win and --interpreter-mac",
                             "fr": "--no-interpreter s'emploie sans --interpreter-win ni --interpreter-mac"},
    # click's ({hint}: the option's names, or the argument's; quoted by click in English)
    "invalid_value_for": {"en": "Invalid value for {hint}: {message}", "fr": "Valeur invalide pour {hint} : {message}"},
    "invalid_value": {"en": "Invalid value: {message}", "fr": "Valeur invalide : {message}"},
    "missing_argument": {"en": "Missing argument {hint}.", "fr": "Argument manquant : {hint}"},
    "missing_option": {"en": "Missing option {hint}.", "fr": "Option manquante : {hint}"},
    "missing_parameter": {"en": "Missing parameter {hint}.", "fr": "Paramètre manquant : {hint}"},
    "no_such_option": {"en": "No such option: {option}", "fr": "Option inconnue : {option}"},
    "possible_options": {"en": "{message} (Possible options: {options})", "fr": "{message} (options possibles : {options})"},
    "requires_value": {"en": "Option {option!r} requires an argument.", "fr": "L'option {option} attend une valeur."},
    "requires_values": {"en": "Option {option!r} requires {n} arguments.", "fr": "L'option {option} attend {n} valeurs."},
    "takes_no_value": {"en": "Option {option!r} does not take a value.", "fr": "L'option {option} ne prend pas de valeur."},
    "argument_values": {"en": "Argument {name!r} takes {n} values.", "fr": "L'argument {name} attend {n} valeurs."},
    "extra_arguments": {"en": "Got unexpected extra argument(s) ({args})", "fr": "Argument(s) en trop : {args}"},
    "no_such_command": {"en": "No such command {name!r}.", "fr": "Commande inconnue : « {name} »."},
    "did_you_mean": {"en": "{message} Did you mean {names}?", "fr": "{message} Vouliez-vous dire {names} ?"},
    "missing_command": {"en": "Missing command.", "fr": "Commande manquante."},
    # a value click's types refuse (the first error pydantic gives, by its type)
    "value_int_parsing": {"en": "Input should be a valid integer, unable to parse string as an integer",
                          "fr": "un nombre entier est attendu"},
    "value_int_from_float": {"en": "Input should be a valid integer, got a number with a fractional part",
                             "fr": "un nombre entier est attendu, sans partie décimale"},
    "value_float_parsing": {"en": "Input should be a valid number, unable to parse string as a number",
                            "fr": "un nombre est attendu"},
    "value_greater_than_equal": {"en": "Input should be greater than or equal to {ge}",
                                 "fr": "un nombre supérieur ou égal à {ge} est attendu"},
    "value_less_than_equal": {"en": "Input should be less than or equal to {le}",
                              "fr": "un nombre inférieur ou égal à {le} est attendu"},
    "value_greater_than": {"en": "Input should be greater than {gt}", "fr": "un nombre supérieur à {gt} est attendu"},
    "value_less_than": {"en": "Input should be less than {lt}", "fr": "un nombre inférieur à {lt} est attendu"},
})
# click's messages that carry nothing but their text: recognised by their English template
CLICK_TEXTS = ("did_you_mean", "no_such_command", "missing_command", "extra_arguments", "requires_value",
               "requires_values", "takes_no_value", "argument_values")
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


# Why a workbook's package cannot be patched safely (io.annotate.AnnotateError: `--annotate`, `new-period`):
# nothing is written, and the reason is said in the run's language
PATCH_REFUSALS = MappingProxyType({
    "copy_replaces_source": {"en": "the annotated copy must not replace the workbook",
                             "fr": "la copie annotée ne doit pas remplacer le classeur"},
    "outdir_holds_sources": {"en": "{outdir} holds the workbooks themselves: choose another folder for the copies",
                             "fr": "{outdir} contient les classeurs eux-mêmes : choisissez un autre dossier pour "
                                   "les copies"},
    "no_element": {"en": "no <{tag}> element", "fr": "pas d'élément <{tag}>"},
    "no_styles_block": {"en": "styles.xml has no <{block}>", "fr": "styles.xml n'a pas de <{block}>"},
    "no_sheet_data": {"en": "no sheetData", "fr": "pas de sheetData"},
    "row_without_number": {"en": "a row without its number", "fr": "une ligne sans son numéro"},
    "cell_without_ref": {"en": "a cell without its reference", "fr": "une cellule sans sa référence"},
    "table_without_range": {"en": "{table} has no range", "fr": "{table} n'a pas de plage"},
    "totals_rows": {"en": "table {table} has {count} totals rows", "fr": "le tableau {table} a {count} lignes de total"},
    "rows_below_totals": {"en": "rows typed below the totals row of table {table}",
                          "fr": "des lignes saisies sous la ligne de total du tableau {table}"},
    "merged_by_totals": {"en": "merged cells {cells} by the totals row of table {table}",
                         "fr": "des cellules fusionnées {cells} près de la ligne de total du tableau {table}"},
    "table_below_totals": {"en": "another table below the totals row of table {table}",
                           "fr": "un autre tableau sous la ligne de total du tableau {table}"},
    "cells_below_totals": {"en": "cells below the totals row of table {table}, where the new rows go",
                           "fr": "des cellules sous la ligne de total du tableau {table}, là où vont les nouvelles "
                                 "lignes"},
    "shared_formula_in_totals": {"en": "a shared formula in the totals row of table {table}",
                                 "fr": "une formule partagée dans la ligne de total du tableau {table}"},
    # something that uses a totals row by its address (it would be left behind by the move)
    "totals_used_by_cell": {"en": "{where} refers to the totals row of table {table} by its address",
                            "fr": "{where} utilise la ligne de total du tableau {table} par son adresse"},
    "totals_used_by_name": {"en": "{where} refers to the totals row of table {table} by its address",
                            "fr": "le nom {where} utilise la ligne de total du tableau {table} par son adresse"},
    "totals_used_by_chart": {"en": "a chart refers to the totals row of table {table} by its address",
                             "fr": "un graphique utilise la ligne de total du tableau {table} par son adresse"},
    "totals_used_by_format": {"en": "a conditional format on {where} refers to the totals row of table {table} by "
                                    "its address",
                              "fr": "une mise en forme conditionnelle de {where} utilise la ligne de total du "
                                    "tableau {table} par son adresse"},
    "totals_used_by_validation": {"en": "a data validation on {where} refers to the totals row of table {table} by "
                                        "its address",
                                  "fr": "une validation des données de {where} utilise la ligne de total du tableau "
                                        "{table} par son adresse"},
    "totals_used_by_link": {"en": "the link in {where} refers to the totals row of table {table} by its address",
                            "fr": "le lien de {where} utilise la ligne de total du tableau {table} par son adresse"},
})


# Why the add-in cannot be built (addin_build.AddinBuildError; `salesxl addin build` says it in one line, exit 2):
# nothing is written, and the reason is said in the usage language. Most are about the installed xlwings'
# template, which the build rewrites.
_TEMPLATE_CHANGED = {"en": "xlwings template changed: ", "fr": "le modèle de xlwings a changé : "}
ADDIN_BUILD_REFUSALS = MappingProxyType({
    "unknown_lang": {"en": "Unknown language {lang!r}: use one of {langs}.",
                     "fr": "Langue inconnue « {lang} » : utilisez {langs}."},
    "no_xlwings": {"en": "xlwings is not installed: it provides the add-in template.",
                   "fr": "xlwings n'est pas installé : il fournit le modèle du complément."},
    "no_template": {"en": "The installed xlwings has no {name}.", "fr": "Le xlwings installé n'a pas de {name}."},
    "cannot_read": {"en": "Cannot read {path}: {error}", "fr": "Impossible de lire {path} : {error}"},
    "cannot_write": {"en": "Cannot write into {path} ({error}): give -o a folder you can write to.",
                     "fr": "Impossible d'écrire dans {path} ({error}) : donnez à -o un dossier où vous pouvez écrire."},
    "xlwings_version": {"en": "The add-in template is for xlwings {template} but xlwings {installed} is installed.",
                        "fr": "Le modèle du complément est pour xlwings {template} mais xlwings {installed} est "
                              "installé."},
    "no_sub": {"en": "{module}.bas defines no Sub {sub}.", "fr": "{module}.bas ne définit pas de Sub {sub}."},
    "bas_header": {"en": "{module}.bas must start with {header}.", "fr": "{module}.bas doit commencer par {header}."},
    "vba_inconsistent": {"en": "pyOpenVBA reports an inconsistent project: {problems}",
                         "fr": "pyOpenVBA signale un projet incohérent : {problems}"},
    "vba_not_renamed": {"en": "pyOpenVBA did not rename {old} to {new}.", "fr": "pyOpenVBA n'a pas renommé {old} en {new}."},
    "vba_project_name": {"en": "{name!r} is not a VBA project name.", "fr": "« {name} » n'est pas un nom de projet VBA."},
    "vba_dir_record": {"en": "VBA dir stream: unexpected record 0x{record:04X} before PROJECTNAME.",
                       "fr": "flux VBA dir : enregistrement 0x{record:04X} inattendu avant PROJECTNAME."},
    "vba_dir_no_name": {"en": "VBA dir stream: no PROJECTNAME record.",
                        "fr": "flux VBA dir : pas d'enregistrement PROJECTNAME."},
    "vba_project_no_name": {"en": 'VBA PROJECT stream: no Name="..." line.',
                            "fr": 'flux VBA PROJECT : pas de ligne Name="...".'},
    "customui_xml": {"en": "customUI.xml is not well-formed XML (line {line}, column {column}).",
                     "fr": "customUI.xml n'est pas du XML bien formé (ligne {line}, colonne {column})."},
    "customui_namespace": {"en": "customUI.xml must use the namespace {namespace} of the template's part.",
                           "fr": "customUI.xml doit utiliser l'espace de noms {namespace} de la partie du modèle."},
    "button_action": {"en": "Ribbon button {button!r} must call {dispatcher}.",
                      "fr": "Le bouton du ruban « {button} » doit appeler {dispatcher}."},
    "button_tag": {"en": "Ribbon button {button!r} has tag {tag!r}, not an action.",
                   "fr": "Le bouton du ruban « {button} » a l'étiquette « {tag} », qui n'est pas une action."},
    "ribbon_buttons": {"en": "The ribbon must have one button per action {actions}, has {tags}.",
                       "fr": "Le ruban doit avoir un bouton par action {actions} ; il a {tags}."},
    "config_not_text": {"en": "Config value for {key} must be text, got {type}.",
                        "fr": "La valeur de configuration {key} doit être du texte, pas {type}."},
    "config_control": {"en": "Config value for {key} contains a control character.",
                       "fr": "La valeur de configuration {key} contient un caractère de contrôle."},
    # the template is not the one the build knows (another xlwings)
    "template_count": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "expected {what} once, found it {count} times."), ("fr", "{what} attendu une fois, trouvé {count} fois."))},
    "no_vba_module": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "no VBA module {module!r} (has {names})."), ("fr", "pas de module VBA « {module} » (il a {names})."))},
    "no_version_constant": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "no XLWINGS_VERSION constant."), ("fr", "pas de constante XLWINGS_VERSION."))},
    "no_config_sheet": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "no sheet {sheet}."), ("fr", "pas de feuille {sheet}."))},
    "no_config_part": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "the config sheet has no worksheet part."), ("fr", "la feuille de configuration n'a pas de partie."))},
    "no_sheet_data": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "config sheet has no sheetData."), ("fr", "la feuille de configuration n'a pas de sheetData."))},
    "no_dimension": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "config sheet has no dimension."), ("fr", "la feuille de configuration n'a pas de dimension."))},
    "no_ribbon_rel": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "no ribbon relationship to {part}."), ("fr", "pas de relation du ruban vers {part}."))},
    "ribbon_parts": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "unexpected ribbon parts {parts}."), ("fr", "des parties de ruban inattendues : {parts}."))},
    "no_part": {lang: _TEMPLATE_CHANGED[lang] + text for lang, text in (
        ("en", "no part {part}."), ("fr", "pas de partie {part}."))},
})


def addin_build_refusal(reason: str, lang: str, /, **params: Any) -> str:
    """Why the add-in cannot be built (ADDIN_BUILD_REFUSALS), in `lang`."""
    return pick(ADDIN_BUILD_REFUSALS[reason], lang).format(**params)


def patch_refusal(reason: str, lang: str, /, **params: Any) -> str:
    """Why a package cannot be patched (PATCH_REFUSALS), in `lang`."""
    return pick(PATCH_REFUSALS[reason], lang).format(**params)


def usage_line(key: str, lang: str, /, **kw: Any) -> str:
    """A usage error's message (or its frame), in `lang`."""
    return pick(USAGE[key], lang).format(**kw)


def usage_language(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """The language of a usage error: the last `--lang en|fr` (or `--lang=…`) of the command line, else
    French when the locale says so — the first of LC_ALL, LC_MESSAGES, LANG that is set and not empty
    starts with "fr" —, else English. (The run's language, from the inputs, is not known yet.)"""
    args, lang = list(argv), None
    for i, a in enumerate(args):
        if a == "--":
            break
        value = args[i + 1] if a == "--lang" and i + 1 < len(args) else a[7:] if a.startswith("--lang=") else None
        if value in LANGS:
            lang = value
    if lang:
        return lang
    for var in LOCALE_VARS:
        if environ.get(var):
            return "fr" if environ[var].lower().startswith("fr") else "en"
    return "en"


# The Excel functions' errors (salesxl.udfs: a ValueError, #VALUE! in the cell). A function does not know its
# workbook's language (reading it would cost calls to Excel at every recalculation): its message says it in
# English, then in French, " / " between them (docs/addin.md).
UDF_ERRORS = MappingProxyType({
    "not_a_number": {"en": "{what}: not a number: {value!r}", "fr": "{what} : pas un nombre : « {value} »"},
    "not_a_probability": {"en": "probability: not between 0% and 100%: {value!r}",
                          "fr": "probabilité : pas entre 0\u00a0% et 100\u00a0% : « {value} »"},
    "not_a_date": {"en": "{what}: not a date: {value!r}", "fr": "{what} : pas une date : « {value} »"},
    "not_whole": {"en": "{what}: expected a whole number, got {value!r}",
                  "fr": "{what} : un nombre entier est attendu, pas « {value} »"},
    "single_cell": {"en": "expected a single cell", "fr": "une seule cellule est attendue"},
    "same_length": {"en": "the ranges must have the same number of cells",
                    "fr": "les plages doivent avoir le même nombre de cellules"},
    "period_required": {"en": "period start and end are required",
                        "fr": "le début et la fin de la période sont obligatoires"},
    "q_required": {"en": "q is required", "fr": "q est obligatoire"},
    "q_range": {"en": "q must be between 0 and 1, got {value!r}", "fr": "q doit être compris entre 0 et 1, pas « {value} »"},
    "unknown_table": {"en": "unknown table {name!r}", "fr": "tableau inconnu : « {name} »"},
    "no_table": {"en": "the headers match no salesxl table", "fr": "les en-têtes ne correspondent à aucun tableau salesxl"},
})
# the arguments the errors name ({what})
UDF_ARGS = MappingProxyType({
    "amount": {"en": "amount", "fr": "montant"},
    "won": {"en": "won", "fr": "gagné"},
    "objective": {"en": "objective", "fr": "objectif"},
    "q": {"en": "q", "fr": "q"},
    "simulations": {"en": "simulations", "fr": "simulations"},
    "seed": {"en": "seed", "fr": "graine"},
    "period start": {"en": "period start", "fr": "début de période"},
    "period end": {"en": "period end", "fr": "fin de période"},
    "decision date": {"en": "decision date", "fr": "date de décision"},
    "open amount": {"en": "open amount", "fr": "montant en cours"},
    "done": {"en": "done", "fr": "réalisé"},
    "planned": {"en": "planned", "fr": "prévu"},
    "as-of date": {"en": "as-of date", "fr": "date d'arrêté"},
})


def udf_error(key: str, /, **params: Any) -> str:
    """An Excel function's error, in English then French ("… / …"); `what` names an argument (UDF_ARGS)."""
    def say(lang: str) -> str:
        kw = dict(params, what=pick(UDF_ARGS[params["what"]], lang)) if "what" in params else params
        return pick(UDF_ERRORS[key], lang).format(**kw)
    return f"{say('en')} / {say('fr')}"
