"""The review gallery: an operator looks at a campaign's creatives and approves or rejects them; and
on-demand rendering of a template with catalogue products by signed URL (`GET /r/<token>.jpg`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from creativeadmin.errors import error_response
from templates_app.errors import PreviewRejected

from . import selectors, services
from .models import Campaign, Creative


@login_required
@permission_required("campaigns.view_creative", raise_exception=True)
def review(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_creative"):
            messages.error(request, "You may look at creatives but not approve or reject them.")
            return redirect(request.get_full_path())
        # A family row's box stands for all its sizes ("12,13,14"): approving the row approves them together.
        ids = request.POST.getlist("creative") + [i for row in request.POST.getlist("row") for i in row.split(",")]
        chosen = Creative.objects.filter(campaign=campaign, pk__in=[i for i in ids if i.strip().isdigit()])
        approve = request.POST.get("action") == "approve"
        changed = services.creatives_review(creatives=list(chosen), approve=approve)
        messages.success(request, f"{changed} creative(s) {'approved' if approve else 'rejected'}.")
        return redirect(request.get_full_path())
    try:
        min_score = float(request.GET["min_score"]) if request.GET.get("min_score") else None
    except ValueError:
        min_score = None
    filters = {k: request.GET.get(k, "") for k in ("state", "format", "size")}
    gallery = selectors.review_gallery(campaign=campaign, min_score=min_score, **filters)
    sizes = sorted({f"{c.width}x{c.height}" for c in campaign.creatives.all()})
    return render(
        request,
        "campaigns/review.html",
        {
            "title": f"Review: {campaign.name}",
            "campaign": campaign,
            "gallery": gallery,
            "filters": {**filters, "min_score": request.GET.get("min_score", "")},
            "sizes": sizes,
            "states": Creative.State.choices,
            "can_review": request.user.has_perm("campaigns.change_creative"),
        },
    )


@require_GET
def render_signed(request, token: str):
    try:
        image, cached = services.render_by_token(token=token)
    except PreviewRejected as exc:
        status = {"bad_signature": 403, "not_found": 404}.get(exc.code, 400)
        return error_response(exc, status=status)
    response = HttpResponse(image, content_type="image/jpeg")
    # The URL names its content exactly (signed, content-addressed), so it may be cached for long.
    response["Cache-Control"] = "public, max-age=86400, immutable"
    response["X-Render-Cache"] = "hit" if cached else "miss"
    return response
