"""On-demand rendering by signed URL (`GET /r/<token>.jpg`) and the designer's preview sheet."""

import base64

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from . import services
from .models import Template


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


@login_required
@permission_required("templates_app.change_template", raise_exception=True)
def preview_sheet(request, pk: int):
    """The template at every sheet size with sample products: what publishing checks, for the designer to see."""
    template = get_object_or_404(Template, pk=pk)
    if template.current_version is None or template.kind != Template.Kind.IMAGE:
        cells = []
    else:
        cells = [
            {
                "size": f"{c.size[0]}x{c.size[1]}",
                "products": c.products,
                "score": c.score,
                "violations": c.violations,
                "src": "data:image/jpeg;base64," + base64.b64encode(c.image).decode(),
            }
            for c in services.template_preview_sheet(version=template.current_version)
        ]
    context = {
        "title": f"Preview sheet: {template.name}",
        "template": template,
        "cells": cells,
        "errors": sum(len(c["violations"]) for c in cells),
    }
    return render(request, "templates_app/sheet.html", context)
