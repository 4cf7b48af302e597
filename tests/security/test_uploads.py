"""Hostile uploads: bombs, foreign formats, SVG, polyglots, fake fonts and huge names are refused or defused.

Every refusal leaves nothing behind (no row, no file under MEDIA_ROOT); what is accepted is
stored under a name and extension the server chose and served as what it is, never as HTML.
"""

import io
import os
import struct
import time
import zlib
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import re_path
from django.views.static import serve
from PIL import Image

from campaigns.models import Product
from campaigns.services import product_upsert
from creativeadmin.urls import urlpatterns as site_urlpatterns
from synthesis.fonts import discover_fonts
from synthesis.samples import product_photo
from templates_app.errors import UploadRejected
from templates_app.models import Asset, Font, Template
from templates_app.services import asset_create, font_register

from .conftest import stored_files

pytestmark = pytest.mark.django_db

ASSET_ADD = "/admin/templates_app/asset/add/"
FONT_ADD = "/admin/templates_app/font/add/"
SCRIPT = b"<html><script>alert(1)</script></html>"


def _serve_media(request, path):
    # What creativeadmin/urls.py mounts in DEBUG (django.conf.urls.static), with today's MEDIA_ROOT.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


# The site as DEBUG serves it, media from this test's MEDIA_ROOT (first: the site's own media route, if
# DEBUG was on when it was imported, points at the MEDIA_ROOT of that moment); used via pytest.mark.urls.
urlpatterns = [re_path(r"^media/(?P<path>.*)$", _serve_media), *site_urlpatterns]


