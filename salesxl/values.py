"""Parsing typed cell values: labels, dates (day-first, FR/EN), numbers, percentages, errors.

Every parser returns a `Parsed(value, status, detail)`:
- status "ok": the cell held a value of the right type;
- "normalised": text or an out-of-convention number was read (the caller warns);
- "empty": nothing there (None or blank text) — never the same as 0;
- "bad": not interpretable (detail says why); never guessed.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

OK, NORMALISED, EMPTY, BAD = "ok", "normalised", "empty", "bad"

CELL_ERRORS = frozenset({
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!",
    "#N/D", "#VALEUR!", "#REF!", "#DIV/0!", "#NOMBRE!", "#NOM?", "#NUL!",
})

_SPACES = "\u00a0\u202f\u2007\u2009\u200a\u2008\u2006\u2005\u2004\u2003\u2002\u3000"
_SPACE_RE = re.compile(r"[\s" + _SPACES + r"]+")


class Parsed(NamedTuple):
    value: Any
    status: str
    detail: str = ""


EMPTY_PARSED = Parsed(None, EMPTY)


@lru_cache(maxsize=4096)
def label_key(text: str) -> str:
    """Normalise a label for matching: case, accents, Unicode form and spaces ignored."""
    s = str(text)
    if not s.isascii():         # (ASCII text is its own NFKD form and holds no combining mark)
        s = unicodedata.normalize("NFKD", s)
        s = _COMBINING_LATIN.sub("", s)             # the usual accents, then any other combining mark
        if not s.isascii():
            s = "".join(ch for ch in s if not unicodedata.combining(ch))
        s = s.replace("’", "'").replace("‘", "'")
    s = s.replace("`", "'")
    s = _SPACE_RE.sub(" ", s).strip().casefold()
    return s


def rep_key(v: Any) -> str | None:
    """The key a rep is known by (label_key of their name), None for a blank or non-text cell."""
    return label_key(v) if isinstance(v, str) and v.strip() else None


# the combining marks of the Combining Diacritical Marks block (those of accented Latin letters once
# decomposed): removed by one regex before the general, per-character test
_COMBINING_LATIN = re.compile("[" + "".join(chr(c) for c in range(0x300, 0x370) if unicodedata.combining(chr(c)))
                              + "]")


def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()          # str.strip() removes every Unicode space (NBSP, thin spaces…)
    if isinstance(v, float) and math.isnan(v):
        return True
    return False


def is_cell_error(v: Any) -> bool:
    return isinstance(v, str) and "#" in v and v.strip().upper() in CELL_ERRORS


def may_hold_cell_errors(values: Sequence[Any]) -> bool:
    """False when no value of `values` is a str holding "#" (then none is a cell error, see
    is_cell_error, nor anything a caller testing `type(v) is str and "#" in v` would look at)."""
    types = set(map(type, values))
    if str not in types:
        return False
    if types <= _STR_OR_NONE:
        return "#" in "\x00".join(filter(None, values))
    return any(type(v) is str and "#" in v for v in values)


_STR_OR_NONE = frozenset({str, type(None)})


def clean_text(v: Any) -> str | None:
    """Text as typed, trimmed; numbers become their shortest text (a company called 3M, a ref 1024)."""
    if is_blank(v):
        return None
    if isinstance(v, str):
        return v.strip().replace("\u00a0", " ")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()[:10]
    return str(v)


# ---------------------------------------------------------------------------------------------
# Dates
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_SERIAL, MAX_SERIAL = 1, 2958465          # 1900-01-01 .. 9999-12-31

MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
    # French (accents removed by label_key)
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "octobre": 10, "novembre": 11, "decembre": 12, "dece": 12,
}
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "mon", "tue", "wed", "thu", "fri", "sat", "sun",
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"}

_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/\-.](\d{1,2})[/\-.](\d{1,4})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_WORD_TOKEN = re.compile(r"[a-z]+|\d+")


def _year(y: int, digits: int) -> int | None:
    if digits == 4:
        return y
    if digits == 2:
        return 2000 + y if y < 70 else 1900 + y
    return None


def _make_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def serial_to_date(serial: float) -> dt.date:
    days = int(math.floor(serial))
    if days < 60:            # Excel's fictitious 1900-02-29 (serial 60): serials 1-59 start a day later
        days += 1
    return EXCEL_EPOCH + dt.timedelta(days=days)


def parse_date(value: Any) -> Parsed:
    """A real date, an Excel serial, or day-first text in French or English. Never month-first."""
    if is_blank(value):
        return EMPTY_PARSED
    if isinstance(value, dt.datetime):
        return Parsed(value.date(), OK)
    if isinstance(value, dt.date):
        return Parsed(value, OK)
    if isinstance(value, bool):
        return Parsed(None, BAD, "not a date")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return Parsed(None, BAD, "not a date")
        if MIN_SERIAL <= value <= MAX_SERIAL:
            return Parsed(serial_to_date(value), NORMALISED, "serial")
        return Parsed(None, BAD, "number out of the date range")
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return Parsed(value.to_pydatetime().date(), OK)
    text = label_key(str(value))
    m = _NUMERIC_DATE.match(text)
    if m:
        a, b, c = m.group(1), m.group(2), m.group(3)
        if len(a) == 4:                                  # ISO-like year first: y-m-d
            d = _make_date(int(a), int(b), int(c)) if len(c) <= 2 else None
            return Parsed(d, NORMALISED) if d else Parsed(None, BAD, "no such day")
        year = _year(int(c), len(c))
        if year is None:
            return Parsed(None, BAD, "year unclear")
        day, month = int(a), int(b)
        if month > 12 and day <= 12:
            return Parsed(None, BAD, "month-first? day/month/year expected")
        d = _make_date(year, month, day)
        return Parsed(d, NORMALISED) if d else Parsed(None, BAD, "no such day")
    tokens = _WORD_TOKEN.findall(text.replace("1er", "1"))
    tokens = [t for t in tokens if t not in WEEKDAYS and t not in ("le", "the", "of", "de", "du", "st", "nd", "rd", "th")]
    nums = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if not t.isdigit()]
    if len(words) == 1 and words[0] in MONTHS and len(nums) == 2 and len(tokens) == 3:
        month = MONTHS[words[0]]
        # the day is the 1-2 digit number, the year the 4 (or 2) digit one, whatever the order
        small = [n for n in nums if len(n) <= 2]
        big = [n for n in nums if len(n) == 4]
        if len(big) == 1 and len(small) == 1:
            d = _make_date(int(big[0]), month, int(small[0]))
            return Parsed(d, NORMALISED) if d else Parsed(None, BAD, "no such day")
        if len(small) == 2 and tokens.index(words[0]) == 1:   # 4 avril 03
            y = _year(int(nums[1]), len(nums[1]))
            d = _make_date(y, month, int(nums[0])) if y else None
            return Parsed(d, NORMALISED) if d else Parsed(None, BAD, "no such day")
        return Parsed(None, BAD, "year unclear")
    if words and not nums:
        return Parsed(None, BAD, "not a date")
    if len(nums) == 2 and not words:
        return Parsed(None, BAD, "no year")
    return Parsed(None, BAD, "not a date")


# ---------------------------------------------------------------------------------------------
# Numbers
_CURRENCY = re.compile(r"(€|\$|£|eur|euros?|usd|chf|gbp|ht|ttc)", re.IGNORECASE)
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")


def _number_text(text: str, lang: str) -> float | None:
    s = _CURRENCY.sub("", text)
    s = _SPACE_RE.sub("", s).replace("'", "").replace("’", "")
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1]
    if s.startswith(("-", "−")):
        neg, s = True, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if not s:
        return None
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):            # 1.234,56
            s = s.replace(".", "").replace(",", ".")
        else:                                      # 1,234.56
            s = s.replace(",", "")
    elif "," in s:
        if _GROUPED_COMMA.match(s) and lang != "fr":
            s = s.replace(",", "")                 # 1,234 in English
        elif s.count(",") == 1:
            s = s.replace(",", ".")                # 1234,56
        else:
            return None
    elif s.count(".") > 1:
        if _GROUPED_DOT.match(s):
            s = s.replace(".", "")                 # 1.234.567
        else:
            return None
    if not _PLAIN.match(s):
        return None
    x = float(s)
    if not math.isfinite(x):                       # 400 digits of text: not a usable number
        return None
    return -x if neg else x


def parse_number(value: Any, lang: str = "en") -> Parsed:
    """A number, or French/English number text (1 234,56 ; 1,234.56 ; non-breaking spaces)."""
    if is_blank(value):
        return EMPTY_PARSED
    if isinstance(value, bool):
        return Parsed(None, BAD, "boolean")
    if isinstance(value, (int, float)):
        try:
            x = float(value)
        except OverflowError:        # an int cell too large for a float (hand-made XML)
            return Parsed(None, BAD, "not finite")
        if not math.isfinite(x):
            return Parsed(None, BAD, "not finite")
        return Parsed(x, OK)
    if isinstance(value, (dt.date, dt.datetime)):
        return Parsed(None, BAD, "a date")
    x = _number_text(str(value), lang)
    if x is None:
        return Parsed(None, BAD, "not a number")
    return Parsed(x, NORMALISED)


def parse_integer(value: Any, lang: str = "en") -> Parsed:
    p = parse_number(value, lang)
    if p.value is not None and not float(p.value).is_integer():
        return Parsed(None, BAD, "not a whole number")
    return p


def parse_probability(value: Any, lang: str = "en") -> Parsed:
    """A fraction 0–1. 70, '70 %', '70%', '0,7' mean 0.7 (normalised); outside 0–100 % is bad.

    Idempotent: parsing the value returned again gives the same value with status ok.
    """
    if is_blank(value):
        return EMPTY_PARSED
    percent_sign = isinstance(value, str) and "%" in value
    if isinstance(value, str):
        p = parse_number(value.replace("%", ""), lang)
        if p.value is None:                        # bad, or nothing but a '%' sign
            return Parsed(None, BAD, "not a percentage")
        x, status = p.value, NORMALISED
        if percent_sign:
            x = x / 100.0
        elif x > 1:
            x = x / 100.0
    else:
        p = parse_number(value, lang)
        if p.status != OK:
            return Parsed(None, BAD, p.detail or "not a percentage")
        x, status = p.value, OK
        if x > 1:
            x, status = x / 100.0, NORMALISED
    if x < 0 or x > 1:
        return Parsed(None, "range", "outside 0-100 %")
    return Parsed(round(x, 12), status)


def format_percent(x: float | None, lang: str = "en", decimals: int | None = None) -> str:
    """A fraction written as a percentage in text, the one spelling of every message, review and line:
    French a decimal comma and a no-break space before % ("35,5\u00a0%"), English neither ("35.5%").
    `decimals`: None, none for a whole percentage and else one; a number, always that many (1: as the
    review's PERCENT cells show it). Empty for None."""
    if x is None:
        return ""
    if decimals is None:
        decimals = 0 if abs(x * 100 - round(x * 100)) < 1e-9 else 1
    s = f"{x * 100:.{decimals}f}"
    if lang == "fr":
        return s.replace(".", ",") + "\u00a0%"
    return s + "%"


_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}


