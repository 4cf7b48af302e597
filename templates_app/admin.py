"""Admin for design material. Uploads go through the services, which validate the file."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from creativeadmin.errors import ApplicationError
from creativeadmin.json_input import JSON_FORMFIELD_OVERRIDES, BoundedJSONFormField, JSONTooDeep, json_loads_bounded

from . import selectors, services
from .errors import UploadRejected
from .models import Asset, Brand, Font, Template, TemplateVersion


class _ServiceUploadForm(forms.ModelForm):
    """Validates the upload with the service's checks in clean(), so a bad file is a form error, not a 500.

    The admin's save_model then calls the create service (see _ServiceUploadAdmin).
    """

    create_service = None
    check_service = None

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.created = None
        self.upload = None

    def service_kwargs(self, data) -> dict:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if self.instance.pk is None and upload is not None and not self.errors:
            # The uploaded file itself goes to the service, which reads it in chunks with its size
            # checked as it reads (never .read() whole: footage may be hundreds of MB).
            self.upload = upload
            try:
                type(self).check_service(**self.service_kwargs(self.upload))
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return cleaned

    def create(self):
        self.created = type(self).create_service(**self.service_kwargs(self.upload))
        return self.created


class FontForm(_ServiceUploadForm):
    create_service = staticmethod(services.font_register)
    check_service = staticmethod(services.font_check)

    class Meta:
        model = Font
        fields = ("family", "weight", "style", "face_index", "file")

    def service_kwargs(self, data):
        c = self.cleaned_data
        return dict(
            family=c["family"],
            weight=c["weight"],
            style=c["style"],
            face_index=c["face_index"],
            data=data,
            filename=c["file"].name,
        )


class AssetForm(_ServiceUploadForm):
    create_service = staticmethod(services.asset_create)
    check_service = staticmethod(services.asset_check)

    class Meta:
        model = Asset
        fields = ("name", "kind", "brand", "file")

    def service_kwargs(self, data):
        c = self.cleaned_data
        user = self.request.user if self.request else None
        return dict(name=c["name"], kind=c["kind"], brand=c.get("brand"), data=data, uploaded_by=user)


class _RequestFormAdmin(admin.ModelAdmin):
    """Hands the request to the form, whose clean() and save call services on the user's behalf."""

    formfield_overrides = JSON_FORMFIELD_OVERRIDES  # JSON typed in is depth-checked

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class RequestForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestForm


class _ServiceUploadAdmin(_RequestFormAdmin):
    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The service stores the file and the row; hand the admin the saved row.
        obj.pk = form.create().pk
        obj.refresh_from_db()

    def get_readonly_fields(self, request, obj=None):
        return ("file",) if obj else ()


@admin.register(Font)
class FontAdmin(_ServiceUploadAdmin):
    form = FontForm
    list_display = ("family", "weight", "style", "covers_cjk", "created_at")
    list_filter = ("covers_cjk", "style")
    search_fields = ("family",)


@admin.register(Asset)
class AssetAdmin(_ServiceUploadAdmin):
    form = AssetForm
    list_display = ("name", "kind", "width", "height", "brand", "created_at")
    list_filter = ("kind", "brand")
    search_fields = ("name",)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "primary_colour", "accent_colour", "text_colour")
    search_fields = ("name",)


SPEC_FILE_MAX_BYTES = 512 * 1024


