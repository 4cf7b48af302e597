"""The dashboard's Plotly figures, each drawn from selector rows and handed to the page as JSON.

Rates are shown in percent on every axis, label and hover (the tables use the same unit). The figures
reach the page in `<script type="application/json">` blocks that `analytics/dashboard.js` draws:
the Content-Security-Policy allows no inline script. Labels never sit where error bars are drawn:
a bar's impressions are written under its tick, not on the bar.
"""

import functools
import html
import json

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html, json_script

from . import selectors

# The figures are built with the empty template and get plotly_white's as JSON when they are written out
# (`chart_html`): naming it in the layout made plotly.py validate and deep-copy the whole template on every
# update_layout, over half the page's time (279 vs 31 ms for six figures).
LAYOUT = dict(height=360, margin=dict(l=64, r=20, t=56, b=48), template="none")
PERCENT_AXIS = dict(ticksuffix=" %", rangemode="tozero", automargin=True)


def plotly_text(value) -> str:
    """A user-provided string for a figure, shown as text and never as markup.

    Plotly draws a subset of HTML in titles, legends, hover labels and tick labels (`<a href>`,
    `<b>`, `<br>`...), so a campaign named `<a href=...>Sign in</a>` would be a live link; escaped,
    Plotly decodes `&lt;`, `&gt;` and `&amp;` back into the characters it shows.
    """
    return html.escape(str(value), quote=False)


def chart_html(fig: go.Figure, div_id: str) -> str:
    """The figure's div and its data as a JSON block (escaped for HTML by json_script), for dashboard.js."""
    figure_id = f"{div_id}-figure"
    figure = json.loads(fig.to_json())  # plotly's encoder: dates, NumPy values
    figure["layout"]["template"] = _white_template()
    return format_html(
        '<div id="{}" class="plotly-chart" data-figure="{}"></div>{}', div_id, figure_id, json_script(figure, figure_id)
    )


@functools.cache
def _white_template() -> dict:
    """Plotly's plotly_white template as JSON (read-only by convention: every figure shares it)."""
    return pio.templates["plotly_white"].to_plotly_json()


def _percent_error_bars(values: list[float], intervals) -> dict:
    """Asymmetric error bars (in percentage points) from fractional 95% intervals around `values` (in %)."""
    return dict(
        type="data",
        symmetric=False,
        array=[hi * 100 - v for (_, hi), v in zip(intervals, values, strict=True)],
        arrayminus=[v - lo * 100 for (lo, _), v in zip(intervals, values, strict=True)],
        thickness=1.2,
        width=4,
    )


def rate_chart(series, *, rate: str, title: str, div_id: str) -> str:
    """Daily CTR or CVR lines (in %), one per label, with 95% Wilson intervals as error bars."""
    fig = go.Figure()
    for label, points in sorted(series.items()):
        rows = [r for _, r in points]
        value = [getattr(r, rate) * 100 for r in rows]
        fig.add_trace(
            go.Scatter(
                x=[d for d, _ in points],
                y=value,
                name=plotly_text(label),
                mode="lines+markers",
                error_y=_percent_error_bars(value, [getattr(r, f"{rate}_interval") for r in rows]),
                hovertemplate=f"%{{x}}: {rate.upper()} %{{y:.2f}} %<extra>%{{fullData.name}}</extra>",
            )
        )
    fig.update_layout(title=title, yaxis=dict(title=rate.upper(), **PERCENT_AXIS), **LAYOUT)
    return chart_html(fig, div_id)


def exposure_chart(series) -> str:
    fig = go.Figure()
    for label, points in sorted(series.items()):
        fig.add_trace(go.Bar(x=[d for d, _ in points], y=[r.impressions for _, r in points], name=plotly_text(label)))
    fig.update_layout(
        title="Exposure per placement (net impressions)",
        barmode="stack",
        yaxis=dict(title="impressions", automargin=True),
        **LAYOUT,
    )
    return chart_html(fig, "exposure-by-placement")


def score_chart(points) -> str:
    shown = [p for p in points if p[1] > 0]
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in shown],
            y=[100 * p[2] / p[1] for p in shown],
            mode="markers",
            text=[plotly_text(p[3]) for p in shown],
            marker=dict(size=[max(6, min(30, p[1] ** 0.5 / 3)) for p in shown], opacity=0.7),
            hovertemplate="%{text}: score %{x:.1f}, CTR %{y:.2f} %<extra></extra>",
        )
    )
    fig.update_layout(
        title="Aesthetic score vs realised CTR per creative (size = impressions)",
        xaxis=dict(title="aesthetic score", automargin=True),
        yaxis=dict(title="CTR", **PERCENT_AXIS),
        **LAYOUT,
    )
    return chart_html(fig, "score-vs-ctr")


def colour_chart(rows) -> str:
    """CTR per theme colour family; each bar's impressions are part of its tick label, clear of the error bar."""
    colours = sorted((r for r in rows if r.element == "theme colour"), key=lambda r: -r.ctr)
    value = [r.ctr * 100 for r in colours]
    fig = go.Figure(
        go.Bar(
            x=[f"{plotly_text(r.label)} ({r.impressions:,} imp.)" for r in colours],
            y=value,
            error_y=_percent_error_bars(value, [r.ctr_interval for r in colours]),
            hovertemplate="%{x}: CTR %{y:.2f} %<extra></extra>",
        )
    )
    fig.update_layout(
        title="CTR by the product's theme colour family (net, 95% Wilson intervals)",
        yaxis=dict(title="CTR", **PERCENT_AXIS),
        xaxis=dict(automargin=True),
        **LAYOUT,
    )
    return chart_html(fig, "ctr-by-colour")


def dashboard_charts(filters: dict, elements) -> list[str]:
    """Every chart of the dashboard for the selectors' `filters`, in page order."""
    campaign_series = selectors.daily_series(by="campaign", **filters)
    return [
        rate_chart(
            selectors.daily_series(by="template", **filters),
            rate="ctr",
            title="CTR per template, day by day (net, 95% Wilson intervals)",
            div_id="ctr-by-template",
        ),
        exposure_chart(selectors.daily_series(by="placement", **filters)),
        rate_chart(
            campaign_series,
            rate="ctr",
            title="CTR per campaign, day by day (net, 95% Wilson intervals)",
            div_id="ctr-by-campaign",
        ),
        rate_chart(
            campaign_series,
            rate="cvr",
            title="Conversion rate (orders per click) per campaign, day by day (95% Wilson intervals)",
            div_id="cvr-by-campaign",
        ),
        score_chart(selectors.score_vs_ctr(**filters)),
        colour_chart(elements),
    ]
