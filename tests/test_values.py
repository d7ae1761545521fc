"""Known answers and properties of the cell-value parsers (SPEC §3)."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salesxl.values import (BAD, EMPTY, NORMALISED, OK, label_key, parse_date, parse_integer,
                            parse_number, parse_probability)

D = dt.date


# ---------------------------------------------------------------------------------------------
# Dates
@pytest.mark.parametrize("value, expected, status", [
    (D(2003, 4, 4), D(2003, 4, 4), OK),
    (dt.datetime(2003, 4, 4, 10, 30), D(2003, 4, 4), OK),
    (37715, D(2003, 4, 4), NORMALISED),                  # Excel serial
    (37715.75, D(2003, 4, 4), NORMALISED),               # serial with a time of day
    (1, D(1900, 1, 1), NORMALISED),                      # Excel serial 1 (1900 date system)
    (59, D(1900, 2, 28), NORMALISED),
    (61, D(1900, 3, 1), NORMALISED),
    ("4 avril 2003", D(2003, 4, 4), NORMALISED),
    ("3 avril 2003", D(2003, 4, 3), NORMALISED),
    ("4 AVRIL 2003", D(2003, 4, 4), NORMALISED),
    ("  4 avril 2003 ", D(2003, 4, 4), NORMALISED),
    ("4\u00a0avril\u00a02003", D(2003, 4, 4), NORMALISED),
    ("le 4 avril 2003", D(2003, 4, 4), NORMALISED),
    ("vendredi 4 avril 2003", D(2003, 4, 4), NORMALISED),
    ("1er mars 2004", D(2004, 3, 1), NORMALISED),
    ("4 avr. 2003", D(2003, 4, 4), NORMALISED),
    ("4 févr. 2003", D(2003, 2, 4), NORMALISED),
    ("4 fevrier 2003", D(2003, 2, 4), NORMALISED),
    ("15 août 2003", D(2003, 8, 15), NORMALISED),
    ("4 déc. 2003", D(2003, 12, 4), NORMALISED),
    ("3 sept. 2003", D(2003, 9, 3), NORMALISED),
    ("4 avril 03", D(2003, 4, 4), NORMALISED),
    ("04/05/2003", D(2003, 5, 4), NORMALISED),           # day first: 4 May
    ("4/5/2003", D(2003, 5, 4), NORMALISED),
    ("04.05.2003", D(2003, 5, 4), NORMALISED),
    ("04-05-2003", D(2003, 5, 4), NORMALISED),
    ("4.5.03", D(2003, 5, 4), NORMALISED),
    ("25/04/2003", D(2003, 4, 25), NORMALISED),
    ("April 4, 2003", D(2003, 4, 4), NORMALISED),
    ("4 April 2003", D(2003, 4, 4), NORMALISED),
    ("4th April 2003", D(2003, 4, 4), NORMALISED),
    ("Friday 4 April 2003", D(2003, 4, 4), NORMALISED),
    ("Apr 4 2003", D(2003, 4, 4), NORMALISED),
    ("Sept 3 2003", D(2003, 9, 3), NORMALISED),
    ("2003-04-04", D(2003, 4, 4), NORMALISED),           # ISO
    ("2003/04/04", D(2003, 4, 4), NORMALISED),
    ("2003-04-04 10:30", D(2003, 4, 4), NORMALISED),
    ("2003-04-04T10:30:00", D(2003, 4, 4), NORMALISED),
])
def test_parse_date_known(value, expected, status):
    p = parse_date(value)
    assert (p.value, p.status) == (expected, status)


@pytest.mark.parametrize("value, detail", [
    ("04/25/2003", "month-first"),       # month first: flagged, never guessed
    ("12/31/2003", "month-first"),
    ("31/02/2003", "no such day"),
    ("29/02/2003", "no such day"),
    ("30 février 2003", "no such day"),
    ("13/13/2003", "no such day"),
    ("04/05", "no year"),
    ("4 avril", None),
    ("hello", None),
    ("demain", None),
    ("2003-13-01", "no such day"),
    (0, None),                           # serial 0 is not a date
    (-3, None),
    (10 ** 9, None),
    (True, None),
    (float("inf"), None),
])
def test_parse_date_bad(value, detail):
    p = parse_date(value)
    assert p.status == BAD and p.value is None
    if detail:
        assert detail in p.detail


@pytest.mark.parametrize("value", [None, "", "   ", "\u00a0", "\u202f\t", float("nan")])
def test_parse_date_empty(value):
    assert parse_date(value) == (None, EMPTY, "")


# ---------------------------------------------------------------------------------------------
# Numbers
@pytest.mark.parametrize("value, lang, expected, status", [
    (1234.56, "en", 1234.56, OK),
    (0, "en", 0.0, OK),
    (-12, "en", -12.0, OK),
    ("1 234,56", "fr", 1234.56, NORMALISED),
    ("1 234,56", "en", 1234.56, NORMALISED),
    ("1\u00a0234,56", "fr", 1234.56, NORMALISED),        # non-breaking space
    ("1\u202f234,56", "fr", 1234.56, NORMALISED),        # narrow non-breaking space (French locale)
    ("1\u202f234\u202f567,8", "fr", 1234567.8, NORMALISED),
    ("1,234.56", "en", 1234.56, NORMALISED),
    ("1,234.56", "fr", 1234.56, NORMALISED),
    ("1.234,56", "fr", 1234.56, NORMALISED),
    ("1,234", "en", 1234.0, NORMALISED),                 # English thousands
    ("1,234", "fr", 1.234, NORMALISED),                  # French decimal comma
    ("1234,5", "en", 1234.5, NORMALISED),
    ("1.234.567", "en", 1234567.0, NORMALISED),
    ("€1,234.56", "en", 1234.56, NORMALISED),
    ("1 234,56 €", "fr", 1234.56, NORMALISED),
    ("$1,234", "en", 1234.0, NORMALISED),
    ("EUR 12", "en", 12.0, NORMALISED),
    ("12 000 € HT", "fr", 12000.0, NORMALISED),
    ("-1 234,5", "fr", -1234.5, NORMALISED),
    ("\u22123", "fr", -3.0, NORMALISED),                 # Unicode minus sign
    ("(500)", "en", -500.0, NORMALISED),                 # accounting negative
    ("+5", "en", 5.0, NORMALISED),
    ("0", "fr", 0.0, NORMALISED),
])
def test_parse_number_known(value, lang, expected, status):
    p = parse_number(value, lang)
    assert p.status == status
    assert p.value == pytest.approx(expected)


@pytest.mark.parametrize("value", ["abc", "1,2,3", "12abc", "1e5", "1..2", "%", "€", "--5", True, False,
                                   D(2003, 4, 4), float("inf"), float("-inf")])
def test_parse_number_bad(value):
    p = parse_number(value)
    assert p.status == BAD and p.value is None


def test_parse_integer():
    assert parse_integer(12) == (12.0, OK, "")
    assert parse_integer("12").value == 12.0
    assert parse_integer("1 200", "fr").value == 1200.0
    assert parse_integer(2.5).status == BAD
    assert parse_integer("2,5", "fr").status == BAD
    assert parse_integer(None).status == EMPTY


# ---------------------------------------------------------------------------------------------
# Probabilities
@pytest.mark.parametrize("value, expected, status", [
    (0.7, 0.7, OK),
    (70, 0.7, NORMALISED),
    ("70 %", 0.7, NORMALISED),
    ("70%", 0.7, NORMALISED),
    ("70\u00a0%", 0.7, NORMALISED),
    ("0,7", 0.7, NORMALISED),
    ("0.7", 0.7, NORMALISED),
    ("1,5 %", 0.015, NORMALISED),
    (1, 1.0, OK),                      # a cell formatted % holding 100 %
    (100, 1.0, NORMALISED),
    ("100%", 1.0, NORMALISED),
    (0, 0.0, OK),                      # a real 0 %, not empty
    (0.0, 0.0, OK),
    ("0", 0.0, NORMALISED),
    ("0 %", 0.0, NORMALISED),
    (0.005, 0.005, OK),
])
def test_parse_probability_known(value, expected, status):
    p = parse_probability(value, "fr")
    assert p.status == status
    assert p.value == pytest.approx(expected)
    assert p.value is not None


@pytest.mark.parametrize("value", [150, -1, "150 %", "-70 %", 101, "-0,5", 1.5e6])
def test_parse_probability_range(value):
    p = parse_probability(value)
    assert p.status == "range" and p.value is None


@pytest.mark.parametrize("value", ["abc", "%", "70 percent", True, D(2003, 4, 4)])
def test_parse_probability_bad(value):
    p = parse_probability(value)
    assert p.status == BAD and p.value is None


@pytest.mark.parametrize("value", [None, "", "  ", "\u00a0"])
def test_parse_probability_empty_is_not_zero(value):
    p = parse_probability(value)
    assert p.status == EMPTY and p.value is None


# ---------------------------------------------------------------------------------------------
# Labels
@pytest.mark.parametrize("a, b", [
    ("Date d'action", "  DATE D'ACTION "),
    ("Date d'action", "Date d\u2019action"),                       # typographic apostrophe
    ("Société", unicodedata.normalize("NFD", "Société")),           # decomposed accents
    ("Société", "SOCIETE"),
    ("Réf. proposition", "ref.  proposition"),
    ("Date de décision prévue", "date\u00a0de décision prévue"),    # non-breaking space
    ("Étape", "etape"),
    ("Négociation", "NÉGOCIATION"),
    ("Probability", "probability\t"),
])
def test_label_key_equal(a, b):
    assert label_key(a) == label_key(b)


@pytest.mark.parametrize("a, b", [("Rep", "Reps"), ("Won", "Lost"), ("Date", "Date d'action")])
def test_label_key_different(a, b):
    assert label_key(a) != label_key(b)


# ---------------------------------------------------------------------------------------------
# Properties
anything = st.one_of(
    st.none(), st.booleans(), st.text(), st.integers(min_value=-(10 ** 20), max_value=10 ** 20),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
    st.text(alphabet="0123456789 ,.-/%€$()\u00a0\u202f'eE+", max_size=20),
    st.builds(lambda d, sep: f"{d.day}{sep}{d.month}{sep}{d.year}", st.dates(), st.sampled_from("/.- ")),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(anything, st.sampled_from(["en", "fr"]))
@example("%", "en")
@example(10 ** 400, "en")
@example("9" * 400, "fr")
def test_parsers_never_raise(v, lang):
    for p in (parse_date(v), parse_number(v, lang), parse_integer(v, lang), parse_probability(v, lang)):
        assert p.status in (OK, NORMALISED, EMPTY, BAD, "range")
        assert (p.value is None) == (p.status in (EMPTY, BAD, "range"))
    n = parse_number(v, lang)
    if n.value is not None:
        assert n.value == n.value and abs(n.value) != float("inf")   # finite, never NaN


dates_4digit_year = st.dates(min_value=D(1000, 1, 1), max_value=D(9999, 12, 31))


@given(dates_4digit_year)
def test_day_first_text_reads_back(d):
    """dd/mm/yyyy always reads as that very day."""
    p = parse_date(f"{d.day:02d}/{d.month:02d}/{d.year}")
    assert p.value == d and p.status == NORMALISED


@given(dates_4digit_year)
def test_never_month_first(d):
    """The property that holds: month-first text is never *read* month-first.

    For a date d with day != month, the text mm/dd/yyyy either is flagged (BAD, when it cannot be
    day-first, i.e. day > 12) or is read day-first as date(year, day, month) — it never parses to d.
    (The converse, "mm/dd/yyyy is always flagged", is false: 04/05/2003 is a valid day-first date.)"""
    text = f"{d.month:02d}/{d.day:02d}/{d.year}"
    p = parse_date(text)
    if d.day == d.month:
        assert p.value == d
        return
    assert p.value != d
    if d.day > 12:
        assert p.status == BAD and "month-first" in p.detail
    else:   # both parts <= 12: a valid day-first date (its day of month is d.month <= 12)
        assert (p.value, p.status) == (dt.date(d.year, d.day, d.month), NORMALISED)


@given(st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.integers(-1000, 1000),
                 st.builds(lambda x, sp: f"{x}{sp}%", st.integers(0, 100), st.sampled_from(["", " ", "\u00a0"])),
                 st.builds(lambda x: f"{x:.3f}".replace(".", ","), st.floats(0, 1))))
def test_probability_idempotent(v):
    p = parse_probability(v, "fr")
    if p.value is None:
        return
    assert 0 <= p.value <= 1
    again = parse_probability(p.value, "fr")
    assert again.status == OK
    assert again.value == p.value


@given(st.text(alphabet=" \t\n\u00a0\u202f\u2009\u3000", max_size=6), st.sampled_from(["en", "fr"]))
def test_blank_is_empty_never_zero(blank, lang):
    for p in (parse_date(blank), parse_number(blank, lang), parse_integer(blank, lang),
              parse_probability(blank, lang)):
        assert p.status == EMPTY and p.value is None


@given(st.sampled_from([0, 0.0, -0.0, "0", "0,0", "0.0", " 0 "]), st.sampled_from(["en", "fr"]))
def test_zero_is_never_empty(zero, lang):
    for p in (parse_number(zero, lang), parse_integer(zero, lang), parse_probability(zero, lang)):
        assert p.status != EMPTY and p.value == 0.0
    assert parse_probability(f"{zero} %", lang).value == 0.0


@pytest.mark.parametrize("x, lang, decimals, text", [
    (0.35, "en", None, "35%"), (0.35, "fr", None, "35\u00a0%"),          # a whole percentage: no decimal
    (0.355, "en", None, "35.5%"), (0.355, "fr", None, "35,5\u00a0%"),    # else one
    (0.333333, "en", 1, "33.3%"), (0.333333, "fr", 1, "33,3\u00a0%"),    # as the review's cells show it (0.0%)
    (0.2, "fr", 1, "20,0\u00a0%"), (0.2, "en", 0, "20%"), (0.2, "fr", 0, "20\u00a0%"),
    (None, "fr", None, ""),
])
def test_a_percentage_as_text_one_spelling(x, lang, decimals, text):
    """French: a decimal comma and a no-break space before % (never a line break there); English: none."""
    from salesxl.values import format_percent
    assert format_percent(x, lang, decimals) == text
