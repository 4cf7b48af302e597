"""Product videos: what a placement receives (codec, size, duration, audio), what is on
screen when (read back from the frames), and every bad input ending cleanly."""

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthesis.colour import delta_e_2000, srgb_to_lab
from synthesis.errors import ImageRejected
from synthesis.ffmpeg import FootageError, VideoError, VideoTimeout, ffmpeg_exe, probe, run_ffmpeg
from synthesis.render import AdCopy
from synthesis.samples import product_photo, sample_assets, sample_footage
from synthesis.spec import TemplateSpecError
from synthesis.video import (
    ORPHAN_TRACK_SECONDS,
    VideoProduct,
    load_video_product,
    plan_video,
    render_video,
    slot_box,
    video_palette,
)
from synthesis.video_spec import load_video_template, parse_video_template

BODY = (200, 40, 50)
TALL = (240, 426)

SPEC = {
    "spec_version": 1,
    "kind": "video",
    "name": "test-4s",
    "duration": 4,
    "fps": 25,
    "base": {"type": "footage", "asset": "footage"},
    "transition": {"type": "crossfade", "duration": 0.3},
    "slots": [
        {"type": "logo", "start": 0, "end": 3},
        {"type": "product", "start": 0, "end": 2, "motion": "zoom-in"},
        {"type": "highlight", "start": 0.4, "end": 2, "highlight": 0, "motion": "slide-up"},
        {"type": "product", "start": 2, "end": 3, "product": 1, "motion": "slide-left", "transition": "cut"},
        {"type": "highlight", "start": 2.1, "end": 3, "product": 1, "highlight": 1, "motion": "fade"},
        {"type": "end_card", "start": 3, "end": 4, "cta": "立即抢购"},
    ],
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    return {
        "footage": sample_footage(root / "footage.mp4", seconds=5, size=(360, 640)),
        "silent": sample_footage(root / "silent.mp4", seconds=5, size=(360, 640), audio=False),
        "root": root,
    }


@pytest.fixture(scope="module")
def product():
    photo = product_photo(BODY, shape="jacket", backdrop="white", size=500, seed=3)
    import io

    buf = io.BytesIO()
    photo.image.save(buf, format="JPEG", quality=92)
    return load_video_product(buf.getvalue(), sku="JKT-1", highlights=["90% 白鹅绒", "-20°C 保暖"])


def _plan(fonts, product, size=TALL, spec=None):
    template = parse_video_template(spec or SPEC)
    return plan_video(
        template,
        size,
        products=[product],
        copy=AdCopy(title="冬季羽绒服", price="¥599"),
        palette=video_palette([product]),
        fonts=fonts,
        assets=sample_assets(),
    )


def frame_at(path: Path, t: float, size: tuple[int, int]) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{t}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0], 3)


def decoded_frames(path: Path) -> int:
    run = run_ffmpeg(["-i", str(path), "-map", "0:v", "-f", "null", "-"], timeout=60)
    return int(run.stderr.rsplit("frame=", 1)[1].split()[0])


def near(pixels: np.ndarray, colour, threshold: float = 15.0) -> float:
    """Share of pixels within CIEDE2000 `threshold` of `colour`."""
    lab = srgb_to_lab(pixels.reshape(-1, 3).astype(np.float64))
    return float((delta_e_2000(lab, srgb_to_lab(np.asarray(colour, dtype=np.float64))[None, :]) < threshold).mean())


