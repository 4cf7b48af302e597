"""The dashboard's CSV exports: the template leaderboard and the element-level attribution.

Rates in the CSV are fractions (0.02350 means 2.35 %), written as numbers with five decimals: a
spreadsheet formats them as percentages in one step and sums and averages them without parsing
text, while the page shows the same figures in percent. The dashboard says so next to each link.
Every CSV goes through `creativeadmin.csv_export.csv_response` (no formula injection).
"""

from decimal import Decimal

from django.http import HttpResponse

from creativeadmin.csv_export import csv_response

EXPORTS = ("leaderboard", "elements")


def fraction(value: float) -> Decimal:
    """A rate as a fraction with five decimals, written as a number (not as text)."""
    return Decimal(f"{value:.5f}")


def leaderboard_csv(leaderboard) -> HttpResponse:
    header = ["template", "impressions", "clicks", "ctr", "ctr_low", "ctr_high", "conversions", "cvr"]
    header += ["impressions_gross", "clicks_gross"]
    rows = (
        [r.label, r.impressions, r.clicks, fraction(r.ctr), fraction(r.ctr_interval[0]), fraction(r.ctr_interval[1])]
        + [r.conversions, fraction(r.cvr), r.impressions_gross, r.clicks_gross]
        for r in leaderboard
    )
    return csv_response("template-leaderboard.csv", header, rows)


def elements_csv(elements) -> HttpResponse:
    header = ["element", "value", "impressions", "clicks", "ctr", "ctr_low", "ctr_high"]
    header += ["conversions", "cvr", "cvr_low", "cvr_high"]
    rows = (
        [r.element, r.label, r.impressions, r.clicks, fraction(r.ctr), fraction(r.ctr_interval[0])]
        + [fraction(r.ctr_interval[1]), r.conversions, fraction(r.cvr), fraction(r.cvr_interval[0])]
        + [fraction(r.cvr_interval[1])]
        for r in elements
    )
    return csv_response("element-attribution.csv", header, rows)


def export_csv(kind: str, *, leaderboard, elements) -> HttpResponse:
    """The export named `kind` (one of EXPORTS)."""
    return elements_csv(elements) if kind == "elements" else leaderboard_csv(leaderboard)
