"""Bulk product import (a CSV and a zip, or JSON): good rows in, each bad row reported, nothing half-written."""

import base64
import io
import json
import struct
import zipfile
import zlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from PIL import Image

from campaigns.errors import ImportRejected
from campaigns.models import Product
from campaigns.services import importing, products_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
BULK = "/api/v1/products/bulk/"


def _jpeg(colour="red", size=(80, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


def _as_stored(data: bytes) -> bytes:
    """What storage holds for an uploaded image: its pixels re-encoded, as for assets (never the bytes as sent)."""
    from synthesis.images import load_image
    from templates_app.services import image_file_reencoded

    return image_file_reencoded(load_image(data), source_extension="jpg")[0]


def _bomb_png(side: int = 50_000) -> bytes:
    """A PNG of a few dozen bytes whose header declares side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _csv(*rows: str, header: str = "sku,title,price,image,category,highlights") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _stored_files(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []


def _problems(report) -> set[tuple]:
    return {(e["row"], e["sku"], e["field"]) for e in report.errors}


# --- the CSV and its zip --------------------------------------------------------------------------------


def test_good_rows_are_imported_with_their_images_in_storage(operator):
    red, blue = _jpeg("red"), _jpeg("blue")
    csv_data = _csv(
        "COAT-1,羽绒服,599,coat.jpg,outerwear,90% 白鹅绒|-20°C 保暖", "CUP-1,保温杯,129.50,imgs/cup.jpg,home,"
    )

    report = products_import(csv_data, _zip({"coat.jpg": red, "imgs/cup.jpg": blue}), user=operator)

    assert (report.created, report.updated, report.errors) == (2, 0, [])
    coat, cup = Product.objects.get(sku="COAT-1"), Product.objects.get(sku="CUP-1")
    assert (coat.title, coat.price, coat.category) == ("羽绒服", Decimal("599"), "outerwear")
    assert coat.highlights == ["90% 白鹅绒", "-20°C 保暖"] and cup.highlights == []
    with default_storage.open(coat.main_image.name) as fh:
        assert fh.read() == _as_stored(red)
    with default_storage.open(cup.main_image.name) as fh:
        assert fh.read() == _as_stored(blue)


def test_missing_columns_are_named_and_nothing_is_imported(operator, media):
    with pytest.raises(ImportRejected) as refused:
        products_import(b"sku,name\nA-1,coat\n", _zip({"a.jpg": _jpeg()}), user=operator)

    assert refused.value.code == "csv_columns"
    assert refused.value.extra["missing"] == ["title", "price", "image"]
    assert "title, price, image" in refused.value.message
    assert Product.objects.count() == 0 and _stored_files(media) == []


def test_duplicate_skus_in_the_file_are_reported_and_neither_row_imported(operator):
    csv_data = _csv("DUP-1,a,1,a.jpg,,", "OK-1,b,2,a.jpg,,", "DUP-1,c,3,a.jpg,,")

    report = products_import(csv_data, _zip({"a.jpg": _jpeg()}), user=operator)

    assert _problems(report) == {(2, "DUP-1", "sku"), (4, "DUP-1", "sku")}  # lines in the file, header is line 1
    assert "2 times" in report.errors[0]["message"]
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]


@pytest.mark.parametrize("price", ["abc", "-1", "1.234", "", "NaN", "¥599", "12,5", "1e12"])
def test_a_bad_price_is_reported_for_its_row_and_the_good_rows_are_imported(operator, price):
    csv_data = _csv(f'BAD-1,a,"{price}",a.jpg,,', "OK-1,b,9.90,a.jpg,,")

    report = products_import(csv_data, _zip({"a.jpg": _jpeg()}), user=operator)

    assert _problems(report) == {(2, "BAD-1", "price")}
    assert report.created == 1 and list(Product.objects.values_list("sku", "price")) == [("OK-1", Decimal("9.90"))]


def test_every_bad_field_of_a_row_is_reported(operator):
    report = products_import(_csv(f"bad sku!,{'x' * 201},1,a.jpg,,"), _zip({"a.jpg": _jpeg()}), user=operator)

    assert _problems(report) == {(2, "bad sku!", "sku"), (2, "bad sku!", "title")}
    assert report.refused == 1 and Product.objects.count() == 0


def test_broken_images_are_reported_and_only_the_good_rows_files_are_stored(operator, media):
    good = _jpeg()
    images = {"good.jpg": good, "text.jpg": b"not an image", "cut.jpg": good[: len(good) // 2], "empty.jpg": b""}
    csv_data = _csv("OK-1,a,1,good.jpg,,", "TEXT,b,1,text.jpg,,", "CUT,c,1,cut.jpg,,", "EMPTY,d,1,empty.jpg,,")

    report = products_import(csv_data, _zip(images), user=operator)

    assert _problems(report) == {(3, "TEXT", "image"), (4, "CUT", "image"), (5, "EMPTY", "image")}
    assert report.created == 1 and list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
    assert _stored_files(media) == [Product.objects.get().main_image.name]


def test_a_decompression_bomb_is_reported_without_being_decoded(operator):
    report = products_import(_csv("BOMB,a,1,bomb.png,,"), _zip({"bomb.png": _bomb_png()}), user=operator)

    assert _problems(report) == {(2, "BOMB", "image")}
    assert "pixels" in report.errors[0]["message"] and Product.objects.count() == 0


def test_images_over_the_pixel_or_byte_limit_are_reported(operator, settings, monkeypatch):
    settings.CREATIVE_MAX_IMAGE_PIXELS = 100 * 100
    monkeypatch.setattr(importing, "IMAGE_MAX_BYTES", 50_000)
    images = {"wide.jpg": _jpeg(size=(200, 100)), "heavy.jpg": bytes(60_000), "ok.jpg": _jpeg()}

    report = products_import(
        _csv("WIDE,a,1,wide.jpg,,", "HEAVY,b,1,heavy.jpg,,", "OK-1,c,1,ok.jpg,,"), _zip(images), user=operator
    )

    messages = {e["sku"]: e["message"] for e in report.errors}
    assert "over the limit of 10,000" in messages["WIDE"]
    assert "'heavy.jpg' is 0.1 MB; at most" in messages["HEAVY"]
    assert report.created == 1 and _problems(report) == {(2, "WIDE", "image"), (3, "HEAVY", "image")}


def test_an_existing_sku_is_updated_not_duplicated(operator):
    products_import(_csv("A-1,first,10,a.jpg,,"), _zip({"a.jpg": _jpeg("red")}), user=operator)

    report = products_import(_csv("A-1,second,12,a.jpg,,"), _zip({"a.jpg": _jpeg("blue")}), user=operator)

    assert (report.created, report.updated) == (0, 1)
    product = Product.objects.get()
    assert (product.title, product.price) == ("second", Decimal("12"))
    with default_storage.open(product.main_image.name) as fh:
        assert fh.read() == _as_stored(_jpeg("blue"))


def test_an_empty_image_cell_keeps_an_existing_products_image_and_a_new_product_needs_one(operator):
    products_import(_csv("A-1,first,10,a.jpg,,"), _zip({"a.jpg": _jpeg()}), user=operator)
    stored = Product.objects.get().main_image.name

    report = products_import(_csv("A-1,cheaper,8,,,", "NEW-1,new,1,,,"), None, user=operator)

    assert report.updated == 1 and _problems(report) == {(3, "NEW-1", "image")}
    product = Product.objects.get()
    assert (product.title, product.main_image.name) == ("cheaper", stored)


def test_the_same_image_for_two_products_is_stored_once(operator, media):
    report = products_import(_csv("A-1,a,1,a.jpg,,", "B-1,b,1,a.jpg,,"), _zip({"a.jpg": _jpeg()}), user=operator)

    assert report.created == 2
    assert len(_stored_files(media)) == 1 and len(set(Product.objects.values_list("main_image", flat=True))) == 1


def test_a_row_whose_save_fails_leaves_neither_its_row_nor_its_file(operator, media, monkeypatch):
    real_save = Product.save

    def failing_save(self, *args, **kwargs):
        if self.sku == "RACE-1":
            raise IntegrityError("UNIQUE constraint failed: campaigns_product.sku")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Product, "save", failing_save)
    images = _zip({"a.jpg": _jpeg("red"), "b.jpg": _jpeg("blue")})

    report = products_import(_csv("RACE-1,a,1,a.jpg,,", "OK-1,b,1,b.jpg,,"), images, user=operator)

    assert _problems(report) == {(2, "RACE-1", "sku")} and report.created == 1
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
    assert _stored_files(media) == [Product.objects.get().main_image.name]  # the failed row's file was removed


def test_images_are_found_in_a_zipped_folder_and_regardless_of_case(operator):
    images = _zip({"photos/Coat.JPG": _jpeg(), "photos/cup.jpg": _jpeg("blue"), "__MACOSX/photos/._cup.jpg": b"x"})

    report = products_import(_csv("A-1,a,1,coat.jpg,,", "B-1,b,1,photos/cup.jpg,,"), images, user=operator)

    assert (report.created, report.errors) == (2, [])


def test_a_name_missing_from_the_zip_or_matching_two_files_is_reported(operator):
    images = _zip({"a/x.jpg": _jpeg(), "b/x.jpg": _jpeg("blue")})

    report = products_import(_csv("A-1,a,1,nowhere.jpg,,", "B-1,b,1,x.jpg,,"), images, user=operator)

    messages = {e["sku"]: e["message"] for e in report.errors}
    assert "not in the zip" in messages["A-1"] and "several files" in messages["B-1"]


def test_a_user_who_may_add_but_not_change_products_cannot_overwrite_one(operator, django_user_model):
    products_import(_csv("A-1,original,10,a.jpg,,"), _zip({"a.jpg": _jpeg()}), user=operator)
    adder = django_user_model.objects.create_user("adder", is_staff=True)
    adder.user_permissions.add(Permission.objects.get(codename="add_product"))

    csv_data = _csv("A-1,overwritten,1,a.jpg,,", "B-1,new,1,a.jpg,,")

    report = products_import(csv_data, _zip({"a.jpg": _jpeg()}), user=adder)

    assert report.created == 1 and _problems(report) == {(2, "A-1", "sku")}
    assert Product.objects.get(sku="A-1").title == "original"


# --- whole files refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../evil.jpg", "/abs.jpg", "C:\\evil.jpg", "ok/../../evil.jpg"])
def test_a_zip_with_names_leading_outside_it_is_refused_whole(operator, media, tmp_path, name):
    images = _zip({name: _jpeg(), "ok.jpg": _jpeg()})

    with pytest.raises(ImportRejected) as refused:
        products_import(_csv("A-1,a,1,ok.jpg,,"), images, user=operator)

    assert refused.value.code == "zip_unsafe_names" and refused.value.extra["names"] == [name]
    assert Product.objects.count() == 0 and _stored_files(media) == []
    assert not any(p.name == "evil.jpg" for p in tmp_path.parent.rglob("evil.jpg"))


def test_a_zip_listing_too_many_entries_is_refused_before_it_is_parsed(operator, monkeypatch):
    monkeypatch.setattr(importing, "ZIP_MAX_ENTRIES", 3)
    images = _zip({f"{i}.jpg": b"x" for i in range(4)})

    def parse(*args, **kwargs):
        raise AssertionError("the archive's directory was parsed")

    monkeypatch.setattr(importing.zipfile, "ZipFile", parse)

    with pytest.raises(ImportRejected) as refused:
        products_import(_csv("A-1,a,1,0.jpg,,"), images, user=operator)
    assert refused.value.code == "zip_too_many" and Product.objects.count() == 0


def test_a_zip_unpacking_past_the_total_limit_is_refused(operator, monkeypatch):
    monkeypatch.setattr(importing, "ZIP_MAX_TOTAL", 1024 * 1024)
    images = _zip({"a.jpg": _jpeg(), "zeros.bin": bytes(2 * 1024 * 1024)})  # 2 MB of zeros: a few KB zipped

    with pytest.raises(ImportRejected) as refused:
        products_import(_csv("A-1,a,1,a.jpg,,"), images, user=operator)
    assert refused.value.code == "zip_too_large" and Product.objects.count() == 0


def test_an_entry_whose_header_understates_its_size_is_never_inflated_past_it(operator):
    data = bytearray(_zip({"bomb.jpg": bytes(5 * 1024 * 1024)}))
    directory = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, directory + 24, 100)  # the central directory now says 100 bytes

    report = products_import(_csv("BOMB,a,1,bomb.jpg,,"), bytes(data), user=operator)

    assert _problems(report) == {(2, "BOMB", "image")} and "damaged" in report.errors[0]["message"]


def test_a_file_that_is_not_a_zip_or_a_csv_not_in_utf8_is_refused_whole(operator):
    with pytest.raises(ImportRejected, match="not a zip"):
        products_import(_csv("A-1,a,1,a.jpg,,"), b"PK but not a zip", user=operator)
    with pytest.raises(ImportRejected, match="not UTF-8"):
        products_import("sku,title,price,image\nA,\u00e9,1,a\n".encode("gbk"), user=operator)


def test_a_csv_over_the_row_limit_is_refused_whole(operator, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)

    csv_data = _csv("A,a,1,a.jpg,,", "B,b,1,a.jpg,,", "C,c,1,a.jpg,,")

    with pytest.raises(ImportRejected) as refused:
        products_import(csv_data, _zip({"a.jpg": _jpeg()}), user=operator)
    assert refused.value.code == "too_many_rows" and Product.objects.count() == 0


# --- the JSON API ---------------------------------------------------------------------------------------


def _item(sku, colour="red", **extra):
    return {"sku": sku, "title": "t", "price": "9.90", "image": base64.b64encode(_jpeg(colour)).decode(), **extra}


def test_bulk_api_imports_the_good_items_and_reports_each_bad_one(client, operator):
    client.force_login(operator)
    items = [
        _item("J-1", highlights=["轻薄"]),
        _item("J-2", image="%%%"),
        _item("J-3", price="free"),
        _item("J-4", image="https://example.com/a.jpg"),
        _item("J-5", highlights="not a list"),
        _item("J-6", highlights=["x" * 41]),
        "not an object",
    ]

    response = client.post(BULK, {"products": items}, "application/json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"]) == (1, 0)
    assert {(e["row"], e["sku"], e["field"]) for e in body["errors"]} == {
        (1, "J-2", "image"), (2, "J-3", "price"), (3, "J-4", "image"), (4, "J-5", "highlights"),
        (5, "J-6", "highlights"), (6, "", ""),
    }  # fmt: skip
    assert "URLs are not fetched" in body["errors"][2]["message"]
    product = Product.objects.get()
    assert (product.sku, product.highlights) == ("J-1", ["轻薄"])
    with default_storage.open(product.main_image.name) as fh:
        assert fh.read() == _as_stored(_jpeg())


def test_text_a_database_cannot_store_is_reported_for_its_row_never_a_server_error(client, operator):
    # Must hold: a NUL (PostgreSQL refuses it in text) or a lone surrogate (no encoding takes it) in any text
    # of an item is that item's error, as the single-product API gives it; the good items are imported.
    client.force_login(operator)
    items = [
        _item("N-1"),
        _item("N-2", title="a\x00b"),
        _item("N-3", title="a\ud800b"),
        _item("N-4\x00"),
        _item("N-5", highlights=["ok", "x\x00"]),
        _item("N-6", category="\udfff"),
    ]
    body = json.dumps({"products": items}).encode()  # lone surrogates as JSON escapes, as a client sends them

    response = client.post(BULK, body, "application/json")

    assert response.status_code == 200
    errors = {(e["row"], e["field"]): e["message"] for e in response.json()["errors"]}
    assert set(errors) == {(1, "title"), (2, "title"), (3, "sku"), (4, "highlights"), (5, "category")}
    assert errors[(1, "title")] == "Null characters are not allowed."
    assert errors[(2, "title")] == "Surrogate characters are not allowed: U+D800."
    assert list(Product.objects.values_list("sku", flat=True)) == ["N-1"]


def test_a_currency_is_a_three_letter_code(client, operator):
    # Must hold: "usd" is taken as USD, "<s>" or "dollars" is that item's error; the good items are imported.
    client.force_login(operator)
    items = [_item("C-1", currency="usd"), _item("C-2", currency="<s>"), _item("C-3", currency="dollars")]

    response = client.post(BULK, {"products": items}, "application/json")

    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {(1, "currency"), (2, "currency")}
    assert list(Product.objects.values_list("sku", "currency")) == [("C-1", "USD")]


def test_a_csv_row_with_a_null_character_is_reported_and_the_others_imported(operator):
    report = products_import(_csv("Z-1,fine,1,a.jpg", "Z-2,t\x00x,1,a.jpg"), _zip({"a.jpg": _jpeg()}), user=operator)

    assert (report.created, _problems(report)) == (1, {(3, "Z-2", "title")})
    assert list(Product.objects.values_list("sku", flat=True)) == ["Z-1"]


def test_bulk_api_answers_400_with_the_report_when_nothing_is_imported(client, operator):
    client.force_login(operator)

    response = client.post(BULK, {"products": [_item("J-1", image="%%%")]}, "application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "nothing_imported" and (body["created"], body["updated"]) == (0, 0)
    assert body["errors"] == [{"row": 0, "sku": "J-1", "field": "image", "message": "Not valid base64."}]


def test_bulk_api_refuses_more_than_1000_items_with_413(client, operator):
    client.force_login(operator)
    item = {"sku": "J-1", "title": "t", "price": "1"}

    response = client.post(BULK, {"products": [item] * 1001}, "application/json")

    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert Product.objects.count() == 0


def test_bulk_api_takes_a_bare_list_without_a_trailing_slash(client, operator):
    client.force_login(operator)

    response = client.post(BULK.rstrip("/"), [_item("J-1")], "application/json")

    assert response.status_code == 200 and response.json()["created"] == 1


def test_bulk_api_item_without_an_image_updates_a_product_and_keeps_its_image(client, operator):
    client.force_login(operator)
    client.post(BULK, {"products": [_item("J-1")]}, "application/json")
    stored = Product.objects.get().main_image.name
    update = {"sku": "J-1", "title": "new title", "price": 5}

    response = client.post(BULK, {"products": [update]}, "application/json")

    assert response.status_code == 200 and response.json()["updated"] == 1
    product = Product.objects.get()
    assert (product.title, product.price, product.main_image.name) == ("new title", Decimal("5"), stored)


@pytest.mark.parametrize(
    "role_user, status", [("operator", 200), ("designer", 403), ("analyst", 403), ("anonymous", 401)],
    indirect=["role_user"],
)  # fmt: skip
def test_bulk_api_is_for_users_who_may_add_products(client, role_user, status):
    if role_user:
        client.force_login(role_user)

    response = client.post(BULK, {"products": [_item("J-1")]}, "application/json")

    assert response.status_code == status
    assert Product.objects.count() == (1 if status == 200 else 0)


# --- the admin page ---------------------------------------------------------------------------------------


def test_operator_imports_through_the_admin_and_sees_the_report(client, operator):
    client.force_login(operator)
    assert "Import products" in client.get("/admin/campaigns/product/").content.decode()

    response = client.post(
        "/admin/campaigns/product/import/",
        {
            "csv_file": SimpleUploadedFile("p.csv", _csv("A-1,t,1,a.jpg,,", "A-2,t,x,a.jpg,,")),
            "images_zip": SimpleUploadedFile("i.zip", _zip({"a.jpg": _jpeg()})),
        },
    )

    html = response.content.decode()
    assert response.status_code == 200 and "1 created, 0 updated, 1 refused" in html and "Not a price" in html
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1"]


def test_the_admin_page_shows_a_refused_file_as_an_error(client, operator):
    client.force_login(operator)

    response = client.post(
        "/admin/campaigns/product/import/", {"csv_file": SimpleUploadedFile("p.csv", b"sku,name\nA,b\n")}
    )

    assert response.status_code == 200 and "lacks the column(s) title, price, image" in response.content.decode()


@pytest.mark.parametrize("role_user", ["designer", "analyst"], indirect=True)
def test_other_roles_cannot_open_the_import_page(client, role_user):
    client.force_login(role_user)

    assert client.get("/admin/campaigns/product/import/").status_code == 403


# --- further photos (scenes, details) ---------------------------------------------------------------------


def test_scene_and_detail_photos_are_imported_with_their_product(operator):
    csv_data = _csv(
        "MUG-1,马克杯,59,mug.jpg,home,,table.jpg|kitchen.jpg,handle.jpg",
        header="sku,title,price,image,category,highlights,scene_images,detail_images",
    )
    archive = _zip(
        {
            "mug.jpg": _jpeg("red"),
            "table.jpg": _jpeg("blue"),
            "kitchen.jpg": _jpeg("green"),
            "handle.jpg": _jpeg("white"),
        }
    )

    report = products_import(csv_data, archive, user=operator)

    assert (report.created, report.errors) == (1, [])
    images = list(Product.objects.get(sku="MUG-1").images.all())
    assert [(i.kind, i.position) for i in images] == [("detail", 0), ("scene", 0), ("scene", 1)]
    with default_storage.open(images[1].file.name) as fh:
        assert fh.read() == _as_stored(_jpeg("blue"))


def test_a_broken_scene_photo_fails_its_row_and_keeps_nothing_of_it(operator, media):
    """What must hold: the row is reported, its product is not created, and the other rows land."""
    csv_data = _csv(
        "MUG-1,马克杯,59,mug.jpg,home,,broken.jpg", "CUP-1,保温杯,129,cup.jpg,home,,",
        header="sku,title,price,image,category,highlights,scene_images",
    )  # fmt: skip
    archive = _zip({"mug.jpg": _jpeg("red"), "cup.jpg": _jpeg("blue"), "broken.jpg": b"\xff\xd8\xff broken"})

    report = products_import(csv_data, archive, user=operator)

    assert report.created == 1 and {e["sku"] for e in report.errors} == {"MUG-1"}
    assert not Product.objects.filter(sku="MUG-1").exists()
    assert Product.objects.get(sku="CUP-1").images.count() == 0
