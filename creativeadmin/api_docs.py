"""Swagger UI at /api/docs/, for signed-in users unless settings.API_DOCS_PUBLIC.

drf-spectacular's split view: the page loads its init script from `?script` instead of carrying
it inline, so it runs under the Content-Security-Policy (creativeadmin.security).
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerSplitView

_swagger_ui = SpectacularSwaggerSplitView.as_view(url_name="schema")


def api_docs(request, *args, **kwargs):
    """Swagger UI; a visitor who is not signed in goes to the login page when the docs are not public."""
    if not (settings.API_DOCS_PUBLIC or request.user.is_authenticated):
        return redirect_to_login(request.get_full_path())
    return _swagger_ui(request, *args, **kwargs)
