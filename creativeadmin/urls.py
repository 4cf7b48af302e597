"""Top-level URL map: the start page, admin, API (with schema and docs), dashboards."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

from analytics.tracking_views import click_redirect, impression_pixel, video_event_pixel
from campaigns.views import render_signed
from creativeadmin.api_docs import api_docs
from health.api.views import HealthView

api_v1 = [
    path("", include("campaigns.api.urls")),
    path("", include("templates_app.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("accounts.api.urls")),
    path("health/", HealthView.as_view(), name="health"),
]

urlpatterns = [
    # The API first: Django tries the patterns in turn, and serving (most of the traffic) is its first.
    path("api/v1/", include(api_v1)),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Browsers ask for /favicon.ico whatever the page says: send them to the site's icon.
    path("favicon.ico", lambda request: redirect(static_url("favicon.svg"), permanent=True), name="favicon"),
    path("admin/", admin.site.urls),
    path("dashboards/", include("analytics.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("templates/", include("templates_app.urls")),
    path("r/<str:token>.jpg", render_signed, name="render-signed"),
    path("t/i/<str:token>.gif", impression_pixel, name="track-impression"),
    path("t/v/<str:event>/<str:token>.gif", video_event_pixel, name="track-video"),
    path("t/c/<str:token>", click_redirect, name="track-click"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
]

handler400 = "creativeadmin.errors.bad_request"
handler404 = "creativeadmin.errors.not_found"
handler500 = "creativeadmin.errors.server_error"

admin.site.site_header = "Creative Admin"
admin.site.site_title = "Creative Admin"
admin.site.index_title = "Templates, campaigns and creatives"

if settings.DEBUG and settings.MEDIA_STORAGE == "local":
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