def format_date_long(d: dt.date | None, lang: str = "en") -> str:
    """A date as a reader writes it: `4 Apr 2026` / `4 avril 2026` (`1er avril` in French)."""
    if d is None:
        return "—"
    months = _MONTHS.get(lang, _MONTHS["en"])
    day = "1er" if lang == "fr" and d.day == 1 else str(d.day)
    return f"{day} {months[d.month - 1]} {d.year}"


def format_amount(x: float | None, lang: str = "en", decimals: int = 0) -> str:
    if x is None:
        return ""
    s = f"{x:,.{decimals}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


# ---------------------------------------------------------------------------------------------
# Period lengths: 1w, 2w, 1m, 3m, 1q, 1y; French 1s / 1 semaine / 1 mois / 1 trimestre / 1 an.
_PERIOD = re.compile(r"^(\d+)\s*([a-z]+)$")
_PERIOD_UNITS = {
    "w": ("weeks", 1), "wk": ("weeks", 1), "week": ("weeks", 1), "weeks": ("weeks", 1),
    "s": ("weeks", 1), "sem": ("weeks", 1), "semaine": ("weeks", 1), "semaines": ("weeks", 1),
    "d": ("days", 1), "j": ("days", 1), "day": ("days", 1), "days": ("days", 1),
    "jour": ("days", 1), "jours": ("days", 1),
    "m": ("months", 1), "mo": ("months", 1), "month": ("months", 1), "months": ("months", 1),
    "mois": ("months", 1),
    "q": ("months", 3), "quarter": ("months", 3), "t": ("months", 3), "trimestre": ("months", 3),
    "y": ("months", 12), "year": ("months", 12), "a": ("months", 12), "an": ("months", 12),
    "ans": ("months", 12),
}


def parse_period_length(value: Any) -> tuple[str, int] | None:
    """('weeks'|'months'|'days', n) or None."""
    if is_blank(value):
        return None
    m = _PERIOD.match(label_key(str(value)))
    if not m:
        return None
    unit = _PERIOD_UNITS.get(m.group(2))
    if unit is None or int(m.group(1)) <= 0:
        return None
    return unit[0], int(m.group(1)) * unit[1]


def add_period(start: dt.date, length: tuple[str, int]) -> dt.date:
    """The end (inclusive) of a period of `length` starting at `start`."""
    unit, n = length
    if unit == "days":
        return start + dt.timedelta(days=n - 1)
    if unit == "weeks":
        return start + dt.timedelta(days=7 * n - 1)
    month = start.month - 1 + n
    y, m = start.year + month // 12, month % 12 + 1
    day = min(start.day, [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30,
                          31, 31, 30, 31, 30, 31][m - 1])
    return dt.date(y, m, day) - dt.timedelta(days=1)


def json_number(x: Any, digits: int = 6) -> float | None:
    """A number as the JSON outputs hold it: rounded to `digits` decimals; None for None, NaN or ±inf."""
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None