# --- hostile files, made here so each is a few bytes --------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height RGB pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def psd_declaring(width: int, height: int) -> bytes:
    """A Photoshop header (8BPS, version 1, 3 channels, 8 bits, RGB) with empty sections and no pixels."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0)


def fits_image() -> bytes:
    """A minimal valid FITS file: an 8x8 8-bit primary image (Pillow reads FITS but cannot write it)."""
    cards = [f"{'SIMPLE':<8}= {'T':>20}", f"{'BITPIX':<8}= {8:>20}", f"{'NAXIS':<8}= {2:>20}"]
    cards += [f"{'NAXIS1':<8}= {8:>20}", f"{'NAXIS2':<8}= {8:>20}", "END"]
    header = "".join(card.ljust(80) for card in cards).ljust(2880).encode("ascii")
    return header + bytes(64).ljust(2880, b"\0")


def pillow_file(image_format: str, size=(8, 8), **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(buf, format=image_format, **options)
    return buf.getvalue()


def png(size=(16, 16), colour=(20, 120, 220)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def png_with_html_in_text_chunk() -> bytes:
    data = png()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + _png_chunk(b"tEXt", b"Comment\0" + SCRIPT) + data[iend:]


SVG_NS = b'xmlns="http://www.w3.org/2000/svg"'


def svg_billion_laughs() -> bytes:
    """Nine levels of entities, each ten of the one below: 10**9 "lol"s for a parser that expands them."""
    entities = [b'<!ENTITY lol0 "lol">']
    entities += [b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1)) * 10) for level in range(1, 10)]
    return (
        b'<?xml version="1.0"?><!DOCTYPE svg ['
        + b"".join(entities)
        + b"]><svg "
        + SVG_NS
        + b"><text>&lol9;</text></svg>"
    )


SVGS = {
    "svg-script": b"<svg " + SVG_NS + b"><script>alert(1)</script></svg>",
    "svg-onload": b"<svg " + SVG_NS + b' onload="alert(1)" width="8" height="8"><rect width="8" height="8"/></svg>',
    "svg-foreign-object": b"<svg " + SVG_NS + b'><foreignObject width="100" height="100">'
    b'<body xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></body></foreignObject></svg>',
    "svg-external-entity": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<svg " + SVG_NS + b"><text>&xxe;</text></svg>",
    "svg-billion-laughs": svg_billion_laughs(),
}

# (upload name, bytes, the service's error code, what the designer reads in the form error)
REFUSED_IMAGES = [
    pytest.param("bomb.png", png_declaring(50_000, 50_000), "image_too_large", "decompression bomb", id="png-bomb"),
    pytest.param("huge.psd", psd_declaring(30_000, 30_000), "image_too_large", "decompression bomb", id="psd-huge"),
    pytest.param("photo.tiff", pillow_file("TIFF"), "image_format", "TIFF is not allowed", id="tiff"),
    pytest.param("logo.eps", pillow_file("EPS"), "image_format", "EPS is not allowed", id="eps"),
    pytest.param("sky.fits", fits_image(), "image_format", "FITS is not allowed", id="fits"),
    pytest.param("flyer.pdf", pillow_file("PDF"), "image_unreadable", "unknown or damaged format", id="pdf"),
    *(
        pytest.param(f"{name}.svg", data, "image_unreadable", "unknown or damaged format", id=name)
        for name, data in SVGS.items()
    ),
]


@pytest.fixture
def xml_parsers_called(monkeypatch) -> list[str]:
    """Every standard-library XML parser, replaced by a recorder: an upload must never reach one."""
    import xml.dom.minidom
    import xml.etree.ElementTree
    import xml.parsers.expat
    import xml.sax

    calls = []
    for module, name in [
        (xml.parsers.expat, "ParserCreate"),
        (xml.etree.ElementTree, "XMLParser"),
        (xml.etree.ElementTree, "fromstring"),
        (xml.etree.ElementTree, "parse"),
        (xml.dom.minidom, "parseString"),
        (xml.sax, "make_parser"),
        (xml.sax, "parseString"),
    ]:
        monkeypatch.setattr(module, name, lambda *a, _n=f"{module.__name__}.{name}", **k: calls.append(_n))
    return calls


# --- images through the service and the admin ------------------------------------------------------


@pytest.mark.parametrize("filename, data, code, _message", REFUSED_IMAGES)
def test_hostile_image_is_refused_by_the_service_and_nothing_is_stored(
    filename, data, code, _message, media, xml_parsers_called
):
    started = time.monotonic()

    with pytest.raises(UploadRejected) as excinfo:
        asset_create(name=filename, kind=Asset.Kind.DECORATION, data=data)

    assert excinfo.value.code == code
    assert excinfo.value.status_code == 400
    assert time.monotonic() - started < 2  # refused from the header: nothing was decoded or expanded
    assert xml_parsers_called == []
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


@pytest.mark.parametrize("filename, data, _code, message", REFUSED_IMAGES)
def test_hostile_image_uploaded_in_the_admin_is_a_form_error_and_nothing_is_stored(
    client, designer, filename, data, _code, message, media, xml_parsers_called
):
    client.force_login(designer)

    response = client.post(
        ASSET_ADD, {"name": filename, "kind": "decoration", "file": SimpleUploadedFile(filename, data)}
    )

    assert response.status_code == 200  # the form again, with the error
    assert message in response.content.decode()
    assert 'class="errorlist' in response.content.decode()
    assert xml_parsers_called == []
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


# --- polyglots: accepted, but only a re-encoded copy is stored --------------------------------------


@pytest.mark.parametrize(
    "data", [pytest.param(png() + SCRIPT, id="html-appended"), pytest.param(png_with_html_in_text_chunk(), id="tEXt")]
)
def test_png_html_polyglot_is_stored_re_encoded_without_the_html(data, media):
    asset = asset_create(name="Polyglot", kind=Asset.Kind.DECORATION, data=data)

    with default_storage.open(asset.file.name, "rb") as fh:
        stored = fh.read()
    assert b"<script" not in stored and b"<html" not in stored
    assert asset.file.name.endswith(".png")
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(png())).tobytes()  # same pixels


@pytest.mark.urls(__name__)
def test_a_png_named_evil_html_is_stored_as_png_and_served_as_an_image_with_nosniff(client, designer, media):
    client.force_login(designer)
    upload = SimpleUploadedFile("evil.html", png() + SCRIPT, content_type="text/html")

    response = client.post(ASSET_ADD, {"name": "Evil", "kind": "decoration", "file": upload})

    assert response.status_code == 302
    asset = Asset.objects.get()
    assert asset.file.name.startswith("assets/") and asset.file.name.endswith(".png")
    assert "evil" not in asset.file.name
    assert [p.suffix for p in stored_files(media)] == [".png"]
    served = client.get(asset.file.url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    body = b"".join(served.streaming_content)
    assert b"<script" not in body and b"<html" not in body


def test_jpeg_assets_stay_jpeg_and_lose_their_metadata(media):
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"  # ImageDescription
    data = pillow_file("JPEG", size=(32, 24), exif=exif.tobytes())

    asset = asset_create(name="Photo", kind=Asset.Kind.BACKGROUND, data=data)

    with default_storage.open(asset.file.name, "rb") as fh:
        stored = fh.read()
    assert asset.file.name.endswith(".jpg") and (asset.width, asset.height) == (32, 24)
    assert Image.open(io.BytesIO(stored)).format == "JPEG"
    assert b"<script" not in stored


# --- products' images: re-encoded like assets, and every image stored once per re-encoded content -------------


def _stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


@pytest.mark.parametrize(
    "data", [pytest.param(png() + SCRIPT, id="html-appended"), pytest.param(png_with_html_in_text_chunk(), id="tEXt")]
)
def test_a_product_image_with_script_is_stored_re_encoded_without_it(data, media):
    """A product's main image is stored from its pixels, as assets are: the script riding along is gone."""
    product = product_upsert(sku="P-1", title="Jacket", price=Decimal("9"), image_data=data)

    stored = _stored_bytes(product.main_image.name)
    assert b"<script" not in stored and b"<html" not in stored
    assert product.main_image.name.startswith("products/") and product.main_image.name.endswith(".png")
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(png())).tobytes()  # same pixels


