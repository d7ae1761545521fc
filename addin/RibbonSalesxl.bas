Attribute VB_Name = "RibbonSalesxl"
' SalesXL ribbon dispatcher (generated into salesxl.xlam by `salesxl addin build`).
'
' Every button of the "SalesXL" tab calls OnSalesxlButton; the button's Tag
' names the Python action, run on the active workbook through xlwings'
' RunPython (the open-source part of xlwings, module "xlwings" in this project).
' Edit this file in salesxl/data/ (addin/RibbonSalesxl.bas is an identical copy).
Option Explicit

Public Sub OnSalesxlButton(control As IRibbonControl)
    RunPython "import salesxl.actions; salesxl.actions.run('" & control.Tag & "')"
End Sub
