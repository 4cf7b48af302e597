from rest_framework import serializers

from ..models import Template, TemplateVersion


class TemplateSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(source="current_version.number", allow_null=True, read_only=True)

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
            "updated_at",
        )
        read_only_fields = fields


class TemplateDetailSerializer(TemplateSerializer):
    spec = serializers.JSONField(source="current_version.spec", allow_null=True, read_only=True)

    class Meta(TemplateSerializer.Meta):
        fields = (*TemplateSerializer.Meta.fields, "spec")
        read_only_fields = fields


class TemplateVersionSerializer(serializers.ModelSerializer):
    saved_by = serializers.CharField(source="saved_by.username", allow_null=True, read_only=True)

    class Meta:
        model = TemplateVersion
        fields = ("number", "saved_by", "saved_at", "note", "spec")
        read_only_fields = fields
