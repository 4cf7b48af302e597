from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "price", "currency", "category", "updated_at")
    list_filter = ("category",)
    search_fields = ("sku", "title")
