"""salesxl — a Python-backed Excel workbook for running a sales force."""

__version__ = "0.1.0"
