from rest_framework import serializers

from ..models import Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ("id", "sku", "title", "price", "currency", "category", "main_image", "highlights", "updated_at")
        read_only_fields = fields


class ServeQuerySerializer(serializers.Serializer):
    size = serializers.RegexField(r"^\d{2,4}x\d{2,4}$", help_text="WIDTHxHEIGHT, one of the placement's sizes")
    segment = serializers.CharField(max_length=64, required=False)
    user = serializers.CharField(max_length=128, required=False)


class ServedCreativeSerializer(serializers.Serializer):
    creative_id = serializers.IntegerField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    product_skus = serializers.ListField(child=serializers.CharField())
    impression_url = serializers.CharField()
    click_url = serializers.CharField()
