"""Dashboards: Plotly charts drawn from the daily rollups; plotly.js is served from static files.

The figures reach the page as JSON in `<script type="application/json">` blocks that
`analytics/dashboard.js` draws: the Content-Security-Policy allows no inline script.
"""

import html
import json
from decimal import Decimal

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, json_script

from campaigns.models import Campaign, Placement
from creativeadmin.csv_export import csv_response

from . import selectors
from .forms import NO_SEGMENT, DashboardFilterForm
from .models import CtrModel


def plotly_text(value) -> str:
    """A user-provided string for a figure, shown as text and never as markup.

    Plotly draws a subset of HTML in titles, legends, hover labels and tick labels (`<a href>`,
    `<b>`, `<br>`...), so a campaign named `<a href=...>Sign in</a>` would be a live link; escaped,
    Plotly decodes `&lt;`, `&gt;` and `&amp;` back into the characters it shows.
    """
    return html.escape(str(value), quote=False)


def _chart(fig: go.Figure, div_id: str) -> str:
    """The figure's div and its data as a JSON block (escaped for HTML by json_script), for dashboard.js."""
    figure_id = f"{div_id}-figure"
    figure = json.loads(fig.to_json())  # plotly's encoder: dates, NumPy values
    return format_html(
        '<div id="{}" class="plotly-chart" data-figure="{}"></div>{}', div_id, figure_id, json_script(figure, figure_id)
    )


def _rate_chart(series, *, rate: str, title: str, div_id: str) -> str:
    """Daily CTR or CVR lines, one per label, with 95% Wilson intervals as error bars."""
    fig = go.Figure()
    for label, points in sorted(series.items()):
        rows = [r for _, r in points]
        value = [getattr(r, rate) * 100 for r in rows]
        interval = [getattr(r, f"{rate}_interval") for r in rows]
        fig.add_trace(
            go.Scatter(
                x=[d for d, _ in points],
                y=value,
                name=plotly_text(label),
                mode="lines+markers",
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[hi * 100 - v for (_, hi), v in zip(interval, value, strict=True)],
                    arrayminus=[v - lo * 100 for (lo, _), v in zip(interval, value, strict=True)],
                ),
            )
        )
    fig.update_layout(
        title=title,
        yaxis_title=f"{rate.upper()} %",
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        template="plotly_white",
    )
    return _chart(fig, div_id)


def _exposure_chart(series) -> str:
    fig = go.Figure()
    for label, points in sorted(series.items()):
        fig.add_trace(go.Bar(x=[d for d, _ in points], y=[r.impressions for _, r in points], name=plotly_text(label)))
    fig.update_layout(
        title="Exposure per placement (net impressions)",
        barmode="stack",
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        template="plotly_white",
    )
    return _chart(fig, "exposure-by-placement")


def _scatter_chart(points) -> str:
    shown = [p for p in points if p[1] > 0]
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in shown],
            y=[100 * p[2] / p[1] for p in shown],
            mode="markers",
            text=[plotly_text(p[3]) for p in shown],
            marker=dict(size=[max(6, min(30, p[1] ** 0.5 / 3)) for p in shown], opacity=0.7),
        )
    )
    fig.update_layout(
        title="Aesthetic score vs realised CTR per creative (size = impressions)",
        xaxis_title="aesthetic score",
        yaxis_title="CTR %",
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        template="plotly_white",
    )
    return _chart(fig, "score-vs-ctr")


def _colour_chart(rows) -> str:
    colours = sorted((r for r in rows if r.element == "theme colour"), key=lambda r: -r.ctr)
    fig = go.Figure(
        go.Bar(
            x=[plotly_text(r.label) for r in colours],
            y=[r.ctr * 100 for r in colours],
            error_y=dict(
                type="data",
                symmetric=False,
                array=[(r.ctr_interval[1] - r.ctr) * 100 for r in colours],
                arrayminus=[(r.ctr - r.ctr_interval[0]) * 100 for r in colours],
            ),
            text=[f"{r.impressions} imp." for r in colours],
        )
    )
    fig.update_layout(
        title="CTR by the product's theme colour family (net, 95% Wilson intervals)",
        yaxis_title="CTR %",
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        template="plotly_white",
    )
    return _chart(fig, "ctr-by-colour")


def _fixed(value: float) -> Decimal:
    """A rate with five decimals, written as a number (not as text) in the CSV exports."""
    return Decimal(f"{value:.5f}")


