"""Every issue code, declared once: severity, file level, effect on the computations, messages EN/FR,
whether it can mark a cell and which guide documents it.

Everything else is derived from `CODES`: `issues.SEVERITY` and `issues.FILE_LEVEL_CODES`, the messages
(`i18n.MESSAGES`, `i18n.message`), the Issues sheet's Effect column (`issues.effect`), which issues the
add-in's Validate marks in the data (`IssueCode.marks_cell`). `tests/test_issue_codes.py` checks the
guides' tables of codes (docs/guide_{rep,manager}_{en,fr}.md) against it.

**Adding a code** is one edit here: append an `IssueCode(...)` to `_DECLARED` with

- ``severity`` — ERROR or WARNING (SPEC §3: every file-level code is an error);
- ``en`` / ``fr`` — the message; placeholders ``{column} {value} {sheet} {row} {file}`` are always
  given, others come from the ``make_issue(code, ..., name=value)`` call (French uses *vous*);
- ``file_level=True`` when the whole file could not be read (its effect is then "file not read",
  it marks no cell and the file's status is ``unreadable``);
- ``effect`` — what the computations did about it, as an ``(en, fr)`` pair (none by default);
- ``marks_cell=False`` when its row/column does not point at a typed cell;
- ``warning_in`` — the code lists (e.g. ``("reasons",)``) in whose columns an error code is only a
  warning, with ``effect_as_warning`` (the rules read it through ``severity_in``);
- ``outside_table=True`` for what is typed outside a table: said for every table, Settings and Lists
  too (``OUTSIDE_TABLE_CODES``, ``read_xlsx.outside_issues``);
- ``guide`` — REP or MANAGER: the guide whose table of codes documents it (then add the row to
  both languages of that guide; the test names what is missing).

Core module: plain data, no import beyond the standard library.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ERROR", "WARNING", "REP", "MANAGER", "IssueCode", "CODES", "OUTSIDE_TABLE_CODES"]

ERROR = "error"
WARNING = "warning"
REP = "rep"            # documented in docs/guide_rep_{en,fr}.md
MANAGER = "manager"    # documented in docs/guide_manager_{en,fr}.md

Text = tuple[str, str]  # (English, French)

VALUE_LEFT_OUT: Text = ("value left out of the computations; row kept",
                        "valeur exclue des calculs ; ligne conservée")
FILE_NOT_READ: Text = ("file not read", "fichier non lu")


@dataclass(frozen=True)
class IssueCode:
    """One issue code and every fact about it (see the module docstring)."""
    code: str
    severity: str
    en: str
    fr: str
    file_level: bool = False
    effect: Text | None = None
    effect_as_warning: Text | None = None   # its effect where it is only a warning (`warning_in`)
    warning_in: tuple[str, ...] = ()        # the code lists (contract.LISTS keys) whose columns it only warns about
    marks_cell: bool = True
    outside_table: bool = False             # about what is typed outside a table: said for every table, Settings too
    guide: str = REP

    def __post_init__(self):
        if self.severity not in (ERROR, WARNING):
            raise ValueError(f"{self.code}: severity {self.severity!r}")
        if self.guide not in (REP, MANAGER):
            raise ValueError(f"{self.code}: guide {self.guide!r}")
        if self.file_level:
            if self.severity != ERROR:
                raise ValueError(f"{self.code}: a file-level code is an error")
            object.__setattr__(self, "effect", self.effect or FILE_NOT_READ)
            object.__setattr__(self, "marks_cell", False)
            object.__setattr__(self, "guide", MANAGER)
        if self.warning_in and (self.severity != ERROR or self.effect_as_warning is None):
            raise ValueError(f"{self.code}: warning_in needs an error code and its effect_as_warning")

    def severity_in(self, codes: str | None) -> str:
        """Its severity in a column of the code list `codes` (None: a column without a list)."""
        return WARNING if codes is not None and codes in self.warning_in else self.severity

    @property
    def messages(self) -> dict[str, str]:
        return {"en": self.en, "fr": self.fr}

    def effect_text(self, lang: str, severity: str | None = None) -> str:
        """What the computations did about an issue of this code ('' when nothing)."""
        effect = self.effect
        if severity == WARNING and self.severity == ERROR and self.effect_as_warning:
            effect = self.effect_as_warning
        if effect is None:
            return ""
        return effect[1] if lang == "fr" else effect[0]


_DECLARED = (
    # cell and row level
    IssueCode('MISSING_VALUE', ERROR,
              en='{column} is required and is empty.',
              fr="{column} est obligatoire et n'est pas renseigné.",
              effect=('missing: left out of the computations; row kept', 'manquant : exclu des calculs ; ligne conservée'), guide=REP),
    IssueCode('UNKNOWN_VALUE', ERROR,
              en="'{value}' is not in the list for {column} (allowed: {allowed}).",
              fr='« {value} » ne fait pas partie de la liste pour {column} (valeurs possibles : {allowed}).',
              effect=VALUE_LEFT_OUT, effect_as_warning=('kept as typed', 'conservé tel quel'),
              warning_in=("reasons",), guide=REP),      # an unlisted Reason is kept (the list is open)
    IssueCode('BAD_DATE', ERROR,
              en="'{value}' in {column} is not a date that can be read without guessing ({reason}). Use a real date or day/month/year.",
              fr="« {value} » dans {column} n'est pas une date lisible sans deviner ({reason}). Saisissez une vraie date ou jour/mois/année.",
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('DATE_OUT_OF_PERIOD', WARNING,
              en='{column} {value} falls outside every period planned for {rep}: a late entry or a typo?',
              fr='{column} {value} est en dehors de toutes les périodes prévues pour {rep} : saisie tardive ou faute de frappe ?',
              guide=REP),
    IssueCode('FUTURE_DATE', WARNING,
              en='{column} {value} is after the as-of date {as_of}: an action not yet carried out?',
              fr="{column} {value} est postérieure à la date d'arrêté {as_of} : action pas encore réalisée ?",
              guide=REP),
    IssueCode('BAD_NUMBER', ERROR,
              en="'{value}' in {column} is not a number.",
              fr="« {value} » dans {column} n'est pas un nombre.",
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('NUMBER_NORMALISED', WARNING,
              en="'{value}' in {column} was typed as text; read as {number}.",
              fr='« {value} » dans {column} a été saisi comme texte ; lu comme {number}.',
              effect=('read as a number', 'lu comme un nombre'), guide=REP),
    IssueCode('PROBABILITY_RANGE', ERROR,
              en="Probability '{value}' is outside 0–100 %.",
              fr='La probabilité « {value} » est hors de 0–100 %.',
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('PROBABILITY_NORMALISED', WARNING,
              en="Probability '{value}' read as {percent}; format the cell as a percentage.",
              fr='Probabilité « {value} » lue comme {percent} ; formatez la cellule en pourcentage.',
              effect=('read as a percentage', 'lu comme un pourcentage'), guide=REP),
    IssueCode('PROBABILITY_DEFAULTED', WARNING,
              en="Probability is empty; the default of stage '{stage}' ({percent}) is used.",
              fr="Probabilité vide ; la valeur par défaut de l'étape « {stage} » ({percent}) est utilisée.",
              effect=("the stage's default probability is used", "probabilité par défaut de l'étape utilisée"), guide=REP),
    IssueCode('NEGATIVE_AMOUNT', ERROR,
              en='Amount {value} is negative.',
              fr='Le montant {value} est négatif.',
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('DUPLICATE_ROW', WARNING,
              en='Same row as row {other_row}: two real actions, or typed twice?',
              fr='Ligne identique à la ligne {other_row} : deux actions réelles, ou saisie en double ?',
              guide=REP),
    IssueCode('DUPLICATE_REF', ERROR,
              en="Proposal reference '{value}' is used again (first at row {other_row}).",
              fr='La référence de proposition « {value} » est déjà utilisée (ligne {other_row}).',
              guide=REP),
    IssueCode('STATUS_PROBABILITY_MISMATCH', WARNING,
              en='Status {status} with probability {percent}: check the status or the last estimate.',
              fr='Statut {status} avec une probabilité de {percent} : vérifiez le statut ou la dernière estimation.',
              guide=REP),
    IssueCode('OVERDUE_PROPOSAL', WARNING,
              en="Open proposal '{ref}' was due for a decision on {date} ({ago}): worth a follow-up.",
              fr="La proposition « {ref} » attendait une décision le {date} ({ago}) : une relance s'impose.",
              guide=REP),
    IssueCode('PROPOSAL_NOT_IN_PIPELINE', WARNING,
              en="Proposal reference '{value}' is not in the pipeline.",
              fr="La référence de proposition « {value} » n'est pas dans le carnet commercial.",
              guide=REP),
    IssueCode('UNKNOWN_REP', ERROR,
              en="Rep '{value}' is not in the Reps sheet.",
              fr="Le commercial « {value} » n'est pas dans la feuille Commerciaux.",
              guide=REP),
    IssueCode('PERIOD_OVERLAP', ERROR,
              en='Period {value} overlaps the period at row {other_row} for {rep}.',
              fr='La période {value} chevauche la période de la ligne {other_row} pour {rep}.',
              guide=REP),
    IssueCode('BAD_PERIOD', ERROR,
              en='Period end {value} is before its start {start}.',
              fr='La fin de période {value} précède son début {start}.',
              guide=REP),
    IssueCode('HEADER_MISMATCH', ERROR,
              en="Sheet {sheet}: column '{expected}' was not found in the header row (found: {found}).",
              fr="Feuille {sheet} : la colonne « {expected} » est introuvable dans la ligne d'en-tête (trouvées : {found}).",
              effect=('column not read', 'colonne non lue'), marks_cell=False, guide=REP),
    IssueCode('SHEET_NOT_FOUND', ERROR,
              en="Sheet '{expected}' was not found (sheets in the file: {found}).",
              fr='Feuille « {expected} » introuvable (feuilles du fichier : {found}).',
              effect=('sheet not read', 'feuille non lue'), marks_cell=False, guide=REP),
    IssueCode('CELL_ERROR', ERROR,
              en='{column} holds the error {value}.',
              fr="{column} contient l'erreur {value}.",
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('MISSING_CACHED_VALUE', ERROR,
              en='{column} holds a formula with no saved result; open and save the file in Excel.',
              fr='{column} contient une formule sans résultat enregistré ; ouvrez et enregistrez le fichier dans Excel.',
              effect=VALUE_LEFT_OUT, guide=REP),
    IssueCode('MERGED_CELL', WARNING,
              en='Merged cells in a table ({value}): only the first cell holds the value.',
              fr='Cellules fusionnées dans un tableau ({value}) : seule la première cellule contient la valeur.',
              guide=REP),
    IssueCode('ROWS_OUTSIDE_TABLE', WARNING,
              en='{where} table {table} are outside the table: they are read as its data. Extend the table '
                 'to include them (drag its bottom-right corner, or Table Design › Resize Table).',
              fr='{where} tableau {table} sont hors du tableau : elles sont lues comme ses données. '
                 'Agrandissez le tableau pour les inclure (faites glisser son coin inférieur droit, ou '
                 'Création de tableau › Redimensionner le tableau).',
              effect=('rows read as data of the table', 'lignes lues comme données du tableau'),
              marks_cell=False, outside_table=True, guide=REP),
    IssueCode('COLUMNS_NOT_READ', WARNING,
              en='{where} table {table} hold data under no column header of the table: they are not read. '
                 'Type them in a column of the table, or give the column one of its headers.',
              fr='{where} tableau {table} contiennent des données sous aucun en-tête de colonne du tableau : '
                 'elles ne sont pas lues. Saisissez-les dans une colonne du tableau, ou donnez à la colonne '
                 "l'un de ses en-têtes.",
              effect=('not read', 'non lues'), marks_cell=False, outside_table=True, guide=REP),
    IssueCode('SETTING_OUT_OF_RANGE', WARNING,
              en="'{value}' for {setting} is outside {allowed}: {used} is used instead.",
              fr="« {value} » pour {setting} est hors de {allowed} : {used} est utilisé à la place.",
              effect=('bounded value used', 'valeur bornée utilisée'), guide=MANAGER),
    IssueCode('TEXT_TRUNCATED', WARNING,
              en='{column} holds {length} characters, more than an Excel cell can (32,767): the team workbook '
                 'keeps the first 32,767.',
              fr="{column} contient {length} caractères, plus qu'une cellule Excel ne peut en contenir (32 767) : "
                 "le classeur d'équipe garde les 32 767 premiers.",
              effect=('text cut in the team workbook', "texte coupé dans le classeur d'équipe"), guide=REP),
    IssueCode('TABLE_TOO_LONG', ERROR,
              en='The {table} table has {rows} rows, more than a sheet holds ({limit}): the rows from {file} '
                 'row {row} on are not in this sheet. Consolidate fewer files at a time.',
              fr="Le tableau {table} compte {rows} lignes, plus qu'une feuille n'en contient ({limit}) : les "
                 "lignes à partir de {file} ligne {row} ne sont pas dans cette feuille. Consolidez moins de "
                 "fichiers à la fois.",
              effect=('rows not in the sheet; the forecast and the JSON output have them',
                      'lignes absentes de la feuille ; les prévisions et la sortie JSON les ont'),
              marks_cell=False, guide=MANAGER),
    IssueCode('ROWS_AFTER_EMPTY_ROW', WARNING,
              en='{where} table {table}, after an empty row, are not read as its data: delete the empty '
                 'row(s) above them, or extend the table over them.',
              fr='{where} tableau {table}, après une ligne vide, ne sont pas lues comme ses données : '
                 'supprimez la ou les lignes vides au-dessus, ou agrandissez le tableau pour les inclure.',
              effect=('not read', 'non lues'), marks_cell=False, outside_table=True, guide=REP),
    IssueCode('LOCK_FILE_SKIPPED', WARNING,
              en='Excel lock file skipped.',
              fr='Fichier de verrou Excel ignoré.',
              effect=('skipped', 'ignoré'), guide=MANAGER),
    IssueCode('SUBFOLDER_SKIPPED', WARNING,
              en='Subfolder not read (folders are read one level deep; use --recursive to read it).',
              fr='Sous-dossier non lu (les dossiers sont lus sur un niveau ; utilisez --recursive pour le lire).',
              effect=('skipped', 'ignoré'), marks_cell=False, guide=MANAGER),
    IssueCode('FOLDER_NOT_READ', ERROR,
              en='The folder could not be listed ({detail}): its files were not read.',
              fr="Le dossier n'a pas pu être parcouru ({detail}) : ses fichiers n'ont pas été lus.",
              effect=('skipped', 'ignoré'), marks_cell=False, guide=MANAGER),
    IssueCode('DUPLICATE_FILE', WARNING,
              en='Same workbook as {other}: counted once.',
              fr='Même classeur que {other} : compté une seule fois.',
              effect=('not counted again', 'non compté une seconde fois'), guide=MANAGER),
    IssueCode('SUPERSEDED', WARNING,
              en='{rep} is also in {other}, submitted later ({other_saved}; this file {saved}): the newest '
                 'submission counts, the rows of {rep} here are left out.',
              fr='{rep} figure aussi dans {other}, envoyé plus tard ({other_saved} ; ce fichier {saved}) : '
                 "seul l'envoi le plus récent compte, les lignes de {rep} ici sont écartées.",
              effect=('left out: a newer submission counts', "écarté : un envoi plus récent compte"),
              marks_cell=False, guide=MANAGER),
    IssueCode('TEAM_WORKBOOK_SKIPPED', WARNING,
              en='A salesxl team workbook (its tables have the source file, sheet and row columns): not '
                 'read as a rep\'s workbook (--team-workbooks to read it anyway).',
              fr="Un classeur d'équipe salesxl (ses tableaux ont les colonnes fichier, feuille et ligne "
                 "source) : non lu comme le classeur d'un commercial (--team-workbooks pour le lire quand même).",
              effect=('not read: nothing counted twice', 'non lu : rien compté deux fois'),
              marks_cell=False, guide=MANAGER),
    IssueCode('REF_IN_TWO_PLACES', ERROR,
              en='Ref {value} ({rep}) is also in {other}, sheet {other_sheet}, row {other_row} ({other_rep}): '
                 'give each proposal its own reference.',
              fr='La réf. {value} ({rep}) figure aussi dans {other}, feuille {other_sheet}, ligne {other_row} '
                 '({other_rep}) : donnez à chaque proposition sa propre référence.',
              effect=('both rows kept: check which one is right', 'les deux lignes conservées : vérifiez laquelle est juste'),
              guide=MANAGER),
    # file level (the whole file could not be read)
    IssueCode('FILE_EMPTY', ERROR,
              en='The file is empty ({detail}).',
              fr='Le fichier est vide ({detail}).',
              file_level=True),
    IssueCode('FILE_NOT_FOUND', ERROR,
              en='The file does not exist or cannot be opened ({detail}).',
              fr="Le fichier n'existe pas ou ne peut pas être ouvert ({detail}).",
              file_level=True),
    IssueCode('NOT_XLSX', ERROR,
              en='Not an Excel workbook ({detail}).',
              fr="Ce n'est pas un classeur Excel ({detail}).",
              file_level=True),
    IssueCode('LEGACY_XLS', ERROR,
              en='Old Excel .xls format ({detail}): open it in Excel and save it as .xlsx.',
              fr='Ancien format Excel .xls ({detail}) : ouvrez-le dans Excel et enregistrez-le en .xlsx.',
              file_level=True),
    IssueCode('ENCRYPTED', ERROR,
              en='The workbook is password-protected (encrypted: {detail}): remove the password to consolidate it.',
              fr='Le classeur est protégé par mot de passe (chiffré : {detail}) : retirez le mot de passe pour le consolider.',
              file_level=True),
    IssueCode('CORRUPT_ZIP', ERROR,
              en='The file is damaged (truncated or corrupted archive: {detail}).',
              fr='Le fichier est endommagé (archive tronquée ou corrompue : {detail}).',
              file_level=True),
    IssueCode('NOT_SPREADSHEETML', ERROR,
              en='An Office file but not an .xlsx workbook ({detail}).',
              fr='Un fichier Office mais pas un classeur .xlsx ({detail}).',
              file_level=True),
    IssueCode('UNSUPPORTED_STRICT', ERROR,
              en="Strict Open XML workbooks are not supported ({detail}): save as 'Excel Workbook (.xlsx)'.",
              fr='Les classeurs Open XML strict ne sont pas pris en charge ({detail}) : enregistrez en « Classeur Excel (.xlsx) ».',
              file_level=True),
    IssueCode('UNSAFE_XML', ERROR,
              en='The workbook contains unsafe XML ({detail}) and was not read.',
              fr="Le classeur contient du XML dangereux ({detail}) et n'a pas été lu.",
              file_level=True),
    IssueCode('TOO_LARGE', ERROR,
              en='The file exceeds the safety limits ({detail}) and was not read.',
              fr="Le fichier dépasse les limites de sécurité ({detail}) et n'a pas été lu.",
              file_level=True),
    IssueCode('READ_TIMEOUT', ERROR,
              en='Reading the file took longer than {seconds} s and was stopped.',
              fr='La lecture du fichier a dépassé {seconds} s et a été interrompue.',
              file_level=True),
    IssueCode('READ_FAILED', ERROR,
              en='The file could not be read: {reason}. Open it in Excel and save it as .xlsx again '
                 '(File › Save As › Excel Workbook), then run again.',
              fr="Le fichier n'a pas pu être lu : {reason}. Ouvrez-le dans Excel et enregistrez-le à "
                 "nouveau en .xlsx (Fichier › Enregistrer sous › Classeur Excel), puis relancez.",
              file_level=True),
)

CODES: MappingProxyType = MappingProxyType({c.code: c for c in _DECLARED})
if len(CODES) != len(_DECLARED):  # pragma: no cover - caught at import by every test
    raise ValueError("an issue code is declared twice")
OUTSIDE_TABLE_CODES = frozenset(c.code for c in _DECLARED if c.outside_table)
