"""Admin for design material. Uploads go through the services, which validate the file."""

from django import forms
from django.contrib import admin

from creativeadmin.errors import ApplicationError

from . import services
from .models import Asset, Brand, Font


class _ServiceUploadForm(forms.ModelForm):
    """Runs the create service in clean(), so a rejected upload is a form error, not a 500."""

    create_service = None

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.created = None

    def service_kwargs(self, data: bytes) -> dict:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if self.instance.pk is None and upload is not None and not self.errors:
            try:
                self.created = type(self).create_service(**self.service_kwargs(upload.read()))
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return cleaned


class FontForm(_ServiceUploadForm):
    create_service = staticmethod(services.font_register)

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

    class Meta:
        model = Asset
        fields = ("name", "kind", "brand", "file")

    def service_kwargs(self, data):
        c = self.cleaned_data
        user = self.request.user if self.request else None
        return dict(name=c["name"], kind=c["kind"], brand=c.get("brand"), data=data, uploaded_by=user)


class _ServiceUploadAdmin(admin.ModelAdmin):
    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class RequestForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestForm

    def save_model(self, request, obj, form, change):
        if change or form.created is None:
            super().save_model(request, obj, form, change)
            return
        # The service already stored it; hand the admin the saved row.
        obj.pk = form.created.pk
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
