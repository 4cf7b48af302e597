"""PSD import: named layers become a template with relative geometry and assets; the rest is listed.

Every PSD here is built by code (psd_samples); bad files are refused with a clear message, before
psd-tools parses or composites anything where the header already tells, and leave nothing behind.
"""

import functools
import io
import struct

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from synthesis.spec import parse_template
from templates_app import services
from templates_app.errors import TemplateRejected, UploadRejected
from templates_app.models import Asset, Brand, Template
from templates_app.psd_import import PsdLimits, convention_role, psd_header, psd_template
from templates_app.services import asset_create, template_import_psd

from .psd_samples import (
    add_group,
    add_invert_adjustment,
    add_pixels,
    add_rect,
    add_solid_fill,
    add_text,
    gradient,
    logo_mark,
    new_psd,
    psd_bytes,
    sample_psd_bytes,
    star,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("media"),
    # psd-tools' compositor still passes Pillow's deprecated `mode` to Image.fromarray.
    pytest.mark.filterwarnings("ignore:'mode' parameter is deprecated:DeprecationWarning"),
]

LIMITS = PsdLimits(max_pixels=40_000_000, max_bytes=100 * 2**20, max_layers=200)
IMPORT_URL = "/admin/templates_app/template/import-psd/"


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@functools.lru_cache(maxsize=1)
def wide_layout() -> bytes:
    """600x300 (wide): every role of the convention, each where a test can check its fractions."""
    psd = new_psd((600, 300))
    add_pixels(psd, "bg", gradient((600, 300)))
    add_rect(psd, "shape-band", (0, 240, 600, 300), (200, 40, 40))
    add_rect(psd, "Product", (330, 30, 570, 270), (210, 210, 210))
    copy = add_group(psd, "Copy")
    add_text(copy, "title", "Winter sale", left=30, top=60, font_size=36, colour=(30, 30, 30), align="center")
    add_text(copy, "subtitle", "Goose down", left=30, top=120, font_size=18, colour=(30, 30, 30))
    add_text(copy, "PRICE", "¥599", left=30, top=170, font_size=30, colour=(250, 250, 250), align="right")
    add_text(copy, "badge", "-20%", left=240, top=30, font_size=16, colour=(30, 30, 30))
    add_pixels(psd, "logo", logo_mark((90, 30)), 30, 15)
    add_pixels(psd, "deco-star", star(40), 270, 200)
    return psd_bytes(psd)


def layers_by_id(spec: dict) -> dict:
    return {layer["id"]: layer for layer in spec["layers"]}


# --- mapping ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bg", ("background", "bg")),
        ("Background", ("background", "bg")),
        ("Product", ("product", "product-1")),
        ("product_3", ("product", "product-3")),
        ("Product 2", ("product", "product-2")),
        ("TITLE", ("title", "title")),
        ("deco-Star", ("decoration", "deco-star")),
        ("shape band", ("shape", "shape-band")),
        ("product-5", None),
        ("Layer 1", None),
        ("logo copy", None),
    ],
)
def test_layer_names_map_to_roles_case_and_separators_ignored(name, expected):
    assert convention_role(name) == expected


def test_named_layers_become_roles_with_boxes_relative_to_the_canvas_for_its_aspect_class():
    result = psd_template(wide_layout(), name="Wide", limits=LIMITS)

    layers = layers_by_id(result.spec)
    assert [layer["role"] for layer in result.spec["layers"]] == [
        "background", "shape", "product", "title", "subtitle", "price", "badge", "logo", "decoration",
    ]  # fmt: skip
    assert layers["product"]["boxes"] == {"wide": {"x": 0.55, "y": 0.1, "w": 0.4, "h": 0.8}}
    assert layers["shape-band"]["boxes"] == {"wide": {"x": 0.0, "y": 0.8, "w": 1.0, "h": 0.2}}
    assert layers["logo"]["boxes"] == {"wide": {"x": 0.05, "y": 0.05, "w": 0.15, "h": 0.1}}
    assert all("box" not in layer for layer in result.spec["layers"])  # other sizes keep the automatic layout
    assert result.spec["products"] == {"min": 1, "max": 1}
    parse_template(result.spec)  # a valid template