def test_a_product_jpeg_stays_jpeg_and_loses_its_metadata(media):
    """A JPEG main image is re-encoded as a JPEG, without the EXIF text it came with."""
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"  # ImageDescription
    data = pillow_file("JPEG", size=(32, 24), exif=exif.tobytes())

    product = product_upsert(sku="P-1", title="Jacket", price=Decimal("9"), image_data=data)

    stored = _stored_bytes(product.main_image.name)
    assert product.main_image.name.endswith(".jpg") and Image.open(io.BytesIO(stored)).format == "JPEG"
    assert b"<script" not in stored


def _same_pixels_five_ways() -> list[bytes]:
    """Five different uploads of one image: as is, with script appended, with a text chunk, with junk appended."""
    return [png(), png() + SCRIPT, png_with_html_in_text_chunk(), png() + b"\0" * 7, png() + b"trailing bytes"]


def test_the_same_pixels_uploaded_five_ways_are_one_asset_and_one_file(media):
    """Assets are deduplicated by what is stored (the re-encoded image), not by the bytes as sent."""
    uploads = _same_pixels_five_ways()
    assert len(set(uploads)) == 5

    assets = [asset_create(name=f"Burst {i}", kind=Asset.Kind.DECORATION, data=data) for i, data in enumerate(uploads)]

    assert Asset.objects.count() == 1 and {a.pk for a in assets} == {assets[0].pk}
    assert [p.relative_to(media).as_posix() for p in stored_files(media)] == [assets[0].file.name]


def test_products_whose_images_have_the_same_pixels_share_one_stored_file(media):
    """Product images are stored once per re-encoded content, whatever rode along with the pixels."""
    for i, data in enumerate(_same_pixels_five_ways()):
        product_upsert(sku=f"P-{i}", title="Jacket", price=Decimal("9"), image_data=data)

    names = set(Product.objects.values_list("main_image", flat=True))
    assert len(names) == 1
    assert [p.relative_to(media).as_posix() for p in stored_files(media)] == list(names)


# --- what the app serves ------------------------------------------------------------------------------


