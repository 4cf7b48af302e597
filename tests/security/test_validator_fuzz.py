"""The validators that stand between hostile input and the engine refuse it with their own errors (issue 8).

Uploads (assets, fonts, product photos) are fed arbitrary bytes and real PNG, JPEG, GIF and WebP
files with damaged, truncated or rewritten headers (PNG chunks re-checksummed, so the damage gets
past the checksum into the decoder): what comes out is an image, or ImageRejected from the
engine, UploadRejected from the asset and font checks, an ApplicationError from the product
service, never another exception. Template specs (image and video) are fed arbitrary JSON-like
values, as a whole and under the keys a spec has: a template whose numbers are all finite, or
TemplateSpecError. (synthesis/tests/test_spec.py mutates one field of a valid layer; these go
wider: the top level, whole layers, the video format, and numbers JSON parsers let through:
huge integers, NaN and infinities.)

FUZZ_EXAMPLES (see test_api_fuzz.py) scales the number of examples; `make fuzz` runs the long form.
"""

import copy
import dataclasses
import io
import json
import math
import os
import struct
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from campaigns.services import product_upsert
from creativeadmin.errors import ApplicationError
from synthesis.errors import ImageRejected
from synthesis.images import image_extension, image_size, load_image
from synthesis.spec import ASPECT_CLASSES, ROLES, TemplateSpecError, parse_template
from synthesis.video_spec import SLOT_TYPES, parse_video_template
from templates_app.errors import UploadRejected
from templates_app.services import asset_check, font_check

# Pillow warns about the corrupt EXIF blocks fed here on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
LONG_FORM = EXAMPLES is not None and EXAMPLES >= 100