class TemplateForm(forms.ModelForm):
    """Create a template from a spec JSON, or save a new version of it; the spec is validated by the engine."""

    spec = BoundedJSONFormField(required=False, help_text="Template spec (see docs/template-spec.md).")
    spec_file = forms.FileField(
        required=False, label="or a spec file", help_text="A .json spec file; it replaces the text above."
    )
    note = forms.CharField(required=False, max_length=200, help_text="What changed (kept with the version).")

    class Meta:
        model = Template
        fields = ("name", "brand", "spec", "spec_file", "note")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if self.instance.pk and self.instance.current_version_id:
            # Designers edit the draft; a view-only user (an operator) reads the published spec campaigns use.
            shown = self.instance.current_version
            if request is not None:
                shown = selectors.template_version_for_user(template=self.instance, user=request.user) or shown
            self.fields["spec"].initial = shown.spec
            if "name" in self.fields:  # a view-only user's form has no editable fields
                self.fields["name"].disabled = True

    def clean_spec_file(self):
        upload = self.cleaned_data.get("spec_file")
        if upload is None:
            return None
        if upload.size > SPEC_FILE_MAX_BYTES:
            raise forms.ValidationError(f"A spec file is at most {SPEC_FILE_MAX_BYTES // 1024} KB.")
        try:
            spec = json_loads_bounded(upload.read().decode("utf-8-sig"))
        except JSONTooDeep as exc:
            raise forms.ValidationError(f"{upload.name}: {exc}", code="json_too_deep") from exc
        except ValueError as exc:  # UnicodeDecodeError included
            raise forms.ValidationError(f"The spec file is not UTF-8 JSON: {exc}.") from exc
        if not isinstance(spec, dict):
            raise forms.ValidationError("A spec file holds one JSON object.")
        return spec

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("spec_file") is not None:
            cleaned["spec"] = cleaned["spec_file"]
        if not isinstance(cleaned.get("spec"), dict):
            raise forms.ValidationError("Give the template spec as JSON text or as a .json file.")
        name = self.instance.name if self.instance.pk else cleaned["name"]
        try:
            services.template_spec_check(spec=cleaned["spec"], name=name)
        except ApplicationError as exc:
            errors = exc.extra.get("errors") or [exc.message]
            raise forms.ValidationError([forms.ValidationError(e) for e in errors]) from exc
        return cleaned

    def save_via_services(self) -> Template:
        user = self.request.user if self.request else None
        cleaned = self.cleaned_data
        if self.instance.pk is None:
            return services.template_create(
                name=cleaned["name"], spec=cleaned["spec"], owner=user, brand=cleaned.get("brand")
            )
        if cleaned["spec"] != self.instance.current_version.spec:
            services.template_version_save(
                template=self.instance, spec=cleaned["spec"], saved_by=user, note=cleaned.get("note", "")
            )
        return self.instance


def template_versions_label(template: Template) -> str:
    """ "Published: v1, draft v2 (unpublished changes)", "Published: v2", "Draft v1 (not published)"."""
    draft = template.current_version
    published = template.published_version
    if draft is None:
        return "-"
    if published is None:
        return f"Draft v{draft.number} (not published)"
    if published.pk == draft.pk:
        return f"Published: v{published.number}"
    return f"Published: v{published.number}, draft v{draft.number} (unpublished changes)"


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ("number", "saved_by", "saved_at", "note", "in_use", "restore")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="In use")
    def in_use(self, version):
        if version.pk is None:
            return "-"
        marks = []
        if version.template.published_version_id == version.pk:
            marks.append("published (campaigns use it)")
        if version.template.current_version_id == version.pk:
            marks.append("draft" if version.template.published_version_id != version.pk else "newest")
        return ", ".join(marks) or "-"

    @admin.display(description="Restore")
    def restore(self, version):
        if version.pk is None or version.template.current_version_id == version.pk:
            return "current" if version.pk else "-"
        # Inside the change form: the button posts that form (and its CSRF token) to the restore view.
        url = reverse("templates_app:version-restore", args=[version.template_id, version.number])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" formnovalidate>'
            "Restore v{}</button>",
            url,
            version.number,
        )


