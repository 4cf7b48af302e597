"""Every image enters through load_image: bombs, corrupt files and odd modes are handled."""

import io
import struct
import zlib

import pytest
from PIL import Image

from synthesis.errors import ImageRejected
from synthesis.images import load_image


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageRejected) as excinfo:
        load_image(_png_declaring(50_000, 50_000), max_pixels=40_000_000)

    assert excinfo.value.reason in {"too_large", "unreadable"}
    assert "50000" in str(excinfo.value) or "pixels" in str(excinfo.value)


def test_image_over_the_configured_limit_is_refused():
    data = _encode(Image.new("RGB", (300, 300), "red"), "PNG")

    with pytest.raises(ImageRejected, match="over the limit") as excinfo:
        load_image(data, max_pixels=50_000)

    assert excinfo.value.reason == "too_large"


def test_truncated_jpeg_is_refused_as_corrupt():
    data = _encode(Image.effect_noise((400, 400), 60).convert("RGB"), "JPEG")

    with pytest.raises(ImageRejected) as excinfo:
        load_image(data[: len(data) // 2])

    assert excinfo.value.reason == "corrupt"


@pytest.mark.parametrize("data", [b"", b"GIF89a-not-really", b"%PDF-1.4 hello"])
def test_garbage_is_refused(data):
    with pytest.raises(ImageRejected):
        load_image(data)


def test_one_pixel_image_is_refused():
    with pytest.raises(ImageRejected) as excinfo:
        load_image(_encode(Image.new("RGB", (1, 1)), "PNG"))

    assert excinfo.value.reason == "too_small"


def test_tiff_is_not_an_allowed_format():
    with pytest.raises(ImageRejected) as excinfo:
        load_image(_encode(Image.new("RGB", (10, 10)), "TIFF"))

    assert excinfo.value.reason == "format"


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), "white")
    img.paste((255, 0, 0), (0, 0, 20, 20))  # red on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(img, "JPEG", exif=exif.tobytes(), quality=95)

    out = load_image(data)

    assert out.size == (20, 40)
    r, g, b = out.getpixel((10, 5))  # red is now on top
    assert r > 200 and g < 60


def test_cmyk_becomes_rgb_and_palette_transparency_is_kept():
    cmyk = load_image(_encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG"))
    pal = Image.new("P", (10, 10), 0)
    pal.info["transparency"] = 0
    transparent = load_image(_encode(pal, "PNG", transparency=0))

    assert cmyk.mode == "RGB"
    assert cmyk.getpixel((5, 5))[0] > 200
    assert transparent.mode == "RGBA"
    assert transparent.getpixel((5, 5))[3] == 0


def test_large_jpeg_is_decoded_in_draft_mode():
    data = _encode(Image.new("RGB", (4000, 3000), "blue"), "JPEG", quality=70)

    out = load_image(data, draft_size=(800, 800))

    assert out.size[0] < 4000 and out.size[0] >= 800
