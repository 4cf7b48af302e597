"""Operator-side records: the product catalogue that creatives are made from."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils.crypto import salted_hmac

from .webhooks import webhook_url_validate

HIGHLIGHT_MAX_CHARS = 40  # a selling point has to fit one line of a video slot or an ad
# Candidates scored per product set and size: each is a render and a score (~2 ms at the scoring size),
# so this bounds what one campaign's generation asks of the workers (README).
CANDIDATES_PER_SIZE_MAX = 200

_LANDING_URL = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")


def validate_landing_url(value: str) -> None:
    """Where a click may be redirected: an http(s) URL, its scheme in any case (URLValidator and
    browsers read "HTTPS://" as "https://"). The click redirect checks stored URLs with this same
    function, so a URL accepted here is never treated as "no landing page" there.

    A function rather than the URLValidator itself: DRF's model serializers drop URLValidator
    instances from a URLField's validators (its own URLField checks URLs), schemes and all.
    """
    _LANDING_URL(value)


def validate_highlights(value) -> None:
    """Highlights are a list of short selling points (every surface: admin, API, bulk import)."""
    if not isinstance(value, list) or not all(
        isinstance(h, str) and h.strip() and len(h) <= HIGHLIGHT_MAX_CHARS for h in value
    ):
        raise ValidationError(
            f"A list of short selling points (1-{HIGHLIGHT_MAX_CHARS} characters each).", code="highlights"
        )


def validate_category_overrides(value) -> None:
    """{category: {"subtitles": [text, ...], "badge": text}}: a category's own copy, every key optional."""
    message = 'Per category: {"subtitles": ["text", ...], "badge": "text"} (short texts).'
    if not isinstance(value, dict):
        raise ValidationError(message, code="category_overrides")
    for category, copy in value.items():
        if not (isinstance(category, str) and category.strip() and isinstance(copy, dict)) or set(copy) - {
            "subtitles",
            "badge",
        }:
            raise ValidationError(message, code="category_overrides")
        subtitles = copy.get("subtitles", [])
        badge = copy.get("badge", "")
        if not isinstance(subtitles, list) or not all(
            isinstance(t, str) and 0 < len(t.strip()) <= 80 for t in subtitles
        ):
            raise ValidationError(message, code="category_overrides")
        if not isinstance(badge, str) or len(badge) > 40:
            raise ValidationError(message, code="category_overrides")


class Product(models.Model):
    sku = models.CharField(
        max_length=64, unique=True, validators=[RegexValidator(r"^[A-Za-z0-9._-]+$", "Letters, digits, . _ - only.")]
    )
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(
        max_length=3,
        default="CNY",
        validators=[RegexValidator(r"^[A-Z]{3}$", "A three-letter ISO 4217 code in capitals, e.g. CNY, USD, EUR.")],
    )
    category = models.CharField(max_length=80, blank=True)
    main_image = models.FileField(upload_to="products/", max_length=255)
    highlights = models.JSONField(
        default=list, blank=True, validators=[validate_highlights], help_text="Selling points, one short phrase each."
    )
    short_title = models.CharField(
        max_length=40,
        blank=True,
        help_text="A short name for ads (e.g. 白鹅绒羽绒服): offered as a title beside the campaign's titles.",
    )
    badge = models.CharField(
        max_length=20, blank=True, help_text="The product's own badge (e.g. NEW); else the campaign's copy gives it."
    )
    height_cm = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(10000)],
        help_text="Its real height in cm, if known: beside other products of known height it is drawn to scale.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"


class ProductImage(models.Model):
    """A product's further photos beside its main image: lifestyle scenes and details.

    Generation shows a scene photo whole in templates that take scenes (the main image is cut
    out for stage and podium templates); details are kept for the catalogue and not drawn yet.
    """

    class Kind(models.TextChoices):
        SCENE = "scene", "Scene / lifestyle"
        DETAIL = "detail", "Detail"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCENE)
    file = models.FileField(upload_to="products/", max_length=255)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order among the product's images of a kind.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "kind", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.product.sku} {self.get_kind_display()} {self.position + 1}"


