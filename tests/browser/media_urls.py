"""The site's URLs plus media files, for browser tests (Django serves media itself only in DEBUG)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from creativeadmin.urls import urlpatterns as site_urlpatterns


def media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)  # read per request: tests move MEDIA_ROOT


urlpatterns = [*site_urlpatterns, re_path(r"^media/(?P<path>.*)$", media)]