def test_signed_renders_are_served_as_jpeg_with_nosniff(client, designer, media):
    import json
    from decimal import Decimal
    from pathlib import Path

    from campaigns.services import product_upsert, render_token_make
    from templates_app.services import template_create

    spec = json.loads((Path(settings.BASE_DIR) / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_create(name="Hero", spec=spec, owner=designer)
    photo = io.BytesIO()
    product_photo((200, 30, 40), size=200).image.save(photo, format="JPEG")  # a product on its backdrop
    product_upsert(sku="SKU-1", title="Coat", price=Decimal("9"), image_data=photo.getvalue())
    token = render_token_make(version=template.current_version, size=(300, 250), product_skus=["SKU-1"], copy={})

    rendered = client.get(f"/r/{token}.jpg")
    forged = client.get("/r/forged.jpg")

    assert rendered.status_code == 200
    assert rendered["Content-Type"] == "image/jpeg"
    assert rendered["X-Content-Type-Options"] == "nosniff"
    assert forged.status_code == 403
    assert forged["Content-Type"] == "application/json"
    assert forged["X-Content-Type-Options"] == "nosniff"


# --- fonts ------------------------------------------------------------------------------------------------


def test_random_bytes_named_ttf_are_refused_by_the_service_and_nothing_is_stored(media):
    with pytest.raises(UploadRejected) as excinfo:
        font_register(family="Brand", data=os.urandom(8192), filename="brand.ttf")

    assert excinfo.value.code == "font_unreadable"
    assert Font.objects.count() == 0
    assert stored_files(media) == []


def test_random_bytes_named_ttf_uploaded_in_the_admin_are_a_form_error(client, designer, media):
    client.force_login(designer)
    upload = SimpleUploadedFile("brand.ttf", os.urandom(8192))

    response = client.post(
        FONT_ADD, {"family": "Brand", "weight": 400, "style": "normal", "face_index": 0, "file": upload}
    )

    assert response.status_code == 200
    assert "is not a usable font" in response.content.decode()
    assert Font.objects.count() == 0
    assert stored_files(media) == []


def test_a_font_is_stored_under_the_extension_of_what_it_is_not_its_upload_name(media):
    face = discover_fonts().cjk_face()
    misleading = "brand.otf" if face.path.suffix.lower() != ".otf" else "brand.ttf"

    font = font_register(family="Brand CJK", data=face.path.read_bytes(), filename=misleading, face_index=face.index)

    assert font.file.name.startswith("fonts/") and "brand" not in font.file.name
    assert font.file.name.endswith(face.path.suffix.lower())


# --- names a million characters long --------------------------------------------------------------------

MILLION = "x" * 1_000_001


def test_a_million_character_template_name_is_a_form_error(client, designer):
    client.force_login(designer)

    response = client.post("/admin/templates_app/template/add/", {"name": MILLION, "spec": "{}", "note": ""})

    assert response.status_code == 200
    assert "Ensure this value has at most 120 characters" in response.content.decode()
    assert Template.objects.count() == 0


def test_a_million_character_asset_name_is_a_form_error_and_nothing_is_stored(client, designer, media):
    client.force_login(designer)

    response = client.post(
        ASSET_ADD, {"name": MILLION, "kind": "decoration", "file": SimpleUploadedFile("a.png", png())}
    )

    assert response.status_code == 200
    assert "Ensure this value has at most 160 characters" in response.content.decode()
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


def test_a_million_character_asset_name_is_refused_by_the_service_before_any_file_is_written(media):
    with pytest.raises(UploadRejected) as excinfo:
        asset_create(name=MILLION, kind=Asset.Kind.DECORATION, data=png())

    assert excinfo.value.code == "invalid_fields"
    assert "name" in excinfo.value.extra["fields"]
    assert len(excinfo.value.message) < 1000
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


def test_a_million_character_font_family_is_refused_by_the_service_before_any_file_is_written(media):
    face = discover_fonts().cjk_face()

    with pytest.raises(UploadRejected) as excinfo:
        font_register(family=MILLION, data=face.path.read_bytes(), filename=face.path.name, face_index=face.index)

    assert excinfo.value.code == "invalid_fields"
    assert Font.objects.count() == 0
    assert stored_files(media) == []
