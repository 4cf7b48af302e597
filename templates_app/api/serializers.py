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


class PreviewRequestSerializer(serializers.Serializer):
    width = serializers.IntegerField(min_value=50, max_value=2160, default=1080)
    height = serializers.IntegerField(min_value=50, max_value=2160, default=1080)
    version = serializers.IntegerField(required=False, help_text="Version number; the current one by default.")
    product_skus = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=4)
    title = serializers.CharField(max_length=500)
    subtitle = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    price = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    badge = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)

    def validate_product_skus(self, skus: list[str]) -> list[str]:
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each product may appear once.")
        return skus
