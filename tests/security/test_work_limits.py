"""Logged-in roles cannot ask the server for unbounded work.

A template spec has at most MAX_LAYERS layers (a video spec MAX_SLOTS slots), a campaign at most
CANDIDATES_PER_SIZE_MAX candidates per size; the editor's preview and the preview sheet stop at
their time budget and answer an error; and an upload is read in chunks with its size checked as
it is read, so an oversized one is refused without ever being held in memory.
"""

import io
import json
import time
import tracemalloc
from pathlib import Path

import pytest
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from campaigns.errors import CampaignNotReady
from campaigns.models import CANDIDATES_PER_SIZE_MAX, AdCopySet, Campaign
from campaigns.services import generation_job_start
from synthesis.spec import MAX_LAYERS, TemplateSpecError, parse_template
from synthesis.video_spec import MAX_SLOTS, parse_video_template
from templates_app.admin import AssetForm, FontForm
from templates_app.errors import TemplateRejected, UploadRejected
from templates_app.models import Asset, Font, Template
from templates_app.services import asset_create, template_create, template_publish

from .conftest import stored_files

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _spec(layers: int) -> dict:
    """The shipped single-product template padded with shape layers to `layers` layers in all."""
    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    shapes = [
        {"id": f"shape-{i}", "role": "shape", "colour": "accent", "opacity": 0.3,
         "box": {"x": 0.05, "y": 0.05, "w": 0.9, "h": 0.9}}
        for i in range(layers - len(spec["layers"]))
    ]  # fmt: skip
    return {**spec, "layers": [*spec["layers"], *shapes]}


def _editor(client, template, action: str, **body):
    return client.post(f"/templates/{template.pk}/editor/{action}", json.dumps(body), content_type="application/json")


# --- layers per spec, slots per video spec ----------------------------------------------------------------


def test_a_spec_over_the_layer_limit_is_refused_naming_the_limit():
    """The engine's validation refuses MAX_LAYERS + 1 layers with an error that names the limit."""
    parse_template(_spec(MAX_LAYERS))  # the limit itself is fine

    with pytest.raises(TemplateSpecError) as refused:
        parse_template(_spec(MAX_LAYERS + 1))

    assert refused.value.errors == [
        f"layers: at most {MAX_LAYERS} layers per template (got {MAX_LAYERS + 1}); merge or remove some"
    ]


def test_the_editor_refuses_ten_thousand_layers_at_once_and_saves_nothing(client, designer):
    """The 10,000-layer spec that took 37.8 s to render is refused at once by the render and the save."""
    template = template_create(name="hero", spec=_spec(8))
    client.force_login(designer)
    huge = _spec(10_000)
    started = time.monotonic()

    render = _editor(client, template, "render", spec=huge, width=1080, height=1080)
    save = _editor(client, template, "save", spec=huge, base_version=1)

    assert time.monotonic() - started < 5
    assert render.status_code == 400 and render.json()["code"] == "invalid_template"
    assert f"at most {MAX_LAYERS} layers" in render.json()["message"]
    assert save.status_code == 400 and save.json()["code"] == "invalid_template"
    assert template.versions.count() == 1


def test_a_video_spec_over_the_slot_limit_is_refused_naming_the_limit():
    """A video template has at most MAX_SLOTS slots."""
    spec = json.loads((SHIPPED / "video" / "showcase.json").read_text())
    slot = {"type": "highlight", "start": 1, "end": 2}
    spec["slots"] = spec["slots"] + [slot] * (MAX_SLOTS + 1 - len(spec["slots"]))

    with pytest.raises(TemplateSpecError) as refused:
        parse_video_template(spec)

    assert f"slots: at most {MAX_SLOTS} slots per video template" in str(refused.value)


# --- candidates per size ------------------------------------------------------------------------------------


@pytest.fixture
def campaign() -> Campaign:
    return Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))


@pytest.mark.parametrize("value", [0, CANDIDATES_PER_SIZE_MAX + 1, 65_536])
def test_candidates_per_size_out_of_range_is_refused_by_the_api(client, operator, campaign, value):
    """The operators' API refuses candidates_per_size outside 1..CANDIDATES_PER_SIZE_MAX and stores nothing."""
    client.force_login(operator)

    response = client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"candidates_per_size": value}, "application/json")

    assert response.status_code == 400
    assert "candidates_per_size" in response.json()["extra"]["fields"]
    campaign.refresh_from_db()
    assert campaign.candidates_per_size == 24


def test_candidates_per_size_is_a_model_rule_and_an_old_row_cannot_generate(campaign):
    """The limit holds in the admin (full_clean) too, and a row stored before it cannot start a generation."""
    campaign.candidates_per_size = 65_536
    with pytest.raises(ValidationError) as refused:
        campaign.full_clean()
    assert "candidates_per_size" in refused.value.message_dict

    Campaign.objects.filter(pk=campaign.pk).update(candidates_per_size=30_000)  # as stored before the rule
    campaign.refresh_from_db()
    with pytest.raises(CampaignNotReady) as not_ready:
        generation_job_start(campaign=campaign)
    assert f"between 1 and {CANDIDATES_PER_SIZE_MAX}" in not_ready.value.message


# --- time budgets ---------------------------------------------------------------------------------------------


def test_the_editor_preview_stops_at_its_time_budget(client, designer, settings):
    """A preview that cannot finish in TEMPLATE_PREVIEW_SECONDS is stopped and answered with an error."""
    settings.TEMPLATE_PREVIEW_SECONDS = 0.05
    template = template_create(name="heavy", spec=_spec(MAX_LAYERS))
    client.force_login(designer)
    started = time.monotonic()

    response = _editor(client, template, "render", spec=_spec(MAX_LAYERS), width=2160, height=2160)

    assert time.monotonic() - started < 3
    assert response.status_code == 400 and response.json()["code"] == "time_budget_exceeded"