def fuzz_settings(short: int):
    """`short` examples in CI (derandomised: the same cases every run), FUZZ_EXAMPLES in the long form."""
    return settings(
        max_examples=EXAMPLES or short,
        deadline=None,
        derandomize=not LONG_FORM,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


# --- real files to damage ----------------------------------------------------------------------------------


def _encoded(mode: str, image_format: str, size=(12, 9), **options) -> bytes:
    colour = {"1": 1, "L": 120, "LA": (120, 200), "I;16": 40000, "P": 3, "RGBA": (200, 30, 40, 128)}
    image = Image.new(mode, size, colour.get(mode, (200, 30, 40)) if mode != "CMYK" else (10, 200, 30, 5))
    buf = io.BytesIO()
    image.save(buf, format=image_format, **options)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _animated_gif() -> bytes:
    frames = [Image.new("P", (10, 10), i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


SEEDS = [
    _encoded("RGB", "PNG"),
    _encoded("RGBA", "PNG"),
    _encoded("P", "PNG", transparency=0),
    _encoded("I;16", "PNG"),
    _encoded("LA", "PNG"),
    _encoded("1", "PNG"),
    _encoded("RGB", "PNG", optimize=False, compress_level=0),
    _encoded("RGB", "JPEG", quality=80),
    _encoded("RGB", "JPEG", progressive=True),
    _encoded("L", "JPEG"),
    _encoded("CMYK", "JPEG"),
    _encoded("RGB", "JPEG", exif=_exif(6)),
    _encoded("RGB", "GIF"),
    _animated_gif(),
    _encoded("RGB", "WEBP", quality=50),
    _encoded("RGBA", "WEBP", lossless=True),
    _encoded("RGB", "BMP"),  # decodable, not an allowed format
    _encoded("RGB", "TIFF"),
]


@st.composite
def damaged(draw, seed: bytes) -> bytes:
    """`seed` with a few bytes overwritten, inserted or deleted, or cut short (most damage near the header)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        near_header = draw(st.booleans())
        position = draw(st.integers(0, min(len(data), 64) if near_header else len(data)))
        edit = draw(st.sampled_from(["overwrite", "insert", "delete", "truncate"]))
        if edit == "overwrite":
            data[position : position + 4] = draw(st.binary(min_size=1, max_size=4))
        elif edit == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        else:
            del data[position:]
    return bytes(data)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@st.composite
def forged_pngs(draw) -> bytes:
    """A PNG with valid chunk checksums around an arbitrary header and arbitrary (compressed) pixel data."""
    width = draw(st.integers(0, 2**31 - 1) | st.integers(0, 64))
    height = draw(st.integers(0, 2**31 - 1) | st.integers(0, 64))
    depth = draw(st.sampled_from([1, 2, 4, 8, 16]) | st.integers(0, 255))
    colour_type = draw(st.sampled_from([0, 2, 3, 4, 6]) | st.integers(0, 255))
    interlace = draw(st.sampled_from([0, 1]) | st.integers(0, 255))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    chunks = [_chunk(b"IHDR", ihdr)]
    if colour_type == 3 or draw(st.booleans()):
        chunks.append(_chunk(b"PLTE", draw(st.binary(max_size=48))))
    if draw(st.booleans()):
        kind = draw(st.sampled_from([b"tRNS", b"eXIf", b"iCCP", b"zTXt", b"acTL"]))
        chunks.append(_chunk(kind, draw(st.binary(max_size=64))))
    raw = draw(st.binary(max_size=512))
    chunks.append(_chunk(b"IDAT", zlib.compress(raw) if draw(st.booleans()) else raw))
    if draw(st.booleans()):
        chunks.append(_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@st.composite
def jpegs_with_exif(draw) -> bytes:
    """A valid JPEG carrying an arbitrary (usually broken) EXIF block: exif_transpose must not explode."""
    body = draw(st.binary(max_size=96))
    prefix = draw(st.sampled_from([b"MM\x00\x2a\x00\x00\x00\x08", b"II\x2a\x00\x08\x00\x00\x00", b""]))
    return _encoded("RGB", "JPEG", size=(8, 8), exif=b"Exif\x00\x00" + prefix + body)


image_bytes = st.one_of(
    st.binary(max_size=1024),
    st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"RIFF\x00\x00\x00\x00WEBPVP8 "]
    ).flatmap(lambda magic: st.binary(max_size=512).map(lambda tail: magic + tail)),
    st.sampled_from(SEEDS).flatmap(damaged),
    forged_pngs(),
    jpegs_with_exif(),
)


# --- images ----------------------------------------------------------------------------------------------


@fuzz_settings(short=400)
@given(data=image_bytes, draft=st.booleans())
def test_the_image_loader_returns_an_upright_rgb_image_or_refuses_with_image_rejected(data, draft):
    try:
        image = load_image(data, max_pixels=1_000_000, draft_size=(64, 64) if draft else None)
    except ImageRejected as exc:
        assert exc.reason
        return
    assert image.mode in ("RGB", "RGBA") and min(image.size) >= 2
    assert image.width * image.height <= 1_000_000


@fuzz_settings(short=200)
@given(data=image_bytes)
def test_reading_an_images_size_and_extension_refuses_with_image_rejected(data):
    for read in (image_size, image_extension):
        try:
            read(data)
        except ImageRejected:
            pass


@fuzz_settings(short=200)
@given(data=image_bytes, kind=st.sampled_from(["background", "logo", "decoration"]))
def test_an_asset_upload_is_an_image_or_upload_rejected(data, kind):
    try:
        asset_check(name="upload.png", data=data, kind=kind)
    except UploadRejected as exc:
        assert exc.code.startswith("image_")


@fuzz_settings(short=8)
@given(data=st.one_of(st.binary(max_size=256), st.sampled_from(SEEDS).flatmap(damaged)))
def test_footage_that_is_not_a_video_is_upload_rejected(data):
    with pytest.raises(UploadRejected):
        asset_check(name="clip.mp4", data=data, kind="footage")


@pytest.mark.django_db
@fuzz_settings(short=60)
@given(data=image_bytes)
def test_a_product_photo_is_stored_or_refused_with_an_application_error(data, tmp_path_factory, settings):
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    try:
        product = product_upsert(sku="FZ-1", title="羽绒服", price=Decimal("699"), image_data=data)
    except ApplicationError as exc:
        assert exc.code
        return
    assert product.main_image.name


# --- fonts ---------------------------------------------------------------------------------------------------

FONT = next(
    (
        p
        for d in ("/usr/share/fonts", "vendor/fonts")
        for p in sorted(Path(d).rglob("*.ttf"))
        if p.stat().st_size < 2**20
    ),
    None,
)
SIGNATURES = [b"\x00\x01\x00\x00", b"OTTO", b"ttcf", b"true"]


def _font_bytes():
    tails = st.binary(max_size=512)
    signed = st.sampled_from(SIGNATURES).flatmap(lambda magic: tails.map(lambda tail: magic + tail))
    if FONT is None:
        return st.one_of(st.binary(max_size=256), signed)
    return st.one_of(st.binary(max_size=256), signed, damaged(FONT.read_bytes()))


@fuzz_settings(short=60)
@given(data=_font_bytes(), filename=st.sampled_from(["face.ttf", "face.otf", "face.ttc", "face.woff", "face"]))
def test_a_font_upload_renders_or_is_upload_rejected(data, filename):
    try:
        font_check(family="Fuzz", data=data, filename=filename)
    except UploadRejected as exc:
        assert exc.code in ("font_format", "font_unreadable")


# --- template specs -------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-5, 5),
    st.floats(-2, 2),
    st.floats(),  # NaN and the infinities: Python's json module (the admin's JSON field) parses them
    st.integers(min_value=10**300, max_value=10**400),  # past float's range
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=10) | st.sampled_from([*ROLES, *ASPECT_CLASSES])
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=16,
)


def _object_with(keys, values=json_like):
    """Dicts over a spec's own keys (so validation goes past the first `must be an object`), any values."""
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


LAYER_KEYS = [
    "id", "role", "colour", "plate", "plate_colour", "opacity", "radius", "max_upscale", "shadow", "asset",
    "corner", "fill", "text", "box", "boxes", "variations",
]  # fmt: skip
box = _object_with(["x", "y", "w", "h"], numbers)
layer = st.fixed_dictionaries(
    {"role": st.sampled_from(ROLES)},
    optional={
        "box": box,
        "boxes": st.dictionaries(st.sampled_from([*ASPECT_CLASSES, "huge"]), box | json_like, max_size=3),
        "text": _object_with(["font", "size", "max_lines", "align", "line_height"])
        | st.fixed_dictionaries({"size": st.lists(numbers, min_size=2, max_size=2)}),
        "fill": _object_with(["type", "colour", "to", "angle", "strength", "asset"]),
        "variations": _object_with(["visible", "align", "assets", "size_scale", "colour", "plate"]),
    },
) | _object_with(LAYER_KEYS)
image_spec = st.fixed_dictionaries(
    {"spec_version": st.sampled_from([1, 2]) | json_like, "name": st.text(max_size=8) | json_like},
    optional={
        "kind": st.just("image") | json_like,
        "layers": st.lists(layer | json_like, max_size=5) | json_like,
        "canvas": _object_with(["safe_margin"], numbers) | json_like,
        "products": _object_with(["min", "max", "grouping"], numbers | json_like) | json_like,
        "shapes": st.lists(st.sampled_from([*ASPECT_CLASSES, "round"]) | json_like, max_size=4) | json_like,
        "arrangements": st.dictionaries(st.sampled_from(ASPECT_CLASSES), json_like, max_size=4) | json_like,
        "palette": st.dictionaries(st.sampled_from(["primary", "accent", "ink"]), json_like, max_size=3),
        "tags": json_like,
        "description": json_like,
    },
)
SLOT_KEYS = [
    "start", "end", "region", "boxes", "colour", "cta", "motion", "transition", "product", "highlight", "font",
]  # fmt: skip
slot = st.fixed_dictionaries(
    {"type": st.sampled_from(SLOT_TYPES)},
    optional={
        **{key: numbers | json_like for key in SLOT_KEYS},
        "boxes": st.dictionaries(st.sampled_from(["tall", "square", "wide", "banner"]), box | json_like, max_size=3),
    },
)
video_spec = st.fixed_dictionaries(
    {"spec_version": st.sampled_from([1, 2]) | json_like, "kind": st.just("video") | json_like},
    optional={
        "name": st.text(max_size=8) | json_like,
        "duration": numbers | json_like,
        "fps": numbers | json_like,
        "canvas": _object_with(["safe_margin"], numbers) | json_like,
        "base": _object_with(["type", "asset", "colour", "to", "angle", "audio", "audio_fade"], numbers | json_like),
        "transition": _object_with(["type", "duration"], numbers | json_like) | json_like,
        "slots": st.lists(slot | json_like, max_size=5) | json_like,
        "tags": json_like,
    },
)


SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
SHIPPED_IMAGE = [json.loads(p.read_text()) for p in sorted(SHIPPED.glob("*.json"))]
SHIPPED_VIDEO = [json.loads(p.read_text()) for p in sorted((SHIPPED / "video").glob("*.json"))]


def _number_paths(value, path=()):
    """The path of every number in a JSON value (booleans are not numbers here)."""
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _number_paths(child, (*path, key))]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _number_paths(child, (*path, i))]
    return [path] if isinstance(value, int | float) and not isinstance(value, bool) else []


@st.composite
def renumbered(draw, specs):
    """A shipped spec with some of its numbers replaced (tiny, huge, NaN, infinite): valid often enough."""
    spec = copy.deepcopy(draw(st.sampled_from(specs)))
    paths = _number_paths(spec)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        *parents, last = path
        target = spec
        for key in parents:
            target = target[key]
        target[last] = draw(numbers)
    return spec


def _finite(value) -> bool:
    """Every number anywhere in a parsed template (dataclasses, tuples, dicts) is finite."""
    if dataclasses.is_dataclass(value):
        return all(_finite(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


SPEC_FORMATS = {
    "image": (parse_template, json_like | image_spec | renumbered(SHIPPED_IMAGE)),
    "video": (parse_video_template, json_like | video_spec | renumbered(SHIPPED_VIDEO)),
}


@pytest.mark.parametrize("spec_format", SPEC_FORMATS)
@fuzz_settings(short=300)
@given(data=st.data())
def test_any_json_is_a_template_with_finite_numbers_or_the_spec_error(spec_format, data):
    parse, raw_specs = SPEC_FORMATS[spec_format]
    raw = data.draw(raw_specs, label="raw")

    try:
        template = parse(raw)
    except TemplateSpecError as exc:
        assert exc.errors and all(isinstance(error, str) for error in exc.errors)
        return
    assert _finite(template)


# --- what fuzzing found, pinned ---------------------------------------------------------------------------


def test_a_png_with_a_truncated_header_is_image_rejected_everywhere():
    truncated = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\x00\x00\x00\x10")  # 4 of IHDR's 13 bytes

    for read in (load_image, image_size, image_extension):
        with pytest.raises(ImageRejected) as refused:
            read(truncated)
        assert refused.value.reason == "unreadable"


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf, 10**400], ids=["nan", "inf", "-inf", "10**400"])
def test_a_spec_number_json_can_carry_but_a_float_cannot_is_a_spec_error(number):
    image = copy.deepcopy(SHIPPED_IMAGE[0])
    image["canvas"] = {"safe_margin": number}
    video = copy.deepcopy(SHIPPED_VIDEO[0])
    video["duration"] = number

    with pytest.raises(TemplateSpecError, match=r"canvas\.safe_margin: must be a finite number"):
        parse_template(image)
    with pytest.raises(TemplateSpecError, match=r"\$\.duration: must be a finite number"):
        parse_video_template(video)
