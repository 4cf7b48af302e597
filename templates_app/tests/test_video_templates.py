"""Video material: footage uploads are probed before anything is stored; video templates validate."""

import json
from pathlib import Path

import pytest

from synthesis.ffmpeg import run_ffmpeg
from synthesis.samples import sample_footage
from templates_app.engine import footage_file
from templates_app.errors import TemplateRejected, UploadRejected
from templates_app.models import Asset, Template
from templates_app.services import asset_create, template_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHOWCASE = Path(__file__).resolve().parents[2] / "synthesis" / "templates" / "video" / "showcase.json"


@pytest.fixture(scope="module")
def footage_bytes(tmp_path_factory):
    return sample_footage(tmp_path_factory.mktemp("f") / "f.mp4", seconds=2, size=(160, 284)).read_bytes()


def _stored(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_footage_is_probed_and_stored_with_its_size_and_duration(footage_bytes, media):
    asset = asset_create(name="snow", kind=Asset.Kind.FOOTAGE, data=footage_bytes)
    assert (asset.width, asset.height) == (160, 284)
    assert asset.duration == pytest.approx(2.0, abs=0.05)
    assert footage_file("snow").read_bytes() == footage_bytes
    assert asset_create(name="snow", kind=Asset.Kind.FOOTAGE, data=footage_bytes).pk == asset.pk  # stored once


def test_bad_footage_is_refused_and_nothing_is_stored(tmp_path, media, settings):
    audio = tmp_path / "a.m4a"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)], timeout=30)
    gif = tmp_path / "a.gif"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=5", str(gif)], timeout=30)
    cases = [
        (b"", "is empty"),
        (b"\x00" * 5000, "not a readable video file"),
        (audio.read_bytes(), "has no video stream"),
        (gif.read_bytes(), "must be MP4 or MOV"),
    ]
    for data, message in cases:
        with pytest.raises(UploadRejected, match=message):
            asset_create(name="clip.mp4", kind=Asset.Kind.FOOTAGE, data=data)
    settings.CREATIVE_MAX_FOOTAGE_BYTES = 1000
    with pytest.raises(UploadRejected, match="larger than the limit of 1,000 bytes"):
        asset_create(name="big.mp4", kind=Asset.Kind.FOOTAGE, data=b"\x00" * 1001)
    assert Asset.objects.count() == 0 and _stored(media) == []


def test_video_template_is_saved_as_a_video_template():
    spec = json.loads(SHOWCASE.read_text())
    template = template_create(name="Showcase 15s", spec=spec)
    assert template.kind == Template.Kind.VIDEO
    assert (template.products_min, template.products_max) == (1, 3)
    assert template.current_version.spec["slots"] == spec["slots"]


def test_an_invalid_video_template_lists_every_problem():
    spec = {**json.loads(SHOWCASE.read_text()), "duration": 10}
    with pytest.raises(TemplateRejected) as exc:
        template_create(name="Too short", spec=spec)
    assert "slots[5].end: must be <= the template's duration (10 s)" in exc.value.extra["errors"]
    assert Template.objects.count() == 0
