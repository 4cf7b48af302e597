"""Form fields the campaigns admin shows in people's terms rather than as JSON."""

import re

from django import forms

from creativeadmin.json_input import JSONTooDeep, json_loads_bounded

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×X*]\s*(\d{1,5})\s*$")


def sizes_label(sizes) -> str:
    """[[1080, 1080], [728, 90]] -> "1080×1080, 728×90"."""
    return ", ".join(f"{w}×{h}" for w, h in sizes or ())


class SizesField(forms.CharField):
    """Sizes typed as "1080×1080, 728×90" ("x" works too, and so does the stored JSON), stored as
    [[1080, 1080], [728, 90]].

    Only the shape is read here; the model's `clean` checks each side's range.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Width×height, separated by commas, e.g. 1080×1080, 728×90 (x works too).")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return sizes_label(value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        if text.lstrip().startswith("["):  # the stored form, [[1080, 1080], [728, 90]], pasted back
            try:
                pairs = json_loads_bounded(text)
            except JSONTooDeep as exc:
                raise forms.ValidationError(str(exc), code="json_too_deep") from exc
            except ValueError as exc:
                raise forms.ValidationError(
                    "Write sizes as width×height, e.g. 1080×1080, 728×90.", code="bad_size"
                ) from exc
            # Any other shape goes on to the model's check, which says what a size list must be.
            return pairs
        sizes = []
        for part in text.split(","):
            if not part.strip():
                continue
            match = _SIZE.match(part)
            if not match:
                raise forms.ValidationError(
                    "“%(part)s” is not a size: write width×height, e.g. 1080×1080.",
                    code="bad_size",
                    params={"part": part.strip()},
                )
            sizes.append([int(match.group(1)), int(match.group(2))])
        return sizes


class PlacementForm(forms.ModelForm):
    sizes = SizesField(label="Sizes")

    class Meta:
        from .models import Placement

        model = Placement
        fields = ("name", "channel", "format", "sizes", "max_file_kb", "active")  # every editable field


class CampaignForm(forms.ModelForm):
    """The campaign admin's form: refuses templates generation could not use (the model's `clean`
    refuses a live campaign with nothing approved to serve)."""

    class Meta:
        from .models import Campaign

        model = Campaign
        fields = (
            "name", "status", "copy", "pool", "products", "templates", "placements", "products_per_creative", "top_k",
            "candidates_per_size", "seed", "landing_url", "starts_at", "ends_at", "auto_approve_score", "webhook_url",
        )  # fmt: skip  # every editable field

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An archived placement is served nothing and left out of generation: it is not offered, but
        # one the campaign already has stays listed (and chosen) so saving the form does not drop it.
        if "placements" in self.fields:
            current = self.instance.placements.all() if self.instance.pk else self.fields["placements"].queryset.none()
            offered = self.fields["placements"].queryset.filter(archived_at__isnull=True) | current
            self.fields["placements"].queryset = offered.distinct()

    def clean_templates(self):
        from .selectors import template_published_version

        templates = self.cleaned_data["templates"]
        unpublished = sorted(t.name for t in templates if template_published_version(template=t) is None)
        if unpublished:
            raise forms.ValidationError(
                "%(names)s %(have)s no published version, so no creative could be made from %(it)s: "
                "publish %(it)s first or leave %(it)s out.",
                code="template_unpublished",
                params={
                    "names": ", ".join(f"“{name}”" for name in unpublished),
                    "have": "has" if len(unpublished) == 1 else "have",
                    "it": "it" if len(unpublished) == 1 else "them",
                },
            )
        return templates