@admin.register(Template)
class TemplateAdmin(_RequestFormAdmin):
    form = TemplateForm
    # Kept narrow enough for a 1280-pixel window with the admin's navigation and filters beside it.
    list_display = ("name", "kind", "status", "products", "version", "editor_link", "sheet_link", "updated")
    list_filter = ("status", "kind")
    search_fields = ("name",)
    inlines = [TemplateVersionInline]
    actions = ["publish", "archive", "duplicate"]

    def get_list_display(self, request):
        # The editor is the designers'; operators see the (read-only) preview sheet only.
        shown = super().get_list_display(request)
        if not self.has_change_permission(request):
            shown = tuple(f for f in shown if f != "editor_link")
        return shown

    def get_queryset(self, request):
        # Operators use templates; they only see the published ones.
        return selectors.template_list_for_user(user=request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        template = self.get_queryset(request).filter(pk=object_id).first()
        extra = {"versions_label": template_versions_label(template)} if template else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def save_model(self, request, obj, form, change):
        saved = form.save_via_services()
        obj.pk = saved.pk
        obj.refresh_from_db()
        if change and obj.brand != form.cleaned_data.get("brand"):
            obj.brand = form.cleaned_data.get("brand")
            obj.save(update_fields=["brand", "updated_at"])

    @admin.action(description="Publish the selected templates' drafts", permissions=["change"])
    def publish(self, request, queryset):
        """Publish each template's newest saved version (its draft) after its preview sheet passes."""
        for template in queryset:
            try:
                published = services.template_publish(template=template)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                for sentence in exc.extra.get("errors", [])[3:]:
                    self.message_user(request, f"{template.name}: {sentence}", messages.ERROR)
            else:
                number = published.published_version.number
                self.message_user(
                    request, f"{template.name} version {number} published: campaigns use it now.", messages.SUCCESS
                )

    @admin.display(description="Products", ordering="products_max")
    def products(self, obj):
        return (
            str(obj.products_min) if obj.products_min == obj.products_max else f"{obj.products_min}–{obj.products_max}"
        )

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj):
        return timezone.localtime(obj.updated_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Version", ordering="current_version__number")
    def version(self, obj):
        """What campaigns use and what designers work on: "Published: v1, draft v2 (unpublished changes)"."""
        return template_versions_label(obj)

    @admin.display(description="Preview")
    def sheet_link(self, obj):
        return format_html('<a href="{}">Preview sheet</a>', reverse("templates_app:preview-sheet", args=[obj.pk]))

    @admin.display(description="Edit")
    def editor_link(self, obj):
        if obj.kind != Template.Kind.IMAGE:
            return "-"
        return format_html('<a href="{}">Visual editor</a>', reverse("templates_app:editor", args=[obj.pk]))

    @admin.action(description="Archive the selected templates", permissions=["change"])
    def archive(self, request, queryset):
        for template in queryset:
            services.template_archive(template=template)

    @admin.action(description="Duplicate the selected templates (as drafts)", permissions=["add"])
    def duplicate(self, request, queryset):
        for template in queryset:
            try:
                copy = services.template_duplicate(template=template, name=None, owner=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{template.name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{template.name} duplicated as {copy.name}.", messages.SUCCESS)

    # --- PSD import (docs/psd-import.md): its own page, linked from the changelist ----------------------
    # Imports are local so this block stays self-contained beside the template editor's admin code.

    def get_urls(self):
        from django.urls import path

        view = self.admin_site.admin_view(self.import_psd_view)
        return [path("import-psd/", view, name="templates_app_template_import_psd"), *super().get_urls()]

    def import_psd_view(self, request):
        from django.conf import settings
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.template.response import TemplateResponse

        from .forms import PsdImportForm

        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PsdImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            c = form.cleaned_data
            try:
                template, report = services.template_import_psd(
                    name=c["name"], data=c["file"].read(), owner=request.user, brand=c["brand"]
                )
            except ApplicationError as exc:
                form.add_error("file" if isinstance(exc, UploadRejected) else None, exc.message)
            else:
                imported = "; ".join(report.imported) or "no layer"
                self.message_user(request, f"{template.name} imported from the PSD: {imported}.", messages.SUCCESS)
                if report.unmapped:
                    unmapped = "; ".join(map(str, report.unmapped))
                    self.message_user(request, f"Not mapped ({len(report.unmapped)}): {unmapped}.", messages.WARNING)
                return HttpResponseRedirect(reverse("admin:templates_app_template_change", args=[template.pk]))
        limits = {
            "max_bytes_mb": settings.TEMPLATE_PSD_MAX_BYTES // 2**20,
            "max_pixels": settings.CREATIVE_MAX_IMAGE_PIXELS,
            "max_layers": settings.TEMPLATE_PSD_MAX_LAYERS,
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a PSD",
            "opts": self.model._meta,
            "form": form,
            "limits": limits,
        }
        return TemplateResponse(request, "admin/templates_app/template/import_psd.html", context)
