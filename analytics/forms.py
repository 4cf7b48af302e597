"""The dashboards' filters: the query string of /dashboards/ and its CSV exports, validated."""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from campaigns.models import Campaign, Placement

from .selectors import day_range

NO_SEGMENT = "(none)"  # the filter value for traffic served without a segment
DEFAULT_DAYS = 14
FIRST_DAY = date(2000, 1, 1)
# The range ends at midnight after `to`, so the day after the last one allowed must still be a date
# (and an aware datetime in any time zone): 9999-12-31 as `to` was an OverflowError.
LAST_DAY = date(9999, 12, 30)


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        label=label,
        input_formats=["%Y-%m-%d"],  # what <input type="date"> sends, and what the export links carry
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class DashboardFilterForm(forms.Form):
    """`from`, `to` (days, inclusive), `campaign`, `placement` (ids) and `segment`, all optional.

    An id that is not a number, names nothing or overflows, and a date that is not one or is out of
    range, are form errors (the view answers 400 with them), never a ValueError or OverflowError.
    """

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.order_by("name"), required=False)
    placement = forms.ModelChoiceField(queryset=Placement.objects.order_by("name"), required=False)
    segment = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword, so these two are added by name.
        self.fields = {"from": _day_field("From"), "to": _day_field("To"), **self.fields}
        self.fields["campaign"].error_messages["invalid_choice"] = "No such campaign."
        self.fields["placement"].error_messages["invalid_choice"] = "No such placement."

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        if not self.has_error("to"):
            cleaned["to"] = cleaned.get("to") or today
        if not self.has_error("from"):
            cleaned["from"] = cleaned.get("from") or min(today, cleaned.get("to") or today) - timedelta(
                days=DEFAULT_DAYS - 1
            )
        if not self.errors and cleaned["from"] > cleaned["to"]:
            raise forms.ValidationError("`from` must be on or before `to`.", code="reversed_range")
        return cleaned

    def selector_filters(self) -> dict:
        """The selectors' keyword arguments for a valid form: an aware [start, end) and the ids."""
        cleaned = self.cleaned_data
        segment = cleaned["segment"]
        campaign, placement = cleaned["campaign"], cleaned["placement"]
        start, end = day_range(cleaned["from"], cleaned["to"])
        return dict(
            start=start,
            end=end,
            campaign_id=campaign.pk if campaign else None,
            placement_id=placement.pk if placement else None,
            segment=None if segment == "" else "" if segment == NO_SEGMENT else segment,
        )

    def error_sentences(self) -> list[str]:
        """Each error as the page shows it, naming the filter, its parameter and the value sent:
        'From (from=2026-02-30): Enter a date as YYYY-MM-DD.'"""
        out = []
        for field, errors in self.errors.items():
            if field == NON_FIELD_ERRORS:
                out += list(errors)
                continue
            sent = self.data.get(field, "")
            label = self.fields[field].label or field.capitalize()
            out += [f"{label} ({field}={sent}): {e}" for e in errors]
        return out

    def error_text(self) -> str:
        """Every error, one per line, each naming its parameter."""
        lines = []
        for field, errors in self.errors.items():
            prefix = "" if field == NON_FIELD_ERRORS else f"{field}: "
            lines += [prefix + e for e in errors]
        return "\n".join(lines)
