"""Where each role lands after login, and the admin index's links to the work outside the admin.

The admin logs everyone in and then shows its index. An analyst has no model to edit there, so the
index sends them to the dashboards; everyone else sees the index with a "Where the work is" panel
linking the dashboards and each campaign's review gallery they may open.
"""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

RECENT_CAMPAIGNS = 8


def work_links(user) -> list[dict]:
    """The pages outside the admin this user may open: the dashboards, the latest campaigns' review galleries."""
    from campaigns.models import Campaign

    links = []
    if user.has_perm("analytics.view_dashboard"):
        links.append({"label": "Dashboards", "url": reverse("analytics:dashboard"), "hint": "CTR, CVR and exposure"})
    if user.has_perm("campaigns.view_creative"):
        for campaign in Campaign.objects.order_by("-pk")[:RECENT_CAMPAIGNS]:
            links.append(
                {
                    "label": f"Review gallery: {campaign.name}",
                    "url": reverse("campaigns:review", args=[campaign.pk]),
                    "hint": campaign.get_status_display(),
                }
            )
    return links


def install(site: admin.AdminSite) -> None:
    """Wrap `site.index`: analysts (nothing to edit, the dashboards to read) go to the dashboards."""
    index = site.index

    def role_index(request, extra_context=None):
        # Their own API keys (the accounts app) are not work to land on: /admin/accounts/ still lists them.
        work_apps = [app for app in site.get_app_list(request) if app["app_label"] != "accounts"]
        if request.user.has_perm("analytics.view_dashboard") and not work_apps:
            return redirect("analytics:dashboard")
        return index(request, {**(extra_context or {}), "work_links": work_links(request.user)})

    site.index = role_index