def test_text_layers_keep_their_size_alignment_and_colour_as_palette_roles():
    result = psd_template(wide_layout(), name="Wide", limits=LIMITS)

    layers = layers_by_id(result.spec)
    scale = (600 * 300) ** 0.5
    assert layers["title"]["text"]["size"][1] == pytest.approx(36 / scale, abs=1e-4)
    assert layers["title"]["text"]["size"][0] < layers["title"]["text"]["size"][1]
    assert layers["title"]["text"]["align"] == "center"
    assert layers["price"]["text"]["align"] == "right"
    assert layers["title"]["colour"] == "text"  # dark ink
    assert layers["price"]["colour"] == "on_primary"  # light ink
    assert result.spec["palette"]["text"] == "#1e1e1e"
    assert result.spec["palette"]["on_primary"] == "#fafafa"


def test_a_scaled_text_layer_is_measured_after_its_transform():
    psd = new_psd((400, 400))
    add_text(psd, "title", "Sale", left=40, top=40, font_size=20, scale=2.0)

    result = psd_template(psd_bytes(psd), name="Scaled", limits=LIMITS)

    assert layers_by_id(result.spec)["title"]["text"]["size"][1] == pytest.approx(40 / 400, abs=1e-4)


def test_text_in_a_brand_colour_takes_the_brand_role():
    psd = new_psd((400, 400))
    add_text(psd, "title", "Sale", left=40, top=40, font_size=30, colour=(182, 30, 40))
    add_text(psd, "subtitle", "Down", left=40, top=120, font_size=20, colour=(250, 250, 250))
    brand = {"primary": "#b41e28", "accent": "#f0b400", "text": "#222222"}

    result = psd_template(psd_bytes(psd), name="Brand", limits=LIMITS, brand_colours=brand)

    layers = layers_by_id(result.spec)
    assert layers["title"]["colour"] == "primary"
    assert layers["subtitle"]["colour"] == "on_primary"  # matches nothing in the brand: by luminance


def test_a_second_dark_colour_keeps_its_own_palette_role():
    psd = new_psd((400, 400))
    add_text(psd, "title", "Sale", left=40, top=40, font_size=30, colour=(30, 30, 30))
    add_text(psd, "price", "¥99", left=40, top=200, font_size=30, colour=(180, 30, 40))

    result = psd_template(psd_bytes(psd), name="Two inks", limits=LIMITS)

    assert layers_by_id(result.spec)["price"]["colour"] == "primary"
    assert result.spec["palette"] == {"text": "#1e1e1e", "primary": "#b41e28"}


def test_extra_product_placeholders_raise_products_max_and_share_one_zone():
    psd = new_psd((800, 400))
    add_rect(psd, "product", (400, 40, 560, 360), (200, 200, 200))
    add_rect(psd, "Product 2", (560, 40, 720, 200), (200, 200, 200))
    add_rect(psd, "product_3", (560, 200, 720, 360), (200, 200, 200))

    result = psd_template(psd_bytes(psd), name="Three", limits=LIMITS)

    products = [layer for layer in result.spec["layers"] if layer["role"] == "product"]
    assert len(products) == 1
    assert products[0]["boxes"] == {"wide": {"x": 0.5, "y": 0.1, "w": 0.4, "h": 0.8}}
    assert result.spec["products"] == {"min": 1, "max": 3}


def test_a_plain_background_becomes_a_colour_fill_and_a_picture_an_image_asset():
    plain, picture = new_psd((300, 300)), new_psd((300, 300))
    add_solid_fill(plain, "BG", (30, 60, 140), (300, 300))
    add_pixels(picture, "bg", gradient((300, 300)))

    from_fill = psd_template(psd_bytes(plain), name="Plain", limits=LIMITS)
    from_pixels = psd_template(psd_bytes(picture), name="Picture", limits=LIMITS)

    assert layers_by_id(from_fill.spec)["bg"]["fill"] == {"type": "colour", "colour": "background"}
    assert from_fill.spec["palette"]["background"] == "#1e3c8c"
    assert from_fill.assets == ()
    assert layers_by_id(from_pixels.spec)["bg"]["fill"] == {"type": "image", "asset": "Picture/bg"}
    (asset,) = from_pixels.assets
    assert asset.kind == "background"
    assert Image.open(io.BytesIO(asset.data)).size == (300, 300)


