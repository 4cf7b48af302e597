"""Admin for operators: products, placements, ad copy, campaigns (with Generate), jobs and creatives."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from creativeadmin.errors import ApplicationError
from creativeadmin.json_input import JSON_FORMFIELD_OVERRIDES

from . import selectors, services, serving
from .forms import CampaignForm, PlacementForm, sizes_label
from .models import (
    AdCopySet,
    Campaign,
    Creative,
    GenerationJob,
    Placement,
    PoolEntry,
    Product,
    ProductImage,
    ProductPool,
)
from .traffic import placement_has_traffic
from .views import CAMPAIGN_TRANSITIONS, campaign_controls_context, campaign_transition


class ProductImportForm(forms.Form):
    csv_file = forms.FileField(
        label="Products CSV",
        help_text="UTF-8, up to 1,000 rows. Columns sku, title, price, image; optional category, currency, "
        "short_title, badge, highlights (a|b), scene_images and detail_images (files in the zip, a|b). An "
        "existing sku is updated; an empty image keeps its stored image.",
    )
    images_zip = forms.FileField(
        label="Images zip", required=False, help_text="The files the image column names (JPEG, PNG, WebP, GIF)."
    )


class ProductAdminForm(forms.ModelForm):
    """The product form: an uploaded main image is checked here and stored re-encoded by product_upsert."""

    class Meta:
        model = Product
        fields = (
            "sku", "title", "price", "currency", "category", "main_image", "highlights", "short_title", "badge",
            "height_cm",
        )  # fmt: skip

    def clean_main_image(self):
        upload = self.cleaned_data.get("main_image")
        self.main_image_data = None
        if isinstance(upload, UploadedFile):  # a new upload (else the stored image is kept)
            data = upload.read()
            try:
                services.product_image_check(data)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
            self.main_image_data = data
        return upload


class ProductImageFormSet(forms.BaseInlineFormSet):
    """The product's further photos: each new upload checked before anything is saved."""

    def clean(self):
        super().clean()
        self.uploads = {}
        for form in self.forms:
            data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
            upload = data.get("file")
            if data and not data.get("DELETE") and isinstance(upload, UploadedFile):
                content = upload.read()
                try:
                    services.product_image_check(content)
                except ApplicationError as exc:
                    form.add_error("file", exc.message)
                    continue
                self.uploads[form] = content


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    formset = ProductImageFormSet
    fields = ("kind", "file", "position")
    extra = 1
    max_num = services.PRODUCT_IMAGES_MAX


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    inlines = [ProductImageInline]
    formfield_overrides = JSON_FORMFIELD_OVERRIDES  # JSON typed in is depth-checked

    def save_model(self, request, obj, form, change):
        """Through product_upsert, as the API and the import: the image stored re-encoded, the row checked."""
        data = form.cleaned_data
        product = services.product_upsert(
            sku=obj.sku, title=data["title"], price=data["price"], image_data=form.main_image_data,
            category=data.get("category", ""), highlights=data.get("highlights") or [],
            currency=data.get("currency") or "CNY", short_title=data.get("short_title", ""),
            badge=data.get("badge", ""), height_cm=data.get("height_cm"),
        )  # fmt: skip
        obj.pk = product.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        images = []
        for each in formset.forms:
            data = getattr(each, "cleaned_data", None) or {}
            if not data or data.get("DELETE") or not data.get("file"):
                continue
            content = formset.uploads.get(each)
            if content is None:  # kept as stored: its re-encoded bytes
                with data["file"].open("rb") as fh:
                    content = fh.read()
            images.append((data.get("position") or 0, data["kind"], content))
        images.sort(key=lambda item: item[0])
        saved = services.product_images_set(
            product=form.instance, images=[(kind, content) for _, kind, content in images]
        )
        # What the admin's history message reads from a formset it saved itself.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = saved, [], []

    list_display = ("sku", "title", "price", "currency", "category", "updated_at")
    list_filter = ("category",)
    search_fields = ("sku", "title")
    change_list_template = "admin/campaigns/product/change_list.html"

    def get_urls(self):
        urls = [
            path("import/", self.admin_site.admin_view(self.import_view), name="campaigns_product_import"),
        ]
        return urls + super().get_urls()

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        form = ProductImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = services.products_import(
                    form.cleaned_data["csv_file"], form.cleaned_data["images_zip"], user=request.user
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import products",
            "opts": self.model._meta,
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/campaigns/product/import.html", context)


class ArchivedFilter(admin.SimpleListFilter):
    """The placement list leaves archived placements out unless asked for them."""

    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("yes", "Archived"), ("all", "All")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Not archived",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(archived_at__isnull=self.value() != "yes")


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    form = PlacementForm  # sizes typed and shown as "1080×1080, 728×90"
    formfield_overrides = JSON_FORMFIELD_OVERRIDES  # JSON typed in is depth-checked
    list_display = ("name", "channel", "format", "sizes_shown", "active", "max_file_kb", "key_shown")
    list_filter = (ArchivedFilter, "channel", "format")
    actions = ["issue_key", "revoke_key", "archive", "unarchive"]
    readonly_fields = ("archived_at",)

    @admin.display(description="API key")
    def key_shown(self, obj: Placement) -> str:
        """The key's prefix, and when it was revoked: one column, so the list fits a 1280-pixel window."""
        if not obj.key_prefix:
            return "none"
        if obj.key_revoked_at:
            return f"{obj.key_prefix}… (revoked {obj.key_revoked_at:%Y-%m-%d})"
        return f"{obj.key_prefix}…"

    def get_list_display(self, request):
        # The archive date only where archived placements are listed (the default list has none).
        archived_listed = request.GET.get(ArchivedFilter.parameter_name) in ("yes", "all")
        return (*self.list_display, "archived_at") if archived_listed else self.list_display

    def get_deleted_objects(self, objs, request):
        """A placement with recorded traffic is refused like a protected row: the delete page names it and
        deletes nothing (its events and rollups would go with it; archive it instead)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        with_traffic = [
            f"{p.name}: has recorded traffic (events and rollups); archive it instead"
            for p in objs
            if placement_has_traffic(placement_id=p.pk)
        ]
        return deleted, counts, perms_needed, [*protected, *with_traffic]

    @admin.display(description="Sizes", ordering="sizes")
    def sizes_shown(self, obj):
        return sizes_label(obj.sizes)

    @admin.action(description="Issue a new API key (shown once)", permissions=["change"])
    def issue_key(self, request, queryset):
        for placement in queryset:
            key = serving.placement_key_issue(placement=placement)
            self.message_user(
                request, f"{placement.name}: new key {key} (copy it now; it is not stored).", messages.WARNING
            )

    @admin.action(description="Revoke the API key", permissions=["change"])
    def revoke_key(self, request, queryset):
        for placement in queryset:
            serving.placement_key_revoke(placement=placement)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)

    @admin.action(description="Archive (served nothing; history kept)", permissions=["change"])
    def archive(self, request, queryset):
        for placement in queryset:
            services.placement_archive(placement=placement)
        self.message_user(request, f"{len(queryset)} placement(s) archived.", messages.SUCCESS)

    @admin.action(description="Bring back from the archive", permissions=["change"])
    def unarchive(self, request, queryset):
        for placement in queryset:
            services.placement_unarchive(placement=placement)
        self.message_user(request, f"{len(queryset)} placement(s) brought back.", messages.SUCCESS)


@admin.register(AdCopySet)
class AdCopySetAdmin(admin.ModelAdmin):
    formfield_overrides = JSON_FORMFIELD_OVERRIDES  # JSON typed in is depth-checked
    list_display = ("name", "titles", "badge")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm  # refuses templates with no published version; the model refuses live with nothing approved
    list_display = ("name", "status", "products_per_creative", "top_k", "review_link", "created_at")
    list_filter = ("status",)
    filter_horizontal = ("products", "templates", "placements")
    # The receiver needs the secret to check the signature: shown in full once, when the campaign is made
    # (or rotated). The status changes through the actions only (an ended campaign is reopened, not edited).
    readonly_fields = ("status", "webhook_secret_shown")
    actions = ["generate", "go_live", "pause", "end", "reopen", "rotate_webhook_secret", "webhook_test"]
    change_form_template = "admin/campaigns/campaign/change_form.html"

    class Media:
        js = ["campaigns/job_progress.js"]

    def get_urls(self):
        urls = [
            path(
                f"<path:object_id>/{transition}/",
                self.admin_site.admin_view(self.transition_view),
                {"transition": transition},
                name=f"campaigns_campaign_{transition.replace('-', '_')}",
            )
            for transition in CAMPAIGN_TRANSITIONS
        ]
        return urls + super().get_urls()

    def transition_view(self, request, object_id, transition):
        """A button of the campaign's page or its review gallery (POST): the service runs, a message says
        what happened, and the browser goes back to the page it came from."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404("No such campaign.")
        message, level = campaign_transition(request=request, campaign=campaign, transition=transition)
        self.message_user(request, message, level)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
            back = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        return HttpResponseRedirect(back)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, unquote(object_id)) if object_id else None
        extra_context = {**(extra_context or {}), **campaign_controls_context(request, campaign)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Webhook secret")
    def webhook_secret_shown(self, obj):
        if obj.pk is None:
            return "Made when the campaign is saved, and shown once then."
        return f"{obj.webhook_secret_masked} (shown in full once, when the campaign was created or the secret rotated)"

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            f"Webhook secret for {obj.name}: {obj.webhook_secret}. Copy it to the webhook receiver now: "
            "it is shown masked from here on.",
            messages.WARNING,
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="Creatives")
    def review_link(self, obj):
        return format_html('<a href="{}">Review gallery</a>', reverse("campaigns:review", args=[obj.pk]))

    def _each(self, request, queryset, transition: str) -> None:
        """Apply a button's service to every selected campaign, with its message; a refusal does not stop the others."""
        for campaign in queryset:
            self.message_user(request, *campaign_transition(request=request, campaign=campaign, transition=transition))

    @admin.action(description="Go live with the approved creatives", permissions=["change"])
    def go_live(self, request, queryset):
        self._each(request, queryset, "go-live")

    @admin.action(description="Pause the selected live campaigns", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, "pause")

    @admin.action(description="End the selected campaigns (creatives and statistics are kept)", permissions=["change"])
    def end(self, request, queryset):
        self._each(request, queryset, "end")

    @admin.action(
        description="Reopen the selected ended campaigns (paused, or draft without creatives)", permissions=["change"]
    )
    def reopen(self, request, queryset):
        self._each(request, queryset, "reopen")

    @admin.action(
        description="Rotate the webhook secret (new one shown once; the old one kept for a grace period)",
        permissions=["change"],
    )
    def rotate_webhook_secret(self, request, queryset):
        hours = settings.WEBHOOK_SECRET_GRACE_SECONDS / 3600
        for campaign in queryset:
            secret = services.campaign_webhook_secret_rotate(campaign=campaign)
            self.message_user(
                request,
                f"New webhook secret for {campaign.name}: {secret}. Copy it to the webhook receiver now: it is shown "
                f"masked from here on. Calls are signed with the old secret too for {hours:g} h.",
                messages.WARNING,
            )

    @admin.action(description="Send a test ping to the webhook", permissions=["change"])
    def webhook_test(self, request, queryset):
        for campaign in queryset:
            try:
                outcome = services.campaign_webhook_ping(campaign=campaign)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            delivered = outcome["status"] == "delivered"
            self.message_user(
                request,
                f"{campaign.name}: test ping {outcome['event_id']} {outcome['status']}.",
                messages.SUCCESS if delivered else messages.ERROR,
            )

    @admin.action(description="Generate creatives for the selected campaigns", permissions=["change"])
    def generate(self, request, queryset):
        self._each(request, queryset, "generate")


