"""Analytics records."""

from django.db import models


class AnalyticsAccess(models.Model):
    """Carries the dashboard permissions; dashboards are not a table of their own.

    Unmanaged, so no table is created: it exists so roles can be granted
    `analytics.view_dashboard` and `analytics.export_data` like any model permission.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view analytics dashboards"),
            ("export_data", "Can export analytics tables as CSV"),
        ]

    def __str__(self) -> str:
        return "Analytics access"
