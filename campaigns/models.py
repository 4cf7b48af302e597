"""Operator-side records: the product catalogue that creatives are made from."""

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models


class Product(models.Model):
    sku = models.CharField(
        max_length=64, unique=True, validators=[RegexValidator(r"^[A-Za-z0-9._-]+$", "Letters, digits, . _ - only.")]
    )
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="CNY")
    category = models.CharField(max_length=80, blank=True)
    main_image = models.FileField(upload_to="products/", max_length=255)
    highlights = models.JSONField(default=list, blank=True, help_text="Selling points, one short phrase each.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"
