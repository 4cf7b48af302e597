"""Designer pages: the visual editor and its JSON calls, the preview sheet. (On-demand rendering
by signed URL, `GET /r/<token>.jpg`, is campaigns.views.render_signed: it looks products up.)"""

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from creativeadmin.errors import ApplicationError, error_response
from creativeadmin.json_input import JSONTooDeep, json_loads_bounded, json_too_deep_error
from synthesis.spec import parse_template

from . import selectors, services
from .errors import PreviewRejected
from .models import Template
from .palettes import ROLE_MEANINGS, TEXT_ON, editor_palette, palette_contrasts, palette_problems
from .problems import render_problems, violation_problems


@login_required
@permission_required("templates_app.view_template", raise_exception=True)
def preview_sheet(request, pk: int):
    """The template at every sheet size with sample products: what publishing checks, for the designer to see.

    Operators may open any published template's sheet, read-only (to choose templates by sight): they see
    the published version, what their campaigns use; designers see the draft, what Publish would check.
    Drafts are the designers' alone (404 to others, like the template list).
    """
    template = get_object_or_404(selectors.template_list_for_user(user=request.user), pk=pk)
    version = selectors.template_version_for_user(template=template, user=request.user)
    cells, problem, status = [], None, 200
    if version is not None and template.kind == Template.Kind.IMAGE:
        try:
            sheet = services.template_preview_sheet(version=version)
        except PreviewRejected as exc:  # over its time budget: the work was stopped
            problem, status = exc.message, exc.status_code
        else:
            cells = [
                {
                    "size": f"{c.size[0]}×{c.size[1]}",
                    "size_param": f"{c.size[0]}x{c.size[1]}",
                    "products": c.products,
                    "score": c.score,
                    "violations": c.violations,
                    "problems": violation_problems(c.violations, size=c.size),
                    "src": "data:image/jpeg;base64," + base64.b64encode(c.image).decode(),
                }
                for c in sheet
            ]
    context = {
        "title": f"Preview sheet: {template.name}",
        "template": template,
        "version": version,
        "cells": cells,
        "problem": problem,
        "errors": sum(len(c["violations"]) for c in cells),
        "can_edit": request.user.has_perm("templates_app.change_template"),
        "editor_url": reverse("templates_app:editor", args=[pk]),
    }
    return render(request, "templates_app/sheet.html", context, status=status)


def _editor_template(request, pk: int) -> Template:
    return get_object_or_404(selectors.template_list_for_user(user=request.user), pk=pk)


def _json_body(request) -> dict:
    try:
        body = json_loads_bounded(request.body or b"{}")
    except JSONTooDeep as exc:
        raise json_too_deep_error(exc) from exc
    except ValueError as exc:  # UnicodeDecodeError included
        raise ApplicationError("The request body is not JSON.", code="bad_json") from exc
    if not isinstance(body, dict):
        raise ApplicationError("The request body must be a JSON object.", code="bad_json")
    return body


def _editor_body(request) -> tuple[dict, dict]:
    """The editor's JSON body and the template spec it carries; ApplicationError when either is not an object."""
    body = _json_body(request)
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise ApplicationError("`spec` must be a template spec object.", code="bad_spec")
    return body, spec


@login_required
@permission_required("templates_app.change_template", raise_exception=True)
@ensure_csrf_cookie
def template_editor(request, pk: int):
    """The visual editor: the engine's render of the current spec with handles over its layers."""
    from synthesis.colour import PALETTE_ROLES
    from synthesis.spec import ALIGNS, PLATES, ROLES

    from .engine import asset_images, font_registry

    template = _editor_template(request, pk)
    version = template.current_version
    editable = template.kind == Template.Kind.IMAGE and version is not None
    context = {
        "title": f"Edit {template.name}",
        "template": template,
        "editable": editable,
        "editor": {
            "spec": version.spec if version else {},
            "version": version.number if version else None,
            "name": template.name,
            "published_version": template.published_version.number if template.published_version else None,
            "urls": {
                "render": reverse("templates_app:editor-render", args=[pk]),
                "save": reverse("templates_app:editor-save", args=[pk]),
                "publish": reverse("templates_app:editor-publish", args=[pk]),
            },
            "sizes": [[w, h, label] for w, h, label in services.EDITOR_SIZES],
            "copy": services.SHEET_COPY,
            "roles": list(ROLES),
            "palette_roles": list(PALETTE_ROLES),
            "role_meanings": dict(ROLE_MEANINGS),
            "text_on": dict(TEXT_ON),
            "plates": list(PLATES),
            "aligns": list(ALIGNS),
            "fonts": sorted(font_registry().faces),
            "assets": sorted(asset_images()) if editable else [],
        },
    }
    return render(request, "templates_app/editor.html", context)


