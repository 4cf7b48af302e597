"""Design material: brands, fonts and image assets, stored through Django's storage API."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a #RRGGBB colour.")


class Font(models.Model):
    class Style(models.TextChoices):
        NORMAL = "normal", "Normal"
        ITALIC = "italic", "Italic"

    family = models.CharField(max_length=120)
    weight = models.PositiveSmallIntegerField(default=400, validators=[MinValueValidator(100), MaxValueValidator(900)])
    style = models.CharField(max_length=10, choices=Style.choices, default=Style.NORMAL)
    file = models.FileField(upload_to="fonts/", max_length=255)
    face_index = models.PositiveSmallIntegerField(
        default=0, help_text="Face inside a .ttc collection (0 for single-font files)."
    )
    covers_cjk = models.BooleanField(default=False, editable=False)
    checksum = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family", "weight", "style"]
        constraints = [
            models.UniqueConstraint(fields=["family", "weight", "style"], name="font_unique_face"),
        ]

    def __str__(self) -> str:
        cjk = " (CJK)" if self.covers_cjk else ""
        return f"{self.family} {self.weight} {self.style}{cjk}"


class Brand(models.Model):
    name = models.CharField(max_length=120, unique=True)
    logo = models.ForeignKey("Asset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    primary_colour = models.CharField(max_length=7, validators=[hex_colour])
    accent_colour = models.CharField(max_length=7, validators=[hex_colour])
    text_colour = models.CharField(max_length=7, validators=[hex_colour], default="#1a1a1a")
    title_font = models.ForeignKey(Font, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body_font = models.ForeignKey(Font, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    class Kind(models.TextChoices):
        BACKGROUND = "background", "Background"
        DECORATION = "decoration", "Decoration"
        LOGO = "logo", "Logo"
        FOOTAGE = "footage", "Footage"

    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to="assets/", max_length=255)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    checksum = models.CharField(max_length=64, editable=False)
    duration = models.FloatField(null=True, blank=True, editable=False, help_text="Seconds (footage only).")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "checksum"], name="asset_unique_content_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name} ({self.width}x{self.height})"


class Template(models.Model):
    """A layered creative template; its content lives in immutable TemplateVersions.

    Two versions matter: `current_version`, the newest saved one (the draft the editor opens and
    designers preview), and `published_version`, the one campaigns generate from and serving and
    operators see. Saving never moves `published_version`; only publishing does (after the version's
    preview sheet passes), so a published template is pinned until a designer publishes again.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IMAGE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    tags = models.JSONField(default=list, blank=True)
    products_min = models.PositiveSmallIntegerField(default=1)
    products_max = models.PositiveSmallIntegerField(default=1)
    shapes = models.JSONField(
        default=list, blank=True, help_text="Canvas shapes it is made for (square, tall, wide, banner); empty: all."
    )
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="templates")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_version = models.ForeignKey(
        "TemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version campaigns and serving use; only publishing changes it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def has_unpublished_changes(self) -> bool:
        """A version was saved after the published one (the draft differs from what campaigns use)."""
        return self.published_version_id is not None and self.current_version_id != self.published_version_id


class TemplateVersion(models.Model):
    """One saved state of a template's spec. Never edited: a save makes a new version."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"
