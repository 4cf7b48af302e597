from rest_framework import serializers

from ..models import GenerationJob
from ..serving.html_tag import CACHE_BUSTER_MAX, CLICK_MACRO_MAX


class ServeQuerySerializer(serializers.Serializer):
    size = serializers.RegexField(r"^\d{2,4}x\d{2,4}$", help_text="WIDTHxHEIGHT, one of the placement's sizes")
    segment = serializers.CharField(max_length=64, required=False)
    user = serializers.CharField(max_length=128, required=False)
    format = serializers.ChoiceField(
        ["json", "vast", "html"],
        required=False,
        help_text="vast: a VAST 4.2 InLine ad (application/xml) for video placements; "
        "`Accept: application/xml` asks for the same. html: an HTML ad tag (text/html) for image "
        "placements; `Accept: text/html` (without XML) asks for the same.",
    )
    click_macro = serializers.CharField(
        max_length=CLICK_MACRO_MAX,
        required=False,
        help_text="html: the DSP's click macro put before the click URL, e.g. %%CLICK_URL_UNESC%%, "
        "%%CLICK_URL_ESC%%, ${CLICK_URL}, or an http(s) click-tracker prefix.",
    )
    click_escape = serializers.BooleanField(
        required=False,
        help_text="html: percent-encode the click URL after click_macro. Default: yes for a macro ending "
        "_ESC or _ENC and for a prefix ending '=', else no.",
    )
    cb = serializers.CharField(
        max_length=CACHE_BUSTER_MAX,
        required=False,
        help_text="html: the cache-busting macro for the pixel's cb parameter, e.g. %%CACHEBUSTER%%, [timestamp].",
    )


class ServedCreativeSerializer(serializers.Serializer):
    creative_id = serializers.IntegerField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.ChoiceField(["image/jpeg", "video/mp4"], help_text="The file's media type.")
    poster_url = serializers.CharField(allow_null=True, help_text="Videos: a still frame to show before playback.")
    duration = serializers.FloatField(allow_null=True, help_text="Videos: seconds.")
    product_skus = serializers.ListField(child=serializers.CharField())
    impression_url = serializers.CharField()
    click_url = serializers.CharField()


class CandidateErrorSerializer(serializers.Serializer):
    product_key = serializers.CharField(help_text="The product skus, joined by '+'.")
    format = serializers.CharField(help_text="image or video")
    template_version = serializers.IntegerField()
    template = serializers.CharField(help_text="The template's name and version, e.g. 'hero v2'.")
    size = serializers.CharField(help_text="WIDTHxHEIGHT")
    variant = serializers.IntegerField(
        allow_null=True, help_text="The slot (0 = best) being made; null when the template failed at that size."
    )
    message = serializers.CharField()


class GenerationJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    state = serializers.ChoiceField(GenerationJob.State.choices)
    product_sets_total = serializers.IntegerField()
    product_sets_done = serializers.SerializerMethodField()
    product_sets_failed = serializers.SerializerMethodField()
    progress = serializers.FloatField()
    failed_sets = serializers.DictField(child=serializers.CharField())
    candidates_failed = serializers.SerializerMethodField()
    candidate_errors = CandidateErrorSerializer(
        many=True, help_text="Candidates that failed while the rest of their product set was made."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_product_sets_done(self, job) -> int:
        return len(job.completed_sets)

    def get_product_sets_failed(self, job) -> int:
        return len(job.failed_sets)

    def get_candidates_failed(self, job) -> int:
        return len(job.candidate_errors)
