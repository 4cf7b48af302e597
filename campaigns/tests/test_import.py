"""Bulk product import (CSV + zip, JSON): good rows in, bad rows reported, nothing half-written."""

import base64
import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from campaigns.importing import ImportRejected, products_import
from campaigns.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _jpeg(colour="red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 80), colour).save(buf, format="JPEG")
    return buf.getvalue()


def _bomb_png(side: int = 50_000) -> bytes:
    """A tiny PNG declaring side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _stored_files(media):
    return sorted(p.name for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_good_rows_are_imported_and_bad_rows_reported(media):
    csv_data = (
        "sku,title,price,image,category,highlights\n"
        "GOOD-1,羽绒服,599,good1.jpg,outerwear,90% 白鹅绒|-20°C 保暖\n"
        "DUP-1,a,1,good1.jpg,,\n"
        "GOOD-2,保温杯,129.00,imgs/good2.jpg,home,\n"
        "DUP-1,b,2,good1.jpg,,\n"
        "BROKEN,c,3,broken.jpg,,\n"
        "BOMB,d,4,bomb.png,,\n"
        "PRICE,e,abc,good1.jpg,,\n"
        "MISSING,f,5,nowhere.jpg,,\n"
        "bad sku!,g,6,good1.jpg,,\n"
    ).encode()
    images = _zip({"good1.jpg": _jpeg(), "imgs/good2.jpg": _jpeg("blue"), "broken.jpg": b"\xff\xd8 not really",
                   "bomb.png": _bomb_png()})  # fmt: skip

    report = products_import(csv_data=csv_data, images_zip=images)

    assert (report.created, report.updated) == (2, 0)
    assert Product.objects.get(sku="GOOD-1").highlights == ["90% 白鹅绒", "-20°C 保暖"]
    problems = {(e.row, e.sku, e.field) for e in report.errors}
    assert problems == {
        (2, "DUP-1", "sku"), (4, "DUP-1", "sku"), (5, "BROKEN", "image"), (6, "BOMB", "image"),
        (7, "PRICE", "price"), (8, "MISSING", "image"), (9, "bad sku!", "sku"),
    }  # fmt: skip
    bomb = next(e for e in report.errors if e.sku == "BOMB")
    assert "decompression bomb" in bomb.message
    assert set(Product.objects.values_list("sku", flat=True)) == {"GOOD-1", "GOOD-2"}
    assert len(_stored_files(media)) == 2  # only the imported products' images: nothing half-written


def test_reimporting_updates_instead_of_duplicating():
    csv_data = b"sku,title,price,image\nA-1,first,10,a.jpg\n"
    products_import(csv_data=csv_data, images_zip=_zip({"a.jpg": _jpeg()}))
    report = products_import(csv_data=csv_data.replace(b"first", b"second"), images_zip=_zip({"a.jpg": _jpeg()}))
    assert (report.created, report.updated) == (0, 1) and Product.objects.get().title == "second"


def test_missing_columns_import_nothing(media):
    with pytest.raises(ImportRejected) as exc:
        products_import(csv_data=b"sku,name\nA,b\n", images_zip=_zip({"a.jpg": _jpeg()}))
    assert exc.value.extra["missing"] == ["title", "price", "image"]
    assert Product.objects.count() == 0 and _stored_files(media) == []


def test_zip_entries_that_leave_the_archive_are_never_read(media):
    images = _zip({"../../etc/evil.jpg": _jpeg(), "/abs.jpg": _jpeg(), "ok.jpg": _jpeg()})
    csv_data = b"sku,title,price,image\nA,a,1,../../etc/evil.jpg\nB,b,1,/abs.jpg\nC,c,1,ok.jpg\n"
    report = products_import(csv_data=csv_data, images_zip=images)
    assert report.created == 1 and [e.sku for e in report.errors] == ["A", "B"]


def test_not_a_zip_or_not_utf8_is_refused_whole():
    with pytest.raises(ImportRejected, match="not a zip"):
        products_import(csv_data=b"sku,title,price,image\n", images_zip=b"PK no zip")
    with pytest.raises(ImportRejected, match="not UTF-8"):
        products_import(csv_data="sku,title,price,image\nA,\u00e9,1,a\n".encode("latin-1"))


def test_bulk_json_api(client, operator, designer):
    good = {
        "sku": "J-1",
        "title": "t",
        "price": "9.9",
        "image": base64.b64encode(_jpeg()).decode(),
        "highlights": ["x"],
    }
    bad = {"sku": "J-2", "title": "t", "price": "9.9", "image": "%%%"}
    client.force_login(designer)
    assert client.post("/api/v1/products/bulk/", {"products": [good]}, "application/json").status_code == 403
    client.force_login(operator)

    response = client.post("/api/v1/products/bulk/", {"products": [good, bad]}, "application/json")

    assert response.status_code == 200
    body = response.json()
    assert (
        body["created"] == 1
        and body["errors"] == [{"row": 2, "sku": "J-2", "field": "image", "message": "'1' is not in the images."}]
        or body["errors"][0]["sku"] == "J-2"
    )
    only_bad = client.post("/api/v1/products/bulk/", {"products": [bad]}, "application/json")
    assert only_bad.status_code == 400
    too_many = client.post("/api/v1/products/bulk/", {"products": [good] * 1001}, "application/json")
    assert too_many.status_code == 400 and Product.objects.count() == 1


def test_operator_imports_through_the_admin_and_sees_the_report(client, operator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(operator)
    assert "Import products" in client.get("/admin/campaigns/product/").content.decode()
    response = client.post(
        "/admin/campaigns/product/import/",
        {
            "csv_file": SimpleUploadedFile("p.csv", b"sku,title,price,image\nA-1,t,1,a.jpg\nA-2,t,x,a.jpg\n"),
            "images_zip": SimpleUploadedFile("i.zip", _zip({"a.jpg": _jpeg()})),
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and "1 created, 0 updated, 1 refused" in html and "Not a price" in html
