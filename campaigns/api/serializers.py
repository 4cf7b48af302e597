from rest_framework import serializers

from ..models import Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ("id", "sku", "title", "price", "currency", "category", "main_image", "highlights", "updated_at")
        read_only_fields = fields
