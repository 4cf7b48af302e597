"""The review gallery: an operator looks at a campaign's creatives and approves or rejects them; the
campaign's buttons (Generate, Go live, Pause, End) that it and the admin's campaign page show; and
on-demand rendering of a template with catalogue products by signed URL (`GET /r/<token>.jpg`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from creativeadmin.errors import ApplicationError, error_response
from templates_app.errors import PreviewRejected

from . import selectors, services
from .models import Campaign, Creative, GenerationJob

# The campaign's buttons (its admin page and its review gallery): URL segment -> label.
CAMPAIGN_TRANSITIONS = {
    "generate": "Generate",
    "go-live": "Go live",
    "pause": "Pause",
    "end": "End",
    "reopen": "Reopen",  # shown on an ended campaign only
}


def campaign_transition(*, request, campaign: Campaign, transition: str) -> tuple[str, int]:
    """Run one button's service on a campaign; the message saying what happened, and its level.

    A refusal (not ready, nothing approved, not live) is the service's own message, as an error.
    """
    try:
        if transition == "generate":
            job = services.generation_job_start(campaign=campaign, requested_by=request.user)
            job.refresh_from_db()  # run inline (tests, CREATIVE_JOBS_IN_BACKGROUND off), it has finished
            if job.state == GenerationJob.State.RUNNING:
                return (
                    f"{campaign}: generation job {job.pk} started ({job.product_sets_total} product set(s)); "
                    "its progress shows on the campaign's page, which says when it is done.",
                    messages.SUCCESS,
                )
            made, total = len(job.completed_sets), job.product_sets_total
            return f"{campaign}: generation job {job.pk} is {job.state}: {made} of {total} product set(s) made.", (
                messages.SUCCESS if made else messages.ERROR
            )
        if transition == "go-live":
            services.campaign_go_live(campaign=campaign)
            approved = campaign.creatives.filter(state=Creative.State.APPROVED).count()
            return f"{campaign} is live: its {approved} approved creative(s) are served.", messages.SUCCESS
        if transition == "pause":
            services.campaign_pause(campaign=campaign)
            return f"{campaign} is paused: nothing of it is served until it goes live again.", messages.SUCCESS
        if transition == "end":
            services.campaign_end(campaign=campaign)
            return f"{campaign} has ended: it is no longer served; its creatives and statistics are kept.", (
                messages.SUCCESS
            )
        if transition == "reopen":
            services.campaign_reopen(campaign=campaign)
            return f"{campaign} is reopened ({campaign.get_status_display().lower()}): go live to serve it again.", (
                messages.SUCCESS
            )
    except ApplicationError as exc:
        return exc.message, messages.ERROR
    raise Http404(f"No such campaign action: {transition}")


def campaign_controls_context(request, campaign: Campaign | None) -> dict:
    """What the campaign's buttons and its latest job's progress need (the admin page and the review gallery).

    Looking at a job left running by a stopped process resumes it (the embedded default: see
    `generation_job_resume_orphaned`).
    """
    if campaign is None:
        return {}
    job = selectors.campaign_latest_job(campaign=campaign)
    if job is not None and services.generation_job_resume_orphaned(job=job):
        job.refresh_from_db()
    return {
        "controls_campaign": campaign,
        "controls_job": job,
        "controls_can_change": request.user.has_perm("campaigns.change_campaign"),
        "controls_transitions": [
            (reverse(f"admin:campaigns_campaign_{t.replace('-', '_')}", args=[campaign.pk]), label)
            for t, label in CAMPAIGN_TRANSITIONS.items()
            if t != "reopen" or campaign.status == Campaign.Status.ENDED
        ],
        "controls_next": request.get_full_path(),
    }


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
            **campaign_controls_context(request, campaign),
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