def _export(kind: str, leaderboard, elements) -> HttpResponse:
    if kind == "elements":
        header = ["element", "value", "impressions", "clicks", "ctr", "ctr_low", "ctr_high"]
        header += ["conversions", "cvr", "cvr_low", "cvr_high"]
        rows = (
            [r.element, r.label, r.impressions, r.clicks, _fixed(r.ctr), _fixed(r.ctr_interval[0])]
            + [_fixed(r.ctr_interval[1]), r.conversions, _fixed(r.cvr), _fixed(r.cvr_interval[0])]
            + [_fixed(r.cvr_interval[1])]
            for r in elements
        )
        return csv_response("element-attribution.csv", header, rows)
    header = ["template", "impressions", "clicks", "ctr", "ctr_low", "ctr_high", "conversions", "cvr"]
    header += ["impressions_gross", "clicks_gross"]
    rows = (
        [r.label, r.impressions, r.clicks, _fixed(r.ctr), _fixed(r.ctr_interval[0]), _fixed(r.ctr_interval[1])]
        + [r.conversions, _fixed(r.cvr), r.impressions_gross, r.clicks_gross]
        for r in leaderboard
    )
    return csv_response("template-leaderboard.csv", header, rows)


EXPORTS = ("leaderboard", "elements")


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def dashboard(request):
    export = request.GET.get("export")
    if export in EXPORTS and not request.user.has_perm("analytics.export_data"):
        return HttpResponse(status=403)
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        # A bad filter is the client's mistake: 400 with what was wrong (on the page, or as text for an export).
        if export in EXPORTS:
            return HttpResponse(form.error_text() + "\n", status=400, content_type="text/plain; charset=utf-8")
        return render(request, "analytics/dashboard.html", _context(form), status=400)
    filters = form.selector_filters()
    leaderboard = selectors.template_leaderboard(**filters)
    elements = selectors.element_attribution(**filters)
    if export in EXPORTS:
        return _export(export, leaderboard, elements)
    return render(request, "analytics/dashboard.html", _context(form, filters, leaderboard, elements))


def _context(form, filters=None, leaderboard=(), elements=()) -> dict:
    """The page's context; with an invalid form, the filters and their errors and no data."""
    has_data = bool(leaderboard)
    return {
        "title": "Dashboards",
        "form": form,
        "has_data": has_data,
        "leaderboard": leaderboard,
        "elements": [r for r in elements if r.element != "theme colour"],
        "lead_significant": selectors.lead_is_significant(leaderboard) if has_data else False,
        "charts": _charts(filters, elements) if has_data else [],
        "ctr_model": CtrModel.objects.order_by("-trained_at").first(),
        "campaigns": Campaign.objects.order_by("name").values("pk", "name"),
        "placements": Placement.objects.order_by("name").values("pk", "name"),
        "filters": _shown_filters(form),
        "segments": [s or NO_SEGMENT for s in selectors.segments_seen()],
    }


def _shown_filters(form) -> dict[str, str]:
    """The filter values the form shows: the cleaned ones when valid, else what was sent."""
    if not form.is_valid():
        return {name: form.data.get(name, "") for name in ("from", "to", "campaign", "placement", "segment")}
    cleaned = form.cleaned_data
    return {
        "from": cleaned["from"].isoformat(),
        "to": cleaned["to"].isoformat(),
        "campaign": str(cleaned["campaign"].pk) if cleaned["campaign"] else "",
        "placement": str(cleaned["placement"].pk) if cleaned["placement"] else "",
        "segment": cleaned["segment"],
    }


def _charts(filters, elements) -> list[str]:
    campaign_series = selectors.daily_series(by="campaign", **filters)
    return [
        _rate_chart(
            selectors.daily_series(by="template", **filters),
            rate="ctr",
            title="CTR per template, day by day (net, 95% Wilson intervals)",
            div_id="ctr-by-template",
        ),
        _exposure_chart(selectors.daily_series(by="placement", **filters)),
        _rate_chart(
            campaign_series,
            rate="ctr",
            title="CTR per campaign, day by day (net, 95% Wilson intervals)",
            div_id="ctr-by-campaign",
        ),
        _rate_chart(
            campaign_series,
            rate="cvr",
            title="Conversion rate (orders per click) per campaign, day by day (95% Wilson intervals)",
            div_id="cvr-by-campaign",
        ),
        _scatter_chart(selectors.score_vs_ctr(**filters)),
        _colour_chart(elements),
    ]