def test_what_cannot_be_mapped_is_listed_with_the_reason():
    psd = new_psd((400, 400))
    add_pixels(psd, "bg", gradient((400, 400)))
    add_invert_adjustment(psd, "Invert 1")
    hidden = add_group(psd, "old ideas", visible=False)
    add_rect(hidden, "logo", (10, 10, 60, 40), (0, 0, 0))
    add_rect(psd, "deco-hidden", (10, 10, 60, 40), (0, 0, 0), visible=False)
    add_text(psd, "Headline", "Hello", left=20, top=60, font_size=30)
    add_text(psd, "Layer 3", "¥199", left=20, top=200, font_size=30)
    add_text(psd, "title", "Sale", left=20, top=120, font_size=30)
    add_text(psd, "Title", "Again", left=20, top=300, font_size=30)
    add_pixels(psd, "Layer 9", star(30), 300, 300)

    result = psd_template(psd_bytes(psd), name="Messy", limits=LIMITS)

    reasons = {item.layer: item.reason for item in result.unmapped}
    assert reasons["Invert 1"].startswith("adjustment layer")
    assert reasons["old ideas"].startswith("hidden group (1 layer inside)")
    assert reasons["deco-hidden"].startswith("hidden pixel layer")
    assert "looks like `title`" in reasons["Headline"]
    assert "rename it `price`" in reasons["Layer 3"]
    assert reasons["Title"] == "a second title: a template has one title layer"
    assert reasons["Layer 9"] == "pixel layer with a name outside the convention"
    assert "(no product layer)" in reasons
    assert [layer["id"] for layer in result.spec["layers"]] == ["bg", "product", "title"]


# --- the service: assets, template, one transaction -------------------------------------------------------


def test_import_stores_the_assets_and_a_draft_template_that_names_them(designer, media):
    template, report = template_import_psd(name="Sample", data=sample_psd_bytes(), owner=designer)

    spec = template.current_version.spec
    kinds = dict(Asset.objects.values_list("name", "kind"))
    assert kinds == {"Sample/bg": "background", "Sample/logo": "logo", "Sample/deco-star": "decoration"}
    assert layers_by_id(spec)["logo"]["asset"] == "Sample/logo"
    assert layers_by_id(spec)["bg"]["fill"]["asset"] == "Sample/bg"
    assert all(default_storage.exists(a.file.name) for a in Asset.objects.all())
    assert (template.status, template.owner, template.products_max) == ("draft", designer, 1)
    assert [str(item) for item in report.unmapped] == ["Layer 7: pixel layer with a name outside the convention"]


def test_an_asset_stored_before_is_reused_under_its_own_name():
    first, _ = template_import_psd(name="First", data=sample_psd_bytes())

    second, _ = template_import_psd(name="Second", data=sample_psd_bytes())

    assert Asset.objects.count() == 3
    assert layers_by_id(second.current_version.spec)["logo"]["asset"] == "First/logo"


def test_the_imported_template_renders_with_the_product_in_the_psd_zone():
    from synthesis.product import product_theme_colours
    from synthesis.render import AdCopy
    from synthesis.search import search_creatives
    from templates_app.engine import asset_images, font_registry, sample_products

    template, _ = template_import_psd(name="Rendered", data=wide_layout())
    parsed = parse_template(template.current_version.spec)
    products = sample_products()[:1]

    result = search_creatives(
        [parsed], products, [AdCopy(title="Winter sale", price="¥599")], [(600, 300)],
        theme=product_theme_colours(products[0].image), fonts=font_registry(), assets=asset_images(), n=2, top_k=1,
    )  # fmt: skip

    creative = result.creatives[0]
    x0, y0, x1, y1 = creative.rendered.product_bboxes[0]
    assert x0 >= 0.55 * 600 - 2 and x1 <= 0.95 * 600 + 2 and y0 >= 0.1 * 300 - 2 and y1 <= 0.9 * 300 + 2
    pixels = np.asarray(creative.rendered.image)
    assert pixels[285, 300].tolist() != pixels[150, 300].tolist()  # the band is drawn at the bottom


