"""Every image enters through load_image: bombs, corrupt files and odd modes are handled."""

import io
import struct
import zlib

import numpy as np
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
    # Must hold: the refusal says what is wrong and what to do in an operator's words, not Pillow's
    # ("image file is truncated (N bytes not processed)").
    data = _encode(Image.effect_noise((400, 400), 60).convert("RGB"), "JPEG")

    with pytest.raises(ImageRejected) as excinfo:
        load_image(data[: len(data) // 2])

    assert excinfo.value.reason == "corrupt"
    assert "JPEG file is damaged" in str(excinfo.value) and "upload" in str(excinfo.value)
    assert "bytes not processed" not in str(excinfo.value)


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


# Adobe RGB (1998) as cameras tag it: a gamma of 563/256 and these primaries, adapted to the ICC's D50 white.
_ADOBE_GAMMA = 563 / 256
_ADOBE_PRIMARIES_D50 = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
_SRGB_PRIMARIES_D50 = ((0.43607, 0.22250, 0.01393), (0.38515, 0.71687, 0.09708), (0.14307, 0.06061, 0.71410))


def _matrix_icc(description: str, primaries, gamma: float) -> bytes:
    """A minimal ICC v2 display profile (matrix and one gamma curve), written by hand as a camera would tag it."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)

    text = description.encode("ascii") + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    d50 = (0.9642, 1.0, 0.8249)
    tags = [(b"desc", desc), (b"wtpt", xyz(d50)), (b"rXYZ", xyz(primaries[0])), (b"gXYZ", xyz(primaries[1]))]
    tags += [(b"bXYZ", xyz(primaries[2])), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table.append(sig + struct.pack(">II", offset + len(body), len(data)))
        body += data
    size = offset + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + b"".join(s15(c) for c in d50)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body


def _adobe_to_srgb(rgb) -> tuple[int, ...]:
    """The sRGB a colour-managed browser shows for Adobe RGB levels, worked out here from the two spaces' maths."""
    linear = (np.array(rgb, float) / 255) ** _ADOBE_GAMMA
    xyz = np.array(_ADOBE_PRIMARIES_D50).T @ linear
    srgb = np.clip(np.linalg.solve(np.array(_SRGB_PRIMARIES_D50).T, xyz), 0, 1)
    encoded = np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * srgb ** (1 / 2.4) - 0.055)
    return tuple(int(round(v * 255)) for v in encoded)


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")])
def test_a_photo_tagged_adobe_rgb_is_read_in_srgb_as_a_browser_shows_it(fmt, mode):
    """A camera's Adobe RGB photo read as if it were sRGB is duller and off-hue: every theme colour and render
    made from it would be wrong. Its pixels must be those a colour-managed browser shows, within rounding."""
    colours = [(200, 80, 60), (70, 120, 190), (120, 170, 90), (128, 128, 128)]
    img = Image.new(mode, (40, 10))
    for i, c in enumerate(colours):
        img.paste(c + ((255,) if mode == "RGBA" else ()), (10 * i, 0, 10 * i + 10, 10))
    icc = _matrix_icc("Adobe RGB (1998), written by the test", _ADOBE_PRIMARIES_D50, _ADOBE_GAMMA)
    data = _encode(img, fmt, icc_profile=icc, **({"lossless": True} if fmt == "WEBP" else {"quality": 100}))

    out = load_image(data)

    assert out.mode == mode
    for i, c in enumerate(colours):
        got, want = out.getpixel((10 * i + 5, 5))[:3], _adobe_to_srgb(c)
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 3, (c, got, want)
    # The saturated colours really move (the check above is not passing on untouched pixels); grey stays grey.
    assert max(abs(a - b) for a, b in zip(_adobe_to_srgb(colours[2]), colours[2], strict=True)) > 15


def test_an_srgb_tag_or_a_broken_profile_leaves_the_pixels_as_they_are():
    img = Image.new("RGB", (8, 8), (200, 80, 60))
    srgb = _matrix_icc("sRGB IEC61966-2.1", _SRGB_PRIMARIES_D50, 2.2)
    broken = b"\0" * 40

    for icc in (srgb, broken):
        assert load_image(_encode(img, "PNG", icc_profile=icc)).getpixel((4, 4)) == (200, 80, 60)


def test_a_16_bit_greyscale_photo_keeps_its_greys():
    """Pillow's own conversion of a 16-bit greyscale PNG clips every level above 255 to white: the product vanished."""
    levels = np.full((20, 30), 65535, np.uint16)
    levels[5:15, 10:20] = 200 * 257  # a mid-grey product on a white sweep
    data = _encode(Image.fromarray(levels), "PNG")

    out = load_image(data)

    assert out.mode == "RGB"
    assert out.getpixel((15, 10)) == (200, 200, 200)
    assert out.getpixel((2, 2)) == (255, 255, 255)
