"""A product's further photos (lifestyle scenes, details) through the API and the admin: checked, stored
re-encoded and content-addressed, and a broken upload changes nothing."""

import base64
import io

import pytest
from PIL import Image

from campaigns.models import Product, ProductImage
from synthesis.samples import product_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _jpeg(colour=(178, 34, 52), size=400) -> bytes:
    buf = io.BytesIO()
    product_photo(colour, size=size).image.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_api_sets_and_lists_a_products_further_photos(client, operator):
    client.force_login(operator)
    body = {
        "sku": "YX-1", "title": "羽绒服", "price": "699.00", "image": _b64(_jpeg()), "height_cm": 72.5,
        "set_images": [
            {"kind": "scene", "image": _b64(_jpeg((31, 58, 110)))},
            {"kind": "detail", "image": _b64(_jpeg((40, 40, 40)))},
        ],
    }  # fmt: skip
    created = client.post("/api/v1/products/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert [i["kind"] for i in created.json()["images"]] == ["detail", "scene"]
    product = Product.objects.get(sku="YX-1")
    assert product.height_cm == 72.5  # drawn to scale beside other products of known height
    for image in product.images.all():
        assert image.file.name.startswith("products/")
        with image.file.open("rb") as fh:
            assert Image.open(fh).format in ("JPEG", "PNG")  # stored re-encoded

    kept = client.patch("/api/v1/products/YX-1/", {"title": "新名"}, content_type="application/json")
    assert kept.status_code == 200 and len(kept.json()["images"]) == 2  # omitted: kept
    cleared = client.patch("/api/v1/products/YX-1/", {"set_images": []}, content_type="application/json")
    assert cleared.status_code == 200 and cleared.json()["images"] == []


def test_a_broken_further_photo_is_refused_and_nothing_changes(client, operator):
    """What must hold: the product, its main image and its earlier photos are exactly as before."""
    client.force_login(operator)
    client.post(
        "/api/v1/products/",
        {"sku": "YX-2", "title": "杯子", "price": "99.00", "image": _b64(_jpeg()),
         "set_images": [{"kind": "scene", "image": _b64(_jpeg((31, 58, 110)))}]},
        content_type="application/json",
    )  # fmt: skip
    before = list(ProductImage.objects.values_list("kind", "file"))
    product = Product.objects.get(sku="YX-2")

    refused = client.patch(
        "/api/v1/products/YX-2/",
        {"title": "改名", "set_images": [{"kind": "scene", "image": _b64(b"\x89PNG\r\n\x1a\n broken")}]},
        content_type="application/json",
    )

    assert refused.status_code == 400
    assert "image" in refused.content.decode()
    assert list(ProductImage.objects.values_list("kind", "file")) == before
    product.refresh_from_db()
    assert product.title == "杯子"


def test_the_admin_stores_uploads_through_the_products_service(client, operator):
    """An admin upload is re-encoded like an API one; a broken main image is a form error, nothing stored."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(operator)
    form = {
        "sku": "YX-3", "title": "包", "price": "299", "currency": "CNY", "category": "", "highlights": "[]",
        "short_title": "", "badge": "",
        "main_image": SimpleUploadedFile("bag.jpg", _jpeg(), content_type="image/jpeg"),
        "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "8",
        "images-0-kind": "scene", "images-0-position": "0",
        "images-0-file": SimpleUploadedFile("scene.png", _jpeg((31, 58, 110)), content_type="image/jpeg"),
    }  # fmt: skip
    response = client.post("/admin/campaigns/product/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(sku="YX-3")
    assert product.main_image.name.startswith("products/") and len(product.main_image.name) > 60  # content-addressed
    (scene,) = product.images.all()
    assert scene.kind == "scene" and scene.file.name.startswith("products/")

    broken = {
        **form,
        "sku": "YX-4",
        "main_image": SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg"),
    }
    broken["images-0-file"] = SimpleUploadedFile("s.png", _jpeg(), content_type="image/jpeg")
    page = client.post("/admin/campaigns/product/add/", broken)
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Product.objects.filter(sku="YX-4").exists()
    assert ProductImage.objects.count() == 1