class Placement(models.Model):
    """Where creatives are shown: a DSP integration, the recommendation feed, search results."""

    class Channel(models.TextChoices):
        DSP = "dsp", "DSP"
        RECOMMENDATION = "recommendation", "Recommendation feed"
        SEARCH = "search", "Search"

    class Format(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    name = models.CharField(max_length=120, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    sizes = models.JSONField(help_text="Sizes as [[width, height], ...], e.g. [[1080, 1080], [728, 90]].")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.IMAGE)
    max_file_kb = models.PositiveIntegerField(
        default=300,
        help_text="Largest file the placement accepts (images and videos); a creative that cannot be "
        "encoded within it is flagged over_file_size and never auto-approved.",
    )
    active = models.BooleanField(default=True, help_text="A paused placement is served nothing (403).")
    # A placement with traffic is archived, never deleted: its events and rollups stay for the dashboards.
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set when the placement is archived: served nothing, left out of lists and generation, kept "
        "with its events and rollups.",
    )
    # The API key is shown once when issued; only a SHA-256 of it is kept (a fast hash: keys are
    # long random strings, not passwords, and serving checks one on every request).
    key_prefix = models.CharField(max_length=12, blank=True, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, blank=True, editable=False)
    key_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    tokens_revoked_before = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set when a key is revoked: events of tracking tokens served before it are stored, not counted.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"

    @property
    def size_list(self) -> list[tuple[int, int]]:
        return [(int(w), int(h)) for w, h in self.sizes]

    def clean(self):
        sizes = self.sizes
        if (
            not isinstance(sizes, list)
            or not sizes
            or not all(
                isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) and 50 <= v <= 4096 for v in s)
                for s in sizes
            )
        ):
            raise ValidationError({"sizes": "Give a list of [width, height] pairs, each side 50-4096 pixels."})
        repeated = sorted({f"{w}x{h}" for w, h in sizes if sizes.count([w, h]) > 1})
        if repeated:  # each size is generated and served once: a repeat would only multiply the work
            raise ValidationError({"sizes": f"Give each size once; {', '.join(repeated)} appears more than once."})


class AdCopySet(models.Model):
    """The ad copy of a campaign: title and subtitle variants the search may combine."""

    name = models.CharField(max_length=120)
    titles = models.JSONField(help_text="Title variants.")
    subtitles = models.JSONField(default=list, blank=True)
    badge = models.CharField(max_length=40, blank=True)
    category_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_category_overrides],
        help_text='Per product category: {"鞋": {"subtitles": ["轻量缓震"], "badge": "新品"}}. '
        "A product's own highlights and badge come first, then its category's, then the subtitles and badge above.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "ad copy"
        verbose_name_plural = "ad copy"

    def __str__(self) -> str:
        return self.name


class ProductPool(models.Model):
    """Products ranked by user interest, per audience segment; the recommender upserts the scores."""

    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolEntry(models.Model):
    pool = models.ForeignKey(ProductPool, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="pool_entries")
    segment = models.CharField(max_length=64, blank=True, help_text="Empty: everyone (the default ranking).")
    interest = models.FloatField(help_text="Higher is more interesting to the segment.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pool", "segment", "-interest"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "product", "segment"], name="pool_entry_unique"),
        ]
        verbose_name_plural = "pool entries"

    def __str__(self) -> str:
        return f"{self.pool}: {self.product_id} for {self.segment or 'everyone'} = {self.interest:g}"


def _webhook_secret() -> str:
    import secrets

    return secrets.token_hex(32)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        GENERATING = "generating", "Generating"
        REVIEW = "review", "Review"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=160, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    copy = models.ForeignKey(AdCopySet, on_delete=models.PROTECT, related_name="campaigns")
    pool = models.ForeignKey(
        ProductPool,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
        help_text="Serving prefers the products this pool ranks highest for the requesting segment.",
    )
    products = models.ManyToManyField(Product, related_name="campaigns")
    templates = models.ManyToManyField("templates_app.Template", related_name="campaigns")
    placements = models.ManyToManyField(Placement, related_name="campaigns")
    products_per_creative = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    top_k = models.PositiveSmallIntegerField(
        "design families per product set",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Each family is one look (template, palette, copy, decorations) laid out at every size; "
        "ask for more than one for variety.",
    )
    # Named for what the engine counts (synthesis.search: `n` families drawn once, each laid out at every size);
    # the field keeps its API name.
    candidates_per_size = models.PositiveSmallIntegerField(
        "design families drawn per product set",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(CANDIDATES_PER_SIZE_MAX)],
        help_text=f"Design families drawn and scored per product set, each at every size "
        f"(1-{CANDIDATES_PER_SIZE_MAX}); the best are kept.",
    )
    seed = models.PositiveIntegerField(default=0)
    landing_url = models.URLField(
        blank=True,
        validators=[validate_landing_url],
        help_text="Where a click on this campaign's creatives leads (http or https).",
    )
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Served from (empty: as soon as live).")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Served until (empty: until paused or ended).")
    auto_approve_score = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Creatives scoring at least this that pass every hard check are approved at once; "
        "the rest wait for review. Empty: every creative waits.",
    )
    webhook_url = models.URLField(
        blank=True,
        validators=[webhook_url_validate],
        help_text="Called (POST, signed) when a generation job of this campaign finishes; "
        "its host must resolve to public internet addresses.",
    )
    webhook_secret = models.CharField(
        max_length=64, default=_webhook_secret, editable=False, help_text="Signs the webhook calls (HMAC-SHA256)."
    )
    # After a rotation the calls are signed with both secrets for WEBHOOK_SECRET_GRACE_SECONDS, so the
    # receiver can switch to the new one without missing a call.
    webhook_secret_previous = models.CharField(max_length=64, blank=True, editable=False)
    webhook_secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def webhook_secret_masked(self) -> str:
        """The secret as pages and the API show it after it was first given out: its last four characters."""
        return "•" * 12 + self.webhook_secret[-4:]

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The campaign must end after it starts."})
        if self.status == self.Status.LIVE and not self._has_approved_creative():
            raise ValidationError(
                {"status": "A live campaign needs at least one approved creative to serve: generate and approve first."}
            )

    def _has_approved_creative(self) -> bool:
        return self.pk is not None and self.creatives.filter(state=Creative.State.APPROVED).exists()


class GenerationJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    product_sets_total = models.PositiveIntegerField(default=0)
    product_sets = models.JSONField(
        default=list, blank=True, help_text="The skus of each product set the job makes, as it was started."
    )
    # Sets, not counters: a task that runs twice marks its product set once.
    completed_sets = models.JSONField(default=list, blank=True)
    failed_sets = models.JSONField(default=dict, blank=True, help_text="product key -> error message")
    set_seconds = models.JSONField(default=dict, blank=True, help_text="product key -> seconds its task took")
    # A candidate (template version x size x variant) that failed while the rest of its product
    # set was made; replaced per product set each time that set finishes, so a re-run adds none twice.
    candidate_errors = models.JSONField(
        default=list,
        blank=True,
        help_text="[{product_key, format, template_version, template, size, variant, message}]",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    progressed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a product set last finished (or the job started or was resumed)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    webhook_status = models.CharField(max_length=300, blank=True, help_text="The finish webhook's last outcome.")
    webhook_attempts = models.PositiveSmallIntegerField(default=0)

    # The event the campaign's webhook is sent when the job finishes (campaigns.services.webhooks).
    WEBHOOK_EVENT = "generation_job.finished"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.campaign} job {self.pk} ({self.state})"

    @property
    def webhook_event_id(self) -> str:
        """The id of the job's webhook event: the same on every retry (receivers drop repeats by it, operators
        match it on the job's page), unguessable from outside."""
        return "evt_" + salted_hmac("campaigns.webhook-event", f"{self.WEBHOOK_EVENT}:{self.pk}").hexdigest()[:24]

    @property
    def progress(self) -> float:
        finished = len(self.completed_sets) + len(self.failed_sets)
        return finished / self.product_sets_total if self.product_sets_total else 0.0


class Creative(models.Model):
    Format = Placement.Format

    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="creatives")
    job = models.ForeignKey(GenerationJob, null=True, on_delete=models.SET_NULL, related_name="creatives")
    product_key = models.CharField(max_length=300, help_text="The product skus, in order, joined by '+'.")
    template_version = models.ForeignKey("templates_app.TemplateVersion", on_delete=models.PROTECT, related_name="+")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    variant = models.PositiveSmallIntegerField(help_text="Rank among this product set's creatives at this size.")
    family = models.CharField(
        max_length=16,
        blank=True,
        help_text="The design family: one look shared by the product set's creatives across sizes (images).",
    )
    format = models.CharField(max_length=10, choices=Placement.Format.choices, default=Placement.Format.IMAGE)
    file = models.FileField(upload_to="creatives/", max_length=255)
    poster = models.FileField(upload_to="creatives/", max_length=255, blank=True, help_text="Videos: a still frame.")
    thumbnail = models.FileField(upload_to="creatives/", max_length=255, blank=True, help_text="For galleries.")
    duration = models.FloatField(null=True, blank=True, help_text="Videos: seconds.")
    content_hash = models.CharField(max_length=64)
    aesthetic_score = models.FloatField()
    score_breakdown = models.JSONField(default=dict)
    violations = models.JSONField(default=list, blank=True)
    theme_colours = models.JSONField(default=list, blank=True)
    provenance = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "product_key", "width", "height", "-aesthetic_score"]
        constraints = [
            # Running a generation task twice must never make a second creative.
            models.UniqueConstraint(
                fields=["campaign", "product_key", "format", "width", "height", "variant"],
                name="creative_unique_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_key} {self.width}x{self.height} #{self.variant + 1} ({self.aesthetic_score:.1f})"
