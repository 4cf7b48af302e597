"""Analytics records."""

from django.db import models


class AnalyticsAccess(models.Model):
    """Carries the dashboard permissions; dashboards are not a table of their own.

    Unmanaged, so no table is created: it exists so roles can be granted
    `analytics.view_dashboard` and `analytics.export_data` like any model permission.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view analytics dashboards"),
            ("export_data", "Can export analytics tables as CSV"),
        ]

    def __str__(self) -> str:
        return "Analytics access"


# What "net" means, in one place: an event counts unless another of its kind already counts for its
# serve (`duplicate`) or it has a reason not to (`invalid_reason`). The rollups count these; the
# constraint below holds every serve to one of each kind; the raw SQL of analytics.services spells
# the same condition out.
NET = models.Q(duplicate=False, invalid_reason="")


class Event(models.Model):
    """One tracked event, stored as received; rollups and dashboards count the net ones (NET)."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        CLICK = "click", "Click"
        CONVERSION = "conversion", "Conversion"
        # A video ad's playback, as the player reports it through VAST's tracking URLs.
        VIDEO_START = "video_start", "Video start"
        VIDEO_FIRST_QUARTILE = "video_q1", "Video first quartile"
        VIDEO_MIDPOINT = "video_mid", "Video midpoint"
        VIDEO_THIRD_QUARTILE = "video_q3", "Video third quartile"
        VIDEO_COMPLETE = "video_complete", "Video complete"
        VIDEO_ERROR = "video_error", "Video error"

    class Reason(models.TextChoices):
        """Why an event is stored but not counted (besides `duplicate`)."""

        BOT = "bot", "Crawler user agent"
        EMPTY_USER_AGENT = "empty_user_agent", "Empty user agent"
        REVOKED_KEY = "revoked_key", "Token served before its placement's key was revoked"
        OUT_OF_WINDOW = "out_of_window", "Time outside its token's lifetime"
        BURST = "burst", "Burst from one address, serve or placement"
        NO_CLICK = "no_click", "Conversion without a counted click"

    # Indexes: events are written far more often than they are read one by one, so only what a
    # query uses. No LIKE indexes on the random ids (what unique=True / db_index=True would add on
    # PostgreSQL), the creative's own index is the composite one; serve ids are indexed for the
    # net events only (the constraint), which is all the ingestion looks up by serve.
    event_id = models.CharField(max_length=64, help_text="Replays of one id are stored once.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    creative = models.ForeignKey("campaigns.Creative", on_delete=models.CASCADE, related_name="events", db_index=False)
    placement = models.ForeignKey("campaigns.Placement", on_delete=models.CASCADE, related_name="events")
    serve_id = models.CharField(
        max_length=32, help_text="The serve its token came from: it counts one impression, click and conversion."
    )
    segment = models.CharField(max_length=64, blank=True, help_text="The audience segment it was served to.")
    occurred_at = models.DateTimeField(db_index=True)
    user_agent = models.CharField(max_length=400, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    duplicate = models.BooleanField(
        default=False,
        help_text="Another event of its kind already counts for its serve: a token replayed under a new id, "
        "a further click on an impression, a further order on a click.",
    )
    invalid_reason = models.CharField(
        max_length=40, blank=True, choices=Reason.choices, help_text="Why it is excluded from net counts."
    )
    body_hash = models.CharField(
        max_length=64, blank=True, help_text="sha256 of a batch event as reported; a replay of its id must match it."
    )

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="event_id_unique"),
            # A serve counts one impression, one click and one conversion, whatever the path and the id.
            models.UniqueConstraint(fields=["serve_id", "kind"], condition=NET, name="event_net_per_serve"),
        ]
        indexes = [
            models.Index(fields=["creative", "kind", "occurred_at"]),
            models.Index(fields=["ip", "occurred_at"], name="event_ip_time"),  # bursts from one address
            models.Index(  # bursts of a placement's events reported without an address
                fields=["placement", "occurred_at"], condition=models.Q(ip__isnull=True), name="event_no_ip_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of creative {self.creative_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def counts_net(self) -> bool:
        return not self.duplicate and not self.invalid_reason


class RollupCounts(models.Model):
    """What every rollup row counts, gross and net, for one creative x placement x segment cell."""

    segment = models.CharField(max_length=64, blank=True)
    impressions_gross = models.PositiveIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0, help_text="Net: valid, not duplicated.")
    clicks_gross = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    conversions_gross = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    # Video playback (net only: players fire these once per serve, and nothing bills on the gross).
    video_starts = models.PositiveIntegerField(default=0)
    video_first_quartiles = models.PositiveIntegerField(default=0)
    video_midpoints = models.PositiveIntegerField(default=0)
    video_third_quartiles = models.PositiveIntegerField(default=0)
    video_completes = models.PositiveIntegerField(default=0)
    video_errors = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class HourlyRollup(RollupCounts):
    """Counts per creative x placement x hour; dashboards and serving read these, never raw events."""

    hour = models.DateTimeField(db_index=True)
    creative = models.ForeignKey("campaigns.Creative", on_delete=models.CASCADE, related_name="rollups")
    placement = models.ForeignKey("campaigns.Placement", on_delete=models.CASCADE, related_name="rollups")
    template_version = models.ForeignKey("templates_app.TemplateVersion", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["hour", "creative", "placement", "segment"], name="rollup_unique_cell"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 creative {self.creative_id}: {self.impressions} imp, {self.clicks} clicks"


class CtrModel(models.Model):
    """A click-through model trained on the rollups: logistic regression on each creative's
    score components, template, palette and shape, validated on the latest time slice.

    Stored as plain numbers (feature names, coefficients, quantiles of its training logits),
    not a pickle: loading it runs no code. `active` when it beat the fixed aesthetic weights
    on the held-out slice (AUC and log-loss); only then does candidate search rank by it.
    """

    trained_at = models.DateTimeField(auto_now_add=True)
    feature_names = models.JSONField()
    coefficients = models.JSONField()
    intercept = models.FloatField()
    logit_quantiles = models.JSONField(help_text="101 quantiles of the training logits: maps a logit to 0-100.")
    metrics = models.JSONField(help_text="auc, log_loss and the fixed weights' baseline on the held-out slice.")
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        get_latest_by = "trained_at"

    def __str__(self) -> str:
        auc = self.metrics.get("auc")
        return f"CTR model of {self.trained_at:%Y-%m-%d %H:%M} (AUC {auc:.3f})" if auc else "CTR model"


class DailyRollup(RollupCounts):
    """The hourly rollups summed per day (in TIME_ZONE): what the dashboards read, 24 times fewer rows."""

    day = models.DateField(db_index=True)
    creative = models.ForeignKey("campaigns.Creative", on_delete=models.CASCADE, related_name="daily_rollups")
    placement = models.ForeignKey("campaigns.Placement", on_delete=models.CASCADE, related_name="daily_rollups")
    template_version = models.ForeignKey("templates_app.TemplateVersion", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "creative", "placement", "segment"], name="daily_rollup_unique_cell"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: creative {self.creative_id}: {self.impressions} imp, {self.clicks} clicks"
