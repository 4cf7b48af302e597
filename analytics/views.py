"""The dashboards page: filters in, the leaderboard, attribution and charts (`charts.py`) out, or a CSV
export (`exports.py`). plotly.js is served from static files."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render

from campaigns.models import Campaign, Placement

from . import selectors
from .charts import dashboard_charts
from .exports import EXPORTS, export_csv
from .forms import NO_SEGMENT, DashboardFilterForm
from .models import CtrModel


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
        return export_csv(export, leaderboard=leaderboard, elements=elements)
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
        "charts": dashboard_charts(filters, elements) if has_data else [],
        "ctr_model": CtrModel.objects.order_by("-trained_at").first(),
        "campaigns": Campaign.objects.order_by("name").values("pk", "name"),
        "placements": Placement.objects.order_by("name").values("pk", "name"),
        "filters": _shown_filters(form),
        "filter_errors": form.error_sentences() if form.is_bound and not form.is_valid() else [],
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
