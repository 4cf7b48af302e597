"""Dashboard pages (server-rendered; charts arrive with the analytics issue)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def dashboard(request):
    return render(request, "analytics/dashboard.html", {"title": "Dashboards"})
