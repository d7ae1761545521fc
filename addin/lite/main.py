"""SalesXL for xlwings Lite (Excel on the web, Windows and macOS, no local Python).

Paste this file into the xlwings Lite editor's main.py and the lines of requirements.txt into its
requirements.txt tab. The scripts are the five ribbon buttons of the classic add-in, the functions
are the SXL_ user functions; both are thin wrappers over the installed salesxl package
(salesxl.actions and salesxl.udfs), so the results are the ones the add-in and the command line give.

Consolidate and New period read and write files (the inbox and outbox folders of Settings): xlwings
Lite runs in the browser's sandbox without access to your folders, so in Lite they report the
missing folder; use them from the classic add-in or the `salesxl consolidate` command.
"""
import xlwings as xw
from xlwings import func, script

from salesxl import actions, udfs


# ----------------------------------------------------------------------------- scripts (buttons)

@script
def salesxl_validate(book: xw.Book):
    """Check the workbook: Issues sheet, invalid cells coloured with a note. Nothing typed changes."""
    print(actions.run("validate", book))


@script
def salesxl_forecast(book: xw.Book):
    """Forecast sheet: each rep's period forecast, P10/P50/P90, P(reach objective), risk; the team."""
    print(actions.run("forecast", book))


@script
def salesxl_reviews(book: xw.Book):
    """One end-of-period review sheet per rep, with its charts and talking points."""
    print(actions.run("reviews", book))


@script
def salesxl_consolidate(book: xw.Book):
    """Import the reps' workbooks of the inbox folder (needs file access: classic add-in)."""
    print(actions.run("consolidate", book))


@script
def salesxl_new_period(book: xw.Book):
    """Next period's Planning and Objectives rows, and one rep workbook each in the outbox folder."""
    print(actions.run("new_period", book))


# ----------------------------------------------------------------------------- custom functions

@func
def SXL_WEIGHTED_SUM(amounts, probabilities):
    """Σ Amount × Probability of the complete rows (an empty cell is left out, never 0)."""
    return udfs.SXL_WEIGHTED_SUM(amounts, probabilities)


@func
def SXL_PERIOD_FORECAST(amounts, probabilities, statuses, decision_dates, period_start, period_end,
                        won_statuses=None, stages=None):
    """Won + weighted open of the proposals decided in the period."""
    return udfs.SXL_PERIOD_FORECAST(amounts, probabilities, statuses, decision_dates, period_start,
                                    period_end, won_statuses, stages)


@func
def SXL_P_REACH(objective, won, amounts, probabilities, simulations=None, seed=None):
    """P(reach objective): each open proposal won independently with its probability."""
    return udfs.SXL_P_REACH(objective, won, amounts, probabilities, simulations, seed)


@func
def SXL_FORECAST_QUANTILE(q, won, amounts, probabilities, simulations=None, seed=None):
    """P10 / P50 / P90 (q = 0.1, 0.5, 0.9) of won + open proposals won."""
    return udfs.SXL_FORECAST_QUANTILE(q, won, amounts, probabilities, simulations, seed)


@func
def SXL_COVERAGE(open_amount, objective, won):
    """Open amount / (objective − won); empty once the objective is reached."""
    return udfs.SXL_COVERAGE(open_amount, objective, won)


@func
def SXL_PACE(done, planned, period_start, period_end, as_of=None):
    """Done / pro-rated plan at the as-of date (default today)."""
    return udfs.SXL_PACE(done, planned, period_start, period_end, as_of)


@func
def SXL_ROW_CHECK(header_range, row_range, table=None):
    """The row's issues as text ('' when clean)."""
    return udfs.SXL_ROW_CHECK(header_range, row_range, table)