def _rank_label(variant: int | None) -> str:
    """#1 for the best slot; empty when the failure came before ranking (a template at a size)."""
    return "" if variant is None else f"#{variant + 1}"


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "campaign", "state", "product_sets_total", "progress_percent", "created_at", "finished_at")
    list_filter = ("state",)
    fields = readonly_fields = (
        "progress_bar",
        "campaign",
        "requested_by",
        "state",
        "product_sets_total",
        "completed_sets",
        "failed_sets",
        "failed_candidates",
        "progressed_at",
        "finished_at",
        "set_seconds",
        "webhook_events",
    )

    class Media:
        js = ["campaigns/job_progress.js"]

    @admin.display(description="progress")
    def progress_percent(self, job: GenerationJob) -> str:
        return f"{job.progress:.0%}"

    @admin.display(description="progress")
    def progress_bar(self, job: GenerationJob):
        return format_html(
            '<progress data-job="{}" value="{}" max="1" style="width:320px"></progress> <span>{}</span>',
            job.pk,
            f"{job.progress:.3f}",
            f"{job.progress:.0%}",
        )

    @admin.display(description="failed candidates")
    def failed_candidates(self, job: GenerationJob):
        """One row per candidate that failed while the rest of its product set was made."""
        if not job.candidate_errors:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e["product_key"], e["format"], e["template"], e["size"], _rank_label(e["variant"]), e["message"])
                for e in job.candidate_errors
            ),
        )
        return format_html(
            '<table class="candidate-errors"><thead><tr><th>products</th><th>format</th><th>template</th>'
            "<th>size</th><th>variant</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="webhook events")
    def webhook_events(self, job: GenerationJob):
        """Each event sent to the campaign's webhook, by the id its receiver logs, with its delivery."""
        deliveries = selectors.job_webhook_deliveries(job=job)
        if not deliveries:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((d.event_id, d.type, d.status, d.attempts) for d in deliveries),
        )
        return format_html(
            '<table class="webhook-events"><thead><tr><th>event id</th><th>type</th><th>status</th>'
            "<th>attempts</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request):
        return False


@admin.register(Creative)
class CreativeAdmin(admin.ModelAdmin):
    # The product key and the score are part of each row's name (`__str__`); kept narrow for 1280 pixels.
    list_display = ("still", "__str__", "campaign", "format", "state")
    list_filter = ("state", "format", "campaign", "width")
    readonly_fields = (
        "preview",
        "campaign",
        "job",
        "product_key",
        "template_version",
        "width",
        "height",
        "variant",
        "format",
        "file",
        "poster",
        "duration",
        "content_hash",
        "aesthetic_score",
        "score_breakdown",
        "violations",
        "theme_colours",
        "provenance",
    )

    def has_add_permission(self, request):
        return False

    @admin.display(description="")
    def still(self, obj):
        still = obj.poster if obj.format == Creative.Format.VIDEO else (obj.thumbnail or obj.file)
        if not still:
            return "-"
        return format_html('<img src="{}" alt="" style="max-width:80px;max-height:80px">', still.url)

    @admin.display(description="Preview")
    def preview(self, obj):
        if not obj.file:
            return "-"
        if obj.format == Creative.Format.VIDEO:
            return format_html(
                '<video src="{}" poster="{}" controls muted playsinline style="max-width:360px;max-height:480px">'
                "</video>",
                obj.file.url,
                obj.poster.url if obj.poster else "",
            )
        return format_html('<img src="{}" alt="" style="max-width:360px;max-height:480px">', obj.file.url)

    actions = ["approve", "reject"]

    @admin.action(description="Approve the selected creatives", permissions=["change"])
    def approve(self, request, queryset):
        changed = services.creatives_review(creatives=queryset, approve=True)
        self.message_user(request, f"{changed} creative(s) approved.", messages.SUCCESS)

    @admin.action(description="Reject the selected creatives", permissions=["change"])
    def reject(self, request, queryset):
        changed = services.creatives_review(creatives=queryset, approve=False)
        self.message_user(request, f"{changed} creative(s) rejected.", messages.SUCCESS)


@admin.register(ProductPool)
class ProductPoolAdmin(admin.ModelAdmin):
    """Pools hold up to one score per product and segment (thousands): their entries have their own list."""

    list_display = ("name", "entry_list", "created_at")

    @admin.display(description="Scores")
    def entry_list(self, obj):
        url = reverse("admin:campaigns_poolentry_changelist") + f"?pool__id__exact={obj.pk}"
        return format_html('<a href="{}">Interest scores</a>', url)


@admin.register(PoolEntry)
class PoolEntryAdmin(admin.ModelAdmin):
    list_display = ("pool", "segment", "product", "interest", "updated_at")
    list_filter = ("pool", "segment")
    list_select_related = ("pool", "product")
    search_fields = ("product__sku", "segment")
    raw_id_fields = ("product",)