def test_a_failure_after_the_assets_are_written_leaves_no_row_and_no_new_file(monkeypatch, media):
    shared = asset_create(name="Existing logo", kind=Asset.Kind.LOGO, data=_psd_layer_png("logo"))
    files_before = stored_files(media)

    def broken_create(**kwargs):
        raise TemplateRejected("the database said no", code="boom")

    monkeypatch.setattr(services.templates, "template_create", broken_create)
    with pytest.raises(TemplateRejected):
        template_import_psd(name="Broken", data=sample_psd_bytes())

    assert list(Asset.objects.all()) == [shared]
    assert Template.objects.count() == 0
    assert stored_files(media) == files_before  # the shared logo's file is still there, the others are gone


def _psd_layer_png(layer_id: str) -> bytes:
    """The PNG the importer makes of one layer of the sample PSD (what asset_create would store)."""
    result = psd_template(sample_psd_bytes(), name="x", limits=LIMITS)
    return next(a.data for a in result.assets if a.name == f"x/{layer_id}")


def test_a_taken_name_is_refused_before_anything_is_stored(media):
    template_import_psd(name="Taken", data=sample_psd_bytes())
    files_before = stored_files(media)

    with pytest.raises(TemplateRejected) as excinfo:
        template_import_psd(name="Taken", data=wide_layout())

    assert excinfo.value.code == "duplicate_name"
    assert stored_files(media) == files_before


# --- bad files ----------------------------------------------------------------------------------------------


def psd_declaring(width: int, height: int) -> bytes:
    """A 38-byte Photoshop file (header and empty sections) that declares a width x height RGB canvas."""
    return b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3) + struct.pack(">III", 0, 0, 0)


@pytest.fixture
def psd_tools_never_opens(monkeypatch):
    from psd_tools import PSDImage

    def refuse(*args, **kwargs):
        raise AssertionError("psd-tools parsed a file the header check should have refused")

    monkeypatch.setattr(PSDImage, "open", refuse)


def test_a_huge_canvas_is_refused_from_the_header_before_psd_tools_parses_it(psd_tools_never_opens, media):
    data = psd_declaring(30_000, 30_000)
    assert len(data) < 50

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Bomb", data=data)

    assert excinfo.value.code == "image_too_large"
    assert "30000x30000 = 900,000,000 pixels" in excinfo.value.message
    assert (Asset.objects.count(), Template.objects.count(), stored_files(media)) == (0, 0, [])


def test_a_layer_declaring_more_pixels_than_the_limit_is_refused_before_decoding(settings):
    settings.CREATIVE_MAX_IMAGE_PIXELS = 200 * 200
    psd = new_psd((200, 200))
    layer = add_rect(psd, "logo", (10, 10, 60, 40), (0, 0, 0))
    data = psd_bytes(psd)
    # The layer record's bounds (top, left, bottom, right) now declare 30000x30000 pixels.
    record = struct.pack(">iiii", 10, 10, 40, 60)
    assert data.count(record) == 1 and layer.name == "logo"
    data = data.replace(record, struct.pack(">iiii", 0, 0, 30_000, 30_000))

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Big layer", data=data)

    assert excinfo.value.code == "image_too_large"
    assert "Layer 'logo' declares 30000x30000 pixels" in excinfo.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"GIF89a not a psd at all", "not a Photoshop file", id="not-a-psd"),
        pytest.param(b"8BPS\x00\x01", "not a Photoshop file", id="header-cut"),
        pytest.param(psd_declaring(400, 400)[:30], "truncated", id="sections-cut"),
    ],
)
def test_a_file_that_is_not_a_whole_psd_header_is_refused_with_a_clear_message(data, message, media):
    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Bad", data=data)

    assert message in excinfo.value.message
    assert excinfo.value.code == "psd_unreadable"


def test_a_truncated_psd_is_refused_with_a_clear_message_and_nothing_stored(media):
    data = sample_psd_bytes()

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Cut", data=data[: len(data) // 2])

    assert excinfo.value.code == "psd_unreadable"
    assert excinfo.value.message.startswith("The PSD could not be read: it is damaged or truncated")
    assert (Asset.objects.count(), Template.objects.count(), stored_files(media)) == (0, 0, [])


