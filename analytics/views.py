"""Dashboards: Plotly charts drawn from the daily rollups; plotly.js is served from static files."""

import csv
from datetime import datetime, time, timedelta

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from campaigns.models import Campaign, Placement

from . import selectors
from .models import CtrModel

NO_SEGMENT = "(none)"  # the filter value for traffic served without a segment


def _filters(request):
    today = timezone.localdate()
    try:
        start_day = datetime.fromisoformat(request.GET.get("from", "")).date()
    except ValueError:
        start_day = today - timedelta(days=13)
    try:
        end_day = datetime.fromisoformat(request.GET.get("to", "")).date()
    except ValueError:
        end_day = today
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(start_day, time.min), tz)
    end = timezone.make_aware(datetime.combine(end_day + timedelta(days=1), time.min), tz)
    campaign_id = request.GET.get("campaign") or None
    placement_id = request.GET.get("placement") or None
    segment = request.GET.get("segment")
    segment = None if segment in (None, "") else "" if segment == NO_SEGMENT else segment
    filters = dict(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment)
    return filters, start_day, end_day


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
                name=label,
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
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)


def _exposure_chart(series) -> str:
    fig = go.Figure()
    for label, points in sorted(series.items()):
        fig.add_trace(go.Bar(x=[d for d, _ in points], y=[r.impressions for _, r in points], name=label))
    fig.update_layout(
        title="Exposure per placement (net impressions)",
        barmode="stack",
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        template="plotly_white",
    )
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="exposure-by-placement")


def _scatter_chart(points) -> str:
    shown = [p for p in points if p[1] > 0]
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in shown],
            y=[100 * p[2] / p[1] for p in shown],
            mode="markers",
            text=[p[3] for p in shown],
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
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="score-vs-ctr")


def _colour_chart(rows) -> str:
    colours = sorted((r for r in rows if r.element == "theme colour"), key=lambda r: -r.ctr)
    fig = go.Figure(
        go.Bar(
            x=[r.label for r in colours],
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
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="ctr-by-colour")


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def dashboard(request):
    filters, start_day, end_day = _filters(request)
    leaderboard = selectors.template_leaderboard(**filters)
    elements = selectors.element_attribution(**filters)
    if request.GET.get("export") == "elements":
        if not request.user.has_perm("analytics.export_data"):
            return HttpResponse(status=403)
        header = ["element", "value", "impressions", "clicks", "ctr", "ctr_low", "ctr_high"]
        header += ["conversions", "cvr", "cvr_low", "cvr_high"]
        return _csv(
            "element-attribution.csv",
            header,
            (
                [r.element, r.label, r.impressions, r.clicks, f"{r.ctr:.5f}", f"{r.ctr_interval[0]:.5f}"]
                + [f"{r.ctr_interval[1]:.5f}", r.conversions, f"{r.cvr:.5f}", f"{r.cvr_interval[0]:.5f}"]
                + [f"{r.cvr_interval[1]:.5f}"]
                for r in elements
            ),
        )
    if request.GET.get("export") == "leaderboard":
        if not request.user.has_perm("analytics.export_data"):
            return HttpResponse(status=403)
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="template-leaderboard.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "template",
                "impressions",
                "clicks",
                "ctr",
                "ctr_low",
                "ctr_high",
                "conversions",
                "cvr",
                "impressions_gross",
                "clicks_gross",
            ]
        )
        for r in leaderboard:
            writer.writerow(
                [
                    r.label,
                    r.impressions,
                    r.clicks,
                    f"{r.ctr:.5f}",
                    f"{r.ctr_interval[0]:.5f}",
                    f"{r.ctr_interval[1]:.5f}",
                    r.conversions,
                    f"{r.cvr:.5f}",
                    r.impressions_gross,
                    r.clicks_gross,
                ]
            )
        return response
    has_data = bool(leaderboard)
    context = {
        "title": "Dashboards",
        "has_data": has_data,
        "leaderboard": leaderboard,
        "elements": [r for r in elements if r.element != "theme colour"],
        "lead_significant": selectors.lead_is_significant(leaderboard),
        "charts": [
            _rate_chart(
                selectors.daily_series(by="template", **filters),
                rate="ctr",
                title="CTR per template, day by day (net, 95% Wilson intervals)",
                div_id="ctr-by-template",
            ),
            _exposure_chart(selectors.daily_series(by="placement", **filters)),
            _rate_chart(
                campaign_series := selectors.daily_series(by="campaign", **filters),
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
        if has_data
        else [],
        "ctr_model": CtrModel.objects.order_by("-trained_at").first(),
        "campaigns": Campaign.objects.order_by("name").values("pk", "name"),
        "placements": Placement.objects.order_by("name").values("pk", "name"),
        "filters": {
            "from": start_day.isoformat(),
            "to": end_day.isoformat(),
            "campaign": filters["campaign_id"] or "",
            "placement": filters["placement_id"] or "",
            "segment": request.GET.get("segment", ""),
        },
        "segments": [s or NO_SEGMENT for s in selectors.segments_seen()],
    }
    return render(request, "analytics/dashboard.html", context)
