"""Reads for design material."""

from django.db.models import QuerySet

from .models import Font


def font_list_cjk() -> QuerySet[Font]:
    return Font.objects.filter(covers_cjk=True)
