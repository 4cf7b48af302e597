"""On-demand rendering by signed URL: `GET /r/<token>.jpg`."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from . import services


@require_GET
def render_signed(request, token: str):
    try:
        image, cached = services.render_by_token(token=token)
    except services.PreviewRejected as exc:
        status = {"bad_signature": 403, "not_found": 404}.get(exc.code, 400)
        return JsonResponse({"message": exc.message, "code": exc.code, "extra": exc.extra}, status=status)
    response = HttpResponse(image, content_type="image/jpeg")
    # The URL names its content exactly (signed, content-addressed), so it may be cached for long.
    response["Cache-Control"] = "public, max-age=86400, immutable"
    response["X-Render-Cache"] = "hit" if cached else "miss"
    return response
