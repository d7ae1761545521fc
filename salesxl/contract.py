"""The workbook contract: sheets, tables, columns (EN/FR), required cells, default lists.

Data only. The template builder, the readers, the rules and the live-workbook code all read this
module: a header renamed here is renamed everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Mapping

from salesxl.values import label_key

# Column kinds: how a cell is parsed and validated.
TEXT, DATE, NUMBER, AMOUNT, PERCENT, CODE, INTEGER, FORMULA = (
    "text", "date", "number", "amount", "percent", "code", "integer", "formula")


@dataclass(frozen=True)
class Column:
    key: str
    en: str
    fr: str
    kind: str = TEXT
    required: bool = False
    codes: str | None = None      # name of the list (key of LISTS) for coded columns
    width: float = 14
    computed: bool = False        # native formula written by the template, never typed

    def label(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class Table:
    key: str
    name: str                     # Excel ListObject name
    sheet_en: str
    sheet_fr: str
    columns: tuple[Column, ...]
    required_sheet: bool = True

    def sheet(self, lang: str) -> str:
        return self.sheet_fr if lang == "fr" else self.sheet_en

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def input_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.computed)



SETTINGS = Table("settings", "tblSettings", "Settings", "Paramètres", (
    Column("key", "Key", "Clé", TEXT, True, width=28),
    Column("value", "Value", "Valeur", TEXT, False, width=22),
), required_sheet=False)

REPS = Table("reps", "tblReps", "Reps", "Commerciaux", (
    Column("rep", "Rep", "Commercial", TEXT, True, width=20),
    Column("seniority", "Seniority", "Ancienneté", CODE, False, codes="seniority", width=14),
    Column("period_length", "Period length", "Durée de période", TEXT, False, width=16),
    Column("manager", "Manager", "Manager", TEXT, False, width=18),
), required_sheet=False)

PLANNING = Table("planning", "tblPlanning", "Planning", "Planning", (
    Column("rep", "Rep", "Commercial", TEXT, True, width=18),
    Column("period_start", "Period start", "Début de période", DATE, True, width=15),
    Column("period_end", "Period end", "Fin de période", DATE, True, width=15),
    Column("action", "Action", "Action", CODE, True, codes="actions", width=16),
    Column("planned", "Planned", "Prévu", INTEGER, True, width=10),
    Column("done", "Done", "Réalisé", FORMULA, computed=True, width=10),
    Column("progress", "Progress", "Avancement", FORMULA, computed=True, width=12),
))

OBJECTIVES = Table("objectives", "tblObjectives", "Objectives", "Objectifs", (
    Column("rep", "Rep", "Commercial", TEXT, True, width=18),
    Column("period_start", "Period start", "Début de période", DATE, True, width=15),
    Column("period_end", "Period end", "Fin de période", DATE, True, width=15),
    Column("revenue_objective", "Revenue objective", "Objectif de CA", AMOUNT, True, width=16),
    Column("deals_objective", "Deals objective", "Objectif d'affaires", INTEGER, False, width=16),
    Column("won", "Won", "Gagné", FORMULA, computed=True, width=14),
    Column("weighted_open", "Weighted open", "Pondéré en cours", FORMULA, computed=True, width=16),
    Column("forecast", "Forecast", "Prévision", FORMULA, computed=True, width=14),
    Column("attainment", "Projected attainment", "Atteinte projetée", FORMULA, computed=True, width=16),
))

REPORTING = Table("reporting", "tblReporting", "Reporting", "Reporting", (
    Column("date", "Date", "Date d'action", DATE, True, width=14),
    Column("rep", "Rep", "Commercial", TEXT, True, width=16),
    Column("company", "Company", "Société", TEXT, True, width=18),
    Column("contact", "Contact", "Interlocuteur", TEXT, False, width=16),
    Column("job_title", "Job title", "Fonction", TEXT, False, width=18),
    Column("action", "Action", "Action", CODE, True, codes="actions", width=14),
    Column("result", "Result", "Résultat", CODE, True, codes="results", width=20),
    Column("proposal_ref", "Proposal ref", "Réf. proposition", TEXT, False, width=14),
    Column("reason", "Reason", "Motif", CODE, False, codes="reasons", width=14),
    Column("comment", "Comment", "Commentaire", TEXT, False, width=28),
))

PIPELINE = Table("pipeline", "tblPipeline", "Pipeline", "Carnet commercial", (
    Column("ref", "Ref", "Réf.", TEXT, True, width=10),
    Column("rep", "Rep", "Commercial", TEXT, True, width=16),
    Column("company", "Company", "Société", TEXT, True, width=18),
    Column("contact", "Contact", "Interlocuteur", TEXT, False, width=16),
    Column("description", "Description", "Description", TEXT, False, width=24),
    Column("amount", "Amount", "Montant", AMOUNT, True, width=13),
    Column("probability", "Probability", "Probabilité", PERCENT, False, width=12),
    Column("stage", "Stage", "Étape", CODE, False, codes="stages", width=18),
    Column("sent_on", "Sent on", "Date d'envoi", DATE, False, width=13),
    Column("decision_date", "Decision date", "Date de décision prévue", DATE, False, width=15),
    Column("status", "Status", "Statut", CODE, True, codes="statuses", width=11),
    Column("loss_reason", "Loss reason", "Motif de perte", CODE, False, codes="reasons", width=15),
    Column("weighted", "Weighted", "Pondéré", FORMULA, computed=True, width=13),
))

TABLES = MappingProxyType({t.key: t for t in (SETTINGS, REPS, PLANNING, OBJECTIVES, REPORTING, PIPELINE)})

# Optional / generated sheets.
SHEETS = MappingProxyType({
    "instructions": {"en": "Instructions", "fr": "Mode d'emploi"},
    "lists": {"en": "Lists", "fr": "Listes"},
    "issues": {"en": "Issues", "fr": "Anomalies"},
    "forecast": {"en": "Forecast", "fr": "Prévisions"},
    "review": {"en": "Review – {rep}", "fr": "Entretien – {rep}"},
})


# ---------------------------------------------------------------------------------------------
# Lists. Each item: a canonical key (the English label), both labels and an attribute.
@dataclass(frozen=True)
class Item:
    en: str
    fr: str
    attr: object = None           # outcome class for results, default probability for stages

    @property
    def key(self) -> str:
        return self.en

    def label(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class ListSpec:
    key: str
    table: str                    # ListObject name on the Lists sheet
    title_en: str
    title_fr: str
    items: tuple[Item, ...]
    attr_en: str | None = None
    attr_fr: str | None = None

    def lookup(self) -> Mapping[str, Item]:
        """Normalised EN and FR labels -> item (the first item holding the label)."""
        return MappingProxyType(self._by_label)

    def label_of(self, key: str, lang: str) -> str | None:
        """The label in `lang` of the item whose canonical key is `key`; None when there is none."""
        it = self._by_key.get(key)
        return None if it is None else it.label(lang)

    @cached_property
    def _by_label(self) -> dict[str, Item]:
        out: dict[str, Item] = {}
        for it in self.items:
            out.setdefault(label_key(it.en), it)
            out.setdefault(label_key(it.fr), it)
        return out

    @cached_property
    def _by_key(self) -> dict[str, Item]:
        out: dict[str, Item] = {}
        for it in self.items:
            out.setdefault(it.key, it)
        return out


POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
OUTCOME_LABELS = MappingProxyType({
    POSITIVE: {"en": "positive", "fr": "positif"},
    NEUTRAL: {"en": "neutral", "fr": "neutre"},
    NEGATIVE: {"en": "negative", "fr": "négatif"},
})

ACTIONS = ListSpec("actions", "tblActions", "Actions", "Actions", (
    Item("Call", "Appel"), Item("Visit", "Visite"), Item("Negotiation", "Négociation"),
    Item("Proposal", "Proposition"), Item("Follow-up", "Relance"), Item("Demo", "Démonstration"),
))
RESULTS = ListSpec("results", "tblResults", "Results", "Résultats", (
    Item("Proposal", "Proposition", POSITIVE), Item("Order", "Commande", POSITIVE),
    Item("Meeting set", "Rendez-vous obtenu", POSITIVE),
    Item("Revise proposal", "Revoir la proposition", NEUTRAL), Item("Follow up", "À relancer", NEUTRAL),
    Item("No need", "Pas de besoin", NEGATIVE), Item("Lost", "Perdu", NEGATIVE),
), "Outcome", "Issue")
STATUSES = ListSpec("statuses", "tblStatuses", "Statuses", "Statuts", (
    Item("Open", "En cours"), Item("Won", "Gagné"), Item("Lost", "Perdu"),
))
STAGES = ListSpec("stages", "tblStages", "Stages", "Étapes", (
    Item("Lead", "Piste", 0.10), Item("Qualified", "Qualifiée", 0.25),
    Item("Proposal sent", "Proposition envoyée", 0.50), Item("Negotiation", "Négociation", 0.70),
    Item("Verbal agreement", "Accord verbal", 0.90),
), "Default probability", "Probabilité par défaut")
REASONS = ListSpec("reasons", "tblReasons", "Reasons", "Motifs", (
    Item("Price", "Prix"), Item("Competitor", "Concurrent"), Item("No budget", "Pas de budget"),
    Item("No need", "Pas de besoin"), Item("Timing", "Calendrier"), Item("Other", "Autre"),
))
SENIORITY = ListSpec("seniority", "tblSeniority", "Seniority", "Ancienneté", (
    Item("junior", "junior", "1w"), Item("confirmed", "confirmé", "1m"), Item("senior", "senior", "3m"),
), "Default period", "Période par défaut")

LISTS = MappingProxyType({s.key: s for s in (ACTIONS, RESULTS, STATUSES, STAGES, REASONS, SENIORITY)})

# The Lists sheet holds one table per list, with these columns (the third only where the list has
# an attribute: the outcome class of a result, the default probability of a stage).
LIST_EN = Column("en", "English", "Anglais", TEXT, True, width=22)
LIST_FR = Column("fr", "French", "Français", TEXT, True, width=22)


def list_table(spec: ListSpec) -> Table:
    cols = [LIST_EN, LIST_FR]
    if spec.attr_en:
        kind = PERCENT if spec.key == "stages" else TEXT
        cols.append(Column("attr", spec.attr_en, spec.attr_fr or spec.attr_en, kind, False, width=20))
    return Table(spec.key, spec.table, "Lists", "Listes", tuple(cols), required_sheet=False)


LIST_TABLES = MappingProxyType({s.key: list_table(s) for s in LISTS.values()})

OPEN, WON, LOST = "Open", "Won", "Lost"

# Settings keys (canonical key, EN label, FR label, default value).
@dataclass(frozen=True)
class Setting:
    key: str
    en: str
    fr: str
    default: object
    help_en: str
    help_fr: str


SETTINGS_KEYS = (
    Setting("language", "Language", "Langue", "en", "en or fr", "en ou fr"),
    Setting("currency", "Currency", "Devise", "EUR", "ISO code shown in reviews", "code ISO affiché dans les entretiens"),
    Setting("as_of", "As-of date", "Date d'arrêté", None, "blank = today", "vide = aujourd'hui"),
    Setting("on_track", "On-track threshold", "Seuil « en bonne voie »", 0.7,
            "P(reach objective) at or above: on track", "P(atteindre l'objectif) au moins égale : en bonne voie"),
    Setting("at_risk", "At-risk threshold", "Seuil « à risque »", 0.3,
            "P(reach objective) at or above: at risk; below: off track",
            "P(atteindre l'objectif) au moins égale : à risque ; en dessous : hors trajectoire"),
    Setting("simulations", "Simulations", "Simulations", 10000, "Monte Carlo draws", "tirages Monte Carlo"),
    Setting("seed", "Random seed", "Graine aléatoire", 20030404, "fixed for reproducible reviews",
            "fixe pour des entretiens reproductibles"),
    Setting("inbox", "Inbox folder", "Dossier de réception", "", "where rep workbooks arrive (Consolidate)",
            "où arrivent les classeurs des commerciaux (Consolider)"),
    Setting("outbox", "Outbox folder", "Dossier d'envoi", "", "where New period writes rep workbooks",
            "où Nouvelle période écrit les classeurs des commerciaux"),
)
SETTING_BY_LABEL = MappingProxyType({
    **{label_key(s.en): s for s in SETTINGS_KEYS},
    **{label_key(s.fr): s for s in SETTINGS_KEYS},
    **{label_key(s.key): s for s in SETTINGS_KEYS},
})

# Settings that drive computations: the range a value must be in (out of range: reported by validate as
# SETTING_OUT_OF_RANGE, clamped at compute time; not a number: the default). Simulations = 1e9 would
# allocate gigabytes per rep; a threshold above 100 % would put every rep off track.
SETTING_LIMITS = MappingProxyType({
    "simulations": (100, 100_000),
    "on_track": (0.0, 1.0),
    "at_risk": (0.0, 1.0),
    "seed": (0, 2 ** 63 - 1),
})
SETTING_DEFAULTS = MappingProxyType({s.key: s.default for s in SETTINGS_KEYS})
DEFAULT_CURRENCY: str = SETTING_DEFAULTS["currency"]


def currency_code(settings: Mapping[str, object]) -> str:
    """The currency a run shows (reviews, the Forecast sheet): the Settings' Currency, trimmed, else the
    declared default (Settings' Currency: DEFAULT_CURRENCY)."""
    raw = settings.get("currency")
    return (str(raw).strip() if raw else "") or DEFAULT_CURRENCY


@dataclass(frozen=True)
class SettingValue:
    """A computation setting as used: `value`, and `problem` ("range", "number", "order") when the value
    typed was not used as is (`typed`)."""
    key: str
    value: float | int
    typed: object = None
    problem: str | None = None


def setting_value(settings: Mapping[str, object], key: str) -> SettingValue:
    """The value of a computation setting (SETTING_LIMITS) as the computations use it: the typed value
    when it is a number within its range, clamped when out of range, the default when not a number.
    `at_risk` above `on_track` is taken as `on_track` (problem "order")."""
    from salesxl.values import parse_number, parse_probability
    default = SETTING_DEFAULTS[key]
    low, high = SETTING_LIMITS[key]
    raw = settings.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return SettingValue(key, default)
    if key in ("on_track", "at_risk"):
        p = parse_probability(raw)
        x = p.value
        if x is None:           # outside 0–100 %, or not a number: a number beyond the range is clamped
            n = _number(raw.replace("%", "") if isinstance(raw, str) else raw, parse_number)
            x = None if n is None else (n / 100 if abs(n) > 1 else n)
            if x is None:
                return SettingValue(key, default, raw, "number")
    else:
        x = _number(raw, parse_number)
        if x is None:
            return SettingValue(key, default, raw, "number")
    problem = None
    if x in (float("inf"), float("-inf")) or x < low or x > high:
        x, problem = min(max(x, low), high), "range"
    if key in ("simulations", "seed"):
        if x != int(x):
            problem = problem or "range"
        x = int(round(x))
    if key == "at_risk" and problem is None:
        on_track = setting_value(settings, "on_track").value
        if x > on_track:
            return SettingValue(key, on_track, raw, "order")
    return SettingValue(key, x, raw, problem)


def _number(raw: object, parse_number) -> float | None:
    """A number typed in a Settings cell: as the tables read numbers, else as Python does ('1e9')."""
    if isinstance(raw, bool):
        return None
    x = parse_number(raw).value
    if x is None and isinstance(raw, str):
        try:
            x = float(raw.strip().replace(",", "."))
        except ValueError:
            return None
    return None if x is None or x != x else float(x)


DEFAULT_PERIOD = MappingProxyType({it.key: it.attr for it in SENIORITY.items})


def header_lookup(table: Table) -> dict[str, Column]:
    """Normalised EN and FR header -> column, for matching a header row in either language."""
    out: dict[str, Column] = {}
    for c in table.columns:
        out.setdefault(label_key(c.en), c)
        out.setdefault(label_key(c.fr), c)
        out.setdefault(label_key(c.key), c)
    return out


# The provenance columns the team workbook adds to each consolidated table (file, sheet, Excel row of
# every line): what tells a salesxl team workbook from a rep's (it is never re-imported as a rep's).
PROVENANCE_LABELS = {"_file": ("Source file", "Fichier source"), "_sheet": ("Source sheet", "Feuille source"),
                     "_row": ("Source row", "Ligne source")}