def test_damaged_psds_are_refused_or_imported_never_crash():
    psd = new_psd((120, 120))
    add_rect(psd, "bg", (0, 0, 120, 120), (240, 240, 240))
    add_text(psd, "title", "Sale", left=10, top=10, font_size=20)
    add_pixels(psd, "logo", logo_mark((40, 16)), 10, 90)
    data = psd_bytes(psd)
    rng = np.random.default_rng(7)

    outcomes = set()
    for _ in range(40):
        damaged = bytearray(data)
        for offset in rng.integers(26, len(data), size=6):
            damaged[offset] = int(rng.integers(0, 256))
        try:
            psd_template(bytes(damaged), name="Fuzz", limits=LIMITS)
            outcomes.add("imported")
        except UploadRejected as exc:
            outcomes.add(exc.code)

    assert {"imported", "psd_unreadable"} <= outcomes <= {"imported", "psd_unreadable", "image_too_large"}


def test_too_many_layers_are_refused(settings, media):
    settings.TEMPLATE_PSD_MAX_LAYERS = 5
    psd = new_psd((100, 100))
    group = add_group(psd, "stars")
    for i in range(6):
        add_pixels(group, f"deco-{i}", star(10), 10 * i, 10)

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Crowded", data=psd_bytes(psd))

    assert excinfo.value.code == "psd_too_many_layers"
    assert "7 layers, over the limit of 5" in excinfo.value.message
    assert (Asset.objects.count(), stored_files(media)) == (0, [])


def test_a_layer_count_far_over_the_limit_is_refused_from_the_header(settings, psd_tools_never_opens):
    settings.TEMPLATE_PSD_MAX_LAYERS = 2
    psd = new_psd((100, 100))
    for i in range(5):
        add_pixels(psd, f"deco-{i}", star(10), 10 * i, 10)
    data = psd_bytes(psd)
    assert psd_header(data).layer_records == 5

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Crowded", data=data)

    assert excinfo.value.code == "psd_too_many_layers"


def test_a_file_over_the_byte_limit_is_refused(settings, psd_tools_never_opens):
    settings.TEMPLATE_PSD_MAX_BYTES = 1000

    with pytest.raises(UploadRejected) as excinfo:
        template_import_psd(name="Heavy", data=sample_psd_bytes())

    assert excinfo.value.code == "psd_too_large"


def test_a_cmyk_psd_is_refused_with_the_fix():
    data = bytearray(psd_declaring(100, 100))
    data[24:26] = struct.pack(">H", 4)

    with pytest.raises(UploadRejected) as excinfo:
        psd_template(bytes(data), name="Print", limits=LIMITS)

    assert "CMYK colour mode; convert it to RGB" in excinfo.value.message


# --- the admin page ---------------------------------------------------------------------------------------


def test_designer_imports_a_psd_and_lands_on_the_new_template_with_the_report(client, designer):
    brand = Brand.objects.create(name="Acme", primary_colour="#b41e28", accent_colour="#f0b400")
    client.force_login(designer)
    assert "Import PSD" in client.get("/admin/templates_app/template/").content.decode()
    assert "<code>deco-&lt;name&gt;</code>" in client.get(IMPORT_URL).content.decode()

    upload = SimpleUploadedFile("sample.psd", sample_psd_bytes(), content_type="image/vnd.adobe.photoshop")
    response = client.post(IMPORT_URL, {"name": "From PSD", "brand": brand.pk, "file": upload}, follow=True)

    template = Template.objects.get(name="From PSD")
    assert response.redirect_chain[-1][0] == f"/admin/templates_app/template/{template.pk}/change/"
    page = response.content.decode()
    assert "From PSD imported from the PSD" in page
    assert "Not mapped (1): Layer 7: pixel layer with a name outside the convention" in page
    assert template.brand == brand
    assert layers_by_id(template.current_version.spec)["price"]["colour"] == "primary"  # the brand's red


def test_a_corrupt_psd_shows_the_error_in_the_form_and_stores_nothing(client, designer, media):
    client.force_login(designer)
    upload = SimpleUploadedFile("broken.psd", sample_psd_bytes()[:5000])

    response = client.post(IMPORT_URL, {"name": "Broken", "file": upload})

    assert response.status_code == 200
    assert "The PSD could not be read: it is damaged or truncated" in response.content.decode()
    assert (Template.objects.count(), Asset.objects.count(), stored_files(media)) == (0, 0, [])


def test_operator_may_not_import(client, operator):
    client.force_login(operator)
    upload = SimpleUploadedFile("sample.psd", sample_psd_bytes())

    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"name": "Sneaky", "file": upload}).status_code == 403
    assert Template.objects.count() == 0
