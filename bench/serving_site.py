"""The site as gunicorn serves it in `bench.serving`, plus a bare DRF endpoint for the baseline.

`gunicorn bench.serving_site:application`: the real URLconf with one more route,
`/bench/bare`, a DRF view that returns a constant with no authentication, permission or
throttle, so the ratio printed by the benchmark is what serving costs over DRF itself.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creativeadmin.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from creativeadmin.urls import urlpatterns as site_urlpatterns  # noqa: E402

settings.ROOT_URLCONF = __name__  # before the first request: the resolver is built from this


class Bare(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"creative_id": 1, "url": "https://example.com/c.jpg", "width": 300, "height": 250})


urlpatterns = [path("bench/bare", Bare.as_view()), *site_urlpatterns]
