"""Reads for design material and templates."""

from django.db.models import QuerySet

from .models import Font, Template, TemplateVersion


def font_list_cjk() -> QuerySet[Font]:
    return Font.objects.filter(covers_cjk=True)


def template_list_for_user(*, user) -> QuerySet[Template]:
    """Designers see every template; everyone else with view access sees the published ones."""
    templates = Template.objects.select_related("current_version", "published_version", "owner", "brand")
    if not user.has_perm("templates_app.change_template"):
        templates = templates.filter(status=Template.Status.PUBLISHED)
    return templates


def template_version_list(*, template: Template) -> QuerySet[TemplateVersion]:
    return template.versions.select_related("saved_by")


def template_version_for_user(*, template: Template, user) -> TemplateVersion | None:
    """The version this person works with: designers (who may edit templates) the draft, the newest
    saved version; everyone else the published one, the version campaigns and serving use."""
    if user.has_perm("templates_app.change_template"):
        return template.current_version
    return template.published_version
