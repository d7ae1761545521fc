"""I/O layer: files (openpyxl, calamine) and the live workbook (xlwings)."""