@require_POST
@login_required
@permission_required("templates_app.change_template", raise_exception=True)
def template_editor_render(request, pk: int):
    """POST {spec, width, height, products, copy}: the preview as a data URL, its score, warnings and layer boxes."""
    template = _editor_template(request, pk)
    try:
        body, spec = _editor_body(request)
        try:
            size = (int(body.get("width", 1080)), int(body.get("height", 1080)))
            product_count = int(body.get("products", 1))
        except (TypeError, ValueError) as exc:
            raise ApplicationError("width, height and products must be whole numbers.", code="bad_size") from exc
        copy = body.get("copy") if isinstance(body.get("copy"), dict) else {}
        preview = services.template_design_preview(
            spec=spec, name=template.name, size=size, product_count=product_count, copy=copy
        )
    except ApplicationError as exc:
        return error_response(exc)
    image = preview.pop("image")
    palette = editor_palette(parsed=parse_template({**spec, "name": template.name}), size=size)
    preview["palette"] = palette
    preview["contrasts"] = palette_contrasts(palette)
    preview["problems"] = render_problems(
        violations=preview["violations"], components=preview["components"], warnings=preview["warnings"], size=size
    ) + [p.as_dict() for p in palette_problems(palette, own=spec.get("palette") or {})]
    response = JsonResponse({**preview, "src": "data:image/jpeg;base64," + base64.b64encode(image).decode()})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@permission_required("templates_app.change_template", raise_exception=True)
def template_editor_save(request, pk: int):
    """POST {spec, base_version, note}: a new version (201), unchanged (200), or 409 if someone saved meanwhile."""
    template = _editor_template(request, pk)
    try:
        body, spec = _editor_body(request)
        version = services.template_editor_save(
            template=template,
            spec=spec,
            base_version=body.get("base_version"),
            saved_by=request.user,
            note=str(body.get("note") or ""),
        )
    except ApplicationError as exc:
        return error_response(exc)
    template.refresh_from_db()
    number = template.current_version.number
    return JsonResponse({"version": number, "created": version is not None}, status=201 if version else 200)


@require_POST
@login_required
@permission_required("templates_app.change_template", raise_exception=True)
def template_editor_publish(request, pk: int):
    """POST {version}: publish that saved version after its preview sheet passes (200), or 400 with the
    hard errors in words (extra.errors) and each with its layer and size (extra.problems)."""
    template = _editor_template(request, pk)
    try:
        body = _json_body(request)
        number = body.get("version")
        version = None
        if number is not None:
            valid = isinstance(number, int) and not isinstance(number, bool) and 0 < number < 2**31
            version = (
                selectors.template_version_list(template=template).filter(number=number).first() if valid else None
            )
            if version is None:
                raise ApplicationError(f"There is no version {number} of this template.", code="no_version")
        template = services.template_publish(template=template, version=version)
    except ApplicationError as exc:
        return error_response(exc)
    return JsonResponse(
        {
            "published_version": template.published_version.number,
            "current_version": template.current_version.number,
            "status": template.get_status_display(),
        }
    )


@require_POST
@login_required
@permission_required("templates_app.change_template", raise_exception=True)
def template_version_restore(request, pk: int, number: int):
    """Save an older version's spec again as the newest version (from the template's admin page)."""
    template = _editor_template(request, pk)
    version = get_object_or_404(selectors.template_version_list(template=template), number=number)
    try:
        restored = services.template_version_restore(version=version, restored_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Version {number} restored as version {restored.number}.")
    return redirect("admin:templates_app_template_change", pk)
