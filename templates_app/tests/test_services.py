"""Uploading fonts and assets: good files are stored once, bad ones leave nothing behind."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from synthesis.fonts import discover_fonts
from templates_app.errors import UploadRejected
from templates_app.models import Asset, Font
from templates_app.services import asset_create, font_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _png(size=(64, 64), colour="red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_cjk_font_is_registered_and_reports_cjk_coverage():
    face = discover_fonts().cjk_face()

    font = font_register(
        family="Noto Sans CJK SC", data=face.path.read_bytes(), filename=face.path.name, face_index=face.index
    )

    assert font.covers_cjk
    assert default_storage.exists(font.file.name)


def test_a_file_that_is_not_a_font_is_refused_and_nothing_is_stored(media):
    with pytest.raises(UploadRejected) as excinfo:
        font_register(family="Evil", data=b"MZ\x90\x00 definitely not a font", filename="evil.ttf")

    assert excinfo.value.code == "font_unreadable"
    assert Font.objects.count() == 0
    assert _stored_files(media) == []


def test_same_asset_uploaded_twice_is_stored_once():
    first = asset_create(name="Logo", kind=Asset.Kind.LOGO, data=_png())
    second = asset_create(name="Logo again", kind=Asset.Kind.LOGO, data=_png())

    assert first.pk == second.pk
    assert (first.width, first.height) == (64, 64)


def test_corrupt_image_asset_is_refused_and_nothing_is_stored(media):
    data = _png()[:40]

    with pytest.raises(UploadRejected) as excinfo:
        asset_create(name="Broken", kind=Asset.Kind.DECORATION, data=data)

    assert excinfo.value.code.startswith("image_")
    assert Asset.objects.count() == 0
    assert _stored_files(media) == []


def test_designer_upload_of_a_bad_asset_in_admin_shows_a_form_error(client, designer, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(designer)
    response = client.post(
        "/admin/templates_app/asset/add/",
        {"name": "Bad", "kind": "decoration", "file": SimpleUploadedFile("bad.png", b"\x89PNG\r\n\x1a\nnope")},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Not a readable image" in response.content.decode()
    assert Asset.objects.count() == 0


def test_designer_uploads_an_asset_in_admin(client, designer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(designer)
    response = client.post(
        "/admin/templates_app/asset/add/",
        {"name": "Burst", "kind": "decoration", "file": SimpleUploadedFile("burst.png", _png((120, 80)))},
    )

    assert response.status_code == 302
    asset = Asset.objects.get()
    assert (asset.width, asset.height, asset.uploaded_by) == (120, 80, designer)
