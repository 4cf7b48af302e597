"""Writes for templates: created, versioned, restored, published (after its preview sheet passes),
archived, duplicated, imported from a PSD, saved from the visual editor.

Saving (the admin form, the editor, a restore) makes a new version, the draft (`current_version`);
only `template_publish` moves `published_version`, the version campaigns and serving use."""

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from creativeadmin.errors import ConflictError

from ..errors import PreviewRejected, TemplateRejected
from ..models import Asset, Brand, Template, TemplateVersion
from ..problems import violation_problem
from ..psd_import import PsdLimits, psd_template, spec_with_asset_names
from .material import asset_create
from .previews import sheet_errors
from .specs import validated_spec


@transaction.atomic
def template_create(*, name: str, spec: dict, owner=None, brand: Brand | None = None) -> Template:
    """A new draft template with its spec as version 1 (the spec is validated first)."""
    spec, parsed = validated_spec(spec, name=name)
    template = Template(
        name=name,
        kind=parsed.kind,
        tags=list(parsed.tags),
        owner=owner,
        brand=brand,
        products_min=parsed.products_min,
        products_max=parsed.products_max,
        shapes=list(getattr(parsed, "shapes", ())),
    )
    template.full_clean()
    template.save()
    _add_version(template=template, spec=spec, parsed=parsed, saved_by=owner, note="created")
    return template


def _add_version(*, template: Template, spec: dict, parsed, saved_by, note: str) -> TemplateVersion:
    """The spec saved as the newest version: the template's draft. Never what campaigns use until published."""
    last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = TemplateVersion.objects.create(
        template=template, number=last + 1, spec=spec, saved_by=saved_by, note=note[:200]
    )
    template.current_version = version
    template.tags = list(parsed.tags)
    template.products_min, template.products_max = parsed.products_min, parsed.products_max
    template.shapes = list(getattr(parsed, "shapes", ()))
    template.save(update_fields=["current_version", "tags", "products_min", "products_max", "shapes", "updated_at"])
    return version


@transaction.atomic
def template_version_save(*, template: Template, spec: dict, saved_by=None, note: str = "") -> TemplateVersion:
    """Every save is a new immutable version, the draft; campaigns keep using the published version."""
    template = Template.objects.select_for_update().get(pk=template.pk)
    spec, parsed = validated_spec(spec, name=template.name)
    return _add_version(template=template, spec=spec, parsed=parsed, saved_by=saved_by, note=note)


@transaction.atomic
def template_version_restore(*, version: TemplateVersion, restored_by=None) -> TemplateVersion:
    """Restoring an older version saves its spec again as the newest version."""
    template = Template.objects.select_for_update().get(pk=version.template_id)
    spec, parsed = validated_spec(version.spec, name=template.name)
    return _add_version(
        template=template, spec=spec, parsed=parsed, saved_by=restored_by, note=f"restored v{version.number}"
    )


def template_publish(*, template: Template, version: TemplateVersion | None = None) -> Template:
    """Publish `version` (by default the newest saved one, the draft): campaigns and serving use it from now on.

    An image template's version must render with no hard error at every sheet size. Otherwise
    TemplateRejected (code sheet_errors) says so in words: `extra["errors"]` holds one sentence per
    distinct problem ("The title covers the product at 728×90."), `extra["problems"]` each failure with
    its code, the layer it concerns, the size and product count, so a page can select the layer.
    Nothing changes on a refusal: campaigns keep the version published before.
    """
    # Read again: the caller's copy may predate the newest saved draft.
    template = Template.objects.select_related("current_version").get(pk=template.pk)
    version = version or template.current_version
    if version is None:
        raise TemplateRejected("A template needs a saved version before it can be published.", code="no_version")
    if version.template_id != template.pk:
        raise TemplateRejected(f"{version} is not a version of {template.name}.", code="wrong_template")
    if template.kind == Template.Kind.IMAGE:
        try:
            errors = sheet_errors(version)
        except PreviewRejected as exc:
            raise TemplateRejected(f"{template.name} cannot be published: {exc.message}", code=exc.code) from exc
        if errors:
            problems = [
                {**violation_problem(e.violation, size=e.size).as_dict(), "size": list(e.size), "products": e.products}
                for e in errors
            ]
            sentences = list(dict.fromkeys(p["text"] for p in problems))
            raise TemplateRejected(
                f"{template.name} version {version.number} cannot be published: {len(errors)} hard error(s) "
                f"in its preview sheet. " + " ".join(sentences[:3]) + (" …" if len(sentences) > 3 else ""),
                code="sheet_errors",
                extra={"version": version.number, "errors": sentences, "problems": problems},
            )
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template.pk)
        template.published_version = version
        template.status = Template.Status.PUBLISHED
        template.save(update_fields=["published_version", "status", "updated_at"])
    return template


