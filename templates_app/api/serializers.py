from rest_framework import serializers

from ..models import Template, TemplateVersion


class TemplateSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(
        source="current_version.number",
        allow_null=True,
        read_only=True,
        help_text="The newest saved version: the draft designers edit.",
    )
    published_version = serializers.IntegerField(
        source="published_version.number",
        allow_null=True,
        read_only=True,
        help_text="The version campaigns and serving use (null until first published).",
    )
    unpublished_changes = serializers.BooleanField(source="has_unpublished_changes", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    shapes = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=Template._meta.get_field("shapes").help_text
    )

    class Meta:
        model = Template
        fields = (
            "id",
            "name",
            "kind",
            "status",
            "tags",
            "products_min",
            "products_max",
            "shapes",
            "current_version",
            "published_version",
            "unpublished_changes",
            "updated_at",
        )
        read_only_fields = fields


class TemplateDetailSerializer(TemplateSerializer):
    spec = serializers.DictField(
        source="published_version.spec",
        allow_null=True,
        read_only=True,
        help_text="The published version's spec, what campaigns use (null until first published); "
        "the draft's is at versions/{current_version}/.",
    )

    class Meta(TemplateSerializer.Meta):
        fields = (*TemplateSerializer.Meta.fields, "spec")
        read_only_fields = fields


class TemplateVersionSerializer(serializers.ModelSerializer):
    spec = serializers.DictField(read_only=True, help_text="The template spec (docs/template-spec.md).")
    saved_by = serializers.CharField(source="saved_by.username", allow_null=True, read_only=True)

    class Meta:
        model = TemplateVersion
        fields = ("number", "saved_by", "saved_at", "note", "spec")
        read_only_fields = fields


class TemplatePublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version number to publish; the draft (newest saved) by default."
    )