def crop(frame: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return frame[max(0, y) : y + h, max(0, x) : x + w]


def assert_nothing_left(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == [], "a partial or temporary file was left behind"


def test_output_is_what_a_placement_can_play(fonts, product, media, tmp_path):
    out = tmp_path / "video.mp4"
    result = render_video(_plan(fonts, product), out, footage=media["footage"], products=[product])
    info = probe(out)
    assert (info.width, info.height) == TALL
    assert info.video_codec == "h264" and info.pixel_format == "yuv420p"
    assert abs(info.duration - 4.0) <= 1 / 25
    assert decoded_frames(out) == 100
    assert info.has_audio and info.audio_codec == "aac"
    head = out.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat"), "moov first (+faststart), so playback starts while loading"
    assert result.poster.exists() and result.poster.read_bytes()[:3] == b"\xff\xd8\xff"
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest == result.manifest
    assert (manifest["width"], manifest["height"], manifest["fps"], manifest["frames"]) == (240, 426, 25, 100)
    kinds = [(e["type"], e["content"]) for e in manifest["timeline"]]
    assert ("highlight", "90% 白鹅绒") in kinds and ("highlight", "-20°C 保暖") in kinds
    assert ("product", "JKT-1") in kinds and ("end_card", "冬季羽绒服") in kinds


def test_frames_show_each_slot_where_the_template_puts_it(fonts, product, media, tmp_path):
    plan = _plan(fonts, product)
    out = tmp_path / "video.mp4"
    render_video(plan, out, footage=media["footage"])
    palette = video_palette([product])
    by_type = {}
    for o in plan.overlays:
        by_type.setdefault(o.slot.type, []).append(o)

    # Middle of the first product slot: the jacket's red fills its region, and nowhere else.
    first = by_type["product"][0]
    frame = frame_at(out, 1.0, TALL)
    assert near(crop(frame, first.box), BODY) > 0.25
    outside = frame.copy()
    for o in plan.overlays:
        if o.slot.start <= 1.0 < o.slot.end:
            x, y, w, h = o.box
            outside[max(0, y) : y + h, max(0, x) : x + w] = 0
    assert near(outside, BODY) < 0.01

    # Middle of a highlight slot, after it has settled: its plate (palette primary) is in its region.
    for o in by_type["highlight"]:
        mid = max(o.slot.start + o.enter + 0.1, (o.slot.start + o.slot.end) / 2)
        frame = frame_at(out, mid, TALL)
        assert near(crop(frame, o.box), palette.primary, 12) > 0.4, o.content

    # The second product slid in from the right and has settled in the hero region by its middle.
    second = by_type["product"][1]
    frame = frame_at(out, 2.6, TALL)
    assert near(crop(frame, second.box), BODY) > 0.25

    # The end card: the image engine's render of title, product, price and call to action.
    card = np.asarray(by_type["end_card"][0].image.convert("RGB"), dtype=np.int16)
    frame = frame_at(out, 3.6, TALL).astype(np.int16)
    assert np.abs(frame - card).mean() < 8


def test_one_template_every_shape(fonts, product, media, tmp_path):
    for size in [(240, 426), (240, 240), (426, 240)]:
        out = tmp_path / f"{size[0]}x{size[1]}.mp4"
        render_video(_plan(fonts, product, size=size), out, footage=media["footage"])
        info = probe(out)
        assert (info.width, info.height) == size


@pytest.mark.parametrize("size", [(1080, 1920), (1080, 1080), (1920, 1080), (720, 1280), (1280, 720)])
def test_regions_are_relaid_out_for_the_shape(size):
    template = parse_video_template(SPEC)
    hero = slot_box(template, next(s for s in template.slots if s.type == "product"), size)
    caption = slot_box(template, next(s for s in template.slots if s.type == "highlight"), size)
    for x, y, w, h in (hero, caption):
        assert x >= 0 and y >= 0 and x + w <= size[0] and y + h <= size[1]
    overlap_w = min(hero[0] + hero[2], caption[0] + caption[2]) - max(hero[0], caption[0])
    overlap_h = min(hero[1] + hero[3], caption[1] + caption[3]) - max(hero[1], caption[1])
    assert overlap_w <= 0 or overlap_h <= 0, "the selling point must not cover the product"
    if size[0] < size[1]:
        assert caption[1] >= hero[1] + hero[3], "tall: caption under the product"
    else:
        assert caption[0] >= hero[0] + hero[2], "square and wide: caption beside the product"


def test_generated_background_and_silent_footage_have_no_audio(fonts, product, media, tmp_path):
    spec = {**SPEC, "base": {"type": "gradient", "colour": "background", "to": "primary"}}
    result = render_video(_plan(fonts, product, spec=spec), tmp_path / "gradient.mp4")
    assert not probe(result.path).has_audio and result.manifest["audio"] is False
    assert decoded_frames(result.path) == 100
    result = render_video(_plan(fonts, product), tmp_path / "silent.mp4", footage=media["silent"])
    assert not probe(result.path).has_audio


def test_variable_frame_rate_and_odd_sized_footage_come_out_exact(fonts, product, media, tmp_path):
    vfr = sample_footage(media["root"] / "vfr.mp4", seconds=5, size=(360, 640), variable_frame_rate=True)
    log = run_ffmpeg(["-i", str(vfr), "-vf", "showinfo", "-f", "null", "-"], timeout=60).stderr
    times = [float(part.split()[0]) for part in log.split("pts_time:")[1:]]
    assert len(set(np.round(np.diff(times), 3))) > 1, "the sample must really be variable frame rate"
    odd = sample_footage(media["root"] / "odd.mp4", seconds=5, size=(359, 641))
    assert (probe(odd).width, probe(odd).height) == (359, 641)
    for name, footage in [("vfr", vfr), ("odd", odd)]:
        out = tmp_path / f"{name}.mp4"
        render_video(_plan(fonts, product), out, footage=footage)
        info = probe(out)
        assert (info.width, info.height) == TALL and abs(info.duration - 4.0) <= 1 / 25
        assert decoded_frames(out) == 100


def test_sample_footage_is_the_same_pictures_for_the_same_seed(tmp_path):
    # The video bench times encodes of this footage; a new gradient on every run moved its figures by up to 24%.
    def picture(name: str, seed: int) -> np.ndarray:
        path = sample_footage(tmp_path / f"{name}.mp4", seconds=1, size=(64, 112), audio=False, seed=seed)
        return frame_at(path, 0.5, (64, 112))

    assert np.array_equal(picture("a", 1), picture("b", 1))
    assert not np.array_equal(picture("a", 1), picture("c", 2))


def _bad(media, name: str, data: bytes) -> Path:
    path = media["root"] / name
    path.write_bytes(data)
    return path


def test_unusable_footage_gets_a_clear_error_and_leaves_nothing(fonts, product, media, tmp_path):
    full = media["footage"].read_bytes()
    faststart = media["root"] / "faststart.mp4"
    run_ffmpeg(["-y", "-i", str(media["footage"]), "-c", "copy", "-movflags", "+faststart", str(faststart)], timeout=30)
    audio_only = media["root"] / "audio.m4a"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=duration=5", "-c:a", "aac", str(audio_only)], timeout=30)
    short = sample_footage(media["root"] / "short.mp4", seconds=3, size=(360, 640))
    cases = [
        (_bad(media, "empty.mp4", b""), "is empty"),
        (_bad(media, "noise.mp4", os.urandom(50_000)), "not a readable video file"),
        (_bad(media, "cut.mp4", full[: len(full) // 2]), "not a readable video file"),  # moov at the end: lost
        (_bad(media, "cut-faststart.mp4", faststart.read_bytes()[: len(full) // 3]), "truncated or damaged"),
        (audio_only, "no video stream"),
        (short, "lasts 3.00 s; the template needs 4 s"),
        (media["root"] / "missing.mp4", "cannot be read"),
    ]
    plan = _plan(fonts, product)
    for footage, message in cases:
        out_dir = tmp_path / footage.stem
        out_dir.mkdir()
        with pytest.raises(FootageError, match=message.replace("(", r"\(")):
            render_video(plan, out_dir / "video.mp4", footage=footage, timeout=60)
        assert_nothing_left(out_dir)


def _ffmpeg_processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(pid))
    return found


def test_a_hanging_ffmpeg_is_stopped_in_time_with_no_orphan(fonts, product, tmp_path):
    fifo = tmp_path / "never-written.mp4"
    os.mkfifo(fifo)  # opening it for reading blocks forever: ffmpeg hangs
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = time.monotonic()
    with pytest.raises(VideoTimeout, match="did not finish within 2 s"):
        render_video(_plan(fonts, product), out_dir / "video.mp4", footage=fifo, timeout=2)
    assert time.monotonic() - started < 6
    assert _ffmpeg_processes_mentioning(str(fifo)) == []
    assert_nothing_left(out_dir)

    # The same guard holds while encoding: an endless source is stopped and reaped.
    marker = f"nullsrc=s=64x64:r=25,setpts=PTS+{os.getpid()}"
    with pytest.raises(VideoTimeout):
        run_ffmpeg(["-f", "lavfi", "-i", marker, "-f", "null", "-"], timeout=1)
    assert _ffmpeg_processes_mentioning(marker) == []


def test_bad_product_image_and_bad_sizes_are_refused(fonts, product):
    with pytest.raises(ImageRejected, match="Product SKU-9: Not a readable image"):
        load_video_product(b"not an image", sku="SKU-9")
    with pytest.raises(VideoError, match="sides must be even"):
        _plan(fonts, product, size=(241, 426))
    with pytest.raises(VideoError, match="banner shape"):
        _plan(fonts, product, size=(728, 90))


def test_spec_errors_name_their_path(tmp_path):
    bad = {
        **SPEC,
        "duration": 4,
        "base": {"type": "footage"},
        "slots": [
            {"type": "highlight", "start": 2, "end": 1},
            {"type": "logo", "start": 0, "end": 9, "motion": "spin"},
        ],
    }
    with pytest.raises(TemplateSpecError) as exc:
        parse_video_template(bad)
    errors = exc.value.errors
    assert "base.asset: is required for a footage base" in errors
    assert "slots[0].end: must be after start (2 s)" in errors
    assert "slots[1].end: must be <= the template's duration (4 s)" in errors
    assert any(e.startswith("slots[1].motion: must be one of") for e in errors)
    assert "slots: a product video needs at least one product slot" in errors
    path = tmp_path / "t.json"
    path.write_text("{")
    with pytest.raises(TemplateSpecError, match="not valid JSON"):
        load_video_template(path)


def test_shipped_video_templates_are_valid():
    for path in (Path(__file__).resolve().parents[1] / "templates" / "video").glob("*.json"):
        template = load_video_template(path)
        assert template.kind == "video" and template.frame_count == round(template.duration * template.fps)


def test_a_slot_missing_its_text_is_skipped_with_a_warning(fonts, product):
    bare = VideoProduct(product.product, (), "NOHL")
    template = parse_video_template(SPEC)
    plan = plan_video(
        template, TALL, products=[bare], copy=AdCopy(title="t"), palette=video_palette([bare]), fonts=fonts,
        assets=sample_assets(),
    )  # fmt: skip
    assert not [o for o in plan.overlays if o.slot.type == "highlight"]
    assert any("highlight slot at 0.4 s skipped" in w for w in plan.warnings)


def test_a_scene_photo_fills_the_frame_in_its_product_slot_never_a_framed_card(fonts):
    from synthesis.tests.reference_renders import real_photo

    scene = load_video_product(_jpeg_bytes(real_photo("coffee")), sku="CUP", highlights=["手冲咖啡"])
    assert scene.product.scene
    plan = plan_video(
        parse_video_template(SPEC), TALL, products=[scene], copy=AdCopy(title="t"), palette=video_palette([scene]),
        fonts=fonts, assets=sample_assets(),
    )  # fmt: skip

    shown = [o for o in plan.overlays if o.slot.type == "product"]
    assert shown and all((o.x, o.y, o.image.size) == (0, 0, TALL) for o in shown)


def test_a_scene_photo_in_a_tall_video_keeps_its_whole_subject(fonts):
    """A motorcycle across a landscape photo, in a 720x1280 video: a centred cover crop of the frame showed
    its engine and cut both wheels. The slot is cropped round the subject as an image ad is (`scene_crop`):
    each wheel, as in the photo (with the tail light, with the fork), is found in the frame."""
    import cv2
    import skimage

    photo = Image.open(Path(skimage.__file__).parent / "data" / "motorcycle_left.png").convert("RGB")
    product = load_video_product(_jpeg_bytes(photo), sku="BIKE", highlights=["复古街车"])
    assert product.product.scene
    plan = plan_video(
        parse_video_template(SPEC), TALL, products=[product], copy=AdCopy(title="t"),
        palette=video_palette([product]), fonts=fonts, assets=sample_assets(),
    )  # fmt: skip
    frame = next(o.image for o in plan.overlays if o.slot.type == "product")

    grey = np.asarray(frame.convert("L"))
    for part in ((0.12, 0.4, 0.3, 0.9), (0.75, 0.35, 0.93, 0.9)):  # the rear wheel with the tail light, the front one
        x0, y0, x1, y1 = (round(f * s) for f, s in zip(part, photo.size * 2, strict=True))
        piece = photo.crop((x0, y0, x1, y1)).convert("L")
        best = 0.0
        for scale in np.linspace(0.15, 1.5, 55):  # the frame's scale is the crop's own
            size = (max(8, round(piece.width * scale)), max(8, round(piece.height * scale)))
            if size[0] >= grey.shape[1] or size[1] >= grey.shape[0]:
                continue
            found = cv2.matchTemplate(grey, np.asarray(piece.resize(size, Image.BILINEAR)), cv2.TM_CCOEFF_NORMED)
            best = max(best, float(found.max()))
        assert best > 0.9, f"wheel {part} not in the frame ({best:.2f})"


def _jpeg_bytes(image) -> bytes:
    import io

    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


SHORT = {
    **SPEC,
    "name": "test-2s",
    "duration": 2,
    "slots": [
        {"type": "product", "start": 0, "end": 1.5, "motion": "zoom-in"},
        {"type": "highlight", "start": 0.2, "end": 1.5, "highlight": 0, "motion": "slide-up"},
        {"type": "end_card", "start": 1.5, "end": 2, "cta": "立即抢购"},
    ],
}


def test_a_video_over_max_bytes_is_re_encoded_under_a_bitrate_cap_until_it_fits(fonts, product, media, tmp_path):
    plan = _plan(fonts, product, spec=SHORT)
    free = render_video(plan, tmp_path / "free.mp4", footage=media["footage"])
    limit = free.size_bytes // 2

    fitted = render_video(plan, tmp_path / "fitted.mp4", footage=media["footage"], max_bytes=limit)

    assert free.fits and free.encoding["passes"] == 1 and free.encoding["maxrate_kbps"] is None
    assert fitted.fits and fitted.size_bytes == fitted.path.stat().st_size <= limit
    assert fitted.encoding["passes"] >= 2 and fitted.encoding["maxrate_kbps"] > 0
    assert decoded_frames(fitted.path) == 50 and probe(fitted.path).has_audio
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["free.mp4", "free.jpg", "free.json", "fitted.mp4", "fitted.jpg", "fitted.json"]
    ), "no pass's encoding is left behind"


def test_a_video_that_cannot_fit_is_returned_flagged_not_refused(fonts, product, tmp_path):
    spec = {**SHORT, "base": {"type": "gradient", "colour": "background", "to": "primary"}}

    result = render_video(_plan(fonts, product, spec=spec), tmp_path / "video.mp4", max_bytes=1024)

    assert result.fits is False and result.encoding["fits"] is False
    assert result.size_bytes == result.path.stat().st_size > 1024
    assert decoded_frames(result.path) == 50  # still a whole, playable video for the reviewer to judge


def _pcm(path: Path) -> bytes:
    """The video's sound decoded to 16-bit mono PCM at 44.1 kHz."""
    return subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar", "44100",
         "-f", "s16le", "pipe:1"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip


def test_videos_over_one_footage_share_one_encoding_of_its_sound(fonts, product, media, tmp_path):
    """A video's sound depends on its footage and the template's timing, not on its products or shape: with a
    `soundtrack_dir`, later videos over the same footage stream-copy the first one's encoding, sample for
    sample the sound a render encoding its own gets; a template of another length gets its own track."""
    sounds = tmp_path / "sounds"
    own = render_video(_plan(fonts, product), tmp_path / "own.mp4", footage=media["footage"])
    first = render_video(_plan(fonts, product), tmp_path / "first.mp4", footage=media["footage"], soundtrack_dir=sounds)
    [track] = sounds.iterdir()
    encoded_at = track.stat().st_mtime_ns

    square = render_video(
        _plan(fonts, product, size=(320, 320)), tmp_path / "square.mp4", footage=media["footage"], soundtrack_dir=sounds
    )

    assert list(sounds.iterdir()) == [track] and track.stat().st_mtime_ns == encoded_at, "the sound was encoded again"
    assert _pcm(first.path) == _pcm(own.path) == _pcm(square.path)
    assert len(_pcm(own.path)) == 4 * 44100 * 2  # 4 s of 16-bit mono: trimmed, padded and faded as before
    short = render_video(
        _plan(fonts, product, spec=SHORT), tmp_path / "short.mp4", footage=media["footage"], soundtrack_dir=sounds
    )
    assert len(list(sounds.iterdir())) == 2 and len(_pcm(short.path)) == 2 * 44100 * 2


def test_a_half_written_sound_track_a_killed_worker_left_is_removed_and_a_live_one_kept(
    fonts, product, media, tmp_path
):
    """A worker killed while encoding a footage's sound leaves its temporary file in the shared cache
    directory: the next encoding there removes it once it is an hour old, and never touches one that a
    live encoding is still writing."""
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    orphan, live = sounds / ".sound-orphan.m4a", sounds / ".sound-live.m4a"
    orphan.write_bytes(b"half a track")
    live.write_bytes(b"being written")
    an_hour_ago = time.time() - ORPHAN_TRACK_SECONDS - 60
    os.utime(orphan, (an_hour_ago, an_hour_ago))

    render_video(_plan(fonts, product), tmp_path / "v.mp4", footage=media["footage"], soundtrack_dir=sounds)

    assert not orphan.exists()
    assert live.exists()
    assert len(list(sounds.glob("sound-*.m4a"))) == 1