def test_the_preview_sheet_stops_at_its_time_budget(client, designer, settings):
    """The sheet of the heaviest allowed template stops after TEMPLATE_SHEET_SECONDS (plus one render)
    with the error on the page, and publishing that template is refused for the same reason."""
    settings.TEMPLATE_SHEET_SECONDS = 0.3
    template = template_create(name="heavy", spec=_spec(MAX_LAYERS))
    client.force_login(designer)
    started = time.monotonic()

    page = client.get(f"/templates/{template.pk}/sheet/")

    assert time.monotonic() - started < settings.TEMPLATE_SHEET_SECONDS + 2
    assert page.status_code == 400
    assert "took more than its 0.3 s and was stopped" in page.content.decode()
    with pytest.raises(TemplateRejected) as refused:
        template_publish(template=template)
    assert refused.value.code == "time_budget_exceeded"
    assert Template.objects.get().status == Template.Status.DRAFT


# --- uploads are read in chunks, the size checked as they are read --------------------------------------------


class Zeros(io.RawIOBase):
    """`size` zero bytes made as they are read (never held whole); counts what was read."""

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b""):
        self.head, self.tail, self.zeros, self.position = head, tail, size, 0
        self.total = len(head) + size + len(tail)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view, n = memoryview(buffer).cast("B"), min(len(buffer), self.total - self.position)
        done = 0
        while done < n:
            at, want = self.position + done, n - done
            if at < len(self.head):
                piece = self.head[at : at + want]
            elif at < len(self.head) + self.zeros:
                piece = bytes(min(want, len(self.head) + self.zeros - at))  # one read's worth, no more
            else:
                offset = at - len(self.head) - self.zeros
                piece = self.tail[offset : offset + want]
            view[done : done + len(piece)] = piece
            done += len(piece)
        self.position += n
        return n


def _peak_bytes(action) -> int:
    """The peak of Python's allocations while `action` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


LIMIT = 32 * 2**20  # stands for the 200 MB footage limit; the upload is one byte more


@pytest.mark.parametrize(
    "form_class, fields, setting",
    [
        (AssetForm, {"name": "clip", "kind": "footage"}, "CREATIVE_MAX_FOOTAGE_BYTES"),
        (AssetForm, {"name": "scene", "kind": "background"}, "CREATIVE_MAX_FILE_BYTES"),
        (FontForm, {"family": "Big", "weight": 400, "style": "normal", "face_index": 0}, "CREATIVE_MAX_FILE_BYTES"),
    ],
    ids=["footage", "image", "font"],
)
def test_an_oversized_upload_in_the_admin_is_refused_without_being_read_into_memory(
    form_class, fields, setting, settings, media
):
    """An upload one byte over its limit is a form error; memory stays far below its size, nothing is stored."""
    setattr(settings, setting, LIMIT)
    name = {"footage": "clip.mp4", "background": "scene.png"}.get(fields.get("kind"), "big.ttf")
    upload = UploadedFile(io.BufferedReader(Zeros(LIMIT + 1)), name=name, size=LIMIT + 1)
    form = form_class(data=fields, files={"file": upload})

    peak = _peak_bytes(form.is_valid)

    assert "larger than the limit of 32 MB" in str(form.errors["__all__"])
    assert peak < LIMIT / 8
    assert Asset.objects.count() == Font.objects.count() == 0
    assert stored_files(media) == []


def test_an_upload_longer_than_it_says_is_stopped_as_it_is_read(settings, media):
    """A file that declares no size is read in chunks and refused once past the limit: no more than one
    chunk past it is read, and memory stays far below the limit."""
    settings.CREATIVE_MAX_FOOTAGE_BYTES = LIMIT
    source = Zeros(4 * LIMIT)
    refused = []

    def create():
        with pytest.raises(UploadRejected) as exc:
            asset_create(name="clip.mp4", kind=Asset.Kind.FOOTAGE, data=io.BufferedReader(source, 2**16))
        refused.append(exc.value)

    peak = _peak_bytes(create)

    assert refused[0].code == "footage_too_large"
    assert source.position <= LIMIT + 2 * 2**20
    assert peak < LIMIT / 8
    assert Asset.objects.count() == 0 and stored_files(media) == []


def test_a_request_whose_file_passes_the_upload_ceiling_is_stopped_while_it_arrives(settings, tmp_path):
    """Whatever the view, Django stops reading a multipart body once one file passes CREATIVE_MAX_UPLOAD_BYTES,
    refuses the request and leaves no temporary file."""
    settings.CREATIVE_MAX_UPLOAD_BYTES = LIMIT
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    boundary = "limit-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    body = Zeros(4 * LIMIT, head=head, tail=f"\r\n--{boundary}--\r\n".encode())
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/admin/templates_app/asset/add/",
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
        CONTENT_LENGTH=str(body.total),
    )
    environ["wsgi.input"] = body
    request = WSGIRequest(environ)
    refused = []

    def parse():
        with pytest.raises(RequestDataTooBig) as exc:
            request.FILES  # noqa: B018 -- what any view's first look at the upload does
        refused.append(exc.value)

    peak = _peak_bytes(parse)

    assert "at most" in str(refused[0])
    assert body.position <= LIMIT + 2**20
    assert peak < LIMIT / 8
    assert list(tmp_path.iterdir()) == []
