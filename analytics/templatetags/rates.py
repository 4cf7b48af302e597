"""Rates as the dashboards show them: percent with two decimals ("2.35 %"), the unit of every chart too."""

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """A fraction (0.0235) as "2.35 %"; empty for no value."""
    if value is None or value == "":
        return ""
    return f"{float(value) * 100:.2f} %"


@register.filter
def percent_range(interval) -> str:
    """A fractional interval (0.021, 0.026) as "2.10–2.60 %"."""
    if not interval:
        return ""
    low, high = interval
    return f"{float(low) * 100:.2f}–{float(high) * 100:.2f} %"
