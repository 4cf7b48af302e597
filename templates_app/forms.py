"""Forms of the design-material pages that are not model forms: the PSD import."""

from django import forms
from django.conf import settings

from .models import Brand, Template


class PsdImportForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="The new template's name (unique).")
    brand = forms.ModelChoiceField(
        queryset=Brand.objects.all(),
        required=False,
        help_text="Optional: text and shape colours that match the brand's colours take its palette roles.",
    )
    file = forms.FileField(
        label="PSD file",
        help_text="A layered RGB Photoshop file whose layers are named by the convention below.",
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Template.objects.filter(name=name).exists():
            raise forms.ValidationError("A template with this name already exists.", code="duplicate_name")
        return name

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.TEMPLATE_PSD_MAX_BYTES
        if upload.size > limit:  # refused before the upload is read into memory
            raise forms.ValidationError(
                f"The PSD is {upload.size / 2**20:.1f} MB, over the limit of {limit / 2**20:.0f} MB.",
                code="psd_too_large",
            )
        return upload