def template_archive(*, template: Template) -> Template:
    template.status = Template.Status.ARCHIVED
    template.save(update_fields=["status", "updated_at"])
    return template


def template_duplicate(*, template: Template, name: str | None = None, owner=None) -> Template:
    """A new draft from the template's current version; `name` defaults to "<name> (copy)", "(copy 2)"..."""
    if template.current_version is None:
        raise TemplateRejected("Only a template with a saved version can be duplicated.", code="no_version")
    if name is None:
        name, n = f"{template.name} (copy)", 1
        while Template.objects.filter(name=name).exists():
            n += 1
            name = f"{template.name} (copy {n})"
    return template_create(name=name, spec=template.current_version.spec, owner=owner, brand=template.brand)


def template_import_psd(*, name: str, data: bytes, owner=None, brand: Brand | None = None):
    """A new draft template from a layered PSD, with its assets; returns (template, report).

    The report (templates_app.psd_import.PsdImport) lists what was imported and what could not be
    mapped, with reasons. The assets and the template land together or not at all: on any failure
    the rows are rolled back and the files this call wrote are removed (assets are content-addressed,
    so a file another asset still uses is kept). Raises UploadRejected for a file over the limits,
    damaged or not a PSD, and TemplateRejected when the result is not a valid template.
    """

    if Template.objects.filter(name=name).exists():
        raise TemplateRejected(f"A template named {name!r} already exists.", code="duplicate_name")
    brand_colours = (
        {"primary": brand.primary_colour, "accent": brand.accent_colour, "text": brand.text_colour} if brand else None
    )
    result = psd_template(data, name=name, limits=PsdLimits.from_settings(), brand_colours=brand_colours)
    written: list[str] = []
    try:
        with transaction.atomic():
            renames = {}
            before = Asset.objects.aggregate(latest=Max("pk"))["latest"] or 0
            for item in result.assets:
                asset = asset_create(name=item.name, kind=item.kind, data=item.data, brand=brand, uploaded_by=owner)
                if asset.pk > before and asset.file.name not in written:  # made here, not an identical earlier one
                    written.append(asset.file.name)
                renames[item.name] = asset.name
            try:
                template = template_create(
                    name=name, spec=spec_with_asset_names(result.spec, renames), owner=owner, brand=brand
                )
            except ValidationError as exc:
                raise TemplateRejected(
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()), code="invalid_fields"
                ) from exc
    except BaseException:
        for file_name in written:
            if not Asset.objects.filter(file=file_name).exists():
                default_storage.delete(file_name)
        raise
    return template, result


@transaction.atomic
def template_editor_save(
    *, template: Template, spec: dict, base_version: int | None, saved_by=None, note: str = ""
) -> TemplateVersion | None:
    """Save the editor's spec as a new version; None when it equals the current one.

    ConflictError when someone saved a version since the editor loaded `base_version`, so
    nobody's work is silently overwritten.
    """
    template = Template.objects.select_for_update().get(pk=template.pk)
    current = template.current_version
    if current is not None and base_version != current.number:
        raise ConflictError(
            f"Version {current.number} was saved since you opened version {base_version}; reload to see it.",
            code="version_conflict",
            extra={"current_version": current.number},
        )
    if current is not None and current.spec == {**spec, "name": template.name}:
        return None
    return template_version_save(
        template=template, spec=spec, saved_by=saved_by, note=note or "edited in the visual editor"
    )
